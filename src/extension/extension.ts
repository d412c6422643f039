import * as path from 'node:path';
import * as vscode from 'vscode';
import { compareAnalyses } from '../core/compare';
import { LANGUAGES } from '../core/languages';
import { Analyzer } from '../core/pipeline';
import type { AnalysisResult } from '../core/types';
import { VIEW_MODE_LABELS, viewLabel, type AttentionView, type ViewMode } from '../core/views';
import { functionScores } from '../presenters/codeLens';
import { comparePanelModel, differenceHighlights } from '../presenters/compare';
import { BUCKETS, hoverMarkdown, presentHover, tokenAtOffset } from '../presenters/hover';
import { panelCsv, panelModel } from '../presenters/panel';
import { resolveView, resultSummary, statusPresentation } from '../presenters/status';
import { AnalysisService } from './analysisService';
import { ComparePanel } from './comparePanel';
import { ScorePanel } from './scorePanel';

const VIEW_KEY = 'codeAttention.view';
const SELECTOR: vscode.DocumentSelector = LANGUAGES.map((spec) => ({ language: spec.id }));
/** Every other file on disk or unsaved: hovering there tells the user, once, what is supported. */
const OTHER_FILES: vscode.DocumentSelector = [{ scheme: 'file' }, { scheme: 'untitled' }];

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Code Attention Lens');
  const service = new AnalysisService(context, output);
  const decorations = Array.from({ length: BUCKETS }, (_, bucket) =>
    vscode.window.createTextEditorDecorationType({ backgroundColor: new vscode.ThemeColor(`codeAttention.weight${bucket}`), borderRadius: '2px' }),
  );
  const focusDecoration = vscode.window.createTextEditorDecorationType({ border: '1px solid', borderColor: new vscode.ThemeColor('codeAttention.focusBorder'), borderRadius: '2px' });
  const moreInB = vscode.window.createTextEditorDecorationType({ backgroundColor: new vscode.ThemeColor('codeAttention.moreInB'), borderRadius: '2px' });
  const moreInA = vscode.window.createTextEditorDecorationType({ backgroundColor: new vscode.ThemeColor('codeAttention.moreInA'), borderRadius: '2px' });
  context.subscriptions.push(moreInA, moreInB);
  /** The token whose attention the editor shows, so that a new view redraws it. */
  let focused: { editor: vscode.TextEditor; version: number; token: number } | undefined;
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.command = 'codeAttention.selectView';
  context.subscriptions.push(output, service, status, focusDecoration, ...decorations);

  let view: AttentionView = context.workspaceState.get<AttentionView>(VIEW_KEY) ?? { mode: 'meanHeads', layer: -1, direction: 'attendsTo' };
  const resolvedView = (result: AnalysisResult): AttentionView => resolveView(view, result.model.layers, result.model.heads);
  const setView = async (next: AttentionView) => {
    view = next;
    await context.workspaceState.update(VIEW_KEY, view);
    updateStatus();
    redrawFocus();
    const result = vscode.window.activeTextEditor ? service.resultFor(vscode.window.activeTextEditor.document) : service.lastResult;
    if (result) ScorePanel.instance?.showView(panelView(result));
  };
  const panelView = (result: AnalysisResult) => {
    const shown = resolvedView(result);
    const onOneHead = shown.mode === 'head' || (shown.mode === 'valueWeighted' && shown.head !== undefined);
    return { layer: shown.layer, head: onOneHead ? shown.head : undefined, label: viewLabel(shown) };
  };
  /** Shows the active editor's analysis in the score panel, if the panel is open. */
  const syncPanel = (editor: vscode.TextEditor) => {
    const panel = ScorePanel.instance;
    if (!panel) return;
    const result = service.resultFor(editor.document);
    if (result) panel.update(result, panelView(result));
    else if (!autoAnalyze() && AnalysisService.languageOf(editor.document)) panel.showEmpty(`Run “Code Attention: Analyze Current File” to score ${path.basename(editor.document.uri.fsPath)}.`);
  };

  const updateStatus = () => {
    // With a panel focused there is no active text editor: describe the visible source editor instead.
    const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors.find((candidate) => AnalysisService.languageOf(candidate.document));
    const result = editor ? service.resultFor(editor.document) : undefined;
    if (!editor || !AnalysisService.languageOf(editor.document)) {
      status.hide();
      return;
    }
    const shown = statusPresentation(result, view);
    status.text = shown.text;
    status.tooltip = shown.tooltip;
    status.show();
  };

  const clearOverlay = (editor = vscode.window.activeTextEditor, withComparison = false) => {
    if (!editor) return;
    for (const decoration of decorations) editor.setDecorations(decoration, []);
    editor.setDecorations(focusDecoration, []);
    if (focused?.editor === editor) focused = undefined;
    if (withComparison) {
      editor.setDecorations(moreInA, []);
      editor.setDecorations(moreInB, []);
    }
  };

  /** Highlights what `focus` attends to (or is attended by) under the current view; returns what was drawn. */
  const drawFocus = (editor: vscode.TextEditor, result: AnalysisResult, focus: number) => {
    const presentation = presentHover(result, resolvedView(result), focus);
    const byBucket: vscode.Range[][] = decorations.map(() => []);
    for (const highlight of presentation.highlights) byBucket[highlight.bucket].push(toRange(result, highlight.token));
    decorations.forEach((decoration, bucket) => editor.setDecorations(decoration, byBucket[bucket]));
    editor.setDecorations(focusDecoration, [toRange(result, focus)]);
    focused = { editor, version: editor.document.version, token: focus };
    return presentation;
  };

  const redrawFocus = () => {
    if (!focused) return;
    const { editor, version, token } = focused;
    const result = service.resultFor(editor.document);
    if (!result || editor.document.version !== version || !vscode.window.visibleTextEditors.includes(editor)) return;
    try {
      drawFocus(editor, result, token);
    } catch {
      clearOverlay(editor);
    }
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('codeAttention.analyzeFile', async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) {
        void vscode.window.showInformationMessage('Open a source file to analyse.');
        return undefined;
      }
      const result = await service.analyze(editor.document, { withProgress: true });
      updateStatus();
      if (result) {
        const cat = result.scores.cat;
        const best = cat ? Math.max(...cat.score.perLayer.filter(Number.isFinite)) : NaN;
        void vscode.window.setStatusBarMessage(`Code Attention: ${result.tokens.length} tokens analysed; best layer CAT-score ${best.toFixed(3)}`, 5000);
        if (result.warnings.length) void vscode.window.showWarningMessage(`Code Attention Lens: ${result.warnings.join(' ')}`);
      }
      return result ? resultSummary(result) : undefined;
    }),
    vscode.commands.registerCommand('codeAttention.selectView', async () => {
      const editor = vscode.window.activeTextEditor;
      const model = (editor ? service.resultFor(editor.document) : service.lastResult)?.model;
      const pick = await vscode.window.showQuickPick(
        (Object.keys(VIEW_MODE_LABELS) as ViewMode[]).map((mode) => ({
          label: VIEW_MODE_LABELS[mode],
          description: mode === view.mode ? 'current' : mode === 'valueWeighted' && model && !model.hasValueNorms ? 'unavailable: this model has no value_norms output' : undefined,
          mode,
        })),
        { title: 'Code Attention: what the hover overlay shows' },
      );
      if (!pick) return;
      await setView({ ...view, mode: pick.mode });
      await vscode.commands.executeCommand('codeAttention.selectLayerHead');
    }),
    vscode.commands.registerCommand('codeAttention.selectLayerHead', async (layer?: number, head?: number) => {
      if (typeof layer === 'number') {
        await setView({ ...view, layer, head: typeof head === 'number' ? head : view.head, mode: typeof head === 'number' && view.mode !== 'valueWeighted' ? 'head' : view.mode });
        return;
      }
      const editor = vscode.window.activeTextEditor;
      const result = editor ? service.resultFor(editor.document) : service.lastResult;
      const layers = result?.model.layers ?? 12;
      const heads = result?.model.heads ?? 12;
      // Rollout and flow accumulate every head up to a layer: only the layer is a choice there.
      const layerOnly = view.mode === 'rollout' || view.mode === 'flow';
      const items: Array<vscode.QuickPickItem & { layer: number; head?: number }> = [];
      for (let l = 0; l < layers; l++) {
        items.push({ label: `Layer ${l}`, description: layerOnly ? `layers 0–${l}` : 'mean over heads', layer: l });
        if (!layerOnly) for (let h = 0; h < heads; h++) items.push({ label: `Layer ${l} · head ${h}`, layer: l, head: h });
      }
      const pick = await vscode.window.showQuickPick(items, { title: layerOnly ? 'Code Attention: up to which layer' : 'Code Attention: layer and head' });
      if (!pick) return;
      const mode: ViewMode = pick.head === undefined ? (view.mode === 'head' ? 'meanHeads' : view.mode) : view.mode === 'valueWeighted' ? 'valueWeighted' : 'head';
      await setView({ ...view, layer: pick.layer, head: pick.head, mode });
    }),
    vscode.commands.registerCommand('codeAttention.flipDirection', async () => {
      await setView({ ...view, direction: view.direction === 'attendsTo' ? 'attendedBy' : 'attendsTo' });
    }),
    vscode.commands.registerCommand('codeAttention.clearOverlay', () => clearOverlay(undefined, true)),
    vscode.commands.registerCommand('codeAttention.selectModel', async () => {
      const models = service.availableModels();
      if (!models.length) {
        void vscode.window.showWarningMessage('No models found. Add exported model folders (models/export_onnx.py) to the "codeAttention.models" user setting.');
        return;
      }
      const current = service.selectedModelPath();
      const pick = await vscode.window.showQuickPick(
        models.map((model) => ({ label: model.displayName, description: model.checkpoint === 'external' ? model.path : `bundled · ${model.checkpoint}`, detail: model.path === current ? 'current' : undefined, path: model.path })),
        { title: 'Code Attention: model' },
      );
      if (!pick) return;
      await service.selectModel(pick.path);
      try {
        await service.getAnalyzer(pick.path);
      } catch (error) {
        void vscode.window.showErrorMessage(`Code Attention Lens: ${(error as Error).message}`);
        return;
      }
      clearOverlay();
      updateStatus();
      const editor = vscode.window.activeTextEditor;
      if (editor) void service.analyze(editor.document, { withProgress: true });
    }),
    vscode.commands.registerCommand('codeAttention.scoreFile', async () => {
      const editor = vscode.window.activeTextEditor;
      const result = editor ? await service.analyze(editor.document, { withProgress: true }) : service.lastResult;
      // Resolve once the panel is up, so that callers (and integration tests) see it open.
      const panel = ScorePanel.show(context.extensionUri, undefined);
      if (result) panel.update(result, panelView(result));
      await shownWithin(panel.whenReady, 15_000);
      return result ? resultSummary(result) : undefined;
    }),
    vscode.window.registerWebviewPanelSerializer(ScorePanel.viewType, {
      async deserializeWebviewPanel(panel) {
        ScorePanel.revive(panel, context.extensionUri);
      },
    }),
    vscode.window.registerWebviewPanelSerializer(ComparePanel.viewType, {
      async deserializeWebviewPanel(panel) {
        ComparePanel.revive(panel, context.extensionUri);
      },
    }),
    vscode.commands.registerCommand('codeAttention.exportResult', async (target?: vscode.Uri, format?: 'json' | 'csv') => {
      const editor = vscode.window.activeTextEditor;
      const result = editor ? service.resultFor(editor.document) ?? (await service.analyze(editor.document, { withProgress: true })) : service.lastResult;
      if (!result) return undefined;
      const model = panelModel(result);
      if (!target) {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        target = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, model.file.replace(/\.[^.]+$/, '') + '-scores.json') : undefined, filters: { JSON: ['json'], CSV: ['csv'] } });
        if (!target) return undefined;
      }
      const asCsv = (format ?? (target.path.endsWith('.csv') ? 'csv' : 'json')) === 'csv';
      await vscode.workspace.fs.writeFile(target, Buffer.from(asCsv ? panelCsv(model) : JSON.stringify(model, null, 2) + '\n', 'utf8'));
      return target.toString();
    }),
    vscode.commands.registerCommand('codeAttention.compareModels', async (modelA?: string, modelB?: string) => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) {
        void vscode.window.showInformationMessage('Open a supported source file to compare models on it.');
        return undefined;
      }
      const language = service.supportedLanguageOrNotify(editor.document);
      if (!language) return undefined;
      const models = service.availableModels();
      if (!modelA || !modelB) {
        const picks = await vscode.window.showQuickPick(models.map((model) => ({ label: model.displayName, description: model.path, path: model.path })), { canPickMany: true, title: 'Code Attention: pick two models to compare' });
        if (!picks || picks.length !== 2) {
          if (picks) void vscode.window.showInformationMessage('Pick exactly two models.');
          return undefined;
        }
        [modelA, modelB] = picks.map((pick) => pick.path);
      }
      const document = editor.document;
      const text = document.getText();
      const comparison = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Code Attention: comparing models', cancellable: true }, async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        const results: AnalysisResult[] = [];
        for (const modelDir of [modelA!, modelB!]) {
          progress.report({ message: path.basename(modelDir) });
          const analyzer = await Analyzer.create({ modelDir, executionProvider: vscode.workspace.getConfiguration('codeAttention').get('executionProvider', 'auto'), grammarsDir: path.join(context.extensionPath, 'grammars') });
          try {
            results.push(await analyzer.analyze(text, language, { path: document.uri.fsPath, version: document.version, signal: abort.signal }));
          } finally {
            await analyzer.dispose();
          }
        }
        const comparison = compareAnalyses(results[0], results[1]);
        output.appendLine(`Compared ${comparison.a.name} and ${comparison.b.name} on ${path.basename(document.uri.fsPath)}: forward ${results.map((result) => `${result.timings.forwardMs.toFixed(0)} ms on ${result.device}`).join(' and ')}.`);
        return { comparison, a: results[0], b: results[1] };
      }).then(undefined, (error: Error) => {
        if (error.name !== 'AnalysisCancelledError') void vscode.window.showWarningMessage(`Code Attention Lens: ${error.message}`);
        return undefined;
      });
      if (!comparison) return undefined;
      const { comparison: compared, a: reference, b: other } = comparison;
      const highlights = differenceHighlights(compared);
      const panel = ComparePanel.show(context.extensionUri, comparePanelModel(reference, other, compared, highlights));
      // Token ranges come from the text both models read: draw them only if the editor still shows it.
      if (document.version === reference.source.version && vscode.window.visibleTextEditors.includes(editor)) {
        editor.setDecorations(moreInB, highlights.moreInB.map((token) => toRange(reference, token)));
        editor.setDecorations(moreInA, highlights.moreInA.map((token) => toRange(reference, token)));
      }
      await shownWithin(panel.whenReady, 15_000);
      return { a: compared.a.name, b: compared.b.name, layers: [compared.a.layers, compared.b.layers], relativeDepth: compared.relativeDepth, moreInA: highlights.moreInA.length, moreInB: highlights.moreInB.length };
    }),
    vscode.commands.registerCommand('codeAttention._lastResultSummary', () => (service.lastResult ? resultSummary(service.lastResult) : undefined)),
  );

  context.subscriptions.push(
    vscode.languages.registerHoverProvider(SELECTOR, {
      async provideHover(document, position) {
        const result = service.resultFor(document) ?? (autoAnalyze() && !service.failureFor(document) ? await service.analyze(document, { quiet: true }) : undefined);
        if (!result || result.source.version !== document.version) {
          const failure = service.failureFor(document);
          return failure ? new vscode.Hover(new vscode.MarkdownString().appendText(`Code Attention Lens: ${failure}`)) : undefined;
        }
        const focus = tokenAtOffset(result.tokens, document.offsetAt(position));
        if (focus === undefined) return undefined;
        const editor = vscode.window.visibleTextEditors.find((candidate) => candidate.document === document);
        let presentation;
        try {
          presentation = editor ? drawFocus(editor, result, focus) : presentHover(result, resolvedView(result), focus);
        } catch (error) {
          return new vscode.Hover(new vscode.MarkdownString(`Code Attention Lens: ${(error as Error).message}`));
        }
        const markdown = new vscode.MarkdownString(hoverMarkdown(result, presentation, 'command:codeAttention.flipDirection'), true);
        markdown.isTrusted = { enabledCommands: ['codeAttention.flipDirection'] };
        return new vscode.Hover(markdown, toRange(result, focus));
      },
    }),
    vscode.languages.registerHoverProvider(OTHER_FILES, {
      provideHover(document) {
        if (!AnalysisService.languageOf(document)) service.supportedLanguageOrNotify(document);
        return undefined;
      },
    }),
  );

  const codeLensChanged = new vscode.EventEmitter<void>();
  context.subscriptions.push(
    codeLensChanged,
    service.onDidChangeResult(() => codeLensChanged.fire()),
    vscode.languages.registerCodeLensProvider(SELECTOR, {
      onDidChangeCodeLenses: codeLensChanged.event,
      provideCodeLenses(document) {
        if (!vscode.workspace.getConfiguration('codeAttention').get<boolean>('codeLens.enabled', true)) return [];
        const result = service.resultFor(document);
        if (!result) return [];
        return functionScores(result).map((score) => {
          const range = new vscode.Range(score.range.start.line, score.range.start.character, score.range.start.line, score.range.start.character);
          return new vscode.CodeLens(range, {
            title: `CAT ${score.cat.toFixed(3)} (baseline ${score.baseline.toFixed(3)}) · best L${score.bestLayer} ${score.bestLayerScore.toFixed(3)}`,
            tooltip: `CAT-score of ${score.name}: mean over layers of the file's CAT definition restricted to its ${score.tokens} tokens. Click to open the score panel.`,
            command: 'codeAttention.scoreFile',
          });
        });
      },
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('codeAttention.codeLens.enabled')) codeLensChanged.fire();
    }),
  );

  const autoAnalyze = () => vscode.workspace.getConfiguration('codeAttention').get<boolean>('autoAnalyze', true);
  let timer: NodeJS.Timeout | undefined;
  const scheduleAnalysis = (document: vscode.TextDocument) => {
    if (!autoAnalyze() || !AnalysisService.languageOf(document)) return;
    clearTimeout(timer);
    timer = setTimeout(() => void service.analyze(document, { quiet: true }).then(updateStatus), 800);
  };
  context.subscriptions.push(
    vscode.workspace.onDidChangeTextDocument((event) => {
      if (event.contentChanges.length === 0) return;
      const editor = vscode.window.visibleTextEditors.find((candidate) => candidate.document === event.document);
      if (editor) clearOverlay(editor, true);
      scheduleAnalysis(event.document);
    }),
    vscode.workspace.onDidCloseTextDocument((document) => service.forget(document)),
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      updateStatus();
      if (!editor) return;
      syncPanel(editor);
      scheduleAnalysis(editor.document);
    }),
    vscode.window.onDidChangeTextEditorSelection((event) => clearOverlay(event.textEditor)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('codeAttention.executionProvider') || event.affectsConfiguration('codeAttention.models')) service.invalidate();
    }),
    service.onDidChangeResult((uri) => {
      updateStatus();
      const editor = vscode.window.activeTextEditor;
      if (editor?.document.uri.toString() === uri.toString()) syncPanel(editor);
    }),
    { dispose: () => clearTimeout(timer) },
  );
  updateStatus();
  if (vscode.window.activeTextEditor) scheduleAnalysis(vscode.window.activeTextEditor.document);
}

export function deactivate(): void {
  // Disposables registered on the context release the model and decorations.
}

function toRange(result: AnalysisResult, token: number): vscode.Range {
  const { start, end } = result.tokens[token].range;
  return new vscode.Range(start.line, start.character, end.line, end.character);
}

/** Waits for a panel to come up, but never longer than `ms` (a hidden panel may not start its script). */
function shownWithin(ready: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void ready.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
