import { headMatrix } from '../alignment';
import type { AnalysisResult, DataFlowGraph, DataFlowScoreReport, LayerHeadScores, Tensor } from '../types';
export type { DataFlowScoreReport } from '../types';

/** Per layer (head means), and per head unless `scoreHeads` is false (`perHead` is then NaN). */
export function dataFlowScore(result: AnalysisResult, graph: DataFlowGraph, scoreHeads = true): DataFlowScoreReport {
  const { layers, heads } = result.model;
  const sourcesOf = dataFlowSources(graph);
  const total = newDataFlowPartial(layers, heads);
  for (const window of result.windows) {
    const rows = dataFlowRows(window, sourcesOf);
    mergeDataFlowPartial(
      total,
      dataFlowWindowPartial(window, rows, layers, heads, scoreHeads ? window.tokenAttention : undefined),
    );
  }
  return finishDataFlow(total, graph, scoreHeads);
}

/** Each use's data-flow sources, by code-token index. */
export function dataFlowSources(graph: DataFlowGraph): Map<number, number[]> {
  const sourcesOf = new Map<number, number[]>();
  for (const edge of graph.edges) {
    const list = sourcesOf.get(edge.from) ?? [];
    if (!list.includes(edge.to)) list.push(edge.to);
    sourcesOf.set(edge.from, list);
  }
  return sourcesOf;
}

/** A window's uses with sources in the same window, window-local. */
export interface DataFlowRow {
  row: number;
  sources: number[];
}

export function dataFlowRows(
  window: { tokenStart: number; tokenEnd: number },
  sourcesOf: ReadonlyMap<number, number[]>,
): DataFlowRow[] {
  const rows: DataFlowRow[] = [];
  for (let t = window.tokenStart; t < window.tokenEnd; t++) {
    const sources = (sourcesOf.get(t) ?? [])
      .filter((s) => s >= window.tokenStart && s < window.tokenEnd)
      .map((s) => s - window.tokenStart);
    if (sources.length) rows.push({ row: t - window.tokenStart, sources });
  }
  return rows;
}

/** Sums of shares and chance shares, and the uses counted: one window's, or a file's. */
export interface DataFlowPartial {
  score: LayerHeadScores;
  baseline: LayerHeadScores;
  counted: number;
}

export function newDataFlowPartial(layers: number, heads: number): DataFlowPartial {
  return { score: zero(layers, heads), baseline: zero(layers, heads), counted: 0 };
}

export function mergeDataFlowPartial(total: DataFlowPartial, part: DataFlowPartial): DataFlowPartial {
  for (const key of ['score', 'baseline'] as const) {
    part[key].perLayer.forEach((value, l) => (total[key].perLayer[l] += value));
    part[key].perHead.forEach((row, l) => row.forEach((value, h) => (total[key].perHead[l][h] += value)));
  }
  total.counted += part.counted;
  return total;
}

/**
 * One window's sums: per layer from `layerAttention` (head means), per head from `tokenAttention`
 * when given ([layers, heads, m, m]; the per-head sums stay 0 without it).
 */
/**
 * How a window's attention at an edge's offset becomes the edge's chance level. `window-mean` (the
 * encoder's): the mean raw weight at that offset over the window's rows, divided by the reader's mass
 * on code tokens. `row-normalised` (decoders): the mean over rows of each row's weight at that offset
 * over that row's own mass, so that a reader whose attention lies mostly outside the code tokens (on
 * bos, as a decoder's early rows do) is compared with rows normalised the same way and the baseline,
 * like the share, is at most 1.
 */
export type DataFlowBaseline = 'window-mean' | 'row-normalised';

export function dataFlowWindowPartial(
  window: { tokenStart: number; tokenEnd: number; layerAttention: Tensor },
  rows: readonly DataFlowRow[],
  layers: number,
  heads: number,
  tokenAttention?: Tensor,
  baseline: DataFlowBaseline = 'window-mean',
): DataFlowPartial {
  const sums = newDataFlowPartial(layers, heads);
  if (!rows.length) return sums;
  const m = window.tokenEnd - window.tokenStart;
  sums.counted = rows.length;
  // The baseline needs the mean attention only at the offsets that edges have.
  const offsets = [...new Set(rows.flatMap(({ row, sources }) => sources.map((source) => source - row)))];
  const offsetMean = new Float64Array(2 * m - 1);
  const rowMass = new Float64Array(m);
  const score = (matrix: Float32Array): [number, number] => {
    for (let i = 0; i < m; i++) {
      let mass = 0;
      for (let j = i * m, end = j + m; j < end; j++) mass += matrix[j];
      rowMass[i] = mass;
    }
    for (const offset of offsets) {
      let sum = 0;
      let count = 0;
      for (let i = Math.max(0, -offset); i < Math.min(m, m - offset); i++) {
        if (baseline === 'window-mean') {
          sum += matrix[i * m + i + offset];
          count++;
        } else if (rowMass[i] > 0) {
          sum += matrix[i * m + i + offset] / rowMass[i];
          count++;
        }
      }
      offsetMean[offset + m - 1] = count ? sum / count : 0;
    }
    let share = 0;
    let chance = 0;
    for (const { row, sources } of rows) {
      const mass = rowMass[row];
      if (mass <= 0) continue;
      for (const source of sources) {
        share += matrix[row * m + source] / mass;
        const atOffset = offsetMean[source - row + m - 1];
        chance += baseline === 'window-mean' ? atOffset / mass : atOffset;
      }
    }
    return [share, chance];
  };
  for (let l = 0; l < layers; l++) {
    const [layerShare, layerChance] = score(headMatrix(window.layerAttention, l, 0));
    sums.score.perLayer[l] += layerShare;
    sums.baseline.perLayer[l] += layerChance;
    if (!tokenAttention) continue;
    for (let h = 0; h < heads; h++) {
      const [share, chance] = score(headMatrix(tokenAttention, l, h));
      sums.score.perHead[l][h] += share;
      sums.baseline.perHead[l][h] += chance;
    }
  }
  return sums;
}

export function finishDataFlow(total: DataFlowPartial, graph: DataFlowGraph, scoreHeads: boolean): DataFlowScoreReport {
  const { counted } = total;
  const divide = (scores: LayerHeadScores): LayerHeadScores => ({
    perLayer: scores.perLayer.map((value) => (counted ? value / counted : NaN)),
    perHead: scores.perHead.map((row) => row.map((value) => (counted && scoreHeads ? value / counted : NaN))),
  });
  return {
    headsScored: scoreHeads,
    definition:
      'share of each data-flow use’s attention (over the window’s code tokens) on its data-flow ' +
      'sources; baseline: the window’s mean attention at the same offsets',
    score: divide(total.score),
    baseline: divide(total.baseline),
    tokens: counted,
    edges: graph.edges.length,
  };
}

function zero(layers: number, heads: number): LayerHeadScores {
  return {
    perLayer: new Array<number>(layers).fill(0),
    perHead: Array.from({ length: layers }, () => new Array<number>(heads).fill(0)),
  };
}
