import type { Tensor } from '../types';
import { assertCausal, cropPositions } from './causal';
import { attentionFlow, tokenFlow } from './flow';
import { attentionRollout } from './rollout';

/**
 * Rollout and flow for causal attention. Both are defined as for an encoder (rollout.ts, flow.ts:
 * Â = 0.5·Ā + 0.5·I per layer, rows renormalised), and both stay causal: a product of lower
 * triangular matrices is lower triangular, and in the layered flow graph every edge goes from
 * position i to some j ≤ i, so position i can reach only positions ≤ i in any lower layer.
 *
 * What that buys: rollout's product needs only k in [j, i] (about a sixth of the dense work), and
 * the flow out of position f is computed exactly on the first f + 1 positions alone, so flow runs
 * for early positions of windows larger than flow's size limit. Position 0 can only keep all of
 * its mass (row 0 of every rollout is [1, 0, …]); under causal attention rollout and flow drift to
 * the first positions, where the attention sink already sits: read them with the sink report
 * (causalSinks.ts), or on attention with the sink hidden.
 */
export function causalRollout(attentions: Tensor): Float64Array[] {
  assertCausal(attentions);
  return attentionRollout(attentions, { causal: true });
}

/** Attention flow from `focus` at the top layer to each input position (0 after `focus`). */
export function causalAttentionFlow(
  attentions: Tensor,
  focus: number,
  options: { layer?: number; timeBudgetMs?: number } = {},
): Float64Array {
  assertCausal(attentions);
  const n = attentions.shape[2];
  const result = new Float64Array(n);
  result.set(attentionFlow(cropPositions(attentions, focus + 1), focus, options));
  return result;
}

/** {@link tokenFlow} on causal attention: computed on the positions up to the focus token's last subword. */
export function causalTokenFlow(
  attentions: Tensor,
  focusSubwords: readonly number[],
  groups: ReadonlyArray<readonly number[]>,
  options: { layer?: number; timeBudgetMs?: number } = {},
): Float64Array {
  assertCausal(attentions);
  const size = Math.max(...focusSubwords) + 1;
  const reachable = groups.map((group) => group.filter((position) => position < size));
  return tokenFlow(cropPositions(attentions, size), focusSubwords, reachable, options);
}
