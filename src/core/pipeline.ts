import { performance } from 'node:perf_hooks';
import { withTokenAttention } from './alignment';
import { astDistances, sastDistances, upgradedAstDistances, type DistanceKind } from './astDistance';
import { encodeLeafTokens } from './leafTokens';
import { countResultTypes, dataTypeFilter, newCounters } from './metrics/frequentTypes';
import { DEFAULT_PRESET, describeChoices, type PresetName } from './presets';
import type { TokenMode } from './parser';
import { languageSpec } from './languages';
import { LoadedModel, type LoadModelOptions } from './model';
import { catDefinition, keptTokenIndices, referenceTypeFilter, scoreSnippets, type CatScoreReport, type CatSnippet, type TypeFilter } from './metrics/catScore';
import { extractDataFlow } from './dataflow/dataFlow';
import { dataFlowScore } from './metrics/dataFlowScore';
import { headStatistics } from './metrics/headStatistics';
import { headRoles } from './metrics/specialTokens';
import { structureHeads } from './metrics/structureHeads';
import { CodeParser } from './parser';
import { planWindows } from './windows';
import type { SubwordSequence } from './tokenizer';
import type {
  AnalysisResult,
  AnalysisScores,
  AnalyzedWindow,
  CodeToken,
  ForwardOutput,
  LanguageId,
  PairRule,
  ParsedSource,
  StageTimings,
} from './types';

/** Input the analysis refuses, with a one-line message for the user. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export class AnalysisCancelledError extends Error {
  constructor() {
    super('Analysis cancelled.');
    this.name = 'AnalysisCancelledError';
  }
}

export const DEFAULT_MAX_BYTES = 1_000_000;
/** The result keeps every window's attention tensors; beyond this the file is refused, not swapped. */
export const DEFAULT_MAX_ATTENTION_BYTES = 2 ** 31;

export interface AnalyzeOptions {
  keepComments?: boolean;
  pairRule?: PairRule;
  distance?: DistanceKind;
  /** Token types kept for CAT-score; defaults to the reference's list for the language. */
  typeFilter?: TypeFilter;
  /** Recorded in the result and stated in every report; the caller applies its settings (`presets.ts`). */
  preset?: PresetName;
  tokens?: TokenMode;
  /** Cut the input at this many subwords (incl. `<s>` `</s>`), as the reference does, instead of windows. */
  maxSubwords?: number;
  /** Leaf tokens: feed runs of whitespace as one space, as the reference does (`' '.join(code.split())`). */
  collapseWhitespace?: boolean;
  path?: string;
  version?: number;
  maxBytes?: number;
  /** Limit on the attention tensors the result keeps (subword and code-token, all windows). */
  maxAttentionBytes?: number;
  signal?: AbortSignal;
  onProgress?: (message: string, fraction: number) => void;
  /**
   * Reports computed before `analyze` returns (default: all). The per-head reports cost about as
   * much as the forward pass of a 12-layer model; an editor that shows per-layer scores asks for
   * `catLayers` and `dataFlowLayers` and calls `completeScores` when a view needs the rest.
   */
  reports?: 'all' | readonly ReportName[];
}

/**
 * The metric reports of `AnalysisScores`; `headStatistics` brings `headRoles` with it.
 * `catLayers` and `dataFlowLayers` are CAT and DFG scores of the layers only (head means): they
 * need neither every head aligned nor scored, and `cat`/`dataFlow` later add the heads.
 */
export type ReportName = 'cat' | 'catLayers' | 'dataFlow' | 'dataFlowLayers' | 'headStatistics' | 'structureHeads';
export const ALL_REPORTS: readonly ReportName[] = ['cat', 'dataFlow', 'headStatistics', 'structureHeads'];

export interface AnalyzerOptions extends LoadModelOptions {
  modelDir: string;
  grammarsDir?: string;
}

