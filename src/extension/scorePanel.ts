import * as vscode from 'vscode';
import type { AnalysisResult } from '../core/types';
import { completeScoresStepwise, missingReports, type ReportName } from '../core/pipeline';
import { panelCsvFiles, panelModel } from '../presenters/panel';
import type { FaithfulnessSection, HostToPanel, PanelModel, PanelToHost, PanelView } from '../protocol/panel';
import { exportFileName, pngFromDataUrl } from '../presenters/export';
import { saveCsvFiles, saveFigures } from './figureExport';
import { panelHtml, panelOptions, saveWithDialog } from './webviewHtml';

function reportLabel(report: ReportName, causal: boolean): string {
  const cat = causal ? 'causal CAT' : 'CAT-score';
  const dataFlow = causal ? 'backward DFG share' : 'data-flow share';
  const labels: Record<ReportName, string> = {
    cat: `${cat} per head`,
    catLayers: `${cat} per layer`,
    dataFlow: `${dataFlow} per head`,
    dataFlowLayers: `${dataFlow} per layer`,
    headStatistics: 'head statistics',
    structureHeads: 'structure heads',
    sinks: 'attention sinks',
  };
  return labels[report];
}

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
  /** The file and model of the result shown ({@link shownKey}). */
  private shown: string | undefined;
  private view: PanelView | undefined;
  /** The faithfulness section and the document version it belongs to (another file or version resets it). */
  private faithfulness: { source: string; section: FaithfulnessSection } | undefined;
  private ready = false;
  private updates = 0;
  private markReady!: () => void;
  /** Resolves when the webview's script has started and asked for data. */
  readonly whenReady = new Promise<void>((resolve) => (this.markReady = resolve));

  static show(extensionUri: vscode.Uri, result: AnalysisResult | undefined): ScorePanel {
    if (ScorePanel.current) {
      ScorePanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
    } else {
      const panel = vscode.window.createWebviewPanel(
        ScorePanel.viewType,
        'Structure Attention',
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        panelOptions(extensionUri),
      );
      ScorePanel.current = new ScorePanel(panel, extensionUri);
    }
    if (result) void ScorePanel.current.update(result);
    return ScorePanel.current;
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri): void {
    panel.webview.options = panelOptions(extensionUri);
    ScorePanel.current?.dispose();
    ScorePanel.current = new ScorePanel(panel, extensionUri);
  }

  static get instance(): ScorePanel | undefined {
    return ScorePanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
  ) {
    panel.webview.html = panelHtml(panel.webview, extensionUri, {
      script: 'panel.js',
      title: 'Structure Attention',
      placeholder: 'Run “Code Attention: Analyze Current File” on a supported file.',
    });
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
    panel.webview.onDidReceiveMessage(
      (message: PanelToHost) => void this.receive(message),
      undefined,
      this.disposables,
    );
  }

  /**
   * Shows `result`. The panel needs every report; those an editor analysis left out are computed
   * first, one at a time with the event loop free in between, under a progress message.
   */
  async update(result: AnalysisResult, view?: PanelView): Promise<void> {
    const update = ++this.updates;
    if (missingReports(result).length) {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'Code Attention' },
        (progress) =>
          completeScoresStepwise(result, 'all', (report, index, count) =>
            progress.report({
              message: `scoring every head (${reportLabel(report, result.causal === true)}, ${index + 1}/${count})`,
            }),
          ),
      );
    }
    if (update !== this.updates) return; // a later update has taken over
    this.show(panelModel(result), result, view);
  }

  /**
   * Shows the windows of an analysis in flight done so far: the per-layer scores over them, labelled
   * partial. Nothing is computed but the model (the per-head report waits for the complete result).
   */
  showPartial(result: AnalysisResult, view?: PanelView): void {
    // Re-analysing the file already shown complete (an edit): its full report stays until the new
    // one is complete — mostly one window — rather than flickering to per-layer scores and back.
    if (this.model && !this.model.partial && this.shown === shownKey(result)) return;
    this.updates++;
    this.show(panelModel(result), result, view);
  }

  private show(model: PanelModel, result: AnalysisResult, view: PanelView | undefined): void {
    this.model = model;
    this.shown = shownKey(result);
    this.view = view ?? this.view;
    if (this.faithfulness && this.faithfulness.source !== sourceKey(result)) this.faithfulness = undefined;
    this.panel.title = `Structure Attention: ${model.file}`;
    this.post({ type: 'update', model, view: this.view, faithfulness: this.faithfulness?.section });
  }

  /** Shows the faithfulness check of `result`'s document (running, failed or done). */
  showFaithfulness(result: AnalysisResult, section: FaithfulnessSection): void {
    this.faithfulness = { source: sourceKey(result), section };
    this.post({ type: 'faithfulness', section });
  }

  showView(view: PanelView): void {
    this.view = view;
    this.post({ type: 'view', view });
  }

  showEmpty(reason: string): void {
    this.updates++;
    this.model = undefined;
    this.panel.title = 'Structure Attention';
    this.post({ type: 'empty', reason });
  }

  private post(message: HostToPanel): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private async receive(message: PanelToHost): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.markReady();
        if (this.model)
          this.post({ type: 'update', model: this.model, view: this.view, faithfulness: this.faithfulness?.section });
        break;
      case 'checkFaithfulness':
        await vscode.commands.executeCommand('codeAttention.checkFaithfulness');
        break;
      case 'selectHead':
        await vscode.commands.executeCommand('codeAttention.selectLayerHead', message.layer, message.head);
        void vscode.window.setStatusBarMessage(
          `Code Attention: hover now shows layer ${message.layer}, head ${message.head}`,
          3000,
        );
        break;
      case 'export':
        if (!this.model) break;
        // CSV: tidy files side by side (per layer; per layer × head with baselines).
        if (message.format === 'csv') await saveCsvFiles(this.model.file, panelCsvFiles(this.model));
        else await this.save('json', JSON.stringify(this.model, null, 2) + '\n');
        break;
      case 'exportFigures':
        await saveFigures(this.model?.file, message);
        break;
      case 'showAttentionViews':
        await vscode.commands.executeCommand('codeAttention.showAttentionViews');
        break;
      case 'exportPng': {
        const png = pngFromDataUrl(message.dataUrl);
        if (png) await this.save('png', png, message.chart);
        break;
      }
    }
  }

  private async save(extension: string, content: string | Uint8Array, suffix = 'scores'): Promise<void> {
    await saveWithDialog(exportFileName(this.model?.file, suffix, extension), content);
  }

  dispose(): void {
    if (ScorePanel.current === this) ScorePanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}

/** A result's file and model, whatever its version. */
function shownKey(result: AnalysisResult): string {
  return `${result.source.path ?? ''}|${result.model.name}`;
}

function sourceKey(result: AnalysisResult): string {
  return `${result.source.path ?? ''}@${result.source.version ?? ''}`;
}
