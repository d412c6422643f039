import type { Tensor } from '../types';

/**
 * What the causal metrics share. A decoder's attention is causal: position i attends only to
 * positions j ≤ i (its row's *support*), so every attention matrix is lower triangular and row i has
 * i + 1 positions to choose from, not n. Metrics written for an encoder's n × n support would count
 * the structurally zero upper triangle as "low attention" and compare each row with columns it could
 * never reach; the causal metrics (causalCat.ts, causalDataFlow.ts, causalFlow.ts, causalSinks.ts)
 * work on the support only.
 */
export class NotCausalError extends Error {}

/** Largest weight a causal matrix may put above its diagonal (float32 softmax of −inf is exactly 0). */
export const CAUSAL_TOLERANCE = 1e-6;

/**
 * Throws {@link NotCausalError} naming the first weight above the diagonal of a [layers, heads, n, n]
 * tensor (or of an n × n matrix, given as a tensor of shape [n, n]).
 */
export function assertCausal(attention: Tensor, tolerance = CAUSAL_TOLERANCE): void {
  const n = attention.shape[attention.shape.length - 1];
  const matrices = attention.data.length / (n * n);
  const heads = attention.shape.length === 4 ? attention.shape[1] : 1;
  for (let matrix = 0; matrix < matrices; matrix++) {
    const base = matrix * n * n;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const weight = attention.data[base + i * n + j];
        if (!(Math.abs(weight) <= tolerance)) {
          const where =
            attention.shape.length === 4 ? `layer ${Math.floor(matrix / heads)} head ${matrix % heads}` : '';
          throw new NotCausalError(
            `This attention is not causal: ${where} row ${i} puts ${weight} on the later position ${j}. ` +
              "Causal metrics need a decoder's attention; score an encoder with the CAT-score and data-flow reports.",
          );
        }
      }
    }
  }
}

/** The first `size` positions of a [layers, heads, n, n] tensor: what positions < size see of each other. */
export function cropPositions(attention: Tensor, size: number): Tensor {
  const [layers, heads, n] = attention.shape;
  if (size >= n) return attention;
  const data = new Float32Array(layers * heads * size * size);
  for (let matrix = 0; matrix < layers * heads; matrix++) {
    for (let i = 0; i < size; i++) {
      const from = matrix * n * n + i * n;
      data.set(attention.data.subarray(from, from + size), matrix * size * size + i * size);
    }
  }
  return { data, shape: [layers, heads, size, size] };
}
