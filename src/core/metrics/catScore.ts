import { headMatrix, meanOverHeadsInto } from '../alignment';
import type { DistanceKind } from '../astDistance';
import type {
  CatDefinition,
  CatThresholdValues,
  CodeToken,
  LanguageId,
  LayerHeadScores,
  PairRule,
  Tensor,
  TypeFilter,
} from '../types';
export type { TypeFilter, CatDefinition, CatScoreReport, CatThresholdValues } from '../types';

/**
 * CAT-score (CAT-probing, Chen et al., Findings of EMNLP 2022), as its reference code computes it
 * (nchen909/CodeAttention, `attention.py` and `utils.py`):
 *
 * 1. Keep only code tokens whose tree-sitter type is "frequent": the per-language lists below (published in
 *    the reference's `utils.py`, never called by its `attention.py`), or, as the reference's default run
 *    does, types chosen from the data per layer (`metrics/frequentTypes.ts`).
 * 2. Token-pair attention over the kept tokens (see alignment.ts for the pair rule); the
 *    per-layer score uses the mean over heads, as the reference's `action_per_head = 'mean'`.
 * 3. A = pairs with attention > q-quantile of all m² attention values (q = 0.75);
 *    D = pairs with distance < (1 − q)-quantile of all m² distances.
 * 4. CAT = |A ∧ D| / |A ∨ D|; a snippet whose attention is all zero or whose union is empty is
 *    skipped; the corpus score is the mean over snippets.
 *
 * Faithful choices, kept on purpose and stated in every report: self-pairs (i, i) with distance 0
 * are included in both quantiles and sets; quantiles interpolate linearly between order
 * statistics (numpy's default); the strict `<` against an integer-valued quantile means ties at
 * the threshold are not "near".
 */

export const FREQUENT_TYPES: Partial<Record<LanguageId, string[]>> = {
  python: [')', 'def', 'return', 'identifier', 'if', 'for', ':', ']'],
  java: [')', 'public', 'string_literal', 'identifier', '}', 'return', 'type_identifier', 'if'],
  // The reference lists `string_fragment`, a child of JavaScript string literals; our code tokens
  // keep a string literal whole, so the literal (`string`) stands for it.
  javascript: ['function', ')', 'string', 'identifier', '(', ';', '{', '}'],
  go: ['package_identifier', 'type_identifier', 'field_identifier', 'if', 'return', '='],
};

export const DEFAULT_QUANTILE = 0.75;

/** The reference's list for a language; TypeScript uses JavaScript's; Ruby and PHP have none (all types). */
export function referenceTypeFilter(language: LanguageId): TypeFilter {
  const lookup = language === 'typescript' ? 'javascript' : language;
  const types = FREQUENT_TYPES[lookup];
  return types
    ? {
        kind: 'reference',
        types,
        source: `CAT-probing's printed list for ${lookup} (its default run chooses from the data)`,
      }
    : {
        kind: 'reference',
        types: 'all',
        source: `no CAT-probing list for ${language}: all token types kept, as the reference does`,
      };
}

/**
 * The `k` most frequent code-token types over a corpus by raw count (ties by name). This is not how the
 * reference chooses types: it ranks them by the share of their pairs above the attention quantile
 * (`frequentTypes.ts`, `--types data` or the `reference` preset).
 */
export function topTypesFilter(typeCounts: ReadonlyMap<string, number>, k: number): TypeFilter {
  const types = [...typeCounts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, k)
    .map(([type]) => type);
  const source =
    `the ${types.length} most frequent token types of the corpus by raw count ` +
    "(not the reference's attention-based ranking)";
  return { kind: 'custom', types, source };
}

export function keptTokenIndices(
  tokens: readonly CodeToken[],
  filter: TypeFilter,
  from = 0,
  to = tokens.length,
): number[] {
  const kept: number[] = [];
  const types = filter.types === 'all' ? undefined : new Set(filter.types);
  for (let t = from; t < to; t++) if (!types || types.has(tokens[t].type)) kept.push(t);
  return kept;
}

/** numpy.quantile with the default linear interpolation, by selection (no full sort). */
export function quantile(values: ArrayLike<number>, q: number): number {
  return quantileInPlace(Float64Array.from(values), q);
}

