import { runSteps, runStepsSliced, type Slicer, type Steps } from './slices';
import type { AnalyzedWindow, PairRule, SubwordWindow, Tensor } from './types';

/**
 * Code-token attention from subword attention, by exact offsets: subword s belongs to code token
 * `window.tokenOfSubword[s]` (−1 for `<s>` and `</s>`, which are dropped). For code tokens a and
 * b with subword sets S(a) and S(b):
 *
 * - `mean` (the CAT-probing reference, `get_token_attention`): A[a][b] = mean over i ∈ S(a),
 *   j ∈ S(b) of α[i][j]. The reference finds S(a) by substring matching of subwords against
 *   leaves; we use the tokenizer's exact map, which agrees where that matching is right.
 * - `sumMean` (Wan et al. 2022): A[a][b] = mean over i ∈ S(a) of Σ_{j ∈ S(b)} α[i][j]. Every row
 *   then sums to 1 minus the attention the row's subwords give to `<s>` and `</s>`.
 *
 * The result is m×m over the window's code tokens (m = tokenEnd − tokenStart), row-major.
 */
export function alignMatrix(
  subwordMatrix: Float32Array,
  n: number,
  window: SubwordWindow,
  rule: PairRule,
  offset = 0,
): Float32Array {
  const m = window.tokenEnd - window.tokenStart;
  const result = new Float32Array(m * m);
  alignInto(result, 0, subwordMatrix, offset, n, new AlignmentPlan(n, window, rule), new Float64Array(m));
  return result;
}

/** What aligning any n×n matrix of a window needs, computed once per window. */
class AlignmentPlan {
  readonly m: number;
  /** Window-local owner of subword s, −1 for `<s>`/`</s>`. */
  readonly owner: Int32Array;
  /** 1 / subword count of each token (0 for a token without subwords in the window). */
  readonly inverseCount: Float64Array;
  /** What each column is multiplied by: 1 / its count under `mean`, 1 under `sumMean`. */
  readonly columnScale: Float64Array;

  constructor(n: number, window: SubwordWindow, rule: PairRule) {
    const m = window.tokenEnd - window.tokenStart;
    this.m = m;
    this.owner = new Int32Array(n);
    const counts = new Float64Array(m);
    for (let s = 0; s < n; s++) {
      const token = window.tokenOfSubword[s];
      this.owner[s] = token >= 0 ? token - window.tokenStart : -1;
      if (token >= 0) counts[token - window.tokenStart]++;
    }
    this.inverseCount = counts.map((count) => (count > 0 ? 1 / count : 0));
    this.columnScale = rule === 'mean' ? this.inverseCount : new Float64Array(m).fill(1);
  }
}

/**
 * Aligns one n×n subword matrix (at `offset`) into `out` (at `outOffset`, m×m). The rows of each
 * run of subwords of one token are summed per column token into `row` (m, reused), then the run
 * is written out divided by the pair's subword counts as the rule says.
 */
function alignInto(
  out: Float32Array,
  outOffset: number,
  subwordMatrix: Float32Array,
  offset: number,
  n: number,
  plan: AlignmentPlan,
  row: Float64Array,
): void {
  const { m, owner, inverseCount, columnScale } = plan;
  for (let i = 0; i < n;) {
    const a = owner[i];
    let last = i + 1;
    while (last < n && owner[last] === a) last++;
    if (a >= 0) {
      row.fill(0);
      for (let r = i; r < last; r++) {
        for (let j = 0, x = offset + r * n; j < n; j++, x++) {
          const b = owner[j];
          if (b >= 0) row[b] += subwordMatrix[x];
        }
      }
      // `+=`: a token's subwords are one run in planned windows, but a second run would add up too.
      const scale = inverseCount[a];
      for (let b = 0, x = outOffset + a * m; b < m; b++, x++) out[x] += row[b] * scale * columnScale[b];
    }
    i = last;
  }
}

/** Aligns every layer and head of a [layers, heads, n, n] tensor: [layers, heads, m, m]. */
export function alignAttention(attentions: Tensor, window: SubwordWindow, rule: PairRule): Tensor {
  alignedOnce.add(attentions);
  const ahead = alignedAhead.get(attentions);
  if (ahead?.rule === rule) {
    alignedAhead.delete(attentions);
    return ahead.aligned;
  }
  return runSteps(alignAttentionSteps(attentions, window, rule));
}

/** {@link alignAttention} as steps, one per layer and head (see slices.ts). */
function* alignAttentionSteps(attentions: Tensor, window: SubwordWindow, rule: PairRule): Steps<Tensor> {
  const [layers, heads, n] = attentions.shape;
  const plan = new AlignmentPlan(n, window, rule);
  const m = plan.m;
  const data = new Float32Array(layers * heads * m * m);
  const row = new Float64Array(m);
  for (let index = 0; index < layers * heads; index++) {
    yield;
    alignInto(data, index * m * m, attentions.data, index * n * n, n, plan, row);
  }
  return { data, shape: [layers, heads, m, m] };
}

/** Tensors aligned by {@link alignAttentionAhead}, handed to the next {@link alignAttention} of the same tensor. */
const alignedAhead = new WeakMap<Tensor, { rule: PairRule; aligned: Tensor }>();
/** Tensors `alignAttention` has aligned: their reader (a window's lazy `tokenAttention`) holds the result already. */
const alignedOnce = new WeakSet<Tensor>();

/**
 * Aligns every head of `attentions` in slices, so that the next `alignAttention` of this tensor
 * (the lazy `tokenAttention` of a window's tensors) returns at once instead of blocking the thread.
 */
