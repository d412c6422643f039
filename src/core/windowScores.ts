import { astDistanceBasis } from './astDistance';
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
  causalHeadStatisticsWindowPartial,
  finishHeadStatistics,
  headStatisticsWindowPartial,
  mergeHeadStatisticsPartial,
  newHeadStatisticsPartial,
  punctuationColumns,
  type HeadStatistics,
  type HeadStatisticsPartial,
} from './metrics/headStatistics';
import {
  CAUSAL_STRUCTURE_DEFINITION,
  causalStructureWindowPartial,
  causalSupport,
  finishStructureHeads,
  mergeStructurePartial,
  newStructurePartial,
  relatedTokens,
  structureRelations,
  structureRows,
  structureWindowPartial,
  type CausalSupport,
  type StructureHeadsReport,
  type StructurePartial,
  type StructureRelation,
  type StructureRows,
} from './metrics/structureHeads';
import { causalSnippetAccumulator, CAUSAL_CAT_DEFINITION } from './metrics/causalCat';
import { backwardRows, CAUSAL_DATA_FLOW_DEFINITION } from './metrics/causalDataFlow';
import {
  finishSinks,
  mergeSinkPartial,
  newSinkPartial,
  sinkWindowPartial,
  type SinkPartial,
} from './metrics/causalSinks';
import type { AnalyzedWindow, CodeToken, DataFlowGraph, ParsedSource, SinkReport } from './types';
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

export type WindowReport = 'cat' | 'dataFlow' | 'headStatistics' | 'structureHeads' | 'sinks';

interface Stored<T> {
  signature: string;
  /** Whether the per-head sums were computed (per-layer ones always are). */
  heads: boolean;
  value: T;
}

