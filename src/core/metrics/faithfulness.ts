import { InputError } from '../pipeline';
import type { AnalysisResult, ForwardOutput } from '../types';
import { prepareView, tokenAttentionRow, windowOfToken, type AttentionView, type ViewMode } from '../views';
import { FlowTooLargeError } from './flow';

/** At most this many code tokens take part (one forward pass each): the focus and its nearest neighbours. */
export const MAX_FAITHFULNESS_TOKENS = 256;

/** What faithfulness needs of a model: one forward pass and the `<mask>` id. */
export interface ForwardModel {
  forward(ids: readonly number[]): Promise<ForwardOutput>;
  /** `last_hidden_state` of several inputs of one length in one batched pass (LoadedModel has it). */
  hiddenStates?(batch: ReadonlyArray<readonly number[]>): Promise<Float32Array[]>;
  readonly tokenizer: { readonly special: { mask: number } };
}

/** Blanked-out inputs per batched forward pass: at 512 subwords of a 12 × 12 model, about 200 MB of activations. */
export const FAITHFULNESS_BATCH = 8;

export interface ViewFaithfulness {
  mode: ViewMode;
  label: string;
  /** Per compared token (same order as `FaithfulnessReport.tokens`). */
  importance: number[];
  /** Spearman rank correlation with the occlusion importance; NaN when either side is constant. */
  spearman: number;
}

export interface FaithfulnessReport {
  definition: string;
  focus: number;
  /**
   * Code tokens compared, ascending: the focus token's window without the focus — or, in a window
   * of more than {@link MAX_FAITHFULNESS_TOKENS} tokens, the focus's nearest neighbours in it.
   */
  tokens: number[];
  /** Code tokens of the focus's window (more than `tokens.length + 1` when neighbours were chosen). */
  windowTokens: number;
  /** 1 − cosine of the focus token's output vector with and without each token (blanked to `<mask>`). */
  occlusion: number[];
  views: ViewFaithfulness[];
  /** Views that could not be computed, with the reason (e.g. flow too large). */
  skipped: string[];
}

const DEFINITION =
  'occlusion importance of token t for focus f: 1 − cos(h_f, h_f without t), h_f = mean over f’s ' +
  ('subwords of last_hidden_state, t’s subwords replaced by <mask>; each view’s importance is f’s row ' +
    '(attends to) at the last layer; Spearman ρ with average ranks for ties, focus excluded');

/**
 * The tokens a faithfulness check compares for `focus`: the other tokens of its window, or its
 * `max − 1` nearest neighbours in the window (by token distance, the earlier one first on ties).
 */
export function faithfulnessTokens(result: AnalysisResult, focus: number, max = MAX_FAITHFULNESS_TOKENS): number[] {
  const window = windowOfToken(result, focus);
  if (!window) return [];
  const start = Math.max(window.tokenStart, Math.min(focus - Math.floor((max - 1) / 2), window.tokenEnd - max));
  const end = Math.min(window.tokenEnd, start + max);
  const tokens: number[] = [];
  for (let t = start; t < end; t++) if (t !== focus) tokens.push(t);
  return tokens;
}

/**
 * Faithfulness check for one focus token: how well each attention view's per-token importance
 * ranks the tokens the way blanking them out changes the focus token's output vector. One extra
 * forward pass per compared token, so at most {@link MAX_FAITHFULNESS_TOKENS} − 1 tokens nearest
 * the focus in its window are compared.
 */
