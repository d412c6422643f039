/**
 * Benchmark: every figure is measured in the same run and set against a baseline measured
 * alongside it (these machines are noisy, so ratios mean more than milliseconds). Usage:
 *   node dist/bench.js [--model DIR]... [--repeats N] [--out docs/benchmarks.md]
 * Default models: the bundled final model (the early checkpoint when the final one is absent), and
 * models/_work/codebert-shaped when it exists. Prints one table; --out also writes it as Markdown.
 * `--corpus-only` runs only the corpus throughput rows (batch 1 vs 8, workers 1 vs 2), `--no-corpus`
 * skips them; `--corpus-lines N` sets how many standard-library functions they score (default 240).
 * models/_work/codebert-shaped, built first when it is missing and /usr/bin/python3 has PyTorch
 * (--no-build skips that). Prints the tables; --out also writes them as Markdown.
 *   --windows-only   only the multi-window rows (memory, time, re-analysis, faithfulness batching)
 *   --long           also 64 windows for 12-layer models (about ten minutes of forward passes on 2 cores)
 *   --freeze-only    only the event-loop rows (longest block during a 60 KB analysis and the score panel's step)
 *   --windows LIST   the window counts of those rows (default 1,4,16,64)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { extractDataFlow } from '../core/dataflow/dataFlow';
import { referenceTypeFilter, scoreSnippets, DEFAULT_QUANTILE } from '../core/metrics/catScore';
import { dataFlowScore } from '../core/metrics/dataFlowScore';
import { headStatistics } from '../core/metrics/headStatistics';
import { structureHeads } from '../core/metrics/structureHeads';
import { Analyzer, catSnippets, parsedOf } from '../core/pipeline';
import type { AnalysisResult, LayerHeadScores } from '../core/types';
import type { AttentionView } from '../core/views';
import { hoverMarkdown, presentHover, tokenAtOffset } from '../presenters/hover';

const root = resolve(__dirname, '..');
const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const LENGTHS = [128, 256, 512];
const repeats = Math.max(1, Number(option('--repeats') ?? 5) || 5);
const outFile = option('--out') ? resolve(option('--out')!) : undefined;
const threads = Math.max(1, cpus().length);

function defaultModels(): string[] {
  const bundled = ['code-attention-mini', 'code-attention-mini-early']
    .map((name) => join(root, 'models', name))
    .find((dir) => existsSync(join(dir, 'model.onnx')));
  return bundled ? [bundled] : [];
}
const models = args.flatMap((arg, i) => (arg === '--model' ? [resolve(args[i + 1])] : []));
if (!models.length) models.push(...defaultModels());
const codebertShaped = join(root, 'models', '_work', 'codebert-shaped');
const BUILD_CODEBERT = [
  `/usr/bin/python3 models/tools/make_codebert_shaped.py models/_work/codebert-shaped-checkpoint ` +
    `models/code-attention-mini`,
  `/usr/bin/python3 models/export_onnx.py models/_work/codebert-shaped-checkpoint models/_work/codebert-shaped ` +
    `--name codebert-shaped`,
];

/**
 * Finds models/_work/codebert-shaped, or builds it (random weights, CodeBERT's config; a few minutes); else says why
 * not.
 */
function ensureCodebertShaped(): string | undefined {
  if (existsSync(join(codebertShaped, 'model.onnx'))) return undefined;
  const how =
    `Make it with \`${BUILD_CODEBERT.join('` and `')}\` (needs /usr/bin/python3 with torch, ` +
    `numpy and onnx), then rerun.`;
  if (args.includes('--no-build')) return `CodeBERT-shaped 12 × 768 model: not present (--no-build). ${how}`;
  const torch = spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy, onnx'], { encoding: 'utf8' });
  if (torch.status !== 0)
    return (
      `CodeBERT-shaped 12 × 768 model: not present, and /usr/bin/python3 lacks torch, numpy or ` +
      `onnx to build it. ${how}`
    );
  console.log('… building models/_work/codebert-shaped');
  console.log('  (random weights with CodeBERT’s config.json; a few minutes)');
  for (const command of BUILD_CODEBERT) {
    const [python, ...rest] = command.split(' ');
    const run = spawnSync(python, rest, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
    if (run.status !== 0) return `CodeBERT-shaped 12 × 768 model: building it failed (\`${command}\`). ${how}`;
  }
  return undefined;
}
const codebertNote = args.includes('--model') ? undefined : ensureCodebertShaped();
if (!args.includes('--model') && !codebertNote) models.push(codebertShaped);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}
function time<T>(fn: () => T): [number, T] {
  const start = performance.now();
  const value = fn();
  return [performance.now() - start, value];
}
async function timeAsync<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

/** Real Python code to cut prefixes from: a standard-library module when there is one, else the examples. */
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

/** The longest prefix of whole lines that the pipeline turns into at most `subwords` subwords (with <s> and </s>). */
async function prefixOfLength(analyzer: Analyzer, text: string, subwords: number): Promise<string> {
  const lines = text.split('\n');
  const prefix = (count: number) => lines.slice(0, count).join('\n') + '\n';
  const fits = async (count: number) => {
    const parsed = await analyzer.parser.parse(prefix(count), 'python');
    return analyzer.model.tokenizer.encodeTokens(parsed.tokens).ids.length + 2 <= subwords;
  };
  let low = 1;
  let high = lines.length;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (await fits(mid)) low = mid;
    else high = mid - 1;
  }
  return prefix(low);
}