interface WindowPartials {
  cat?: Stored<{ accumulator: CatAccumulator; tokensKept: number }>;
  dataFlow?: Stored<DataFlowPartial & { forwardEdges: number; backwardEdges: number }>;
  headStatistics?: Stored<HeadStatisticsPartial>;
  structureHeads?: Stored<StructurePartial>;
  sinks?: Stored<SinkPartial>;
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
    /** A decoder's analysis: causal CAT and backward data flow, over each window's scored rows. */
    readonly causal = false,
  ) {}

  get tokens(): readonly CodeToken[] {
    return this.parsed.tokens;
  }

  catStructure(window: AnalyzedWindow): {
    kept: number[];
    tokensKept: number;
    /** Computed on call: a window whose partial is carried over (same signature) never needs them. */
    distances?: () => Int32Array;
    /** Kept tokens of the window's prefix (decoders): the scored rows start after them. */
    firstRow: number;
    signature: string;
  } {
    if (window.tokenEnd - window.tokenStart < 2) return { kept: [], tokensKept: 0, firstRow: 0, signature: 'none' };
    const hasSubword = new Uint8Array(window.tokenEnd - window.tokenStart);
    for (const token of window.tokenOfSubword)
      if (token >= window.tokenStart) hasSubword[token - window.tokenStart] = 1;
    // Leaf tokens can lack subwords (the second quote of `""`); like the reference, they get no row.
    const kept = keptTokenIndices(this.tokens, this.options.typeFilter, window.tokenStart, window.tokenEnd).filter(
      (index) => hasSubword[index - window.tokenStart],
    );
    const scoredStart = window.scoredStart ?? window.tokenStart;
    const firstRow = kept.filter((index) => index < scoredStart).length;
    const tokensKept = kept.length - firstRow;
    if (kept.length < 2 || firstRow === kept.length)
      return { kept: [], tokensKept, firstRow: 0, signature: `few:${kept.length}:${firstRow}` };
    const keptTokens = kept.map((index) => this.tokens[index]);
    let computed: Int32Array | undefined;
    const distances = () => (computed ??= keptDistances(this.parsed, keptTokens, this.options.distance));
    const local = kept.map((index) => index - window.tokenStart);
    const rows = [firstRow, this.causal ? 1 : 0];
    if (this.options.distance === 'ast') {
      // O(m) numbers that fix the m×m distances, so that a re-analysis checks a window without computing them.
      const { depth, adjacentLcaDepth } = astDistanceBasis(this.parsed.tree, keptTokens);
      return {
        kept: local,
        tokensKept,
        distances,
        firstRow,
        signature: `ast:${fingerprint([local, depth, adjacentLcaDepth, rows])}`,
      };
    }
    const signature = fingerprint([local, distances(), rows]);
    return { kept: local, tokensKept, distances, firstRow, signature };
  }

  /** Decoders: the scored rows' backward edges only, and how many edges pointed each way. */
  dataFlowRows(window: AnalyzedWindow): {
    rows: DataFlowRow[];
    forwardEdges: number;
    backwardEdges: number;
    signature: string;
  } {
    this.sources ??= this.dataFlow ? dataFlowSources(this.dataFlow) : new Map();
    let rows = dataFlowRows(window, this.sources);
    let forwardEdges = 0;
    let backwardEdges = 0;
    if (this.causal) {
      const firstRow = (window.scoredStart ?? window.tokenStart) - window.tokenStart;
      const backward = backwardRows(rows.filter(({ row }) => row >= firstRow));
      ({ rows, forward: forwardEdges, backward: backwardEdges } = backward);
    }
    const signature = fingerprint(rows.flatMap(({ row, sources }) => [[row, sources.length], sources]));
    return { rows, forwardEdges, backwardEdges, signature };
  }

  punctuation(window: AnalyzedWindow): { columns: number[]; signature: string } {
    const columns = punctuationColumns(window, this.tokens);
    if (!this.causal) return { columns, signature: fingerprint([columns]) };
    // A decoder's rows are those of the scored tokens, and whether a row is scored follows the owners.
    const scoredStart = window.scoredStart ?? window.tokenStart;
    return { columns, signature: fingerprint([columns, window.tokenOfSubword, [scoredStart]]) };
  }

  /** Each token's related tokens in the window; a decoder's also what its rows may choose among. */
  structureRows(window: AnalyzedWindow): { rows: StructureRows; support?: CausalSupport; signature: string } {
    if (!this.related) {
      const lookup = { tokens: this.parsed.tokens, tree: this.parsed.tree };
      this.related = new Map(
        structureRelations(this.dataFlow, this.causal).map((relation) => [
          relation,
          relatedTokens(lookup, relation, this.dataFlow),
        ]),
      );
    }
    const rows = structureRows(window, this.related);
    const support = this.causal ? causalSupport(window) : undefined;
    const lists: Array<ArrayLike<number>> = [...rows.entries()].flatMap(([relation, lists]) => [
      [relation.length],
      ...lists.flatMap((list) => [[list.length], list]),
    ]);
    if (support) lists.push([support.firstRow], support.hasSubword, support.candidate);
    return { rows, support, signature: fingerprint(lists) };
  }
}