/** Checks text before any work: empty, binary or oversized input gets a clear message. */
export function checkInput(source: string, maxBytes = DEFAULT_MAX_BYTES): void {
  if (source.trim().length === 0) throw new InputError('The file is empty: there is no code to analyse.');
  if (source.includes('\u0000')) throw new InputError('The file looks binary (it contains NUL bytes): open a source file instead.');
  const replacement = (source.match(/\uFFFD/g) ?? []).length;
  if (replacement > 8 && replacement > source.length / 100) {
    throw new InputError('The file is not valid UTF-8 text (many undecodable bytes): open a source file instead.');
  }
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > maxBytes) {
    throw new InputError(`The file has ${(bytes / 1e6).toFixed(2)} MB; the limit is ${(maxBytes / 1e6).toFixed(2)} MB. Analyse a smaller file or a selection.`);
  }
}

/** Distances over the kept tokens of a window (k×k), by the chosen definition. */
export function keptDistances(parsed: ParsedSource, keptTokens: readonly CodeToken[], distance: DistanceKind): Int32Array {
  if (distance === 'ast') return astDistances(parsed.tree, keptTokens);
  if (distance === 'upgraded') {
    return sastDistances(parsed.tree, parsed.source, languageSpec(parsed.language).commentTypes, keptTokens);
  }
  return upgradedAstDistances(parsed.tree, parsed.tokens, keptTokens);
}

/** An analysis up to its forward passes (see `Analyzer.prepare`). */
interface PreparedAnalysis {
  source: string;
  language: LanguageId;
  options: AnalyzeOptions;
  tokenMode: TokenMode;
  parsed: ParsedSource;
  plan: ReturnType<typeof planWindows>;
  warnings: string[];
  started: number;
  parseMs: number;
  tokenizeMs: number;
  forwardMs: number;
  cancelled: () => void;
}

/**
 * The pipeline: source → tokens → attention → structure → scores. One Analyzer holds one parser
 * and one loaded model; `analyze` may be called many times.
 */
export class Analyzer {
  private constructor(
    readonly parser: CodeParser,
    readonly model: LoadedModel,
  ) {}

  static async create(options: AnalyzerOptions): Promise<Analyzer> {
    const [parser, model] = await Promise.all([CodeParser.create(options.grammarsDir), LoadedModel.load(options.modelDir, options)]);
    return new Analyzer(parser, model);
  }

  async analyze(source: string, language: LanguageId, options: AnalyzeOptions = {}): Promise<AnalysisResult> {
    const prepared = await this.prepare(source, language, options);
    const outputs: ForwardOutput[] = [];
    const windowCount = prepared.plan.windows.length;
    for (const [index, window] of prepared.plan.windows.entries()) {
      prepared.cancelled();
      options.onProgress?.(`Running the model on window ${index + 1} of ${windowCount}`, index / windowCount);
      const mark = performance.now();
      outputs.push(await this.model.forward(window.ids));
      prepared.forwardMs += performance.now() - mark;
    }
    return this.complete(prepared, outputs);
  }

  /**
   * Many snippets with their forward passes batched: windows are sorted by length and run
   * `batchSize` at a time (padded to the longest of each batch). Each entry of the answer is the
   * snippet's result or the error `analyze` would have thrown for it.
   */
  async analyzeMany(
    sources: ReadonlyArray<{ source: string; language: LanguageId }>,
    options: AnalyzeOptions = {},
    batchSize = 8,
  ): Promise<Array<AnalysisResult | Error>> {
    const prepared: Array<PreparedAnalysis | Error> = [];
    for (const { source, language } of sources) {
      prepared.push(await this.prepare(source, language, options).catch((error: Error) => error));
    }
    const windows: Array<{ snippet: number; window: number; ids: number[] }> = [];
    prepared.forEach((entry, snippet) => {
      if (entry instanceof Error) return;
      entry.plan.windows.forEach((window, index) => windows.push({ snippet, window: index, ids: window.ids }));
    });
    windows.sort((a, b) => a.ids.length - b.ids.length || a.snippet - b.snippet || a.window - b.window);
    const outputs = prepared.map((entry) =>
      entry instanceof Error ? [] : new Array<ForwardOutput>(entry.plan.windows.length),
    );
    const failed = new Map<number, Error>();
    for (let from = 0; from < windows.length; from += Math.max(1, batchSize)) {
      const batch = windows.slice(from, from + Math.max(1, batchSize));
      try {
        const results = await this.model.forwardBatch(batch.map((entry) => entry.ids));
        batch.forEach((entry, index) => (outputs[entry.snippet][entry.window] = results[index]));
      } catch (error) {
        if (batch.length === 1) failed.set(batch[0].snippet, error as Error);
        // One failing window fails only its own snippet: the others of the batch run alone.
        else {
          for (const entry of batch) {
            try {
              outputs[entry.snippet][entry.window] = await this.model.forward(entry.ids);
            } catch (single) {
              failed.set(entry.snippet, single as Error);
            }
          }
        }
      }
    }
    return prepared.map((entry, snippet) => {
      if (entry instanceof Error) return entry;
      if (failed.has(snippet)) return failed.get(snippet)!;
      try {
        return this.complete(entry, outputs[snippet]);
      } catch (error) {
        return error as Error;
      }
    });
  }

