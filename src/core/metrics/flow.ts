import type { Tensor } from '../types';
import { residualAttention } from './rollout';

/**
 * Beyond this many layers × subwords, flow is refused with a message instead of run. Measured per
 * focus subword with src/bench/flowBench.ts on a busy 2-core machine: 12–15 ms at 12 × 128 and
 * 50–70 ms at 12 × 256 on CodeBERT-shaped attention (0.25–0.3 s at 12 × 512), 0.35–0.5 s at
 * 12 × 256 for synthetic previous-token and <s> heads, the hardest pattern found. The time budget
 * bounds the rest.
 */
export const MAX_FLOW_CELLS = 12 * 256;
export const DEFAULT_FLOW_TIME_BUDGET_MS = 2_000;

export class FlowTooLargeError extends Error {}

/**
 * Attention flow (Abnar & Zuidema 2020) for one output position: the maximum flow from node
 * (layer L, `focus`) to each input node (layer 0, j) in the layered graph whose edges go from
 * position i in layer l+1 to position j in layer l with capacity Â_l[i][j] (residual-augmented
 * attention, see rollout.ts). Returns one value per input position. The layers up to `layer` are
 * used (default: all).
 *
 * The reference solves each pair with a general max-flow library on an explicit graph; here each
 * pair is an exact max-flow on the implicit dense layered graph (see `LayeredMaxFlow`).
 */
export function attentionFlow(
  attentions: Tensor,
  focus: number,
  options: { layer?: number; timeBudgetMs?: number } = {},
): Float64Array {
  const [layers, , n] = attentions.shape;
  const top = (options.layer ?? layers - 1) + 1;
  checkFlowSize(top, n);
  const solver = solverFor(attentions, top);
  const budget = options.timeBudgetMs ?? DEFAULT_FLOW_TIME_BUDGET_MS;
  const deadline = Date.now() + budget;
  const result = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    if (Date.now() > deadline) throw tooSlow(budget);
    result[j] = solver.maxFlow(focus, j);
  }
  return result;
}

/**
 * Attention flow between code tokens: for each group of input positions (the subwords of one code
 * token), the maximum flow from the focus token's subwords at the top layer (one super-source) into
 * that group at layer 0 (one super-sink). This is a flow in the graph's own sense, unlike a mean or
 * sum of per-subword flows: a 19-subword token cannot receive more than the focus can send.
 */
export function tokenFlow(
  attentions: Tensor,
  focusSubwords: readonly number[],
  groups: ReadonlyArray<readonly number[]>,
  options: { layer?: number; timeBudgetMs?: number } = {},
): Float64Array {
  const [layers, , n] = attentions.shape;
  const top = (options.layer ?? layers - 1) + 1;
  checkFlowSize(top, n);
  const solver = solverFor(attentions, top);
  const budget = options.timeBudgetMs ?? DEFAULT_FLOW_TIME_BUDGET_MS;
  const deadline = Date.now() + budget;
  const result = new Float64Array(groups.length);
  groups.forEach((group, index) => {
    if (Date.now() > deadline) throw tooSlow(budget);
    result[index] = group.length && focusSubwords.length ? solver.maxFlowBetween(focusSubwords, group) : 0;
  });
  return result;
}

function checkFlowSize(top: number, n: number): void {
  if (top * n <= MAX_FLOW_CELLS) return;
  const shape = `this window has ${top} × ${n}`;
  throw new FlowTooLargeError(
    `Attention flow is limited to ${MAX_FLOW_CELLS} layer × subword cells (${shape}); use rollout, ` +
      `or analyse a smaller selection.`,
  );
}

const tooSlow = (budget: number) =>
  new FlowTooLargeError(`Attention flow took longer than ${budget} ms; use rollout for this window.`);

/**
 * One solver per attention tensor (for the last layer count asked): a hovered token's subwords, and
 * the next hovered token in the same window, reuse its residual attention (the solver holds
 * 2·K·n² + n² doubles). Attention tensors are never written after the analysis, so the cached
 * capacities stay valid while the tensor lives.
 */
const solvers = new WeakMap<Tensor, { top: number; solver: LayeredMaxFlow }>();

