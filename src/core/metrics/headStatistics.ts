import type { AnalysisResult, CodeToken, HeadStatistics, Tensor } from '../types';
export type { HeadStatistics } from '../types';

/**
 * Delimiters, by tree-sitter node type (anonymous leaves are typed by their literal): brackets,
 * separators and member access. Operators (`=`, `+`, `==`) are not punctuation, and neither is a
 * string or a comment, whatever characters it holds.
 */
const PUNCTUATION_TYPES = new Set(['(', ')', '[', ']', '{', '}', ',', ';', ':', '.', '::', '->', '?.', '...', '..']);

export function isPunctuation(token: CodeToken): boolean {
  return PUNCTUATION_TYPES.has(token.type);
}

/** ln(1 + k/4096) for k = 0..4096; interpolated linearly, ln of a float32 mantissa to within 1e-8. */
const MANTISSA_LOG = Float64Array.from({ length: 4097 }, (_, k) => Math.log1p(k / 4096));

/**
 * −Σ p·ln p over `values[start, end)`. Entropy touches every attention weight (12 × 12 × 512² for
 * CodeBERT), so ln is taken from the float32's bits — exponent·ln 2 plus a table of the mantissa's
 * ln — rather than by calling Math.log, several times faster. Zeros and subnormals add nothing.
 */
export function rowEntropy(values: Float32Array, bits: Int32Array, start: number, end: number): number {
  let entropy = 0;
  for (let j = start; j < end; j++) {
    const word = bits[j];
    const exponent = word >>> 23;
    if (word <= 0 || exponent === 0) continue;
    const index = (word >>> 11) & 0xfff;
    const low = MANTISSA_LOG[index];
    const ln = (exponent - 127) * Math.LN2 + low + (word & 0x7ff) * (1 / 2048) * (MANTISSA_LOG[index + 1] - low);
    entropy -= values[j] * ln;
  }
  return entropy;
}

export function headStatistics(result: AnalysisResult): HeadStatistics {
  const { layers, heads } = result.model;
  const total = newHeadStatisticsPartial(layers, heads);
  for (const window of result.windows)
    mergeHeadStatisticsPartial(
      total,
      headStatisticsWindowPartial(
        window,
        punctuationColumns(window, result.tokens),
        window.subwordAttention,
        layers,
        heads,
      ),
    );
  return finishHeadStatistics(total);
}

type StatisticName = 'bos' | 'eos' | 'punctuation' | 'entropy' | 'previous' | 'next';
const STATISTICS: readonly StatisticName[] = ['bos', 'eos', 'punctuation', 'entropy', 'previous', 'next'];

/** Sums over code-token subword rows of each statistic, per layer and head, and the rows counted. */
export interface HeadStatisticsPartial {
  sums: Record<StatisticName, number[][]>;
  rows: number;
}

export function newHeadStatisticsPartial(layers: number, heads: number): HeadStatisticsPartial {
  const make = () => Array.from({ length: layers }, () => new Array<number>(heads).fill(0));
  return {
    sums: { bos: make(), eos: make(), punctuation: make(), entropy: make(), previous: make(), next: make() },
    rows: 0,
  };
}

export function mergeHeadStatisticsPartial(
  total: HeadStatisticsPartial,
  part: HeadStatisticsPartial,
): HeadStatisticsPartial {
  for (const name of STATISTICS)
    part.sums[name].forEach((row, l) => row.forEach((value, h) => (total.sums[name][l][h] += value)));
  total.rows += part.rows;
  return total;
}

/** Subword positions of a window whose code token is punctuation. */
export function punctuationColumns(
  window: { ids: readonly number[]; tokenOfSubword: Int32Array },
  tokens: readonly CodeToken[],
): number[] {
  const columns: number[] = [];
  for (let j = 0; j < window.ids.length; j++) {
    const owner = window.tokenOfSubword[j];
    if (owner >= 0 && isPunctuation(tokens[owner])) columns.push(j);
  }
  return columns;
}

/** One window's sums, from its subword attention [layers, heads, n, n]. */
export function headStatisticsWindowPartial(
  window: { ids: readonly number[] },
  punctuationColumns: readonly number[],
  subwordAttention: Tensor,
  layers: number,
  heads: number,
): HeadStatisticsPartial {
  const partial = newHeadStatisticsPartial(layers, heads);
  const stats = partial.sums;
  const n = window.ids.length;
  const attention = subwordAttention.data;
  const bits = new Int32Array(attention.buffer, attention.byteOffset, attention.length);
  partial.rows = Math.max(0, n - 2);
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      let bos = 0;
      let eos = 0;
      let previous = 0;
      let next = 0;
      let punctuation = 0;
      let entropy = 0;
      for (let i = 1; i < n - 1; i++) {
        const base = ((l * heads + h) * n + i) * n;
        bos += attention[base];
        eos += attention[base + n - 1];
        previous += attention[base + i - 1];
        next += attention[base + i + 1];
        for (const j of punctuationColumns) punctuation += attention[base + j];
        entropy += rowEntropy(attention, bits, base, base + n);
      }
      stats.bos[l][h] += bos;
      stats.eos[l][h] += eos;
      stats.previous[l][h] += previous;
      stats.next[l][h] += next;
      stats.punctuation[l][h] += punctuation;
      stats.entropy[l][h] += entropy;
    }
  }
  return partial;
}

export function finishHeadStatistics(total: HeadStatisticsPartial): HeadStatistics {
  const { rows, sums: stats } = total;
  const mean = (matrix: number[][]) => matrix.map((row) => row.map((value) => (rows ? value / rows : NaN)));
  const averaged = {
    bos: mean(stats.bos),
    eos: mean(stats.eos),
    punctuation: mean(stats.punctuation),
    entropy: mean(stats.entropy),
    previous: mean(stats.previous),
    next: mean(stats.next),
  };
  const layerMean = (matrix: number[][]) => matrix.map((row) => row.reduce((a, b) => a + b, 0) / row.length);
  return {
    ...averaged,
    perLayer: {
      bos: layerMean(averaged.bos),
      eos: layerMean(averaged.eos),
      punctuation: layerMean(averaged.punctuation),
      entropy: layerMean(averaged.entropy),
      previous: layerMean(averaged.previous),
      next: layerMean(averaged.next),
    },
    rows,
  };
}
