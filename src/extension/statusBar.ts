import * as vscode from 'vscode';
import { statusPresentation } from '../presenters/status';
import { AnalysisService } from './analysisService';
import type { EditorState } from './state';

/** The status-bar item: the current view and the active file's analysis; clicking it picks a view. */
export class StatusBarController implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly state: EditorState,
    private readonly service: AnalysisService,
  ) {
    this.item.command = 'codeAttention.selectView';
    const update = () => this.update();
    this.disposables = [
      this.item,
      state.onDidChangeView(update),
      state.onDidChangeDataFlow(update),
      service.onDidChangeResult(update),
      service.onDidInvalidate(update),
      service.onDidChangeRunning(update),
      vscode.window.onDidChangeActiveTextEditor(update),
    ];
    this.update();
  }

  update(): void {
    // With a panel focused there is no active text editor: describe the visible source editor instead.
    const editor =
      vscode.window.activeTextEditor ??
      vscode.window.visibleTextEditors.find((candidate) => AnalysisService.languageOf(candidate.document));
    if (!editor || !AnalysisService.languageOf(editor.document)) {
      this.item.hide();
      return;
    }
    const result = this.service.resultFor(editor.document);
    const shown = statusPresentation(result, this.state.view);
    const text = this.state.dataFlowEnabled && result?.dataFlow ? `${shown.text} · data flow` : shown.text;
    const running = this.service.running(editor.document);
    // Windows finish out of file order (the visible ones first): count the partial result's windows.
    const total = running?.windowsTotal ?? running?.progress?.match(/window \d+ of (\d+)/)?.[1];
    const windows = total ? ` ${running?.windowsDone ?? 0}/${total} windows` : '';
    // While an analysis runs, a spinner (with windows done / total) replaces the view's icon.
    this.item.text = running ? text.replace(/^\$\([\w-]+\)/, `$(sync~spin)${windows}`) : text;
    this.item.tooltip = running ? `Analysing: ${running.progress ?? 'starting'}…\n${shown.tooltip}` : shown.tooltip;
    this.item.show();
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
