import type { Tensor } from '../types';

/**
 * Value-weighted attention (Kobayashi et al. 2020): α_ij · ‖f(x_j)‖, where ‖f(x_j)‖ is the norm of
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
