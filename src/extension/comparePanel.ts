import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { ModelComparison } from '../core/compare';
import type { ComparePanelToHost, HostToComparePanel } from '../protocol/panel';

/** Side-by-side comparison of two models on the same file (strict CSP, typed messages). */
export class ComparePanel {
  static readonly viewType = 'codeAttention.comparePanel';
  private static current: ComparePanel | undefined;
  private ready = false;
  private comparison: ModelComparison | undefined;

  static show(extensionUri: vscode.Uri, comparison: ModelComparison): void {
    if (!ComparePanel.current) {
      const panel = vscode.window.createWebviewPanel(ComparePanel.viewType, 'Compare Models', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'webview')],
      });
      ComparePanel.current = new ComparePanel(panel, extensionUri);
    }
    ComparePanel.current.update(comparison);
    ComparePanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
  ) {
    const nonce = randomBytes(16).toString('base64');
    const webview = panel.webview;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'compare.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'webview', 'panel.css'));
    webview.html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource} data:; script-src 'nonce-${nonce}';">
<link href="${style}" rel="stylesheet"><title>Compare Models</title></head>
<body><main id="app"><p>Comparing…</p></main><script nonce="${nonce}" src="${script}"></script></body></html>`;
    webview.onDidReceiveMessage((message: ComparePanelToHost) => {
      if (message.type === 'ready') {
        this.ready = true;
        if (this.comparison) this.post();
      }
    });
    panel.onDidDispose(() => (ComparePanel.current = undefined));
  }

  private update(comparison: ModelComparison): void {
    this.comparison = comparison;
    this.panel.title = `Compare: ${comparison.a.name} vs ${comparison.b.name}`;
    if (this.ready) this.post();
  }

  private post(): void {
    const message: HostToComparePanel = { type: 'compare', comparison: this.comparison! };
    void this.panel.webview.postMessage(message);
  }
}
