import * as vscode from 'vscode';
import type { AnalysisResult } from '../core/types';
import { coversOffset } from '../core/pipeline';
import { prepareView } from '../core/views';
import { carriedHighlights, drawnHighlights, type DrawnHighlights } from '../presenters/highlightCarry';
import { BUCKETS, presentHover, tokenAtOffset } from '../presenters/hover';
import { settings } from './config';
import { tokenRange } from './editorRanges';
import type { EditorState } from './state';

/** How many of the strongest colour buckets also mark the overview ruler. */
const RULER_BUCKETS = 2;

/** The filter commands and the setting each flips between `shown` and `hidden`. */
const FILTER_COMMANDS = {
  'codeAttention.togglePunctuation': 'hover.punctuation',
  'codeAttention.toggleSinks': 'hover.sinks',
} as const;

/** How soon after an edit its own cursor move arrives (typing moves the cursor; that must not clear). */
const EDIT_SELECTION_MS = 300;

/** Settings whose change redraws the focused token. */
const DRAWING_SETTINGS = ['colorScale', 'hover.punctuation', 'hover.sinks', 'hover.rows'];

/**
 * The attention highlights: one decoration type per colour bucket (many ranges each) and a border
 * on the focused token. Redraws the focused token when the view changes; clears an editor's
 * highlights when its selection changes. An edit keeps the highlights outside the changed region
 * (re-anchored to the new text) until the new analysis covers the focused token, which then
 * draws them from the new result; an edit of the focused token itself clears them.
 */
export class AttentionOverlay implements vscode.Disposable {
  private readonly buckets = Array.from({ length: BUCKETS }, (_, bucket) =>
    vscode.window.createTextEditorDecorationType({
      backgroundColor: new vscode.ThemeColor(`codeAttention.weight${bucket}`),
      borderRadius: '2px',
      // The strongest tokens can be far from the hovered one: mark them in the overview ruler.
      ...(bucket >= BUCKETS - RULER_BUCKETS && {
        overviewRulerColor: new vscode.ThemeColor('codeAttention.rulerMark'),
        overviewRulerLane: vscode.OverviewRulerLane.Right,
      }),
    }),
  );
  private readonly focusBorder = vscode.window.createTextEditorDecorationType({
    border: '1px solid',
    borderColor: new vscode.ThemeColor('codeAttention.focusBorder'),
    borderRadius: '2px',
  });
  private readonly disposables: vscode.Disposable[];
  /** What is drawn, by offsets; `carried` once an edit moved it (it is the previous text's attention). */
  private shown: { editor: vscode.TextEditor; highlights: DrawnHighlights; carried: boolean } | undefined;
  private lastEdit: { editor: vscode.TextEditor; version: number; at: number } | undefined;