export async function faithfulness(
  result: AnalysisResult,
  model: ForwardModel,
  focus: number,
  maxTokens = MAX_FAITHFULNESS_TOKENS,
  batchSize = FAITHFULNESS_BATCH,
): Promise<FaithfulnessReport> {
  if (!Number.isInteger(focus) || focus < 0 || focus >= result.tokens.length) {
    throw new InputError(
      `Focus token ${focus} is out of range: the file has ${result.tokens.length} code tokens ` +
        `(0–${result.tokens.length - 1}).`,
    );
  }
  const window = windowOfToken(result, focus)!;
  const tokens = faithfulnessTokens(result, focus, maxTokens);
  const focusSubwords: number[] = [];
  for (let s = 0; s < window.ids.length; s++) if (window.tokenOfSubword[s] === focus) focusSubwords.push(s);
  const reference = focusVector(
    (await model.forward(window.ids)).lastHiddenState.data,
    focusSubwords,
    result.model.hiddenSize,
  );

  const occlusion: number[] = [];
  const blanked = (token: number) =>
    window.ids.map((id, s) => (window.tokenOfSubword[s] === token ? model.tokenizer.special.mask : id));
  // Blanking swaps subwords one for one, so every input has the window's length and they batch.
  const step = model.hiddenStates && batchSize > 1 ? batchSize : 1;
  for (let start = 0; start < tokens.length; start += step) {
    const inputs = tokens.slice(start, start + step).map(blanked);
    const states =
      step > 1 ? await model.hiddenStates!(inputs) : [(await model.forward(inputs[0])).lastHiddenState.data];
    for (const state of states)
      occlusion.push(1 - cosine(reference, focusVector(state, focusSubwords, result.model.hiddenSize)));
  }

  const last = result.model.layers - 1;
  const modes: ViewMode[] = ['meanHeads', 'rollout', 'flow'];
  if (result.model.hasValueNorms) modes.push('valueWeighted');
  const views: ViewFaithfulness[] = [];
  const skipped: string[] = [];
  for (const mode of modes) {
    const view: AttentionView = { mode, layer: last, direction: 'attendsTo' };
    try {
      await prepareView(result, view, focus);
      const row = tokenAttentionRow(result, view, focus);
      const importance = tokens.map((token) => row.weights[token]);
      views.push({ mode, label: row.label, importance, spearman: spearman(importance, occlusion) });
    } catch (error) {
      if (!(error instanceof FlowTooLargeError)) throw error;
      skipped.push(`${mode}: ${error.message}`);
    }
  }
  const windowTokens = window.tokenEnd - window.tokenStart;
  const definition =
    tokens.length + 1 < windowTokens
      ? `${DEFINITION}; compared: the ${tokens.length} tokens nearest the focus of its window's ${windowTokens}`
      : DEFINITION;
  return { definition, focus, tokens, windowTokens, occlusion, views, skipped };
}

function focusVector(hidden: Float32Array, subwords: number[], size: number): Float64Array {
  const vector = new Float64Array(size);
  for (const s of subwords) for (let d = 0; d < size; d++) vector[d] += hidden[s * size + d] / subwords.length;
  return vector;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let d = 0; d < a.length; d++) {
    dot += a[d] * b[d];
    normA += a[d] * a[d];
    normB += b[d] * b[d];
  }
  return normA > 0 && normB > 0 ? dot / Math.sqrt(normA * normB) : 0;
}

/** Ranks 1..n, ties sharing the average of the ranks they span. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((value, index) => ({ value, index })).sort((x, y) => x.value - y.value);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && order[end + 1].value === order[start].value) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) ranks[order[k].index] = rank;
    start = end + 1;
  }
  return ranks;
}

/** Spearman's ρ: Pearson correlation of the average ranks. NaN when either side is constant. */
export function spearman(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error('spearman: both samples need the same length.');
  const rx = averageRanks(x);
  const ry = averageRanks(y);
  const n = x.length;
  const mean = (n + 1) / 2;
  let covariance = 0;
  let varianceX = 0;
  let varianceY = 0;
  for (let k = 0; k < n; k++) {
    covariance += (rx[k] - mean) * (ry[k] - mean);
    varianceX += (rx[k] - mean) ** 2;
    varianceY += (ry[k] - mean) ** 2;
  }
  return varianceX > 0 && varianceY > 0 ? covariance / Math.sqrt(varianceX * varianceY) : NaN;
}
