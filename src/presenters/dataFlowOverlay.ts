import { languageSpec } from '../core/languages';
import { completeScores, completeScoresStepwise } from '../core/pipeline';
import type { AnalysisResult, DataFlowEdge, SourcePosition, SourceRange } from '../core/types';
import { prepareView, tokenAttentionRow, viewLabel, windowOfToken, type AttentionView } from '../core/views';
import { LineIndex } from '../core/text';
import { markdownCell, markdownText, visibleText } from './escape';

/**
 * What the editor draws for the data-flow overlay: every variable occurrence that is a node of the
 * file's data-flow graph and, for a focused occurrence, the edges that touch it with the attention
 * the current view puts on each, as source ranges and an inline hint. Pure: the extension only
 * turns the ranges into decorations.
 */

export type DataFlowRelation = 'comesFrom' | 'computedFrom' | 'readBy';

export interface DataFlowEdgeRow {
  /**
   * The other end of the edge: the source the focus reads (comesFrom, computedFrom) or the occurrence that reads the
   * focus (readBy).
   */
  token: number;
  text: string;
  range: SourceRange;
  relation: DataFlowRelation;
  /** For readBy: the kind of the reader's edge to the focus. */
  kind: DataFlowEdge['kind'];
  /**
   * Attention of the edge's reading end to its source under the view (the reader's row, "attends
   * to"); NaN when the two ends are in different windows or the view cannot be computed.
   */
  attention: number;
}

export interface DataFlowFileShare {
  /** Share of attention on data-flow edges for the view's layer (and head, for a one-head view). */
  value: number;
  baseline: number;
  /** What the share was measured on, e.g. "layer 3, mean over heads". */
  on: string;
  /** The same, short, for the inline hint: "L3 mean", "L1 H2". */
  short: string;
}

export interface DataFlowFocus {
  focus: number;
  text: string;
  range: SourceRange;
  comesFrom: DataFlowEdgeRow[];
  computedFrom: DataFlowEdgeRow[];
  readBy: DataFlowEdgeRow[];
  /** Label of the view the attention comes from. */
  viewLabel: string;
  fileShare?: DataFlowFileShare;
  /** Why some attention values are missing (a view that failed, edges across windows). */
  notes: string[];
}

export interface DataFlowDecorations {
  /** Every variable occurrence of the graph. */
  nodes: SourceRange[];
  comesFrom: SourceRange[];
  computedFrom: SourceRange[];
  readBy: SourceRange[];
  /** The inline hint at the end of the focus's line (absent without a focused graph node). */
  hint?: { position: SourcePosition; text: string };
  focus?: DataFlowFocus;
}

export type DataFlowOverlay =
  | { supported: true; nodes: number; edges: number; decorations: DataFlowDecorations }
  | { supported: false; message: string };

/** At most this many edges of each relation are named in the inline hint. */
export const HINT_EDGES = 3;

/** The message for a result whose language has no data-flow rules. */
export function dataFlowUnsupportedMessage(result: AnalysisResult): string {
  return (
    `Code Attention Lens has no data-flow rules for ${languageSpec(result.source.language).displayName}: ` +
    `no data-flow edges to show.`
  );
}

/**
 * Makes {@link dataFlowOverlay} of `focus` under `view` computable on a file larger than the tensor
 * cache: the rows of the focus and of its readers (one forward pass per evicted window) and, for a
 * one-head view, the per-head DFG score.
 */
export async function prepareDataFlowOverlay(
  result: AnalysisResult,
  view: AttentionView,
  focus?: number,
): Promise<void> {
  const graph = result.dataFlow;
  if (!graph) return;
  if (view.mode === 'head') await completeScoresStepwise(result, ['dataFlow']);
  if (focus === undefined || !graph.nodes.includes(focus)) return;
  const rowView: AttentionView = { ...view, direction: 'attendsTo' };
  const readers = new Set([focus, ...graph.edges.filter((edge) => edge.to === focus).map((edge) => edge.from)]);
  for (const reader of readers)
    if (view.mode !== 'flow' || reader === focus) await prepareView(result, rowView, reader);
}

