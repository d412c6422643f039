/**
 * Analyses a Python input of exactly `--windows K` windows in this process and prints one JSON
 * line: peak RSS, time, the tensor cache's statistics and the bytes the old design would have held.
 * Run in a child process per input, so that each peak RSS is that input's own. Usage:
 *   node memoryProbe.js --model DIR --windows K [--cache-bytes B] [--reports all|editor] [--source FILE] [--grammars
 * DIR]
 *     [--edit]     also re-analyse (as the editor does: per-layer reports) after a one-line edit in the middle
 *                  window, against one window's forward
 *     [--edit-repeats N] N such edits one after another: medians, and the re-analysis' stage times
 *     [--ratios N] also (one window) editor analysis ÷ forward, medians of N, and the faithfulness check
 *                  batched ÷ one pass per token on 8 blanked-out tokens
 *     [--compare DIR] also Compare Models against the model in DIR as the editor runs it (both models
 *                  loaded, as its model cache keeps them; every head's CAT and DFG): the second comparison's
 *                  time ÷ the two forward passes it ran
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compareAnalyses } from '../core/compare';
import { faithfulness } from '../core/metrics/faithfulness';
import { Analyzer, type ReportName } from '../core/pipeline';
import type { StageTimings } from '../core/types';
import { planWindows } from '../core/windows';
import { windowTensorBytes } from '../core/windowTensors';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);

/** `copies` copies of `text`, each copy's functions and classes renamed so that no two windows are alike. */
function distinctCopies(text: string, copies: number): string {
  return Array.from({ length: copies }, (_, copy) => text.replace(/^(\s*)(def|class) (\w+)/gm, `$1$2 $3_${copy}`)).join(
    '\n',
  );
}

