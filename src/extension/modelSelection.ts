import * as vscode from 'vscode';
import { messageText } from '../presenters/escape';
import { modelPickItems } from '../presenters/models';
import { convertHuggingFaceFolder } from './convertFolder';
import type { AnalysisService } from './analysisService';
import type { EditorState } from './state';

/** Select Model: bundled checkpoints and the folders of the `codeAttention.models` setting. */
export class ModelSelection implements vscode.Disposable {
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly state: EditorState,
    private readonly service: AnalysisService,
  ) {
    this.registration = vscode.commands.registerCommand('codeAttention.selectModel', () => this.select());
  }

  private async select(): Promise<void> {
    const service = this.service;
    const models = service.availableModels();
    const current = service.selectedModelPath();
    const convert = { label: 'Convert a Hugging Face folder…', description: 'safetensors → ONNX, no Python', path: '' };
    const pick = await vscode.window.showQuickPick([...modelPickItems(models, current), convert], {
      title: 'Code Attention: model',
    });
    if (!pick) return;
    const chosen = pick === convert ? await convertHuggingFaceFolder() : pick.path;
    if (!chosen) return;
    await service.selectModel(chosen);
    try {
      await service.getAnalyzer(chosen);
    } catch (error) {
      void vscode.window.showErrorMessage(`Code Attention Lens: ${messageText((error as Error).message)}`);
      return;
    }
    this.state.requestClear({ editor: vscode.window.activeTextEditor, everything: false });
    const editor = vscode.window.activeTextEditor;
    if (editor) void service.analyze(editor.document, { withProgress: true });
  }

  dispose(): void {
    this.registration.dispose();
  }
}
