import * as path from 'node:path';
import * as vscode from 'vscode';
import { resultSummary } from '../presenters/status';
import { AnalysisService } from './analysisService';
import { settings } from './config';
import { PANEL_READY_MS, shownWithin } from './editorRanges';
import { ScorePanel } from './scorePanel';
import type { EditorState } from './state';

/** At most one partial redraw of the panel per this many ms: each rebuilds its charts, and windows can land faster. */
const PARTIAL_REDRAW_MS = 500;

/**
 * The score panel's host side: the Score command, the serializer that revives the panel after a
 * reload, and following the active editor, its results and the current view.
 */
export class ScorePanelController implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[];
  private partialTimer: ReturnType<typeof setTimeout> | undefined;
  private lastPartialShown = 0;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly state: EditorState,
    private readonly service: AnalysisService,
  ) {
    this.disposables = [
      vscode.commands.registerCommand('codeAttention.scoreFile', () => this.scoreFile()),
      vscode.window.registerWebviewPanelSerializer(ScorePanel.viewType, {
        deserializeWebviewPanel: (panel) => Promise.resolve(ScorePanel.revive(panel, extensionUri)),
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => editor && this.sync(editor)),
      service.onDidChangeResult((uri) => {
        const editor = vscode.window.activeTextEditor;
        if (editor?.document.uri.toString() === uri.toString()) this.sync(editor);
      }),
      service.onDidChangePartial(() => this.partialLanded()),
      { dispose: () => clearTimeout(this.partialTimer) },
      state.onDidChangeView(() => {
        const result = state.activeResult();
        if (result) ScorePanel.instance?.showView(state.panelView(result));
      }),
    ];
  }

  /** Opens the panel on the active file's analysis; resolves once the panel is up (callers and tests see it open). */
  private async scoreFile() {
    const editor = vscode.window.activeTextEditor;
    // The panel opens first, so that it fills in as the windows land.
    const panel = ScorePanel.show(this.extensionUri, undefined);
    const partial = editor && this.service.partialFor(editor.document);
    if (partial?.partial) panel.showPartial(partial, this.state.panelView(partial));
    const result = editor
      ? await this.service.analyze(editor.document, { withProgress: true })
      : this.service.lastResult;
    if (result) await panel.update(result, this.state.panelView(result));
    await shownWithin(panel.whenReady, PANEL_READY_MS);
    return result ? resultSummary(result) : undefined;
  }

  /** Shows the editor's analysis in the score panel, if the panel is open. */
  private sync(editor: vscode.TextEditor): void {
    const panel = ScorePanel.instance;
    if (!panel) return;
    const result = this.service.resultFor(editor.document);
    const partial = this.service.partialFor(editor.document);
    if (result) void panel.update(result, this.state.panelView(result));
    else if (partial?.source.version === editor.document.version)
      panel.showPartial(partial, this.state.panelView(partial));
    else if (!settings.autoAnalyze() && AnalysisService.languageOf(editor.document)) {
      const name = path.basename(editor.document.uri.fsPath);
      panel.showEmpty(`Run “Code Attention: Analyze Current File” to score ${name}.`);
    }
  }

  /**
   * Shows the active document's windows done so far in the open panel, throttled; the timer reads
   * the latest partial result when it fires, so the last one before the complete result is shown.
   */
  private partialLanded(): void {
    if (!ScorePanel.instance || this.partialTimer) return;
    const wait = Math.max(0, this.lastPartialShown + PARTIAL_REDRAW_MS - Date.now());
    this.partialTimer = setTimeout(() => {
      this.partialTimer = undefined;
      const document = vscode.window.activeTextEditor?.document;
      const partial = document && this.service.partialFor(document);
      // A complete result is shown by `sync` (with every per-head report).
      if (!document || !partial?.partial || partial.source.version !== document.version) return;
      this.lastPartialShown = Date.now();
      ScorePanel.instance?.showPartial(partial, this.state.panelView(partial));
    }, wait);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