export async function alignAttentionAhead(
  attentions: Tensor,
  window: SubwordWindow,
  rule: PairRule,
  slicer: Slicer,
): Promise<void> {
  if (alignedOnce.has(attentions) || alignedAhead.get(attentions)?.rule === rule) return;
  const aligned = await runStepsSliced(alignAttentionSteps(attentions, window, rule), slicer);
  alignedAhead.set(attentions, { rule, aligned });
}

/**
 * Per layer, the head-mean code-token attention, [layers, 1, m, m]: heads are averaged on subwords
 * first and each layer is aligned once (alignment is linear, so this is the mean of the aligned
 * heads up to float rounding) — a twelfth of aligning every head of a 12-head model. One subword
 * row at a time: its heads are summed (float32, head 0 first, as {@link meanOverHeads} does) into
 * a row that stays in the processor's cache, and the last head's pass divides and adds each column
 * into its token's sum, so the [layers, heads, n, n] tensor is read once.
 */
export function alignLayerMeans(attentions: Tensor, window: SubwordWindow, rule: PairRule): Tensor {
  return runSteps(alignLayerMeanSteps(attentions, window, rule));
}

/** {@link alignLayerMeans} as steps, one per layer (see slices.ts). */
export function* alignLayerMeanSteps(attentions: Tensor, window: SubwordWindow, rule: PairRule): Steps<Tensor> {
  const [layers, heads, n] = attentions.shape;
  const { m, owner, inverseCount, columnScale } = new AlignmentPlan(n, window, rule);
  const source = attentions.data;
  const data = new Float32Array(layers * m * m);
  const headSum = new Float32Array(n);
  const row = new Float64Array(m);
  const size = n * n;
  const round = Math.fround;
  for (let l = 0; l < layers; l++) {
    yield;
    const layerStart = l * heads * size;
    for (let i = 0; i < n;) {
      const a = owner[i];
      let last = i + 1;
      while (last < n && owner[last] === a) last++;
      if (a >= 0) {
        row.fill(0);
        for (let r = i; r < last; r++) {
          const rowStart = layerStart + r * n;
          headSum.set(source.subarray(rowStart, rowStart + n));
          for (let h = 1; h < heads - 1; h++)
            for (let j = 0, x = rowStart + h * size; j < n; j++, x++) headSum[j] += source[x];
          if (heads === 1) {
            for (let j = 0; j < n; j++) if (owner[j] >= 0) row[owner[j]] += headSum[j];
            continue;
          }
          for (let j = 0, x = rowStart + (heads - 1) * size; j < n; j++, x++) {
            const b = owner[j];
            if (b >= 0) row[b] += round(round(headSum[j] + source[x]) / heads);
          }
        }
        const scale = inverseCount[a];
        for (let b = 0, x = l * m * m + a * m; b < m; b++, x++) data[x] += row[b] * scale * columnScale[b];
      }
      i = last;
    }
  }
  return { data, shape: [layers, 1, m, m] };
}

/** Windows whose `tokenAttention` is aligned on first read, and the tensor once it has been. */
const lazyWindows = new WeakSet<object>();
const everyHead = new WeakMap<object, Tensor>();

/**
 * Gives a window its code-token attention: `layerAttention` (head means) now, and
 * `tokenAttention` (every head, the largest tensor and the costliest alignment) as a property
 * aligned on first read — the hover and the per-layer scores do not need it.
 */
export function withTokenAttention<W extends SubwordWindow & { subwordAttention: Tensor; valueNorms?: Tensor }>(
  window: W,
  rule: PairRule,
): W & AnalyzedWindow {
  const aligned = Object.assign(window, { layerAttention: alignLayerMeans(window.subwordAttention, window, rule) });
  Object.defineProperty(aligned, 'tokenAttention', {
    enumerable: true,
    configurable: true,
    get() {
      let tensor = everyHead.get(aligned);
      if (!tensor) everyHead.set(aligned, (tensor = alignAttention(window.subwordAttention, window, rule)));
      return tensor;
    },
  });
  lazyWindows.add(aligned);
  return aligned as W & AnalyzedWindow;
}

/** One head's m×m code-token attention: a view of `tokenAttention` once aligned, else that head aligned alone. */
export function headTokenMatrix(window: AnalyzedWindow, layer: number, head: number, rule: PairRule): Float32Array {
  if (!lazyWindows.has(window) || everyHead.has(window)) return headMatrix(window.tokenAttention, layer, head);
  const [, heads, n] = window.subwordAttention.shape;
  return alignMatrix(window.subwordAttention.data, n, window, rule, (layer * heads + head) * n * n);
}

/** Mean over heads of one layer of a [layers, heads, k, k] tensor, as a k×k matrix. */
export function meanOverHeads(tensor: Tensor, layer: number): Float32Array {
  const k = tensor.shape[2];
  return meanOverHeadsInto(new Float32Array(k * k), tensor, layer);
}

/** {@link meanOverHeads} into `mean` (k×k), which it overwrites. */
export function meanOverHeadsInto(mean: Float32Array, tensor: Tensor, layer: number): Float32Array {
  const [, heads, k] = tensor.shape;
  const size = k * k;
  mean.fill(0);
  for (let h = 0; h < heads; h++) {
    const offset = (layer * heads + h) * size;
    for (let x = 0; x < size; x++) mean[x] += tensor.data[offset + x];
  }
  for (let x = 0; x < size; x++) mean[x] /= heads;
  return mean;
}

/** One head's k×k matrix of a [layers, heads, k, k] tensor (a view, not a copy). */
export function headMatrix(tensor: Tensor, layer: number, head: number): Float32Array {
  const [, heads, k] = tensor.shape;
  const size = k * k;
  const offset = (layer * heads + head) * size;
  return tensor.data.subarray(offset, offset + size);
}
