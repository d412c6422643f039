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
  for (const window of result.windows) {
    const columns = punctuationColumns(window, result.tokens);
    mergeHeadStatisticsPartial(
      total,
      result.causal
        ? causalHeadStatisticsWindowPartial(
            window,
            window.scoredStart ?? window.tokenStart,
            columns,
            window.subwordAttention,
            layers,
            heads,
          )
        : headStatisticsWindowPartial(window, columns, window.subwordAttention, layers, heads),
    );
  }
  return finishHeadStatistics(total);
}

type StatisticName = 'bos' | 'eos' | 'punctuation' | 'entropy' | 'previous' | 'next';
const STATISTICS: readonly StatisticName[] = ['bos', 'eos', 'punctuation', 'entropy', 'previous', 'next'];

/** Under uniform causal attention: sums over the rows of what each statistic would be (the same for every head). */
export interface CausalChanceSums {
  bos: number;
  punctuation: number;
  previous: number;
  entropy: number;
}

/**
 * Sums over code-token subword rows of each statistic, per layer and head, and the rows counted;
 * a decoder's partial also sums each row's chance level (`chance`).
 */
export interface HeadStatisticsPartial {
  sums: Record<StatisticName, number[][]>;
  rows: number;
  chance?: CausalChanceSums;
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
  if (part.chance) {
    const chance = (total.chance ??= { bos: 0, punctuation: 0, previous: 0, entropy: 0 });
    chance.bos += part.chance.bos;
    chance.punctuation += part.chance.punctuation;
    chance.previous += part.chance.previous;
    chance.entropy += part.chance.entropy;
  }
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
  const n = window.ids.length;
  const rows: number[] = [];
  for (let i = 1; i < n - 1; i++) rows.push(i);
  partial.rows = rows.length;
  const ends = new Int32Array(rows.length).fill(n);
  const punctuationCounts = new Int32Array(rows.length).fill(punctuationColumns.length);
  const shape = { n, layers, heads, bidirectional: true };
  accumulateRows(partial, subwordAttention, shape, rows, ends, punctuationColumns, punctuationCounts);
  return partial;
}

/**
 * Adds, per head, the attention of each row (a subword position i) on the first position, the
 * previous one, the first `punctuationCounts[r]` punctuation columns and its entropy over
 * [0, ends[r]); in a bidirectional window also on </s> and the next position.
 */
function accumulateRows(
  partial: HeadStatisticsPartial,
  subwordAttention: Tensor,
  shape: { n: number; layers: number; heads: number; bidirectional: boolean },
  rows: readonly number[],
  ends: Int32Array,
  punctuationColumns: readonly number[],
  punctuationCounts: Int32Array,
): void {
  const { n, layers, heads, bidirectional } = shape;
  const stats = partial.sums;
  const attention = subwordAttention.data;
  const bits = new Int32Array(attention.buffer, attention.byteOffset, attention.length);
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      let bos = 0;
      let eos = 0;
      let previous = 0;
      let next = 0;
      let punctuation = 0;
      let entropy = 0;
      for (let r = 0; r < rows.length; r++) {
        const i = rows[r];
        const base = ((l * heads + h) * n + i) * n;
        bos += attention[base];
        previous += attention[base + i - 1];
        if (bidirectional) {
          eos += attention[base + n - 1];
          next += attention[base + i + 1];
        }
        for (let p = 0; p < punctuationCounts[r]; p++) punctuation += attention[base + punctuationColumns[p]];
        entropy += rowEntropy(attention, bits, base, base + ends[r]);
      }
      stats.bos[l][h] += bos;
      stats.eos[l][h] += eos;
      stats.previous[l][h] += previous;
      stats.next[l][h] += next;
      stats.punctuation[l][h] += punctuation;
      stats.entropy[l][h] += entropy;
    }
  }
}

export const CAUSAL_HEAD_STATISTICS_DEFINITION =
  'causal (j ≤ i): the rows of the scored code-token subwords (a window’s prefix is not scored; whitespace ' +
  'subwords are not code tokens), each over its i + 1 positions (bos and whitespace included); “first ' +
  'position” is bos, or the window’s first subword without one; entropy against ln(i + 1), the entropy ' +
  'of uniform attention over the row; each chance level is uniform causal attention averaged over the same ' +
  'rows; a decoder window has no end token and no row sees its next subword, so </s> and next are n/a';

/**
 * A decoder window's sums, from its subword attention [layers, heads, n, n]: the rows of the
 * subwords of scored code tokens (owner ≥ `scoredStart`, a global token index), each over its
 * causal support j ≤ i. Row 0 sees only itself and is not counted. `eos` and `next` stay 0 (no
 * decoder row can attend to them); {@link finishHeadStatistics} reports them as NaN.
 */
export function causalHeadStatisticsWindowPartial(
  window: { ids: readonly number[]; tokenOfSubword: Int32Array },
  scoredStart: number,
  punctuationColumns: readonly number[],
  subwordAttention: Tensor,
  layers: number,
  heads: number,
): HeadStatisticsPartial {
  const partial = newHeadStatisticsPartial(layers, heads);
  const n = window.ids.length;
  const rows: number[] = [];
  for (let i = 1; i < n; i++) if (window.tokenOfSubword[i] >= scoredStart) rows.push(i);
  // Punctuation columns j ≤ i, per row: the columns are sorted.
  const punctuationSeen = rows.map((i) => punctuationColumns.filter((j) => j <= i).length);
  const chance = { bos: 0, punctuation: 0, previous: 0, entropy: 0 };
  rows.forEach((i, r) => {
    chance.bos += 1 / (i + 1);
    chance.previous += 1 / (i + 1);
    chance.punctuation += punctuationSeen[r] / (i + 1);
    chance.entropy += Math.log(i + 1);
  });
  partial.rows = rows.length;
  partial.chance = chance;
  const ends = Int32Array.from(rows, (i) => i + 1);
  const shape = { n, layers, heads, bidirectional: false };
  accumulateRows(partial, subwordAttention, shape, rows, ends, punctuationColumns, Int32Array.from(punctuationSeen));
  return partial;
}

export function finishHeadStatistics(total: HeadStatisticsPartial): HeadStatistics {
  const { rows, sums: stats } = total;
  const mean = (matrix: number[][]) => matrix.map((row) => row.map((value) => (rows ? value / rows : NaN)));
  const impossible = (matrix: number[][]) => matrix.map((row) => row.map(() => NaN));
  const averaged = {
    bos: mean(stats.bos),
    eos: total.chance ? impossible(stats.eos) : mean(stats.eos),
    punctuation: mean(stats.punctuation),
    entropy: mean(stats.entropy),
    previous: mean(stats.previous),
    next: total.chance ? impossible(stats.next) : mean(stats.next),
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
    ...(total.chance
      ? {
          causal: {
            definition: CAUSAL_HEAD_STATISTICS_DEFINITION,
            chance: {
              bos: rows ? total.chance.bos / rows : NaN,
              punctuation: rows ? total.chance.punctuation / rows : NaN,
              previous: rows ? total.chance.previous / rows : NaN,
              entropy: rows ? total.chance.entropy / rows : NaN,
            },
          },
        }
      : {}),
  };
}
