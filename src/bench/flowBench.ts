/**
 * Attention flow benchmark: the Dinic solver of 1752089 (kept below as the baseline) against the
 * current `LayeredMaxFlow`, on real attention cut to n subwords, both in the same run. Usage:
 *   node dist/flow-bench.js [--model DIR]... [--sizes 32,64,128,256,512] [--baseline-up-to 256]
 *                           [--focuses 5] [--stress] [--per-layer]
 * Default models: the bundled final model and models/_work/codebert-shaped when it exists. The
 * input is the window of a real Python file with the most code tokens, cut to n − 1 subwords plus
 * </s>; the capacities are those the 'flow' view uses (`attentionFlow` on the window's subword
 * attention: residual attention of the mean over heads, all layers), computed once and not timed.
 * Times are per focus subword (all n input positions), medians over focus positions spread over
 * the window. --stress adds synthetic 12-layer attention made only of previous-token and <s> heads,
 * the hardest pattern found (baseline up to n = 128 there). --per-layer adds, per model and n, the flow through
 * layers 0–k for every intermediate top layer k (the flow view's layer picker), where the minimum cut is usually
 * inside the graph and the solver needs its later phases.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LayeredMaxFlow } from '../core/metrics/flow';
import { residualAttention } from '../core/metrics/rollout';
import { Analyzer } from '../core/pipeline';

const root = resolve(__dirname, '..');
const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const sizes = (option('--sizes') ?? '32,64,128,256,512').split(',').map(Number);
const baselineUpTo = Number(option('--baseline-up-to') ?? 256);
const focusCount = Math.max(1, Number(option('--focuses') ?? 5) || 5);
const perLayer = args.includes('--per-layer');

const models = args.flatMap((arg, i) => (arg === '--model' ? [resolve(args[i + 1])] : []));
if (!models.length) {
  const bundled = ['code-attention-mini', 'code-attention-mini-early']
    .map((name) => join(root, 'models', name))
    .find((dir) => existsSync(join(dir, 'model.onnx')));
  if (bundled) models.push(bundled);
  const codebertShaped = join(root, 'models', '_work', 'codebert-shaped');
  if (existsSync(join(codebertShaped, 'model.onnx'))) models.push(codebertShaped);
}

function pythonSource(): { text: string; origin: string } {
  for (const candidate of [
    '/usr/lib/python3.11/textwrap.py',
    '/usr/lib/python3.12/textwrap.py',
    '/usr/lib/python3.13/textwrap.py',
  ]) {
    if (existsSync(candidate)) return { text: readFileSync(candidate, 'utf8'), origin: candidate };
  }
  const example = readFileSync(join(root, 'examples', 'lru_cache.py'), 'utf8');
  return { text: Array.from({ length: 8 }, () => example).join('\n'), origin: 'examples/lru_cache.py, repeated' };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

interface Solver {
  maxFlow(source: number, sink: number): number;
}

interface Row {
  label: string;
  baselineMs?: number;
  newMs: number;
  largestDifference?: number;
  phaseOneShare: number;
}

/**
 * Both solvers on the same capacities: ms per focus (median), largest |difference|, share of pairs the first phase
 * settled.
 */
function compare(label: string, capacities: Float64Array[], n: number, withBaseline: boolean): Row {
  const focuses = Array.from({ length: focusCount }, (_, k) =>
    Math.min(n - 1, Math.round(((k + 0.5) * n) / focusCount)),
  );
  const current = new LayeredMaxFlow(capacities, n);
  const baseline = withBaseline ? new DinicBaseline(capacities, n) : undefined;
  const run = (solver: Solver, focus: number): [number, Float64Array] => {
    const flows = new Float64Array(n);
    const start = performance.now();
    for (let j = 0; j < n; j++) flows[j] = solver.maxFlow(focus, j);
    return [performance.now() - start, flows];
  };
  // Warm-up (the first calls also compile): one focus position, or more until 50 ms have passed.
  for (const solver of baseline ? [current, baseline] : [current]) {
    const start = performance.now();
    for (let round = 0; round === 0 || performance.now() - start < 50; round++) run(solver, round % n);
  }
  const newTimes: number[] = [];
  const baselineTimes: number[] = [];
  let largestDifference = 0;
  let phaseOne = 0;
  for (const focus of focuses) {
    const [newMs, flows] = run(current, focus);
    newTimes.push(newMs);
    for (let j = 0; j < n; j++) {
      current.maxFlow(focus, j);
      if (current.phases === 1) phaseOne++;
    }
    if (baseline) {
      const [baselineMs, reference] = run(baseline, focus);
      baselineTimes.push(baselineMs);
      for (let j = 0; j < n; j++) largestDifference = Math.max(largestDifference, Math.abs(flows[j] - reference[j]));
    }
  }
  return {
    label,
    baselineMs: baseline ? median(baselineTimes) : undefined,
    newMs: median(newTimes),
    largestDifference: baseline ? largestDifference : undefined,
    phaseOneShare: phaseOne / (focuses.length * n),
  };
}

