import { performance } from 'node:perf_hooks';
import { alignAttentionAhead, alignLayerMeanSteps } from './alignment';
import type { DistanceKind } from './astDistance';
import { leafTokenSteps } from './leafTokens';
import { countResultTypes, dataTypeFilter, newCounters } from './metrics/frequentTypes';
import { DEFAULT_PRESET, describeChoices, type PresetName } from './presets';
import type { TokenMode } from './parser';
import { languageSpec } from './languages';
import { LayerMeanStore, type LayerMeanStoreOptions, type LayerMeans } from './layerMeans';
import { LoadedModel, type LoadModelOptions } from './model';
import {
  catDefinition,
  finishCat,
  keptTokenIndices,
  mergeCatAccumulator,
  newCatAccumulator,
  referenceTypeFilter,
  scoreSnippets,
  type CatScoreReport,
  type CatSnippet,
  type TypeFilter,
} from './metrics/catScore';
import { extractDataFlow } from './dataflow/dataFlow';
import { headRoles } from './metrics/specialTokens';
import { CodeParser } from './parser';
import { keptDistances, type ScoreOptions } from './scoreOptions';
import { runStepsSliced, Slicer } from './slices';
import { causalSnippetAccumulator } from './metrics/causalCat';
import { rawTextSteps } from './rawText';
import { DECODER_PREFIX_SHARE, planDecoderWindows, planWindows } from './windows';
import { WindowOrder, windowSpan, type PendingWindow } from './windowOrder';
import type { SubwordSequence } from './tokenizer';
import {
  carryPartials,
  catFromPartials,
  causalCatDefinition,
  dataFlowFromPartials,
  ensurePartial,
  headStatisticsFromPartials,
  needsTensors,
  ScoreContext,
  sinksFromPartials,
  structureHeadsFromPartials,
  type WindowReport,
} from './windowScores';
import {
  AnalyzedWindowRecord,
  attachedKey,
  attachTensorSource,
  defaultTensorCacheBytes,
  residentTensors,
  TensorCache,
  TensorsReleasedError,
  tensorsOf,
  tensorSourceOf,
  windowKey,
  windowTensorBytes,
  windowTensors,
  type TensorSource,
  type WindowTensors,
} from './windowTensors';
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

export { keptDistances, type ScoreOptions } from './scoreOptions';
export { coversOffset, coversTokens, WindowOrder, type TextSpan } from './windowOrder';
export { residentTensors, TensorCache, TensorsReleasedError, windowTensors, type WindowTensors } from './windowTensors';

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
  signal?: AbortSignal;
  onProgress?: (message: string, fraction: number) => void;
  /**
   * Reports computed before `analyze` returns (default: all). The per-head reports cost about as
   * much as the forward pass of a 12-layer model; an editor that shows per-layer scores asks for
   * `catLayers` and `dataFlowLayers` and calls `completeScores` when a view needs the rest.
   */
  reports?: 'all' | readonly ReportName[];
  /**
   * Code-token indices where windows start wherever the run up to the next one fits (a previous
   * plan's starts, re-anchored); `reanalyze` passes them when they let more windows be reused.
   */
  windowStarts?: readonly number[];
  /**
   * Which windows run first (default: file order, windows kept by `reanalyze` first); the caller
   * may change its preferred spans while the analysis runs (the editor's visible ranges).
   */
  order?: WindowOrder;
  /**
   * Hears a partial result after each window but the last: the windows done so far (file order)
   * with the per-layer reports summed over them, `partial` saying how many. The final result is
   * the one an analysis without `onPartial` gives.
   */
  onPartial?: (partial: AnalysisResult) => void;
}

/**
 * The metric reports of `AnalysisScores`; `headStatistics` brings `headRoles` with it.
 * `catLayers` and `dataFlowLayers` are CAT and DFG scores of the layers only (head means): they
 * need neither every head aligned nor scored, and `cat`/`dataFlow` later add the heads.
 */
export type ReportName =
  'cat' | 'catLayers' | 'dataFlow' | 'dataFlowLayers' | 'headStatistics' | 'structureHeads' | 'sinks';
/**
 * Every report. A decoder's result also has `sinks` (always computed with its windows: it is
 * cheap), and its `headStatistics` and `structureHeads` are the causal ones (rows over j ≤ i,
 * chance levels per row support; docs/causal.md).
 */
export const ALL_REPORTS: readonly ReportName[] = ['cat', 'dataFlow', 'headStatistics', 'structureHeads', 'sinks'];

