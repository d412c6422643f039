import { keptDistances, type ScoreOptions } from './scoreOptions';
import {
  catDefinition,
  finishCat,
  keptTokenIndices,
  mergeCatAccumulator,
  newCatAccumulator,
  snippetAccumulator,
  type CatAccumulator,
  type CatScoreReport,
} from './metrics/catScore';
import {
  dataFlowRows,
  dataFlowSources,
  dataFlowWindowPartial,
  finishDataFlow,
  mergeDataFlowPartial,
  newDataFlowPartial,
  type DataFlowPartial,
  type DataFlowRow,
  type DataFlowScoreReport,
} from './metrics/dataFlowScore';
import {
  finishHeadStatistics,
  headStatisticsWindowPartial,
  mergeHeadStatisticsPartial,
  newHeadStatisticsPartial,
  punctuationColumns,
  type HeadStatistics,
  type HeadStatisticsPartial,
} from './metrics/headStatistics';
import {
  finishStructureHeads,
  mergeStructurePartial,
  newStructurePartial,
  relatedTokens,
  structureRelations,
  structureRows,
  structureWindowPartial,
  type StructureHeadsReport,
  type StructurePartial,
  type StructureRelation,
  type StructureRows,
} from './metrics/structureHeads';
import type { AnalyzedWindow, CodeToken, DataFlowGraph, ParsedSource } from './types';
import type { WindowTensors } from './windowTensors';

/**
 * Scores accumulated window by window. Each report of a file is a sum over its windows of
 * per-window sums ("partials"), finished (divided) once: a window's partial is computed while its
 * tensors are at hand — right after its forward pass, or when a per-head report is asked for later
 * and the window is recomputed — and kept with the window, so the full report never needs every
 * window's tensors at once. A partial is stored with a signature of the structure it was scored
 * against (kept tokens and distances, data-flow rows, relations, punctuation columns): a window
 * carried over unchanged into a re-analysis keeps its partial only while that structure is the
 * same, which keeps re-analysis exactly equal to a fresh analysis.
 */

export type WindowReport = 'cat' | 'dataFlow' | 'headStatistics' | 'structureHeads';

interface Stored<T> {
  signature: string;
  /** Whether the per-head sums were computed (per-layer ones always are). */
  heads: boolean;
  value: T;
}

interface WindowPartials {
  cat?: Stored<{ accumulator: CatAccumulator; tokensKept: number }>;
  dataFlow?: Stored<DataFlowPartial>;
  headStatistics?: Stored<HeadStatisticsPartial>;
  structureHeads?: Stored<StructurePartial>;
}

const partialsOf = new WeakMap<object, WindowPartials>();

/** Carries `from`'s partials over to `to` (the same window re-anchored); signatures are checked on use. */
export function carryPartials(from: object, to: object): void {
  const partials = partialsOf.get(from);
  if (partials) partialsOf.set(to, { ...partials });
}

/** What scoring a file's windows needs besides attention, computed once per file and lazily. */
export class ScoreContext {
  private sources?: Map<number, number[]>;
  private related?: Map<StructureRelation, number[][]>;

  constructor(
    readonly parsed: ParsedSource,
    readonly options: ScoreOptions,
    readonly dataFlow: DataFlowGraph | undefined,
    readonly layers: number,
    readonly heads: number,
  ) {}

  get tokens(): readonly CodeToken[] {
    return this.parsed.tokens;
  }

