import {
  type ArchitectureFamily,
  type ArchitecturePlan,
  type CheckpointWeights,
  configInteger,
  configNumber,
  type HfConfig,
} from './architecture';
import { type GraphBuilder, int } from './graph';
import {
  attentionProbabilities,
  geluErf,
  headContributions,
  layerNorm,
  linear,
  mergeHeads,
  paddingMask,
  splitHeads,
  addAnalysisOutputs,
  valueGram,
  valueNorms,
} from './ops';

/**
 * The BERT/RoBERTa encoder family (CodeBERT, GraphCodeBERT, UniXcoder, CodeBERTa), the graph
 * models/export_onnx.py exports: post-layer-norm, exact GELU, learned positions numbered from
 * padding_idx + 1 over the non-padding tokens (Hugging Face's create_position_ids_from_input_ids),
 * token type 0 everywhere. Inputs input_ids and attention_mask [batch, sequence]; outputs
 * last_hidden_state [batch, sequence, hidden], attentions [layers, batch, heads, sequence, sequence]
 * (softmax probabilities) and value_norms [layers, batch, heads, sequence].
 */
export const ROBERTA_FAMILY: ArchitectureFamily = {
  family: 'roberta',
  modelTypes: ['roberta'],
  examples: 'CodeBERT, GraphCodeBERT, UniXcoder, CodeBERTa',
  anchorTensor: 'embeddings.word_embeddings.weight',
  plan: planRoberta,
};

interface RobertaShape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  headSize: number;
  intermediate: number;
  positions: number;
  typeVocab: number;
  pad: number;
  epsilon: number;
}

function planRoberta(config: HfConfig, weights: CheckpointWeights): ArchitecturePlan {
  const problems: string[] = [];
  const embeddings = weights.has('embeddings.word_embeddings.weight')
    ? weights.tensor('embeddings.word_embeddings.weight').shape
    : [];
  const shape: RobertaShape = {
    vocab: configInteger(config, 'vocab_size', problems),
    hidden: configInteger(config, 'hidden_size', problems),
    layers: configInteger(config, 'num_hidden_layers', problems),
    heads: configInteger(config, 'num_attention_heads', problems),
    headSize: 1,
    intermediate: configInteger(config, 'intermediate_size', problems),
    positions: configInteger(config, 'max_position_embeddings', problems),
    typeVocab: configInteger(config, 'type_vocab_size', problems, 1),
    pad: configInteger(config, 'pad_token_id', problems, 1, 0),
    // models/tools/roberta.py's default, for parity with the Python exporter.
    epsilon: configNumber(config, 'layer_norm_eps', problems, 1e-5),
  };
  if (shape.hidden % shape.heads)
    problems.push(`config.json hidden_size ${shape.hidden} is not a multiple of num_attention_heads ${shape.heads}`);
  shape.headSize = Math.floor(shape.hidden / shape.heads);
  const activation = config.hidden_act ?? 'gelu';
  if (activation !== 'gelu')
    problems.push(`config.json hidden_act is ${JSON.stringify(activation)}; only "gelu" is supported`);
  const positionType = config.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute')
    problems.push(
      `config.json position_embedding_type is ${JSON.stringify(positionType)}; only "absolute" is supported`,
    );
  if (shape.positions < shape.pad + 4)
    problems.push(`config.json max_position_embeddings ${shape.positions} leaves no room after the padding offset`);
  checkTensors(weights, shape, embeddings);
  weights.throwIfProblems(problems);
  return {
    manifest: {
      family: 'roberta',
      maxPositions: shape.positions - shape.pad - 1,
      layers: shape.layers,
      heads: shape.heads,
      hiddenSize: shape.hidden,
      vocabSize: shape.vocab,
    },
    build: (graph) => buildRoberta(graph, weights, shape),
  };
}

