import * as vscode from 'vscode';
import type { ComparePanelModel, ComparePanelToHost, HostToComparePanel } from '../protocol/compare';
import { exportFileName, pngFromDataUrl } from '../presenters/export';
import { saveFigures } from './figureExport';
import { panelHtml, panelOptions, saveWithDialog } from './webviewHtml';

/** Side-by-side comparison of two models on the same file (strict CSP, typed messages). */
export class ComparePanel implements vscode.Disposable {
  static readonly viewType = 'codeAttention.comparePanel';
  private static current: ComparePanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private markReady!: () => void;
  /** Resolves when the webview's script has started and asked for data. */
  readonly whenReady = new Promise<void>((resolve) => (this.markReady = resolve));
  private model: ComparePanelModel | undefined;

  static show(extensionUri: vscode.Uri, model: ComparePanelModel): ComparePanel {
    if (!ComparePanel.current) {
      const panel = vscode.window.createWebviewPanel(
        ComparePanel.viewType,
        'Compare Models',
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        panelOptions(extensionUri),
      );
      ComparePanel.current = new ComparePanel(panel, extensionUri);
    }
    ComparePanel.current.update(model);
    ComparePanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
    return ComparePanel.current;
  }

  /** Restores a panel after a reload; the webview redraws the comparison from its saved state. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri): void {
    panel.webview.options = panelOptions(extensionUri);
    ComparePanel.current?.dispose();
    ComparePanel.current = new ComparePanel(panel, extensionUri);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
  ) {
    panel.webview.html = panelHtml(panel.webview, extensionUri, {
      script: 'compare.js',
      title: 'Compare Models',
      placeholder: 'Run “Code Attention: Compare Models” on a supported file.',
    });
    panel.webview.onDidReceiveMessage(
      (message: ComparePanelToHost) => void this.receive(message),
      undefined,
      this.disposables,
    );
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
  }

  private async receive(message: ComparePanelToHost): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.markReady();
        this.post();
        break;
      case 'export':
        if (this.model)
          await saveWithDialog(
            exportFileName(this.model.file, 'compare', 'json'),
            JSON.stringify(this.model, null, 2) + '\n',
          );
        break;
      case 'exportFigures':
        await saveFigures(this.model?.file, message);
        break;
      case 'exportPng': {
        const png = pngFromDataUrl(message.dataUrl);
        if (png) await saveWithDialog(exportFileName(this.model?.file, message.chart, 'png'), png);
        break;
      }
    }
  }

  private update(model: ComparePanelModel): void {
    this.model = model;
    this.panel.title = `Compare: ${model.a.name} vs ${model.b.name}`;
    this.post();
  }

  private post(): void {
    if (!this.ready || !this.model) return;
    const message: HostToComparePanel = { type: 'compare', model: this.model };
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (ComparePanel.current === this) ComparePanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
