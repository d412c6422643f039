import * as vscode from 'vscode';
import { functionLens, functionScores } from '../presenters/codeLens';
import type { AnalysisService } from './analysisService';
import { settings, SUPPORTED_FILES } from './config';

/** Each function's CAT-score above it, refreshed when a result lands or the setting changes. */
export class CodeLensController implements vscode.Disposable, vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[];
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly service: AnalysisService) {
    this.disposables = [
      this.changed,
      service.onDidChangeResult(() => this.changed.fire()),
      vscode.languages.registerCodeLensProvider(SUPPORTED_FILES, this),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('codeAttention.codeLens.enabled')) this.changed.fire();
      }),
    ];
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!settings.codeLensEnabled()) return [];
    const result = this.service.resultFor(document);
    if (!result) return [];
    return functionScores(result).map((score) => {
      const { line, character } = score.range.start;
      const lens = functionLens(score);
      return new vscode.CodeLens(new vscode.Range(line, character, line, character), {
        ...lens,
        command: 'codeAttention.scoreFile',
      });
    });
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
