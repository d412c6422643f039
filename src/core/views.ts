import { alignMatrix, headMatrix, headTokenMatrix } from './alignment';
import { tokenFlow } from './metrics/flow';
import { attentionRollout } from './metrics/rollout';
import { valueWeightedAttention } from './metrics/valueWeighted';
import type { AnalysisResult, AnalyzedWindow } from './types';

export type ViewMode = 'head' | 'meanHeads' | 'rollout' | 'flow' | 'valueWeighted';
export type Direction = 'attendsTo' | 'attendedBy';

/** What the editor overlay and the panels show for a focused token. */
export interface AttentionView {
  mode: ViewMode;
  layer: number;
  /** Used by `head` and `valueWeighted` (undefined there: mean over heads). */
  head?: number;
  direction: Direction;
}

export const VIEW_MODE_LABELS: Record<ViewMode, string> = {
  head: 'one head',
  meanHeads: 'mean over heads',
  rollout: 'attention rollout',
  flow: 'attention flow',
  valueWeighted: 'value-weighted (α·‖f(x)‖)',
};

export function viewLabel(view: AttentionView): string {
  const where = view.mode === 'head' || (view.mode === 'valueWeighted' && view.head !== undefined) ? `layer ${view.layer} · head ${view.head ?? 0}` : view.mode === 'rollout' || view.mode === 'flow' ? `layers 0–${view.layer}` : `layer ${view.layer}`;
  const direction = view.mode === 'flow' ? 'flows to' : view.direction === 'attendsTo' ? 'attends to' : 'attended by';
  const note = view.mode === 'flow' ? ' (max-flow into each token, row normalised to 1)' : '';
  return `${VIEW_MODE_LABELS[view.mode]} · ${where} · ${direction}${note}`;
}

export interface TokenWeights {
  /** One weight per code token of the file; 0 outside the focused token's window. */
  weights: Float32Array;
  label: string;
}

const matrixCache = new WeakMap<AnalyzedWindow, Map<string, Float32Array>>();

function cached(window: AnalyzedWindow, key: string, compute: () => Float32Array): Float32Array {
  let byKey = matrixCache.get(window);
  if (!byKey) matrixCache.set(window, (byKey = new Map()));
  let matrix = byKey.get(key);
  if (!matrix) byKey.set(key, (matrix = compute()));
  return matrix;
}

const rolloutCache = new WeakMap<AnalyzedWindow, Float64Array[]>();

/** Rollouts of every layer of a window, computed once: each layer's is a step of the same product. */
function subwordRollouts(window: AnalyzedWindow): Float64Array[] {
  let rollouts = rolloutCache.get(window);
  if (!rollouts) rolloutCache.set(window, (rollouts = attentionRollout(window.subwordAttention)));
  return rollouts;
}

/** The m×m code-token matrix of a window for a view (flow excluded: it is per focus token). */
export function windowTokenMatrix(result: AnalysisResult, window: AnalyzedWindow, view: AttentionView): Float32Array {
  const rule = result.options.pairRule;
  const n = window.ids.length;
  switch (view.mode) {
    case 'head':
      return cached(window, `head:${view.layer}:${view.head ?? 0}`, () => headTokenMatrix(window, view.layer, view.head ?? 0, rule));
    case 'meanHeads':
      return headMatrix(window.layerAttention, view.layer, 0);
    case 'rollout':
      return cached(window, `rollout:${view.layer}`, () => alignMatrix(Float32Array.from(subwordRollouts(window)[view.layer]), n, window, rule));
    case 'valueWeighted':
      if (!window.valueNorms) throw new Error('This model has no value_norms output; value-weighted attention needs it (re-export with models/export_onnx.py).');
      return cached(window, `value:${view.layer}:${view.head ?? 'mean'}`, () =>
        alignMatrix(Float32Array.from(valueWeightedAttention(window.subwordAttention, window.valueNorms!, view.layer, view.head)), n, window, rule),
      );
    case 'flow':
      throw new Error('Attention flow is computed per focused token: use tokenAttentionRow.');
  }
}

export function windowOfToken(result: AnalysisResult, token: number): AnalyzedWindow | undefined {
  return result.windows.find((window) => token >= window.tokenStart && token < window.tokenEnd);
}

/**
 * The weights a focused code token gives to (or receives from) every other code token under a
 * view. Flow is computed from the focus token's subwords at the top layer to every input subword
 * (`attendedBy` is not defined for flow and falls back to `attendsTo`), then grouped by code
 * token with the same rule as the alignment.
 */
export function tokenAttentionRow(result: AnalysisResult, view: AttentionView, token: number): TokenWeights {
  const weights = new Float32Array(result.tokens.length);
  const window = windowOfToken(result, token);
  if (!window) return { weights, label: viewLabel(view) };
  const m = window.tokenEnd - window.tokenStart;
  const local = token - window.tokenStart;
  if (view.mode === 'flow') {
    const flows = cached(window, `flow:${view.layer}:${token}`, () => flowRow(window, view.layer, token));
    weights.set(flows, window.tokenStart);
    return { weights, label: viewLabel({ ...view, direction: 'attendsTo' }) };
  }
  const matrix = windowTokenMatrix(result, window, view);
  for (let b = 0; b < m; b++) weights[window.tokenStart + b] = view.direction === 'attendsTo' ? matrix[local * m + b] : matrix[b * m + local];
  return { weights, label: viewLabel(view) };
}

/**
 * The flow row of a focused token: the max-flow from its subwords into each code token's subwords
 * of the window (`tokenFlow`), normalised to sum to 1 over the window's tokens as Abnar & Zuidema
 * normalise each row. The pair rule does not apply: a flow into a set of subwords is one number.
 */
function flowRow(window: AnalyzedWindow, layer: number, token: number): Float32Array {
  const m = window.tokenEnd - window.tokenStart;
  const groups: number[][] = Array.from({ length: m }, () => []);
  window.tokenOfSubword.forEach((owner, subword) => {
    if (owner >= 0) groups[owner - window.tokenStart].push(subword);
  });
  const flows = tokenFlow(window.subwordAttention, groups[token - window.tokenStart], groups, { layer });
  const total = flows.reduce((sum, value) => sum + value, 0);
  return Float32Array.from(flows, (value) => (total > 0 ? value / total : 0));
}

export interface RankedToken {
  token: number;
  weight: number;
}

/** The k largest weights, excluding `exclude` (usually the focused token itself). */
export function topK(weights: Float32Array, k: number, exclude?: number): RankedToken[] {
  const ranked: RankedToken[] = [];
  for (let token = 0; token < weights.length; token++) {
    if (token === exclude || weights[token] <= 0) continue;
    if (ranked.length < k || weights[token] > ranked[ranked.length - 1].weight) {
      ranked.push({ token, weight: weights[token] });
      ranked.sort((a, b) => b.weight - a.weight);
      if (ranked.length > k) ranked.pop();
    }
  }
  return ranked;
}
