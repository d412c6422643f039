import * as vscode from 'vscode';
import type { AnalysisResult } from '../core/types';
import {
  dataFlowMarkdown,
  dataFlowOverlay,
  prepareDataFlowOverlay,
  type DataFlowOverlay,
} from '../presenters/dataFlowOverlay';
import type { AnalysisService } from './analysisService';
import { DataFlowDecorations } from './dataFlowDecorations';
import { tokenAtCursor } from './editorRanges';
import type { EditorState } from './state';

/** How often at most the overlay follows the cursor. */
const REDRAW_MS = 100;

/**
 * The data-flow overlay: the toggle command, the underlines of every graph node and the edges of
 * the variable at the cursor (or hovered), redrawn at most every 100 ms as the cursor, the view,
 * the visible editors or the results change.
 */
export class DataFlowController implements vscode.Disposable {
  private readonly decorations = new DataFlowDecorations();
  private readonly pending = new Set<vscode.TextEditor>();
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly state: EditorState,
    private readonly service: AnalysisService,
  ) {
    const forDocument = (uri: vscode.Uri) =>
      vscode.window.visibleTextEditors.filter((editor) => editor.document.uri.toString() === uri.toString());
    this.disposables = [
      this.decorations,
      vscode.commands.registerCommand('codeAttention.toggleDataFlow', () => this.toggle()),
      state.onDidChangeDataFlow((enabled) => {
        for (const editor of vscode.window.visibleTextEditors) {
          if (enabled) void this.draw(editor);
          else this.decorations.clear(editor);
        }
      }),
      state.onDidChangeView(() => {
        if (vscode.window.activeTextEditor) this.schedule(vscode.window.activeTextEditor);
      }),
      state.onDidRequestClear(({ everything }) => {
        if (everything && state.dataFlowEnabled) state.setDataFlowEnabled(false);
      }),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length === 0) return;
        // Token ranges belong to the old text; the overlay comes back with the new analysis.
        for (const editor of forDocument(event.document.uri)) this.decorations.clear(editor);
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => editor && this.schedule(editor)),
      vscode.window.onDidChangeTextEditorSelection((event) => this.schedule(event.textEditor)),
      vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((editor) => this.schedule(editor))),
      service.onDidChangeResult((uri) => forDocument(uri).forEach((editor) => this.schedule(editor))),
      { dispose: () => clearTimeout(this.timer) },
    ];
  }

  /** The hover card's data-flow rows: hovering a variable shows its edges; anything else keeps the cursor's. */
  async hoverSection(editor: vscode.TextEditor, result: AnalysisResult, focus: number): Promise<string | undefined> {
    if (!this.state.dataFlowEnabled || !result.dataFlow?.nodes.includes(focus)) return undefined;
    const drawn = await this.draw(editor, focus);
    return drawn?.supported && drawn.decorations.focus ? dataFlowMarkdown(drawn.decorations.focus) : undefined;
  }

  private async toggle() {
    const state = this.state;
    if (state.dataFlowEnabled) {
      state.setDataFlowEnabled(false);
      return { enabled: false };
    }
    const editor = state.sourceEditor();
    if (!editor) {
      void vscode.window.showInformationMessage('Open a supported source file to show its data-flow edges.');
      return undefined;
    }
    const result =
      this.service.resultFor(editor.document) ?? (await this.service.analyze(editor.document, { withProgress: true }));
    if (!result) return undefined;
    await prepareDataFlowOverlay(result, state.resolvedView(result));
    const overlay = dataFlowOverlay(result, state.resolvedView(result));
    if (!overlay.supported) {
      void vscode.window.showInformationMessage(overlay.message);
      return { enabled: false, message: overlay.message };
    }
    state.setDataFlowEnabled(true);
    const drawn = await this.draw(editor);
    const counts = `${overlay.nodes} variable occurrences, ${overlay.edges} data-flow edges`;
    void vscode.window.setStatusBarMessage(
      `Code Attention: ${counts}; put the cursor on a variable or hover it.`,
      5000,
    );
    return dataFlowSummary(drawn);
  }

  /** Draws every graph node and the edges of `focus` (the hovered token) or of the token at the cursor. */
  private async draw(editor: vscode.TextEditor, focus?: number): Promise<DataFlowOverlay | undefined> {
    const result = this.service.resultFor(editor.document);
    if (!result) {
      this.decorations.clear(editor);
      return undefined;
    }
    const view = this.state.resolvedView(result);
    const token = focus ?? tokenAtCursor(editor, result);
    // Released windows get their tensors back first (one forward pass each, bounded memory).
    await prepareDataFlowOverlay(result, view, token);
    if (this.service.resultFor(editor.document) !== result) return undefined;
    const overlay = dataFlowOverlay(result, view, token);
    if (overlay.supported) this.decorations.draw(editor, overlay);
    else this.decorations.clear(editor);
    return overlay;
  }

  /** Re-decorates at most every 100 ms however fast the cursor moves. */
  private schedule(editor: vscode.TextEditor): void {
    if (!this.state.dataFlowEnabled) return;
    this.pending.add(editor);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const editors = [...this.pending];
      this.pending.clear();
      for (const pending of editors) {
        if (this.state.dataFlowEnabled && vscode.window.visibleTextEditors.includes(pending)) void this.draw(pending);
      }
    }, REDRAW_MS);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}

/** What the data-flow command returns (integration tests read it): counts and the cursor token's edges. */
function dataFlowSummary(overlay: DataFlowOverlay | undefined) {
  if (!overlay) return undefined;
  if (!overlay.supported) return { enabled: false, message: overlay.message };
  const focus = overlay.decorations.focus;
  const edges = (rows: NonNullable<typeof focus>['comesFrom']) =>
    rows.map((row) => ({ text: row.text, line: row.range.start.line + 1, attention: row.attention }));
  return {
    enabled: true,
    nodes: overlay.nodes,
    edges: overlay.edges,
    focus: focus && {
      text: focus.text,
      line: focus.range.start.line + 1,
      comesFrom: edges(focus.comesFrom),
      computedFrom: edges(focus.computedFrom),
      readBy: edges(focus.readBy),
      hint: overlay.decorations.hint?.text,
      fileShare: focus.fileShare,
    },
  };
}
