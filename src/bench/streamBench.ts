/**
 * Time to the first highlight: how long the editor's analysis of a file of `--windows K` windows
 * (default 64) takes until a partial result covers a chosen visible range (about one screen of
 * lines inside one window, in the second half of the file), against one forward pass of that
 * window. The same core path as the editor (`WindowOrder` preferring the visible range,
 * `onPartial`, per-layer reports, the model in its own process); the analysis is stopped once the
 * range is covered. Usage:
 *   node dist/stream-bench.js [--model DIR]... [--windows K] [--repeats N] [--out docs/benchmarks.md]
 * Default models: the bundled one, and models/_work/codebert-shaped when it exists (`npm run bench` builds it).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AnalysisCancelledError, Analyzer, coversTokens, WindowOrder } from '../core/pipeline';
import type { AnalysisResult } from '../core/types';
import { windowSpan } from '../core/windowOrder';
import { planWindows } from '../core/windows';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const root = join(__dirname, '..');
const wantedWindows = Number(option('--windows') ?? 64);
const repeats = Math.max(1, Number(option('--repeats') ?? 3) || 3);
const SCREEN_LINES = 40;
const START = '<!-- first highlight: start -->';
const END = '<!-- first highlight: end -->';

function defaultModels(): string[] {
  return [join(root, 'models', 'code-attention-mini'), join(root, 'models', '_work', 'codebert-shaped')].filter((dir) =>
    existsSync(join(dir, 'model.onnx')),
  );
}

/** `copies` copies of `text`, each copy's functions and classes renamed so that no two windows are alike. */
function distinctCopies(text: string, copies: number): string {
  return Array.from({ length: copies }, (_, copy) => text.replace(/^(\s*)(def|class) (\w+)/gm, `$1$2 $3_${copy}`)).join(
    '\n',
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** The first `lines` lines of enough copies of pprint.py for `windows` windows (the plan of a plain analysis). */
async function inputOfWindows(analyzer: Analyzer, windows: number): Promise<{ text: string; plan: AnalysisResult }> {
  const source = join(root, 'test', 'fixtures', 'pprint.py');
  const base = readFileSync(source, 'utf8');
  let copies = 1;
  while ((await planOnly(analyzer, distinctCopies(base, copies))).windows.length < windows) copies *= 2;
  const lines = distinctCopies(base, copies).split('\n');
  let low = 1;
  let high = lines.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((await planOnly(analyzer, lines.slice(0, middle).join('\n'))).windows.length >= windows) high = middle;
    else low = middle + 1;
  }
  const text = lines.slice(0, low).join('\n');
  return { text, plan: await planOnly(analyzer, text) };
}

/** The windows (no forward pass) a plain analysis of `text` would run. */
async function planOnly(analyzer: Analyzer, text: string): Promise<AnalysisResult> {
  const parsed = await analyzer.parser.parse(text, 'python');
  const plan = planWindows(
    analyzer.model.tokenizer.encodeTokens(parsed.tokens),
    parsed.tokens,
    analyzer.model.info.maxPositions,
    analyzer.model.tokenizer.special,
    parsed.tree,
  );
  return { tokens: parsed.tokens, windows: plan.windows } as unknown as AnalysisResult;
}

interface Measured {
  model: string;
  windows: number;
  kb: number;
  visible: string;
  forwardMs: number;
  firstMs: number;
  parseMs: number;
  passes: number;
}

async function measure(modelDir: string): Promise<Measured> {
  const analyzer = await Analyzer.create({
    modelDir,
    executionProvider: 'cpu',
    grammarsDir: join(root, 'grammars'),
    thread: 'process',
  });
  try {
    const { text, plan } = await inputOfWindows(analyzer, wantedWindows);
    // A screen of lines inside one window in the second half of the file, as if the user scrolled there.
    const target = plan.windows[Math.floor(plan.windows.length * 0.6)];
    const span = windowSpan(target, plan.tokens);
    const firstLine = plan.tokens[target.tokenStart].range.start.line;
    const lastToken = plan.tokens
      .slice(target.tokenStart, target.tokenEnd)
      .filter((token) => token.range.end.line < firstLine + SCREEN_LINES)
      .pop()!;
    const visible = { start: span.start, end: lastToken.endIndex };
    const [first, last] = [target.tokenStart, lastToken.index + 1];
    await analyzer.model.forward(target.ids); // warm-up
    const forwards: number[] = [];
    for (let run = 0; run < Math.max(3, repeats); run++) {
      const started = performance.now();
      await analyzer.model.forward(target.ids);
      forwards.push(performance.now() - started);
    }
    const firsts: number[] = [];
    let parseMs = 0;
    let passes = 0;
    for (let run = 0; run < repeats; run++) {
      const abort = new AbortController();
      const started = performance.now();
      let firstMs: number | undefined;
      const seen = (result: AnalysisResult) => {
        if (firstMs !== undefined || !coversTokens(result, first, last)) return;
        firstMs = performance.now() - started;
        parseMs = result.timings.parseMs + result.timings.tokenizeMs;
        passes = result.windowRuns?.forward ?? 0;
        abort.abort();
      };
      await analyzer
        .analyze(text, 'python', {
          reports: ['catLayers', 'dataFlowLayers'],
          order: new WindowOrder([visible]),
          onPartial: seen,
          signal: abort.signal,
        })
        .then(seen)
        .catch((error: Error) => {
          if (!(error instanceof AnalysisCancelledError)) throw error;
        });
      firsts.push(firstMs!);
    }
    const { info } = analyzer.model;
    return {
      model: `${basename(modelDir)} (${info.layers} × ${info.heads})`,
      windows: plan.windows.length,
      kb: Buffer.byteLength(text) / 1024,
      visible: `lines ${firstLine + 1}–${lastToken.range.end.line + 1} (${last - first} tokens, in window ${
        plan.windows.indexOf(target) + 1
      })`,
      forwardMs: median(forwards),
      firstMs: median(firsts),
      parseMs,
      passes,
    };
  } finally {
    await analyzer.dispose();
  }
}

async function main(): Promise<void> {
  const models = args.flatMap((arg, index) => (arg === '--model' ? [resolve(args[index + 1])] : []));
  if (!models.length) models.push(...defaultModels());
  const rows: string[] = [];
  for (const model of models) {
    const m = await measure(model);
    const ratio = m.firstMs / m.forwardMs;
    const row =
      `| ${m.model} | ${m.windows} windows, ${m.kb.toFixed(0)} KB | ${m.visible} | ${m.forwardMs.toFixed(0)} | ` +
      `${m.firstMs.toFixed(0)} (parse and plan ${m.parseMs.toFixed(0)}, ${m.passes} forward pass) | ` +
      `**${ratio.toFixed(2)}** | ≤ 1.5 (whole file: ${m.windows} passes) |`;
    console.log(row);
    rows.push(row);
  }
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const machine = `${cpus()[0]?.model.trim() ?? 'CPU'}, ${cpus().length} logical cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
  const table = [
    START,
    `Measured with \`node dist/stream-bench.js${args.length ? ' ' + args.join(' ') : ''}\` on ${when} UTC. ` +
      `Machine: ${machine}; Node ${process.version}; medians of ${repeats} runs (forward: of ${Math.max(3, repeats)}).`,
    '',
    '| model | input | visible range | one window’s forward (ms) | time to first highlight (ms) | ratio | goal |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: |',
    ...rows,
    END,
  ].join('\n');
  const out = option('--out');
  if (out) {
    const previous = existsSync(out) ? readFileSync(out, 'utf8') : '';
    const at = previous.indexOf(START);
    const next =
      at >= 0
        ? previous.slice(0, at) + table + previous.slice(previous.indexOf(END) + END.length)
        : `${previous.trimEnd()}\n\n## Visible code first\n\n${table}\n`;
    writeFileSync(out, next);
  }
}

void main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
