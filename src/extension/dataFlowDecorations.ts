import * as vscode from 'vscode';
import type { DataFlowOverlay } from '../presenters/dataFlowOverlay';
import { sourceRange } from './editorRanges';

/**
 * The data-flow overlay's decoration types, created once: one per colour, many ranges each, and
 * one for the inline hint (its text set per range).
 */
export class DataFlowDecorations implements vscode.Disposable {
  private readonly nodes = vscode.window.createTextEditorDecorationType({
    borderStyle: 'none none dotted none',
    borderWidth: '0 0 2px 0',
    borderColor: new vscode.ThemeColor('codeAttention.dataFlowNode'),
  });
  private readonly comesFrom = edgeDecoration('codeAttention.dataFlowComesFrom', 'solid');
  private readonly computedFrom = edgeDecoration('codeAttention.dataFlowComputedFrom', 'solid');
  private readonly readBy = edgeDecoration('codeAttention.dataFlowReadBy', 'dashed');
  private readonly hint = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('codeAttention.dataFlowHint'), margin: '0 0 0 2em', fontStyle: 'italic' },
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  private readonly all = [this.nodes, this.comesFrom, this.computedFrom, this.readBy, this.hint];

  draw(editor: vscode.TextEditor, overlay: Extract<DataFlowOverlay, { supported: true }>): void {
    const ranges = overlay.decorations;
    editor.setDecorations(this.nodes, ranges.nodes.map(sourceRange));
    editor.setDecorations(this.comesFrom, ranges.comesFrom.map(sourceRange));
    editor.setDecorations(this.computedFrom, ranges.computedFrom.map(sourceRange));
    editor.setDecorations(this.readBy, ranges.readBy.map(sourceRange));
    const hint = ranges.hint;
    const at =
      hint &&
      new vscode.Range(hint.position.line, hint.position.character, hint.position.line, hint.position.character);
    editor.setDecorations(
      this.hint,
      hint && at ? [{ range: at, renderOptions: { after: { contentText: hint.text } } }] : [],
    );
  }

  clear(editor: vscode.TextEditor): void {
    for (const type of this.all) editor.setDecorations(type, []);
  }

  dispose(): void {
    for (const type of this.all) type.dispose();
  }
}

function edgeDecoration(color: string, style: 'solid' | 'dashed'): vscode.TextEditorDecorationType {
  return vscode.window.createTextEditorDecorationType({
    border: `2px ${style}`,
    borderColor: new vscode.ThemeColor(color),
    borderRadius: '3px',
    overviewRulerColor: new vscode.ThemeColor(color),
    overviewRulerLane: vscode.OverviewRulerLane.Center,
  });
}
