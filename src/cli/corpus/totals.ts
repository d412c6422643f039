/**
 * What a corpus run adds up, per model: exact sums and counts (see exactSum.ts), so that any split
 * of the lines — batches, worker processes, shards, an interrupted and resumed run — adds up to the
 * same totals and the same means and spreads, bit for bit.
 */
import {
  addExact,
  divideToNumber,
  exactOf,
  ExactMoments,
  type ExactMomentsJson,
  type ExactValue,
} from '../../core/metrics/exactSum';
import type { CatDefinition } from '../../core/metrics/catScore';
import { RELATION_LABELS, type StructureHeadsReport, type StructureRelation } from '../../core/metrics/structureHeads';

/** What scoring one line gave: its per-layer values, or why it was skipped. */
export interface SnippetOutcome {
  /** Position of the line among the run's lines (0-based, blank lines not counted). */
  line: number;
  skipped?: string;
  cat?: { score: number[]; baseline: number[] };
  dataFlow?: { score: number[]; baseline: number[] };
  heads?: StructureHeadsReport;
  /** The CAT definition this snippet was scored under (the same for every snippet of a run). */
  definition?: CatDefinition;
}

interface HeadSums {
  tokens: number;
  /** [layer][head] exact Σ accuracy·tokens and Σ chance·tokens over snippets. */
  accuracy: ExactValue[][];
  chance: ExactValue[][];
  /** The fixed-offset baseline: its offsets, [0][k] exact Σ share·tokens, and the tokens it covers. */
  offsets?: { offsets: number[]; shares: ExactValue[][]; tokens: number };
}

export interface LayerStatistics {
  layer: number;
  mean: number;
  std: number;
  n: number;
  baselineMean: number;
  baselineStd: number;
}

export interface CorpusTotalsJson {
  layers: number;
  lines: number;
  catSnippets: number;
  dataFlowSnippets: number;
  skipped: Record<string, number>;
  cat: ExactMomentsJson[];
  catBaseline: ExactMomentsJson[];
  dataFlow: ExactMomentsJson[];
  dataFlowBaseline: ExactMomentsJson[];
  heads?: {
    definition: string;
    relations: Record<
      string,
      {
        tokens: number;
        accuracy: Array<Array<[string, number]>>;
        chance: Array<Array<[string, number]>>;
        offsets?: { offsets: number[]; shares: Array<Array<[string, number]>>; tokens: number };
      }
    >;
  };
}

const ZERO: ExactValue = { mantissa: 0n, exponent: 0 };

export class CorpusTotals {
  lines = 0;
  catSnippets = 0;
  dataFlowSnippets = 0;
  readonly skipped: Record<string, number> = {};
  readonly cat: ExactMoments[];
  readonly catBaseline: ExactMoments[];
  readonly dataFlow: ExactMoments[];
  readonly dataFlowBaseline: ExactMoments[];
  headsDefinition?: string;
  readonly heads = new Map<StructureRelation, HeadSums>();

  constructor(readonly layers: number) {
    const series = () => Array.from({ length: layers }, () => new ExactMoments());
    this.cat = series();
    this.catBaseline = series();
    this.dataFlow = series();
    this.dataFlowBaseline = series();
  }

