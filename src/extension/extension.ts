import * as path from 'node:path';
import * as vscode from 'vscode';
import { compareAnalyses } from '../core/compare';
import { LANGUAGES } from '../core/languages';
import { faithfulness, type ForwardModel } from '../core/metrics/faithfulness';
import { AnalysisCancelledError, Analyzer, completeScoresStepwise } from '../core/pipeline';
import type { AnalysisResult } from '../core/types';
import { VIEW_MODE_LABELS, viewLabel, type AttentionView, type ViewMode } from '../core/views';
import { functionScores } from '../presenters/codeLens';
import { comparePanelModel, differenceHighlights } from '../presenters/compare';
import { dataFlowMarkdown, dataFlowOverlay, type DataFlowOverlay } from '../presenters/dataFlowOverlay';
import { faithfulnessPanelModel, faithfulnessPasses } from '../presenters/faithfulness';
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
  const dataFlow = new DataFlowDecorations();
  context.subscriptions.push(dataFlow);
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
    if (vscode.window.activeTextEditor) scheduleDataFlow(vscode.window.activeTextEditor);
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
    if (result) void panel.update(result, panelView(result));
    else if (!autoAnalyze() && AnalysisService.languageOf(editor.document)) panel.showEmpty(`Run “Code Attention: Analyze Current File” to score ${path.basename(editor.document.uri.fsPath)}.`);
  };

  /** The last focused editor of a supported file: panel buttons act on it while the panel has focus. */
  let lastSourceEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor && AnalysisService.languageOf(vscode.window.activeTextEditor.document) ? vscode.window.activeTextEditor : undefined;
  const sourceEditor = () => {
    const active = vscode.window.activeTextEditor;
    if (active) return active;
    return lastSourceEditor && vscode.window.visibleTextEditors.includes(lastSourceEditor) ? lastSourceEditor : vscode.window.visibleTextEditors.find((candidate) => AnalysisService.languageOf(candidate.document));
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
    status.text = dataFlow.enabled && result?.dataFlow ? `${shown.text} · data flow` : shown.text;
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

  /**
   * Draws the data-flow overlay on an editor: every graph node, and the edges of `focus` (the
   * hovered token) or of the token at the cursor. Returns what was drawn.
   */
  const drawDataFlow = (editor: vscode.TextEditor, focus?: number): DataFlowOverlay | undefined => {
    const result = service.resultFor(editor.document);
    if (!result) {
      dataFlow.clear(editor);
      return undefined;
    }
    const overlay = dataFlowOverlay(result, resolvedView(result), focus ?? tokenAtCursor(editor, result));
    if (overlay.supported) dataFlow.draw(editor, overlay);
    else dataFlow.clear(editor);
    return overlay;
  };
  let dataFlowTimer: NodeJS.Timeout | undefined;
  const pendingDataFlow = new Set<vscode.TextEditor>();
  /** Re-decorates at most every 100 ms however fast the cursor moves. */
  const scheduleDataFlow = (editor: vscode.TextEditor) => {
    if (!dataFlow.enabled) return;
    pendingDataFlow.add(editor);
    dataFlowTimer ??= setTimeout(() => {
      dataFlowTimer = undefined;
      const editors = [...pendingDataFlow];
      pendingDataFlow.clear();
      for (const pending of editors) if (dataFlow.enabled && vscode.window.visibleTextEditors.includes(pending)) drawDataFlow(pending);
    }, 100);
  };
  const setDataFlow = (enabled: boolean) => {
    dataFlow.enabled = enabled;
    if (enabled) for (const editor of vscode.window.visibleTextEditors) drawDataFlow(editor);
    else for (const editor of vscode.window.visibleTextEditors) dataFlow.clear(editor);
    updateStatus();
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
      type ViewItem = vscode.QuickPickItem & { mode?: ViewMode; command?: string };
      const items: ViewItem[] = (Object.keys(VIEW_MODE_LABELS) as ViewMode[]).map((mode) => ({
        label: VIEW_MODE_LABELS[mode],
        description: mode === view.mode ? 'current' : mode === 'valueWeighted' && model && !model.hasValueNorms ? 'unavailable: this model has no value_norms output' : undefined,
        mode,
      }));
      items.push(
        { label: 'more', kind: vscode.QuickPickItemKind.Separator },
        { label: `$(git-merge) ${dataFlow.enabled ? 'Hide' : 'Show'} data-flow edges`, description: 'variables, where their values come from, and the attention on each edge', command: 'codeAttention.toggleDataFlow' },
        { label: '$(beaker) Check view faithfulness at cursor', description: 'Spearman ρ of each view against occlusion (one forward pass per token)', command: 'codeAttention.checkFaithfulness' },
      );
      const pick = await vscode.window.showQuickPick(items, { title: 'Code Attention: what the hover overlay shows' });
      if (!pick) return;
      if (pick.command) {
        await vscode.commands.executeCommand(pick.command);
        return;
      }
      if (!pick.mode) return;
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
    vscode.commands.registerCommand('codeAttention.clearOverlay', () => {
      clearOverlay(undefined, true);
      if (dataFlow.enabled) setDataFlow(false);
    }),
    vscode.commands.registerCommand('codeAttention.toggleDataFlow', async () => {
      if (dataFlow.enabled) {
        setDataFlow(false);
        return { enabled: false };
      }
      const editor = sourceEditor();
      if (!editor) {
        void vscode.window.showInformationMessage('Open a supported source file to show its data-flow edges.');
        return undefined;
      }
      const result = service.resultFor(editor.document) ?? (await service.analyze(editor.document, { withProgress: true }));
      if (!result) return undefined;
      const overlay = dataFlowOverlay(result, resolvedView(result));
      if (!overlay.supported) {
        void vscode.window.showInformationMessage(overlay.message);
        return { enabled: false, message: overlay.message };
      }
      setDataFlow(true);
      const drawn = drawDataFlow(editor);
      void vscode.window.setStatusBarMessage(`Code Attention: ${overlay.nodes} variable occurrences, ${overlay.edges} data-flow edges; put the cursor on a variable or hover it.`, 5000);
      return dataFlowSummary(drawn);
    }),
    vscode.commands.registerCommand('codeAttention.checkFaithfulness', async (line?: number, character?: number) => {
      const editor = sourceEditor();
      if (!editor) {
        void vscode.window.showInformationMessage('Open a supported source file and put the cursor on a code token to check view faithfulness.');
        return undefined;
      }
      const document = editor.document;
      const result = service.resultFor(document) ?? (await service.analyze(document, { withProgress: true }));
      if (!result) return undefined;
      const position = typeof line === 'number' && typeof character === 'number' ? new vscode.Position(line, character) : editor.selection.active;
      const focus = tokenAtCursor(editor, result, position);
      const panel = ScorePanel.show(context.extensionUri, undefined);
      await panel.update(result, panelView(result));
      if (focus === undefined) {
        const message = `No code token at line ${position.line + 1}, column ${position.character + 1}: put the cursor on a code token (not a comment or blank) and check again.`;
        panel.showFaithfulness(result, { status: 'failed', message });
        void vscode.window.showInformationMessage(message);
        return undefined;
      }
      const token = result.tokens[focus];
      const passes = faithfulnessPasses(result, focus);
      panel.showFaithfulness(result, { status: 'running', message: `Checking “${token.text}” (line ${token.range.start.line + 1}): ${passes} forward passes…` });
      await shownWithin(panel.whenReady, 15_000);
      const outcome = await vscode.window
        .withProgress({ location: vscode.ProgressLocation.Notification, title: 'Code Attention: checking view faithfulness', cancellable: true }, async (progress, cancellation) => {
          const analyzer = await service.getAnalyzer();
          if (analyzer.model.info.path !== result.model.path) throw new Error('The model changed since this file was analysed: analyse it again, then check.');
          let done = 0;
          // Counts the passes for the progress bar and stops between passes when cancelled.
          const model: ForwardModel = {
            tokenizer: analyzer.model.tokenizer,
            forward: async (ids) => {
              if (cancellation.isCancellationRequested) throw new AnalysisCancelledError();
              done++;
              progress.report({ increment: 100 / passes, message: `“${token.text}”: forward pass ${done} of ${passes}` });
              return analyzer.model.forward(ids);
            },
          };
          return faithfulness(result, model, focus);
        })
        .then(
          (report) => ({ report }),
          (error: Error) => ({ error }),
        );
      if ('error' in outcome) {
        const cancelled = outcome.error instanceof AnalysisCancelledError;
        const message = cancelled ? 'The check was cancelled.' : outcome.error.message;
        panel.showFaithfulness(result, { status: cancelled ? 'idle' : 'failed', message });
        if (!cancelled) void vscode.window.showWarningMessage(`Code Attention Lens: ${message}`);
        return undefined;
      }
      const shown = faithfulnessPanelModel(result, outcome.report);
      panel.showFaithfulness(result, { status: 'done', report: shown });
      output.appendLine(`Faithfulness at “${token.text}” (${path.basename(document.uri.fsPath)} line ${token.range.start.line + 1}), ${passes} passes: ${shown.views.map((row) => `${row.mode} ρ ${row.spearman.toFixed(3)}`).join(', ')}${shown.skipped.length ? `; skipped ${shown.skipped.map((row) => row.mode).join(', ')}` : ''}.`);
      return { focus: shown.focus, views: shown.views.map(({ mode, spearman }) => ({ mode, spearman })), skipped: shown.skipped, best: shown.best, verdict: shown.verdict };
    }),
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
      if (result) await panel.update(result, panelView(result));
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
      await completeScoresStepwise(result);
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
          const analyzer = await Analyzer.create({ modelDir, executionProvider: vscode.workspace.getConfiguration('codeAttention').get('executionProvider', 'auto'), grammarsDir: path.join(context.extensionPath, 'grammars'), thread: 'worker' });
          try {
            results.push(await analyzer.analyze(text, language, { path: document.uri.fsPath, version: document.version, signal: abort.signal, reports: ['cat', 'dataFlow'] }));
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
        let card = hoverMarkdown(result, presentation, 'command:codeAttention.flipDirection');
        // Hovering a variable shows its edges; hovering anything else keeps the cursor's.
        if (dataFlow.enabled && editor && result.dataFlow?.nodes.includes(focus)) {
          const drawn = drawDataFlow(editor, focus);
          if (drawn?.supported && drawn.decorations.focus) card += '\n' + dataFlowMarkdown(drawn.decorations.focus);
        }
        const markdown = new vscode.MarkdownString(card, true);
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
      if (editor) {
        clearOverlay(editor, true);
        // Token ranges belong to the old text; the overlay comes back with the new analysis.
        dataFlow.clear(editor);
      }
      scheduleAnalysis(event.document);
    }),
    vscode.workspace.onDidCloseTextDocument((document) => service.forget(document)),
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      updateStatus();
      if (!editor) return;
      if (AnalysisService.languageOf(editor.document)) lastSourceEditor = editor;
      scheduleDataFlow(editor);
      syncPanel(editor);
      scheduleAnalysis(editor.document);
    }),
    vscode.window.onDidChangeTextEditorSelection((event) => {
      clearOverlay(event.textEditor);
      scheduleDataFlow(event.textEditor);
    }),
    vscode.window.onDidChangeVisibleTextEditors((editors) => {
      for (const editor of editors) scheduleDataFlow(editor);
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('codeAttention.executionProvider') || event.affectsConfiguration('codeAttention.models')) service.invalidate();
    }),
    service.onDidChangeResult((uri) => {
      updateStatus();
      const editor = vscode.window.activeTextEditor;
      if (editor?.document.uri.toString() === uri.toString()) syncPanel(editor);
      for (const visible of vscode.window.visibleTextEditors) if (visible.document.uri.toString() === uri.toString()) scheduleDataFlow(visible);
    }),
    { dispose: () => clearTimeout(timer) },
    { dispose: () => clearTimeout(dataFlowTimer) },
  );
  updateStatus();
  if (vscode.window.activeTextEditor) scheduleAnalysis(vscode.window.activeTextEditor.document);
}

