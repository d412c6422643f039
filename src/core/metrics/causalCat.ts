import { headMatrix, meanOverHeadsInto } from '../alignment';
import type { LayerHeadScores, Tensor } from '../types';
import { DEFAULT_QUANTILE, newCatAccumulator, quantile, type CatAccumulator, type CatSnippet } from './catScore';

/**
 * CAT-score on the causal support (for decoders). Over the k kept code tokens, in source order,
 * the pairs are P = {(a, b) : b ≤ a}: k(k + 1)/2 pairs, self-pairs included as in the encoder's
 * CAT-score. With q = 0.75:
 *
 * - A = pairs of P whose attention is above the q-quantile of the attention values on P;
 * - D = pairs of P whose distance is below the (1 − q)-quantile of the distances on P;
 * - causal CAT = |A ∧ D| / |A ∨ D| (a snippet whose attention on P is all zero, or whose union is
 *   empty, is skipped).
 *
 * Quantiles are numpy's linear interpolation, `<` and `>` strict, as in catScore.ts. Taking the
 * quantiles on P, not on all k² pairs, matters: the zero upper triangle would otherwise make the
 * attention threshold the median of the real values and put pairs the row cannot attend to into D.
 *
 * Baseline: the expected score when each row's attention values are shuffled among that row's
 * support (row a: its a + 1 columns b ≤ a). The multiset of values on P is unchanged, so the
 * threshold, |A| and every row's count of high pairs h_a stay; with d_a near pairs among the row's
 * s_a = a + 1, the row's intersection is hypergeometric with mean h_a·d_a/s_a. So
 * E[|A ∧ D|] = Σ_a h_a·d_a/s_a exactly, and the baseline is E / (|A| + |D| − E) (the plug-in for
 * the ratio, as the encoder's; the tests compare both with real shuffles).
 */
export interface CausalCatCounts {
  /** |A ∧ D|, |A|, |D|, E[|A ∧ D|] under the shuffle, and |P|. */
  both: number;
  high: number;
  near: number;
  expectedBoth: number;
  pairs: number;
  attentionThreshold: number;
  distanceThreshold: number;
}

export interface CausalCatOfMatrix extends CausalCatCounts {
  score: number;
  baseline: number;
}

/** Pairs of the causal support in rows [firstRow, k): Σ (a + 1). */
export function supportPairs(k: number, firstRow = 0): number {
  return (k * (k + 1) - firstRow * (firstRow + 1)) / 2;
}

/** Values of the lower triangle (diagonal included) of a k × k matrix, row by row, from row `firstRow`. */
export function supportValues(matrix: ArrayLike<number>, k: number, firstRow = 0): Float64Array {
  const values = new Float64Array(supportPairs(k, firstRow));
  let x = 0;
  for (let a = firstRow; a < k; a++) for (let b = 0; b <= a; b++) values[x++] = matrix[a * k + b];
  return values;
}

/**
 * Row-wise counts on the causal support of rows [firstRow, k) (a decoder window's prefix rows are
 * not scored: their columns are); `distanceThreshold` is computed from `distance` unless given.
 */
export function causalCatCounts(
  attention: ArrayLike<number>,
  distance: ArrayLike<number>,
  k: number,
  q = DEFAULT_QUANTILE,
  distanceThreshold?: number,
  firstRow = 0,
): CausalCatCounts {
  distanceThreshold ??= quantile(supportValues(distance, k, firstRow), 1 - q);
  const attentionThreshold = quantile(supportValues(attention, k, firstRow), q);
  let both = 0;
  let high = 0;
  let near = 0;
  let expectedBoth = 0;
  for (let a = firstRow; a < k; a++) {
    let highInRow = 0;
    let nearInRow = 0;
    for (let b = 0, x = a * k; b <= a; b++, x++) {
      const isHigh = attention[x] > attentionThreshold;
      const isNear = distance[x] < distanceThreshold;
      if (isHigh) highInRow++;
      if (isNear) nearInRow++;
      if (isHigh && isNear) both++;
    }
    high += highInRow;
    near += nearInRow;
    expectedBoth += (highInRow * nearInRow) / (a + 1);
  }
  return { both, high, near, expectedBoth, pairs: supportPairs(k, firstRow), attentionThreshold, distanceThreshold };
}