function solverFor(attentions: Tensor, top: number): LayeredMaxFlow {
  const cached = solvers.get(attentions);
  if (cached?.top === top) return cached.solver;
  const capacities = Array.from({ length: top }, (_, l) => residualAttention(attentions, l));
  const solver = new LayeredMaxFlow(capacities, attentions.shape[2]);
  solvers.set(attentions, { top, solver });
  return solver;
}

const EPSILON = 1e-12;

/**
 * Exact max-flow on a layered graph with `capacities.length + 1` node layers of n nodes: node
 * (k, i) for k = 1..K has an arc to every (k − 1, j) with capacity capacities[k − 1][i·n + j].
 * Source is (K, source), sink is (0, sink). Dinic's algorithm, shaped by what attention graphs are
 * like (measured on real attention with src/bench/flowBench.ts):
 *
 * - Layer 0 is collapsed into the sink: the other layer-0 nodes are dead ends, so a layer-1 node
 *   has one arc, to the sink, with capacity capacities[0][i·n + sink].
 * - The first level graph is the layered graph itself (every source–sink path has K arcs), so
 *   the first phase needs no BFS; in it, blocked nodes are skipped in O(1) amortised (a union-find
 *   over each layer's positions) instead of being re-scanned by every node above them.
 * - Arcs are tried diagonal first: the residual connection makes Â[i][i] ≥ 0.5, so most of the
 *   flow goes straight down and far fewer augmenting calls are needed.
 * - The flow cannot exceed min(capacity out of the source, capacity into the sink); the search
 *   stops as soon as it gets there, which proves optimality without a final BFS. On real
 *   attention the minimum cut is at the source or at the sink for almost every pair, and the first
 *   phase alone reaches it.
 * - Otherwise further Dinic phases (BFS levels over the residual graph, cancelling arcs included)
 *   run until the sink is unreachable, so the answer is exact in every case.
 * - Flows are kept in one flat array, and only the cells written by the previous pair are cleared.
 *
 * Highest-label push-relabel (exact labels from the layering, gap heuristic) was 5–20× slower on
 * the same inputs: it pushes excess down before knowing it can reach the sink and pays in relabels.
 * A warm start from the previous sink's flow would need BFS phases over the residual graph, each
 * costing more than a whole first phase.
 */
export class LayeredMaxFlow {
  private readonly K: number;
  private readonly capacity: Float64Array;
  private readonly flow: Float64Array;
  /** Layer 0 transposed: the capacities into input j are row j. */
  private readonly intoInput: Float64Array;
  private sinkCapacity: Float64Array;
  /** The capacities into a set of input positions merged into one sink (see maxFlowBetween). */
  private readonly mergedSink: Float64Array;
  private readonly sinkFlow: Float64Array;
  /** Current arc per node; nodes (k, i), k = 1..K, have index (k − 1)·n + i. */
  private readonly arc: Int32Array;
  /** First phase: per layer, n + 1 slots; open[x] = x while a node is not blocked, else a later slot. */
  private readonly open: Int32Array;
  private readonly allOpen: Int32Array;
  /** Later phases: BFS distance from the source (−1: unreached or blocked). */
  private readonly level: Int32Array;
  private readonly queue: Int32Array;
  private sinkLevel = 0;
  private written: Int32Array;
  private writtenCount = 0;
  /** Phases the last `maxFlow` ran (1: the first, BFS-free phase was enough). */
  phases = 0;

