import * as vscode from 'vscode';
import { prepareView } from '../core/views';
import { hoverMarkdown, presentHover, tokenAtOffset } from '../presenters/hover';
import { AnalysisService } from './analysisService';
import type { AttentionOverlay } from './attentionOverlay';
import { settings, SUPPORTED_FILES } from './config';
import type { DataFlowController } from './dataFlowController';
import { tokenRange } from './editorRanges';
import type { EditorState } from './state';

/** Every other file on disk or unsaved: hovering there tells the user, once, what is supported. */
const OTHER_FILES: vscode.DocumentSelector = [{ scheme: 'file' }, { scheme: 'untitled' }];
const FLIP_COMMAND = 'codeAttention.flipDirection';
/** Moves the cursor to a card row's token; its arguments are a position only. */
const REVEAL_COMMAND = 'codeAttention.revealToken';

/**
 * The hover card: hovering a code token highlights what it attends to (through the attention
 * overlay) and shows the top tokens, with the data-flow section when that overlay is on.
 */
export class HoverController implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly state: EditorState,
    private readonly service: AnalysisService,
    private readonly overlay: AttentionOverlay,
    private readonly dataFlow: DataFlowController,
    private readonly onShown: () => void,
  ) {
    this.disposables = [
      vscode.languages.registerHoverProvider(SUPPORTED_FILES, {
        provideHover: (document, position) => this.provide(document, position),
      }),
      vscode.commands.registerCommand(REVEAL_COMMAND, (line: unknown, character: unknown) =>
        this.reveal(line, character),
      ),
      vscode.languages.registerHoverProvider(OTHER_FILES, {
        provideHover: (document) => {
          if (!AnalysisService.languageOf(document)) service.supportedLanguageOrNotify(document);
          return undefined;
        },
      }),
    ];
  }

  private async provide(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    const service = this.service;
    const mayAnalyze = settings.autoAnalyze() && !service.failureFor(document);
    // The windows done so far are enough when one holds this token (the visible code is analysed first).
    const offset = document.offsetAt(position);
    const result = mayAnalyze ? await service.resultCovering(document, offset) : service.partialFor(document);
    if (!result || result.source.version !== document.version) {
      const failure = service.failureFor(document);
      return failure
        ? new vscode.Hover(new vscode.MarkdownString().appendText(`Code Attention Lens: ${failure}`))
        : undefined;
    }
    const focus = tokenAtOffset(result.tokens, offset);
    if (focus === undefined) return undefined;
    const editor = vscode.window.visibleTextEditors.find((candidate) => candidate.document === document);
    let presentation;
    try {
      // A window whose tensors were released gets them back with one forward pass (bounded memory).
      await prepareView(result, this.state.resolvedView(result), focus);
      if (result.source.version !== document.version) return undefined;
      presentation = editor
        ? this.overlay.draw(editor, result, focus)
        : presentHover(result, this.state.resolvedView(result), focus, settings.hoverOptions());
    } catch (error) {
      return new vscode.Hover(
        new vscode.MarkdownString().appendText(`Code Attention Lens: ${(error as Error).message}`),
      );
    }
    let card = hoverMarkdown(result, presentation, {
      flip: `command:${FLIP_COMMAND}`,
      reveal: `command:${REVEAL_COMMAND}`,
    });
    const dataFlowSection = editor ? await this.dataFlow.hoverSection(editor, result, focus) : undefined;
    if (dataFlowSection) card += '\n' + dataFlowSection;
    const markdown = new vscode.MarkdownString(card, true);
    markdown.isTrusted = { enabledCommands: [FLIP_COMMAND, REVEAL_COMMAND] };
    this.onShown();
    return new vscode.Hover(markdown, tokenRange(result, focus));
  }

  /**
   * Selects the token at a card row's position in the editor the card came from (the hover's
   * editor stays active); anything but two whole numbers within the document is ignored.
   */
  private reveal(line: unknown, character: unknown): void {
    const editor = this.state.sourceEditor();
    const whole = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value);
    if (!editor || !whole(line) || !whole(character) || line < 0 || character < 0) return;
    if (line >= editor.document.lineCount) return;
    const position = editor.document.validatePosition(new vscode.Position(line, character));
    const result = this.service.resultFor(editor.document);
    const token = result && tokenAtOffset(result.tokens, editor.document.offsetAt(position));
    const range = result && token !== undefined ? tokenRange(result, token) : new vscode.Range(position, position);
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
