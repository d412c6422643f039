import type { PairRule, SubwordWindow, Tensor } from './types';

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
export function alignMatrix(subwordMatrix: Float32Array, n: number, window: SubwordWindow, rule: PairRule, offset = 0): Float32Array {
  const m = window.tokenEnd - window.tokenStart;
  const result = new Float32Array(m * m);
  alignInto(result, 0, subwordMatrix, offset, n, window, subwordCounts(n, window), rule, new Float64Array(m * m));
  return result;
}

/** Subwords per code token of the window (window-local token index). */
function subwordCounts(n: number, window: SubwordWindow): Float64Array {
  const counts = new Float64Array(window.tokenEnd - window.tokenStart);
  for (let s = 0; s < n; s++) if (window.tokenOfSubword[s] >= 0) counts[window.tokenOfSubword[s] - window.tokenStart]++;
  return counts;
}

/** Aligns one n×n subword matrix (at `offset`) into `out` (at `outOffset`), reusing `scratch` (m×m). */
function alignInto(out: Float32Array, outOffset: number, subwordMatrix: Float32Array, offset: number, n: number, window: SubwordWindow, counts: Float64Array, rule: PairRule, scratch: Float64Array): void {
  const m = window.tokenEnd - window.tokenStart;
  const owner = window.tokenOfSubword;
  scratch.fill(0);
  for (let i = 0; i < n; i++) {
    const a = owner[i];
    if (a < 0) continue;
    const row = offset + i * n;
    const base = (a - window.tokenStart) * m - window.tokenStart;
    for (let j = 0; j < n; j++) {
      const b = owner[j];
      if (b >= 0) scratch[base + b] += subwordMatrix[row + j];
    }
  }
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) {
      const divisor = rule === 'mean' ? counts[a] * counts[b] : counts[a];
      out[outOffset + a * m + b] = divisor > 0 ? scratch[a * m + b] / divisor : 0;
    }
  }
}

/** Aligns every layer and head of a [layers, heads, n, n] tensor: [layers, heads, m, m]. */
export function alignAttention(attentions: Tensor, window: SubwordWindow, rule: PairRule): Tensor {
  const [layers, heads, n] = attentions.shape;
  const m = window.tokenEnd - window.tokenStart;
  const data = new Float32Array(layers * heads * m * m);
  const counts = subwordCounts(n, window);
  const scratch = new Float64Array(m * m);
  for (let index = 0; index < layers * heads; index++) alignInto(data, index * m * m, attentions.data, index * n * n, n, window, counts, rule, scratch);
  return { data, shape: [layers, heads, m, m] };
}

/** Mean over heads of one layer of a [layers, heads, k, k] tensor, as a k×k matrix. */
export function meanOverHeads(tensor: Tensor, layer: number): Float32Array {
  const [, heads, k] = tensor.shape;
  const size = k * k;
  const mean = new Float32Array(size);
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
