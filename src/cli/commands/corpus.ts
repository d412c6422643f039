import { writeFileSync } from 'node:fs';
import { FileRefusedError, readTextSafely } from '../../core/files';
import { isLanguageId, SUPPORTED_LANGUAGE_NAMES } from '../../core/languages';
import { topTypesFilter, type CatDefinition, type TypeFilter } from '../../core/metrics/catScore';
import type { TokenMode } from '../../core/parser';
import { PRESET_USAGE, PRESET_VALUE_OPTIONS, presetOptions } from '../presetOptions';
import { corpusDataTypes, typeRankingLines } from './corpusTypes';
import { mergeStructureHeads, type StructureHeadsReport } from '../../core/metrics/structureHeads';
import { Analyzer, InputError, type ReportName } from '../../core/pipeline';
import type { LanguageId } from '../../core/types';
import { choice, integerOption, option, parseArgs, UsageError } from '../args';
import { terminalText } from '../../presenters/escape';
import { defaultModelDir } from '../common';
import { csv, table } from '../format';
import { structureHeadsTable } from './analyze';

export const CORPUS_USAGE = `code-attention corpus FILE.jsonl --language L [--model DIR] [--device auto|cpu|cuda]
    [--out PREFIX] [--limit N] [--pair-rule mean|sumMean] ${PRESET_USAGE}
    [--types reference|data|top:K]   (kept token types: the per-language list; chosen from the corpus per layer
                                      as the reference's default run; or the K most frequent by raw count)
    [--heads]                   (also the top structure heads over the whole corpus)`;

/** The largest JSONL corpus read at once (well below the longest string V8 holds, about 512 MiB). */
export const MAX_CORPUS_BYTES = 256 * 2 ** 20;

interface Series {
  values: number[][];
}

/** Mean and sample standard deviation over snippets, per layer. */
export function meanAndSpread(series: Series, layers: number): Array<{ layer: number; mean: number; std: number; n: number }> {
  return Array.from({ length: layers }, (_, layer) => {
    const values = series.values.map((row) => row[layer]).filter((value) => Number.isFinite(value));
    const n = values.length;
    const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
    const variance = n > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1) : 0;
    return { layer, mean, std: Math.sqrt(variance), n };
  });
}