export interface AnalyzerOptions extends LoadModelOptions {
  modelDir: string;
  grammarsDir?: string;
  /**
   * Bytes of full attention tensors kept for recently used windows (default: two of the model's
   * largest windows, at most 256 MiB), least recently used evicted first; an evicted window costs
   * one forward pass when a view of one head, rollout, flow or value-weighted attention, or a
   * per-head report needs it again.
   */
  tensorCacheBytes?: number;
  /** How every window's layer means are kept (layerMeans.ts): float16 or float32, memory limit, spill folder. */
  layerMeans?: LayerMeanStoreOptions;
}

/** Checks text before any work: empty, binary or oversized input gets a clear message. */
export function checkInput(source: string, maxBytes = DEFAULT_MAX_BYTES): void {
  if (source.trim().length === 0) throw new InputError('The file is empty: there is no code to analyse.');
  if (source.includes('\u0000'))
    throw new InputError('The file looks binary (it contains NUL bytes): open a source file instead.');
  const replacement = (source.match(/\uFFFD/g) ?? []).length;
  if (replacement > 8 && replacement > source.length / 100) {
    throw new InputError('The file is not valid UTF-8 text (many undecodable bytes): open a source file instead.');
  }
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > maxBytes) {
    throw new InputError(
      `The file has ${(bytes / 1e6).toFixed(2)} MB; the limit is ${(maxBytes / 1e6).toFixed(2)} MB. ` +
        `Analyse a smaller file or a selection.`,
    );
  }
}

/**
 * The pipeline: source → tokens → attention → structure → scores. One Analyzer holds one parser,
 * one loaded model and one cache of recent windows' tensors; `analyze` may be called many times.
 */
export class Analyzer {
  private readonly sources = new Map<PairRule, TensorSource>();
  private disposed = false;

  private constructor(
    readonly parser: CodeParser,
    readonly model: LoadedModel,
    readonly tensorCache: TensorCache,
    /** Every analysed window's layer means, compact and spilled to a temporary file past a memory limit. */
    readonly layerMeans: LayerMeanStore,
  ) {}

  static async create(options: AnalyzerOptions): Promise<Analyzer> {
    // Bad limits are refused before the model loads.
    if (options.tensorCacheBytes !== undefined) new TensorCache(options.tensorCacheBytes);
    const layerMeans = new LayerMeanStore(options.layerMeans);
    const [parser, model] = await Promise.all([
      CodeParser.create(options.grammarsDir),
      LoadedModel.load(options.modelDir, options),
    ]);
    const { layers, heads, maxPositions, hasValueNorms } = model.info;
    const cache = new TensorCache(
      options.tensorCacheBytes ?? defaultTensorCacheBytes(layers, heads, maxPositions, hasValueNorms),
    );
    return new Analyzer(parser, model, cache, layerMeans);
  }

  /** `window`'s layer means in this analyzer's store (shared, not copied, when they are there already). */
  private layerMeansOf(window: AnalyzedWindow): LayerMeans {
    return window instanceof AnalyzedWindowRecord && window.layerMeans.store === this.layerMeans
      ? window.layerMeans
      : this.layerMeans.put(window.layerAttention);
  }

  /** Forward passes run since this analyzer was made to recompute evicted windows. */
  get recomputedWindows(): number {
    return [...this.sources.values()].reduce((sum, source) => sum + source.recomputed, 0);
  }

  private tensorSource(rule: PairRule): TensorSource {
    let source = this.sources.get(rule);
    if (!source) {
      const { info } = this.model;
      const model = this.model;
      source = {
        prefix: `${info.path}|${rule}`,
        cache: this.tensorCache,
        rule,
        layers: info.layers,
        heads: info.heads,
        hasValueNorms: info.hasValueNorms,
        forward: async (ids) => {
          // A model process that died since the analysis starts again for the recomputation.
          await model.restartIfStopped();
          return model.forward(ids);
        },
        stopped: () => this.disposed,
        recomputed: 0,
      };
      this.sources.set(rule, source);
    }
    return source;
  }

  analyze(source: string, language: LanguageId, options: AnalyzeOptions = {}): Promise<AnalysisResult> {
    return this.run(source, language, options);
  }

