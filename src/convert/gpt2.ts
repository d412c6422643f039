import {
  type ArchitectureFamily,
  type ArchitecturePlan,
  type CheckpointWeights,
  configInteger,
  configNumber,
  decoderWindow,
  type HfConfig,
  type PlanOptions,
} from './architecture';
import type { GraphBuilder } from './graph';
import {
  attentionProbabilities,
  causalPaddingMask,
  geluErf,
  headContributions,
  geluTanh,
  lastAxisSlice,
  layerNorm,
  linear,
  mergeHeads,
  repeatKeyValueHeads,
  sequencePositions,
  splitHeads,
  addAnalysisOutputs,
  valueGram,
  valueNorms,
} from './ops';

/**
 * The GPT-2 family: GPT-2 itself (CodeParrot; Conv1D weights stored [in, out]) and GPT-BigCode
 * (SantaCoder, StarCoder, tiny_starcoder; nn.Linear weights stored [out, in], multi-query attention:
 * one key/value head shared by every query head, `c_attn` = [query (hidden) | key | value (head size
 * each)]; without multi_query `c_attn` is per head [query | key | value]). Learned positions 0 … n − 1,
 * pre-LayerNorm blocks, GELU (tanh form for gelu_new and gelu_pytorch_tanh), scores ÷ √head size
 * (scale_attn_weights) and ÷ (layer + 1) with GPT-2's scale_attn_by_inverse_layer_idx. lm_head is
 * not converted.
 */
export const GPT2_FAMILY: ArchitectureFamily = {
  family: 'gpt2',
  modelTypes: ['gpt2', 'gpt_bigcode'],
  examples: 'CodeParrot, SantaCoder, StarCoder, tiny_starcoder',
  anchorTensor: 'wte.weight',
  plan: planGpt2,
};

const ACTIVATIONS = ['gelu_new', 'gelu_pytorch_tanh', 'gelu'];

interface Gpt2Shape {
  bigcode: boolean;
  multiQuery: boolean;
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  headSize: number;
  inner: number;
  positions: number;
  epsilon: number;
  activation: string;
  scaleByHeadSize: boolean;
  scaleByLayer: boolean;
}

function planGpt2(config: HfConfig, weights: CheckpointWeights, options?: PlanOptions): ArchitecturePlan {
  const problems: string[] = [];
  const bigcode = config.model_type === 'gpt_bigcode';
  const hidden = configInteger(config, 'n_embd', problems);
  const heads = configInteger(config, 'n_head', problems);
  const activation = config.activation_function ?? 'gelu_new';
  const shape: Gpt2Shape = {
    bigcode,
    multiQuery: bigcode && config.multi_query !== false,
    vocab: configInteger(config, 'vocab_size', problems),
    hidden,
    layers: configInteger(config, 'n_layer', problems),
    heads,
    headSize: Math.floor(hidden / heads),
    inner: config.n_inner == null ? 4 * hidden : configInteger(config, 'n_inner', problems),
    positions: configInteger(config, 'n_positions', problems),
    epsilon: configNumber(config, 'layer_norm_epsilon', problems, 1e-5),
    activation: typeof activation === 'string' ? activation : 'gelu_new',
    scaleByHeadSize: config.scale_attn_weights !== false,
    scaleByLayer: !bigcode && config.scale_attn_by_inverse_layer_idx === true,
  };
  if (hidden % heads) problems.push(`config.json n_embd ${hidden} is not a multiple of n_head ${heads}`);
  if (typeof activation !== 'string' || !ACTIVATIONS.includes(activation))
    problems.push(
      `config.json activation_function is ${JSON.stringify(activation)}; supported: ${ACTIVATIONS.join(', ')}`,
    );
  if (config.add_cross_attention === true)
    problems.push('config.json add_cross_attention is true: an encoder-decoder GPT-2 is not a decoder-only model');
  checkTensors(weights, shape);
  weights.throwIfProblems(problems);
  const window = decoderWindow(shape.positions, shape, options);
  return {
    manifest: {
      family: String(config.model_type),
      maxPositions: window,
      layers: shape.layers,
      heads: shape.heads,
      hiddenSize: shape.hidden,
      vocabSize: shape.vocab,
      causal: true,
      addBos: false,
    },
    build: (graph) => buildGpt2(graph, weights, shape),
  };
}

/** The stored shape of a projection from `fanIn` to `fanOut` features: [in, out] (Conv1D) or [out, in]. */
function stored(shape: Gpt2Shape, fanIn: number, fanOut: number): number[] {
  return shape.bigcode ? [fanOut, fanIn] : [fanIn, fanOut];
}

function keyValueHeads(shape: Gpt2Shape): number {
  return shape.multiQuery ? 1 : shape.heads;
}

