import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { isLanguageId, SUPPORTED_LANGUAGE_NAMES } from '../../core/languages';
import {
  catDefinition,
  referenceTypeFilter,
  topTypesFilter,
  type CatDefinition,
  type TypeFilter,
} from '../../core/metrics/catScore';
import { CodeParser, type TokenMode } from '../../core/parser';
import { Analyzer, InputError } from '../../core/pipeline';
import { PRESET_USAGE, PRESET_VALUE_OPTIONS, presetOptions } from '../presetOptions';
import { corpusDataTypes, typeRankingLines } from './corpusTypes';
import type { LanguageId } from '../../core/types';
import { choice, integerOption, option, parseArgs, UsageError } from '../args';
import { terminalText } from '../../presenters/escape';
import { defaultModelDir } from '../common';
import { removeIfPresent, writeAtomically } from '../corpus/files';
import { codeOfLine, parseShard, readCorpusLines, shardPositions, type Shard } from '../corpus/lines';
import { openPool, type ScoringPool } from '../corpus/pool';
import {
  checkOutputs,
  outputPaths,
  printReport,
  writeReport,
  type CorpusInput,
  type CorpusReport,
  type ModelRun,
} from '../corpus/report';
import type { CorpusItem, ScoreSettings } from '../corpus/score';
import { corpusMergeCommand } from './corpusMerge';
import { CorpusTotals, type CorpusTotalsJson } from '../corpus/totals';

export const CORPUS_USAGE = `code-attention corpus FILE.jsonl --language L [--model DIR]... [--device auto|cpu|cuda]
    [--out PREFIX] [--limit N] [--pair-rule mean|sumMean] ${PRESET_USAGE}
    [--types reference|data|top:K]   (kept token types: the per-language list; chosen from the corpus per layer
                                      as the reference's default run; or the K most frequent by raw count)
    [--heads]                   (also the top structure heads over the whole corpus)
    [--batch N] [--workers N]   (snippets per forward pass; model processes — results do not change)
    [--shard K/N] [--resume]    (score every N-th line from the K-th; continue an interrupted run)
  code-attention corpus merge PART.json... --out PREFIX   (shards → the result of one run over the whole file)`;

const STATE_KIND = 'code-attention corpus state';
/** Seconds between state writes while a run goes (and at every stop). */
const STATE_INTERVAL_MS = 1000;

interface ModelState {
  path: string;
  /** Line positions done, as [from, to) ranges. */
  done: Array<[number, number]>;
  totals?: CorpusTotalsJson;
  /** The CAT definition the first scored snippet reported (it states the preset's choices). */
  definition?: CatDefinition;
}

interface StateFile {
  kind: typeof STATE_KIND;
  version: 1;
  input: CorpusInput;
  shard: Shard | null;
  models: ModelState[];
}

export function toRanges(sorted: readonly number[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const value of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === value) last[1]++;
    else ranges.push([value, value + 1]);
  }
  return ranges;
}

/**
 * Default worker processes and intra-op threads each. On the CPU one single-threaded process per
 * core (at most 8): parsing, alignment and the metrics are single-threaded, so processes overlap
 * them where intra-op threads cannot (measured: 2 × 1 scored 1.8–2.0× the snippets/s of 1 × 2
 * on 2 cores, docs/benchmarks.md). On CUDA one process feeds the device.
 */
function defaultParallelism(device: string, workers: number | undefined): { workers: number; threads: number } {
  const cores = Math.max(1, availableParallelism());
  const count = workers ?? (device === 'cuda' ? 1 : Math.min(8, cores));
  return { workers: count, threads: Math.max(1, Math.floor(cores / count)) };
}

