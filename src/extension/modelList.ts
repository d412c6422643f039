import { homedir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findModels, modelEntry, type ModelEntry } from '../core/model';
import { modelFoldersFromSetting } from '../presenters/models';
import { settings } from './config';

/** The models to choose from: the bundled ones, then the `codeAttention.models` folders (problems told once). */
export class ModelList {
  private readonly toldProblems = new Set<string>();

  constructor(
    private readonly extensionPath: string,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  /** Bundled models first, then folders from the `codeAttention.models` setting. */
  available(): ModelEntry[] {
    const bundled = findModels(path.join(this.extensionPath, 'models'));
    // In an untrusted workspace VS Code returns only the user's value of this restricted setting.
    const workspaceRoot = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const setting = modelFoldersFromSetting(settings.modelFolders(), homedir(), workspaceRoot);
    for (const problem of setting.problems) this.tellOnce(problem);
    const user = setting.folders.map(modelEntry);
    const seen = new Set<string>();
    return [...bundled, ...user].filter((model) => !seen.has(model.path) && seen.add(model.path));
  }

  /** A warning about the settings, shown once per session however often the models are listed. */
  private tellOnce(problem: string): void {
    if (this.toldProblems.has(problem)) return;
    this.toldProblems.add(problem);
    this.output.warn(problem);
    void vscode.window.showWarningMessage(`Code Attention Lens: ${problem}`);
  }
}
