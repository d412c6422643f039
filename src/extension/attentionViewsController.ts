import * as vscode from 'vscode';
import type { AnalysisResult } from '../core/types';
import { windowTensors } from '../core/pipeline';
import { windowOfToken } from '../core/views';
import { attentionViewsModel, viewScope } from '../presenters/attentionViews';
import type { AnalysisService } from './analysisService';
import { AttentionViewsPanel } from './attentionViewsPanel';
import { PANEL_READY_MS, shownWithin } from './editorRanges';
import type { EditorState } from './state';

/** How long the cursor rests before the views follow it to another function or selection. */
const FOLLOW_SELECTION_MS = 500;

/**
 * Show Attention Views: the head view, model view and token × token matrix of the selection (or
 * the function under the cursor), following the current view, new results and the selection.
 */
export class AttentionViewsController implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[];
  private followTimer: NodeJS.Timeout | undefined;
  /** The tokens shown last, so that a cursor move inside them does not recompute. */
  private shown: { uri: string; version: number | undefined; first: number; end: number; view: string } | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly state: EditorState,
    private readonly service: AnalysisService,
  ) {
    this.disposables = [
      vscode.commands.registerCommand('codeAttention.showAttentionViews', () => this.show()),
      vscode.window.registerWebviewPanelSerializer(AttentionViewsPanel.viewType, {
        deserializeWebviewPanel: (panel) => Promise.resolve(AttentionViewsPanel.revive(panel, extensionUri)),
      }),
      state.onDidChangeView(() => this.refresh()),
      service.onDidChangeResult((uri) => {
        if (this.state.sourceEditor()?.document.uri.toString() === uri.toString()) this.refresh();
      }),
      vscode.window.onDidChangeTextEditorSelection((event) => {
        if (!AttentionViewsPanel.instance?.visible) return;
        clearTimeout(this.followTimer);
        this.followTimer = setTimeout(() => this.refresh(event.textEditor), FOLLOW_SELECTION_MS);
      }),
      { dispose: () => clearTimeout(this.followTimer) },
    ];
  }

  /** Opens the panel on the active editor's selection; resolves once the panel is up, with what it shows. */
  private async show() {
    const editor = this.state.sourceEditor();
    const panel = AttentionViewsPanel.show(this.extensionUri);
    if (!editor) {
      panel.showEmpty(
        'Open a supported source file, select code (or put the cursor in a function) and run the command again.',
      );
      return undefined;
    }
    const result =
      this.service.resultFor(editor.document) ?? (await this.service.analyze(editor.document, { withProgress: true }));
    this.shown = undefined;
    const shown = result ? await this.render(panel, editor, result) : undefined;
    if (!result)
      panel.showEmpty(
        'This file has no analysis yet (see the status bar): run “Code Attention: Analyze Current File”.',
      );
    await shownWithin(panel.whenReady, PANEL_READY_MS);
    return shown;
  }

  private refresh(editor = this.state.sourceEditor()): void {
    const panel = AttentionViewsPanel.instance;
    if (!panel || !editor) return;
    const result = this.service.resultFor(editor.document);
    if (result) void this.render(panel, editor, result);
  }

  private async render(panel: AttentionViewsPanel, editor: vscode.TextEditor, result: AnalysisResult) {
    const selection = editor.selection;
    const scope = viewScope(result, editor.document.offsetAt(selection.start), editor.document.offsetAt(selection.end));
    if (!scope) {
      panel.showEmpty(
        'No code tokens at the cursor or in the selection: select code, or put the cursor inside a function.',
      );
      return undefined;
    }
    const view = this.state.resolvedView(result);
    const key = {
      uri: editor.document.uri.toString(),
      version: result.source.version,
      first: scope.first,
      end: scope.end,
      view: JSON.stringify(view),
    };
    if (this.shown && JSON.stringify(this.shown) === JSON.stringify(key))
      return { scope: scope.description, tokens: scope.end - scope.first };
    this.shown = key;
    try {
      // The scope's window may have released its tensors (bounded memory): one forward pass brings them back.
      const window = windowOfToken(result, scope.first);
      if (window) await windowTensors(window);
      panel.update(attentionViewsModel(result, view, scope));
    } catch (error) {
      panel.showEmpty(`The attention views could not be computed: ${(error as Error).message}`);
      return undefined;
    }
    return { scope: scope.description, tokens: scope.end - scope.first };
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
