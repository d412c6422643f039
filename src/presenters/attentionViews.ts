import { basename } from 'node:path';
import type { AnalysisResult, AnalyzedWindow } from '../core/types';
import { tokenAttentionRow, viewLabel, windowOfToken, windowTokenMatrix, type AttentionView } from '../core/views';
import type { AttentionViewsModel, HeadLinks } from '../protocol/attentionViews';
import { FUNCTION_TYPES } from './codeLens';

/** Most tokens the three views show at once (the model's window is 512 subwords). */
export const MAX_VIEW_TOKENS = 512;
/** Strongest targets the head view draws per attending token and head. */
export const LINKS_PER_TOKEN = 8;
/** Flow runs one max-flow per attending subword (~0.4 s a token here): its matrix keeps this many rows. */
export const MAX_FLOW_ROWS = 16;
/** Largest side of a model-view thumbnail. */
export const THUMBNAIL_SIZE = 32;

/** The code tokens [first, end) the views show, and how to name them. */
export interface ViewScope {
  first: number;
  end: number;
  description: string;
  notes: string[];
}

const lineSpan = (result: AnalysisResult, first: number, end: number) => {
  const from = result.tokens[first].range.start.line + 1;
  const to = result.tokens[end - 1].range.end.line + 1;
  return from === to ? `line ${from}` : `lines ${from}–${to}`;
};

/**
 * Which tokens to show for an editor selection [start, end) in UTF-16 offsets: the tokens inside
 * a non-empty selection, or else the innermost function around the cursor, or else the cursor's
 * model window. Attention is only defined within one window, so the scope is clipped to the
 * window of its first token, and to {@link MAX_VIEW_TOKENS}; each clip is said in `notes`.
 */
export function viewScope(
  result: AnalysisResult,
  start: number,
  end: number,
  maxTokens = MAX_VIEW_TOKENS,
): ViewScope | undefined {
  const tokens = result.tokens;
  const notes: string[] = [];
  let first = -1;
  let last = -1;
  let what: string;
  if (end > start) {
    first = tokens.findIndex((token) => token.endIndex > start && token.startIndex < end);
    if (first < 0) return undefined;
    last = first;
    while (last + 1 < tokens.length && tokens[last + 1].startIndex < end) last++;
    what = 'selection';
  } else {
    const around = result.tree.nodes
      .filter((node) => FUNCTION_TYPES.has(node.type) && node.startIndex <= start && start <= node.endIndex)
      .sort((a, b) => a.endIndex - a.startIndex - (b.endIndex - b.startIndex))[0];
    if (around) {
      first = tokens.findIndex((token) => token.startIndex >= around.startIndex);
      last = first;
      while (last + 1 < tokens.length && tokens[last + 1].endIndex <= around.endIndex) last++;
      const name = result.tree.nodes.find((node) => node.parent === around.id && node.field === 'name');
      const text = name ? result.source.text.slice(name.startIndex, name.endIndex) : '';
      what = text ? `function ${text}` : 'the function under the cursor';
    } else {
      const cursorToken = tokens.findIndex((token) => token.endIndex > start);
      const window = windowOfToken(result, cursorToken < 0 ? tokens.length - 1 : cursorToken);
      if (!window) return undefined;
      first = window.tokenStart;
      last = window.tokenEnd - 1;
      what = 'the model window at the cursor (no function around it)';
    }
  }
  if (first < 0 || last < first) return undefined;
  const window = windowOfToken(result, first);
  if (!window) return undefined;
  if (last >= window.tokenEnd) {
    notes.push(
      `Cut at the end of the model window (token ${window.tokenEnd - first} of ${last - first + 1}): ` +
        `attention only links tokens within one window.`,
    );
    last = window.tokenEnd - 1;
  }
  if (last - first + 1 > maxTokens) {
    notes.push(`Showing the first ${maxTokens} of ${last - first + 1} tokens.`);
    last = first + maxTokens - 1;
  }
  const endToken = last + 1;
  return {
    first,
    end: endToken,
    description: `${what}, ${lineSpan(result, first, endToken)}, ${endToken - first} tokens`,
    notes,
  };
}

/** The k × k block of a window's m × m token matrix for tokens [first, end). */
function block(matrix: Float32Array, window: AnalyzedWindow, first: number, end: number): Float32Array {
  const m = window.tokenEnd - window.tokenStart;
  const k = end - first;
  const offset = first - window.tokenStart;
  const out = new Float32Array(k * k);
  for (let i = 0; i < k; i++) out.set(matrix.subarray((offset + i) * m + offset, (offset + i) * m + offset + k), i * k);
  return out;
}

const fourDigits = (value: number) => Math.round(value * 1e4) / 1e4;

function strongestLinks(matrix: Float32Array, k: number, perToken: number): HeadLinks {
  const targets: number[][] = [];
  const weights: number[][] = [];
  for (let i = 0; i < k; i++) {
    const row = Array.from(matrix.subarray(i * k, (i + 1) * k), (weight, target) => ({ weight, target }));
    const top = row
      .filter((entry) => entry.weight > 0)
      .sort((a, b) => b.weight - a.weight)
      .slice(0, perToken);
    targets.push(top.map((entry) => entry.target));
    weights.push(top.map((entry) => fourDigits(entry.weight)));
  }
  return { targets, weights };
}

/** Block means of a k × k matrix over a size × size grid (size = min(k, maxSize)). */
export function poolMatrix(
  matrix: Float32Array,
  k: number,
  maxSize = THUMBNAIL_SIZE,
): { size: number; values: number[] } {
  const size = Math.min(k, maxSize);
  const sums = new Float64Array(size * size);
  const counts = new Float64Array(size * size);
  for (let i = 0; i < k; i++) {
    const row = Math.floor((i * size) / k);
    for (let j = 0; j < k; j++) {
      const cell = row * size + Math.floor((j * size) / k);
      sums[cell] += matrix[i * k + j];
      counts[cell]++;
    }
  }
  return { size, values: Array.from(sums, (sum, cell) => fourDigits(counts[cell] ? sum / counts[cell] : 0)) };
}

