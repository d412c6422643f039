import * as path from 'node:path';
import * as vscode from 'vscode';
import { isLanguageId } from '../core/languages';
import { ModelLoadError, type ModelEntry } from '../core/model';
import { type Analyzer, coversOffset, WindowOrder } from '../core/pipeline';
import type { AnalysisResult, ExecutionProviderSetting, LanguageId } from '../core/types';
import { messageText } from '../presenters/escape';
import { settings } from './config';
import type { ModelCache } from './modelCache';
import { ModelList } from './modelList';
import {
  AnalysisFlights,
  analysisLog,
  failureMessage,
  focusSpans,
  loggedModelCache,
  notePartial,
  sameSetup,
  withNotification,
  joinedRun,
  type InFlight,
} from './analysisRuns';
import { unsupportedLanguageMessage } from '../presenters/status';

const SELECTED_MODEL_KEY = 'codeAttention.selectedModel';

/**
 * Owns the loaded model and the analyses of open documents: one Analyzer per (model folder,
 * execution provider), results cached per document version, at most one analysis in flight per
 * document. A result is only ever returned for the exact version it was computed on.
 */
export class AnalysisService implements vscode.Disposable {
  private readonly models: ModelCache;
  private readonly modelList: ModelList;
  private readonly results = new Map<string, AnalysisResult>();
  private readonly inFlight = new AnalysisFlights();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly invalidated = new vscode.EventEmitter<void>();
  private readonly runningChanged = new vscode.EventEmitter<vscode.Uri>();
  private readonly partialChanged = new vscode.EventEmitter<vscode.Uri>();
  /** Documents already told that their language is not supported (told once per document). */
  private readonly toldUnsupported = new Set<string>();
  /** Why the last analysis of a document version failed (too large, binary, model missing …). */
  private readonly failures = new Map<string, { version: number; message: string }>();
  readonly onDidChangeResult = this.changed.event;
  /** Every result and the loaded model were dropped (another model, provider or model list). */
  readonly onDidInvalidate = this.invalidated.event;
  /** An analysis of a document started, progressed or ended ({@link running} tells which). */
  readonly onDidChangeRunning = this.runningChanged.event;
  /** More windows of a document's analysis in flight are done ({@link partialFor} has them). */
  readonly onDidChangePartial = this.partialChanged.event;
  lastResult: AnalysisResult | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.models = loggedModelCache(path.join(context.extensionPath, 'grammars'), output);
    this.modelList = new ModelList(context.extensionPath, output);
  }

  /** Bundled models first, then folders from the `codeAttention.models` setting. */
  availableModels(): ModelEntry[] {
    return this.modelList.available();
  }

  /** Tells the user, once per document, which languages are supported. Returns the language when supported. */
  supportedLanguageOrNotify(document: vscode.TextDocument): LanguageId | undefined {
    const language = AnalysisService.languageOf(document);
    if (language) return language;
    const key = document.uri.toString();
    if (!this.toldUnsupported.has(key)) {
      this.toldUnsupported.add(key);
      void vscode.window.showInformationMessage(unsupportedLanguageMessage(document.languageId));
    }
    return undefined;
  }

  selectedModelPath(): string | undefined {
    const stored = this.context.workspaceState.get<string>(SELECTED_MODEL_KEY);
    const models = this.availableModels();
    return models.find((model) => model.path === stored)?.path ?? models[0]?.path;
  }

  async selectModel(modelPath: string): Promise<void> {
    await this.context.workspaceState.update(SELECTED_MODEL_KEY, modelPath);
    this.invalidate();
  }

  invalidate(): void {
    this.inFlight.abortAll();
    this.results.clear();
    this.failures.clear();
    this.models.clear();
    this.invalidated.fire();
  }

  /** The selected model (or `modelPath`), loaded once and kept warm in the model cache. */
  getAnalyzer(modelPath = this.selectedModelPath()): Promise<Analyzer> {
    if (!modelPath) {
      const where = 'Add an exported model folder to the "codeAttention.models" setting.';
      return Promise.reject(new ModelLoadError(`No model is available. ${where}`));
    }
    const settingsOf = vscode.workspace.getConfiguration('codeAttention');
    return this.models.get(modelPath, settingsOf.get<ExecutionProviderSetting>('executionProvider', 'auto'));
  }

  /** Why the analysis of exactly this document version failed, if it did (then hovers do not retry it). */
  failureFor(document: vscode.TextDocument): string | undefined {
    const failure = this.failures.get(document.uri.toString());
    return failure?.version === document.version ? failure.message : undefined;
  }

  /** The cached result for exactly this document version, if any. */
  resultFor(document: vscode.TextDocument): AnalysisResult | undefined {
    const result = this.results.get(document.uri.toString());
    return result && result.source.version === document.version ? result : undefined;
  }

  /** The current version's result, or while it is analysed, the windows done so far ({@link AnalysisResult.partial}). */
  partialFor(document: vscode.TextDocument): AnalysisResult | undefined {
    return this.resultFor(document) ?? this.inFlight.current(document)?.partial;
  }

  /** The last complete result of the document, of whatever version (kept until the next one lands). */
  previousFor(document: vscode.TextDocument): AnalysisResult | undefined {
    return this.results.get(document.uri.toString());
  }

  /** A result (perhaps partial) covering the code token at `offset`, analysing its window first if needed. */
  async resultCovering(document: vscode.TextDocument, offset: number): Promise<AnalysisResult | undefined> {
    const ready = this.partialFor(document);
    if (ready && coversOffset(ready, offset)) return ready;
    const promise = this.analyze(document, { quiet: true });
    return this.inFlight.covering(this.inFlight.current(document), offset) ?? promise;
  }

  /** The user looks elsewhere in the document: its unanalysed windows there run next. */
  prefer(document: vscode.TextDocument): void {
    this.inFlight.current(document)?.order.prefer(focusSpans(document, vscode.window.visibleTextEditors));
  }

  static languageOf(document: vscode.TextDocument): LanguageId | undefined {
    return isLanguageId(document.languageId) ? document.languageId : undefined;
  }

  /**
   * Analyses a document (or returns the cached result of its current version). With
   * `withProgress`, shows a cancellable notification. Errors are reported to the user once, with
   * what to do; the promise then resolves to undefined.
   */
  async analyze(
    document: vscode.TextDocument,
    options: { withProgress?: boolean; quiet?: boolean } = {},
  ): Promise<AnalysisResult | undefined> {
    const language = options.quiet ? AnalysisService.languageOf(document) : this.supportedLanguageOrNotify(document);
    if (!language) return undefined;
    const cached = this.resultFor(document);
    if (cached) return cached;
    const key = document.uri.toString();
    const running = this.inFlight.get(document);
    if (running?.version === document.version) return joinedRun(document, running, options.withProgress);
    running?.abort.abort();
    const abort = new AbortController();
    const order = new WindowOrder(focusSpans(document, vscode.window.visibleTextEditors));
    const version = document.version;
    const requested = performance.now();
    const text = document.getText();
    const run = async (report?: (message: string) => void): Promise<AnalysisResult | undefined> => {
      try {
        const analyzer = await this.getAnalyzer();
        // Each callback acts only while this run is still the document's flight (an edit starts another).
        const ifCurrent = (act: (flight: InFlight) => void) => {
          const flight = this.inFlight.get(document);
          if (flight?.abort === abort) act(flight);
          this.runningChanged.fire(document.uri);
        };
        const onProgress = (message: string) => {
          report?.(message);
          ifCurrent((flight) => (flight.progress = message));
        };
        const onPartial = (partial: AnalysisResult) =>
          ifCurrent((flight) => {
            notePartial(flight, partial);
            this.partialChanged.fire(document.uri);
          });
        // Hover, status bar and CodeLens need per-layer scores only; the score panel completes the rest when it opens.
        const definition = settings.analysisOptions();
        const reports = ['catLayers', 'dataFlowLayers'] as const;
        const signal = abort.signal;
        const options = { path: document.uri.fsPath, version, signal, onProgress, onPartial, order, reports };
        // After an edit, only the windows whose subwords changed run the model again.
        const previous = this.results.get(key);
        const result =
          previous && sameSetup(previous, analyzer, definition)
            ? await analyzer.reanalyze(previous, text, { ...definition, ...options })
            : await analyzer.analyze(text, language, { ...definition, ...options });
        this.output.info(
          analysisLog(path.basename(document.uri.fsPath), version, result, performance.now() - requested),
        );
        for (const warning of result.warnings) this.output.warn(`  ${warning}`);
        if (document.version === version) {
          this.results.set(key, result);
          this.lastResult = result;
          this.changed.fire(document.uri);
        }
        return document.version === version ? result : undefined;
      } catch (error) {
        const message = failureMessage(error);
        if (message === undefined) return undefined;
        this.output.error(message);
        this.failures.set(key, { version, message });
        if (!options.quiet) void vscode.window.showWarningMessage(`Code Attention Lens: ${messageText(message)}`);
        return undefined;
      } finally {
        if (this.inFlight.owns(document, abort)) {
          this.inFlight.delete(document);
          this.runningChanged.fire(document.uri);
        }
      }
    };
    const promise = options.withProgress ? withNotification(document, abort, run) : run();
    this.inFlight.set(document, { version, promise, abort, order, waiting: [], notified: options.withProgress });
    this.runningChanged.fire(document.uri);
    return promise;
  }

  /** The analysis of this document in flight, if any: its last progress message, windows done and in all. */
  running(document: vscode.TextDocument): { progress?: string; windowsDone?: number; windowsTotal?: number } | void {
    const flight = this.inFlight.get(document);
    return flight && { progress: flight.progress, ...flight.partial?.partial };
  }

  forget(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    this.results.delete(key);
    this.failures.delete(key);
    this.toldUnsupported.delete(key);
    this.inFlight.delete(document);
  }

  dispose(): void {
    this.invalidate();
    this.models.dispose();
    this.changed.dispose();
    this.invalidated.dispose();
    this.runningChanged.dispose();
    this.partialChanged.dispose();
  }
}
