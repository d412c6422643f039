import * as vscode from 'vscode';
import type { AnalysisResult } from '../core/types';
import { functionLens, functionScores, type FunctionScore } from '../presenters/codeLens';
import { placedLenses } from '../presenters/lensCarry';
import type { AnalysisService } from './analysisService';
import { settings, SUPPORTED_FILES } from './config';

/**
 * Each function's CAT-score above it, refreshed as the windows of an analysis land and when the
 * setting changes. While a new version is analysed, the previous result's lenses stay (re-anchored)
 * for the functions the new analysis has not reached yet, so lenses never vanish and the code does
 * not jump.
 */
export class CodeLensController implements vscode.Disposable, vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[];
  /** Function scores per document version (a partial result's are the final ones for the functions it covers). */
  private readonly known = new Map<string, { text: string; scores: Map<string, FunctionScore> }>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly service: AnalysisService) {
    this.disposables = [
      this.changed,
      service.onDidChangeResult(() => this.changed.fire()),
      service.onDidChangePartial(() => this.changed.fire()),
      service.onDidInvalidate(() => this.changed.fire()),
      vscode.languages.registerCodeLensProvider(SUPPORTED_FILES, this),
      vscode.workspace.onDidCloseTextDocument((document) => this.known.delete(document.uri.toString())),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('codeAttention.codeLens.enabled')) this.changed.fire();
      }),
    ];
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!settings.codeLensEnabled()) return [];
    const current = this.service.partialFor(document);
    const previous = this.service.previousFor(document);
    const text = document.getText();
    const lenses = placedLenses(
      text,
      current && { result: current, scores: this.scoresOf(document, current) },
      previous && previous !== current ? { result: previous, scores: this.scoresOf(document, previous) } : undefined,
    );
    return lenses.map(({ offset, score, carried }) => {
      const position = document.positionAt(offset);
      const lens = functionLens(score);
      // An edited function keeps its old number until its window runs again: the title says so.
      const note = carried === 'edited' ? ' · before the edit' : '';
      const tooltip = carried
        ? `${lens.tooltip} (from the previous version of the file; updating: the new analysis has not reached it yet)`
        : lens.tooltip;
      return new vscode.CodeLens(new vscode.Range(position, position), {
        title: lens.title + note,
        tooltip,
        command: 'codeAttention.scoreFile',
      });
    });
  }

  /** The function scores of a result, computed once per analysed text and reused by its later partial results. */
  private scoresOf(document: vscode.TextDocument, result: AnalysisResult): FunctionScore[] {
    const key = `${document.uri.toString()}|${result.source.version ?? ''}`;
    let entry = this.known.get(key);
    if (!entry || entry.text !== result.source.text) {
      entry = { text: result.source.text, scores: new Map() };
      this.known.set(key, entry);
    }
    // Keep only the entries for the versions still in use (the current one and the previous result's).
    for (const stale of this.known.keys())
      if (stale.startsWith(`${document.uri.toString()}|`) && stale !== key && !this.inUse(document, stale))
        this.known.delete(stale);
    return functionScores(result, {}, undefined, entry.scores);
  }

  private inUse(document: vscode.TextDocument, key: string): boolean {
    const versions = [this.service.partialFor(document), this.service.previousFor(document)].map(
      (result) => `${document.uri.toString()}|${result?.source.version ?? ''}`,
    );
    return versions.includes(key);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