  /** Everything before the forward passes: checks, parse, subwords, windows. */
  private async prepare(source: string, language: LanguageId, options: AnalyzeOptions): Promise<PreparedAnalysis> {
    languageSpec(language);
    checkInput(source, options.maxBytes);
    const cancelled = () => {
      if (options.signal?.aborted) throw new AnalysisCancelledError();
    };
    const warnings: string[] = [];
    // A model process that died during an earlier analysis starts again here, not midway through this one.
    await this.model.restartIfStopped();
    const started = performance.now();

    const tokenMode = options.tokens ?? 'whole-strings';
    const parsed = await this.parser.parse(source, language, { keepComments: options.keepComments, tokens: tokenMode });
    const parseMs = performance.now() - started;
    if (parsed.tokens.length === 0) throw new InputError('The file has no code tokens (only comments or whitespace).');
    if (parsed.errors.length) {
      const inError = parsed.tokens.filter((token) => token.inError).length;
      warnings.push(`Syntax errors: ${parsed.errors.length} region(s), ${inError} of ${parsed.tokens.length} code tokens inside them; scores include them.`);
    }
    cancelled();

    const mark = performance.now();
    const { sequence, tokensFed } = this.encode(parsed, tokenMode, options, warnings);
    const windowSize = options.maxSubwords ?? this.model.info.maxPositions;
    const plan = planWindows(sequence, tokensFed, windowSize, this.model.tokenizer.special);
    const tokenizeMs = performance.now() - mark;
    if (plan.windows.length > 1) warnings.push(`The file has ${sequence.ids.length} subwords; it was analysed in ${plan.windows.length} windows of at most ${this.model.info.maxPositions}. Attention does not cross windows.`);
    const attentionBytes = plan.windows.reduce((sum, window) => sum + 4 * this.model.info.layers * this.model.info.heads * (window.ids.length ** 2 + (window.tokenEnd - window.tokenStart) ** 2), 0);
    const maxAttentionBytes = options.maxAttentionBytes ?? DEFAULT_MAX_ATTENTION_BYTES;
    if (attentionBytes > maxAttentionBytes) {
      throw new InputError(
        `The file needs ${(attentionBytes / 2 ** 30).toFixed(2)} GiB of attention tensors (${plan.windows.length} windows × ${this.model.info.layers} layers × ${this.model.info.heads} heads); the limit is ${(maxAttentionBytes / 2 ** 30).toFixed(2)} GiB. Analyse a smaller file or a selection.`,
      );
    }
    if (plan.splitTokens.length) {
      warnings.push(`${plan.splitTokens.length} code token(s) have more subwords than a window holds (${this.model.info.maxPositions}); each was split across consecutive windows.`);
    }
    if (!this.model.info.hasValueNorms) warnings.push('The model has no value_norms output: value-weighted attention is unavailable. Re-export with models/export_onnx.py.');

    return {
      source,
      language,
      options,
      tokenMode,
      parsed,
      plan,
      warnings,
      started,
      parseMs,
      tokenizeMs,
      forwardMs: 0,
      cancelled,
    };
  }

