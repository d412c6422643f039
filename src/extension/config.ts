import * as vscode from 'vscode';
import type { ExecutionProviderSetting } from '../core/types';

/** The extension's settings, read fresh on every call (VS Code caches the configuration itself). */
const section = () => vscode.workspace.getConfiguration('codeAttention');

export const settings = {
  autoAnalyze: (): boolean => section().get<boolean>('autoAnalyze', true),
  codeLensEnabled: (): boolean => section().get<boolean>('codeLens.enabled', true),
  executionProvider: (): ExecutionProviderSetting => section().get<ExecutionProviderSetting>('executionProvider', 'auto'),
  /** In an untrusted workspace VS Code returns only the user's value of this restricted setting. */
  modelFolders: (): string[] => section().get<string[]>('models', []),
};

/** Settings whose change makes every loaded model and cached result stale. */
export function affectsModel(event: vscode.ConfigurationChangeEvent): boolean {
  return event.affectsConfiguration('codeAttention.executionProvider') || event.affectsConfiguration('codeAttention.models');
}
