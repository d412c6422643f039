import * as vscode from 'vscode';
import type { AnalysisResult } from '../core/types';
import { viewLabel, type AttentionView } from '../core/views';
import { resolveView } from '../presenters/status';
import { AnalysisService } from './analysisService';

const VIEW_KEY = 'codeAttention.view';
const DEFAULT_VIEW: AttentionView = { mode: 'meanHeads', layer: -1, direction: 'attendsTo' };

/** The token whose attention the editor shows, so that a new view redraws it. */
export interface FocusedToken {
  editor: vscode.TextEditor;
  version: number;
  token: number;
}

/** A request to remove highlights from an editor (all visible editors' owners listen). */
export interface ClearRequest {
  editor: vscode.TextEditor | undefined;
  /** Also the compare marks and the data-flow overlay, as the Clear command does. */
  everything: boolean;
}

/**
 * What the editor features share: the attention view (persisted per workspace), the focused
 * token, whether the data-flow overlay is on, and the last source editor. Results per document
 * version live in {@link AnalysisService}; features subscribe to both instead of calling each other.
 */
export class EditorState implements vscode.Disposable {
  private current: AttentionView;
  private dataFlowOn = false;
  private lastSourceEditor: vscode.TextEditor | undefined;
  private readonly viewChanged = new vscode.EventEmitter<AttentionView>();
  private readonly dataFlowChanged = new vscode.EventEmitter<boolean>();
  private readonly clearRequested = new vscode.EventEmitter<ClearRequest>();
  private readonly disposables: vscode.Disposable[];
  readonly onDidChangeView = this.viewChanged.event;
  readonly onDidChangeDataFlow = this.dataFlowChanged.event;
  readonly onDidRequestClear = this.clearRequested.event;
  focused: FocusedToken | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly service: AnalysisService,
  ) {
    this.current = context.workspaceState.get<AttentionView>(VIEW_KEY) ?? DEFAULT_VIEW;
    this.rememberSourceEditor(vscode.window.activeTextEditor);
    this.disposables = [
      this.viewChanged,
      this.dataFlowChanged,
      this.clearRequested,
      vscode.window.onDidChangeActiveTextEditor((editor) => this.rememberSourceEditor(editor)),
    ];
  }

  get view(): AttentionView {
    return this.current;
  }

  async setView(next: AttentionView): Promise<void> {
    this.current = next;
    await this.context.workspaceState.update(VIEW_KEY, next);
    this.viewChanged.fire(next);
  }

  /** The view as it applies to one result's model (layer −1 = last, head within range). */
  resolvedView(result: AnalysisResult): AttentionView {
    return resolveView(this.current, result.model.layers, result.model.heads);
  }

  /** What the score panel marks for the current view. */
  panelView(result: AnalysisResult): { layer: number; head: number | undefined; label: string } {
    const shown = this.resolvedView(result);
    const onOneHead = shown.mode === 'head' || (shown.mode === 'valueWeighted' && shown.head !== undefined);
    return { layer: shown.layer, head: onOneHead ? shown.head : undefined, label: viewLabel(shown) };
  }

  get dataFlowEnabled(): boolean {
    return this.dataFlowOn;
  }

  setDataFlowEnabled(enabled: boolean): void {
    this.dataFlowOn = enabled;
    this.dataFlowChanged.fire(enabled);
  }

  requestClear(request: ClearRequest): void {
    this.clearRequested.fire(request);
  }

  /** The result of the active editor's document, or the last result when no editor is active. */
  activeResult(): AnalysisResult | undefined {
    const editor = vscode.window.activeTextEditor;
    return editor ? this.service.resultFor(editor.document) : this.service.lastResult;
  }

  /** The active editor, or (with a panel focused) the last source editor that is still visible. */
  sourceEditor(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active) return active;
    const visible = vscode.window.visibleTextEditors;
    if (this.lastSourceEditor && visible.includes(this.lastSourceEditor)) return this.lastSourceEditor;
    return visible.find((candidate) => AnalysisService.languageOf(candidate.document));
  }

  private rememberSourceEditor(editor: vscode.TextEditor | undefined): void {
    if (editor && AnalysisService.languageOf(editor.document)) this.lastSourceEditor = editor;
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