  /**
   * Analyses `text`, an edited version of `previous`'s source, with `previous`'s options unless
   * `options` says otherwise. A window whose subwords (ids, and which token owns each) are
   * unchanged keeps its layer means and, where the structure it was scored against is unchanged
   * too, its score sums; only the other windows run the model. The result is the one a fresh
   * `analyze(text)` gives.
   */
  reanalyze(previous: AnalysisResult, text: string, options: AnalyzeOptions = {}): Promise<AnalysisResult> {
    const inherited: AnalyzeOptions = {
      keepComments: previous.options.keepComments,
      pairRule: previous.options.pairRule,
      distance: previous.options.distance,
      typeFilter: previous.options.typeFilter,
      path: previous.source.path,
    };
    return this.run(text, previous.source.language, { ...inherited, ...options }, previous);
  }

  /**
   * Many snippets with their forward passes batched: the snippets are analysed together, and their
   * windows' forward passes are gathered into batches of up to `batchSize` (sorted by length,
   * padded to the longest of each batch). Each entry of the answer is the snippet's result or the
   * error `analyze` would have thrown for it.
   */
  async analyzeMany(
    sources: ReadonlyArray<{ source: string; language: LanguageId }>,
    options: AnalyzeOptions = {},
    batchSize = 8,
  ): Promise<Array<AnalysisResult | Error>> {
    const batcher = new ForwardBatcher(this.model, Math.max(1, batchSize), sources.length);
    return Promise.all(
      sources.map(({ source, language }) =>
        this.run(source, language, options, undefined, (ids) => batcher.forward(ids))
          .then(
            (result): AnalysisResult | Error => result,
            (error: Error) => error,
          )
          .finally(() => batcher.done()),
      ),
    );
  }

  private async run(
    source: string,
    language: LanguageId,
    options: AnalyzeOptions,
    previous?: AnalysisResult,
    forward: (ids: readonly number[]) => Promise<ForwardOutput> = (ids) => this.model.forward(ids),
  ): Promise<AnalysisResult> {
    languageSpec(language);
    checkInput(source, options.maxBytes);
    const pairRule = options.pairRule ?? 'mean';
    const distance = options.distance ?? 'ast';
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
      warnings.push(
        `Syntax errors: ${parsed.errors.length} region(s), ${inError} of ${parsed.tokens.length} code ` +
          `tokens inside them; scores include them.`,
      );
    }
    cancelled();

    let mark = performance.now();
    const { info } = this.model;
    // The host thread runs this: each stage below gives the event loop a turn (slices.ts).
    const slicer = new Slicer();
    const { sequence, tokensFed } = await this.encode(parsed, tokenMode, options, warnings, slicer);
    const windowSize = options.maxSubwords ?? info.maxPositions;
    const tensorSource = this.tensorSource(pairRule);
    const reusable = new Map<string, AnalyzedWindow[]>();
    for (const window of previous?.windows ?? []) {
      if (tensorSourceOf(window) !== tensorSource) continue;
      const key = attachedKey(window) ?? windowKey(window, tensorSource.prefix);
      reusable.set(key, [...(reusable.get(key) ?? []), window]);
    }
    const causal = info.causal === true;
    const planFor = (starts?: readonly number[]) =>
      causal
        ? planDecoderWindows(
            sequence,
            tokensFed,
            windowSize,
            this.model.tokenizer.special,
            info.addBos === true,
            parsed.tree,
            starts && new Set(starts),
          )
        : planWindows(
            sequence,
            tokensFed,
            windowSize,
            this.model.tokenizer.special,
            parsed.tree,
            starts && new Set(starts),
          );
    let plan = planFor(options.windowStarts);
    if (previous && !options.windowStarts) {
      // Where the edited window overflowed, a fresh plan moves the cuts after it; the previous cuts may still fit.
      const reusedBy = (candidate: typeof plan) =>
        candidate.windows.filter((window) => reusable.has(windowKey(window, tensorSource.prefix))).length;
      const kept = planFor(previousStarts(previous, tokensFed));
      if (reusedBy(kept) > reusedBy(plan)) plan = kept;
    }
    const tokenizeMs = performance.now() - mark;
    if (plan.windows.length > 1 && causal)
      warnings.push(
        `The file has ${sequence.ids.length} subwords; it was analysed in ${plan.windows.length} ` +
          `windows of at most ${windowSize}, each after the first starting with up to ` +
          `${Math.floor(windowSize * DECODER_PREFIX_SHARE)} subwords of the code before it as context ` +
          '(not scored again). Attention does not reach further back.',
      );
    else if (plan.windows.length > 1)
      warnings.push(
        `The file has ${sequence.ids.length} subwords; it was analysed in ${plan.windows.length} ` +
          `windows of at most ${info.maxPositions}. Attention does not cross windows.`,
      );
    if (plan.splitTokens.length) {
      warnings.push(
        `${plan.splitTokens.length} code token(s) have more subwords than a window holds ` +
          `(${info.maxPositions}); each was split across consecutive windows.`,
      );
    }
    if (!info.hasValueNorms)
      warnings.push(
        'The model has no value_norms output: value-weighted attention is unavailable. Re-export with ' +
          'models/export_onnx.py.',
      );

