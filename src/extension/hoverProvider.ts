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
    const result =
      service.resultFor(document) ?? (mayAnalyze ? await service.analyze(document, { quiet: true }) : undefined);
    if (!result || result.source.version !== document.version) {
      const failure = service.failureFor(document);
      return failure
        ? new vscode.Hover(new vscode.MarkdownString().appendText(`Code Attention Lens: ${failure}`))
        : undefined;
    }
    const focus = tokenAtOffset(result.tokens, document.offsetAt(position));
    if (focus === undefined) return undefined;
    const editor = vscode.window.visibleTextEditors.find((candidate) => candidate.document === document);
    let presentation;
    try {
      // A window whose tensors were released gets them back with one forward pass (bounded memory).
      await prepareView(result, this.state.resolvedView(result), focus);
      if (result.source.version !== document.version) return undefined;
      presentation = editor
        ? this.overlay.draw(editor, result, focus)
        : presentHover(result, this.state.resolvedView(result), focus, { topK: settings.hoverRows() });
    } catch (error) {
      return new vscode.Hover(
        new vscode.MarkdownString().appendText(`Code Attention Lens: ${(error as Error).message}`),
      );
    }
    let card = hoverMarkdown(result, presentation, `command:${FLIP_COMMAND}`);
    const dataFlowSection = editor ? await this.dataFlow.hoverSection(editor, result, focus) : undefined;
    if (dataFlowSection) card += '\n' + dataFlowSection;
    const markdown = new vscode.MarkdownString(card, true);
    markdown.isTrusted = { enabledCommands: [FLIP_COMMAND] };
    this.onShown();
    return new vscode.Hover(markdown, tokenRange(result, focus));
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
