import type { Tensor } from '../types';
import { residualAttention } from './rollout';

/** Beyond this many subwords × layers, flow is refused with a message instead of run. */
export const MAX_FLOW_CELLS = 12 * 128;
export const DEFAULT_FLOW_TIME_BUDGET_MS = 2_000;

export class FlowTooLargeError extends Error {}

/**
 * Attention flow (Abnar & Zuidema 2020) for one output position: the maximum flow from node
 * (layer L, `focus`) to each input node (layer 0, j) in the layered graph whose edges go from
 * position i in layer l+1 to position j in layer l with capacity Â_l[i][j] (residual-augmented
 * attention, see rollout.ts). Returns one value per input position.
 *
 * The reference solves each pair with a general max-flow library on an explicit graph. Here the
 * graph stays implicit (dense layers as typed arrays) and each pair is solved with Dinic's
 * algorithm: BFS levels over the residual graph, then blocking flow by DFS with current-arc
 * pointers. The layers up to `layer` are used (default: all).
 */
export function attentionFlow(attentions: Tensor, focus: number, options: { layer?: number; timeBudgetMs?: number } = {}): Float64Array {
  const [layers, , n] = attentions.shape;
  const top = (options.layer ?? layers - 1) + 1;
  if (top * n > MAX_FLOW_CELLS) {
    throw new FlowTooLargeError(`Attention flow is limited to ${MAX_FLOW_CELLS} layer × subword cells (this window has ${top} × ${n}); use rollout, or analyse a smaller selection.`);
  }
  const capacities = Array.from({ length: top }, (_, l) => residualAttention(attentions, l));
  const solver = new LayeredMaxFlow(capacities, n);
  const deadline = Date.now() + (options.timeBudgetMs ?? DEFAULT_FLOW_TIME_BUDGET_MS);
  const result = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    if (Date.now() > deadline) throw new FlowTooLargeError(`Attention flow took longer than ${options.timeBudgetMs ?? DEFAULT_FLOW_TIME_BUDGET_MS} ms; use rollout for this window.`);
    result[j] = solver.maxFlow(focus, j);
  }
  return result;
}

const EPSILON = 1e-12;

/**
 * Max-flow on a layered graph with `layers.length + 1` node layers of n nodes. Node (k, i) for
 * k = 1..K has edges to every (k − 1, j) with capacity layers[k − 1][i·n + j]. Source is
 * (K, source), sink is (0, sink).
 */
export class LayeredMaxFlow {
  private readonly flows: Float64Array[];
  private readonly level: Int32Array;
  private readonly K: number;
  private readonly queue: Int32Array;
  private readonly arc: Int32Array;

  constructor(
    private readonly capacities: Float64Array[],
    private readonly n: number,
  ) {
    this.K = capacities.length;
    this.flows = capacities.map(() => new Float64Array(n * n));
    this.level = new Int32Array((this.K + 1) * n);
    this.queue = new Int32Array((this.K + 1) * n);
    this.arc = new Int32Array((this.K + 1) * n);
  }

  maxFlow(source: number, sink: number): number {
    for (const flow of this.flows) flow.fill(0);
    const s = this.K * this.n + source;
    const t = sink;
    let total = 0;
    while (this.buildLevels(s, t)) {
      this.arc.fill(0);
      const pushed = this.push(s, t, Infinity);
      if (pushed <= EPSILON) break;
      total += pushed;
    }
    return total;
  }

  private buildLevels(s: number, t: number): boolean {
    const n = this.n;
    const level = this.level;
    const queue = this.queue;
    level.fill(-1);
    let head = 0;
    let tail = 0;
    queue[tail++] = s;
    level[s] = 0;
    while (head < tail) {
      const v = queue[head++];
      const k = (v / n) | 0;
      const i = v - k * n;
      const next = level[v] + 1;
      if (k > 0) {
        const capacity = this.capacities[k - 1];
        const flow = this.flows[k - 1];
        const below = (k - 1) * n;
        for (let j = 0, cell = i * n; j < n; j++, cell++) {
          if (level[below + j] >= 0 || capacity[cell] - flow[cell] <= EPSILON) continue;
          level[below + j] = next;
          queue[tail++] = below + j;
        }
      }
      if (k < this.K) {
        const flow = this.flows[k];
        const above = (k + 1) * n;
        for (let j = 0, cell = i; j < n; j++, cell += n) {
          if (level[above + j] >= 0 || flow[cell] <= EPSILON) continue;
          level[above + j] = next;
          queue[tail++] = above + j;
        }
      }
    }
    return level[t] >= 0;
  }

  /**
   * Blocking-flow DFS that pushes as much as it can through v before returning (multi-push).
   * Arcs 0..n−1 go down to (k − 1, j) with residual c − f; arcs n..2n−1 go up to (k + 1, j)
   * with residual f (cancelling flow).
   */
  private push(v: number, t: number, limit: number): number {
    if (v === t) return limit;
    const n = this.n;
    const k = (v / n) | 0;
    const i = v - k * n;
    const level = this.level;
    const next = level[v] + 1;
    let total = 0;
    if (this.arc[v] < n && k > 0) {
      const capacity = this.capacities[k - 1];
      const flow = this.flows[k - 1];
      const below = (k - 1) * n;
      for (let j = this.arc[v]; j < n; j++, this.arc[v] = j) {
        const cell = i * n + j;
        const residual = capacity[cell] - flow[cell];
        if (residual <= EPSILON || level[below + j] !== next) continue;
        const pushed = this.push(below + j, t, Math.min(limit - total, residual));
        if (pushed > EPSILON) {
          flow[cell] += pushed;
          total += pushed;
          if (limit - total <= EPSILON) return total;
        }
      }
    }
    if (this.arc[v] < n) this.arc[v] = n;
    if (k < this.K) {
      const flow = this.flows[k];
      const above = (k + 1) * n;
      for (let j = this.arc[v] - n; j < n; j++, this.arc[v] = n + j) {
        const cell = j * n + i;
        const residual = flow[cell];
        if (residual <= EPSILON || level[above + j] !== next) continue;
        const pushed = this.push(above + j, t, Math.min(limit - total, residual));
        if (pushed > EPSILON) {
          flow[cell] -= pushed;
          total += pushed;
          if (limit - total <= EPSILON) return total;
        }
      }
    }
    this.arc[v] = 2 * n;
    return total;
  }
}