/** Causal CAT-score and its shuffled baseline of one k × k matrix; undefined where the snippet is skipped. */
export function causalCatOfMatrix(
  attention: ArrayLike<number>,
  distance: ArrayLike<number>,
  q = DEFAULT_QUANTILE,
): CausalCatOfMatrix | undefined {
  const k = Math.round(Math.sqrt(attention.length));
  const support = supportValues(attention, k);
  if (support.every((value) => value === 0)) return undefined;
  const counts = causalCatCounts(attention, distance, k, q);
  const either = counts.high + counts.near - counts.both;
  if (either === 0) return undefined;
  const baseline = counts.expectedBoth / (counts.high + counts.near - counts.expectedBoth);
  return { ...counts, score: counts.both / either, baseline };
}

/** One window: code-token attention [layers, heads, m, m], kept tokens (window-local, ascending), k × k distances. */
export interface CausalCatSnippet {
  tokenAttention: Tensor;
  kept: readonly number[];
  distances: Int32Array;
}

export interface CausalCatScored {
  score: LayerHeadScores;
  baseline: LayerHeadScores;
  snippets: number;
  pairs: number;
  definition: string;
}

export const CAUSAL_CAT_DEFINITION =
  'pairs (a, b) of kept tokens with b ≤ a (the causal support, self-pairs included); A: attention > its ' +
  'q-quantile on the support; D: distance < its (1 − q)-quantile on the support; CAT = |A ∧ D| / |A ∨ D|; ' +
  'baseline: each row’s values shuffled within its support, E[|A ∧ D|] = Σ_a h_a·d_a/(a + 1), ' +
  'E / (|A| + |D| − E)';

/** Per layer (mean over heads) and per head, mean over snippets, as catScore.ts's `scoreSnippets`. */
export function scoreCausalSnippets(snippets: readonly CausalCatSnippet[], q = DEFAULT_QUANTILE): CausalCatScored {
  const [layers, heads] = snippets.length ? snippets[0].tokenAttention.shape : [0, 0];
  const sums = { score: zeros(layers, heads), baseline: zeros(layers, heads) };
  const counts = zeros(layers, heads);
  let used = 0;
  let pairs = 0;
  for (const snippet of snippets) {
    const k = snippet.kept.length;
    if (k < 2) continue;
    used++;
    pairs += (k * (k + 1)) / 2;
    const m = snippet.tokenAttention.shape[2];
    const distanceThreshold = quantile(supportValues(snippet.distances, k), 1 - q);
    const restricted = new Float32Array(k * k);
    const mean = new Float32Array(m * m);
    const add = (layer: number, head: number | undefined, matrix: Float32Array) => {
      for (let a = 0; a < k; a++) {
        for (let b = 0; b < k; b++) restricted[a * k + b] = matrix[snippet.kept[a] * m + snippet.kept[b]];
      }
      if (supportValues(restricted, k).every((value) => value === 0)) return;
      const c = causalCatCounts(restricted, snippet.distances, k, q, distanceThreshold);
      const either = c.high + c.near - c.both;
      if (either === 0) return;
      const score = c.both / either;
      const baseline = c.expectedBoth / (c.high + c.near - c.expectedBoth);
      if (head === undefined) {
        sums.score.perLayer[layer] += score;
        sums.baseline.perLayer[layer] += baseline;
        counts.perLayer[layer]++;
      } else {
        sums.score.perHead[layer][head] += score;
        sums.baseline.perHead[layer][head] += baseline;
        counts.perHead[layer][head]++;
      }
    };
    for (let l = 0; l < layers; l++) {
      add(l, undefined, meanOverHeadsInto(mean, snippet.tokenAttention, l));
      for (let h = 0; h < heads; h++) add(l, h, headMatrix(snippet.tokenAttention, l, h));
    }
  }
  const divide = (values: LayerHeadScores): LayerHeadScores => ({
    perLayer: values.perLayer.map((sum, l) => (counts.perLayer[l] ? sum / counts.perLayer[l] : NaN)),
    perHead: values.perHead.map((row, l) =>
      row.map((sum, h) => (counts.perHead[l][h] ? sum / counts.perHead[l][h] : NaN)),
    ),
  });
  return {
    score: divide(sums.score),
    baseline: divide(sums.baseline),
    snippets: used,
    pairs,
    definition: CAUSAL_CAT_DEFINITION,
  };
}

