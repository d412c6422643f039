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

/** softmax(q · kᵀ / √size + mask) over the keys: [batch, heads, seq, seq]. */
export function attentionProbabilities(
  graph: GraphBuilder,
  query: string,
  key: string,
  headSize: number,
  additiveMask: string,
): string {
  const keyT = graph.op('Transpose', [key], { perm: ints([0, 1, 3, 2]) });
  const scores = graph.op('Div', [graph.op('MatMul', [query, keyT]), graph.scalar(Math.sqrt(headSize))]);
  return graph.op('Softmax', [graph.op('Add', [scores, additiveMask])], { axis: int(-1) });
}

/**
 * ‖f(x_j)‖ per head (Kobayashi et al. 2020): each head's value vectors [batch, heads, seq, size]
 * through that head's slice of the output projection W_O (stored [hidden, heads · size]),
 * → [batch, heads, seq].
 */
export function valueNorms(
  graph: GraphBuilder,
  value: string,
  outputWeight: string,
  heads: number,
  headSize: number,
  hidden: number,
): string {
  const perHead = graph.op('Reshape', [outputWeight, graph.int64s([hidden, heads, headSize])]);
  const slices = graph.op('Transpose', [perHead], { perm: ints([1, 2, 0]) });
  const transformed = graph.op('MatMul', [value, slices]);
  const squares = graph.op('Mul', [transformed, transformed]);
  const sum = graph.op('ReduceSum', [squares, graph.int64s([-1])], { keepdims: int(0) });
  return graph.op('Sqrt', [sum]);
}

/** Per-layer tensors stacked on a new first axis (torch.stack). */
export function stackLayers(graph: GraphBuilder, values: readonly string[]): string {
  const axis = graph.int64s([0]);
  const unsqueezed = values.map((value) => graph.op('Unsqueeze', [value, axis]));
  return graph.op('Concat', unsqueezed, { axis: int(0) });
}
