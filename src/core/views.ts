import { alignMatrix, headMatrix } from './alignment';
import { causalRollout, causalTokenFlow } from './metrics/causalFlow';
import { tokenFlow } from './metrics/flow';
import { attentionRollout } from './metrics/rollout';
import { layerValueWeightedAttention, valueWeightedAttention } from './metrics/valueWeighted';
import type { AnalysisResult, AnalyzedWindow } from './types';
import { residentTensors, TensorsReleasedError, windowTensors, type WindowTensors } from './windowTensors';

export type ViewMode = 'head' | 'meanHeads' | 'rollout' | 'flow' | 'valueWeighted' | 'valueWeightedLayer';
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
  valueWeighted: 'value-weighted, head mean of α‖f_h(x)‖',
  valueWeightedLayer: 'value-weighted, layer (Kobayashi ‖Σ_h α f_h(x)‖)',
};

export const NO_VALUE_GRAM =
  'This model has no value_gram output; the layer-level value-weighted view needs it (re-export the model with ' +
  'models/export_onnx.py, or use the head mean of α‖f_h(x)‖).';

export function viewLabel(view: AttentionView): string {
  const where =
    view.mode === 'head' || (view.mode === 'valueWeighted' && view.head !== undefined)
      ? `layer ${view.layer} · head ${view.head ?? 0}`
      : view.mode === 'rollout' || view.mode === 'flow'
        ? `layers 0–${view.layer}`
        : `layer ${view.layer}`;
  const direction = view.mode === 'flow' ? 'flows to' : view.direction === 'attendsTo' ? 'attends to' : 'attended by';
  const note = view.mode === 'flow' ? ' (max-flow into each token, row normalised to 1)' : '';
  return `${VIEW_MODE_LABELS[view.mode]} · ${where} · ${direction}${note}`;
}

export interface TokenWeights {
  /** One weight per code token of the file; 0 outside the focused token's window. */
  weights: Float32Array;
  label: string;
}

/**
 * Derived m×m matrices (and flow rows) of a window, per view: small next to the window's tensors,
 * and kept with the window so that a view once prepared reads without its tensors — the most
 * recent {@link DERIVED_PER_WINDOW} per window, so that browsing every head does not grow memory.
 */
const matrixCache = new WeakMap<AnalyzedWindow, Map<string, Float32Array>>();
export const DERIVED_PER_WINDOW = 32;

function cachedMatrix(window: AnalyzedWindow, key: string): Float32Array | undefined {
  const byKey = matrixCache.get(window);
  const matrix = byKey?.get(key);
  if (matrix) {
    byKey!.delete(key);
    byKey!.set(key, matrix);
  }
  return matrix;
}

function cache(window: AnalyzedWindow, key: string, matrix: Float32Array): Float32Array {
  let byKey = matrixCache.get(window);
  if (!byKey) matrixCache.set(window, (byKey = new Map<string, Float32Array>()));
  byKey.delete(key);
  byKey.set(key, matrix);
  for (const oldest of byKey.keys()) {
    if (byKey.size <= DERIVED_PER_WINDOW) break;
    byKey.delete(oldest);
  }
  return matrix;
}

function viewKey(view: AttentionView, token: number): string {
  switch (view.mode) {
    case 'head':
      return `head:${view.layer}:${view.head ?? 0}`;
    case 'rollout':
      return `rollout:${view.layer}`;
    case 'valueWeighted':
      return `value:${view.layer}:${view.head ?? 'mean'}`;
    case 'valueWeightedLayer':
      return `valueLayer:${view.layer}`;
    case 'flow':
      return `flow:${view.layer}:${token}`;
    case 'meanHeads':
      return `mean:${view.layer}`;
  }
}

/** Views whose matrix needs the window's full tensors (all but the mean over heads). */
function needsTensors(view: AttentionView): boolean {
  return view.mode !== 'meanHeads';
}

/** The window's tensors if at hand (cached, or held by a window made outside the pipeline). */
function tensorsAtHand(window: AnalyzedWindow): WindowTensors | undefined {
  return (
    residentTensors(window) ?? (Object.prototype.hasOwnProperty.call(window, 'subwordAttention') ? window : undefined)
  );
}

/**
 * Makes the view of `token`'s window readable synchronously: recomputes the window's tensors if
 * they were evicted (one forward pass) and derives the view's matrix, which stays with the window.
 * Call it before {@link tokenAttentionRow} / {@link windowTokenMatrix} for any view but the mean
 * over heads.
 */
export async function prepareView(result: AnalysisResult, view: AttentionView, token: number): Promise<void> {
  const window = windowOfToken(result, token);
  if (!window || !needsTensors(view) || cachedMatrix(window, viewKey(view, token))) return;
  const tensors = tensorsAtHand(window) ?? (await windowTensors(window));
  derive(result, window, view, token, tensors);
}

