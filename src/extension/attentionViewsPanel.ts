import * as vscode from 'vscode';
import { exportFileName } from '../presenters/export';
import { matrixCsv } from '../presenters/attentionViews';
import type { AttentionViewsModel, HostToViews, ViewsToHost } from '../protocol/attentionViews';
import { saveFigures } from './figureExport';
import { panelHtml, panelOptions, saveWithDialog } from './webviewHtml';

/**
 * The attention views panel: head view, model view and token × token matrix of a selection, under
 * the same strict CSP with nonces as the other panels, fed typed messages.
 */
export class AttentionViewsPanel implements vscode.Disposable {
  static readonly viewType = 'codeAttention.attentionViews';
  private static current: AttentionViewsPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private model: AttentionViewsModel | undefined;
  private emptyReason: string | undefined;
  private markReady!: () => void;
  /** Resolves when the webview's script has started and asked for data. */
  readonly whenReady = new Promise<void>((resolve) => (this.markReady = resolve));

  static show(extensionUri: vscode.Uri): AttentionViewsPanel {
    if (!AttentionViewsPanel.current) {
      const panel = vscode.window.createWebviewPanel(
        AttentionViewsPanel.viewType,
        'Attention Views',
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        panelOptions(extensionUri),
      );
      AttentionViewsPanel.current = new AttentionViewsPanel(panel, extensionUri);
    } else {
      AttentionViewsPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    return AttentionViewsPanel.current;
  }

  /** Restores a panel after a reload; the webview redraws from its saved state until new data comes. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri): void {
    panel.webview.options = panelOptions(extensionUri);
    AttentionViewsPanel.current?.dispose();
    AttentionViewsPanel.current = new AttentionViewsPanel(panel, extensionUri);
  }

  static get instance(): AttentionViewsPanel | undefined {
    return AttentionViewsPanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
  ) {
    panel.webview.html = panelHtml(panel.webview, extensionUri, {
      script: 'attentionViews.js',
      title: 'Attention Views',
      placeholder: 'Select code (or put the cursor in a function) and run “Code Attention: Show Attention Views”.',
    });
    panel.webview.onDidReceiveMessage(
      (message: ViewsToHost) => void this.receive(message),
      undefined,
      this.disposables,
    );
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
  }

  get visible(): boolean {
    return this.panel.visible;
  }

  update(model: AttentionViewsModel): void {
    this.model = model;
    this.emptyReason = undefined;
    this.panel.title = `Attention Views: ${model.file}`;
    this.post({ type: 'update', model });
  }

  showEmpty(reason: string): void {
    this.model = undefined;
    this.emptyReason = reason;
    this.post({ type: 'empty', reason });
  }

  private post(message: HostToViews): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private async receive(message: ViewsToHost): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.markReady();
        if (this.model) this.post({ type: 'update', model: this.model });
        else if (this.emptyReason) this.post({ type: 'empty', reason: this.emptyReason });
        break;
      case 'selectHead':
        await vscode.commands.executeCommand('codeAttention.selectLayerHead', message.layer, message.head);
        break;
      case 'exportCsv':
        if (this.model)
          await saveWithDialog(exportFileName(this.model.file, 'attention-matrix', 'csv'), matrixCsv(this.model));
        break;
      case 'exportFigures':
        await saveFigures(this.model?.file, message);
        break;
    }
  }

  dispose(): void {
    if (AttentionViewsPanel.current === this) AttentionViewsPanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