function checkTensors(weights: CheckpointWeights, shape: RobertaShape, embeddings: readonly number[]): void {
  const { hidden, intermediate } = shape;
  if (embeddings.length === 2 && embeddings[1] !== hidden)
    weights.problems.push(`config.json hidden_size is ${hidden} but the word embeddings are ${embeddings[1]} wide`);
  weights.expect('embeddings.word_embeddings.weight', [shape.vocab, hidden], 'config.json vocab_size × hidden_size');
  weights.expect(
    'embeddings.position_embeddings.weight',
    [shape.positions, hidden],
    'config.json max_position_embeddings × hidden_size',
  );
  weights.expect(
    'embeddings.token_type_embeddings.weight',
    [shape.typeVocab, hidden],
    'config.json type_vocab_size × hidden_size',
  );
  for (const norm of ['embeddings.LayerNorm.weight', 'embeddings.LayerNorm.bias'])
    weights.expect(norm, [hidden], 'config.json hidden_size');
  const stored = weights.countLayers((layer) => `encoder.layer.${layer}.attention.self.query.weight`);
  if (stored !== shape.layers)
    weights.problems.push(`config.json num_hidden_layers is ${shape.layers} but the weights hold ${stored} layers`);
  for (let layer = 0; layer < Math.min(stored, shape.layers); layer++) {
    const at = `encoder.layer.${layer}.`;
    const square = [hidden, hidden];
    for (const part of [
      'attention.self.query',
      'attention.self.key',
      'attention.self.value',
      'attention.output.dense',
    ]) {
      weights.expect(`${at}${part}.weight`, square, 'config.json hidden_size');
      weights.expect(`${at}${part}.bias`, [hidden], 'config.json hidden_size');
    }
    weights.expect(
      `${at}intermediate.dense.weight`,
      [intermediate, hidden],
      'config.json intermediate_size × hidden_size',
    );
    weights.expect(`${at}intermediate.dense.bias`, [intermediate], 'config.json intermediate_size');
    weights.expect(`${at}output.dense.weight`, [hidden, intermediate], 'config.json hidden_size × intermediate_size');
    for (const part of ['output.dense.bias', 'attention.output.LayerNorm.weight', 'attention.output.LayerNorm.bias'])
      weights.expect(at + part, [hidden], 'config.json hidden_size');
    for (const part of ['output.LayerNorm.weight', 'output.LayerNorm.bias'])
      weights.expect(at + part, [hidden], 'config.json hidden_size');
  }
}

function buildRoberta(graph: GraphBuilder, weights: CheckpointWeights, shape: RobertaShape): void {
  const w = (name: string) => weights.weight(graph, name);
  const ids = graph.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = graph.input('attention_mask', 'int64', ['batch', 'sequence']);

  // Positions count the non-padding tokens from padding_idx + 1; padding tokens sit at padding_idx.
  const pad = graph.int64s([shape.pad], []);
  const notPad = graph.op('Cast', [graph.op('Not', [graph.op('Equal', [ids, pad])])], { to: int(7) });
  const counted = graph.op('CumSum', [notPad, graph.int64s([1], [])]);
  const positions = graph.op('Add', [graph.op('Mul', [counted, notPad]), pad]);
  const words = graph.op('Gather', [w('embeddings.word_embeddings.weight'), ids]);
  const placed = graph.op('Gather', [w('embeddings.position_embeddings.weight'), positions]);
  const typeZero = graph.op('Gather', [w('embeddings.token_type_embeddings.weight'), graph.int64s([0], [])]);
  const summed = graph.op('Add', [graph.op('Add', [words, placed]), typeZero]);
  let hidden = layerNorm(
    graph,
    summed,
    w('embeddings.LayerNorm.weight'),
    w('embeddings.LayerNorm.bias'),
    shape.epsilon,
  );

  const additiveMask = paddingMask(graph, mask);
  const attentions: string[] = [];
  const norms: string[] = [];
  const grams: string[] = [];
  for (let layer = 0; layer < shape.layers; layer++) {
    const at = `encoder.layer.${layer}.`;
    const project = (part: string) => linear(graph, hidden, w(`${at}${part}.weight`), w(`${at}${part}.bias`));
    const query = splitHeads(graph, project('attention.self.query'), shape.heads, shape.headSize);
    const key = splitHeads(graph, project('attention.self.key'), shape.heads, shape.headSize);
    const value = splitHeads(graph, project('attention.self.value'), shape.heads, shape.headSize);
    const probabilities = attentionProbabilities(graph, query, key, shape.headSize, additiveMask);
    attentions.push(probabilities);
    const context = mergeHeads(graph, graph.op('MatMul', [probabilities, value]), shape.hidden);
    const outputWeight = w(`${at}attention.output.dense.weight`);
    const contributions = headContributions(graph, value, outputWeight, shape.heads, shape.headSize, shape.hidden);
    norms.push(valueNorms(graph, contributions));
    grams.push(valueGram(graph, contributions));
    const projected = linear(graph, context, outputWeight, w(`${at}attention.output.dense.bias`));
    const attended = layerNorm(
      graph,
      graph.op('Add', [projected, hidden]),
      w(`${at}attention.output.LayerNorm.weight`),
      w(`${at}attention.output.LayerNorm.bias`),
      shape.epsilon,
    );
    const inner = geluErf(
      graph,
      linear(graph, attended, w(`${at}intermediate.dense.weight`), w(`${at}intermediate.dense.bias`)),
    );
    const out = linear(graph, inner, w(`${at}output.dense.weight`), w(`${at}output.dense.bias`));
    hidden = layerNorm(
      graph,
      graph.op('Add', [out, attended]),
      w(`${at}output.LayerNorm.weight`),
      w(`${at}output.LayerNorm.bias`),
      shape.epsilon,
    );
  }
  addAnalysisOutputs(graph, hidden, { attentions, norms, grams }, shape);
}
