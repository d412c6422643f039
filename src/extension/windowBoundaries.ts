import * as vscode from 'vscode';
import { windowBoundaries } from '../presenters/windowBoundaries';
import { AnalysisService } from './analysisService';
import { tokenRange } from './editorRanges';

/**
 * Show Window Boundaries: a file longer than the model's positions is analysed in windows that
 * attention does not cross. On request, the first token of each window after the first gets a
 * line and a "window k of n" marker, redrawn when results change, until toggled off.
 */
export class WindowBoundariesController implements vscode.Disposable {
  private shown = false;
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    borderColor: new vscode.ThemeColor('codeAttention.windowBoundary'),
    borderStyle: 'solid',
    borderWidth: '0 0 0 2px',
    overviewRulerColor: new vscode.ThemeColor('codeAttention.windowBoundary'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
    before: { color: new vscode.ThemeColor('codeAttention.windowBoundary'), margin: '0 4px 0 0' },
  });
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly service: AnalysisService) {
    const redraw = () => this.drawAll();
    this.disposables = [
      this.decoration,
      vscode.commands.registerCommand('codeAttention.toggleWindowBoundaries', () => this.toggle()),
      service.onDidChangeResult(redraw),
      service.onDidInvalidate(redraw),
      vscode.window.onDidChangeVisibleTextEditors(redraw),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length === 0) return;
        for (const editor of vscode.window.visibleTextEditors)
          if (editor.document === event.document) editor.setDecorations(this.decoration, []);
      }),
    ];
  }

  /** Returns how many boundaries the visible editors show (0 when turned off), for tests. */
  private toggle(): number {
    this.shown = !this.shown;
    const drawn = this.drawAll();
    const message = !this.shown
      ? 'Code Attention: window boundaries hidden.'
      : drawn
        ? `Code Attention: ${drawn} window boundar${drawn === 1 ? 'y' : 'ies'} shown.`
        : 'Code Attention: no window boundaries here (each analysed file fits in one window).';
    vscode.window.setStatusBarMessage(message, 5000);
    return drawn;
  }

  private drawAll(): number {
    let drawn = 0;
    for (const editor of vscode.window.visibleTextEditors) {
      const result = this.shown ? this.service.resultFor(editor.document) : undefined;
      const current = result && result.source.version === editor.document.version ? result : undefined;
      const options = (current ? windowBoundaries(current) : []).map((boundary) => ({
        range: tokenRange(current!, boundary.token),
        hoverMessage: new vscode.MarkdownString().appendText(boundary.detail),
        renderOptions: { before: { contentText: `⟦${boundary.label}` } },
      }));
      editor.setDecorations(this.decoration, options);
      drawn += options.length;
    }
    return drawn;
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
