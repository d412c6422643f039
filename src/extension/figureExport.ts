import * as vscode from 'vscode';
import { exportFileName, pngFromDataUrl } from '../presenters/export';
import type { CsvFile } from '../presenters/panel';
import type { ExportFiguresMessage } from '../protocol/panel';

interface OutputFile {
  name: string;
  content: string | Uint8Array;
}

/**
 * Saves several files side by side: one save dialog for the first (its folder and stem are
 * used for the others), then one message naming all of them. Undefined when cancelled.
 */
export async function saveSideBySide(files: OutputFile[]): Promise<vscode.Uri[] | undefined> {
  if (!files.length) return undefined;
  const [first, ...rest] = files;
  const extension = first.name.slice(first.name.lastIndexOf('.') + 1);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    defaultUri: folder ? vscode.Uri.joinPath(folder, first.name) : undefined,
    filters: { [extension.toUpperCase()]: [extension] },
    title: rest.length ? `Save ${files.length} files (the others go next to this one)` : undefined,
  });
  if (!target) return undefined;
  const directory = vscode.Uri.joinPath(target, '..');
  const written = [target, ...rest.map((file) => vscode.Uri.joinPath(directory, file.name))];
  for (const [index, uri] of written.entries()) {
    const content = files[index].content;
    await vscode.workspace.fs.writeFile(uri, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  }
  const names = written.map((uri) => vscode.workspace.asRelativePath(uri)).join(', ');
  void vscode.window.showInformationMessage(`Saved ${names}`);
  return written;
}

/** Checks and saves the figures a webview built: SVG documents, or PNG data URLs. */
export async function saveFigures(
  file: string | undefined,
  message: ExportFiguresMessage,
): Promise<vscode.Uri[] | undefined> {
  const files: OutputFile[] = [];
  for (const figure of message.figures) {
    const name = exportFileName(file, figure.name, figure.format);
    if (figure.format === 'png') {
      const png = pngFromDataUrl(figure.data);
      if (!png) return reject(`${name} is not a PNG image`);
      files.push({ name, content: png });
    } else {
      if (!figure.data.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'))
        return reject(`${name} is not an SVG document`);
      files.push({ name, content: figure.data });
    }
  }
  return saveSideBySide(files);
}

export function saveCsvFiles(file: string | undefined, csv: CsvFile[]): Promise<vscode.Uri[] | undefined> {
  return saveSideBySide(csv.map(({ suffix, content }) => ({ name: exportFileName(file, suffix, 'csv'), content })));
}

function reject(reason: string): undefined {
  void vscode.window.showErrorMessage(
    `Code Attention Lens: the export was not saved: ${reason}. Export again from the panel.`,
  );
  return undefined;
}
