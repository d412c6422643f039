import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { AnalysisResult } from '../core/types';
import { panelCsv, panelModel } from '../presenters/panel';
import type { HostToPanel, PanelModel, PanelToHost } from '../protocol/panel';

/**
 * The "Score Structure Attention" panel: a webview that follows the active editor's analysis.
 * Scripts and styles come from the extension's dist/ and webview/ folders only, under a strict
 * CSP with a fresh nonce per render; all data goes through typed messages.
 */
export class ScorePanel implements vscode.Disposable {
  static readonly viewType = 'codeAttention.scorePanel';
  private static current: ScorePanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private model: PanelModel | undefined;
  private ready = false;

  static show(extensionUri: vscode.Uri, result: AnalysisResult | undefined): ScorePanel {
    if (ScorePanel.current) {
      ScorePanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
    } else {
      const panel = vscode.window.createWebviewPanel(ScorePanel.viewType, 'Structure Attention', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, ScorePanel.options(extensionUri));
      ScorePanel.current = new ScorePanel(panel, extensionUri);
    }
    if (result) ScorePanel.current.update(result);
    return ScorePanel.current;
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri): void {
    panel.webview.options = ScorePanel.options(extensionUri);
    ScorePanel.current = new ScorePanel(panel, extensionUri);
  }

  static get instance(): ScorePanel | undefined {
    return ScorePanel.current;
  }

  private static options(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'webview')],
    };
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
  ) {
    panel.webview.html = this.html();
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
    panel.webview.onDidReceiveMessage((message: PanelToHost) => void this.receive(message), undefined, this.disposables);
  }

  update(result: AnalysisResult): void {
    this.model = panelModel(result);
    this.panel.title = `Structure Attention: ${this.model.file}`;
    this.post({ type: 'update', model: this.model });
  }

  showEmpty(reason: string): void {
    this.post({ type: 'empty', reason });
  }

  private post(message: HostToPanel): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private async receive(message: PanelToHost): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        if (this.model) this.post({ type: 'update', model: this.model });
        break;
      case 'selectHead':
        await vscode.commands.executeCommand('codeAttention.selectLayerHead', message.layer, message.head);
        void vscode.window.setStatusBarMessage(`Code Attention: hover now shows layer ${message.layer}, head ${message.head}`, 3000);
        break;
      case 'export':
        if (this.model) await this.save(message.format, message.format === 'json' ? JSON.stringify(this.model, null, 2) + '\n' : panelCsv(this.model));
        break;
      case 'exportPng': {
        const base64 = message.dataUrl.replace(/^data:image\/png;base64,/, '');
        await this.save('png', Buffer.from(base64, 'base64'), message.chart);
        break;
      }
    }
  }

  private async save(extension: string, content: string | Uint8Array, suffix = 'scores'): Promise<void> {
    const name = `${(this.model?.file ?? 'analysis').replace(/\.[^.]+$/, '')}-${suffix}.${extension}`;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, filters: { [extension.toUpperCase()]: [extension] } });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    void vscode.window.showInformationMessage(`Saved ${vscode.workspace.asRelativePath(target)}`);
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'panel.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'webview', 'panel.css'));
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource} data:; font-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${style}" rel="stylesheet">
<title>Structure Attention</title>
</head>
<body>
<main id="app"><p id="status">Run “Code Attention: Analyze Current File” on a supported file.</p></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  dispose(): void {
    ScorePanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