async function realRows(modelDir: string, text: string): Promise<{ title: string; rows: Row[] }> {
  const analyzer = await Analyzer.create({ modelDir, executionProvider: 'cpu', grammarsDir: join(root, 'grammars') });
  try {
    const info = analyzer.model.info;
    const analysed = await analyzer.analyze(text, 'python', { reports: [] });
    const window = [...analysed.windows].sort(
      (a, b) => b.tokenEnd - b.tokenStart - (a.tokenEnd - a.tokenStart) || b.ids.length - a.ids.length,
    )[0];
    const rows: Row[] = [];
    for (const n of sizes) {
      if (n > window.ids.length) {
        console.log(`  (${basename(modelDir)}: the window has ${window.ids.length} subwords; ${n} skipped)`);
        continue;
      }
      const ids = [...window.ids.slice(0, n - 1), analyzer.model.tokenizer.special.eos];
      const { attentions } = await analyzer.model.forward(ids);
      const capacities = Array.from({ length: info.layers }, (_, l) => residualAttention(attentions, l));
      rows.push(compare(`${info.layers} × ${n}`, capacities, n, n <= baselineUpTo));
      for (let top = 1; perLayer && top < info.layers; top++) {
        const label = `${top} × ${n} (layers 0–${top - 1})`;
        rows.push(compare(label, capacities.slice(0, top), n, n <= baselineUpTo));
      }
    }
    return { title: `${info.name} (${info.layers} layers × ${info.heads} heads)`, rows };
  } finally {
    await analyzer.dispose();
  }
}

/**
 * Residual attention of 12 layers whose 12 heads put ~95% of each row on the previous token (6 heads) or on <s> (6
 * heads).
 */
function positionalCapacities(n: number): Float64Array[] {
  let seed = 99;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: 12 }, () => {
    const mean = new Float64Array(n * n);
    for (let head = 0; head < 12; head++) {
      for (let i = 0; i < n; i++) {
        const peak = head < 6 ? Math.max(0, i - 1) : 0;
        const row = Array.from({ length: n }, (_, j) => Math.exp(random() * 2 - 1 + (j === peak ? 8 : 0)));
        const sum = row.reduce((a, b) => a + b, 0);
        for (let j = 0; j < n; j++) mean[i * n + j] += row[j] / sum / 12;
      }
    }
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) mean[i * n + j] = 0.5 * mean[i * n + j] + (i === j ? 0.5 : 0);
    return mean;
  });
}

function table(title: string, rows: Row[]): string {
  const lines = [
    `${title}`,
    '| layers × subwords | baseline Dinic (ms / focus) | new (ms / focus) | baseline / new | largest ' +
      'abs. difference | pairs settled by the first phase |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const baseline = row.baselineMs === undefined ? '–' : row.baselineMs.toFixed(1);
    const ratio = row.baselineMs === undefined ? '–' : (row.baselineMs / row.newMs).toFixed(0) + '×';
    const difference = row.largestDifference === undefined ? '–' : row.largestDifference.toExponential(1);
    lines.push(
      `| ${row.label} | ${baseline} | ${row.newMs.toFixed(1)} | ${ratio} | ${difference} ` +
        `| ${(100 * row.phaseOneShare).toFixed(1)}% |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const { text, origin } = pythonSource();
  console.log(
    `Machine: ${cpus()[0]?.model?.trim() ?? 'unknown CPU'}, ${cpus().length} logical cores; Node ${process.version}`,
  );
  console.log(
    `Input: the window of ${origin} with the most code tokens, cut to n subwords; ${focusCount} focus ` +
      `positions, medians; baseline up to n = ${baselineUpTo}\n`,
  );
  if (!models.length) throw new Error('No model found: pass --model DIR.');
  for (const modelDir of models) {
    const { title, rows } = await realRows(modelDir, text);
    console.log(table(title, rows) + '\n');
  }
  if (args.includes('--stress')) {
    const rows = sizes
      .filter((n) => n <= 256)
      .map((n) => compare(`12 × ${n}`, positionalCapacities(n), n, n <= Math.min(baselineUpTo, 128)));
    console.log(table('Synthetic: previous-token and <s> heads only (the hardest pattern found)', rows));
  }
}

const EPSILON = 1e-12;

/**
 * The solver before this benchmark existed (1752089), unchanged: Dinic per sink on the implicit
 * dense layered graph, BFS levels over the residual graph each phase, including the first.
 */
class DinicBaseline {
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

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