  /** Everything after the forward passes (one output per window): alignment, result, scores. */
  private complete(prepared: PreparedAnalysis, outputs: readonly ForwardOutput[]): AnalysisResult {
    const { source, language, options, tokenMode, parsed, plan, warnings } = prepared;
    prepared.cancelled();
    const pairRule = options.pairRule ?? 'mean';
    const distance = options.distance ?? 'ast';
    const mark = performance.now();
    const windows: AnalyzedWindow[] = plan.windows.map((window, index) =>
      withTokenAttention(
        { ...window, subwordAttention: outputs[index].attentions, valueNorms: outputs[index].valueNorms },
        pairRule,
      ),
    );
    const alignMs = performance.now() - mark;
    prepared.cancelled();

    const result: AnalysisResult = {
      schemaVersion: 1,
      source: { path: options.path, language, text: source, version: options.version },
      model: this.model.info,
      device: this.model.device,
      options: {
        keepComments: parsed.keptComments,
        pairRule,
        distance,
        typeFilter: options.typeFilter ?? referenceTypeFilter(language),
        ...(options.preset ? { preset: options.preset } : {}),
        ...(options.tokens ? { tokens: options.tokens } : {}),
        ...(options.maxSubwords ? { maxSubwords: options.maxSubwords } : {}),
        ...(options.collapseWhitespace && tokenMode === 'leaves' ? { collapseWhitespace: true } : {}),
      },
      tree: parsed.tree,
      tokens: parsed.tokens,
      errors: parsed.errors,
      windows,
      scores: {},
      timings: {
        parseMs: prepared.parseMs,
        tokenizeMs: prepared.tokenizeMs,
        forwardMs: prepared.forwardMs,
        alignMs,
        metricsMs: 0,
        totalMs: 0,
      },
      warnings,
      dataFlow: extractDataFlow(parsed),
    };
    completeScores(result, options.reports ?? 'all');
    const timings: StageTimings = result.timings;
    timings.totalMs = performance.now() - prepared.started;
    return result;
  }

  /** Subwords of the file (leaf tokens: by byte offsets, see leafTokens.ts), cut at `maxSubwords` when given. */
  private encode(
    parsed: ParsedSource,
    mode: TokenMode,
    options: AnalyzeOptions,
    warnings: string[],
  ): { sequence: SubwordSequence; tokensFed: CodeToken[] } {
    const maxSubwords = options.maxSubwords;
    if (maxSubwords !== undefined && (maxSubwords > this.model.info.maxPositions || maxSubwords < 3)) {
      const positions = this.model.info.maxPositions;
      throw new InputError(
        `The input cut (${maxSubwords} subwords) must be between 3 and the model's ${positions} positions.`,
      );
    }
    let sequence: SubwordSequence;
    if (mode === 'leaves') {
      const collapseWhitespace = options.collapseWhitespace;
      const encoded = encodeLeafTokens(this.model.tokenizer, parsed, { collapseWhitespace });
      if (encoded.approximateChunks) {
        warnings.push(
          `${encoded.approximateChunks} string literal(s): the tokenizer is not byte-level, ` +
            "so their subwords were all given to the literal's first leaf.",
        );
      }
      sequence = encoded;
    } else sequence = this.model.tokenizer.encodeTokens(parsed.tokens);
    if (!maxSubwords || sequence.ids.length <= maxSubwords - 2) return { sequence, tokensFed: parsed.tokens };
    const body = maxSubwords - 2;
    const lastToken = sequence.tokenOfSubword[body - 1];
    warnings.push(
      `Input cut at ${maxSubwords} subwords (incl. <s> </s>) as the reference does: ${lastToken + 1} of ` +
        `${parsed.tokens.length} code tokens reach the model (${sequence.ids.length} subwords in all); ` +
        'the rest are not scored.',
    );
    return {
      sequence: {
        ids: sequence.ids.slice(0, body),
        pieces: sequence.pieces.slice(0, body),
        tokenOfSubword: sequence.tokenOfSubword.slice(0, body),
      },
      tokensFed: parsed.tokens.slice(0, lastToken + 1),
    };
  }

  async dispose(): Promise<void> {
    this.parser.dispose();
    await this.model.dispose();
  }
}