/**
 * The bare forward the pipeline runs, on its own session with an explicit thread count (for the PyTorch comparison).
 */
async function bareForwardTimes(modelDir: string, inputs: number[][]): Promise<number[]> {
  const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const medians: number[] = [];
  for (const ids of inputs) {
    const n = ids.length;
    const feeds = {
      input_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from(ids, (id) => BigInt(id)),
        [1, n],
      ),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    };
    await session.run(feeds);
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) times.push((await timeAsync(() => session.run(feeds)))[0]);
    medians.push(median(times));
  }
  await session.release();
  return medians;
}

/** numpy.quantile (linear) the plain way: sort a copy. */
function sortedQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = q * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

/**
 * CAT-score written straight from the definition, for the speed comparison and as a cross-check:
 * per snippet, the kept tokens' attention (per layer: mean over heads; per head: that head) is
 * "high" above its 0.75-quantile, a pair is "near" below the 0.25-quantile of the AST distances,
 * and the score is |high ∧ near| / |high ∨ near|; the baseline is the same ratio at the
 * intersection expected when each row's values are shuffled (Σ over rows of high·near/k). Nested
 * loops, arrays of numbers, sort-based quantiles.
 */
function referenceCat(
  result: AnalysisResult,
  snippets: ReturnType<typeof catSnippets>['snippets'],
): { score: LayerHeadScores; baseline: LayerHeadScores } {
  const { layers, heads } = result.model;
  const sums = { score: zeros(layers, heads), baseline: zeros(layers, heads) };
  const counts = { score: zeros(layers, heads), baseline: zeros(layers, heads) };
  for (const snippet of snippets) {
    const k = snippet.kept.length;
    if (k < 2) continue;
    const m = snippet.attention.tokenAttention.shape[2];
    const data = snippet.attention.tokenAttention.data;
    const layerMeans = snippet.attention.layerAttention!.data;
    const distances = Array.from(snippet.distances);
    const nearBelow = sortedQuantile(distances, 1 - DEFAULT_QUANTILE);
    const score = (matrix: number[], threshold: number): number | undefined => {
      if (matrix.every((value) => value === 0)) return undefined;
      let both = 0;
      let either = 0;
      for (let x = 0; x < matrix.length; x++) {
        const high = matrix[x] > threshold;
        const near = distances[x] < nearBelow;
        if (high && near) both++;
        if (high || near) either++;
      }
      return either ? both / either : undefined;
    };
    const add = (layer: number, head: number | undefined, matrix: number[]) => {
      const threshold = sortedQuantile(matrix, DEFAULT_QUANTILE);
      const value = score(matrix, threshold);
      let chance: number | undefined;
      if (value !== undefined) {
        let expected = 0;
        let highTotal = 0;
        let nearTotal = 0;
        for (let a = 0; a < k; a++) {
          let high = 0;
          let near = 0;
          for (let b = 0; b < k; b++) {
            if (matrix[a * k + b] > threshold) high++;
            if (distances[a * k + b] < nearBelow) near++;
          }
          expected += (high * near) / k;
          highTotal += high;
          nearTotal += near;
        }
        chance = expected / (highTotal + nearTotal - expected);
      }
      const slot = (target: LayerHeadScores, value: number) =>
        head === undefined ? (target.perLayer[layer] += value) : (target.perHead[layer][head] += value);
      if (value !== undefined) {
        slot(sums.score, value);
        slot(counts.score, 1);
      }
      if (chance !== undefined) {
        slot(sums.baseline, chance);
        slot(counts.baseline, 1);
      }
    };
    for (let l = 0; l < layers; l++) {
      // Per layer, the head-mean token attention as the pipeline aligns it (heads averaged on subwords).
      const mean: number[] = [];
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) mean.push(layerMeans[(l * m + snippet.kept[a]) * m + snippet.kept[b]]);
      add(l, undefined, mean);
      for (let h = 0; h < heads; h++) {
        const matrix: number[] = [];
        for (let a = 0; a < k; a++)
          for (let b = 0; b < k; b++) matrix.push(data[((l * heads + h) * m + snippet.kept[a]) * m + snippet.kept[b]]);
        add(l, h, matrix);
      }
    }
  }
  const divide = (s: LayerHeadScores, c: LayerHeadScores): LayerHeadScores => ({
    perLayer: s.perLayer.map((v, l) => (c.perLayer[l] ? v / c.perLayer[l] : NaN)),
    perHead: s.perHead.map((row, l) => row.map((v, h) => (c.perHead[l][h] ? v / c.perHead[l][h] : NaN))),
  });
  return { score: divide(sums.score, counts.score), baseline: divide(sums.baseline, counts.baseline) };
}

function zeros(layers: number, heads: number): LayerHeadScores {
  return {
    perLayer: new Array(layers).fill(0),
    perHead: Array.from({ length: layers }, () => new Array(heads).fill(0)),
  };
}