  catStructure(window: AnalyzedWindow): {
    kept: number[];
    tokensKept: number;
    distances?: Int32Array;
    signature: string;
  } {
    if (window.tokenEnd - window.tokenStart < 2) return { kept: [], tokensKept: 0, signature: 'none' };
    const hasSubword = new Uint8Array(window.tokenEnd - window.tokenStart);
    for (const token of window.tokenOfSubword)
      if (token >= window.tokenStart) hasSubword[token - window.tokenStart] = 1;
    // Leaf tokens can lack subwords (the second quote of `""`); like the reference, they get no row.
    const kept = keptTokenIndices(this.tokens, this.options.typeFilter, window.tokenStart, window.tokenEnd).filter(
      (index) => hasSubword[index - window.tokenStart],
    );
    if (kept.length < 2) return { kept: [], tokensKept: kept.length, signature: `few:${kept.length}` };
    const distances = keptDistances(
      this.parsed,
      kept.map((index) => this.tokens[index]),
      this.options.distance,
    );
    const local = kept.map((index) => index - window.tokenStart);
    return { kept: local, tokensKept: kept.length, distances, signature: fingerprint([local, distances]) };
  }

  dataFlowRows(window: AnalyzedWindow): { rows: DataFlowRow[]; signature: string } {
    this.sources ??= this.dataFlow ? dataFlowSources(this.dataFlow) : new Map();
    const rows = dataFlowRows(window, this.sources);
    return { rows, signature: fingerprint(rows.flatMap(({ row, sources }) => [[row, sources.length], sources])) };
  }

  punctuation(window: AnalyzedWindow): { columns: number[]; signature: string } {
    const columns = punctuationColumns(window, this.tokens);
    return { columns, signature: fingerprint([columns]) };
  }

  structureRows(window: AnalyzedWindow): { rows: StructureRows; signature: string } {
    if (!this.related) {
      const lookup = { tokens: this.parsed.tokens, tree: this.parsed.tree };
      this.related = new Map(
        structureRelations(this.dataFlow).map((relation) => [relation, relatedTokens(lookup, relation, this.dataFlow)]),
      );
    }
    const rows = structureRows(window, this.related);
    return {
      rows,
      signature: fingerprint(
        [...rows.entries()].flatMap(([relation, lists]) => [
          [relation.length],
          ...lists.flatMap((list) => [[list.length], list]),
        ]),
      ),
    };
  }
}

/** Whether a report's partial of `window` needs the window's full tensors (all but the per-layer CAT and DFG). */
export function needsTensors(report: WindowReport, heads: boolean): boolean {
  return heads || report === 'headStatistics' || report === 'structureHeads';
}

/**
 * Makes sure `window` has a valid partial for `report` (with heads when `heads`); `tensors` must be
 * given when the partial has to be computed and {@link needsTensors}. Returns false when it has
 * to be computed but no tensors were given.
 */
export function ensurePartial(
  context: ScoreContext,
  window: AnalyzedWindow,
  report: WindowReport,
  heads: boolean,
  tensors?: WindowTensors,
): boolean {
  let partials = partialsOf.get(window);
  if (!partials) partialsOf.set(window, (partials = {}));
  const { layers } = context;
  const withHeads = (stored: Stored<unknown> | undefined) => stored !== undefined && (stored.heads || !heads);
  const canCompute = tensors !== undefined || !needsTensors(report, heads);
  switch (report) {
    case 'cat': {
      const structure = context.catStructure(window);
      if (withHeads(partials.cat) && partials.cat!.signature === structure.signature) return true;
      if (!canCompute) return false;
      const accumulator = structure.distances
        ? snippetAccumulator(
            {
              attention: {
                layerAttention: window.layerAttention,
                get tokenAttention() {
                  return tensors!.tokenAttention;
                },
              },
              kept: structure.kept,
              distances: structure.distances,
            },
            layers,
            context.heads,
            { scoreHeads: heads },
          )
        : newCatAccumulator(layers, context.heads);
      partials.cat = {
        signature: structure.signature,
        heads,
        value: { accumulator, tokensKept: structure.tokensKept },
      };
      return true;
    }
    case 'dataFlow': {
      const { rows, signature } = context.dataFlowRows(window);
      if (withHeads(partials.dataFlow) && partials.dataFlow!.signature === signature) return true;
      if (!canCompute) return false;
      partials.dataFlow = {
        signature,
        heads,
        value: dataFlowWindowPartial(window, rows, layers, context.heads, heads ? tensors!.tokenAttention : undefined),
      };
      return true;
    }
    case 'headStatistics': {
      const { columns, signature } = context.punctuation(window);
      if (partials.headStatistics?.signature === signature) return true;
      if (!canCompute) return false;
      partials.headStatistics = {
        signature,
        heads: true,
        value: headStatisticsWindowPartial(window, columns, tensors!.subwordAttention, layers, context.heads),
      };
      return true;
    }
    case 'structureHeads': {
      const { rows, signature } = context.structureRows(window);
      if (partials.structureHeads?.signature === signature) return true;
      if (!canCompute) return false;
      partials.structureHeads = {
        signature,
        heads: true,
        value: structureWindowPartial(window, rows, tensors!.tokenAttention, layers, context.heads),
      };
      return true;
    }
  }
}

