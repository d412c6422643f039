import * as vscode from 'vscode';
import { messageText } from '../presenters/escape';
import { bestLayerText, resultSummary } from '../presenters/status';
import { AnalysisService } from './analysisService';
import { affectsModel, settings } from './config';

/** Quiet period after the last edit or editor switch before a file is analysed again. */
const DEBOUNCE_MS = 800;

/**
 * When files are analysed: the Analyze command, automatic analysis of supported files on open,
 * on switching editors and after edits (debounced), which windows run first (what the editor
 * shows), and dropping results that became stale.
 */
export class AnalysisScheduler implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly service: AnalysisService) {
    this.disposables = [
      vscode.commands.registerCommand('codeAttention.analyzeFile', () => this.analyzeActive()),
      vscode.commands.registerCommand('codeAttention._lastResultSummary', () =>
        service.lastResult ? resultSummary(service.lastResult) : undefined,
      ),
      // For the integration tests: where the active document's analysis stands.
      vscode.commands.registerCommand('codeAttention._analysisState', () => this.state()),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length > 0) this.schedule(event.document);
      }),
      vscode.workspace.onDidCloseTextDocument((document) => service.forget(document)),
      vscode.window.onDidChangeActiveTextEditor((editor) => editor && this.schedule(editor.document)),
      // Scrolling or moving the cursor to code not analysed yet runs its windows next.
      vscode.window.onDidChangeTextEditorVisibleRanges((event) => service.prefer(event.textEditor.document)),
      vscode.window.onDidChangeTextEditorSelection((event) => service.prefer(event.textEditor.document)),
      vscode.workspace.onDidChangeConfiguration((event) => affectsModel(event) && service.invalidate()),
      { dispose: () => clearTimeout(this.timer) },
    ];
    if (vscode.window.activeTextEditor) this.schedule(vscode.window.activeTextEditor.document);
  }

  private async analyzeActive() {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Open a source file to analyse.');
      return undefined;
    }
    const result = await this.service.analyze(editor.document, { withProgress: true });
    if (!result) return undefined;
    const summary = `${result.tokens.length} tokens analysed; ${bestLayerText(result)}`;
    void vscode.window.setStatusBarMessage(`Code Attention: ${summary}`, 5000);
    if (result.warnings.length)
      void vscode.window.showWarningMessage(`Code Attention Lens: ${messageText(result.warnings.join(' '))}`);
    return resultSummary(result);
  }

  private state() {
    const document = vscode.window.activeTextEditor?.document;
    if (!document) return undefined;
    const running = this.service.running(document);
    const shown = this.service.partialFor(document);
    return {
      version: document.version,
      complete: this.service.resultFor(document) !== undefined,
      running: running !== undefined,
      windowsDone: shown?.partial?.windowsDone ?? shown?.windows.length,
      windowsTotal: shown?.partial?.windowsTotal ?? shown?.windows.length,
    };
  }

  private schedule(document: vscode.TextDocument): void {
    if (!settings.autoAnalyze() || !AnalysisService.languageOf(document)) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.service.analyze(document, { quiet: true }), DEBOUNCE_MS);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