  skip(reason: string, count = 1): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + count;
  }

  add(outcome: SnippetOutcome): void {
    this.lines++;
    if (outcome.skipped) this.skip(outcome.skipped);
    if (outcome.cat) {
      this.catSnippets++;
      outcome.cat.score.forEach((value, layer) => this.cat[layer].add(value));
      outcome.cat.baseline.forEach((value, layer) => this.catBaseline[layer].add(value));
    }
    if (outcome.dataFlow) {
      this.dataFlowSnippets++;
      outcome.dataFlow.score.forEach((value, layer) => this.dataFlow[layer].add(value));
      outcome.dataFlow.baseline.forEach((value, layer) => this.dataFlowBaseline[layer].add(value));
    }
    if (outcome.heads) this.addHeads(outcome.heads);
  }

  private addHeads(report: StructureHeadsReport): void {
    this.headsDefinition ??= report.definition;
    for (const relation of Object.keys(RELATION_LABELS) as StructureRelation[]) {
      const entry = report.relations[relation];
      if (!entry || entry.tokens <= 0) continue;
      const weighted = (matrix: number[][]) => matrix.map((row) => row.map((value) => exactOf(value * entry.tokens)));
      const baseline = entry.offsetBaseline;
      this.mergeHeads(relation, {
        tokens: entry.tokens,
        accuracy: weighted(entry.accuracy),
        chance: weighted(entry.chance),
        ...(baseline
          ? { offsets: { offsets: [...baseline.offsets], shares: weighted([baseline.shares]), tokens: entry.tokens } }
          : {}),
      });
    }
  }

  private mergeHeads(relation: StructureRelation, sums: HeadSums): void {
    const held = this.heads.get(relation);
    const copyOffsets = (offsets: HeadSums['offsets']) =>
      offsets && {
        offsets: [...offsets.offsets],
        shares: offsets.shares.map((row) => [...row]),
        tokens: offsets.tokens,
      };
    if (!held) {
      this.heads.set(relation, {
        tokens: sums.tokens,
        accuracy: sums.accuracy.map((row) => [...row]),
        chance: sums.chance.map((row) => [...row]),
        ...(sums.offsets ? { offsets: copyOffsets(sums.offsets) } : {}),
      });
      return;
    }
    held.tokens += sums.tokens;
    const add = (into: ExactValue[][], from: ExactValue[][]) =>
      from.forEach((row, layer) =>
        row.forEach((value, head) => (into[layer][head] = addExact(into[layer][head] ?? ZERO, value))),
      );
    add(held.accuracy, sums.accuracy);
    add(held.chance, sums.chance);
    if (sums.offsets && held.offsets) {
      add(held.offsets.shares, sums.offsets.shares);
      held.offsets.tokens += sums.offsets.tokens;
    } else if (sums.offsets) {
      held.offsets = copyOffsets(sums.offsets);
    }
  }

  merge(other: CorpusTotals): void {
    if (other.layers !== this.layers)
      throw new RangeError(`Cannot merge totals of ${other.layers} layers into ${this.layers}.`);
    this.lines += other.lines;
    this.catSnippets += other.catSnippets;
    this.dataFlowSnippets += other.dataFlowSnippets;
    for (const [reason, count] of Object.entries(other.skipped)) this.skip(reason, count);
    const mergeSeries = (into: ExactMoments[], from: ExactMoments[]) =>
      from.forEach((moments, layer) => into[layer].merge(moments));
    mergeSeries(this.cat, other.cat);
    mergeSeries(this.catBaseline, other.catBaseline);
    mergeSeries(this.dataFlow, other.dataFlow);
    mergeSeries(this.dataFlowBaseline, other.dataFlowBaseline);
    this.headsDefinition ??= other.headsDefinition;
    for (const [relation, sums] of other.heads) this.mergeHeads(relation, sums);
  }

  /** Skip reasons in a fixed order, so that the output does not depend on the order lines finished in. */
  sortedSkipped(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.skipped).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  catLayers(): LayerStatistics[] {
    return layerStatistics(this.cat, this.catBaseline);
  }

  dataFlowLayers(): LayerStatistics[] {
    return layerStatistics(this.dataFlow, this.dataFlowBaseline);
  }

  /** The token-weighted structure-heads report over every snippet added (as mergeStructureHeads, exactly). */
  structureHeads(): StructureHeadsReport | undefined {
    if (!this.headsDefinition) return undefined;
    const report: StructureHeadsReport = { definition: this.headsDefinition, relations: {} };
    for (const relation of Object.keys(RELATION_LABELS) as StructureRelation[]) {
      const sums = this.heads.get(relation);
      if (!sums) continue;
      const tokens = BigInt(sums.tokens);
      const mean = (matrix: ExactValue[][]) =>
        matrix.map((row) => row.map((value) => divideToNumber(value.mantissa, value.exponent, tokens)));
      const offsets = sums.offsets;
      report.relations[relation] = {
        accuracy: mean(sums.accuracy),
        chance: mean(sums.chance),
        tokens: sums.tokens,
        // Only where every snippet of the relation had one: otherwise the shares would not be of the same tokens.
        ...(offsets && offsets.tokens === sums.tokens
          ? {
              offsetBaseline: {
                offsets: [...offsets.offsets],
                shares: offsets.shares[0].map((value) => divideToNumber(value.mantissa, value.exponent, tokens)),
              },
            }
          : {}),
      };
    }
    return report;
  }

  toJSON(): CorpusTotalsJson {
    const series = (moments: ExactMoments[]) => moments.map((entry) => entry.toJSON());
    const json: CorpusTotalsJson = {
      layers: this.layers,
      lines: this.lines,
      catSnippets: this.catSnippets,
      dataFlowSnippets: this.dataFlowSnippets,
      skipped: this.sortedSkipped(),
      cat: series(this.cat),
      catBaseline: series(this.catBaseline),
      dataFlow: series(this.dataFlow),
      dataFlowBaseline: series(this.dataFlowBaseline),
    };
    if (this.headsDefinition) {
      const matrix = (values: ExactValue[][]) =>
        values.map((row) => row.map((value) => ExactMoments.valueToJson(value)));
      json.heads = {
        definition: this.headsDefinition,
        relations: Object.fromEntries(
          [...this.heads]
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([relation, sums]) => [relation, convertSums(sums, matrix)]),
        ),
      };
    }
    return json;
  }

  /** Totals read back from {@link toJSON}; throws a TypeError on anything else. */
  static fromJSON(json: CorpusTotalsJson): CorpusTotals {
    if (!json || typeof json !== 'object' || !Number.isInteger(json.layers) || json.layers < 1)
      throw new TypeError('not corpus totals');
    const totals = new CorpusTotals(json.layers);
    totals.lines = json.lines;
    totals.catSnippets = json.catSnippets;
    totals.dataFlowSnippets = json.dataFlowSnippets;
    Object.assign(totals.skipped, json.skipped);
    const series = (into: ExactMoments[], from: ExactMomentsJson[]) => {
      if (!Array.isArray(from) || from.length !== json.layers) throw new TypeError('not corpus totals');
      from.forEach((entry, layer) => (into[layer] = ExactMoments.fromJSON(entry)));
    };
    series(totals.cat, json.cat);
    series(totals.catBaseline, json.catBaseline);
    series(totals.dataFlow, json.dataFlow);
    series(totals.dataFlowBaseline, json.dataFlowBaseline);
    if (json.heads) {
      totals.headsDefinition = json.heads.definition;
      for (const [relation, sums] of Object.entries(json.heads.relations)) {
        const matrix = (values: Array<Array<[string, number]>>) =>
          values.map((row) => row.map((value) => ExactMoments.valueFromJson(value)));
        totals.heads.set(relation as StructureRelation, convertSums(sums, matrix));
      }
    }
    return totals;
  }
}

interface SumsOf<V> {
  tokens: number;
  accuracy: V[][];
  chance: V[][];
  offsets?: { offsets: number[]; shares: V[][]; tokens: number };
}

/** Head sums with every exact value's matrix converted by `matrix` (to JSON and back). */
function convertSums<A, B>(sums: SumsOf<A>, matrix: (values: A[][]) => B[][]): SumsOf<B> {
  const { offsets } = sums;
  return {
    tokens: sums.tokens,
    accuracy: matrix(sums.accuracy),
    chance: matrix(sums.chance),
    ...(offsets
      ? { offsets: { offsets: [...offsets.offsets], shares: matrix(offsets.shares), tokens: offsets.tokens } }
      : {}),
  };
}

function layerStatistics(scores: ExactMoments[], baselines: ExactMoments[]): LayerStatistics[] {
  return scores.map((moments, layer) => ({
    layer,
    mean: moments.mean(),
    std: moments.std(),
    n: moments.count,
    baselineMean: baselines[layer].mean(),
    baselineStd: baselines[layer].std(),
  }));
}