function largestDifference(a: LayerHeadScores, b: LayerHeadScores): number {
  let largest = 0;
  a.perLayer.forEach((value, l) => (largest = Math.max(largest, Math.abs(value - b.perLayer[l]))));
  a.perHead.forEach((row, l) =>
    row.forEach((value, h) => (largest = Math.max(largest, Math.abs(value - b.perHead[l][h])))),
  );
  return largest;
}

/** PyTorch eager forward (same checkpoint, same ids, same thread count), or why it is not available. */
function torchForward(modelDir: string, checkpointKind: string, inputs: number[][]): number[] | string {
  const checkpoint = existsSync(join(`${modelDir}-checkpoint`, 'pytorch_model.bin'))
    ? `${modelDir}-checkpoint`
    : join(root, 'models', '_work', 'run1', checkpointKind);
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const run = spawnSync(
    python,
    [join(root, 'src', 'bench', 'torch_forward.py'), checkpoint, String(threads), String(repeats)],
    { input: JSON.stringify(inputs), encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (run.error) return 'n/a (python3 not found)';
  if (run.status === 3) return `n/a (${run.stderr.trim().split('\n').pop()})`;
  if (run.status !== 0) return `n/a (PyTorch run failed: ${run.stderr.trim().split('\n').pop()})`;
  return (JSON.parse(run.stdout.trim().split('\n').pop()!) as { medianMs: number[] }).medianMs;
}

/** What the extension asks of `analyze` (src/extension/analysisService.ts); the panel completes the rest. */
const EDITOR_REPORTS = ['catLayers', 'dataFlowLayers'] as const;

const START = '<!-- measured: start -->';
const END = '<!-- measured: end -->';

type Row = { what: string; values: string[]; goal?: string };

async function benchModel(modelDir: string, text: string): Promise<{ title: string; rows: Row[] }> {
  const analyzer = await Analyzer.create({ modelDir, executionProvider: 'cpu', grammarsDir: join(root, 'grammars') });
  const info = analyzer.model.info;
  const manifest = existsSync(join(modelDir, 'manifest.json'))
    ? JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8'))
    : {};
  const title =
    `${info.name} (${info.layers} layers × ${info.heads} heads, ` +
    `hidden ${info.hiddenSize}; ${analyzer.model.device})`;
  const cells: Record<string, string[]> = {};
  const put = (key: string, value: string) => (cells[key] ??= []).push(value);
  const inputs: number[][] = [];
  const catTimes: number[] = [];
  const subwordCounts: number[] = [];
  for (const length of LENGTHS) {
    const source = await prefixOfLength(analyzer, text, length);
    let result = await analyzer.analyze(source, 'python');
    const ids = result.windows[0].ids;
    inputs.push([...ids]);
    subwordCounts.push(ids.length);
    const forwards: number[] = [];
    const analyses: number[] = [];
    const editorAnalyses: number[] = [];
    // What an editor result holds: every head's token attention is aligned only when something reads it.
    let editorHeldBytes = 0;
    const stages = {
      parseMs: [] as number[],
      tokenizeMs: [] as number[],
      alignMs: [] as number[],
      metricsMs: [] as number[],
    };
    for (let r = 0; r < repeats; r++) {
      forwards.push((await timeAsync(() => analyzer.model.forward(ids)))[0]);
      const [elapsed, analysed] = await timeAsync(() => analyzer.analyze(source, 'python'));
      analyses.push(elapsed);
      result = analysed;
      const [editorMs, editorResult] = await timeAsync(() =>
        analyzer.analyze(source, 'python', { reports: EDITOR_REPORTS }),
      );
      editorAnalyses.push(editorMs);
      // Compact (float16) bytes, as the layer-mean store keeps them.
      editorHeldBytes = editorResult.windows.reduce((sum, window) => sum + window.layerAttention.data.length * 2, 0);
      for (const stage of Object.keys(stages) as Array<keyof typeof stages>)
        stages[stage].push(analysed.timings[stage]);
    }
    // Hover: what the hover provider runs after analysis (token at the mouse offset → weights → card).
    const hover: number[] = [];
    const views: AttentionView[] = [];
    for (let l = 0; l < info.layers; l++) {
      views.push({ mode: 'meanHeads', layer: l, direction: 'attendsTo' });
      for (let h = 0; h < info.heads; h++)
        views.push({ mode: 'head', layer: l, head: h, direction: h % 2 ? 'attendedBy' : 'attendsTo' });
    }
    for (let r = 0; r < 400; r++) {
      const token = result.tokens[(r * 7919) % result.tokens.length];
      hover.push(
        time(() => {
          const focus = tokenAtOffset(result.tokens, token.startIndex)!;
          return hoverMarkdown(result, presentHover(result, views[r % views.length], focus));
        })[0],
      );
    }
    // The metrics stage, metric by metric, on the last result.
    const parsed = parsedOf(result);
    const scoreOptions = {
      distance: 'ast' as const,
      typeFilter: referenceTypeFilter('python'),
      pairRule: result.options.pairRule,
    };
    const metricParts = {
      dataFlowGraph: [] as number[],
      catDistances: [] as number[],
      catScoring: [] as number[],
      headStatistics: [] as number[],
      structureHeads: [] as number[],
      dataFlowScore: [] as number[],
    };
    const plain: number[] = [];
    let snippets = catSnippets(result, parsed, scoreOptions).snippets;
    let difference = 0;
    for (let r = 0; r < Math.min(3, repeats); r++) {
      const [graphMs, graph] = time(() => extractDataFlow(parsed));
      metricParts.dataFlowGraph.push(graphMs);
      const [distanceMs, made] = time(() => catSnippets(result, parsed, scoreOptions));
      snippets = made.snippets;
      metricParts.catDistances.push(distanceMs);
      const [scoringMs, ours] = time(() => scoreSnippets(snippets, info.layers, info.heads));
      metricParts.catScoring.push(scoringMs);
      metricParts.headStatistics.push(time(() => headStatistics(result))[0]);
      metricParts.structureHeads.push(time(() => structureHeads(result, graph))[0]);
      if (graph) metricParts.dataFlowScore.push(time(() => dataFlowScore(result, graph))[0]);
      const [plainMs, reference] = time(() => referenceCat(result, snippets));
      plain.push(plainMs);
      difference = Math.max(
        largestDifference(ours.score, reference.score),
        largestDifference(ours.baseline, reference.baseline),
      );
    }
    const heldBytes = analyzer.tensorCache.stats().bytes;

    const forward = median(forwards);
    const analysis = median(analyses);
    catTimes.push(median(metricParts.catScoring));
    put('subwords (code tokens)', `${ids.length} (${result.tokens.length})`);
    put('forward, as the pipeline runs it (ms)', forward.toFixed(1));
    put('full analysis (ms)', analysis.toFixed(1));
    put('analysis / forward', (analysis / forward).toFixed(2));
    put('analysis as the editor runs it: per-layer CAT + DFG score (ms)', median(editorAnalyses).toFixed(1));
    put('editor analysis / forward', (median(editorAnalyses) / forward).toFixed(2));
    put(
      '… parse / tokenize / align (ms)',
      `${median(stages.parseMs).toFixed(1)} / ${median(stages.tokenizeMs).toFixed(1)} ` +
        `/ ${median(stages.alignMs).toFixed(1)}`,
    );
    put('… metrics stage (ms)', median(stages.metricsMs).toFixed(1));
    put(
      '… … data-flow graph / AST distances (ms)',
      `${median(metricParts.dataFlowGraph).toFixed(1)} / ${median(metricParts.catDistances).toFixed(1)}`,
    );
    put(
      '… … CAT + baseline / head stats / structure heads / DFG score (ms)',
      [metricParts.catScoring, metricParts.headStatistics, metricParts.structureHeads, metricParts.dataFlowScore]
        .map((v) => (v.length ? median(v).toFixed(1) : '–'))
        .join(' / '),
    );
    put('CAT all layers & heads + baseline, ours (ms)', median(metricParts.catScoring).toFixed(1));
    put('CAT, plain reference (ms)', median(plain).toFixed(1));
    put('plain / ours', (median(plain) / median(metricParts.catScoring)).toFixed(2));
    put('largest |ours − reference|', difference.toExponential(1));
    put('hover p50 / p95 (ms)', `${percentile(hover, 0.5).toFixed(3)} / ${percentile(hover, 0.95).toFixed(3)}`);
    put('full tensors of the window in the tensor cache, every head aligned (MiB)', (heldBytes / 2 ** 20).toFixed(1));
    put('attention the result itself keeps: layer means, float16 (MiB)', (editorHeldBytes / 2 ** 20).toFixed(1));
  }
  const onnxForwards = await bareForwardTimes(modelDir, inputs);
  const torch = torchForward(modelDir, manifest.checkpoint ?? 'final', inputs);
  cells[`forward, onnxruntime-node, ${threads} threads (ms)`] = onnxForwards.map((ms) => ms.toFixed(1));
  if (typeof torch === 'string') {
    cells['forward, PyTorch eager (ms)'] = LENGTHS.map(() => torch);
    cells['PyTorch / onnxruntime'] = LENGTHS.map(() => torch);
  } else {
    cells['forward, PyTorch eager (ms)'] = torch.map((ms) => ms.toFixed(1));
    cells['PyTorch / onnxruntime'] = torch.map((ms, i) => (ms / onnxForwards[i]).toFixed(2));
  }
  // Growth: the exponent p in time ∝ n^p between the shortest and the longest input.
  const growth =
    Math.log(catTimes[catTimes.length - 1] / catTimes[0]) /
    Math.log(subwordCounts[subwordCounts.length - 1] / subwordCounts[0]);
  const goals: Record<string, string> = {
    'analysis / forward': '≤ 1.15',
    'editor analysis / forward': '≤ 1.15',
    'hover p50 / p95 (ms)': 'p95 < 5',
    'largest |ours − reference|': '0 (same definition)',
  };
  const rows: Row[] = Object.entries(cells).map(([what, values]) => ({ what, values, goal: goals[what] }));
  rows.push({
    what: `CAT time growth: exponent p in t ∝ n^p (${subwordCounts[0]}→${subwordCounts[subwordCounts.length - 1]})`,
    values: [growth.toFixed(2), '', ''],
  });
  const probes = LENGTHS.map((length) => memoryProbe(modelDir, length));
  const fresh = (what: string, value: (probe: MemoryProbe) => number, goal?: string) =>
    rows.push({
      what: `fresh process: ${what} (MiB)`,
      values: probes.map((probe) => (typeof probe === 'string' ? probe : value(probe).toFixed(0))),
      goal,
    });
  fresh('RSS after loading the model', (probe) => probe.loadedMiB);
  fresh(
    'RSS growth from load to the end of one analysis, result held',
    (probe) => probe.afterMiB - probe.loadedMiB,
    info.layers >= 12 ? '12×12×512² held in < 400 MB' : undefined,
  );
  fresh('RSS growth from load to the highest sample during it', (probe) => probe.peakMiB - probe.loadedMiB);
  await analyzer.dispose();
  return { title, rows };
}

const WINDOWS_START = '<!-- windows: start -->';
const WINDOWS_END = '<!-- windows: end -->';

/** One analysis of a `windows`-window input in a fresh process (dist/memory-probe.js); see memoryProbe.ts. */
// The probe prints JSON whose rows this table reads by name.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function windowProbe(modelDir: string, windows: number, extra: string[]): Record<string, any> | string {
  const source = ['/usr/lib/python3.11/pprint.py', join(root, 'test', 'fixtures', 'pprint.py')].find(existsSync)!;
  const run = spawnSync(
    process.execPath,
    [
      join(__dirname, 'memory-probe.js'),
      '--model',
      modelDir,
      '--windows',
      String(windows),
      '--grammars',
      join(root, 'grammars'),
      '--source',
      source,
      ...extra,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 22 },
  );
  if (run.status !== 0) return `n/a (${(run.stderr || 'probe failed').trim().split('\n').pop()})`;
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

/**
 * Inputs of 1, 4, 16 and 64 windows (whole lines of pprint.py, copies renamed so no two windows
 * are alike), each analysed with every report in its own process with the default tensor cache.
 */
function windowRows(modelDir: string, layers: number): { columns: number[]; rows: Row[] } {
  const wanted = (option('--windows') ?? '1,4,16,64').split(',').map(Number);
  const columns = layers >= 12 && !args.includes('--long') ? wanted.filter((count) => count < 64) : wanted;
  const probes = columns.map((windows) => {
    console.log(`  … ${windows} window(s)`);
    // Compare Models runs on the bundled pair (final against early checkpoint), as a user first meets it.
    const early = join(root, 'models', 'code-attention-mini-early');
    const compare = layers < 12 && existsSync(join(early, 'model.onnx')) ? ['--compare', early] : [];
    return windowProbe(
      modelDir,
      windows,
      windows === 1 ? ['--ratios', '3'] : windows === 16 ? ['--edit', ...compare] : [],
    );
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as windowProbe
  const cell = (pick: (probe: Record<string, any>) => string | undefined) =>
    probes.map((probe) => (typeof probe === 'string' ? probe : (pick(probe) ?? '')));
  const first = probes[0];
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  const rows: Row[] = [
    { what: 'input (KB, windows)', values: cell((probe) => `${(probe.bytes / 1000).toFixed(0)} KB, ${probe.windows}`) },
    { what: 'peak RSS of the process (MiB)', values: cell((probe) => probe.peakRssMB.toFixed(0)) },
    {
      what: 'peak RSS ÷ peak RSS at 1 window',
      values: cell((probe) => (typeof first === 'string' ? undefined : (probe.peakRssMB / first.peakRssMB).toFixed(2))),
      goal: '≤ 1.3 at 64 windows',
    },
    { what: 'total analysis time, every report (s)', values: cell((probe) => (probe.totalMs / 1000).toFixed(1)) },
    { what: '… of which forward passes (s)', values: cell((probe) => (probe.forwardMs / 1000).toFixed(1)) },
    {
      what: 'tensors held: cache (limit) + layer means in memory, float16 (+ in the temporary file) (MiB)',
      values: cell(
        (probe) =>
          `${mib(probe.cache.bytes)} (${mib(probe.cache.maxBytes)}) + ${mib(probe.layerMeans.memoryBytes)} ` +
          `(+ ${mib(probe.layerMeans.spilledBytes)})`,
      ),
    },
    { what: 'what keeping every window took before (MiB)', values: cell((probe) => mib(probe.oldDesignBytes)) },
    {
      what: 're-analysis after a one-line edit (per-layer reports) ÷ one window’s forward',
      values: cell((probe) =>
        probe.reanalysisMs === undefined
          ? undefined
          : `${(probe.reanalysisMs / probe.oneForwardMs).toFixed(2)} (${probe.reanalysisRuns.forward} ` +
            `window re-run, ${probe.reanalysisRuns.reused} reused)`,
      ),
      goal: '≤ 1.5',
    },
    {
      what: `editor analysis ÷ forward, one window`,
      values: cell((probe) =>
        probe.editorOverForward === undefined
          ? undefined
          : `${probe.editorOverForward.toFixed(2)} at ${probe.forwardSubwords} subwords`,
      ),
      goal: layers >= 12 ? '≤ 1.10' : undefined,
    },
    {
      what: 'second Compare Models on the same file (both models loaded) ÷ its two forwards',
      values: cell((probe) =>
        probe.compare === undefined
          ? undefined
          : `${probe.compare.ratio.toFixed(2)} (against ${probe.compare.other}; ` +
            `${(probe.compare.ms / 1000).toFixed(1)} s, forwards ${(probe.compare.forwardMs / 1000).toFixed(1)} s)`,
      ),
      goal: '≤ 1.2',
    },
    {
      what: 'faithfulness check, batches of 8 ÷ one pass per token',
      values: cell((probe) =>
        probe.faithfulness === undefined
          ? undefined
          : `${probe.faithfulness.ratio.toFixed(2)} (${probe.faithfulness.tokens} tokens; max |Δ ` +
            (`occlusion| ${probe.faithfulness.largestOcclusionDifference.toExponential(1)}; ` +
              `ρ ${probe.faithfulness.sameRanks ? 'identical' : 'differ'})`),
      ),
    },
  ];
  return { columns, rows };
}

interface MemoryProbe {
  loadedMiB: number;
  peakMiB: number;
  afterMiB: number;
}

/** Memory of one analysis, measured in a fresh process so that nothing else the bench did counts. */
function memoryProbe(modelDir: string, length: number): MemoryProbe | string {
  const run = spawnSync(process.execPath, [__filename, '--memory-probe', modelDir, String(length)], {
    encoding: 'utf8',
  });
  if (run.status !== 0) return `n/a (${(run.stderr || 'probe failed').trim().split('\n').pop()})`;
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as MemoryProbe;
}

/**
 * RSS after loading, sampled every 2 ms during the analysis (the samples land while onnxruntime
 * runs on its own threads and between the synchronous stages), and right after it with the result
 * held. The process's maxRSS is no use here: loading the model peaks higher than the analysis.
 */
async function runMemoryProbe(modelDir: string, length: number): Promise<void> {
  const analyzer = await Analyzer.create({ modelDir, executionProvider: 'cpu', grammarsDir: join(root, 'grammars') });
  const source = await prefixOfLength(analyzer, pythonSource().text, length);
  const mib = () => process.memoryUsage().rss / 2 ** 20;
  const loadedMiB = mib();
  let peakMiB = loadedMiB;
  const sampler = setInterval(() => (peakMiB = Math.max(peakMiB, mib())), 2);
  const result = await analyzer.analyze(source, 'python');
  clearInterval(sampler);
  const afterMiB = mib();
  peakMiB = Math.max(peakMiB, afterMiB);
  console.log(
    JSON.stringify({ loadedMiB, peakMiB, afterMiB, tokens: result.tokens.length } satisfies MemoryProbe & {
      tokens: number;
    }),
  );
  await analyzer.dispose();
}

const CORPUS_START = '<!-- corpus throughput: start -->';
const CORPUS_END = '<!-- corpus throughput: end -->';

/**
 * Corpus throughput: `code-attention corpus` itself (child processes, as a user runs it) on a
 * CodeSearchNet-shaped JSONL of real functions of the Python standard library, at batch 1 and 8
 * and with 1 and 2 worker processes; the rate is the CLI's own (lines scored over the scoring time,
 * the model load excluded). The configurations take turns, twice, and each keeps its better run.
 */
function corpusThroughput(modelDirs: string[]): string {
  const lines = Math.max(16, Number(option('--corpus-lines') ?? 240) || 240);
  const dir = mkdtempSync(join(tmpdir(), 'cal-bench-corpus-'));
  const loadAtStart = loadavg()[0];
  try {
    const corpus = join(dir, 'stdlib.jsonl');
    const built = spawnSync(
      process.execPath,
      [join(__dirname, 'stdlib-corpus.js'), '--limit', String(lines), '--max-chars', '4000', corpus],
      { encoding: 'utf8' },
    );
    if (built.status !== 0) return `Corpus rows: no corpus (${built.stderr.trim() || 'stdlib-corpus failed'}).`;
    const configurations = [
      { batch: 1, workers: 1 },
      { batch: 8, workers: 1 },
      { batch: 1, workers: 2 },
      { batch: 8, workers: 2 },
    ];
    const table = [
      '| model | batch | worker processes × intra-op threads | snippets/s | vs batch 1, 1 worker |',
      '| --- | ---: | --- | ---: | ---: |',
    ];
    for (const modelDir of modelDirs) {
      const best = new Map<string, { rate: number; shape: string }>();
      for (let round = 0; round < 2; round++) {
        for (const { batch, workers } of configurations) {
          const out = join(dir, `out-${batch}-${workers}`);
          const run = spawnSync(
            process.execPath,
            [
              join(__dirname, 'cli.js'),
              'corpus',
              corpus,
              '--language',
              'python',
              '--model',
              modelDir,
              '--device',
              'cpu',
              '--out',
              out,
              '--batch',
              String(batch),
              '--workers',
              String(workers),
            ],
            { encoding: 'utf8' },
          );
          const match =
            /scored \d+ lines in [\d.]+ s \(([\d.]+) snippets\/s; batch \d+, (\d+) worker process(?:es)? × (\d+) intra-op threads/.exec(
              run.stderr,
            );
          if (!match) return `Corpus rows: the corpus run failed (${run.stderr.trim().split('\n').pop()}).`;
          const key = `${batch}/${workers}`;
          const rate = Number(match[1]);
          if (rate > (best.get(key)?.rate ?? 0)) best.set(key, { rate, shape: `${match[2]} × ${match[3]}` });
        }
      }
      const baseline = best.get('1/1')!.rate;
      for (const { batch, workers } of configurations) {
        const entry = best.get(`${batch}/${workers}`)!;
        table.push(
          `| ${basename(modelDir)} | ${batch} | ${entry.shape} | ${entry.rate.toFixed(1)} ` +
            `| ${(entry.rate / baseline).toFixed(2)}× |`,
        );
      }
    }
    const codebert = modelDirs.some((dir) => dir.endsWith('codebert-shaped'))
      ? ''
      : ' The CodeBERT-shaped model was not present, so it has no rows.';
    return (
      `Corpus throughput: \`code-attention corpus\` on ${lines} real functions of the Python ` +
      (`standard library (\`dist/stdlib-corpus.js\`), CPU, ${cpus().length} logical cores (1-minute load average ` +
        `${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end, from other work on the machine); ` +
        `each configuration's better of 2 alternating runs; every configuration writes the same numbers (corpusScale.test proves it, byte for byte).${codebert}` +
        `\n\n${table.join('\n')}`)
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ` --corpus-lines N` when it was given, for the "Measured with" line. */
function corpusLinesArgument(): string {
  return option('--corpus-lines') ? ` --corpus-lines ${option('--corpus-lines')}` : '';
}

const FREEZES_START = '<!-- freezes: start -->';
const FREEZES_END = '<!-- freezes: end -->';

/**
 * The longest event-loop block of the thread that runs an analysis (dist/freeze-probe.js, in a
 * fresh process per model, as the extension host runs it), against one window's forward pass of
 * the same run.
 */
function freezeRows(modelDirs: string[]): string {
  const table = [
    '| model | input | step | longest block, wall (ms) | longest block, CPU (ms) | ÷ one window’s forward (wall) | goal |',
    '| --- | --- | --- | ---: | ---: | ---: | --- |',
  ];
  for (const modelDir of modelDirs) {
    console.log(`… ${basename(modelDir)}: event-loop blocks`);
    const run = spawnSync(process.execPath, [join(__dirname, 'freeze-probe.js'), '--model', modelDir], {
      encoding: 'utf8',
    });
    if (run.status !== 0) {
      table.push(`| ${basename(modelDir)} | n/a (${(run.stderr || 'probe failed').trim().split('\n').pop()}) |`);
      continue;
    }
    type Block = { longestWallMs: number; longestCpuMs: number };
    const probe = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
      origin: string;
      bytes: number;
      windows: number;
      oneForwardMs: number;
      analysis: Block;
      panel: Block;
    };
    const input = `${basename(probe.origin)}, ${(probe.bytes / 1000).toFixed(0)} KB, ${probe.windows} windows`;
    const steps: Array<[string, Block]> = [
      ['editor analysis (per-layer reports)', probe.analysis],
      ['score panel: every per-head report, panel model', probe.panel],
    ];
    for (const [step, block] of steps)
      table.push(
        `| ${basename(modelDir)} | ${input} | ${step} | ${block.longestWallMs.toFixed(0)} | ` +
          `${block.longestCpuMs.toFixed(0)} | ${(block.longestWallMs / probe.oneForwardMs).toFixed(2)} ` +
          `(forward ${probe.oneForwardMs.toFixed(0)} ms) | CPU ≤ 100 ms |`,
      );
  }
  return (
    'Event-loop blocks: the thread that runs the analysis (the extension host’s), with the model in its own ' +
    'process as the extension runs it; a 1 ms timer records the longest gap between its ticks, in wall time ' +
    'and in CPU time of the process (a loaded machine stretches the first, not the second). The chance level ' +
    'of a block is the timer’s own 1 ms.\n\n' +
    table.join('\n')
  );
}

function replaceBetween(previous: string, start: string, end: string, text: string): string {
  const at = previous.indexOf(start);
  const stop = previous.indexOf(end);
  return at >= 0 && stop > at
    ? previous.slice(0, at) + text + previous.slice(stop + end.length)
    : `${previous.trimEnd()}\n\n${text}\n`;
}
async function main() {
  if (args[0] === '--memory-probe') return runMemoryProbe(resolve(args[1]), Number(args[2]));
  if (args.includes('--freeze-only')) {
    const text = freezeRows(models);
    console.log(text);
    if (outFile) {
      const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '# Benchmarks\n';
      const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
      const machine = `${cpus()[0]?.model?.trim() ?? 'unknown CPU'}, ${cpus().length} logical cores`;
      const section =
        `${FREEZES_START}\nMeasured with \`npm run bench -- --freeze-only\` on ${when} UTC; ${machine}.\n\n` +
        `${text}\n${FREEZES_END}`;
      writeFileSync(outFile, replaceBetween(previous, FREEZES_START, FREEZES_END, section));
    }
    return;
  }
  const corpusRows = args.includes('--no-corpus') ? undefined : corpusThroughput;
  if (args.includes('--corpus-only')) {
    const text = corpusRows!(models);
    console.log(text);
    if (outFile) {
      const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '# Benchmarks\n';
      const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
      const section =
        `${CORPUS_START}\nMeasured with \`node dist/bench.js --corpus-only${corpusLinesArgument()}\` on ${when} ` +
        `UTC.\n\n${text}\n${CORPUS_END}`;
      writeFileSync(outFile, replaceBetween(previous, CORPUS_START, CORPUS_END, section));
    }
    return;
  }
  const { text, origin } = pythonSource();
  const machine =
    `${cpus()[0]?.model?.trim() ?? 'unknown CPU'}, ${cpus().length} logical ` +
    (`cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; ` +
      `onnxruntime-node ${ort.env.versions.node}; ` +
      `PyTorch-vs-onnxruntime rows: ${threads} intra-op threads each; ${repeats} repeats, medians`);
  const header = ['model', 'measurement', ...LENGTHS.map((n) => `≤ ${n} subwords`), 'goal'];
  const table = [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`];
  console.log(`Machine: ${machine}`);
  console.log(`Input: prefixes of ${origin}`);
  if (!models.length)
    throw new Error(
      'No model found: build or copy a model into models/code-attention-mini (see models/README.md), ' +
        'or pass --model DIR.',
    );
  const windowTable: string[] = [];
  for (const modelDir of models) {
    const info = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
    console.log(`… ${basename(modelDir)}: inputs of several windows`);
    const { columns, rows } = windowRows(modelDir, info.num_hidden_layers);
    const header = ['model', 'measurement', ...[1, 4, 16, 64].map((n) => `${n} window${n > 1 ? 's' : ''}`), 'goal'];
    if (!windowTable.length)
      windowTable.push(
        `| ${header.join(' | ')} |`,
        `| ${header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
      );
    const title = `${basename(modelDir)} (${info.num_hidden_layers} × ${info.num_attention_heads})`;
    for (const row of rows) {
      const cells = [1, 4, 16, 64].map((n) =>
        columns.includes(n) ? row.values[columns.indexOf(n)] : 'not run (--long)',
      );
      windowTable.push(`| ${title} | ${row.what} | ${cells.join(' | ')} | ${row.goal ?? ''} |`);
    }
  }
  console.log(windowTable.join('\n'));
  if (outFile) {
    const command = `npm run bench${args.includes('--windows-only') ? ' -- --windows-only' : ''}`;
    const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
    const note = codebertNote ? `\n${codebertNote}\n` : '';
    const measured =
      `${WINDOWS_START}\nMeasured with \`${command}\` on ${when} UTC. Machine: ${machine}.\n\n` +
      `${windowTable.join('\n')}\n${note}${WINDOWS_END}`;
    const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '# Benchmarks\n';
    const at = previous.indexOf(WINDOWS_START);
    const end = previous.indexOf(WINDOWS_END);
    writeFileSync(
      outFile,
      at >= 0 && end > at
        ? previous.slice(0, at) + measured + previous.slice(end + WINDOWS_END.length)
        : `${previous.trimEnd()}\n\n## Files of many windows\n\n${measured}\n`,
    );
  }
  if (args.includes('--windows-only')) return;
  for (const modelDir of models) {
    console.log(`… ${basename(modelDir)}`);
    const { title, rows } = await benchModel(modelDir, text);
    for (const row of rows) table.push(`| ${title} | ${row.what} | ${row.values.join(' | ')} | ${row.goal ?? ''} |`);
  }
  console.log(table.join('\n'));
  if (codebertNote) console.log(`\n${codebertNote}`);
  if (outFile) {
    const notes = codebertNote ? `\n${codebertNote}\n` : '';
    const measured =
      `${START}\nMeasured with \`npm run bench\` ` +
      `on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} ` +
      (`UTC.\n\nMachine: ${machine}.\n\nInput: prefixes (whole lines) of ${origin}, analysed as Python, one ` +
        `window each.\n\n${table.join('\n')}\n${notes}${END}`);
    // The findings around the table are written by hand; only the part between the markers is replaced.
    const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
    const at = previous.indexOf(START);
    const end = previous.indexOf(END);
    let next =
      at >= 0 && end > at
        ? previous.slice(0, at) + measured + previous.slice(end + END.length)
        : `# Benchmarks\n\n${measured}\n`;
    if (corpusRows) {
      const text = corpusRows(models);
      console.log(`\n${text}`);
      const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
      const section = `${CORPUS_START}\nMeasured with \`npm run bench\` on ${when} UTC.\n\n${text}\n${CORPUS_END}`;
      next = replaceBetween(next, CORPUS_START, CORPUS_END, section);
    }
    writeFileSync(outFile, next);
  } else if (corpusRows) {
    console.log(`\n${corpusRows(models)}`);
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