/** Whether a report's partial of `window` needs the window's full tensors (all but the per-layer CAT and DFG). */
export function needsTensors(report: WindowReport, heads: boolean): boolean {
  return heads || report === 'headStatistics' || report === 'structureHeads' || report === 'sinks';
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
      const snippet = structure.distances && {
        attention: {
          layerAttention: window.layerAttention,
          get tokenAttention() {
            return tensors!.tokenAttention;
          },
        },
        kept: structure.kept,
        distances: structure.distances(),
      };
      const accumulator = !snippet
        ? newCatAccumulator(layers, context.heads)
        : context.causal
          ? causalSnippetAccumulator(snippet, structure.firstRow, layers, context.heads, { scoreHeads: heads })
          : snippetAccumulator(snippet, layers, context.heads, { scoreHeads: heads });
      partials.cat = {
        signature: structure.signature,
        heads,
        value: { accumulator, tokensKept: structure.tokensKept },
      };
      return true;
    }
    case 'dataFlow': {
      const { rows, forwardEdges, backwardEdges, signature } = context.dataFlowRows(window);
      if (withHeads(partials.dataFlow) && partials.dataFlow!.signature === signature) return true;
      if (!canCompute) return false;
      const value = dataFlowWindowPartial(
        window,
        rows,
        layers,
        context.heads,
        heads ? tensors!.tokenAttention : undefined,
        context.causal ? 'row-normalised' : 'window-mean',
      );
      partials.dataFlow = { signature, heads, value: { ...value, forwardEdges, backwardEdges } };
      return true;
    }
    case 'sinks': {
      // Every row of the window: the sink is its first position, whatever token that is.
      if (partials.sinks) return true;
      if (!canCompute) return false;
      partials.sinks = { signature: 'first', heads: true, value: sinkWindowPartial(tensors!.subwordAttention) };
      return true;
    }
    case 'headStatistics': {
      const { columns, signature } = context.punctuation(window);
      if (partials.headStatistics?.signature === signature) return true;
      if (!canCompute) return false;
      const attention = tensors!.subwordAttention;
      partials.headStatistics = {
        signature,
        heads: true,
        value: context.causal
          ? causalHeadStatisticsWindowPartial(
              window,
              window.scoredStart ?? window.tokenStart,
              columns,
              attention,
              layers,
              context.heads,
            )
          : headStatisticsWindowPartial(window, columns, attention, layers, context.heads),
      };
      return true;
    }
    case 'structureHeads': {
      const { rows, support, signature } = context.structureRows(window);
      if (partials.structureHeads?.signature === signature) return true;
      if (!canCompute) return false;
      const attention = tensors!.tokenAttention;
      partials.structureHeads = {
        signature,
        heads: true,
        value: support
          ? causalStructureWindowPartial(window, rows, attention, layers, context.heads, support)
          : structureWindowPartial(window, rows, attention, layers, context.heads),
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
  const definition = catDefinition(typeFilter, distance, pairRule, undefined, preset);
  return {
    definition: context.causal ? causalCatDefinition(definition) : definition,
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
  let forwardEdges = 0;
  let backwardEdges = 0;
  for (const window of windows) {
    const { value } = partialsOf.get(window)!.dataFlow!;
    mergeDataFlowPartial(total, value);
    forwardEdges += value.forwardEdges;
    backwardEdges += value.backwardEdges;
  }
  const report = finishDataFlow(total, context.dataFlow!, heads);
  return context.causal ? { ...report, definition: CAUSAL_DATA_FLOW_DEFINITION, forwardEdges, backwardEdges } : report;
}

/** The sink report of a decoder's windows (each window's partial must be ensured first). */
export function sinksFromPartials(context: ScoreContext, windows: readonly AnalyzedWindow[]): SinkReport {
  const total = newSinkPartial(context.layers, context.heads);
  for (const window of windows) mergeSinkPartial(total, partialsOf.get(window)!.sinks!.value);
  return finishSinks(total);
}

/** The encoder's CAT definition restated for the causal support. */
export function causalCatDefinition(definition: CatScoreReport['definition']): CatScoreReport['definition'] {
  return {
    ...definition,
    attentionThreshold: `attention > ${definition.quantile}-quantile of the token-pair attention on the causal support`,
    distanceThreshold:
      `distance < ${+(1 - definition.quantile).toFixed(4)}-quantile of the token-pair distances on the causal ` +
      'support',
    baseline:
      'expected causal CAT-score with each row’s values shuffled within its support (b ≤ a): ' +
      'E[|A ∧ D|] = Σ_a h_a·d_a/(a + 1), E / (|A| + |D| − E)',
    causal: `causal CAT (j ≤ i): ${CAUSAL_CAT_DEFINITION}; rows of a window's prefix tokens are not scored`,
    ...(definition.choices ? { choices: definition.choices.map(decoderChoice) } : {}),
  };
}

/** A preset's input choices restated for a decoder, which reads the file as it is in overlapping windows. */
function decoderChoice(choice: string): string {
  if (choice.startsWith('input:'))
    return (
      'input: the whole file, in decoder windows; each after the first starts with up to a quarter of the ' +
      'context of code before it, fed but not scored'
    );
  if (choice.startsWith('input text:')) return 'input text: the file as it is (newlines and indentation included)';
  if (choice.startsWith('subwords:'))
    return (
      'subwords: each to the code token its bytes overlap (the first, when several); whitespace-only subwords ' +
      'to none'
    );
  return choice;
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
  const total = newStructurePartial(
    structureRelations(context.dataFlow, context.causal),
    context.layers,
    context.heads,
  );
  for (const window of windows) mergeStructurePartial(total, partialsOf.get(window)!.structureHeads!.value);
  return context.causal ? finishStructureHeads(total, CAUSAL_STRUCTURE_DEFINITION) : finishStructureHeads(total);
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