    const typeFilter = options.typeFilter ?? referenceTypeFilter(language);
    // Claimed in file order, so that of two identical windows the first gets the first earlier one.
    const earlierOf = plan.windows.map((window) => reusable.get(windowKey(window, tensorSource.prefix))?.shift());
    const pending: PendingWindow[] = plan.windows.map((window, index) => ({
      index,
      span: windowSpan(window, tokensFed),
      reused: earlierOf[index] !== undefined,
    }));
    const order = options.order ?? new WindowOrder();
    // The first window that needs the model starts its forward pass before the data-flow graph is
    // built: with the model in its own process (the editor) the two overlap, so the first highlight
    // does not wait for the whole file's graph.
    const prefetched = startFirstForward(pending, order, (index) => forward(plan.windows[index].ids));
    await slicer.yield();
    const dataFlow = extractDataFlow(parsed);
    await slicer.yield();
    const context = new ScoreContext(
      parsed,
      { distance, typeFilter, pairRule },
      dataFlow,
      info.layers,
      info.heads,
      causal,
    );
    // Data-chosen types need every window's attention before any window is scored: CAT then runs after the windows.
    const wanted = windowReports(options.reports ?? 'all', dataFlow !== undefined, causal).filter(
      ([report]) => report !== 'cat' || typeFilter.kind !== 'data',
    );

    let forwardMs = 0;
    let alignMs = 0;
    let metricsMs = 0;
    let forwardPasses = 0;
    let reused = 0;
    const done: Array<AnalyzedWindow | undefined> = plan.windows.map(() => undefined);
    const resultOf = (windows: AnalyzedWindow[], partial?: AnalysisResult['partial']): AnalysisResult => ({
      schemaVersion: 1,
      source: { path: options.path, language, text: source, version: options.version },
      model: info,
      device: this.model.device,
      options: {
        keepComments: parsed.keptComments,
        pairRule,
        distance,
        typeFilter,
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
      timings: { parseMs, tokenizeMs, forwardMs, alignMs, metricsMs, totalMs: performance.now() - started },
      warnings: [...warnings],
      dataFlow,
      ...(causal ? { causal: true as const } : {}),
      windowRuns: { forward: forwardPasses, reused },
      ...(partial ? { partial } : {}),
    });
    while (pending.length) {
      cancelled();
      const index = order.next(pending);
      pending.splice(
        pending.findIndex((entry) => entry.index === index),
        1,
      );
      const window = plan.windows[index];
      const key = windowKey(window, tensorSource.prefix);
      const earlier = earlierOf[index];
      let record: AnalyzedWindowRecord;
      let tensors: WindowTensors | undefined;
      if (earlier) {
        record = new AnalyzedWindowRecord(window, this.layerMeansOf(earlier));
        carryPartials(earlier, record);
        reused++;
      } else {
        options.onProgress?.(
          `Running the model on window ${index + 1} of ${plan.windows.length}`,
          (plan.windows.length - pending.length - 1) / plan.windows.length,
        );
        mark = performance.now();
        let output: ForwardOutput;
        if (prefetched?.index === index) {
          output = await prefetched.output;
          forwardMs += prefetched.elapsedMs();
        } else {
          output = await forward(window.ids);
          forwardMs += performance.now() - mark;
        }
        forwardPasses++;
        mark = performance.now();
        tensors = tensorsOf(window, output, pairRule);
        const layerMeans = await runStepsSliced(alignLayerMeanSteps(output.attentions, window, pairRule), slicer);
        record = new AnalyzedWindowRecord(window, this.layerMeans.put(layerMeans));
        alignMs += performance.now() - mark;
        tensorSource.cache.put(
          key,
          tensors,
          windowTensorBytes(
            info.layers,
            info.heads,
            window.ids.length,
            window.tokenEnd - window.tokenStart,
            info.hasValueNorms,
          ),
        );
      }
      attachTensorSource(record, tensorSource, key);
      mark = performance.now();
      for (const [report, heads] of wanted) {
        await slicer.yieldIfDue();
        if (ensurePartial(context, record, report, heads, tensors)) continue;
        // A carried-over window scored against a structure that changed: its tensors again (cache or one pass).
        tensors = await windowTensors(record);
        ensurePartial(context, record, report, heads, tensors);
      }
      metricsMs += performance.now() - mark;
      done[index] = record;
      if (options.onPartial && pending.length) {
        cancelled();
        const windowsSoFar = done.filter((entry): entry is AnalyzedWindow => entry !== undefined);
        const partial = resultOf(windowsSoFar, {
          windowsDone: windowsSoFar.length,
          windowsTotal: plan.windows.length,
        });
        // Only the reports whose window sums are all there (not data-chosen CAT types, which need every window).
        for (const report of withSinks(missingReports(partial, options.reports ?? 'all'), partial))
          if (wanted.some(([name]) => name === windowReportOf(report)[0])) assignReport(partial, report, context);
        options.onPartial(partial);
      }
    }
    cancelled();

    const result = resultOf(done as AnalyzedWindow[]);
    for (const report of withSinks(missingReports(result, options.reports ?? 'all'), result)) {
      await slicer.yieldIfDue();
      mark = performance.now();
      assignReport(result, report, context);
      result.timings.metricsMs += performance.now() - mark;
    }
    const timings: StageTimings = result.timings;
    timings.totalMs = performance.now() - started;
    return result;
  }

