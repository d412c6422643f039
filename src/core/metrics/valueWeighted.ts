import type { Tensor } from '../types';

/**
 * Value-weighted attention per head (Kobayashi et al. 2020): α_ij · ‖f(x_j)‖, where ‖f(x_j)‖ is the norm of
 * token j's value vector after the head's slice of the output projection (the model's
 * `value_norms` output). Returned for one layer and head, or averaged over heads when `head` is
 * undefined, as an n×n matrix. With `normalize`, each row is rescaled to sum to 1 so that views
 * compare with plain attention; the raw products are what the definition gives.
 */
export function valueWeightedAttention(
  attentions: Tensor,
  valueNorms: Tensor,
  layer: number,
  head?: number,
  normalize = true,
): Float64Array {
  const [, heads, n] = attentions.shape;
  const out = new Float64Array(n * n);
  const selected = head === undefined ? Array.from({ length: heads }, (_, h) => h) : [head];
  for (const h of selected) {
    const attentionBase = (layer * heads + h) * n * n;
    const normBase = (layer * heads + h) * n;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++)
        out[i * n + j] +=
          (attentions.data[attentionBase + i * n + j] * valueNorms.data[normBase + j]) / selected.length;
    }
  }
  if (normalize) {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += out[i * n + j];
      if (sum > 0) for (let j = 0; j < n; j++) out[i * n + j] /= sum;
    }
  }
  return out;
}

/**
 * Layer-level value-weighted attention (Kobayashi et al. 2020): ‖Σ_h α_h(i, j) f_h(x_j)‖, the norm of what token j
 * adds to token i's output of the layer's attention over all heads together, with f_h(x) = (x W_V^h + b_V^h) W_O^h
 * (b_O is left out: it does not depend on j). Heads that write in opposite directions cancel here, unlike in the
 * mean over heads of α_h‖f_h(x_j)‖. Computed exactly from the model's `value_gram` output,
 * ‖Σ_h α_h f_h(x_j)‖² = α(i, j)ᵀ G_j α(i, j) with G_j[h, h'] = <f_h(x_j), f_h'(x_j)>. An n×n matrix; with
 * `normalize`, each row is rescaled to sum to 1, as in the other views.
 */
export function layerValueWeightedAttention(
  attentions: Tensor,
  valueGram: Tensor,
  layer: number,
  normalize = true,
): Float64Array {
  const [, heads, n] = attentions.shape;
  const out = new Float64Array(n * n);
  const weights = new Float64Array(heads);
  const perToken = heads * heads;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      for (let h = 0; h < heads; h++) weights[h] = attentions.data[((layer * heads + h) * n + i) * n + j];
      const gram = (layer * n + j) * perToken;
      let squared = 0;
      for (let h = 0; h < heads; h++) {
        let row = 0;
        for (let g = 0; g < heads; g++) row += valueGram.data[gram + h * heads + g] * weights[g];
        squared += weights[h] * row;
      }
      // A Gram matrix is positive semi-definite; rounding can leave a tiny negative square.
      out[i * n + j] = Math.sqrt(Math.max(0, squared));
    }
  }
  if (normalize) {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += out[i * n + j];
      if (sum > 0) for (let j = 0; j < n; j++) out[i * n + j] /= sum;
    }
  }
  return out;
}