function zeros(layers: number, heads: number): LayerHeadScores {
  return {
    perLayer: new Array<number>(layers).fill(0),
    perHead: Array.from({ length: layers }, () => new Array<number>(heads).fill(0)),
  };
}

/**
 * One decoder window's sums for the file's CAT report (catScore.ts's accumulator, finished by
 * `finishCat`): the causal score of each layer (head means) and, with `scoreHeads`, each head, over
 * the rows of kept tokens from `firstRow` on (the window's scored tokens; earlier kept tokens are the
 * prefix and count as columns only).
 */
export function causalSnippetAccumulator(
  snippet: CatSnippet,
  firstRow: number,
  layers: number,
  heads: number,
  options: { q?: number; scoreHeads?: boolean } = {},
): CatAccumulator {
  const q = options.q ?? DEFAULT_QUANTILE;
  const total = newCatAccumulator(layers, heads);
  const k = snippet.kept.length;
  if (k < 2 || firstRow >= k) return total;
  total.used++;
  total.pairs += supportPairs(k, firstRow);
  const distanceThreshold = quantile(supportValues(snippet.distances, k, firstRow), 1 - q);
  total.thresholdSums.distance += distanceThreshold;
  const { attention } = snippet;
  const m = (attention.layerAttention ?? attention.tokenAttention).shape[2];
  const restricted = new Float32Array(k * k);
  const mean = new Float32Array(attention.layerAttention ? 0 : m * m);
  const add = (layer: number, head: number | undefined, matrix: Float32Array) => {
    for (let a = 0; a < k; a++)
      for (let b = 0; b < k; b++) restricted[a * k + b] = matrix[snippet.kept[a] * m + snippet.kept[b]];
    if (supportValues(restricted, k, firstRow).every((value) => value === 0)) return;
    const c = causalCatCounts(restricted, snippet.distances, k, q, distanceThreshold, firstRow);
    if (head === undefined) total.thresholdSums.attentionPerLayer[layer] += c.attentionThreshold;
    const either = c.high + c.near - c.both;
    if (either === 0) return;
    const into = (sums: LayerHeadScores, counts: LayerHeadScores, value: number) => {
      if (head === undefined) {
        sums.perLayer[layer] += value;
        counts.perLayer[layer]++;
      } else {
        sums.perHead[layer][head] += value;
        counts.perHead[layer][head]++;
      }
    };
    into(total.sums.score, total.counts.score, c.both / either);
    into(total.sums.baseline, total.counts.baseline, c.expectedBoth / (c.high + c.near - c.expectedBoth));
  };
  for (let l = 0; l < layers; l++) {
    add(
      l,
      undefined,
      attention.layerAttention
        ? headMatrix(attention.layerAttention, l, 0)
        : meanOverHeadsInto(mean, attention.tokenAttention, l),
    );
    if (options.scoreHeads ?? true)
      for (let h = 0; h < heads; h++) add(l, h, headMatrix(attention.tokenAttention, l, h));
  }
  return total;
}