  /** Subwords of the file (leaf tokens: by byte offsets, see leafTokens.ts), cut at `maxSubwords` when given. */
  private async encode(
    parsed: ParsedSource,
    mode: TokenMode,
    options: AnalyzeOptions,
    warnings: string[],
    slicer: Slicer,
  ): Promise<{ sequence: SubwordSequence; tokensFed: CodeToken[] }> {
    const maxSubwords = options.maxSubwords;
    if (maxSubwords !== undefined && (maxSubwords > this.model.info.maxPositions || maxSubwords < 3)) {
      const positions = this.model.info.maxPositions;
      throw new InputError(
        `The input cut (${maxSubwords} subwords) must be between 3 and the model's ${positions} positions.`,
      );
    }
    let sequence: SubwordSequence;
    if (this.model.info.tokenization === 'raw-text') {
      if (maxSubwords !== undefined)
        throw new InputError(
          'The input cut (maxSubwords) is the encoder reference’s; a decoder reads the file in overlapping windows.',
        );
      const encoded = await runStepsSliced(rawTextSteps(this.model.tokenizer, parsed.source, parsed.tokens), slicer);
      if (encoded.spanningSubwords)
        warnings.push(
          `${encoded.spanningSubwords} subword(s) span two or more code tokens (as \`):\`); ` +
            'each belongs to the first, and a token left without a subword of its own has no row.',
        );
      if (encoded.approximate)
        warnings.push(
          "The tokenizer's pieces do not add up to the file's bytes (neither byte-level nor SentencePiece): " +
            'subwords were placed on code tokens by their share of the text, approximately.',
        );
      if (!encoded.tokenOfSubword.some((token) => token >= 0))
        throw new InputError('No subword of the file falls on a code token: there is no code to analyse.');
      return { sequence: encoded, tokensFed: parsed.tokens };
    }
    if (mode === 'leaves') {
      const collapseWhitespace = options.collapseWhitespace;
      const encoded = await runStepsSliced(
        leafTokenSteps(this.model.tokenizer, parsed, { collapseWhitespace }),
        slicer,
      );
      if (encoded.approximateChunks) {
        warnings.push(
          `${encoded.approximateChunks} string literal(s): the tokenizer is not byte-level, ` +
            "so their subwords were all given to the literal's first leaf.",
        );
      }
      sequence = encoded;
    } else sequence = await runStepsSliced(this.model.tokenizer.encodeTokenSteps(parsed.tokens), slicer);
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
    this.disposed = true;
    this.parser.dispose();
    this.tensorCache.clear();
    this.layerMeans.dispose();
    await this.model.dispose();
  }
}

/**
 * The previous plan's window starts as token indices of the new text: tokens before the edit keep
 * their index, tokens after it shift by the change in token count (both checked by text and
 * offset); starts inside the edit are dropped.
 */
