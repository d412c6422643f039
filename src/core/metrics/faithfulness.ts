import { InputError } from '../pipeline';
import type { AnalysisResult, ForwardOutput } from '../types';
import { tokenAttentionRow, windowOfToken, type AttentionView, type ViewMode } from '../views';
import { FlowTooLargeError } from './flow';

/** At most this many code tokens are blanked out (one forward pass each). */
export const MAX_FAITHFULNESS_TOKENS = 256;

/** What faithfulness needs of a model: one forward pass and the `<mask>` id. */
export interface ForwardModel {
  forward(ids: readonly number[]): Promise<ForwardOutput>;
  readonly tokenizer: { readonly special: { mask: number } };
}

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
  /** Code tokens compared: the focus token's window, the focus itself excluded. */
  tokens: number[];
  /** 1 − cosine of the focus token's output vector with and without each token (blanked to `<mask>`). */
  occlusion: number[];
  views: ViewFaithfulness[];
  /** Views that could not be computed, with the reason (e.g. flow too large). */
  skipped: string[];
}

const DEFINITION =
  'occlusion importance of token t for focus f: 1 − cos(h_f, h_f without t), h_f = mean over f’s subwords of last_hidden_state, t’s subwords replaced by <mask>; each view’s importance is f’s row (attends to) at the last layer; Spearman ρ with average ranks for ties, focus excluded';

/**
 * Faithfulness check for one focus token: how well each attention view's per-token importance
 * ranks the tokens the way blanking them out changes the focus token's output vector. One extra
 * forward pass per token of the focus's window, so the window is bounded by
 * {@link MAX_FAITHFULNESS_TOKENS} code tokens.
 */
export async function faithfulness(result: AnalysisResult, model: ForwardModel, focus: number): Promise<FaithfulnessReport> {
  if (!Number.isInteger(focus) || focus < 0 || focus >= result.tokens.length) {
    throw new InputError(`Focus token ${focus} is out of range: the file has ${result.tokens.length} code tokens (0–${result.tokens.length - 1}).`);
  }
  const window = windowOfToken(result, focus)!;
  const tokens: number[] = [];
  for (let t = window.tokenStart; t < window.tokenEnd; t++) if (t !== focus) tokens.push(t);
  if (tokens.length + 1 > MAX_FAITHFULNESS_TOKENS) {
    throw new InputError(`The faithfulness check blanks out each token of the focus's window (one forward pass each); this window has ${tokens.length + 1} code tokens, the limit is ${MAX_FAITHFULNESS_TOKENS}. Analyse a smaller selection.`);
  }
  const focusSubwords: number[] = [];
  for (let s = 0; s < window.ids.length; s++) if (window.tokenOfSubword[s] === focus) focusSubwords.push(s);
  const reference = focusVector((await model.forward(window.ids)).lastHiddenState.data, focusSubwords, result.model.hiddenSize);

  const occlusion: number[] = [];
  for (const token of tokens) {
    const ids = window.ids.map((id, s) => (window.tokenOfSubword[s] === token ? model.tokenizer.special.mask : id));
    const occluded = focusVector((await model.forward(ids)).lastHiddenState.data, focusSubwords, result.model.hiddenSize);
    occlusion.push(1 - cosine(reference, occluded));
  }

  const last = result.model.layers - 1;
  const modes: ViewMode[] = ['meanHeads', 'rollout', 'flow'];
  if (window.valueNorms) modes.push('valueWeighted');
  const views: ViewFaithfulness[] = [];
  const skipped: string[] = [];
  for (const mode of modes) {
    const view: AttentionView = { mode, layer: last, direction: 'attendsTo' };
    try {
      const row = tokenAttentionRow(result, view, focus);
      const importance = tokens.map((token) => row.weights[token]);
      views.push({ mode, label: row.label, importance, spearman: spearman(importance, occlusion) });
    } catch (error) {
      if (!(error instanceof FlowTooLargeError)) throw error;
      skipped.push(`${mode}: ${error.message}`);
    }
  }
  return { definition: DEFINITION, focus, tokens, occlusion, views, skipped };
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
  for (let start = 0; start < order.length; ) {
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
