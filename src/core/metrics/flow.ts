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
 * - Those later phases touch only what can be in the level graph: the BFS skips nodes that already have a level
 *   (union-find, as in the first phase) and follows cancelling arcs from a per-node list of the arcs that carry
 *   flow; the DFS scans, per node, the positions of the next level in increasing order and its cancelling arcs
 *   collected once per phase. Through an intermediate top layer the minimum cut is usually inside the graph, so
 *   most pairs need one or two such phases; scanning all n positions of both neighbouring layers per node (and
 *   reading the cancelling arcs down a column of the flow array) made them 5–10× slower than the first phase.
 *   The flows found are the same, bit for bit: a node meets its arcs in the same order as before.
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
  /** BFS: per layer, n + 1 slots; unlabelled[x] = x while a node has no level, else a later slot. */
  private readonly unlabelled: Int32Array;
  /** The arcs with flow into each node, as a list over `written`: first entry per node, next entry per entry. */
  private readonly firstInto: Int32Array;
  private nextInto: Int32Array;
  private readonly queue: Int32Array;
  private sinkLevel = 0;
  /**
   * After a BFS, each layer's positions grouped by level, in increasing position within a group: group
   * (layer, level) is byLevel[groupStart[layer · levels + level] …]. A node of the level graph scans only the group
   * of the level after its own, in the same order as a scan over every position, so the flows are the same.
   */
  private readonly byLevel: Int32Array;
  /** Per byLevel entry: itself while its node is in the level graph, else a later entry (union-find, as `open`). */
  private readonly liveEntry: Int32Array;
  private readonly entryOf: Int32Array;
  /**
   * Per phase, the cancelling arcs out of a node (the nodes above with flow into it, one level further), collected
   * on its first visit from its list of arcs with flow, in increasing position: within a phase they can only lose
   * flow or leave the level graph, so the list stays what a scan over every position would find.
   */
  private upArcs: Int32Array;
  private upArcsLength = 0;
  private readonly upArcsStart: Int32Array;
  private readonly upArcsCount: Int32Array;
  private readonly upArcsPhase: Int32Array;
  private phaseId = 0;
  private groupStart = new Int32Array(0);
  private levels = 0;
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
    this.unlabelled = new Int32Array(this.K * (n + 1));
    this.byLevel = new Int32Array(this.K * n);
    this.liveEntry = new Int32Array(this.K * n + 1);
    this.entryOf = new Int32Array(this.K * n);
    this.upArcs = new Int32Array(4 * this.K * n);
    this.upArcsStart = new Int32Array(this.K * n);
    this.upArcsCount = new Int32Array(this.K * n);
    this.upArcsPhase = new Int32Array(this.K * n);
    this.firstInto = new Int32Array(this.K * n).fill(-1);
    this.nextInto = new Int32Array(4 * this.K * n);
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
    this.firstInto.fill(-1);
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

  /** Adds flow on the arc `cell` of `flow`, which goes into node `lower`. */
  private addFlow(cell: number, lower: number, amount: number): void {
    if (this.flow[cell] === 0) {
      if (this.writtenCount === this.written.length) {
        const grown = new Int32Array(this.written.length * 2);
        grown.set(this.written);
        this.written = grown;
        const grownNext = new Int32Array(grown.length);
        grownNext.set(this.nextInto);
        this.nextInto = grownNext;
      }
      this.nextInto[this.writtenCount] = this.firstInto[lower];
      this.firstInto[lower] = this.writtenCount;
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
          this.addFlow(cell, below + i, pushed);
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
        this.addFlow(cell, below + j, pushed);
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

  /**
   * BFS distances from the sources over the residual graph; true when the sink is reachable. Which nodes get which
   * level does not depend on the order arcs are scanned in, so a node scans only the nodes below it that have no
   * level yet (skipped in O(1) amortised, as in the first phase) and, upwards, only the arcs that carry flow into it
   * (few: the flow of one pair).
   */
  private buildLevels(sources: readonly number[]): boolean {
    const n = this.n;
    const K = this.K;
    const level = this.level;
    const queue = this.queue;
    const capacity = this.capacity;
    const flow = this.flow;
    const unlabelled = this.unlabelled;
    const written = this.written;
    const nextInto = this.nextInto;
    level.fill(-1);
    unlabelled.set(this.allOpen);
    let head = 0;
    let tail = 0;
    for (const s of sources) {
      level[s] = 0;
      queue[tail++] = s;
      const slot = (K - 1) * (n + 1) + s - (K - 1) * n;
      unlabelled[slot] = slot + 1;
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
        const base = (layer - 1) * (n + 1);
        const row = v * n;
        for (let j = 0; ; j++) {
          let x = base + j;
          while (unlabelled[x] !== x) x = unlabelled[x] = unlabelled[unlabelled[x]];
          j = x - base;
          if (j >= n) break;
          if (capacity[row + j] - flow[row + j] <= EPSILON) continue;
          level[below + j] = next;
          queue[tail++] = below + j;
          unlabelled[x] = x + 1;
        }
      }
      for (let entry = this.firstInto[v]; entry >= 0; entry = nextInto[entry]) {
        const cell = written[entry];
        const upper = (cell / n) | 0;
        if (level[upper] >= 0 || flow[cell] <= EPSILON) continue;
        level[upper] = next;
        queue[tail++] = upper;
        const slot = layer * (n + 1) + n + 1 + upper - (layer + 1) * n;
        unlabelled[slot] = slot + 1;
      }
    }
    this.sinkLevel = sinkLevel;
    if (sinkLevel >= 0) this.groupByLevel(sinkLevel + 1);
    return sinkLevel >= 0;
  }

  /** Fills byLevel and groupStart for levels 0 … levels − 1 (a counting sort, stable in position). */
  private groupByLevel(levels: number): void {
    const n = this.n;
    const groups = this.K * levels;
    if (this.groupStart.length < groups + 1) this.groupStart = new Int32Array(2 * groups + 1);
    const start = this.groupStart.fill(0, 0, groups + 1);
    const level = this.level;
    for (let v = 0; v < this.K * n; v++) if (level[v] >= 0) start[((v / n) | 0) * levels + level[v] + 1]++;
    for (let g = 0; g < groups; g++) start[g + 1] += start[g];
    const fill = start.slice(0, groups);
    for (let v = 0; v < this.K * n; v++) {
      if (level[v] < 0) continue;
      const layer = (v / n) | 0;
      const entry = fill[layer * levels + level[v]]++;
      this.byLevel[entry] = v - layer * n;
      this.entryOf[v] = entry;
    }
    for (let entry = 0; entry <= start[groups]; entry++) this.liveEntry[entry] = entry;
    this.levels = levels;
    this.phaseId++;
    this.upArcsLength = 0;
  }

  /**
   * Later phases: blocking-flow DFS in the level graph of the residual graph. arc[v] counts the arcs done: first
   * the downward ones (for layer 1 only one, to the sink), then the cancelling ones up to layer k + 1.
   */
  private pushResidual(v: number, limit: number): number {
    const n = this.n;
    const layer = (v / n) | 0;
    const i = v - layer * n;
    const level = this.level;
    const arc = this.arc;
    const flow = this.flow;
    const byLevel = this.byLevel;
    const start = this.groupStart;
    const next = level[v] + 1;
    const levels = this.levels;
    let downFirst = 0;
    let downCount = 1;
    if (layer > 0) {
      const group = (layer - 1) * levels + next;
      downFirst = next < levels ? start[group] : 0;
      downCount = next < levels ? start[group + 1] - downFirst : 0;
    }
    const upCount = layer < this.K - 1 ? this.collectUpArcs(v, next) : 0;
    const upFirst = this.upArcsStart[v];
    let total = 0;
    let k = arc[v];
    if (layer === 0) {
      if (k === 0 && next === this.sinkLevel) {
        const residual = this.sinkCapacity[i] - this.sinkFlow[i];
        const amount = residual < limit ? residual : limit;
        if (amount > EPSILON) {
          this.sinkFlow[i] += amount;
          total = amount;
          if (limit - total <= EPSILON) return total;
        }
      }
      if (k === 0) k = 1;
    } else {
      const capacity = this.capacity;
      const below = v - n - i;
      const row = v * n;
      for (; k < downCount; k++) {
        k = this.nextLive(downFirst + k) - downFirst;
        if (k >= downCount) {
          k = downCount;
          break;
        }
        const j = byLevel[downFirst + k];
        if (level[below + j] !== next) continue;
        const cell = row + j;
        const residual = capacity[cell] - flow[cell];
        if (residual <= EPSILON) continue;
        const want = limit - total;
        const pushed = this.pushResidual(below + j, residual < want ? residual : want);
        if (pushed > 0) {
          this.addFlow(cell, below + j, pushed);
          total += pushed;
          if (limit - total <= EPSILON) {
            arc[v] = k;
            return total;
          }
        }
      }
    }
    const upArcs = this.upArcs;
    for (; k < downCount + upCount; k++) {
      const upper = upArcs[upFirst + k - downCount];
      if (level[upper] !== next) continue;
      const cell = upper * n + i;
      const residual = flow[cell];
      if (residual <= EPSILON) continue;
      const want = limit - total;
      const pushed = this.pushResidual(upper, residual < want ? residual : want);
      if (pushed > 0) {
        flow[cell] -= pushed;
        total += pushed;
        if (limit - total <= EPSILON) {
          arc[v] = k;
          return total;
        }
      }
    }
    arc[v] = downCount + upCount;
    if (level[v] > 0) this.liveEntry[this.entryOf[v]] = this.entryOf[v] + 1;
    level[v] = -1;
    return total;
  }

  /** Collects v's cancelling arcs into the level graph's level `next` (see upArcs); returns how many. */
  private collectUpArcs(v: number, next: number): number {
    if (this.upArcsPhase[v] === this.phaseId) return this.upArcsCount[v];
    const n = this.n;
    const i = v % n;
    if (this.upArcs.length < this.upArcsLength + this.writtenCount) {
      const grown = new Int32Array(2 * (this.upArcsLength + this.writtenCount));
      grown.set(this.upArcs.subarray(0, this.upArcsLength));
      this.upArcs = grown;
    }
    const first = this.upArcsLength;
    let end = first;
    for (let entry = this.firstInto[v]; entry >= 0; entry = this.nextInto[entry]) {
      const upper = (this.written[entry] / n) | 0;
      if (this.level[upper] === next && this.flow[upper * n + i] > EPSILON) this.upArcs[end++] = upper;
    }
    const sorted = this.upArcs.subarray(first, end).sort();
    let count = 0;
    for (let x = 0; x < sorted.length; x++) if (x === 0 || sorted[x] !== sorted[x - 1]) sorted[count++] = sorted[x];
    this.upArcsLength = first + count;
    this.upArcsStart[v] = first;
    this.upArcsCount[v] = count;
    this.upArcsPhase[v] = this.phaseId;
    return count;
  }

  /** The first entry at or after `entry` whose node is still in the level graph. */
  private nextLive(entry: number): number {
    const live = this.liveEntry;
    let x = entry;
    while (live[x] !== x) x = live[x] = live[live[x]];
    return x;
  }
}