function previousStarts(previous: AnalysisResult, tokens: readonly CodeToken[]): number[] {
  const oldTokens = previous.tokens;
  const shift = tokens.length - oldTokens.length;
  const textShift =
    tokens.length && oldTokens.length
      ? tokens[tokens.length - 1].endIndex - oldTokens[oldTokens.length - 1].endIndex
      : 0;
  const starts: number[] = [];
  for (const window of previous.windows) {
    // A decoder window's start is where its scored tokens start (its prefix comes from the cut before).
    const start = window.scoredStart ?? window.tokenStart;
    const old = oldTokens[start];
    const same = tokens[start];
    const moved = tokens[start + shift];
    if (!old) continue;
    if (same && same.text === old.text && same.startIndex === old.startIndex) starts.push(start);
    else if (moved && moved.text === old.text && moved.startIndex === old.startIndex + textShift)
      starts.push(start + shift);
  }
  return starts;
}

/** A decoder's sink report comes with every analysis, whichever reports were asked for (its sums are cheap). */
function withSinks(reports: ReportName[], result: AnalysisResult): ReportName[] {
  return result.causal && !result.scores.sinks && !reports.includes('sinks') ? [...reports, 'sinks'] : reports;
}

/** The per-window sums an analysis computes for `reports`, with whether heads are scored. */
function windowReports(
  reports: 'all' | readonly ReportName[],
  hasDataFlow: boolean,
  causal: boolean,
): Array<[WindowReport, boolean]> {
  const list = reports === 'all' ? ALL_REPORTS : reports;
  const wanted: Array<[WindowReport, boolean]> = [];
  if (list.includes('cat') || list.includes('catLayers')) wanted.push(['cat', list.includes('cat')]);
  if (hasDataFlow && (list.includes('dataFlow') || list.includes('dataFlowLayers')))
    wanted.push(['dataFlow', list.includes('dataFlow')]);
  if (causal) wanted.push(['sinks', true]);
  if (list.includes('headStatistics')) wanted.push(['headStatistics', true]);
  if (list.includes('structureHeads')) wanted.push(['structureHeads', true]);
  return wanted;
}

function windowReportOf(report: ReportName): [WindowReport, boolean] {
  switch (report) {
    case 'cat':
    case 'catLayers':
      return ['cat', report === 'cat'];
    case 'dataFlow':
    case 'dataFlowLayers':
      return ['dataFlow', report === 'dataFlow'];
    default:
      return [report, true];
  }
}

/** Sets `result.scores`' entry for `report` from the windows' sums (which must be there). */
function assignReport(result: AnalysisResult, report: ReportName, context: ScoreContext): void {
  const scores = result.scores;
  const [windowReport, heads] = windowReportOf(report);
  switch (windowReport) {
    case 'cat':
      scores.cat =
        result.options.typeFilter.kind === 'data'
          ? catReport(result, parsedOf(result), result.options, undefined, undefined, heads)
          : catFromPartials(context, result.windows, heads, preset(result.options));
      break;
    case 'dataFlow':
      if (result.dataFlow) scores.dataFlow = dataFlowFromPartials(context, result.windows, heads);
      break;
    case 'headStatistics':
      scores.headStatistics = headStatisticsFromPartials(context, result.windows);
      scores.headRoles = headRoles(scores.headStatistics);
      break;
    case 'structureHeads':
      scores.structureHeads = structureHeadsFromPartials(context, result.windows);
      break;
    case 'sinks':
      scores.sinks = sinksFromPartials(context, result.windows);
      break;
  }
}

function contextOf(result: AnalysisResult): ScoreContext {
  return new ScoreContext(
    parsedOf(result),
    result.options,
    result.dataFlow,
    result.model.layers,
    result.model.heads,
    result.causal === true,
  );
}

/** The window's tensors without a forward pass: cached, or held by a window made outside the pipeline. */
function tensorsAtHand(window: AnalyzedWindow): WindowTensors | undefined {
  return (
    residentTensors(window) ?? (Object.prototype.hasOwnProperty.call(window, 'subwordAttention') ? window : undefined)
  );
}

/** The reports among `reports` that `result.scores` lacks (a per-head report makes its per-layer one redundant). */
/** A forward pass started ahead of its turn in the analysis loop, and how long it ran. */
interface PrefetchedForward {
  index: number;
  output: Promise<ForwardOutput>;
  elapsedMs(): number;
}

