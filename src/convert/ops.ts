import { float, type GraphBuilder, int, ints } from './graph';

/**
 * Building blocks every architecture shares, each the ONNX form of one PyTorch expression, in the
 * same operation order as the reference so that results agree to float rounding. Weights are
 * value names (see `WeightSource.weight`), tensors are [batch, sequence, …] unless stated.
 */

/** float32's most negative finite value: PyTorch's additive mask for left-out keys. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * x · Wᵀ + b for a weight stored [out, in] (torch.nn.Linear), or x · W + b for one stored
 * [in, out] (GPT-2's Conv1D). The transpose of a stored weight is folded by onnxruntime when the
 * session opens, so the file keeps the checkpoint's layout and streams it unchanged.
 */
export function linear(
  graph: GraphBuilder,
  x: string,
  weight: string,
  bias: string | undefined,
  layout: 'outIn' | 'inOut' = 'outIn',
): string {
  const matrix = layout === 'outIn' ? graph.op('Transpose', [weight], { perm: ints([1, 0]) }) : weight;
  const product = graph.op('MatMul', [x, matrix]);
  return bias ? graph.op('Add', [product, bias]) : product;
}

/** LayerNorm over the last axis (torch.nn.LayerNorm). */
export function layerNorm(graph: GraphBuilder, x: string, scale: string, bias: string, epsilon: number): string {
  return graph.op('LayerNormalization', [x, scale, bias], { axis: int(-1), epsilon: float(epsilon) });
}

/** Exact GELU, x · ½ · (1 + erf(x / √2)), as torch.nn.functional.gelu exports it. */
export function geluErf(graph: GraphBuilder, x: string): string {
  const erf = graph.op('Erf', [graph.op('Div', [x, graph.scalar(Math.SQRT2)])]);
  const scaled = graph.op('Mul', [x, graph.op('Add', [erf, graph.scalar(1)])]);
  return graph.op('Mul', [scaled, graph.scalar(0.5)]);
}

/** GELU's tanh form, ½x(1 + tanh(√(2/π)(x + 0.044715x³))): GPT-2's gelu_new, gelu_pytorch_tanh. */
export function geluTanh(graph: GraphBuilder, x: string): string {
  const cube = graph.op('Mul', [graph.op('Mul', [x, x]), x]);
  const inner = graph.op('Add', [x, graph.op('Mul', [cube, graph.scalar(0.044715)])]);
  const tanh = graph.op('Tanh', [graph.op('Mul', [inner, graph.scalar(Math.sqrt(2 / Math.PI))])]);
  const scaled = graph.op('Mul', [x, graph.op('Add', [tanh, graph.scalar(1)])]);
  return graph.op('Mul', [scaled, graph.scalar(0.5)]);
}

/** [batch, seq, heads · size] → [batch, heads, seq, size]. */
export function splitHeads(graph: GraphBuilder, x: string, heads: number, headSize: number): string {
  const reshaped = graph.op('Reshape', [x, graph.int64s([0, 0, heads, headSize])]);
  return graph.op('Transpose', [reshaped], { perm: ints([0, 2, 1, 3]) });
}

/** [batch, heads, seq, size] → [batch, seq, heads · size]. */
export function mergeHeads(graph: GraphBuilder, x: string, width: number): string {
  const transposed = graph.op('Transpose', [x], { perm: ints([0, 2, 1, 3]) });
  return graph.op('Reshape', [transposed, graph.int64s([0, 0, width])]);
}

/** attention_mask [batch, seq] (1 = token, 0 = padding) → additive [batch, 1, 1, seq]: 0 or float32's minimum. */
export function paddingMask(graph: GraphBuilder, attentionMask: string): string {
  const asFloat = graph.op('Cast', [attentionMask], { to: int(1) });
  const inverted = graph.op('Sub', [graph.scalar(1), asFloat]);
  const additive = graph.op('Mul', [inverted, graph.scalar(FLOAT32_MIN)]);
  return graph.op('Unsqueeze', [additive, graph.int64s([1, 2])]);
}

/** softmax(q · kᵀ / divisor + mask) over the keys: [batch, heads, seq, seq]; the divisor is √size unless given. */
export function attentionProbabilities(
  graph: GraphBuilder,
  query: string,
  key: string,
  headSize: number,
  additiveMask: string,
  divisor = Math.sqrt(headSize),
): string {
  const keyT = graph.op('Transpose', [key], { perm: ints([0, 1, 3, 2]) });
  const scores = graph.op('Div', [graph.op('MatMul', [query, keyT]), graph.scalar(divisor)]);
  return graph.op('Softmax', [graph.op('Add', [scores, additiveMask])], { axis: int(-1) });
}