  constructor(private readonly state: EditorState) {
    this.disposables = [
      ...this.buckets,
      this.focusBorder,
      state.onDidChangeView(() => this.redraw()),
      state.onDidRequestClear(({ editor }) => this.clear(editor)),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length === 0) return;
        const editor = vscode.window.visibleTextEditors.find((candidate) => candidate.document === event.document);
        if (editor) this.carryThroughEdit(editor);
      }),
      vscode.window.onDidChangeTextEditorSelection((event) => {
        const edit = this.lastEdit;
        const byEdit =
          edit?.editor === event.textEditor &&
          edit.version === event.textEditor.document.version &&
          Date.now() - edit.at < EDIT_SELECTION_MS;
        this.lastEdit = undefined;
        if (!byEdit) this.clear(event.textEditor);
      }),
      state.service.onDidChangePartial((uri) => this.redrawCarried(uri)),
      state.service.onDidChangeResult((uri) => this.redrawCarried(uri)),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (DRAWING_SETTINGS.some((name) => event.affectsConfiguration(`codeAttention.${name}`))) this.redraw();
      }),
      ...Object.entries(FILTER_COMMANDS).map(([command, setting]) =>
        vscode.commands.registerCommand(command, () => this.toggleFilter(setting)),
      ),
      // For the integration tests: what is drawn, by offsets into the document's current text.
      vscode.commands.registerCommand('codeAttention._highlights', () =>
        this.shown
          ? {
              file: this.shown.editor.document.uri.fsPath,
              focus: this.shown.highlights.focus,
              highlights: this.shown.highlights.highlights.length,
              carried: this.shown.carried,
            }
          : undefined,
      ),
    ];
  }

  /** Flips a filter setting where it is set (workspace folder settings win over user settings). */
  private async toggleFilter(setting: string): Promise<'shown' | 'hidden'> {
    const section = vscode.workspace.getConfiguration('codeAttention');
    const next = section.get(setting) === 'hidden' ? 'shown' : 'hidden';
    const inspected = section.inspect(setting);
    const target =
      inspected?.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
    await section.update(setting, next, target);
    const what = setting === 'hover.punctuation' ? 'Punctuation and operators' : 'Attention sinks';
    const renormalised = next === 'hidden' ? ' (the other weights are renormalised)' : '';
    vscode.window.setStatusBarMessage(`Code Attention: ${what} ${next}${renormalised}.`, 4000);
    return next;
  }

  /** Highlights what `focus` attends to (or is attended by) under the current view; returns what was drawn. */
  draw(editor: vscode.TextEditor, result: AnalysisResult, focus: number): ReturnType<typeof presentHover> {
    const presentation = presentHover(result, this.state.resolvedView(result), focus, settings.hoverOptions());
    const byBucket: vscode.Range[][] = this.buckets.map(() => []);
    for (const highlight of presentation.highlights)
      byBucket[highlight.bucket].push(tokenRange(result, highlight.token));
    this.buckets.forEach((decoration, bucket) => editor.setDecorations(decoration, byBucket[bucket]));
    editor.setDecorations(this.focusBorder, [tokenRange(result, focus)]);
    this.state.focused = { editor, version: editor.document.version, token: focus };
    this.shown = { editor, highlights: drawnHighlights(result, presentation, focus), carried: false };
    return presentation;
  }

  /** Moves the highlights through an edit (those touching it go), or clears them if the focused token changed. */
  private carryThroughEdit(editor: vscode.TextEditor): void {
    const shown = this.shown;
    const carried = shown?.editor === editor && carriedHighlights(shown.highlights, editor.document.getText());
    if (!carried) return this.clear(editor);
    const rangeOf = ({ start, end }: { start: number; end: number }) =>
      new vscode.Range(editor.document.positionAt(start), editor.document.positionAt(end));
    const byBucket: vscode.Range[][] = this.buckets.map(() => []);
    for (const highlight of carried.highlights) byBucket[highlight.bucket].push(rangeOf(highlight));
    this.buckets.forEach((decoration, bucket) => editor.setDecorations(decoration, byBucket[bucket]));
    editor.setDecorations(this.focusBorder, [rangeOf(carried.focus)]);
    this.shown = { editor, highlights: carried, carried: true };
    // The token index belongs to the old text: a new view waits for the new result.
    this.state.focused = undefined;
    this.lastEdit = { editor, version: editor.document.version, at: Date.now() };
  }

  /** Draws carried highlights again from the new analysis once it covers the focused token (partial or complete). */
  private redrawCarried(uri: vscode.Uri): void {
    const shown = this.shown;
    if (!shown?.carried || shown.editor.document.uri.toString() !== uri.toString()) return;
    const { editor } = shown;
    const { document } = editor;
    const version = document.version;
    const result = this.state.service.partialFor(document);
    const offset = shown.highlights.focus.start;
    if (!result || result.source.version !== version || !coversOffset(result, offset)) return;
    const focus = tokenAtOffset(result.tokens, offset);
    if (focus === undefined) return this.clear(editor);
    void prepareView(result, this.state.resolvedView(result), focus)
      .then(() => {
        if (this.shown === shown && document.version === version) this.draw(editor, result, focus);
      })
      .catch(() => this.clear(editor));
  }

  clear(editor = vscode.window.activeTextEditor): void {
    if (!editor) return;
    for (const decoration of this.buckets) editor.setDecorations(decoration, []);
    editor.setDecorations(this.focusBorder, []);
    if (this.state.focused?.editor === editor) this.state.focused = undefined;
    if (this.shown?.editor === editor) this.shown = undefined;
  }

  /** Draws the focused token again under the current view, if its editor still shows that text. */
  private redraw(): void {
    const focused = this.state.focused;
    if (!focused) return;
    const { editor, version, token } = focused;
    const result = this.state.service.resultFor(editor.document);
    if (!result || editor.document.version !== version || !vscode.window.visibleTextEditors.includes(editor)) return;
    void prepareView(result, this.state.resolvedView(result), token)
      .then(() => {
        if (this.state.focused?.editor === editor && editor.document.version === version)
          this.draw(editor, result, token);
      })
      .catch(() => this.clear(editor));
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
