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
  applyRotary,
  attentionProbabilities,
  causalPaddingMask,
  firstRows,
  headContributions,
  linear,
  mergeHeads,
  repeatKeyValueHeads,
  rmsNorm,
  rotaryTables,
  silu,
  splitHeads,
  addAnalysisOutputs,
  valueGram,
  valueNorms,
} from './ops';

/**
 * The Llama family (CodeLlama, DeepSeek-Coder) and Qwen2 (Qwen2.5-Coder): pre-RMSNorm blocks, rotary
 * positions (rope_theta; rope_scaling linear divides the positions by its factor), SwiGLU MLP
 * down(silu(gate(x)) · up(x)), grouped-query attention (query head h reads key/value head
 * h ÷ (heads / kv_heads)), q/k/v biases for Qwen2 (and for Llama with attention_bias), causal mask
 * combined with the padding mask. lm_head is not converted: the graph outputs hidden states, after
 * the final norm, with the attention probabilities of every query head and their value norms.
 */
export const LLAMA_FAMILY: ArchitectureFamily = {
  family: 'llama',
  modelTypes: ['llama', 'qwen2'],
  examples: 'CodeLlama, DeepSeek-Coder, Qwen2.5-Coder',
  anchorTensor: 'embed_tokens.weight',
  plan: planLlama,
};

interface LlamaShape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headSize: number;
  intermediate: number;
  positions: number;
  epsilon: number;
  theta: number;
  positionScale: number;
  qkvBias: boolean;
  outputBias: boolean;
  mlpBias: boolean;
}

function planLlama(config: HfConfig, weights: CheckpointWeights, options?: PlanOptions): ArchitecturePlan {
  const problems: string[] = [];
  const qwen2 = config.model_type === 'qwen2';
  const heads = configInteger(config, 'num_attention_heads', problems);
  const hidden = configInteger(config, 'hidden_size', problems);
  const attentionBias = config.attention_bias === true;
  const shape: LlamaShape = {
    vocab: configInteger(config, 'vocab_size', problems),
    hidden,
    layers: configInteger(config, 'num_hidden_layers', problems),
    heads,
    kvHeads: config.num_key_value_heads == null ? heads : configInteger(config, 'num_key_value_heads', problems),
    headSize: config.head_dim == null ? Math.floor(hidden / heads) : configInteger(config, 'head_dim', problems),
    intermediate: configInteger(config, 'intermediate_size', problems),
    positions: configInteger(config, 'max_position_embeddings', problems, 4096),
    epsilon: configNumber(config, 'rms_norm_eps', problems, 1e-6),
    theta: configNumber(config, 'rope_theta', problems, 10000),
    positionScale: ropeScale(config.rope_scaling, problems),
    qkvBias: qwen2 || attentionBias,
    outputBias: !qwen2 && attentionBias,
    mlpBias: !qwen2 && config.mlp_bias === true,
  };
  if (config.head_dim == null && hidden % heads)
    problems.push(`config.json hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}`);
  if (shape.heads % shape.kvHeads)
    problems.push(
      `config.json num_attention_heads ${shape.heads} is not a multiple of num_key_value_heads ${shape.kvHeads}`,
    );
  if (shape.headSize % 2) problems.push(`the head size ${shape.headSize} is odd: rotary positions turn pairs`);
  const activation = config.hidden_act ?? 'silu';
  if (activation !== 'silu')
    problems.push(`config.json hidden_act is ${JSON.stringify(activation)}; only "silu" (SwiGLU) is supported`);
  if (qwen2 && config.use_sliding_window === true)
    problems.push('config.json use_sliding_window is true; sliding-window attention is not supported');
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
      addBos: !qwen2,
    },
    build: (graph) => buildLlama(graph, weights, shape, window),
  };
}

/** rope_scaling: absent, null, "default", or linear with a factor (others change the frequencies themselves). */
function ropeScale(scaling: unknown, problems: string[]): number {
  if (scaling === undefined || scaling === null) return 1;
  const { type, rope_type: ropeType, factor } = scaling as Record<string, unknown>;
  const kind = ropeType ?? type;
  if (kind === 'default') return 1;
  if (kind !== 'linear') {
    problems.push(`config.json rope_scaling type ${JSON.stringify(kind)} is not supported (linear and default are)`);
    return 1;
  }
  if (typeof factor === 'number' && Number.isFinite(factor) && factor > 0) return factor;
  problems.push(`config.json rope_scaling factor is ${JSON.stringify(factor)}; it must be a positive number`);
  return 1;
}

