import { meanOverHeads } from '../alignment';
import type { Tensor } from '../types';

/**
 * Residual-augmented attention of one layer (Abnar & Zuidema 2020): Â = 0.5·Ā + 0.5·I, with Ā
 * the mean over heads, rows renormalised to sum to 1. Returns an n×n row-major matrix.
 */
export function residualAttention(attentions: Tensor, layer: number): Float64Array {
  const n = attentions.shape[2];
  const mean = meanOverHeads(attentions, layer);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const value = 0.5 * mean[i * n + j] + (i === j ? 0.5 : 0);
      out[i * n + j] = value;
      sum += value;
    }
    if (sum > 0) for (let j = 0; j < n; j++) out[i * n + j] /= sum;
  }
  return out;
}

/**
 * Attention rollout (Abnar & Zuidema 2020): R_l = Â_l · Â_{l−1} · … · Â_0, multiplied from the
 * input up. R_l[i][j] is how much of position i at the output of layer l comes from input j.
 * Returns one n×n matrix per layer (index l = rollout through layers 0..l).
 */
export function attentionRollout(attentions: Tensor, options: { causal?: boolean } = {}): Float64Array[] {
  const [layers, , n] = attentions.shape;
  // Causal attention is lower-triangular, and so is every product of it: the upper triangle is skipped.
  const causal = options.causal === true;
  const rollouts: Float64Array[] = [];
  let previous: Float64Array | undefined;
  for (let l = 0; l < layers; l++) {
    const current = residualAttention(attentions, l);
    if (!previous) {
      rollouts.push(current);
      previous = current;
      continue;
    }
    const product = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let k = 0, kEnd = causal ? i + 1 : n; k < kEnd; k++) {
        const weight = current[i * n + k];
        if (weight === 0) continue;
        const row = k * n;
        const out = i * n;
        for (let j = 0, jEnd = causal ? k + 1 : n; j < jEnd; j++) product[out + j] += weight * previous[row + j];
      }
    }
    rollouts.push(product);
    previous = product;
  }
  return rollouts;
}