/**
 * The data-flow overlay for a result: all graph nodes, and for `focus` (a code-token index, e.g.
 * the token at the cursor) its sources, its readers and the inline hint. A focus that is not a
 * graph node draws the nodes only.
 */
export function dataFlowOverlay(result: AnalysisResult, view: AttentionView, focus?: number): DataFlowOverlay {
  const graph = result.dataFlow;
  if (!graph) return { supported: false, message: dataFlowUnsupportedMessage(result) };
  const decorations: DataFlowDecorations = {
    nodes: graph.nodes.map((token) => result.tokens[token].range),
    comesFrom: [],
    computedFrom: [],
    readBy: [],
  };
  const shown = focus === undefined ? undefined : dataFlowFocus(result, view, focus);
  if (shown) {
    decorations.focus = shown;
    decorations.comesFrom = shown.comesFrom.map((row) => row.range);
    decorations.computedFrom = shown.computedFrom.map((row) => row.range);
    decorations.readBy = shown.readBy.map((row) => row.range);
    const line = shown.range.end.line;
    decorations.hint = {
      position: { line, character: lineLength(result.source.text, line) },
      text: dataFlowHint(shown),
    };
  }
  return { supported: true, nodes: graph.nodes.length, edges: graph.edges.length, decorations };
}

/** The edges that touch `focus`, with the view's attention on each; undefined when `focus` is not a graph node. */
export function dataFlowFocus(result: AnalysisResult, view: AttentionView, focus: number): DataFlowFocus | undefined {
  const graph = result.dataFlow;
  if (!graph || !graph.nodes.includes(focus)) return undefined;
  const notes = new Set<string>();
  // Each edge's attention is its reading end's row ("attends to"), whatever direction the hover shows.
  const rowView: AttentionView = { ...view, direction: 'attendsTo' };
  const rows = new Map<number, Float32Array | undefined>();
  const rowOf = (reader: number) => {
    if (!rows.has(reader)) {
      try {
        rows.set(reader, tokenAttentionRow(result, rowView, reader).weights);
      } catch (error) {
        notes.add((error as Error).message);
        rows.set(reader, undefined);
      }
    }
    return rows.get(reader);
  };
  const attention = (reader: number, source: number) => {
    if (windowOfToken(result, reader) !== windowOfToken(result, source)) {
      notes.add('Edges between windows carry no attention: attention does not cross windows.');
      return NaN;
    }
    // Flow costs a max-flow per input subword for each reading token: only the focus's own row is computed.
    if (view.mode === 'flow' && reader !== focus) {
      notes.add(
        'Attention flow is computed for the focused token only: put the cursor on a reader to see ' +
          'the flow on its edge.',
      );
      return NaN;
    }
    return rowOf(reader)?.[source] ?? NaN;
  };
  const row = (
    token: number,
    relation: DataFlowRelation,
    kind: DataFlowEdge['kind'],
    value: number,
  ): DataFlowEdgeRow => ({
    token,
    text: result.tokens[token].text,
    range: result.tokens[token].range,
    relation,
    kind,
    attention: value,
  });
  const comesFrom: DataFlowEdgeRow[] = [];
  const computedFrom: DataFlowEdgeRow[] = [];
  const readBy: DataFlowEdgeRow[] = [];
  for (const edge of graph.edges) {
    if (edge.from === focus)
      (edge.kind === 'comesFrom' ? comesFrom : computedFrom).push(
        row(edge.to, edge.kind, edge.kind, attention(focus, edge.to)),
      );
    else if (edge.to === focus) readBy.push(row(edge.from, 'readBy', edge.kind, attention(edge.from, focus)));
  }
  const token = result.tokens[focus];
  return {
    focus,
    text: token.text,
    range: token.range,
    comesFrom,
    computedFrom,
    readBy,
    viewLabel: viewLabel(rowView),
    fileShare: fileShare(result, view),
    notes: [...notes],
  };
}

/**
 * The file's share of attention on data-flow edges against its offset baseline, at the view's
 * layer. The score is measured on raw attention: per head for a one-head view, the mean over
 * heads otherwise (rollout, flow and value-weighted views included).
 */