export async function corpusCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'merge') {
    return corpusMergeCommand(argv.slice(1));
  }
  const args = parseArgs(
    argv,
    [
      'language',
      'model',
      'device',
      'out',
      'limit',
      'pair-rule',
      'types',
      'batch',
      'workers',
      'shard',
      ...PRESET_VALUE_OPTIONS,
    ],
    ['heads', 'resume'],
  );
  const withHeads = args.flags.has('heads');
  const file = args.positional[0];
  const language = option(args, 'language');
  if (!file || !language) throw new UsageError(`Usage: ${CORPUS_USAGE}`);
  if (!isLanguageId(language))
    throw new InputError(
      `Unknown language "${terminalText(language)}". Supported: ${SUPPORTED_LANGUAGE_NAMES} ` +
        '(use lower case ids: python, java, javascript, typescript, go, ruby, php).',
    );
  const limit = integerOption(args, 'limit', Infinity);
  const explicitTypes = option(args, 'types');
  const preset = presetOptions(args, explicitTypes === undefined ? undefined : explicitTypes === 'data');
  const typesOption = explicitTypes ?? (preset.typesFromData ? 'data' : 'reference');
  const topTypes = /^top:([1-9]\d*)$/.exec(typesOption);
  if (typesOption !== 'reference' && typesOption !== 'data' && !topTypes) {
    throw new UsageError(`--types must be "reference" or "top:K", e.g. top:8, or "data" (got "${typesOption}").`);
  }
  const presetAnalyzeOptions = {
    preset: preset.preset,
    tokens: preset.tokens,
    maxSubwords: preset.maxSubwords,
    collapseWhitespace: preset.collapseWhitespace,
  };
  const device = choice(args, 'device', ['auto', 'cpu', 'cuda'] as const, 'auto');
  const distance = preset.distance;
  const pairRule = choice(args, 'pair-rule', ['mean', 'sumMean'] as const, 'mean');
  const batchOption = args.options.has('batch') ? integerOption(args, 'batch', 1, 1, 4096) : undefined;
  const workersOption = args.options.has('workers') ? integerOption(args, 'workers', 1, 1, 256) : undefined;
  const shardText = option(args, 'shard');
  let shard: Shard | undefined;
  try {
    shard = shardText === undefined ? undefined : parseShard(shardText);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const modelDirs = (args.options.get('model') ?? [defaultModelDir()]).map((dir) => resolve(dir));
  if (new Set(modelDirs).size !== modelDirs.length) throw new UsageError('The same --model is given twice.');
  const out = option(args, 'out') ?? file.replace(/\.jsonl?$/, '') + '.cat';
  const paths = outputPaths(out);

  // Before any work: the outputs can be written, and the input can be read.
  checkOutputs(out);
  const corpus = readCorpusLines(file);
  const total = Math.min(corpus.lines.length, limit);
  const input: CorpusInput = {
    sha256: corpus.sha256,
    lines: total,
    language,
    distance,
    pairRule,
    types: typesOption,
    heads: withHeads,
    limit: Number.isFinite(limit) ? limit : null,
    preset: presetAnalyzeOptions,
  };
  const positions = shardPositions(total, shard);

  let state: StateFile = {
    kind: STATE_KIND,
    version: 1,
    input,
    shard: shard ?? null,
    models: modelDirs.map((path) => ({ path, done: [] })),
  };
  if (existsSync(paths.state)) {
    if (!args.flags.has('resume'))
      throw new InputError(
        `${paths.state} holds an interrupted run: add --resume to continue it, or delete it to start again.`,
      );
    state = readState(paths.state, state);
  } else if (args.flags.has('resume')) {
    process.stderr.write(`nothing to resume (${paths.state} does not exist): starting from the first line\n`);
  }

  const items = new Map<number, CorpusItem>();
  const unreadable = new Map<number, string>();
  for (const position of positions) {
    const parsed = codeOfLine(corpus.lines[position]);
    if ('code' in parsed) items.set(position, { line: position, code: parsed.code });
    else unreadable.set(position, parsed.skipped);
  }
  let typeFilter: TypeFilter | undefined;
  let typeRanking: string[] = [];
  if (topTypes) {
    const counts = await countTokenTypes(corpus.lines.slice(0, total), language, preset.tokens);
    typeFilter = topTypesFilter(counts, Number(topTypes[1]));
  }
  if (typesOption === 'data') {
    // Chosen over every line (whatever the shard), with each model in turn as the reference does
    // for one: the first model's choice is kept for all, so that models are scored on the same types.
    const codes = corpus.lines.slice(0, total).map((line) => {
      const parsed = codeOfLine(line);
      return 'code' in parsed ? parsed.code : undefined;
    });
    const analyzer = await Analyzer.create({ modelDir: modelDirs[0], executionProvider: device });
    try {
      const chosen = await corpusDataTypes(analyzer, codes, language, { distance, pairRule, ...presetAnalyzeOptions });
      typeFilter = chosen.filter;
      typeRanking = typeRankingLines(chosen.counters);
    } finally {
      await analyzer.dispose();
    }
  }
  const fallbackDefinition = catDefinition(typeFilter ?? referenceTypeFilter(language), distance, pairRule);

  let interrupted = false;
  let activePool: ScoringPool | undefined;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(
      '\ninterrupted: finishing the batch in hand and writing what is done (SIGINT again to stop at once)\n',
    );
    if (activePool && activePool.size > 1) void activePool.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const runs: ModelRun[] = [];
  let lastStateWrite = 0;
  const saveState = (force: boolean) => {
    if (!force && Date.now() - lastStateWrite < STATE_INTERVAL_MS) return;
    writeAtomically(paths.state, JSON.stringify(state) + '\n');
    lastStateWrite = Date.now();
  };
  try {
    for (const [modelIndex, modelDir] of modelDirs.entries()) {
      if (interrupted) break;
      const modelState = state.models[modelIndex];
      const done = new Set<number>();
      for (const [from, to] of modelState.done) for (let position = from; position < to; position++) done.add(position);
      const parallelism = defaultParallelism(device, workersOption);
      const pool = await openPool({
        modelDir,
        device,
        workers: parallelism.workers,
        threadsPerWorker: parallelism.threads,
      });
      activePool = pool;
      const totals = modelState.totals ? CorpusTotals.fromJSON(modelState.totals) : new CorpusTotals(pool.info.layers);
      if (totals.layers !== pool.info.layers)
        throw new InputError(
          `${paths.state} was written for a model with ${totals.layers} layers, not ${modelDir}. ` +
            `Delete it to start again.`,
        );
      const run: ModelRun = {
        info: pool.info,
        device: pool.device,
        definition: modelState.definition ?? fallbackDefinition,
        totals,
      };
      runs.push(run);
      // On the CPU padding costs more than batching saves for models of this size (docs/benchmarks.md).
      const batch = batchOption ?? (pool.device === 'cuda' ? 32 : 1);
      const settings: ScoreSettings = {
        language,
        distance,
        pairRule,
        typeFilter,
        heads: withHeads,
        batch,
        analyze: presetAnalyzeOptions,
      };
      const markDone = (positionsDone: number[]) => {
        for (const position of positionsDone) done.add(position);
        modelState.done = toRanges([...done].sort((a, b) => a - b));
        modelState.totals = totals.toJSON();
      };
      // Lines without code are settled at once; they count as done.
      const settled: number[] = [];
      for (const [position, reason] of unreadable) {
        if (done.has(position)) continue;
        totals.add({ line: position, skipped: reason });
        settled.push(position);
      }
      markDone(settled);
      const remaining = positions.filter((position) => !done.has(position) && items.has(position));
      const chunkSize = batch * 4;
      const chunks: CorpusItem[][] = [];
      for (let from = 0; from < remaining.length; from += chunkSize)
        chunks.push(remaining.slice(from, from + chunkSize).map((position) => items.get(position)!));
      const label = modelDirs.length > 1 ? `${pool.info.name}: ` : '';
      const progress = () => process.stderr.write(`\r${label}${done.size}/${positions.length} snippets`);
      progress();
      const started = Date.now();
      const doneBefore = done.size;
      try {
        const inFlight = new Set<Promise<void>>();
        let next = 0;
        while ((next < chunks.length || inFlight.size) && !interrupted) {
          while (next < chunks.length && inFlight.size < pool.size && !interrupted) {
            const chunk = chunks[next++];
            const task: Promise<void> = pool
              .score(chunk, settings)
              .then(
                (outcomes) => {
                  for (const outcome of outcomes) {
                    totals.add(outcome);
                    if (outcome.definition && !modelState.definition)
                      run.definition = modelState.definition = outcome.definition;
                    delete outcome.definition;
                  }
                  markDone(outcomes.map((outcome) => outcome.line));
                  saveState(false);
                  progress();
                },
                (error: Error) => {
                  if (!interrupted) throw error;
                },
              )
              .finally(() => inFlight.delete(task));
            inFlight.add(task);
          }
          if (inFlight.size) await Promise.race(inFlight);
        }
        await Promise.allSettled(inFlight);
      } finally {
        activePool = undefined;
        await pool.close();
      }
      const seconds = (Date.now() - started) / 1000;
      const scored = done.size - doneBefore;
      process.stderr.write(
        `\n${label}scored ${scored} lines in ${seconds.toFixed(1)} s ` +
          `(${(scored / Math.max(seconds, 1e-3)).toFixed(1)} ` +
          (`snippets/s; batch ${batch}, ${pool.size} worker process${pool.size > 1 ? 'es' : ''} × ${parallelism.threads} ` +
            `intra-op threads, ${pool.device})\n`),
      );
      saveState(true);
    }
  } catch (error) {
    if (lastStateWrite || state.models.some((model) => model.done.length)) saveState(true);
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const linesDone = state.models.reduce(
    (sum, model) => sum + model.done.reduce((count, [from, to]) => count + to - from, 0),
    0,
  );
  const linesTotal = positions.length * modelDirs.length;
  const complete = !interrupted && linesDone === linesTotal;
  const report: CorpusReport = {
    file,
    input,
    shard,
    runs,
    typeRanking,
    ...(complete
      ? {}
      : { partial: { linesDone, linesTotal, reason: `interrupted; continue with --resume (${paths.state})` } }),
  };
  if (runs.length) {
    const written = await writeReport(out, report);
    printReport(report, out, written.png);
  }
  if (!complete) {
    saveState(true);
    process.stderr.write(
      `interrupted after ${linesDone} of ${linesTotal} lines; the progress is in ${paths.state}: run ` +
        `the same command with --resume to continue\n`,
    );
    return 130;
  }
  removeIfPresent(paths.state);
  return runs.every((run) => run.totals.catSnippets > 0) ? 0 : 1;
}

function readState(path: string, fresh: StateFile): StateFile {
  let state: StateFile;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as StateFile;
  } catch (error) {
    throw new InputError(
      `${path} is not a readable corpus state (${(error as Error).message}). Delete it to start again.`,
    );
  }
  if (state?.kind !== STATE_KIND || state.version !== 1 || !Array.isArray(state.models))
    throw new InputError(`${path} is not a corpus state file. Delete it to start again.`);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(state.input, fresh.input) || !same(state.shard, fresh.shard)) {
    throw new InputError(
      `${path} belongs to another run (a different input file, options or shard). Run with the same ` +
        `file and options, or delete it to start again.`,
    );
  }
  if (
    !same(
      state.models.map((model) => model.path),
      fresh.models.map((model) => model.path),
    )
  ) {
    throw new InputError(
      `${path} was written for the models ${state.models.map((model) => model.path).join(', ')}; give ` +
        `the same --model folders, or delete it to start again.`,
    );
  }
  return state;
}

/**
 * Code-token type frequencies over the corpus (comments excluded, as in the analysis): all lines,
 * whatever the shard, so that every shard keeps the same types.
 */
async function countTokenTypes(
  lines: readonly string[],
  language: LanguageId,
  tokens: TokenMode,
): Promise<Map<string, number>> {
  const parser = await CodeParser.create();
  const counts = new Map<string, number>();
  try {
    for (const line of lines) {
      const parsed = codeOfLine(line);
      if (!('code' in parsed)) continue;
      try {
        for (const token of (await parser.parse(parsed.code, language, { tokens })).tokens)
          counts.set(token.type, (counts.get(token.type) ?? 0) + 1);
      } catch {
        // Snippets the parser refuses are reported by the scoring pass.
      }
    }
  } finally {
    parser.dispose();
  }
  return counts;
}
