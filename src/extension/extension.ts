import * as vscode from 'vscode';
import { AnalysisScheduler } from './analysisScheduler';
import { AnalysisService } from './analysisService';
import { AttentionViewsController } from './attentionViewsController';
import { AttentionOverlay } from './attentionOverlay';
import { CodeLensController } from './codeLens';
import { CompareController } from './compareController';
import { DataFlowController } from './dataFlowController';
import { ExportCommand } from './exportCommand';
import { FaithfulnessCommand } from './faithfulnessCommand';
import { HoverController } from './hoverProvider';
import { ModelSelection } from './modelSelection';
import { ScorePanelController } from './scorePanelController';
import { EditorState } from './state';
import { StatusBarController } from './statusBar';
import { ViewCommands } from './viewCommands';
import { Walkthrough } from './walkthrough';
import { WindowBoundariesController } from './windowBoundaries';

/** Wires the features; each owns its registrations and disposables (docs/architecture.md has the map). */
export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Code Attention Lens', { log: true });
  const service = new AnalysisService(context, output);
  const state = new EditorState(context, service);
  const overlay = new AttentionOverlay(state);
  const dataFlow = new DataFlowController(state, service);
  const walkthrough = new Walkthrough(context.extensionPath);
  context.subscriptions.push(
    output,
    service,
    state,
    overlay,
    dataFlow,
    walkthrough,
    new HoverController(state, service, overlay, dataFlow, () => walkthrough.noteHover()),
    new StatusBarController(state, service),
    new CodeLensController(service),
    new ScorePanelController(context.extensionUri, state, service),
    new CompareController(context, state, service, output),
    new AttentionViewsController(context.extensionUri, state, service),
    new FaithfulnessCommand(context.extensionUri, state, service, output),
    new ViewCommands(state),
    new ModelSelection(state, service),
    new ExportCommand(service),
    new AnalysisScheduler(service),
    new WindowBoundariesController(service),
  );
}

export function deactivate(): void {
  // Disposables registered on the context release the model and decorations.
}
