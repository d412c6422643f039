import * as vscode from 'vscode';
import { completeScoresStepwise } from '../core/pipeline';
import { panelCsv, panelModel } from '../presenters/panel';
import type { AnalysisService } from './analysisService';

/** Export Scores: the score panel's content (every report) as JSON or CSV, to a chosen or given file. */
export class ExportCommand implements vscode.Disposable {
  private readonly registration: vscode.Disposable;

  constructor(private readonly service: AnalysisService) {
    this.registration = vscode.commands.registerCommand(
      'codeAttention.exportResult',
      (target?: vscode.Uri, format?: 'json' | 'csv') => this.export(target, format),
    );
  }

  private async export(target?: vscode.Uri, format?: 'json' | 'csv'): Promise<string | undefined> {
    const editor = vscode.window.activeTextEditor;
    const service = this.service;
    const result = editor
      ? (service.resultFor(editor.document) ?? (await service.analyze(editor.document, { withProgress: true })))
      : service.lastResult;
    if (!result) return undefined;
    await completeScoresStepwise(result);
    const model = panelModel(result);
    if (!target) {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const proposed = folder && vscode.Uri.joinPath(folder, model.file.replace(/\.[^.]+$/, '') + '-scores.json');
      target = await vscode.window.showSaveDialog({ defaultUri: proposed, filters: { JSON: ['json'], CSV: ['csv'] } });
      if (!target) return undefined;
    }
    const asCsv = (format ?? (target.path.endsWith('.csv') ? 'csv' : 'json')) === 'csv';
    const content = asCsv ? panelCsv(model) : JSON.stringify(model, null, 2) + '\n';
    await vscode.workspace.fs.writeFile(target, Buffer.from(content, 'utf8'));
    return target.toString();
  }

  dispose(): void {
    this.registration.dispose();
  }
}
