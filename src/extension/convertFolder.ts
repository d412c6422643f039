import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { convertFolder } from '../convert/convert';
import { ConvertCancelledError, ConvertError } from '../convert/errors';
import { messageText } from '../presenters/escape';

/**
 * Select Model → "Convert a Hugging Face folder…": picks the folder, converts it with progress and
 * cancellation, and adds the result to the `codeAttention.models` user setting. Returns the
 * converted folder, or undefined when the user stopped or the conversion failed (told once).
 * `givenSource` and `givenOut` (the command's arguments, for scripts) skip the dialogs that ask for them.
 */
export async function convertHuggingFaceFolder(givenSource?: string, givenOut?: string): Promise<string | undefined> {
  const source = givenSource ?? (await pickSourceFolder());
  if (!source) return undefined;
  const out =
    givenOut ??
    (await vscode.window.showInputBox({
      title: 'Folder for the converted model',
      value: `${source.replace(/[\\/]+$/, '')}-code-attention`,
      validateInput: (value) => (value.trim() ? undefined : 'Give a folder path.'),
    }));
  if (!out) return undefined;
  if (existsSync(join(out, 'model.onnx'))) {
    const replace = 'Replace';
    const answer = await vscode.window.showWarningMessage(`${out} already holds a model.`, { modal: true }, replace);
    if (answer !== replace) return undefined;
  }
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Converting the model', cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        const cancelled = token.onCancellationRequested(() => abort.abort());
        let reported = 0;
        try {
          await convertFolder(source, out, {
            signal: abort.signal,
            onProgress: (update) => {
              if (update.stage === 'checking') return progress.report({ message: messageText(update.message) });
              const percent = Math.floor((100 * update.written) / Math.max(update.total, 1));
              if (percent > reported) progress.report({ increment: percent - reported, message: 'writing model.onnx' });
              reported = Math.max(reported, percent);
            },
          });
        } finally {
          cancelled.dispose();
        }
      },
    );
  } catch (error) {
    if (error instanceof ConvertCancelledError) {
      void vscode.window.showInformationMessage('Code Attention Lens: conversion cancelled; no model was written.');
      return undefined;
    }
    if (error instanceof ConvertError) {
      void vscode.window.showErrorMessage(`Code Attention Lens: ${messageText(error.message)}`);
      return undefined;
    }
    throw error;
  }
  const configuration = vscode.workspace.getConfiguration('codeAttention');
  const folders = configuration.inspect<string[]>('models')?.globalValue ?? [];
  if (!folders.includes(out))
    await configuration.update('models', [...folders, out], vscode.ConfigurationTarget.Global);
  return out;
}

async function pickSourceFolder(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    title: 'Hugging Face model folder (config.json, safetensors weights, tokenizer files)',
    openLabel: 'Convert',
  });
  return picked?.[0]?.fsPath;
}