export function deactivate(): void {
  // Disposables registered on the context release the model and decorations.
}

/** The code token at the cursor, or the one that ends right before it (the cursor just after a name). */
function tokenAtCursor(editor: vscode.TextEditor, result: AnalysisResult, position = editor.selection.active): number | undefined {
  const offset = editor.document.offsetAt(position);
  return tokenAtOffset(result.tokens, offset) ?? (offset > 0 ? tokenAtOffset(result.tokens, offset - 1) : undefined);
}

/**
 * The data-flow overlay's decoration types, created once: one per colour, many ranges each, and
 * one for the inline hint (its text set per range).
 */
class DataFlowDecorations implements vscode.Disposable {
  enabled = false;
  private readonly nodes = vscode.window.createTextEditorDecorationType({ borderStyle: 'none none dotted none', borderWidth: '0 0 2px 0', borderColor: new vscode.ThemeColor('codeAttention.dataFlowNode') });
  private readonly comesFrom = edgeDecoration('codeAttention.dataFlowComesFrom', 'solid');
  private readonly computedFrom = edgeDecoration('codeAttention.dataFlowComputedFrom', 'solid');
  private readonly readBy = edgeDecoration('codeAttention.dataFlowReadBy', 'dashed');
  private readonly hint = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('codeAttention.dataFlowHint'), margin: '0 0 0 2em', fontStyle: 'italic' },
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });

  draw(editor: vscode.TextEditor, overlay: Extract<DataFlowOverlay, { supported: true }>): void {
    const ranges = overlay.decorations;
    editor.setDecorations(this.nodes, ranges.nodes.map(sourceRange));
    editor.setDecorations(this.comesFrom, ranges.comesFrom.map(sourceRange));
    editor.setDecorations(this.computedFrom, ranges.computedFrom.map(sourceRange));
    editor.setDecorations(this.readBy, ranges.readBy.map(sourceRange));
    const hint = ranges.hint;
    editor.setDecorations(this.hint, hint ? [{ range: new vscode.Range(hint.position.line, hint.position.character, hint.position.line, hint.position.character), renderOptions: { after: { contentText: hint.text } } }] : []);
  }

  clear(editor: vscode.TextEditor): void {
    for (const type of [this.nodes, this.comesFrom, this.computedFrom, this.readBy, this.hint]) editor.setDecorations(type, []);
  }

  dispose(): void {
    for (const type of [this.nodes, this.comesFrom, this.computedFrom, this.readBy, this.hint]) type.dispose();
  }
}

