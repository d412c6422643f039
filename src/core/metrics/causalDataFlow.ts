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
 * the baseline is the window's mean attention at the same backward offset i − j, over the rows
 * where that offset exists (all rows i ≥ i − j: exactly the causal support at that offset), over
 * the same mass. Both are the encoder's data-flow definitions (dataFlowScore.ts) restricted to the
 * backward edges.
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
  'the window’s mean attention at the same backward offsets';

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
    mergeDataFlowPartial(total, dataFlowWindowPartial(window, rows, layers, heads, window.tokenAttention));
  }
  const report = finishDataFlow(total, graph, scoreHeads);
  return {
    ...report,
    definition: CAUSAL_DATA_FLOW_DEFINITION,
    forwardEdges,
    backwardEdges,
  };
}
