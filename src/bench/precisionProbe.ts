/**
 * What keeping the layer means in float16 does to every score: analyses real files with every
 * report twice, once with float32 layer means (exact) and once with float16, and prints one JSON
 * line with the largest differences per score. Usage:
 *   node dist/precision-probe.js --model DIR [--grammars DIR] FILE...
 * Per-head scores, head statistics and structure heads read the full tensors, not the layer
 * means; they are compared too, to show they are identical.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { languageForFile } from '../core/languages';
import { Analyzer, catReport, parsedOf } from '../core/pipeline';
import type { AnalysisResult, LayerHeadScores } from '../core/types';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const files = args.filter((arg, index) => !arg.startsWith('--') && !args[index - 1]?.startsWith('--'));

function largest(a: readonly number[], b: readonly number[]): number {
  let worst = 0;
  a.forEach((value, index) => {
    const other = b[index];
    if (Number.isNaN(value) && Number.isNaN(other)) return;
    worst = Math.max(worst, Math.abs(value - other));
  });
  return worst;
}

const perHead = (scores: LayerHeadScores) => scores.perHead.flat();

async function analyseAll(modelDir: string, precision: 'float16' | 'float32') {
  const analyzer = await Analyzer.create({
    modelDir,
    executionProvider: 'cpu',
    grammarsDir: option('--grammars'),
    layerMeans: { precision },
  });
  try {
    const results: Array<{ result: AnalysisResult; dataTypes: ReturnType<typeof catReport> }> = [];
    for (const file of files) {
      const language = languageForFile(file)!;
      const result = await analyzer.analyze(readFileSync(file, 'utf8'), language, { path: file });
      // The reference's default run: types chosen from this file's attention (which reads the layer means).
      const dataTypes = catReport(
        result,
        parsedOf(result),
        { ...result.options, typeFilter: { kind: 'data', types: 'all', source: 'this file' } },
        undefined,
        undefined,
        false,
      );
      results.push({ result, dataTypes });
    }
    return results;
  } finally {
    await analyzer.dispose();
  }
}

async function main(): Promise<void> {
  const modelDir = resolve(option('--model') ?? 'models/code-attention-mini');
  const exact = await analyseAll(modelDir, 'float32');
  const half = await analyseAll(modelDir, 'float16');
  const worst: Record<string, number> = {};
  const note = (name: string, value: number) => (worst[name] = Math.max(worst[name] ?? 0, value));
  let typesChanged = 0;
  let meanRelative = 0;
  let windows = 0;
  for (const [index, { result, dataTypes }] of exact.entries()) {
    const other = half[index];
    const [a, b] = [result.scores, other.result.scores];
    note('CAT per layer', largest(a.cat!.score.perLayer, b.cat!.score.perLayer));
    note('CAT baseline per layer', largest(a.cat!.baseline.perLayer, b.cat!.baseline.perLayer));
    note(
      'CAT attention threshold per layer (relative)',
      Math.max(
        ...a.cat!.thresholds.attentionPerLayer.map(
          (value, layer) => Math.abs(value - b.cat!.thresholds.attentionPerLayer[layer]) / value,
        ),
      ),
    );
    note('CAT per head', largest(perHead(a.cat!.score), perHead(b.cat!.score)));
    note(
      'CAT, types chosen from the data, per layer',
      largest(dataTypes.score.perLayer, other.dataTypes.score.perLayer),
    );
    const typesOf = (report: typeof dataTypes) =>
      JSON.stringify([report.definition.keptTypes, report.definition.keptTypesPerLayer]);
    if (typesOf(dataTypes) !== typesOf(other.dataTypes)) typesChanged++;
    if (a.dataFlow && b.dataFlow) {
      note('DFG share per layer', largest(a.dataFlow.score.perLayer, b.dataFlow.score.perLayer));
      note('DFG baseline per layer', largest(a.dataFlow.baseline.perLayer, b.dataFlow.baseline.perLayer));
      note('DFG share per head', largest(perHead(a.dataFlow.score), perHead(b.dataFlow.score)));
    }
    note('head statistics (any field)', JSON.stringify(a.headStatistics) === JSON.stringify(b.headStatistics) ? 0 : 1);
    note('structure heads (any field)', JSON.stringify(a.structureHeads) === JSON.stringify(b.structureHeads) ? 0 : 1);
    for (const [w, window] of result.windows.entries()) {
      const x = window.layerAttention.data;
      const y = other.result.windows[w].layerAttention.data;
      let relative = 0;
      // Relative to the largest value of the window: what a threshold or a share compares against.
      let top = 0;
      for (let i = 0; i < x.length; i++) top = Math.max(top, x[i]);
      for (let i = 0; i < x.length; i++) relative = Math.max(relative, Math.abs(x[i] - y[i]) / top);
      meanRelative = Math.max(meanRelative, relative);
      windows++;
    }
  }
  process.stdout.write(
    JSON.stringify({
      model: exact[0]?.result.model.name,
      files: files.length,
      windows,
      worst,
      dataTypesChanged: typesChanged,
      layerMeanLargestDifferenceOverWindowMax: meanRelative,
    }) + '\n',
  );
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exitCode = 1;
});