/**
 * f_h(x_j) = v_j^h W_O^h (Kobayashi et al. 2020): each head's value vectors [batch, heads, seq, size]
 * through that head's slice of the output projection W_O (stored [hidden, heads · size] as
 * torch.nn.Linear keeps it, or [heads · size, hidden] as GPT-2's Conv1D does), → [batch, heads, seq, hidden].
 */
export function headContributions(
  graph: GraphBuilder,
  value: string,
  outputWeight: string,
  heads: number,
  headSize: number,
  hidden: number,
  layout: 'outIn' | 'inOut' = 'outIn',
): string {
  const slices =
    layout === 'inOut'
      ? graph.op('Reshape', [outputWeight, graph.int64s([heads, headSize, hidden])])
      : graph.op('Transpose', [graph.op('Reshape', [outputWeight, graph.int64s([hidden, heads, headSize])])], {
          perm: ints([1, 2, 0]),
        });
  return graph.op('MatMul', [value, slices]);
}

/** ‖f_h(x_j)‖ of head contributions [batch, heads, seq, hidden] → [batch, heads, seq]. */
export function valueNorms(graph: GraphBuilder, contributions: string): string {
  const squares = graph.op('Mul', [contributions, contributions]);
  const sum = graph.op('ReduceSum', [squares, graph.int64s([-1])], { keepdims: int(0) });
  return graph.op('Sqrt', [sum]);
}

/**
 * ⟨f_h(x_j), f_h′(x_j)⟩ for every pair of heads at each position, [batch, seq, heads, heads] (the
 * encoder export's `value_gram`): with the attention it gives the whole layer's value-weighted
 * attention ‖Σ_h α_ij^h f_h(x_j)‖, and its diagonal holds the squared value norms.
 */
export function valueGram(graph: GraphBuilder, contributions: string): string {
  const byPosition = graph.op('Transpose', [contributions], { perm: ints([0, 2, 1, 3]) });
  const transposed = graph.op('Transpose', [contributions], { perm: ints([0, 2, 3, 1]) });
  return graph.op('MatMul', [byPosition, transposed]);
}

/** Per-layer tensors stacked on a new first axis (torch.stack). */
export function stackLayers(graph: GraphBuilder, values: readonly string[]): string {
  const axis = graph.int64s([0]);
  const unsqueezed = values.map((value) => graph.op('Unsqueeze', [value, axis]));
  return graph.op('Concat', unsqueezed, { axis: int(0) });
}

/** Per layer, what every architecture's graph computes for the analysis. */
export interface LayerOutputs {
  attentions: string[];
  norms: string[];
  grams: string[];
}

/**
 * The graph outputs the loader reads, the same for every family: `last_hidden_state` [batch, seq,
 * hidden] and, stacked over layers, `attentions` [layers, batch, heads, seq, seq], `value_norms`
 * [layers, batch, heads, seq] and `value_gram` [layers, batch, seq, heads, heads].
 */
export function addAnalysisOutputs(
  graph: GraphBuilder,
  lastHidden: string,
  perLayer: LayerOutputs,
  shape: { layers: number; heads: number; hidden: number },
): void {
  const { layers, heads, hidden } = shape;
  graph.output(lastHidden, 'last_hidden_state', 'float32', ['batch', 'sequence', hidden]);
  const stacked = (values: readonly string[]) => stackLayers(graph, values);
  graph.output(stacked(perLayer.attentions), 'attentions', 'float32', [layers, 'batch', heads, 'sequence', 'sequence']);
  graph.output(stacked(perLayer.norms), 'value_norms', 'float32', [layers, 'batch', heads, 'sequence']);
  graph.output(stacked(perLayer.grams), 'value_gram', 'float32', [layers, 'batch', 'sequence', heads, heads]);
}

/** Positions 0 … seq − 1 of a [batch, seq] input, as a 1-D int64 tensor. */
export function sequencePositions(graph: GraphBuilder, ids: string): string {
  const length = graph.op('Gather', [graph.op('Shape', [ids]), graph.int64s([1], [])]);
  return graph.op('Range', [graph.int64s([0], []), length, graph.int64s([1], [])]);
}

/**
 * attention_mask [batch, seq] (right padding) combined with the causal mask: key j is open to query
 * i when j ≤ i and j is not padding. Returns the additive mask [batch, 1, seq, seq] (0 or float32's
 * minimum), so that masked keys get probability 0 exactly after the softmax.
 */