  constructor(
    capacities: Float64Array[],
    private readonly n: number,
  ) {
    this.K = capacities.length;
    const cells = n * n;
    this.capacity = new Float64Array(this.K * cells);
    capacities.forEach((layer, k) => this.capacity.set(layer.subarray(0, cells), k * cells));
    this.flow = new Float64Array(this.K * cells);
    this.intoInput = new Float64Array(cells);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) this.intoInput[j * n + i] = this.capacity[i * n + j];
    this.sinkCapacity = this.intoInput.subarray(0, n);
    this.sinkFlow = new Float64Array(n);
    this.mergedSink = new Float64Array(n);
    this.arc = new Int32Array(this.K * n);
    this.allOpen = Int32Array.from({ length: this.K * (n + 1) }, (_, x) => x);
    this.open = new Int32Array(this.K * (n + 1));
    this.level = new Int32Array(this.K * n);
    this.queue = new Int32Array(this.K * n);
    this.written = new Int32Array(4 * this.K * n);
  }

  maxFlow(source: number, sink: number): number {
    return this.maxFlowBetween([source], [sink]);
  }

  /**
   * Max-flow from a set of top-layer positions (one super-source joined to each by an arc of
   * unbounded capacity) to a set of input positions (merged into one super-sink). Merging is exact
   * because every layer-0 node is a dead end except through the sink: a layer-1 node's capacity
   * into the merged sink is the sum of its capacities into the set. The first phase pushes from
   * each source in turn over the same level graph (one blocking flow of the super-source), and
   * later phases start their BFS from all sources.
   */
  maxFlowBetween(sources: readonly number[], sinks: readonly number[]): number {
    const n = this.n;
    const K = this.K;
    const flow = this.flow;
    for (let w = 0; w < this.writtenCount; w++) flow[this.written[w]] = 0;
    this.writtenCount = 0;
    this.sinkFlow.fill(0);
    if (sinks.length === 1) this.sinkCapacity = this.intoInput.subarray(sinks[0] * n, sinks[0] * n + n);
    else {
      const merged = this.mergedSink.fill(0);
      for (const sink of sinks) for (let i = 0, cell = sink * n; i < n; i++, cell++) merged[i] += this.intoInput[cell];
      this.sinkCapacity = merged;
    }
    let intoSink = 0;
    for (let i = 0; i < n; i++) intoSink += this.sinkCapacity[i];
    let outOfSources = 0;
    for (const source of new Set(sources)) {
      if (K === 1) outOfSources += this.sinkCapacity[source];
      else
        for (let cell = ((K - 1) * n + source) * n, end = cell + n; cell < end; cell++)
          outOfSources += this.capacity[cell];
    }
    const bound = Math.min(intoSink, outOfSources);
    const starts = [...new Set(sources)].map((source) => (K - 1) * n + source);

    this.arc.fill(0);
    this.open.set(this.allOpen);
    let total = 0;
    for (const s of starts) {
      if (bound - total <= EPSILON) break;
      total += this.pushDown(s, bound - total);
    }
    this.phases = 1;
    while (bound - total > EPSILON && this.buildLevels(starts)) {
      this.arc.fill(0);
      this.phases++;
      let pushed = 0;
      for (const s of starts) {
        if (bound - total - pushed <= EPSILON) break;
        pushed += this.pushResidual(s, bound - total - pushed);
      }
      if (pushed <= EPSILON) break;
      total += pushed;
    }
    return total;
  }

  private addFlow(cell: number, amount: number): void {
    if (this.flow[cell] === 0) {
      if (this.writtenCount === this.written.length) {
        const grown = new Int32Array(this.written.length * 2);
        grown.set(this.written);
        this.written = grown;
      }
      this.written[this.writtenCount++] = cell;
    }
    this.flow[cell] += amount;
  }

  /**
   * First phase: blocking-flow DFS over the layered graph (downward arcs only), pushing up to
   * `limit` from node v. arc[v] = 0: the diagonal is next; arc[v] = p > 0: position p − 1 is next.
   */
  private pushDown(v: number, limit: number): number {
    const n = this.n;
    const layer = (v / n) | 0;
    const i = v - layer * n;
    if (layer === 0) {
      const residual = this.sinkCapacity[i] - this.sinkFlow[i];
      const amount = residual < limit ? residual : limit;
      if (residual - amount <= EPSILON) this.open[i] = i + 1;
      if (amount <= EPSILON) return 0;
      this.sinkFlow[i] += amount;
      return amount;
    }
    const capacity = this.capacity;
    const flow = this.flow;
    const open = this.open;
    const arc = this.arc;
    const below = v - n - i;
    const base = (layer - 1) * (n + 1);
    const row = v * n;
    let total = 0;
    if (arc[v] === 0) {
      const cell = row + i;
      const residual = capacity[cell] - flow[cell];
      if (residual > EPSILON && open[base + i] === base + i) {
        const pushed = this.pushDown(below + i, residual < limit ? residual : limit);
        if (pushed > 0) {
          this.addFlow(cell, pushed);
          total = pushed;
          if (limit - total <= EPSILON) return total;
        }
      }
      arc[v] = 1;
    }
    for (let j = arc[v] - 1; ; j++) {
      let x = base + j;
      while (open[x] !== x) x = open[x] = open[open[x]];
      j = x - base;
      if (j === i) continue;
      if (j >= n) break;
      const cell = row + j;
      const residual = capacity[cell] - flow[cell];
      if (residual <= EPSILON) continue;
      const want = limit - total;
      const pushed = this.pushDown(below + j, residual < want ? residual : want);
      if (pushed > 0) {
        this.addFlow(cell, pushed);
        total += pushed;
        if (limit - total <= EPSILON) {
          arc[v] = j + 1;
          return total;
        }
      }
    }
    open[base + n + 1 + i] = base + n + 1 + i + 1;
    return total;
  }

  /** BFS distances from the sources over the residual graph; true when the sink is reachable. */
  private buildLevels(sources: readonly number[]): boolean {
    const n = this.n;
    const cells = n * n;
    const K = this.K;
    const level = this.level;
    const queue = this.queue;
    const capacity = this.capacity;
    const flow = this.flow;
    level.fill(-1);
    let head = 0;
    let tail = 0;
    for (const s of sources) {
      queue[tail++] = s;
      level[s] = 0;
    }
    let sinkLevel = -1;
    while (head < tail) {
      const v = queue[head++];
      const layer = (v / n) | 0;
      const i = v - layer * n;
      const next = level[v] + 1;
      if (sinkLevel >= 0 && next > sinkLevel) break;
      if (layer === 0) {
        if (sinkLevel < 0 && this.sinkCapacity[i] - this.sinkFlow[i] > EPSILON) sinkLevel = next;
      } else {
        const below = v - n - i;
        for (let j = 0, cell = v * n; j < n; j++, cell++) {
          if (level[below + j] >= 0 || capacity[cell] - flow[cell] <= EPSILON) continue;
          level[below + j] = next;
          queue[tail++] = below + j;
        }
      }
      if (layer < K - 1) {
        const above = (layer + 1) * n;
        for (let j = 0, cell = (layer + 1) * cells + i; j < n; j++, cell += n) {
          if (level[above + j] >= 0 || flow[cell] <= EPSILON) continue;
          level[above + j] = next;
          queue[tail++] = above + j;
        }
      }
    }
    this.sinkLevel = sinkLevel;
    return sinkLevel >= 0;
  }

  /**
   * Later phases: blocking-flow DFS in the level graph of the residual graph. arc[v] in [0, n):
   * downward arcs (for layer 1 only 0, the sink); in [n, 2n): cancelling arcs up to (k + 1, j).
   */
  private pushResidual(v: number, limit: number): number {
    const n = this.n;
    const layer = (v / n) | 0;
    const i = v - layer * n;
    const level = this.level;
    const arc = this.arc;
    const flow = this.flow;
    const next = level[v] + 1;
    let total = 0;
    if (layer === 0) {
      if (arc[v] === 0 && next === this.sinkLevel) {
        const residual = this.sinkCapacity[i] - this.sinkFlow[i];
        const amount = residual < limit ? residual : limit;
        if (amount > EPSILON) {
          this.sinkFlow[i] += amount;
          total = amount;
          if (limit - total <= EPSILON) return total;
        }
      }
      if (arc[v] < n) arc[v] = n;
    } else if (arc[v] < n) {
      const capacity = this.capacity;
      const below = v - n - i;
      const row = v * n;
      for (let j = arc[v]; j < n; j++) {
        if (level[below + j] !== next) continue;
        const cell = row + j;
        const residual = capacity[cell] - flow[cell];
        if (residual <= EPSILON) continue;
        const want = limit - total;
        const pushed = this.pushResidual(below + j, residual < want ? residual : want);
        if (pushed > 0) {
          this.addFlow(cell, pushed);
          total += pushed;
          if (limit - total <= EPSILON) {
            arc[v] = j;
            return total;
          }
        }
      }
      arc[v] = n;
    }
    if (layer < this.K - 1) {
      const above = v + n - i;
      for (let j = arc[v] - n; j < n; j++) {
        if (level[above + j] !== next) continue;
        const cell = (above + j) * n + i;
        const residual = flow[cell];
        if (residual <= EPSILON) continue;
        const want = limit - total;
        const pushed = this.pushResidual(above + j, residual < want ? residual : want);
        if (pushed > 0) {
          flow[cell] -= pushed;
          total += pushed;
          if (limit - total <= EPSILON) {
            arc[v] = n + j;
            return total;
          }
        }
      }
    }
    arc[v] = 2 * n;
    level[v] = -1;
    return total;
  }
}
