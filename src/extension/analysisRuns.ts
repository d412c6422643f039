import * as vscode from 'vscode';
import { ModelLoadError } from '../core/model';
import { ModelProcessStoppedError } from '../core/modelProcess';
import {
  AnalysisCancelledError,
  coversOffset,
  InputError,
  type Analyzer,
  type TextSpan,
  type WindowOrder,
} from '../core/pipeline';
import type { AnalysisResult } from '../core/types';
import * as path from 'node:path';
import { messageText } from '../presenters/escape';
import type { settings } from './config';
import { ModelCache } from './modelCache';

/** An analysis of a document in flight. */
export interface InFlight {
  version: number;
  promise: Promise<AnalysisResult | undefined>;
  abort: AbortController;
  /** Which windows run next: the document's visible ranges and cursor, changed as the user scrolls. */
  order: WindowOrder;
  /** The pipeline's last progress message ("Running the model on window 3 of 13"). */
  progress?: string;
  /** The windows done so far, with the per-layer scores over them. */
  partial?: AnalysisResult;
  /** Hovers waiting for the window of a text offset. */
  waiting: Array<{ offset: number; resolve: (result: AnalysisResult) => void }>;
  /** Whether a progress notification shows this run. */
  notified?: boolean;
}

/**
 * The analyses in flight, one per document (keyed by URI): which windows they run next, the
 * windows done so far, and the hovers waiting for a window.
 */
export class AnalysisFlights {
  private readonly flights = new Map<string, InFlight>();

  get(document: vscode.TextDocument): InFlight | undefined {
    return this.flights.get(document.uri.toString());
  }

  /** The flight of exactly this document version. */
  current(document: vscode.TextDocument): InFlight | undefined {
    const flight = this.get(document);
    return flight?.version === document.version ? flight : undefined;
  }

  set(document: vscode.TextDocument, flight: InFlight): void {
    this.flights.set(document.uri.toString(), flight);
  }

  /** Whether `abort` still belongs to the document's flight (a newer version replaces it). */
  owns(document: vscode.TextDocument, abort: AbortController): boolean {
    return this.get(document)?.abort === abort;
  }

  delete(document: vscode.TextDocument): void {
    this.get(document)?.abort.abort();
    this.flights.delete(document.uri.toString());
  }

  abortAll(): void {
    for (const flight of this.flights.values()) flight.abort.abort();
    this.flights.clear();
  }

  /** Waits for a result covering the code token at `offset`, that token's window moved to the front. */
  covering(flight: InFlight | undefined, offset: number): Promise<AnalysisResult | undefined> | undefined {
    if (!flight) return undefined;
    flight.order.prefer([{ start: offset, end: offset }, ...flight.order.spans]);
    return new Promise((resolve) => {
      flight.waiting.push({ offset, resolve });
      void flight.promise.then(resolve);
    });
  }
}

/** The message for a failed analysis, or undefined when it was cancelled. */
export function failureMessage(error: unknown): string | undefined {
  if (error instanceof AnalysisCancelledError) return undefined;
  const known =
    error instanceof InputError || error instanceof ModelLoadError || error instanceof ModelProcessStoppedError;
  return known ? error.message : `Analysis failed: ${(error as Error).message}`;
}

/** Hands a new partial result to the flight and to the hovers whose offset it now covers. */
export function notePartial(flight: InFlight, partial: AnalysisResult): void {
  flight.partial = partial;
  flight.waiting = flight.waiting.filter((waiter) => {
    if (!coversOffset(partial, waiter.offset)) return true;
    waiter.resolve(partial);
    return false;
  });
}

/**
 * What the user looks at in `editors` (those showing the document): each cursor first, then the
 * visible ranges; the windows covering them are analysed first.
 */
export function focusSpans(document: vscode.TextDocument, editors: readonly vscode.TextEditor[]): TextSpan[] {
  const shown = editors.filter((editor) => editor.document === document);
  const offset = (position: vscode.Position) => document.offsetAt(position);
  const cursors = shown.map((editor) => ({
    start: offset(editor.selection.active),
    end: offset(editor.selection.active),
  }));
  const visible = shown.flatMap((editor) =>
    editor.visibleRanges.map((range) => ({ start: offset(range.start), end: offset(range.end) })),
  );
  return [...cursors, ...visible];
}

/** Whether a result was computed by this model under these definition settings (then it can be re-analysed). */
export function sameSetup(
  previous: AnalysisResult,
  analyzer: Analyzer,
  definition: ReturnType<typeof settings.analysisOptions>,
): boolean {
  const options = previous.options;
  return (
    previous.model.path === analyzer.model.info.path &&
    options.keepComments === definition.keepComments &&
    options.pairRule === definition.pairRule &&
    options.distance === definition.distance
  );
}

/**
 * One Output line per analysis: the wall time the user waited (queue, model load and all) beside
 * the time of each stage, so that a slow first analysis shows where the time went.
 */
export function analysisLog(file: string, version: number, result: AnalysisResult, wallMs: number): string {
  const t = result.timings;
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const stages = [
    `parse ${ms(t.parseMs + t.tokenizeMs)}`,
    `forward ${ms(t.forwardMs)} on ${result.device}`,
    `align ${ms(t.alignMs)}`,
    `metrics ${ms(t.metricsMs)}`,
    `waiting for the model and the event loop ${ms(Math.max(0, wallMs - t.totalMs))}`,
  ];
  const runs = result.windowRuns;
  const reused = runs?.reused ? ` (${runs.forward} run, ${runs.reused} unchanged since the last version)` : '';
  const size = `${result.tokens.length} tokens, ${result.windows.length} window(s)${reused}`;
  return `${file} v${version}: ${size}; ${ms(wallMs)} from request to result (${stages.join(', ')}).`;
}

/** The model cache, logging each load (device, CUDA fallback, time) and failure to the Output channel. */
export function loggedModelCache(grammarsDir: string, output: vscode.LogOutputChannel): ModelCache {
  return new ModelCache(grammarsDir, {
    loaded: (analyzer, modelDir, ms) => {
      const model = analyzer.model;
      const fallback = model.fallbackReason ? ` (CUDA unavailable: ${model.fallbackReason})` : '';
      const took = `${ms.toFixed(0)} ms`;
      output.info(`Loaded ${model.info.displayName} from ${modelDir} on ${model.device}${fallback} in ${took}.`);
    },
    failed: (error) => output.error(`Model load failed: ${error.message}`),
  });
}

/** Runs an analysis under a cancellable notification that shows its progress messages. */
/**
 * A run already in flight, for a second caller. One that asks for a notification (Select Model,
 * Score) gets one for a run started quietly (after an edit or a scroll), once, instead of seeing nothing.
 */
export function joinedRun(
  document: vscode.TextDocument,
  flight: InFlight,
  withProgress: boolean | undefined,
): Promise<AnalysisResult | undefined> {
  if (!withProgress || flight.notified) return flight.promise;
  flight.notified = true;
  return withNotification(document, flight.abort, () => flight.promise);
}

export function withNotification(
  document: vscode.TextDocument,
  abort: AbortController,
  run: (report: (message: string) => void) => Promise<AnalysisResult | undefined>,
): Promise<AnalysisResult | undefined> {
  return Promise.resolve(
    vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Code Attention Lens', cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => abort.abort());
        progress.report({ message: `Analysing ${messageText(path.basename(document.uri.fsPath))}…` });
        return run((message) => progress.report({ message: messageText(message) }));
      },
    ),
  );
}