/**
 * The current view's k × k matrix of the scope. Flow is defined per attending token, so its rows
 * come one by one from the core's per-token view (`tokenAttentionRow`).
 */
function viewMatrix(
  result: AnalysisResult,
  window: AnalyzedWindow,
  view: AttentionView,
  scope: ViewScope,
): Float32Array {
  const k = scope.end - scope.first;
  if (view.mode !== 'flow') {
    const full = block(windowTokenMatrix(result, window, view), window, scope.first, scope.end);
    if (view.direction === 'attendsTo') return full;
    const transposed = new Float32Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) transposed[i * k + j] = full[j * k + i];
    return transposed;
  }
  const rows = Math.min(k, MAX_FLOW_ROWS);
  const out = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++)
    out.set(tokenAttentionRow(result, view, scope.first + i).weights.subarray(scope.first, scope.end), i * k);
  return out;
}

/**
 * What the attention views panel shows for a scope under a view: each head's strongest links
 * (head view), pooled thumbnails of every layer × head (model view), and the current view's
 * token × token matrix. Heads come from raw attention, or value-weighted attention in that view;
 * rollout and flow combine heads, so their head and model views show the raw heads.
 */
export function attentionViewsModel(
  result: AnalysisResult,
  view: AttentionView,
  scope: ViewScope,
): AttentionViewsModel {
  const window = windowOfToken(result, scope.first);
  if (!window) throw new Error('The selection is outside the analysed windows; analyse the file again.');
  const { layers, heads } = result.model;
  const k = scope.end - scope.first;
  const valueWeighted = view.mode === 'valueWeighted' && Boolean(window.valueNorms);
  const headSource = valueWeighted ? 'value-weighted attention (α‖f_h(x)‖ per head)' : 'raw attention';
  const notes = [...scope.notes];
  if (view.mode === 'rollout' || view.mode === 'flow') {
    notes.push(
      `${view.mode === 'rollout' ? 'Rollout' : 'Flow'} combines every head of layers 0–${view.layer}: ` +
        `the head and model views show raw attention per head; the matrix shows the ${view.mode}.`,
    );
  }
  if (view.mode === 'flow' && k > MAX_FLOW_ROWS) {
    notes.push(`Flow is one max-flow per token: the matrix has rows for the first ${MAX_FLOW_ROWS} of ${k} tokens.`);
  }
  if (view.direction === 'attendedBy' && view.mode !== 'flow')
    notes.push('The matrix is transposed for “attended by”: row = attended token.');
  const headBlock = (layer: number, head: number) =>
    block(
      windowTokenMatrix(result, window, {
        mode: valueWeighted ? 'valueWeighted' : 'head',
        layer,
        head,
        direction: 'attendsTo',
      }),
      window,
      scope.first,
      scope.end,
    );
  const linkLayers: HeadLinks[][] = [];
  const thumbnails: number[][][] = [];
  let size = Math.min(k, THUMBNAIL_SIZE);
  for (let layer = 0; layer < layers; layer++) {
    const linkRow: HeadLinks[] = [];
    const thumbRow: number[][] = [];
    for (let head = 0; head < heads; head++) {
      const matrix = headBlock(layer, head);
      linkRow.push(strongestLinks(matrix, k, LINKS_PER_TOKEN));
      const pooled = poolMatrix(matrix, k);
      size = pooled.size;
      thumbRow.push(pooled.values);
    }
    linkLayers.push(linkRow);
    thumbnails.push(thumbRow);
  }
  const matrix = viewMatrix(result, window, view, scope);
  return {
    file: result.source.path ? basename(result.source.path) : '(untitled)',
    model: { displayName: result.model.displayName, layers, heads },
    viewLabel: viewLabel(view),
    mode: view.mode,
    layer: view.layer,
    head:
      view.mode === 'head' || (view.mode === 'valueWeighted' && view.head !== undefined) ? (view.head ?? 0) : undefined,
    scope: scope.description,
    notes,
    tokens: result.tokens
      .slice(scope.first, scope.end)
      .map((token) => ({ text: token.text, line: token.range.start.line + 1 })),
    windowTokens: window.tokenEnd - window.tokenStart,
    headView: { source: headSource, linksPerToken: LINKS_PER_TOKEN, layers: linkLayers },
    modelView: { size, thumbnails, source: headSource },
    matrix: { label: viewLabel(view), rows: matrix.length / k, values: Array.from(matrix, fourDigits) },
  };
}

/** The matrix as tidy CSV: one row per (attending, attended) token pair. */
export function matrixCsv(model: AttentionViewsModel): string {
  const k = model.tokens.length;
  const quoted = (text: string) => `"${text.replace(/"/g, '""')}"`;
  const rows = ['view,from_index,from_token,from_line,to_index,to_token,to_line,weight,uniform'];
  const uniform = +(1 / model.windowTokens).toFixed(6);
  for (let i = 0; i < model.matrix.rows; i++) {
    for (let j = 0; j < k; j++) {
      const from = model.tokens[i];
      const to = model.tokens[j];
      rows.push(
        [
          quoted(model.viewLabel),
          i,
          quoted(from.text),
          from.line,
          j,
          quoted(to.text),
          to.line,
          model.matrix.values[i * k + j],
          uniform,
        ].join(','),
      );
    }
  }
  return rows.join('\n') + '\n';
}
