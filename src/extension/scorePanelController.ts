import * as path from 'node:path';
import * as vscode from 'vscode';
import { resultSummary } from '../presenters/status';
import { AnalysisService } from './analysisService';
import { settings } from './config';
import { PANEL_READY_MS, shownWithin } from './editorRanges';
import { ScorePanel } from './scorePanel';
import type { EditorState } from './state';

/**
 * The score panel's host side: the Score command, the serializer that revives the panel after a
 * reload, and following the active editor, its results and the current view.
 */
export class ScorePanelController implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[];

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
      state.onDidChangeView(() => {
        const result = state.activeResult();
        if (result) ScorePanel.instance?.showView(state.panelView(result));
      }),
    ];
  }

  /** Opens the panel on the active file's analysis; resolves once the panel is up (callers and tests see it open). */
  private async scoreFile() {
    const editor = vscode.window.activeTextEditor;
    const result = editor
      ? await this.service.analyze(editor.document, { withProgress: true })
      : this.service.lastResult;
    const panel = ScorePanel.show(this.extensionUri, undefined);
    if (result) await panel.update(result, this.state.panelView(result));
    await shownWithin(panel.whenReady, PANEL_READY_MS);
    return result ? resultSummary(result) : undefined;
  }

  /** Shows the editor's analysis in the score panel, if the panel is open. */
  private sync(editor: vscode.TextEditor): void {
    const panel = ScorePanel.instance;
    if (!panel) return;
    const result = this.service.resultFor(editor.document);
    if (result) void panel.update(result, this.state.panelView(result));
    else if (!settings.autoAnalyze() && AnalysisService.languageOf(editor.document)) {
      const name = path.basename(editor.document.uri.fsPath);
      panel.showEmpty(`Run “Code Attention: Analyze Current File” to score ${name}.`);
    }
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