function derive(
  result: AnalysisResult,
  window: AnalyzedWindow,
  view: AttentionView,
  token: number,
  tensors: WindowTensors,
): Float32Array {
  const rule = result.options.pairRule;
  const n = window.ids.length;
  const key = viewKey(view, token);
  switch (view.mode) {
    case 'head': {
      // One head aligned alone: 1/(layers × heads) of aligning every head.
      const heads = tensors.subwordAttention.shape[1];
      return cache(
        window,
        key,
        alignMatrix(tensors.subwordAttention.data, n, window, rule, (view.layer * heads + (view.head ?? 0)) * n * n),
      );
    }
    case 'meanHeads':
      return headMatrix(window.layerAttention, view.layer, 0);
    case 'rollout': {
      // Every layer's rollout is a step of the same product: align them all at once.
      const rollouts = result.causal
        ? causalRollout(tensors.subwordAttention)
        : attentionRollout(tensors.subwordAttention);
      rollouts.forEach((rollout, layer) =>
        cache(window, `rollout:${layer}`, alignMatrix(Float32Array.from(rollout), n, window, rule)),
      );
      return cachedMatrix(window, key)!;
    }
    case 'valueWeighted':
      if (!tensors.valueNorms)
        throw new Error(
          'This model has no value_norms output; value-weighted attention needs it (re-export with ' +
            'models/export_onnx.py).',
        );
      return cache(
        window,
        key,
        alignMatrix(
          Float32Array.from(
            valueWeightedAttention(tensors.subwordAttention, tensors.valueNorms, view.layer, view.head),
          ),
          n,
          window,
          rule,
        ),
      );
    case 'valueWeightedLayer':
      if (!tensors.valueGram) throw new Error(NO_VALUE_GRAM);
      return cache(
        window,
        key,
        alignMatrix(
          Float32Array.from(layerValueWeightedAttention(tensors.subwordAttention, tensors.valueGram, view.layer)),
          n,
          window,
          rule,
        ),
      );
    case 'flow':
      return cache(window, key, flowRow(window, view.layer, token, tensors, result.causal === true));
  }
}

/** The view's matrix (flow: the token's row), prepared or derived from tensors at hand. */
function viewMatrix(result: AnalysisResult, window: AnalyzedWindow, view: AttentionView, token: number): Float32Array {
  if (!needsTensors(view)) return headMatrix(window.layerAttention, view.layer, 0);
  const prepared = cachedMatrix(window, viewKey(view, token));
  if (prepared) return prepared;
  if (view.mode === 'valueWeighted' && result.model && !result.model.hasValueNorms) {
    throw new Error(
      'This model has no value_norms output; value-weighted attention needs it (re-export with models/export_onnx.py).',
    );
  }
  if (view.mode === 'valueWeightedLayer' && result.model && !result.model.hasValueGram) throw new Error(NO_VALUE_GRAM);
  const tensors = tensorsAtHand(window);
  if (!tensors) throw new TensorsReleasedError(`The ${VIEW_MODE_LABELS[view.mode]} view`);
  return derive(result, window, view, token, tensors);
}

/**
 * The m×m code-token matrix of a window for a view (flow excluded: it is per focus token).
 * Synchronous: for any view but the mean over heads, `await prepareView` first on a file larger
 * than the tensor cache.
 */
export function windowTokenMatrix(result: AnalysisResult, window: AnalyzedWindow, view: AttentionView): Float32Array {
  if (view.mode === 'flow') throw new Error('Attention flow is computed per focused token: use tokenAttentionRow.');
  return viewMatrix(result, window, view, window.tokenStart);
}

export function windowOfToken(result: AnalysisResult, token: number): AnalyzedWindow | undefined {
  // A decoder window's prefix tokens are scored in the window before it.
  return result.windows.find((window) => token >= (window.scoredStart ?? window.tokenStart) && token < window.tokenEnd);
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
    weights.set(viewMatrix(result, window, view, token), window.tokenStart);
    return { weights, label: viewLabel({ ...view, direction: 'attendsTo' }) };
  }
  const matrix = viewMatrix(result, window, view, token);
  for (let b = 0; b < m; b++)
    weights[window.tokenStart + b] = view.direction === 'attendsTo' ? matrix[local * m + b] : matrix[b * m + local];
  return { weights, label: viewLabel(view) };
}

/**
 * The flow row of a focused token: the max-flow from its subwords into each code token's subwords
 * of the window (`tokenFlow`), normalised to sum to 1 over the window's tokens as Abnar & Zuidema
 * normalise each row. The pair rule does not apply: a flow into a set of subwords is one number.
 */
function flowRow(
  window: AnalyzedWindow,
  layer: number,
  token: number,
  tensors: WindowTensors,
  causal: boolean,
): Float32Array {
  const m = window.tokenEnd - window.tokenStart;
  const groups: number[][] = Array.from({ length: m }, () => []);
  window.tokenOfSubword.forEach((owner, subword) => {
    if (owner >= 0) groups[owner - window.tokenStart].push(subword);
  });
  // Causal flow is exact on the positions up to the focus token alone (causalFlow.ts).
  const flowOf = causal && groups[token - window.tokenStart].length ? causalTokenFlow : tokenFlow;
  const flows = flowOf(tensors.subwordAttention, groups[token - window.tokenStart], groups, { layer });
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