export async function corpusCommand(argv: string[]): Promise<number> {
  const valueOptions = ['language', 'model', 'device', 'out', 'limit', 'pair-rule', 'types', ...PRESET_VALUE_OPTIONS];
  const args = parseArgs(argv, valueOptions, ['heads']);
  const withHeads = args.flags.has('heads');
  const file = args.positional[0];
  const language = option(args, 'language');
  if (!file || !language) throw new UsageError(`Usage: ${CORPUS_USAGE}`);
  if (!isLanguageId(language)) {
    throw new InputError(
      `Unknown language "${terminalText(language)}". Supported: ${SUPPORTED_LANGUAGE_NAMES} ` +
        '(use lower case ids: python, java, javascript, typescript, go, ruby, php).',
    );
  }
  let lines: string[];
  try {
    const limitHint = 'split the corpus into smaller files';
    const text = readTextSafely(file, { maxBytes: MAX_CORPUS_BYTES, label: file, limitHint });
    lines = text.split('\n').filter((line) => line.trim());
  } catch (error) {
    if (error instanceof FileRefusedError) throw new InputError(error.message);
    throw new InputError(`Cannot read ${file}: ${(error as Error).message}.`);
  }
  const limit = integerOption(args, 'limit', Infinity);
  const explicitTypes = option(args, 'types');
  const preset = presetOptions(args, explicitTypes === undefined ? undefined : explicitTypes === 'data');
  const typesOption = explicitTypes ?? (preset.typesFromData ? 'data' : 'reference');
  const topTypes = /^top:([1-9]\d*)$/.exec(typesOption);
  if (typesOption !== 'reference' && typesOption !== 'data' && !topTypes) {
    throw new UsageError(`--types must be "reference" or "top:K", e.g. top:8, or "data" (got "${typesOption}").`);
  }
  const out = option(args, 'out') ?? file.replace(/\.jsonl?$/, '') + '.cat';
  const analyzer = await Analyzer.create({ modelDir: option(args, 'model') ?? defaultModelDir(), executionProvider: choice(args, 'device', ['auto', 'cpu', 'cuda'] as const, 'auto') });
  const distance = preset.distance;
  const presetAnalyzeOptions = {
    preset: preset.preset,
    tokens: preset.tokens,
    maxSubwords: preset.maxSubwords,
    collapseWhitespace: preset.collapseWhitespace,
  };
  let typeRanking: string[] = [];
  const pairRule = choice(args, 'pair-rule', ['mean', 'sumMean'] as const, 'mean');
  const scores: Series = { values: [] };
  const baselines: Series = { values: [] };
  const dataFlowScores: Series = { values: [] };
  const dataFlowBaselines: Series = { values: [] };
  const structureReports: StructureHeadsReport[] = [];
  const skipped: Record<string, number> = {};
  let definition: unknown;
  const total = Math.min(lines.length, limit);
  const codes: Array<string | undefined> = lines.slice(0, total).map((line) => {
    let code: unknown;
    try {
      const record = JSON.parse(line);
      code = record.code ?? record.original_string;
    } catch {
      skipped['invalid JSON'] = (skipped['invalid JSON'] ?? 0) + 1;
      return undefined;
    }
    if (typeof code === 'string') return code;
    skipped['no code or original_string field'] = (skipped['no code or original_string field'] ?? 0) + 1;
    return undefined;
  });
  try {
    let typeFilter: TypeFilter | undefined;
    if (topTypes) {
      typeFilter = topTypesFilter(await countTokenTypes(analyzer, codes, language, preset.tokens), Number(topTypes[1]));
    }
    if (typesOption === 'data') {
      const chosen = await corpusDataTypes(analyzer, codes, language, { distance, pairRule, ...presetAnalyzeOptions });
      typeFilter = chosen.filter;
      typeRanking = typeRankingLines(chosen.counters);
    }
    for (let index = 0; index < total; index++) {
      const code = codes[index];
      if (code === undefined) continue;
      try {
        const reports: ReportName[] = ['catLayers', 'dataFlowLayers', ...(withHeads ? ['structureHeads' as const] : [])];
        const options = { distance, pairRule, typeFilter, ...presetAnalyzeOptions, reports };
        const result = await analyzer.analyze(code, language, options);
        if (result.scores.structureHeads) structureReports.push(result.scores.structureHeads);
        const cat = result.scores.cat!;
        definition ??= cat.definition;
        if (cat.snippets > 0) {
          scores.values.push(cat.score.perLayer);
          baselines.values.push(cat.baseline.perLayer);
        } else skipped['too few kept tokens'] = (skipped['too few kept tokens'] ?? 0) + 1;
        const dataFlow = result.scores.dataFlow;
        if (dataFlow && dataFlow.tokens > 0) {
          dataFlowScores.values.push(dataFlow.score.perLayer);
          dataFlowBaselines.values.push(dataFlow.baseline.perLayer);
        }
      } catch (error) {
        const reason = error instanceof InputError ? error.message : `error: ${(error as Error).message}`;
        skipped[reason] = (skipped[reason] ?? 0) + 1;
      }
      process.stderr.write(`\r${index + 1}/${total} snippets`);
    }
    process.stderr.write('\n');
  } finally {
    await analyzer.dispose();
  }
  const layers = analyzer.model.info.layers;
  const score = meanAndSpread(scores, layers);
  const baseline = meanAndSpread(baselines, layers);
  const dataFlowScore = meanAndSpread(dataFlowScores, layers);
  const dataFlowBaseline = meanAndSpread(dataFlowBaselines, layers);
  const structureHeads = mergeStructureHeads(structureReports);
  const rows = score.map((entry, layer) => [String(layer), entry.mean, entry.std, baseline[layer].mean, baseline[layer].std, String(entry.n)]);
  const headers = ['layer', 'cat_mean', 'cat_std', 'baseline_mean', 'baseline_std', 'snippets'];
  writeFileSync(`${out}.csv`, csv(headers, rows));
  writeFileSync(
    `${out}.json`,
    JSON.stringify({ file, language, model: analyzer.model.info, device: analyzer.model.device, definition, snippets: scores.values.length, skipped, perLayer: score.map((entry, layer) => ({ ...entry, baselineMean: baseline[layer].mean, baselineStd: baseline[layer].std })),
      dataFlow: { snippets: dataFlowScores.values.length, perLayer: dataFlowScore.map((entry, layer) => ({ ...entry, baselineMean: dataFlowBaseline[layer].mean, baselineStd: dataFlowBaseline[layer].std })) },
      ...(structureHeads ? { structureHeads } : {}) }, null, 2) + '\n',
  );
  const skippedNote = Object.entries(skipped).map(([why, n]) => `${n} (${terminalText(why)})`).join('; ');
  const modelName = terminalText(analyzer.model.info.displayName);
  const scored = `${modelName}, ${language}, ${scores.values.length} snippets scored`;
  process.stdout.write(scored + (skippedNote ? `, skipped: ${skippedNote}` : '') + '\n\n');
  const choices = (definition as CatDefinition | undefined)?.choices ?? [];
  if (choices.length) process.stdout.write(`${choices.join('\n')}\n`);
  if (typeRanking.length) {
    const heading = 'kept types per layer, with the share of their pair memberships above the attention quantile:';
    process.stdout.write(`${heading}\n${typeRanking.join('\n')}\n`);
  }
  process.stdout.write('\n');
  process.stdout.write(table(['layer', 'CAT mean', 'CAT std', 'baseline', 'baseline std', 'n'], rows) + '\n');
  if (dataFlowScores.values.length) {
    process.stdout.write(`\nShare of attention on data-flow edges (${dataFlowScores.values.length} snippets with data flow; baseline: same offsets, graph ignored)\n`);
    process.stdout.write(table(['layer', 'DFG mean', 'DFG std', 'baseline', 'baseline std', 'n'], dataFlowScore.map((entry, layer) => [String(layer), entry.mean, entry.std, dataFlowBaseline[layer].mean, dataFlowBaseline[layer].std, String(entry.n)])) + '\n');
  }
  if (structureHeads) process.stdout.write(`\n${structureHeadsTable(structureHeads)}\n`);
  process.stdout.write(`\nwrote ${out}.json and ${out}.csv\n`);
  return scores.values.length ? 0 : 1;
}

/** Code-token type frequencies over the corpus (comments excluded, as in the analysis). */
async function countTokenTypes(
  analyzer: Analyzer,
  codes: ReadonlyArray<string | undefined>,
  language: LanguageId,
  tokens: TokenMode,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const code of codes) {
    if (code === undefined) continue;
    try {
      const parsed = await analyzer.parser.parse(code, language, { tokens });
      for (const token of parsed.tokens) counts.set(token.type, (counts.get(token.type) ?? 0) + 1);
    } catch {
      // Snippets the parser refuses are reported by the scoring pass.
    }
  }
  return counts;
}