/** {@link quantile} that reorders `work` instead of copying it. */
function quantileInPlace(work: Float64Array, q: number): number {
  const n = work.length;
  if (n === 0) return NaN;
  const position = q * (n - 1);
  const low = Math.floor(position);
  const lowValue = select(work, low);
  if (low + 1 >= n || position === low) return lowValue;
  // After selecting `low`, everything right of it is ≥ it: the next order statistic is their minimum.
  let next = Infinity;
  for (let i = low + 1; i < n; i++) if (work[i] < next) next = work[i];
  return lowValue + (next - lowValue) * (position - low);
}

/** Hoare's selection: rearranges `work` so that work[k] is the k-th smallest value, and returns it. */
function select(work: Float64Array, k: number): number {
  let left = 0;
  let right = work.length - 1;
  while (right > left) {
    const pivot = work[(left + right) >> 1];
    let i = left;
    let j = right;
    while (i <= j) {
      while (work[i] < pivot) i++;
      while (work[j] > pivot) j--;
      if (i <= j) {
        const swap = work[i];
        work[i] = work[j];
        work[j] = swap;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return work[k];
}

export interface CatThresholds {
  attention: number;
  distance: number;
}

/**
 * CAT-score of one snippet: `attention` and `distance` are k×k over the kept tokens.
 * Returns undefined where the reference skips the snippet.
 */
export function catScoreOfMatrix(
  attention: ArrayLike<number>,
  distance: ArrayLike<number>,
  q = DEFAULT_QUANTILE,
  distanceThreshold?: number,
  knownAttentionThreshold?: number,
): number | undefined {
  if (allZero(attention)) return undefined;
  const k = Math.round(Math.sqrt(attention.length));
  const near = nearPairs(distance, k, distanceThreshold ?? quantile(distance, 1 - q));
  const counts = catCounts(attention, knownAttentionThreshold ?? quantile(attention, q), near);
  const either = counts.high + near.total - counts.both;
  return either === 0 ? undefined : counts.both / either;
}

function allZero(values: ArrayLike<number>): boolean {
  for (let x = 0; x < values.length; x++) if (values[x] !== 0) return false;
  return true;
}

/** The "near" pairs of a k×k distance matrix (distance below the threshold), with counts per row. */
interface NearPairs {
  k: number;
  mask: Uint8Array;
  perRow: Float64Array;
  total: number;
}

function nearPairs(distance: ArrayLike<number>, k: number, threshold: number): NearPairs {
  const mask = new Uint8Array(k * k);
  const perRow = new Float64Array(k);
  let total = 0;
  for (let a = 0; a < k; a++) {
    for (let x = a * k; x < (a + 1) * k; x++) {
      if (distance[x] < threshold) {
        mask[x] = 1;
        perRow[a]++;
      }
    }
    total += perRow[a];
  }
  return { k, mask, perRow, total };
}

/**
 * |high ∧ near| and |high| of a k×k attention matrix, and the expected |high ∧ near| when each
 * row's values are shuffled among its columns (row a: h_a·d_a/k, the hypergeometric mean).
 */
function catCounts(
  attention: ArrayLike<number>,
  threshold: number,
  near: NearPairs,
): { both: number; high: number; expectedBoth: number } {
  const { k, mask, perRow } = near;
  let high = 0;
  let both = 0;
  let expectedBoth = 0;
  for (let a = 0; a < k; a++) {
    let highInRow = 0;
    for (let x = a * k, end = x + k; x < end; x++) {
      if (attention[x] > threshold) {
        highInRow++;
        both += mask[x];
      }
    }
    high += highInRow;
    expectedBoth += (highInRow * perRow[a]) / k;
  }
  return { both, high, expectedBoth };
}

/** Restricts a matrix (row-major, `size` wide, over window-local indices) to the `local` indices, into `out`. */
function submatrixInto(
  out: Float32Array,
  matrix: ArrayLike<number>,
  size: number,
  local: readonly number[],
): Float32Array {
  const k = local.length;
  for (let a = 0; a < k; a++) {
    const row = local[a] * size;
    for (let b = 0; b < k; b++) out[a * k + b] = matrix[row + local[b]];
  }
  return out;
}

/** One snippet (window) ready for scoring: token attention over the window and distances over kept tokens. */
export interface CatSnippet {
  /**
   * The window's token attention, m×m per matrix: `tokenAttention` [layers, heads, m, m] is read
   * only when heads are scored; `layerAttention` [layers, 1, m, m] (head means) when present,
   * else the mean of `tokenAttention`.
   */
  attention: { readonly tokenAttention: Tensor; readonly layerAttention?: Tensor };
  /** Window-local indices of kept tokens. */
  kept: number[];
  /** k×k distances over the kept tokens. */
  distances: Int32Array;
}

/**
 * Per-layer and per-head CAT-score (mean over snippets) with its chance level.
 *
 * The chance level is the CAT-score expected when each row's attention values are shuffled among
 * that row's columns: the multiset of values (so the attention threshold, and every row's count of
 * high pairs h_a) stays, and only the link between where attention goes and the tree breaks. The
 * high and near sets keep their sizes |A| and |D|, and the intersection of row a is hypergeometric
 * with mean h_a·d_a/k (d_a near pairs in the row), so the baseline is
 * E[X] / (|A| + |D| − E[X]) with E[X] = Σ_a h_a·d_a/k: exact in the intersection's expectation, a
 * plug-in for the ratio (the intersection concentrates; the test compares it with many shuffles).
 */
export function scoreSnippets(
  snippets: readonly CatSnippet[],
  layers: number,
  heads: number,
  options: { q?: number; scoreHeads?: boolean; /** Score this layer only. */ onlyLayer?: number } = {},
): CatScored {
  const total = newCatAccumulator(layers, heads);
  for (const snippet of snippets) mergeCatAccumulator(total, snippetAccumulator(snippet, layers, heads, options));
  return finishCat(total);
}

export interface CatScored {
  score: LayerHeadScores;
  baseline: LayerHeadScores;
  snippets: number;
  pairs: number;
  thresholds: CatThresholdValues;
}

/**
 * Sums and counts of {@link scoreSnippets} over some snippets: one window's contribution, kept
 * with the window so that a file's score is the sum of its windows' (and an unchanged window's
 * need not be recomputed). Adding accumulators in window order gives the very numbers one pass
 * over all snippets gives.
 */
export interface CatAccumulator {
  sums: { score: LayerHeadScores; baseline: LayerHeadScores };
  counts: { score: LayerHeadScores; baseline: LayerHeadScores };
  used: number;
  pairs: number;
  thresholdSums: { distance: number; attentionPerLayer: number[] };
}

export function newCatAccumulator(layers: number, heads: number): CatAccumulator {
  return {
    sums: { score: newScores(layers, heads), baseline: newScores(layers, heads) },
    counts: { score: newScores(layers, heads), baseline: newScores(layers, heads) },
    used: 0,
    pairs: 0,
    thresholdSums: { distance: 0, attentionPerLayer: new Array<number>(layers).fill(0) },
  };
}

export function mergeCatAccumulator(total: CatAccumulator, part: CatAccumulator): CatAccumulator {
  const add = (into: LayerHeadScores, from: LayerHeadScores) => {
    from.perLayer.forEach((value, l) => (into.perLayer[l] += value));
    from.perHead.forEach((row, l) => row.forEach((value, h) => (into.perHead[l][h] += value)));
  };
  add(total.sums.score, part.sums.score);
  add(total.sums.baseline, part.sums.baseline);
  add(total.counts.score, part.counts.score);
  add(total.counts.baseline, part.counts.baseline);
  total.used += part.used;
  total.pairs += part.pairs;
  total.thresholdSums.distance += part.thresholdSums.distance;
  part.thresholdSums.attentionPerLayer.forEach((value, l) => (total.thresholdSums.attentionPerLayer[l] += value));
  return total;
}

export function finishCat(total: CatAccumulator): CatScored {
  const { used, thresholdSums } = total;
  return {
    score: divide(total.sums.score, total.counts.score),
    baseline: divide(total.sums.baseline, total.counts.baseline),
    snippets: used,
    pairs: total.pairs,
    thresholds: {
      distance: used ? thresholdSums.distance / used : NaN,
      attentionPerLayer: thresholdSums.attentionPerLayer.map((sum) => (used ? sum / used : NaN)),
    },
  };
}

/** One snippet's contribution to {@link scoreSnippets}. */
export function snippetAccumulator(
  snippet: CatSnippet,
  layers: number,
  heads: number,
  options: { q?: number; scoreHeads?: boolean; onlyLayer?: number } = {},
): CatAccumulator {
  const q = options.q ?? DEFAULT_QUANTILE;
  const scoreHeads = options.scoreHeads ?? true;
  const total = newCatAccumulator(layers, heads);
  const { sums, counts, thresholdSums } = total;
  const k = snippet.kept.length;
  if (k < 2) return total;
  total.used++;
  total.pairs += k * k;
  const m = (snippet.attention.layerAttention ?? snippet.attention.tokenAttention).shape[2];
  const distanceThreshold = quantile(snippet.distances, 1 - q);
  thresholdSums.distance += distanceThreshold;
  const near = nearPairs(snippet.distances, k, distanceThreshold);
  const restricted = new Float32Array(k * k);
  const work = new Float64Array(k * k);
  const layerMean = new Float32Array(snippet.attention.layerAttention ? 0 : m * m);
  const add = (layer: number, head: number | undefined, matrix: Float32Array) => {
    submatrixInto(restricted, matrix, m, snippet.kept);
    if (allZero(restricted)) return;
    work.set(restricted);
    const attentionThreshold = quantileInPlace(work, q);
    if (head === undefined) thresholdSums.attentionPerLayer[layer] += attentionThreshold;
    const { both, high, expectedBoth } = catCounts(restricted, attentionThreshold, near);
    const either = high + near.total - both;
    if (either === 0) return;
    accumulate(sums.score, counts.score, layer, head, both / either);
    accumulate(sums.baseline, counts.baseline, layer, head, expectedBoth / (high + near.total - expectedBoth));
  };
  const { attention } = snippet;
  for (let l = 0; l < layers; l++) {
    if (options.onlyLayer !== undefined && l !== options.onlyLayer) continue;
    add(
      l,
      undefined,
      attention.layerAttention
        ? headMatrix(attention.layerAttention, l, 0)
        : meanOverHeadsInto(layerMean, attention.tokenAttention, l),
    );
    if (scoreHeads) for (let h = 0; h < heads; h++) add(l, h, headMatrix(attention.tokenAttention, l, h));
  }
  return total;
}

function newScores(layers: number, heads: number): LayerHeadScores {
  return {
    perLayer: new Array<number>(layers).fill(0),
    perHead: Array.from({ length: layers }, () => new Array<number>(heads).fill(0)),
  };
}

function accumulate(
  sums: LayerHeadScores,
  counts: LayerHeadScores,
  layer: number,
  head: number | undefined,
  value: number | undefined,
) {
  if (value === undefined) return;
  if (head === undefined) {
    sums.perLayer[layer] += value;
    counts.perLayer[layer]++;
  } else {
    sums.perHead[layer][head] += value;
    counts.perHead[layer][head]++;
  }
}

function divide(sums: LayerHeadScores, counts: LayerHeadScores): LayerHeadScores {
  return {
    perLayer: sums.perLayer.map((sum, l) => (counts.perLayer[l] ? sum / counts.perLayer[l] : NaN)),
    perHead: sums.perHead.map((row, l) =>
      row.map((sum, h) => (counts.perHead[l][h] ? sum / counts.perHead[l][h] : NaN)),
    ),
  };
}

export function catDefinition(
  filter: TypeFilter,
  distance: DistanceKind,
  pairRule: PairRule,
  q = DEFAULT_QUANTILE,
  preset?: { name: string; choices: string[] },
): CatDefinition {
  return {
    quantile: q,
    attentionThreshold: `attention > ${q}-quantile of the snippet's token-pair attention`,
    distanceThreshold: `distance < ${+(1 - q).toFixed(4)}-quantile of the snippet's token-pair distances`,
    distance,
    pairRule,
    headAggregation: 'per layer: mean over heads; per head: that head',
    keptTypes: filter.types,
    ...(filter.kind === 'data' && filter.typesPerLayer ? { keptTypesPerLayer: filter.typesPerLayer } : {}),
    typeSource: filter.source,
    ...(preset ? { preset: preset.name, choices: preset.choices } : {}),
    selfPairs: 'included',
    baseline:
      'expected CAT-score with each row’s values shuffled among its columns: E[|A ∧ D|] / (|A| + |D| − E[|A ∧ D|])',
  };
}
