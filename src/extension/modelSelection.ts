import * as vscode from 'vscode';
import { messageText } from '../presenters/escape';
import { modelPickItems } from '../presenters/models';
import { convertHuggingFaceFolder } from './convertFolder';
import type { AnalysisService } from './analysisService';
import type { EditorState } from './state';

/** Select Model: bundled checkpoints and the folders of the `codeAttention.models` setting. */
export class ModelSelection implements vscode.Disposable {
  private readonly registrations: vscode.Disposable[];

  constructor(
    private readonly state: EditorState,
    private readonly service: AnalysisService,
  ) {
    this.registrations = [
      // A model folder as the argument (scripts, tests) skips the picker.
      vscode.commands.registerCommand('codeAttention.selectModel', (modelPath?: unknown) =>
        typeof modelPath === 'string' ? this.use(modelPath) : this.select(),
      ),
      vscode.commands.registerCommand('codeAttention.convertFolder', (source?: unknown, out?: unknown) =>
        this.convert(typeof source === 'string' ? source : undefined, typeof out === 'string' ? out : undefined),
      ),
    ];
  }

  private async select(): Promise<void> {
    const models = this.service.availableModels();
    const current = this.service.selectedModelPath();
    const convert = { label: 'Convert a Hugging Face folder…', description: 'safetensors → ONNX, no Python', path: '' };
    const pick = await vscode.window.showQuickPick([...modelPickItems(models, current), convert], {
      title: 'Code Attention: model',
    });
    if (!pick) return;
    if (pick === convert) await this.convert();
    else await this.use(pick.path);
  }

  /** Converts a Hugging Face folder and selects the result; returns its folder (undefined when stopped or failed). */
  private async convert(source?: string, out?: string): Promise<string | undefined> {
    const converted = await convertHuggingFaceFolder(source, out);
    if (converted && (await this.use(converted))) return converted;
    return undefined;
  }

  /** Selects and loads a model folder, then analyses the active editor with it; false when it does not load. */
  private async use(chosen: string): Promise<boolean> {
    const service = this.service;
    if (!service.availableModels().some((model) => model.path === chosen)) {
      const message = `${chosen} is neither a bundled model nor in the codeAttention.models setting; add it there first.`;
      void vscode.window.showErrorMessage(`Code Attention Lens: ${messageText(message)}`);
      return false;
    }
    await service.selectModel(chosen);
    try {
      await service.getAnalyzer(chosen);
    } catch (error) {
      void vscode.window.showErrorMessage(`Code Attention Lens: ${messageText((error as Error).message)}`);
      return false;
    }
    this.state.requestClear({ editor: vscode.window.activeTextEditor, everything: false });
    const editor = vscode.window.activeTextEditor;
    if (editor) void service.analyze(editor.document, { withProgress: true });
    return true;
  }

  dispose(): void {
    for (const registration of this.registrations) registration.dispose();
  }
}