export interface ScoreOptions {
  distance: DistanceKind;
  typeFilter: TypeFilter;
  pairRule: PairRule;
}

/** The reports among `reports` that `result.scores` lacks (a per-head report makes its per-layer one redundant). */
export function missingReports(result: AnalysisResult, reports: 'all' | readonly ReportName[] = 'all'): ReportName[] {
  const wanted = reports === 'all' ? ALL_REPORTS : reports;
  const scores = result.scores;
  const lacking = (report: ReportName): boolean => {
    switch (report) {
      case 'cat':
        return !scores.cat?.headsScored;
      case 'catLayers':
        return !scores.cat && !wanted.includes('cat');
      case 'dataFlow':
        return result.dataFlow !== undefined && !scores.dataFlow?.headsScored;
      case 'dataFlowLayers':
        return result.dataFlow !== undefined && !scores.dataFlow && !wanted.includes('dataFlow');
      case 'headStatistics':
        return !scores.headStatistics;
      case 'structureHeads':
        return !scores.structureHeads;
    }
  };
  return wanted.filter((report, index) => wanted.indexOf(report) === index && lacking(report));
}

/**
 * The metrics stage: adds to `result.scores` each of `reports` that it does not hold yet, and the
 * time spent to `result.timings.metricsMs`. Views call it with what they show.
 */
export function completeScores(result: AnalysisResult, reports: 'all' | readonly ReportName[] = 'all'): AnalysisScores {
  for (const report of missingReports(result, reports)) computeReport(result, report);
  return result.scores;
}

/**
 * {@link completeScores} one report at a time, yielding to the event loop before each, so that the
 * thread stays responsive between reports (each is one blocking step, at most a few hundred ms for
 * a 12-layer model on 512 subwords). `onReport` hears which report runs next.
 */
export async function completeScoresStepwise(result: AnalysisResult, reports: 'all' | readonly ReportName[] = 'all', onReport?: (report: ReportName, index: number, count: number) => void): Promise<AnalysisScores> {
  const missing = missingReports(result, reports);
  for (const [index, report] of missing.entries()) {
    onReport?.(report, index, missing.length);
    await new Promise((resolve) => setImmediate(resolve));
    if (missingReports(result, [report]).length) computeReport(result, report);
  }
  return result.scores;
}

function computeReport(result: AnalysisResult, report: ReportName): void {
  const started = performance.now();
  const scores = result.scores;
  switch (report) {
    case 'cat':
    case 'catLayers':
      scores.cat = catReport(result, parsedOf(result), result.options, undefined, undefined, report === 'cat');
      break;
    case 'dataFlow':
    case 'dataFlowLayers':
      if (result.dataFlow) scores.dataFlow = dataFlowScore(result, result.dataFlow, report === 'dataFlow');
      break;
    case 'headStatistics':
      scores.headStatistics = headStatistics(result);
      scores.headRoles = headRoles(scores.headStatistics);
      break;
    case 'structureHeads':
      scores.structureHeads = structureHeads(result, result.dataFlow);
      break;
  }
  result.timings.metricsMs += performance.now() - started;
}

/** CAT-score snippets of a result: one per window, over the kept tokens in `[from, to)`. */
export function catSnippets(result: AnalysisResult, parsed: ParsedSource, options: ScoreOptions, from = 0, to = result.tokens.length): { snippets: CatSnippet[]; tokensKept: number } {
  const snippets: CatSnippet[] = [];
  let tokensKept = 0;
  for (const window of result.windows) {
    const start = Math.max(from, window.tokenStart);
    const end = Math.min(to, window.tokenEnd);
    if (end - start < 2) continue;
    const hasSubword = new Uint8Array(end - start);
    for (const token of window.tokenOfSubword) if (token >= start && token < end) hasSubword[token - start] = 1;
    // Leaf tokens can lack subwords (the second quote of `""`); like the reference, they get no row.
    const kept = keptTokenIndices(result.tokens, options.typeFilter, start, end).filter(
      (index) => hasSubword[index - start],
    );
    tokensKept += kept.length;
    if (kept.length < 2) continue;
    const keptTokens = kept.map((index) => result.tokens[index]);
    snippets.push({
      attention: window,
      kept: kept.map((index) => index - window.tokenStart),
      distances: keptDistances(parsed, keptTokens, options.distance),
    });
  }
  return { snippets, tokensKept };
}