export function causalPaddingMask(graph: GraphBuilder, ids: string, attentionMask: string): string {
  const positions = sequencePositions(graph, ids);
  const rows = graph.op('Unsqueeze', [positions, graph.int64s([1])]);
  const columns = graph.op('Unsqueeze', [positions, graph.int64s([0])]);
  const future = graph.op('Unsqueeze', [graph.op('Greater', [columns, rows]), graph.int64s([0, 1])]);
  const padded = graph.op('Unsqueeze', [
    graph.op('Equal', [attentionMask, graph.int64s([0], [])]),
    graph.int64s([1, 2]),
  ]);
  const blocked = graph.op('Or', [future, padded]);
  return graph.op('Where', [blocked, graph.scalar(FLOAT32_MIN), graph.scalar(0)]);
}

/** RMSNorm over the last axis: x / √(mean(x²) + ε) · scale (Llama, Qwen2). */
export function rmsNorm(graph: GraphBuilder, x: string, scale: string, epsilon: number): string {
  const meanSquare = graph.op('ReduceMean', [graph.op('Mul', [x, x])], { axes: ints([-1]), keepdims: int(1) });
  const root = graph.op('Sqrt', [graph.op('Add', [meanSquare, graph.scalar(epsilon)])]);
  return graph.op('Mul', [graph.op('Div', [x, root]), scale]);
}

/** SiLU, x · σ(x). */
export function silu(graph: GraphBuilder, x: string): string {
  return graph.op('Mul', [x, graph.op('Sigmoid', [x])]);
}

/**
 * Cosine and sine tables [positions, headSize] of rotary position embeddings in Hugging Face's
 * half-rotation layout (dimension i turns with i + headSize/2 by the same angle), computed here in
 * float64 and stored as float32 constants, as the reference computes them. `scale` divides the
 * positions (rope_scaling type linear).
 */
export function rotaryTables(
  graph: GraphBuilder,
  positions: number,
  headSize: number,
  theta: number,
  scale: number,
): { cos: string; sin: string } {
  const half = headSize / 2;
  const cos = new Float32Array(positions * headSize);
  const sin = new Float32Array(positions * headSize);
  for (let position = 0; position < positions; position++) {
    for (let i = 0; i < half; i++) {
      const angle = (position / scale) * theta ** (-(2 * i) / headSize);
      for (const at of [position * headSize + i, position * headSize + i + half]) {
        cos[at] = Math.cos(angle);
        sin[at] = Math.sin(angle);
      }
    }
  }
  const table = (name: string, values: Float32Array) =>
    graph.initializer(name, 'float32', [positions, headSize], new Uint8Array(values.buffer));
  return { cos: table('rotary.cos', cos), sin: table('rotary.sin', sin) };
}

/** The last axis of x from `start` to `end`. */
export function lastAxisSlice(graph: GraphBuilder, x: string, start: number, end: number): string {
  return graph.op('Slice', [x, graph.int64s([start]), graph.int64s([end]), graph.int64s([-1])]);
}

/** The first `seq` rows of a [positions, size] table, seq being the length of the [batch, seq] input. */
export function firstRows(graph: GraphBuilder, table: string, ids: string): string {
  const length = graph.op('Slice', [graph.op('Shape', [ids]), graph.int64s([1]), graph.int64s([2])]);
  return graph.op('Slice', [table, graph.int64s([0]), length, graph.int64s([0])]);
}

/**
 * x · cos + rotate_half(x) · sin for x [batch, heads, seq, size] and tables [seq, size], where
 * rotate_half(x) = [−x₂, x₁] for the halves x₁, x₂ of the last axis.
 */
export function applyRotary(graph: GraphBuilder, x: string, cos: string, sin: string, headSize: number): string {
  const half = headSize / 2;
  const first = lastAxisSlice(graph, x, 0, half);
  const second = lastAxisSlice(graph, x, half, headSize);
  const rotated = graph.op('Concat', [graph.op('Neg', [second]), first], { axis: int(-1) });
  return graph.op('Add', [graph.op('Mul', [x, cos]), graph.op('Mul', [rotated, sin])]);
}

/**
 * Grouped-query attention: [batch, kvHeads, seq, size] → [batch, kvHeads · group, seq, size], each
 * key/value head repeated for the `group` query heads that read it (torch.repeat_interleave).
 */
export function repeatKeyValueHeads(
  graph: GraphBuilder,
  x: string,
  group: number,
  heads: number,
  headSize: number,
): string {
  if (group === 1) return x;
  const spread = graph.op('Unsqueeze', [x, graph.int64s([2])]);
  const tiled = graph.op('Tile', [spread, graph.int64s([1, 1, group, 1, 1])]);
  return graph.op('Reshape', [tiled, graph.int64s([0, heads, -1, headSize])]);
}