/** Starts the forward pass of the first window `order` would pick among those that need the model. */
function startFirstForward(
  pending: readonly PendingWindow[],
  order: WindowOrder,
  forward: (index: number) => Promise<ForwardOutput>,
): PrefetchedForward | undefined {
  const needModel = pending.filter((entry) => !entry.reused);
  if (!needModel.length) return undefined;
  const index = order.next(needModel);
  const begun = performance.now();
  let ended: number | undefined;
  const output = forward(index).finally(() => (ended = performance.now()));
  // Awaited in the loop; when the analysis stops before (cancelled, or a later stage threw), dropped.
  output.catch(() => undefined);
  return { index, output, elapsedMs: () => (ended ?? performance.now()) - begun };
}

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
      case 'sinks':
        return result.causal === true && !scores.sinks;
    }
  };
  return wanted.filter((report, index) => wanted.indexOf(report) === index && lacking(report));
}

/**
 * The metrics stage: adds to `result.scores` each of `reports` that it does not hold yet, and the
 * time spent to `result.timings.metricsMs`. Synchronous: a per-head report reads the windows'
 * tensors from the cache and throws {@link TensorsReleasedError} when one was evicted — use
 * {@link completeScoresStepwise}, which recomputes them, for a file larger than the cache.
 */
export function completeScores(result: AnalysisResult, reports: 'all' | readonly ReportName[] = 'all'): AnalysisScores {
  const missing = missingReports(result, reports);
  if (!missing.length) return result.scores;
  const context = contextOf(result);
  for (const report of missing) {
    const started = performance.now();
    const [windowReport, heads] = windowReportOf(report);
    const byWindow =
      windowReport === 'cat'
        ? result.options.typeFilter.kind !== 'data'
        : windowReport !== 'dataFlow' || result.dataFlow;
    if (byWindow) {
      for (const window of result.windows) {
        if (!ensurePartial(context, window, windowReport, heads, tensorsAtHand(window)))
          throw new TensorsReleasedError(`completeScores (${report})`);
      }
    }
    assignReport(result, report, context);
    result.timings.metricsMs += performance.now() - started;
  }
  return result.scores;
}

/**
 * {@link completeScores} for any file size, yielding to the event loop between steps. The windows
 * come first, one at a time: each per-head report's sums of a window are computed from its tensors
 * (cached, or recomputed with one forward pass), so each evicted window costs one pass whatever the
 * number of reports. Then the reports are finished one by one; `onReport` hears which is finished
 * next and `onWindow` how many windows are done.
 */
export async function completeScoresStepwise(
  result: AnalysisResult,
  reports: 'all' | readonly ReportName[] = 'all',
  onReport?: (report: ReportName, index: number, count: number) => void,
  onWindow?: (done: number, count: number) => void,
): Promise<AnalysisScores> {
  const missing = missingReports(result, reports);
  const context = contextOf(result);
  const byWindow = (report: WindowReport) =>
    report === 'cat' ? result.options.typeFilter.kind !== 'data' : report !== 'dataFlow' || result.dataFlow;
  const parts = missing
    .map(windowReportOf)
    .filter(([report, heads]) => needsTensors(report, heads) && byWindow(report));
  // Each window's alignment of every head and each of its reports is a slice of its own (slices.ts).
  const slicer = new Slicer();
  if (parts.length) {
    for (const [index, window] of result.windows.entries()) {
      await slicer.yield();
      let started = performance.now();
      const lacking = parts.filter(([report, heads]) => !ensurePartial(context, window, report, heads));
      if (lacking.length) {
        const tensors = tensorsAtHand(window) ?? (await windowTensors(window));
        if (lacking.some(([report]) => report !== 'headStatistics')) {
          const { pairRule } = result.options;
          await alignAttentionAhead(tensors.subwordAttention, window, pairRule, slicer);
        }
        for (const [report, heads] of lacking) {
          result.timings.metricsMs += performance.now() - started;
          await slicer.yieldIfDue();
          started = performance.now();
          ensurePartial(context, window, report, heads, tensors);
        }
      }
      result.timings.metricsMs += performance.now() - started;
      onWindow?.(index + 1, result.windows.length);
    }
  }
  for (const [index, report] of missing.entries()) {
    onReport?.(report, index, missing.length);
    await slicer.yield();
    if (!missingReports(result, [report]).length) continue;
    // completeScores' loop, sliced: checking a window's sums recomputes the structure they were scored against.
    const [windowReport, heads] = windowReportOf(report);
    if (byWindow(windowReport)) {
      for (const window of result.windows) {
        await slicer.yieldIfDue();
        const started = performance.now();
        if (!ensurePartial(context, window, windowReport, heads, tensorsAtHand(window)))
          throw new TensorsReleasedError(`completeScores (${report})`);
        result.timings.metricsMs += performance.now() - started;
      }
    }
    await slicer.yieldIfDue();
    const started = performance.now();
    assignReport(result, report, context);
    result.timings.metricsMs += performance.now() - started;
  }
  return result.scores;
}