async function main(): Promise<void> {
  const modelDir = resolve(option('--model') ?? 'models/code-attention-mini');
  const wanted = Number(option('--windows') ?? 1);
  const cacheBytes = option('--cache-bytes') === undefined ? undefined : Number(option('--cache-bytes'));
  const reports: 'all' | ReportName[] = option('--reports') === 'editor' ? ['catLayers', 'dataFlowLayers'] : 'all';
  const sourceFile =
    option('--source') ??
    ['/usr/lib/python3.11/pprint.py', join(__dirname, '..', '..', 'test', 'fixtures', 'pprint.py')].find(existsSync)!;
  const grammarsDir = option('--grammars');
  const analyzer = await Analyzer.create({
    modelDir,
    executionProvider: 'cpu',
    grammarsDir,
    tensorCacheBytes: cacheBytes,
  });
  try {
    const base = readFileSync(sourceFile, 'utf8');
    const { info } = analyzer.model;
    const windowsOf = async (text: string) => {
      const parsed = await analyzer.parser.parse(text, 'python');
      return planWindows(
        analyzer.model.tokenizer.encodeTokens(parsed.tokens),
        parsed.tokens,
        info.maxPositions,
        analyzer.model.tokenizer.special,
        parsed.tree,
      ).windows.length;
    };
    let copies = 1;
    while ((await windowsOf(distinctCopies(base, copies))) < wanted) copies *= 2;
    const lines = distinctCopies(base, copies).split('\n');
    // The most whole lines that make `wanted` windows (so that each window is nearly full).
    let low = 1;
    let high = lines.length;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((await windowsOf(lines.slice(0, mid).join('\n') + '\n')) <= wanted) low = mid;
      else high = mid - 1;
    }
    const text = lines.slice(0, low).join('\n') + '\n';
    await analyzer.model.forward([0, 2]);
    const baseRss = process.memoryUsage.rss();
    const started = performance.now();
    const result = await analyzer.analyze(text, 'python', { reports });
    const totalMs = performance.now() - started;
    const peakRssMB = process.resourceUsage().maxRSS / 1024;
    const stats = analyzer.tensorCache.stats();
    const layerMeans = analyzer.layerMeans.stats();
    const oldDesignBytes = result.windows.reduce(
      (sum, window) =>
        sum + 4 * info.layers * info.heads * (window.ids.length ** 2 + (window.tokenEnd - window.tokenStart) ** 2),
      0,
    );
    const windowBytes = result.windows.map((window) =>
      windowTensorBytes(
        info.layers,
        info.heads,
        window.ids.length,
        window.tokenEnd - window.tokenStart,
        info.hasValueNorms,
      ),
    );
    const extra: Record<string, unknown> = {};
    const largest = result.windows.reduce((best, window) => (window.ids.length > best.ids.length ? window : best));
    const forwardOf = async (ids: number[]) => {
      const mark = performance.now();
      await analyzer.model.forward(ids);
      return performance.now() - mark;
    };
    if (args.includes('--edit')) {
      // A one-line edit inside the middle window: one identifier renamed where it occurs.
      const editOf = (previous: typeof result) => {
        const middle = previous.windows[Math.floor(previous.windows.length / 2)];
        let at = Math.floor((middle.tokenStart + middle.tokenEnd) / 2);
        while (previous.tokens[at].type !== 'identifier') at++;
        const { endIndex } = previous.tokens[at];
        return previous.source.text.slice(0, endIndex) + '_edited' + previous.source.text.slice(endIndex);
      };
      // --edit-repeats N: N edits one after another (each on the last result), medians against a forward each.
      const repeats = Math.max(1, Number(option('--edit-repeats') ?? 1) || 1);
      const runs: Array<{ ms: number; forwardMs: number; timings: StageTimings }> = [];
      let last = result;
      for (let repeat = 0; repeat < repeats; repeat++) {
        const edited = editOf(last);
        const mark = performance.now();
        last = await analyzer.reanalyze(last, edited, { reports: ['catLayers', 'dataFlowLayers'] });
        runs.push({ ms: performance.now() - mark, forwardMs: await forwardOf(largest.ids), timings: last.timings });
      }
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
      extra.reanalysisMs = median(runs.map((run) => run.ms));
      extra.reanalysisRuns = last.windowRuns;
      extra.oneForwardMs = median(runs.map((run) => run.forwardMs));
      extra.forwardSubwords = largest.ids.length;
      if (repeats > 1)
        extra.reanalysisStagesMs = Object.fromEntries(
          (['parseMs', 'tokenizeMs', 'forwardMs', 'alignMs', 'metricsMs'] as const).map((stage) => [
            stage,
            median(runs.map((run) => run.timings[stage])),
          ]),
        );
    }
    const compareWith = option('--compare');
    if (compareWith) extra.compare = await secondComparison(analyzer, resolve(compareWith), grammarsDir, text);
    const ratios = Number(option('--ratios') ?? 0);
    if (ratios > 0) {
      const forwards: number[] = [];
      const editor: number[] = [];
      for (let r = 0; r < ratios; r++) {
        forwards.push(await forwardOf(largest.ids));
        const mark = performance.now();
        await analyzer.analyze(text, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
        editor.push(performance.now() - mark);
      }
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
      extra.editorOverForward = median(editor) / median(forwards);
      extra.forwardMedianMs = median(forwards);
      extra.editorMedianMs = median(editor);
      extra.forwardSubwords = largest.ids.length;
      const focus = Math.floor((largest.tokenStart + largest.tokenEnd) / 2);
      let mark = performance.now();
      const sequential = await faithfulness(result, analyzer.model, focus, 9, 1);
      const sequentialMs = performance.now() - mark;
      mark = performance.now();
      const batched = await faithfulness(result, analyzer.model, focus, 9, 8);
      const batchedMs = performance.now() - mark;
      extra.faithfulness = {
        tokens: sequential.tokens.length,
        sequentialMs,
        batchedMs,
        ratio: batchedMs / sequentialMs,
        largestOcclusionDifference: Math.max(
          ...batched.occlusion.map((value, index) => Math.abs(value - sequential.occlusion[index])),
        ),
        sameRanks:
          JSON.stringify(batched.views.map((view) => view.spearman)) ===
          JSON.stringify(sequential.views.map((view) => view.spearman)),
      };
    }
    const report = {
      model: info.name,
      windows: result.windows.length,
      bytes: Buffer.byteLength(text, 'utf8'),
      totalMs,
      forwardMs: result.timings.forwardMs,
      baseRssMB: baseRss / 2 ** 20,
      peakRssMB,
      cache: stats,
      largestWindowBytes: Math.max(...windowBytes),
      smallestWindowBytes: Math.min(...windowBytes),
      layerMeans,
      // Layer means as kept (float16), in memory and in the temporary file.
      compactBytes: layerMeans.memoryBytes + layerMeans.spilledBytes,
      oldDesignBytes,
      catLayer0: result.scores.cat?.score.perLayer[0],
      ...extra,
    };
    process.stdout.write(JSON.stringify(report) + '\n');
  } finally {
    await analyzer.dispose();
  }
}

/**
 * Compare Models twice on `text` with both models loaded: the first comparison warms both
 * sessions; the second is timed against the forward passes it ran (their sum over both models).
 */
async function secondComparison(
  analyzer: Analyzer,
  otherDir: string,
  grammarsDir: string | undefined,
  text: string,
): Promise<{ other: string; ms: number; forwardMs: number; ratio: number }> {
  const other = await Analyzer.create({ modelDir: otherDir, executionProvider: 'cpu', grammarsDir });
  try {
    const compareOnce = async () => {
      const results = [];
      for (const model of [analyzer, other])
        results.push(await model.analyze(text, 'python', { reports: ['cat', 'dataFlow'] }));
      compareAnalyses(results[0], results[1]);
      return results;
    };
    await compareOnce();
    const mark = performance.now();
    const results = await compareOnce();
    const ms = performance.now() - mark;
    const forwardMs = results.reduce((sum, result) => sum + result.timings.forwardMs, 0);
    return { other: other.model.info.name, ms, forwardMs, ratio: ms / forwardMs };
  } finally {
    await other.dispose();
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exitCode = 1;
});
