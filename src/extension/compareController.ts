import * as path from 'node:path';
import * as vscode from 'vscode';
import { compareAnalyses } from '../core/compare';
import type { AnalysisResult } from '../core/types';
import { comparePanelModel, differenceHighlights } from '../presenters/compare';
import { messageText } from '../presenters/escape';
import { comparePickItems } from '../presenters/models';
import type { AnalysisService } from './analysisService';
import { ComparePanel } from './comparePanel';
import { settings } from './config';
import { PANEL_READY_MS, shownWithin, tokenRange } from './editorRanges';
import type { EditorState } from './state';

/**
 * Compare Models: analyses the active file with two models, opens the compare panel and marks the
 * tokens that receive more last-layer attention under either model.
 */
export class CompareController implements vscode.Disposable {
  private readonly moreInA = markDecoration('codeAttention.moreInA');
  private readonly moreInB = markDecoration('codeAttention.moreInB');
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly context: vscode.ExtensionContext,
    state: EditorState,
    private readonly service: AnalysisService,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.disposables = [
      this.moreInA,
      this.moreInB,
      vscode.commands.registerCommand('codeAttention.compareModels', (a?: string, b?: string) => this.compare(a, b)),
      vscode.window.registerWebviewPanelSerializer(ComparePanel.viewType, {
        deserializeWebviewPanel: (panel) => Promise.resolve(ComparePanel.revive(panel, context.extensionUri)),
      }),
      // The marks go with the hover highlights: cleared by the same requests, cursor moves and edits.
      state.onDidRequestClear(({ editor }) => this.clear(editor)),
      vscode.window.onDidChangeTextEditorSelection((event) => this.clear(event.textEditor)),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length === 0) return;
        this.clear(vscode.window.visibleTextEditors.find((candidate) => candidate.document === event.document));
      }),
    ];
  }

  private async compare(modelA?: string, modelB?: string) {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Open a supported source file to compare models on it.');
      return undefined;
    }
    const language = this.service.supportedLanguageOrNotify(editor.document);
    if (!language) return undefined;
    if (!modelA || !modelB) {
      const models = this.service.availableModels();
      const picks = await vscode.window.showQuickPick(comparePickItems(models), {
        canPickMany: true,
        title: 'Code Attention: pick two models to compare',
      });
      if (!picks || picks.length !== 2) {
        if (picks) void vscode.window.showInformationMessage('Pick exactly two models.');
        return undefined;
      }
      [modelA, modelB] = picks.map((pick) => pick.path);
    }
    const document = editor.document;
    const analysed = await this.analyseWithBoth(document, language, [modelA, modelB]).then(
      undefined,
      (error: Error) => {
        if (error.name !== 'AnalysisCancelledError')
          void vscode.window.showWarningMessage(`Code Attention Lens: ${messageText(error.message)}`);
        return undefined;
      },
    );
    if (!analysed) return undefined;
    const [reference, other] = analysed;
    const compared = compareAnalyses(reference, other);
    const name = path.basename(document.uri.fsPath);
    const forwards = analysed.map((result) => `${result.timings.forwardMs.toFixed(0)} ms on ${result.device}`);
    this.output.info(
      `Compared ${compared.a.name} and ${compared.b.name} on ${name}: forward ${forwards.join(' and ')}.`,
    );
    const highlights = differenceHighlights(compared);
    const panel = ComparePanel.show(
      this.context.extensionUri,
      comparePanelModel(reference, other, compared, highlights),
    );
    // Token ranges come from the text both models read: draw them only if the editor still shows it.
    if (document.version === reference.source.version && vscode.window.visibleTextEditors.includes(editor)) {
      editor.setDecorations(
        this.moreInB,
        highlights.moreInB.map((token) => tokenRange(reference, token)),
      );
      editor.setDecorations(
        this.moreInA,
        highlights.moreInA.map((token) => tokenRange(reference, token)),
      );
    }
    await shownWithin(panel.whenReady, PANEL_READY_MS);
    return {
      a: compared.a.name,
      b: compared.b.name,
      layers: [compared.a.layers, compared.b.layers],
      relativeDepth: compared.relativeDepth,
      moreInA: highlights.moreInA.length,
      moreInB: highlights.moreInB.length,
    };
  }

  /** One analysis per model (CAT and DFG reports only), under one cancellable notification. */
  private analyseWithBoth(
    document: vscode.TextDocument,
    language: NonNullable<ReturnType<AnalysisService['supportedLanguageOrNotify']>>,
    modelDirs: string[],
  ): Thenable<AnalysisResult[]> {
    const text = document.getText();
    const title = 'Code Attention: comparing models';
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        const results: AnalysisResult[] = [];
        for (const modelDir of modelDirs) {
          progress.report({ message: messageText(path.basename(modelDir)) });
          // Both models stay loaded in the service's model cache: a second comparison reloads neither.
          const analyzer = await this.service.getAnalyzer(modelDir);
          const options = { path: document.uri.fsPath, version: document.version, signal: abort.signal };
          const definition = settings.analysisOptions();
          results.push(
            await analyzer.analyze(text, language, { ...options, ...definition, reports: ['cat', 'dataFlow'] }),
          );
        }
        return results;
      },
    );
  }

  private clear(editor: vscode.TextEditor | undefined): void {
    editor?.setDecorations(this.moreInA, []);
    editor?.setDecorations(this.moreInB, []);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}

function markDecoration(color: string): vscode.TextEditorDecorationType {
  return vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor(color),
    borderRadius: '2px',
  });
}