/** The file's CAT report from its windows' partials (each must be ensured first). */
export function catFromPartials(
  context: ScoreContext,
  windows: readonly AnalyzedWindow[],
  heads: boolean,
  preset?: Parameters<typeof catDefinition>[4],
): CatScoreReport {
  const total = newCatAccumulator(context.layers, context.heads);
  let tokensKept = 0;
  for (const window of windows) {
    const stored = partialsOf.get(window)!.cat!;
    mergeCatAccumulator(total, stored.value.accumulator);
    tokensKept += stored.value.tokensKept;
  }
  const scored = finishCat(total);
  const { typeFilter, distance, pairRule } = context.options;
  if (!heads) for (const row of scored.score.perHead.concat(scored.baseline.perHead)) row.fill(NaN);
  return {
    definition: catDefinition(typeFilter, distance, pairRule, undefined, preset),
    headsScored: heads,
    score: scored.score,
    baseline: scored.baseline,
    snippets: scored.snippets,
    tokensKept,
    pairs: scored.pairs,
    thresholds: scored.thresholds,
  };
}

export function dataFlowFromPartials(
  context: ScoreContext,
  windows: readonly AnalyzedWindow[],
  heads: boolean,
): DataFlowScoreReport {
  const total = newDataFlowPartial(context.layers, context.heads);
  for (const window of windows) mergeDataFlowPartial(total, partialsOf.get(window)!.dataFlow!.value);
  return finishDataFlow(total, context.dataFlow!, heads);
}

export function headStatisticsFromPartials(context: ScoreContext, windows: readonly AnalyzedWindow[]): HeadStatistics {
  const total = newHeadStatisticsPartial(context.layers, context.heads);
  for (const window of windows) mergeHeadStatisticsPartial(total, partialsOf.get(window)!.headStatistics!.value);
  return finishHeadStatistics(total);
}

export function structureHeadsFromPartials(
  context: ScoreContext,
  windows: readonly AnalyzedWindow[],
): StructureHeadsReport {
  const total = newStructurePartial(structureRelations(context.dataFlow), context.layers, context.heads);
  for (const window of windows) mergeStructurePartial(total, partialsOf.get(window)!.structureHeads!.value);
  return finishStructureHeads(total);
}

/** A 64-bit FNV-1a fingerprint (two 32-bit lanes) of lists of integers, with their lengths. */
export function fingerprint(lists: ReadonlyArray<ArrayLike<number>>): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  const mix = (value: number) => {
    a = Math.imul(a ^ (value & 0xffff), 0x01000193);
    a = Math.imul(a ^ (value >>> 16), 0x01000193);
    b = Math.imul(b ^ (value & 0xffff), 0x5bd1e995);
    b = Math.imul(b ^ (value >>> 16), 0x5bd1e995);
    b ^= b >>> 15;
  };
  for (const list of lists) {
    mix(list.length);
    for (let i = 0; i < list.length; i++) mix(list[i] | 0);
  }
  return (a >>> 0).toString(16) + ':' + (b >>> 0).toString(16) + ':' + lists.length;
}
