/**
 * Benchmark: every figure is measured in the same run, and compared as ratios against a baseline
 * measured alongside it (these machines are noisy). Usage:
 *   node dist/bench.js [--model DIR]... [--repeats N] [--out docs/benchmarks.md]
 * Default models: the bundled final model, and models/_work/codebert-shaped when it exists.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { catScoreOfMatrix, quantile, submatrix } from '../core/metrics/catScore';
import { Analyzer } from '../core/pipeline';
import type { AnalysisResult } from '../core/types';
import { tokenAttentionRow } from '../core/views';

const root = resolve(__dirname, '..');
const args = process.argv.slice(2);
const models = args.flatMap((arg, i) => (arg === '--model' ? [resolve(args[i + 1])] : []));
if (!models.length) {
  models.push(join(root, 'models', 'code-attention-mini'));
  const large = join(root, 'models', '_work', 'codebert-shaped');
  if (existsSync(join(large, 'model.onnx'))) models.push(large);
}
const repeats = Number(args[args.indexOf('--repeats') + 1] || 5) || 5;
const outFile = args.includes('--out') ? resolve(args[args.indexOf('--out') + 1]) : undefined;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** A Python source of about `subwords` subwords, made from the examples (real code). */
function sourceOfLength(analyzer: Analyzer, subwords: number): string {
  const corpus = ['lru_cache.py'].map((file) => readFileSync(join(root, 'examples', file), 'utf8')).join('\n').repeat(8);
  const lines = corpus.split('\n');
  let taken = '';
  for (const line of lines) {
    const next = taken + line + '\n';
    if (analyzer.model.tokenizer.encodeText(next).length + 2 > subwords) break;
    taken = next;
  }
  return taken;
}

/**
 * The CAT definition written the plain way: nested loops, arrays of numbers, a full sort per
 * quantile. Both implementations score the same matrices against the same stand-in distances
 * (|i − j|), so the ratio measures the scoring alone.
 */
function referenceCat(result: AnalysisResult): number {
  let total = 0;
  const window = result.windows[0];
  const [layers, heads, m] = window.tokenAttention.shape;
  const distances: number[] = [];
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) distances.push(Math.abs(a - b));
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      const matrix: number[] = [];
      for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) matrix.push(window.tokenAttention.data[((l * heads + h) * m + a) * m + b]);
      const sortedA = [...matrix].sort((x, y) => x - y);
      const sortedD = [...distances].sort((x, y) => x - y);
      const at = (sorted: number[], q: number) => {
        const position = q * (sorted.length - 1);
        const low = Math.floor(position);
        return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (position - low);
      };
      const ta = at(sortedA, 0.75);
      const td = at(sortedD, 0.25);
      let both = 0;
      let either = 0;
      for (let x = 0; x < matrix.length; x++) {
        const high = matrix[x] > ta;
        const near = distances[x] < td;
        if (high && near) both++;
        if (high || near) either++;
      }
      total += either ? both / either : 0;
    }
  }
  return total;
}

function ourCat(result: AnalysisResult): number {
  let total = 0;
  const window = result.windows[0];
  const [layers, heads, m] = window.tokenAttention.shape;
  const kept = Array.from({ length: m }, (_, i) => i);
  const distances = new Int32Array(m * m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) distances[a * m + b] = Math.abs(a - b);
  const threshold = quantile(distances, 0.25);
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      const matrix = submatrix(window.tokenAttention.data.subarray((l * heads + h) * m * m, (l * heads + h + 1) * m * m), m, kept);
      total += catScoreOfMatrix(matrix, distances, 0.75, threshold) ?? 0;
    }
  }
  return total;
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

async function main() {
  const lines: string[] = [];
  const print = (line = '') => {
    lines.push(line);
    console.log(line);
  };
  print(`Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; Node ${process.version}; onnxruntime-node ${ort.env.versions.node}; ${repeats} repeats, medians`);
  for (const modelDir of models) {
    const analyzer = await Analyzer.create({ modelDir, executionProvider: 'cpu', grammarsDir: join(root, 'grammars') });
    const info = analyzer.model.info;
    print('');
    print(`## ${info.displayName} (${info.layers} layers × ${info.hiddenSize} hidden × ${info.heads} heads), device ${analyzer.model.device}`);
    print('');
    print('| subwords | forward (ms) | full analysis (ms) | analysis / forward | parse | tokenize | align | metrics | CAT ours (ms) | CAT plain (ms) | plain / ours | hover p50 (ms) | hover p95 (ms) |');
    print('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const length of [128, 256, 512]) {
      const source = sourceOfLength(analyzer, length);
      const first = await analyzer.analyze(source, 'python');
      const ids = first.windows[0].ids;
      const forwards: number[] = [];
      const analyses: number[] = [];
      const stages = { parseMs: [] as number[], tokenizeMs: [] as number[], alignMs: [] as number[], metricsMs: [] as number[] };
      let result = first;
      for (let r = 0; r < repeats; r++) {
        forwards.push((await timeAsync(() => analyzer.model.forward(ids)))[0]);
        const [elapsed, analysed] = await timeAsync(() => analyzer.analyze(source, 'python'));
        analyses.push(elapsed);
        result = analysed;
        for (const stage of Object.keys(stages) as Array<keyof typeof stages>) stages[stage].push(analysed.timings[stage]);
      }
      const ours: number[] = [];
      const plain: number[] = [];
      for (let r = 0; r < Math.min(3, repeats); r++) {
        ours.push(time(() => ourCat(result))[0]);
        plain.push(time(() => referenceCat(result))[0]);
      }
      const hover: number[] = [];
      for (let r = 0; r < 300; r++) {
        const token = (r * 7919) % result.tokens.length;
        hover.push(time(() => tokenAttentionRow(result, { mode: r % 2 ? 'head' : 'meanHeads', layer: r % info.layers, head: r % info.heads, direction: 'attendsTo' }, token))[0]);
      }
      const f = median(forwards);
      const a = median(analyses);
      print(`| ${ids.length} | ${f.toFixed(1)} | ${a.toFixed(1)} | ${(a / f).toFixed(2)} | ${median(stages.parseMs).toFixed(1)} | ${median(stages.tokenizeMs).toFixed(1)} | ${median(stages.alignMs).toFixed(1)} | ${median(stages.metricsMs).toFixed(1)} | ${median(ours).toFixed(1)} | ${median(plain).toFixed(1)} | ${(median(plain) / median(ours)).toFixed(2)} | ${percentile(hover, 0.5).toFixed(3)} | ${percentile(hover, 0.95).toFixed(3)} |`);
    }
    const attentionBytes = info.layers * info.heads * 512 * 512 * 4;
    print('');
    print(`Attention of one 512-subword window: ${(attentionBytes / 2 ** 20).toFixed(0)} MiB as float32; peak RSS of this process so far: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
    await analyzer.dispose();
  }
  if (outFile) writeFileSync(outFile, `# Benchmarks\n\nMeasured with \`npm run bench\` (${new Date().toISOString().slice(0, 10)}).\n\n${lines.join('\n')}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
