import * as path from 'node:path';
import * as vscode from 'vscode';
import { faithfulness, type FaithfulnessReport, type ForwardModel } from '../core/metrics/faithfulness';
import { AnalysisCancelledError } from '../core/pipeline';
import type { AnalysisResult } from '../core/types';
import { messageText } from '../presenters/escape';
import { faithfulnessPanelModel, faithfulnessPasses } from '../presenters/faithfulness';
import type { AnalysisService } from './analysisService';
import { PANEL_READY_MS, shownWithin, tokenAtCursor } from './editorRanges';
import { ScorePanel } from './scorePanel';
import type { EditorState } from './state';

/**
 * Check View Faithfulness at Cursor: blanks out each token near the cursor token (one forward pass
 * each, cancellable), ranks the views by Spearman ρ against the effect, and shows it in the score panel.
 */
export class FaithfulnessCommand implements vscode.Disposable {
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly state: EditorState,
    private readonly service: AnalysisService,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.registration = vscode.commands.registerCommand(
      'codeAttention.checkFaithfulness',
      (line?: number, character?: number) => this.check(line, character),
    );
  }

  private async check(line?: number, character?: number) {
    const editor = this.state.sourceEditor();
    if (!editor) {
      const hint = 'put the cursor on a code token to check view faithfulness';
      void vscode.window.showInformationMessage(`Open a supported source file and ${hint}.`);
      return undefined;
    }
    const document = editor.document;
    const result = this.service.resultFor(document) ?? (await this.service.analyze(document, { withProgress: true }));
    if (!result) return undefined;
    const atGiven = typeof line === 'number' && typeof character === 'number';
    const position = atGiven ? new vscode.Position(line, character) : editor.selection.active;
    const focus = tokenAtCursor(editor, result, position);
    const panel = ScorePanel.show(this.extensionUri, undefined);
    await panel.update(result, this.state.panelView(result));
    if (focus === undefined) {
      const where = `line ${position.line + 1}, column ${position.character + 1}`;
      const message =
        `No code token at ${where}: put the cursor on a code token (not a comment or ` + `blank) and check again.`;
      panel.showFaithfulness(result, { status: 'failed', message });
      void vscode.window.showInformationMessage(messageText(message));
      return undefined;
    }
    const token = result.tokens[focus];
    const passes = faithfulnessPasses(result, focus);
    const checking = `Checking “${token.text}” (line ${token.range.start.line + 1}): ${passes} forward passes…`;
    panel.showFaithfulness(result, { status: 'running', message: checking });
    await shownWithin(panel.whenReady, PANEL_READY_MS);
    const outcome = await this.run(result, focus, passes).then(
      (report) => ({ report }),
      (error: Error) => ({ error }),
    );
    if ('error' in outcome) {
      const cancelled = outcome.error instanceof AnalysisCancelledError;
      const message = cancelled ? 'The check was cancelled.' : outcome.error.message;
      panel.showFaithfulness(result, { status: cancelled ? 'idle' : 'failed', message });
      if (!cancelled) void vscode.window.showWarningMessage(`Code Attention Lens: ${messageText(message)}`);
      return undefined;
    }
    const shown = faithfulnessPanelModel(result, outcome.report);
    panel.showFaithfulness(result, { status: 'done', report: shown });
    const where = `${path.basename(document.uri.fsPath)} line ${token.range.start.line + 1}`;
    const views = shown.views
      .map((row) => `${row.mode} ρ ${row.spearman.toFixed(3)} [${row.low.toFixed(3)}, ${row.high.toFixed(3)}]`)
      .join(', ');
    const skipped = shown.skipped.length ? `; skipped ${shown.skipped.map((row) => row.mode).join(', ')}` : '';
    this.output.info(`Faithfulness at “${token.text}” (${where}), ${passes} passes: ${views}${skipped}.`);
    return {
      focus: shown.focus,
      views: shown.views.map(({ mode, spearman, low, high }) => ({ mode, spearman, low, high })),
      skipped: shown.skipped,
      best: shown.best,
      verdict: shown.verdict,
    };
  }

  /** The forward passes under a cancellable notification that counts them. */
  private run(result: AnalysisResult, focus: number, passes: number): Thenable<FaithfulnessReport> {
    const text = result.tokens[focus].text;
    const title = 'Code Attention: checking view faithfulness';
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, cancellation) => {
        const analyzer = await this.service.getAnalyzer();
        if (analyzer.model.info.path !== result.model.path) {
          throw new Error('The model changed since this file was analysed: analyse it again, then check.');
        }
        let done = 0;
        // Counts the passes for the progress bar and stops between passes when cancelled.
        const model: ForwardModel = {
          tokenizer: analyzer.model.tokenizer,
          forward: async (ids) => {
            if (cancellation.isCancellationRequested) throw new AnalysisCancelledError();
            done++;
            progress.report({ increment: 100 / passes, message: `“${messageText(text)}”: pass ${done} of ${passes}` });
            return analyzer.model.forward(ids);
          },
        };
        return faithfulness(result, model, focus);
      },
    );
  }

  dispose(): void {
    this.registration.dispose();
  }
}