function fileShare(result: AnalysisResult, view: AttentionView): DataFlowFileShare | undefined {
  const head = view.mode === 'head' ? view.head : undefined;
  // Per-head shares are computed the first time a one-head view asks for them.
  const score = completeScores(result, [head === undefined ? 'dataFlowLayers' : 'dataFlow']).dataFlow;
  if (!score) return undefined;
  const layer = Math.min(Math.max(0, view.layer), result.model.layers - 1);
  if (head !== undefined) {
    return {
      value: score.score.perHead[layer]?.[head] ?? NaN,
      baseline: score.baseline.perHead[layer]?.[head] ?? NaN,
      on: `layer ${layer}, head ${head}`,
      short: `L${layer} H${head}`,
    };
  }
  return {
    value: score.score.perLayer[layer] ?? NaN,
    baseline: score.baseline.perLayer[layer] ?? NaN,
    on: `layer ${layer}, mean over heads${view.mode === 'meanHeads' ? '' : ', raw attention'}`,
    short: `L${layer} mean`,
  };
}

const number = (value: number) => (Number.isFinite(value) ? value.toFixed(3) : 'n/a');
/** A token for the inline hint (plain decoration text): cut to 30 code points, invisible characters as escapes. */
const quoted = (text: string) => {
  const codePoints = Array.from(text);
  return '`' + visibleText(codePoints.length > 30 ? codePoints.slice(0, 29).join('') + '…' : text) + '`';
};

function edgeList(rows: DataFlowEdgeRow[]): string {
  const named = rows
    .slice(0, HINT_EDGES)
    .map((row) => `${quoted(row.text)} line ${row.range.start.line + 1} (attention ${number(row.attention)})`);
  if (rows.length > HINT_EDGES) named.push(`+${rows.length - HINT_EDGES} more`);
  return named.join(', ');
}

/**
 * One line naming the focus's edges: "`total`: value comes from `total` line 33 (attention 0.213) · read by … · file:
 * …".
 */
export function dataFlowHint(focus: DataFlowFocus): string {
  const parts: string[] = [];
  if (focus.comesFrom.length) parts.push(`value comes from ${edgeList(focus.comesFrom)}`);
  if (focus.computedFrom.length) parts.push(`computed from ${edgeList(focus.computedFrom)}`);
  if (focus.readBy.length) parts.push(`read by ${edgeList(focus.readBy)}`);
  if (!parts.length) parts.push('no data-flow edges');
  if (focus.fileShare)
    parts.push(
      `file: ${number(focus.fileShare.value)} on data flow vs ${number(focus.fileShare.baseline)} ` +
        `baseline (${focus.fileShare.short})`,
    );
  return `${quoted(focus.text)}: ${parts.join(' · ')}`;
}

/** The data-flow part of the hover card, as Markdown (every piece of source text escaped). */
export function dataFlowMarkdown(focus: DataFlowFocus): string {
  const lines = ['', `**Data flow of ${markdownCell(focus.text)}** — attention: ${markdownText(focus.viewLabel)}`, ''];
  const edges = [...focus.comesFrom, ...focus.computedFrom, ...focus.readBy];
  if (edges.length) {
    lines.push('| edge | token | line | attention |', '| --- | --- | ---: | ---: |');
    const labels: Record<DataFlowRelation, string> = {
      comesFrom: 'value comes from',
      computedFrom: 'computed from',
      readBy: 'read by',
    };
    for (const row of edges)
      lines.push(
        `| ${labels[row.relation]} | ${markdownCell(row.text)} | ${row.range.start.line + 1} ` +
          `| ${number(row.attention)} |`,
      );
  } else lines.push('No data-flow edges touch this occurrence.');
  if (focus.fileShare)
    lines.push(
      '',
      `File: ${number(focus.fileShare.value)} of attention on data-flow edges ` +
        `vs ${number(focus.fileShare.baseline)} ` +
        `offset baseline (${markdownText(focus.fileShare.on)}).`,
    );
  for (const note of focus.notes) lines.push('', markdownText(note));
  return lines.join('\n');
}

/** Length in UTF-16 code units of a 0-based line of `text` (without its line break: CR, LF or CRLF, as in VS Code). */
function lineLength(text: string, line: number): number {
  return new LineIndex(text).lineLength(line);
}