/** CAT-score snippets of a result: one per window, over the kept tokens in `[from, to)`. */
export function catSnippets(
  result: AnalysisResult,
  parsed: ParsedSource,
  options: ScoreOptions,
  from = 0,
  to = result.tokens.length,
): { snippets: Array<CatSnippet & { firstRow: number }>; tokensKept: number } {
  const snippets: Array<CatSnippet & { firstRow: number }> = [];
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
    const scoredStart = window.scoredStart ?? window.tokenStart;
    const firstRow = kept.filter((index) => index < scoredStart).length;
    tokensKept += kept.length - firstRow;
    if (kept.length < 2 || firstRow === kept.length) continue;
    const keptTokens = kept.map((index) => result.tokens[index]);
    snippets.push({
      attention: window,
      kept: kept.map((index) => index - window.tokenStart),
      distances: keptDistances(parsed, keptTokens, options.distance),
      firstRow,
    });
  }
  return { snippets, tokensKept };
}

/** CAT-score of a result, over the tokens in `[from, to)`; per layer, and per head unless `scoreHeads` is false. */
export function catReport(
  result: AnalysisResult,
  parsed: ParsedSource,
  options: ScoreOptions,
  from?: number,
  to?: number,
  scoreHeads = true,
): CatScoreReport {
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
  const definition = catDefinition(
    typeFilter,
    options.distance,
    options.pairRule,
    undefined,
    preset({ ...result.options, ...options, typeFilter }),
  );
  return {
    definition: result.causal ? causalCatDefinition(definition) : definition,
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
  const { layers, heads } = result.model;
  if (!result.causal) return { tokensKept, scored: scoreSnippets(snippets, layers, heads, { scoreHeads }) };
  const total = newCatAccumulator(layers, heads);
  for (const snippet of snippets)
    mergeCatAccumulator(total, causalSnippetAccumulator(snippet, snippet.firstRow, layers, heads, { scoreHeads }));
  return { tokensKept, scored: finishCat(total) };
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

/** The preset and choices a CAT definition states. */
function preset(options: AnalysisResult['options']): { name: PresetName; choices: ReturnType<typeof describeChoices> } {
  return { name: options.preset ?? DEFAULT_PRESET, choices: describeChoices(options) };
}

/** A ParsedSource view of a result (the pipeline keeps everything the parser produced). */
export function parsedOf(result: AnalysisResult): ParsedSource {
  return {
    language: result.source.language,
    source: result.source.text,
    tree: result.tree,
    tokens: result.tokens,
    errors: result.errors,
    keptComments: result.options.keepComments,
  };
}

/**
 * Gathers the forward passes of analyses that run together into batches: a batch runs when it is
 * full or when every unfinished analysis is waiting for its window, one batch at a time. A batch
 * that fails runs again one window at a time, so that one bad window fails only its own snippet.
 */
class ForwardBatcher {
  private pending: Array<{
    ids: readonly number[];
    resolve: (output: ForwardOutput) => void;
    reject: (error: Error) => void;
  }> = [];
  private busy = false;

  constructor(
    private readonly model: LoadedModel,
    private readonly size: number,
    private active: number,
  ) {}

  forward(ids: readonly number[]): Promise<ForwardOutput> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ids, resolve, reject });
      this.flush();
    });
  }

  /** One analysis finished (or failed): it will ask for no more windows. */
  done(): void {
    this.active--;
    this.flush();
  }

  private flush(): void {
    if (this.busy || !this.pending.length) return;
    if (this.pending.length < this.size && this.pending.length < this.active) return;
    this.pending.sort((a, b) => a.ids.length - b.ids.length);
    const batch = this.pending.splice(0, this.size);
    this.busy = true;
    void this.run(batch).finally(() => {
      this.busy = false;
      this.flush();
    });
  }

  private async run(batch: ForwardBatcher['pending']): Promise<void> {
    try {
      const outputs = await this.model.forwardBatch(batch.map((entry) => entry.ids));
      batch.forEach((entry, index) => entry.resolve(outputs[index]));
    } catch {
      for (const entry of batch) {
        try {
          entry.resolve(await this.model.forward(entry.ids));
        } catch (error) {
          entry.reject(error as Error);
        }
      }
    }
  }
}
