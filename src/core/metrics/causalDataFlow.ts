import type { DataFlowGraph, DataFlowScoreReport, Tensor } from '../types';
import {
  type DataFlowPartial,
  type DataFlowRow,
  dataFlowRows,
  dataFlowSources,
  dataFlowWindowPartial,
  finishDataFlow,
  mergeDataFlowPartial,
  newDataFlowPartial,
} from './dataFlowScore';

/**
 * Data-flow share for a decoder: only edges pointing backwards count. A data-flow edge links a use
 * (the reader, `from`) with its source (`to`); in a decoder the reader at position i can attend to
 * its source only when the source comes first (j < i). Edges whose source follows the reader (in
 * `total += value`, `total` is computed from the later `value`) are left out and counted.
 *
 * For each use with a backward source, its share is the attention the use gives its backward
 * sources over its row's mass on the window's code tokens (for a causal row, all of it is on j ≤ i);
 * the baseline is the mean, over the rows where the same backward offset i − j exists (exactly the
 * causal support at that offset), of each row's attention at that offset over that row's own mass
 * on code tokens. The share is the encoder's (dataFlowScore.ts) restricted to the backward edges;
 * the baseline normalises each row before averaging (the encoder's divides the raw window mean by
 * the reader's mass), because a decoder's early rows put almost all their attention on bos, and a
 * reader with little mass on code tokens made the encoder's form exceed 1.
 */
export interface CausalDataFlowReport extends DataFlowScoreReport {
  /** Edges inside windows whose source comes after the reader (not attendable, left out). */
  forwardEdges: number;
  /** Edges inside windows whose source comes first (scored). */
  backwardEdges: number;
}

export const CAUSAL_DATA_FLOW_DEFINITION =
  'share of each data-flow use’s attention (over the window’s code tokens) on its sources that come ' +
  'before it (edges pointing forwards cannot be attended by a decoder and are left out); baseline: ' +
  'the window’s mean attention at the same backward offsets, each row over its own mass on code tokens';

/** The rows with only their backward sources, and how many sources pointed forwards. */
export function backwardRows(rows: readonly DataFlowRow[]): { rows: DataFlowRow[]; forward: number; backward: number } {
  const kept: DataFlowRow[] = [];
  let forward = 0;
  let backward = 0;
  for (const { row, sources } of rows) {
    const earlier = sources.filter((source) => source < row);
    forward += sources.length - earlier.length;
    backward += earlier.length;
    if (earlier.length) kept.push({ row, sources: earlier });
  }
  return { rows: kept, forward, backward };
}

/**
 * Over windows of code-token attention: `layerAttention` [layers, 1, m, m] (head means) and, to
 * score heads, `tokenAttention` [layers, heads, m, m].
 */
export function causalDataFlowScore(
  windows: ReadonlyArray<{ tokenStart: number; tokenEnd: number; layerAttention: Tensor; tokenAttention?: Tensor }>,
  graph: DataFlowGraph,
  layers: number,
  heads: number,
): CausalDataFlowReport {
  const sourcesOf = dataFlowSources(graph);
  const total: DataFlowPartial = newDataFlowPartial(layers, heads);
  let forwardEdges = 0;
  let backwardEdges = 0;
  let scoreHeads = windows.length > 0;
  for (const window of windows) {
    const { rows, forward, backward } = backwardRows(dataFlowRows(window, sourcesOf));
    forwardEdges += forward;
    backwardEdges += backward;
    if (!window.tokenAttention) scoreHeads = false;
    mergeDataFlowPartial(
      total,
      dataFlowWindowPartial(window, rows, layers, heads, window.tokenAttention, 'row-normalised'),
    );
  }
  const report = finishDataFlow(total, graph, scoreHeads);
  return {
    ...report,
    definition: CAUSAL_DATA_FLOW_DEFINITION,
    forwardEdges,
    backwardEdges,
  };
}