function checkTensors(weights: CheckpointWeights, shape: LlamaShape): void {
  const { hidden, intermediate } = shape;
  const queryWidth = shape.heads * shape.headSize;
  const keyWidth = shape.kvHeads * shape.headSize;
  weights.expect('embed_tokens.weight', [shape.vocab, hidden], 'config.json vocab_size × hidden_size');
  weights.expect('norm.weight', [hidden], 'config.json hidden_size');
  const stored = weights.countLayers((layer) => `layers.${layer}.self_attn.q_proj.weight`);
  if (stored !== shape.layers)
    weights.problems.push(`config.json num_hidden_layers is ${shape.layers} but the weights hold ${stored} layers`);
  const because = {
    q: 'config.json num_attention_heads × head size, hidden_size',
    kv: 'config.json num_key_value_heads × head size, hidden_size',
  };
  for (let layer = 0; layer < Math.min(stored, shape.layers); layer++) {
    const at = `layers.${layer}.`;
    const projections: Array<[string, number[], string, boolean]> = [
      ['self_attn.q_proj', [queryWidth, hidden], because.q, shape.qkvBias],
      ['self_attn.k_proj', [keyWidth, hidden], because.kv, shape.qkvBias],
      ['self_attn.v_proj', [keyWidth, hidden], because.kv, shape.qkvBias],
      [
        'self_attn.o_proj',
        [hidden, queryWidth],
        'config.json hidden_size, num_attention_heads × head size',
        shape.outputBias,
      ],
      ['mlp.gate_proj', [intermediate, hidden], 'config.json intermediate_size × hidden_size', shape.mlpBias],
      ['mlp.up_proj', [intermediate, hidden], 'config.json intermediate_size × hidden_size', shape.mlpBias],
      ['mlp.down_proj', [hidden, intermediate], 'config.json hidden_size × intermediate_size', shape.mlpBias],
    ];
    for (const [part, dims, reason, bias] of projections) {
      weights.expect(`${at}${part}.weight`, dims, reason);
      if (bias) weights.expect(`${at}${part}.bias`, [dims[0]], reason);
    }
    for (const norm of ['input_layernorm.weight', 'post_attention_layernorm.weight'])
      weights.expect(at + norm, [hidden], 'config.json hidden_size');
  }
}

function buildLlama(graph: GraphBuilder, weights: CheckpointWeights, shape: LlamaShape, window: number): void {
  const w = (name: string) => weights.weight(graph, name);
  const ids = graph.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = graph.input('attention_mask', 'int64', ['batch', 'sequence']);
  const { heads, kvHeads, headSize } = shape;
  const tables = rotaryTables(graph, window, headSize, shape.theta, shape.positionScale);
  const cos = firstRows(graph, tables.cos, ids);
  const sin = firstRows(graph, tables.sin, ids);
  const additiveMask = causalPaddingMask(graph, ids, mask);
  let hidden = graph.op('Gather', [w('embed_tokens.weight'), ids]);
  const attentions: string[] = [];
  const norms: string[] = [];
  const grams: string[] = [];
  for (let layer = 0; layer < shape.layers; layer++) {
    const at = `layers.${layer}.`;
    const project = (x: string, part: string, bias: boolean) =>
      linear(graph, x, w(`${at}${part}.weight`), bias ? w(`${at}${part}.bias`) : undefined);
    const normed = rmsNorm(graph, hidden, w(`${at}input_layernorm.weight`), shape.epsilon);
    const query = splitHeads(graph, project(normed, 'self_attn.q_proj', shape.qkvBias), heads, headSize);
    const key = splitHeads(graph, project(normed, 'self_attn.k_proj', shape.qkvBias), kvHeads, headSize);
    const value = splitHeads(graph, project(normed, 'self_attn.v_proj', shape.qkvBias), kvHeads, headSize);
    const group = heads / kvHeads;
    const rotatedKey = repeatKeyValueHeads(graph, applyRotary(graph, key, cos, sin, headSize), group, heads, headSize);
    const rotatedQuery = applyRotary(graph, query, cos, sin, headSize);
    const values = repeatKeyValueHeads(graph, value, group, heads, headSize);
    const probabilities = attentionProbabilities(graph, rotatedQuery, rotatedKey, headSize, additiveMask);
    attentions.push(probabilities);
    const context = mergeHeads(graph, graph.op('MatMul', [probabilities, values]), heads * headSize);
    const outputWeight = w(`${at}self_attn.o_proj.weight`);
    const contributions = headContributions(graph, values, outputWeight, heads, headSize, shape.hidden);
    norms.push(valueNorms(graph, contributions));
    grams.push(valueGram(graph, contributions));
    const outputBias = shape.outputBias ? w(`${at}self_attn.o_proj.bias`) : undefined;
    hidden = graph.op('Add', [hidden, linear(graph, context, outputWeight, outputBias)]);
    const normedAgain = rmsNorm(graph, hidden, w(`${at}post_attention_layernorm.weight`), shape.epsilon);
    const gate = silu(graph, project(normedAgain, 'mlp.gate_proj', shape.mlpBias));
    const inner = graph.op('Mul', [gate, project(normedAgain, 'mlp.up_proj', shape.mlpBias)]);
    hidden = graph.op('Add', [hidden, project(inner, 'mlp.down_proj', shape.mlpBias)]);
  }
  const last = rmsNorm(graph, hidden, w('norm.weight'), shape.epsilon);
  addAnalysisOutputs(graph, last, { attentions, norms, grams }, { ...shape, heads });
}