function checkTensors(weights: CheckpointWeights, shape: Gpt2Shape): void {
  const { hidden, inner } = shape;
  weights.expect('wte.weight', [shape.vocab, hidden], 'config.json vocab_size × n_embd');
  weights.expect('wpe.weight', [shape.positions, hidden], 'config.json n_positions × n_embd');
  for (const norm of ['ln_f.weight', 'ln_f.bias']) weights.expect(norm, [hidden], 'config.json n_embd');
  const layersStored = weights.countLayers((layer) => `h.${layer}.attn.c_attn.weight`);
  if (layersStored !== shape.layers)
    weights.problems.push(`config.json n_layer is ${shape.layers} but the weights hold ${layersStored} layers`);
  const attentionWidth = hidden + 2 * keyValueHeads(shape) * shape.headSize;
  const attentionReason = shape.multiQuery ? 'n_embd + 2 × head size (multi_query)' : '3 × n_embd';
  for (let layer = 0; layer < Math.min(layersStored, shape.layers); layer++) {
    const at = `h.${layer}.`;
    const projections: Array<[string, number, number, string]> = [
      ['attn.c_attn', hidden, attentionWidth, attentionReason],
      ['attn.c_proj', hidden, hidden, 'config.json n_embd'],
      ['mlp.c_fc', hidden, inner, 'config.json n_embd, n_inner'],
      ['mlp.c_proj', inner, hidden, 'config.json n_inner, n_embd'],
    ];
    for (const [part, fanIn, fanOut, reason] of projections) {
      weights.expect(`${at}${part}.weight`, stored(shape, fanIn, fanOut), reason);
      weights.expect(`${at}${part}.bias`, [fanOut], reason);
    }
    for (const norm of ['ln_1.weight', 'ln_1.bias', 'ln_2.weight', 'ln_2.bias'])
      weights.expect(at + norm, [hidden], 'config.json n_embd');
  }
}

/** query, key and value [batch, heads (key/value: their own count), seq, size] from c_attn's output. */
function splitQueryKeyValue(graph: GraphBuilder, projected: string, shape: Gpt2Shape): string[] {
  const { hidden, heads, headSize } = shape;
  if (shape.bigcode && !shape.multiQuery) {
    const perHead = splitHeads(graph, projected, heads, 3 * headSize);
    return [0, 1, 2].map((part) => lastAxisSlice(graph, perHead, part * headSize, (part + 1) * headSize));
  }
  const kvHeads = keyValueHeads(shape);
  const kvWidth = kvHeads * headSize;
  return [
    splitHeads(graph, lastAxisSlice(graph, projected, 0, hidden), heads, headSize),
    splitHeads(graph, lastAxisSlice(graph, projected, hidden, hidden + kvWidth), kvHeads, headSize),
    splitHeads(graph, lastAxisSlice(graph, projected, hidden + kvWidth, hidden + 2 * kvWidth), kvHeads, headSize),
  ];
}

function buildGpt2(graph: GraphBuilder, weights: CheckpointWeights, shape: Gpt2Shape): void {
  const w = (name: string) => weights.weight(graph, name);
  const layout = shape.bigcode ? 'outIn' : 'inOut';
  const ids = graph.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = graph.input('attention_mask', 'int64', ['batch', 'sequence']);
  const { heads, headSize } = shape;
  const additiveMask = causalPaddingMask(graph, ids, mask);
  const words = graph.op('Gather', [w('wte.weight'), ids]);
  const placed = graph.op('Gather', [w('wpe.weight'), sequencePositions(graph, ids)]);
  let hidden = graph.op('Add', [words, placed]);
  const norm = (x: string, name: string) => layerNorm(graph, x, w(`${name}.weight`), w(`${name}.bias`), shape.epsilon);
  const gelu = shape.activation === 'gelu' ? geluErf : geluTanh;
  const attentions: string[] = [];
  const norms: string[] = [];
  const grams: string[] = [];
  for (let layer = 0; layer < shape.layers; layer++) {
    const at = `h.${layer}.`;
    const project = (x: string, part: string) =>
      linear(graph, x, w(`${at}${part}.weight`), w(`${at}${part}.bias`), layout);
    const [query, key, value] = splitQueryKeyValue(graph, project(norm(hidden, `${at}ln_1`), 'attn.c_attn'), shape);
    const group = heads / keyValueHeads(shape);
    const keys = repeatKeyValueHeads(graph, key, group, heads, headSize);
    const values = repeatKeyValueHeads(graph, value, group, heads, headSize);
    const divisor = (shape.scaleByHeadSize ? Math.sqrt(headSize) : 1) * (shape.scaleByLayer ? layer + 1 : 1);
    const probabilities = attentionProbabilities(graph, query, keys, headSize, additiveMask, divisor);
    attentions.push(probabilities);
    const context = mergeHeads(graph, graph.op('MatMul', [probabilities, values]), shape.hidden);
    const outputWeight = w(`${at}attn.c_proj.weight`);
    const contributions = headContributions(graph, values, outputWeight, heads, headSize, shape.hidden, layout);
    norms.push(valueNorms(graph, contributions));
    grams.push(valueGram(graph, contributions));
    const attended = linear(graph, context, outputWeight, w(`${at}attn.c_proj.bias`), layout);
    hidden = graph.op('Add', [hidden, attended]);
    const inner = gelu(graph, project(norm(hidden, `${at}ln_2`), 'mlp.c_fc'));
    hidden = graph.op('Add', [hidden, project(inner, 'mlp.c_proj')]);
  }
  addAnalysisOutputs(graph, norm(hidden, 'ln_f'), { attentions, norms, grams }, { ...shape, heads });
}
