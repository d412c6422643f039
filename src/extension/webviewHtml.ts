import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { messageText } from '../presenters/escape';

/** Webview options shared by the panels: scripts on, resources only from dist/webview and webview/. */
export function panelOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    retainContextWhenHidden: true,
    localResourceRoots: [
      vscode.Uri.joinPath(extensionUri, 'dist', 'webview'),
      vscode.Uri.joinPath(extensionUri, 'webview'),
    ],
  };
}

/**
 * The HTML shell of a panel: one stylesheet and one bundled script, under a strict CSP with a
 * fresh nonce on every render. Everything else is built by the script with textContent.
 */
export function panelHtml(
  webview: vscode.Webview,
  extensionUri: vscode.Uri,
  options: { script: string; title: string; placeholder: string },
): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', options.script));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'webview', 'panel.css'));
  const csp =
    `default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource} data:; ` +
    `font-src ${webview.cspSource}; script-src 'nonce-${nonce}';`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${style.toString()}" rel="stylesheet">
<title>${escapeHtml(options.title)}</title>
</head>
<body>
<main id="app"><p id="status">${escapeHtml(options.placeholder)}</p></main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Asks where to save (starting in the first workspace folder) and writes the file; undefined when cancelled. */
export async function saveWithDialog(fileName: string, content: string | Uint8Array): Promise<vscode.Uri | undefined> {
  const extension = fileName.slice(fileName.lastIndexOf('.') + 1);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    defaultUri: folder ? vscode.Uri.joinPath(folder, fileName) : undefined,
    filters: { [extension.toUpperCase()]: [extension] },
  });
  if (!target) return undefined;
  await vscode.workspace.fs.writeFile(target, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  void vscode.window.showInformationMessage(`Saved ${messageText(vscode.workspace.asRelativePath(target))}`);
  return target;
}