/** CAT-score of a result, over the tokens in `[from, to)`; per layer, and per head unless `scoreHeads` is false. */
export function catReport(result: AnalysisResult, parsed: ParsedSource, options: ScoreOptions, from?: number, to?: number, scoreHeads = true): CatScoreReport {
  let typeFilter = options.typeFilter;
  if (typeFilter.kind === 'data' && !typeFilter.typesPerLayer) {
    const counters = newCounters(result.model.layers);
    countResultTypes(counters, result);
    typeFilter = dataTypeFilter(counters, 'this file alone (one snippet per window)');
  }
  const { tokensKept, scored } =
    typeFilter.kind === 'data' && typeFilter.typesPerLayer
      ? scorePerLayerTypes(result, parsed, { ...options, typeFilter }, typeFilter.typesPerLayer, from, to, scoreHeads)
      : scoreAll(result, parsed, options, from, to, scoreHeads);
  const resultOptions = { ...result.options, ...options, typeFilter };
  const preset = { name: resultOptions.preset ?? DEFAULT_PRESET, choices: describeChoices(resultOptions) };
  return {
    definition: catDefinition(typeFilter, options.distance, options.pairRule, undefined, preset),
    headsScored: scoreHeads,
    score: scored.score,
    baseline: scored.baseline,
    snippets: scored.snippets,
    tokensKept,
    pairs: scored.pairs,
    thresholds: scored.thresholds,
  };
}

function scoreAll(
  result: AnalysisResult,
  parsed: ParsedSource,
  options: ScoreOptions,
  from: number | undefined,
  to: number | undefined,
  scoreHeads: boolean,
) {
  const { snippets, tokensKept } = catSnippets(result, parsed, options, from, to);
  return { tokensKept, scored: scoreSnippets(snippets, result.model.layers, result.model.heads, { scoreHeads }) };
}

/** Each layer scored over its own kept types (as one run of the reference per layer); counts are the last layer's. */
function scorePerLayerTypes(
  result: AnalysisResult,
  parsed: ParsedSource,
  options: ScoreOptions,
  typesPerLayer: string[][],
  from: number | undefined,
  to: number | undefined,
  scoreHeads: boolean,
) {
  const layers = result.model.layers;
  let merged: ReturnType<typeof scoreSnippets> | undefined;
  let tokensKept = 0;
  let distanceSum = 0;
  for (let layer = 0; layer < layers; layer++) {
    const layerFilter: TypeFilter = { kind: 'custom', types: typesPerLayer[layer], source: options.typeFilter.source };
    const layerSnippets = catSnippets(result, parsed, { ...options, typeFilter: layerFilter }, from, to);
    const scored = scoreSnippets(layerSnippets.snippets, layers, result.model.heads, { scoreHeads, onlyLayer: layer });
    distanceSum += Number.isFinite(scored.thresholds.distance) ? scored.thresholds.distance : 0;
    if (!merged) merged = scored;
    else {
      merged.score.perLayer[layer] = scored.score.perLayer[layer];
      merged.score.perHead[layer] = scored.score.perHead[layer];
      merged.baseline.perLayer[layer] = scored.baseline.perLayer[layer];
      merged.baseline.perHead[layer] = scored.baseline.perHead[layer];
      merged.thresholds.attentionPerLayer[layer] = scored.thresholds.attentionPerLayer[layer];
      merged.snippets = scored.snippets;
      merged.pairs = scored.pairs;
    }
    tokensKept = layerSnippets.tokensKept;
  }
  merged!.thresholds.distance = distanceSum / layers;
  return { tokensKept, scored: merged! };
}

/** A ParsedSource view of a result (the pipeline keeps everything the parser produced). */
export function parsedOf(result: AnalysisResult): ParsedSource {
  return { language: result.source.language, source: result.source.text, tree: result.tree, tokens: result.tokens, errors: result.errors, keptComments: result.options.keepComments };
}
