import { headMatrix } from '../alignment';
import type { AnalysisResult } from '../types';
import { DEFAULT_QUANTILE, quantile, type TypeFilter } from './catScore';

/** How many types the CAT-probing reference keeps (`top_n_scores(8, …)` in `get_freq_type_list`). */
export const REFERENCE_TOP_TYPES = 8;

export interface TypeRate {
  type: string;
  /** Memberships (as row and as column) in pairs whose attention is above the snippet's quantile. */
  high: number;
  /** All pair memberships (as row and as column). */
  total: number;
  rate: number;
}

/**
 * The CAT-probing reference's data-driven choice of "frequent" token types (`frequent_type=1`,
 * `get_freq_type_list` in its `attention.py`), for one layer over a set of snippets. Per snippet
 * (skipped when its attention is all zero): the token-pair attention over every token that has
 * subwords, A = pairs above its q-quantile; each pair (i, j) counts the type of i and the type of j
 * once each in `total`, and in `high` when the pair is in A. Types with `total` greater than the
 * number of token rows seen (summed over snippets) compete; they are ranked by high / total and the
 * first 8 kept; ties keep the order in which a type first appeared in a high pair (the reference's
 * repeated `max` over its dict). This ranks by attention, not by raw frequency.
 */
export class FrequentTypeCounter {
  private readonly high = new Map<string, number>();
  private readonly total = new Map<string, number>();
  /** Σ token rows over the snippets counted (`token_type_len`). */
  rows = 0;
  snippets = 0;

  constructor(readonly q = DEFAULT_QUANTILE) {}

  /** One snippet: `attention` k×k (row-major) over tokens of the given types. */
  add(attention: ArrayLike<number>, types: readonly string[]): void {
    const k = types.length;
    let any = false;
    for (let x = 0; x < attention.length; x++) if (attention[x] !== 0) any = true;
    if (!any) return;
    const threshold = quantile(attention, this.q);
    this.rows += k;
    this.snippets++;
    const bump = (map: Map<string, number>, type: string, by: number) => map.set(type, (map.get(type) ?? 0) + by);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        if (attention[a * k + b] > threshold) {
          bump(this.high, types[a], 1);
          bump(this.high, types[b], 1);
        }
      }
      // Row a takes part in k pairs as row and in k pairs as column.
      bump(this.total, types[a], 2 * k);
    }
  }

  /** The competing types, best first. */
  ranking(): TypeRate[] {
    const rates: TypeRate[] = [];
    for (const [type, high] of this.high) {
      const total = this.total.get(type) ?? 0;
      if (total > this.rows) rates.push({ type, high, total, rate: high / total });
    }
    return rates.sort((a, b) => b.rate - a.rate);
  }

  top(n = REFERENCE_TOP_TYPES): string[] {
    return this.ranking()
      .slice(0, n)
      .map((entry) => entry.type);
  }
}

/**
 * Adds a result's snippets (one per window) to per-layer counters: each layer's head-mean token
 * attention over the window's tokens that have subwords there (as the reference's token list).
 */
export function countResultTypes(counters: FrequentTypeCounter[], result: AnalysisResult): void {
  for (const window of result.windows) {
    const m = window.tokenEnd - window.tokenStart;
    const hasSubword = new Uint8Array(m);
    for (const token of window.tokenOfSubword) if (token >= 0) hasSubword[token - window.tokenStart] = 1;
    const local: number[] = [];
    for (let t = 0; t < m; t++) if (hasSubword[t] && !result.tokens[window.tokenStart + t].isComment) local.push(t);
    const types = local.map((t) => result.tokens[window.tokenStart + t].type);
    const k = local.length;
    const restricted = new Float32Array(k * k);
    counters.forEach((counter, layer) => {
      const matrix = headMatrix(window.layerAttention, layer, 0);
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) restricted[a * k + b] = matrix[local[a] * m + local[b]];
      counter.add(restricted, types);
    });
  }
}

export function newCounters(layers: number, q = DEFAULT_QUANTILE): FrequentTypeCounter[] {
  return Array.from({ length: layers }, () => new FrequentTypeCounter(q));
}

/** The per-layer type filter the counters give; `scope` says over what they were counted. */
export function dataTypeFilter(counters: readonly FrequentTypeCounter[], scope: string): TypeFilter {
  const typesPerLayer = counters.map((counter) => counter.top());
  return {
    kind: 'data',
    types: typesPerLayer[typesPerLayer.length - 1] ?? [],
    typesPerLayer,
    source:
      "chosen from the data per layer, as CAT-probing's default (frequent_type=1): " +
      `the ${REFERENCE_TOP_TYPES} types whose pair memberships most often fall above the attention quantile, ` +
      `among types counted more than once per token row, over ${scope}`,
  };
}

/** A type filter still to be chosen from the data of the result it is applied to (one file). */
export function pendingDataTypeFilter(): TypeFilter {
  return {
    kind: 'data',
    types: 'all',
    source: 'chosen from the data per layer (frequent_type=1), over this file alone',
  };
}
