import { homedir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isLanguageId } from '../core/languages';
import { findModels, ModelLoadError, modelEntry, type ModelEntry } from '../core/model';
import { ModelProcessStoppedError } from '../core/modelProcess';
import { AnalysisCancelledError, type Analyzer, InputError } from '../core/pipeline';
import type { AnalysisResult, ExecutionProviderSetting, LanguageId } from '../core/types';
import { messageText } from '../presenters/escape';
import { modelFoldersFromSetting } from '../presenters/models';
import { settings } from './config';
import { ModelCache } from './modelCache';
import { analysisLog, sameSetup, type InFlight } from './analysisRuns';
import { unsupportedLanguageMessage } from '../presenters/status';

const SELECTED_MODEL_KEY = 'codeAttention.selectedModel';

/**
 * Owns the loaded model and the analyses of open documents: one Analyzer per (model folder,
 * execution provider), results cached per document version, at most one analysis in flight per
 * document. A result is only ever returned for the exact version it was computed on.
 */
export class AnalysisService implements vscode.Disposable {
  private readonly models: ModelCache;
  private readonly results = new Map<string, AnalysisResult>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly invalidated = new vscode.EventEmitter<void>();
  private readonly runningChanged = new vscode.EventEmitter<vscode.Uri>();
  /** Documents already told that their language is not supported (told once per document). */
  private readonly toldUnsupported = new Set<string>();
  private readonly toldProblems = new Set<string>();
  /** Why the last analysis of a document version failed (too large, binary, model missing …). */
  private readonly failures = new Map<string, { version: number; message: string }>();
  readonly onDidChangeResult = this.changed.event;
  /** Every result and the loaded model were dropped (another model, provider or model list). */
  readonly onDidInvalidate = this.invalidated.event;
  /** An analysis of a document started, progressed or ended ({@link running} tells which). */
  readonly onDidChangeRunning = this.runningChanged.event;
  lastResult: AnalysisResult | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.models = new ModelCache(path.join(context.extensionPath, 'grammars'), {
      loaded: (analyzer, modelDir, ms) => {
        const model = analyzer.model;
        const fallback = model.fallbackReason ? ` (CUDA unavailable: ${model.fallbackReason})` : '';
        const took = `${ms.toFixed(0)} ms`;
        output.info(`Loaded ${model.info.displayName} from ${modelDir} on ${model.device}${fallback} in ${took}.`);
      },
      failed: (error) => output.error(`Model load failed: ${error.message}`),
    });
  }

  /** Bundled models first, then folders from the `codeAttention.models` setting. */
  availableModels(): ModelEntry[] {
    const bundled = findModels(path.join(this.context.extensionPath, 'models'));
    // In an untrusted workspace VS Code returns only the user's value of this restricted setting.
    const workspaceRoot = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const setting = modelFoldersFromSetting(settings.modelFolders(), homedir(), workspaceRoot);
    for (const problem of setting.problems) this.tellOnce(problem);
    const user = setting.folders.map(modelEntry);
    const seen = new Set<string>();
    return [...bundled, ...user].filter((model) => !seen.has(model.path) && seen.add(model.path));
  }

  /** A warning about the settings, shown once per session however often the models are listed. */
  private tellOnce(problem: string): void {
    if (this.toldProblems.has(problem)) return;
    this.toldProblems.add(problem);
    this.output.warn(problem);
    void vscode.window.showWarningMessage(`Code Attention Lens: ${problem}`);
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
    for (const flight of this.inFlight.values()) flight.abort.abort();
    this.inFlight.clear();
    this.results.clear();
    this.failures.clear();
    this.models.clear();
    this.invalidated.fire();
  }

  private provider(): ExecutionProviderSetting {
    return vscode.workspace
      .getConfiguration('codeAttention')
      .get<ExecutionProviderSetting>('executionProvider', 'auto');
  }

  /** The selected model (or `modelPath`), loaded once and kept warm in the model cache. */
  getAnalyzer(modelPath = this.selectedModelPath()): Promise<Analyzer> {
    if (!modelPath) {
      const where = 'Add an exported model folder to the "codeAttention.models" setting.';
      return Promise.reject(new ModelLoadError(`No model is available. ${where}`));
    }
    return this.models.get(modelPath, this.provider());
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
    const running = this.inFlight.get(key);
    if (running?.version === document.version) return running.promise;
    running?.abort.abort();

    const abort = new AbortController();
    const version = document.version;
    const requested = performance.now();
    const text = document.getText();
    const run = async (report?: (message: string) => void): Promise<AnalysisResult | undefined> => {
      try {
        const analyzer = await this.getAnalyzer();
        const onProgress = (message: string) => {
          report?.(message);
          const flight = this.inFlight.get(key);
          if (flight?.abort === abort) {
            flight.progress = message;
            this.runningChanged.fire(document.uri);
          }
        };
        // Hover, status bar and CodeLens need per-layer scores only; the score panel completes the rest when it opens.
        const definition = settings.analysisOptions();
        const options = { path: document.uri.fsPath, version, signal: abort.signal, onProgress, ...definition };
        const reports = ['catLayers', 'dataFlowLayers'] as const;
        // After an edit, only the windows whose subwords changed run the model again.
        const previous = this.results.get(key);
        const result =
          previous && sameSetup(previous, analyzer, definition)
            ? await analyzer.reanalyze(previous, text, { ...options, reports })
            : await analyzer.analyze(text, language, { ...options, reports });
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
        if (error instanceof AnalysisCancelledError) return undefined;
        const known =
          error instanceof InputError || error instanceof ModelLoadError || error instanceof ModelProcessStoppedError;
        const message = known ? error.message : `Analysis failed: ${(error as Error).message}`;
        this.output.error(message);
        this.failures.set(key, { version, message });
        if (!options.quiet) void vscode.window.showWarningMessage(`Code Attention Lens: ${messageText(message)}`);
        return undefined;
      } finally {
        if (this.inFlight.get(key)?.abort === abort) {
          this.inFlight.delete(key);
          this.runningChanged.fire(document.uri);
        }
      }
    };
    const promise = options.withProgress
      ? Promise.resolve(
          vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: 'Code Attention Lens', cancellable: true },
            (progress, token) => {
              token.onCancellationRequested(() => abort.abort());
              progress.report({ message: `Analysing ${messageText(path.basename(document.uri.fsPath))}…` });
              return run((message) => progress.report({ message: messageText(message) }));
            },
          ),
        )
      : run();
    this.inFlight.set(key, { version, promise, abort });
    this.runningChanged.fire(document.uri);
    return promise;
  }

  /** The analysis of this document in flight, if any, with its last progress message. */
  running(document: vscode.TextDocument): { progress?: string } | undefined {
    const flight = this.inFlight.get(document.uri.toString());
    return flight && { progress: flight.progress };
  }

  forget(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    this.results.delete(key);
    this.failures.delete(key);
    this.toldUnsupported.delete(key);
    this.inFlight.get(key)?.abort.abort();
    this.inFlight.delete(key);
  }

  dispose(): void {
    this.invalidate();
    this.models.dispose();
    this.changed.dispose();
    this.invalidated.dispose();
    this.runningChanged.dispose();
  }
}