function edgeDecoration(color: string, style: 'solid' | 'dashed'): vscode.TextEditorDecorationType {
  return vscode.window.createTextEditorDecorationType({
    border: `2px ${style}`,
    borderColor: new vscode.ThemeColor(color),
    borderRadius: '3px',
    overviewRulerColor: new vscode.ThemeColor(color),
    overviewRulerLane: vscode.OverviewRulerLane.Center,
  });
}

function sourceRange(range: { start: { line: number; character: number }; end: { line: number; character: number } }): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

/** What the data-flow command returns (integration tests read it): counts and the cursor token's edges. */
function dataFlowSummary(overlay: DataFlowOverlay | undefined) {
  if (!overlay) return undefined;
  if (!overlay.supported) return { enabled: false, message: overlay.message };
  const focus = overlay.decorations.focus;
  const edges = (rows: NonNullable<typeof focus>['comesFrom']) => rows.map((row) => ({ text: row.text, line: row.range.start.line + 1, attention: row.attention }));
  return {
    enabled: true,
    nodes: overlay.nodes,
    edges: overlay.edges,
    focus: focus && { text: focus.text, line: focus.range.start.line + 1, comesFrom: edges(focus.comesFrom), computedFrom: edges(focus.computedFrom), readBy: edges(focus.readBy), hint: overlay.decorations.hint?.text, fileShare: focus.fileShare },
  };
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
