import * as vscode from 'vscode';
import { VIEW_MODE_LABELS, type ViewMode } from '../core/views';
import type { EditorState } from './state';

type ViewItem = vscode.QuickPickItem & { mode?: ViewMode; command?: string };
type LayerHeadItem = vscode.QuickPickItem & { layer: number; head?: number };

/** Select View, Select Layer and Head, Flip Direction, Clear Highlights: they change the shared view. */
export class ViewCommands implements vscode.Disposable {
  private readonly registrations: vscode.Disposable[];

  constructor(private readonly state: EditorState) {
    this.registrations = [
      vscode.commands.registerCommand('codeAttention.selectView', () => this.selectView()),
      vscode.commands.registerCommand('codeAttention.selectLayerHead', (layer?: number, head?: number) =>
        this.selectLayerHead(layer, head),
      ),
      vscode.commands.registerCommand('codeAttention.flipDirection', () => {
        const view = state.view;
        return state.setView({ ...view, direction: view.direction === 'attendsTo' ? 'attendedBy' : 'attendsTo' });
      }),
      vscode.commands.registerCommand('codeAttention.clearOverlay', () =>
        state.requestClear({ editor: vscode.window.activeTextEditor, everything: true }),
      ),
    ];
  }

  private async selectView(): Promise<void> {
    const view = this.state.view;
    const model = this.state.activeResult()?.model;
    const noValueNorms = 'unavailable: this model has no value_norms output';
    const noValueGram = 'unavailable: this model has no value_gram output (re-export it with models/export_onnx.py)';
    const items: ViewItem[] = (Object.keys(VIEW_MODE_LABELS) as ViewMode[]).map((mode) => ({
      label: VIEW_MODE_LABELS[mode],
      description:
        mode === view.mode
          ? 'current'
          : mode === 'valueWeighted' && model && !model.hasValueNorms
            ? noValueNorms
            : mode === 'valueWeightedLayer' && model && !model.hasValueGram
              ? noValueGram
              : undefined,
      mode,
    }));
    items.push(
      { label: 'more', kind: vscode.QuickPickItemKind.Separator },
      {
        label: `$(git-merge) ${this.state.dataFlowEnabled ? 'Hide' : 'Show'} data-flow edges`,
        description: 'variables, where their values come from, and the attention on each edge',
        command: 'codeAttention.toggleDataFlow',
      },
      {
        label: '$(beaker) Check view faithfulness at cursor',
        description: 'Spearman ρ of each view against occlusion (one forward pass per token)',
        command: 'codeAttention.checkFaithfulness',
      },
    );
    const pick = await vscode.window.showQuickPick(items, { title: 'Code Attention: what the hover overlay shows' });
    if (!pick) return;
    if (pick.command) {
      await vscode.commands.executeCommand(pick.command);
      return;
    }
    if (!pick.mode) return;
    await this.state.setView({ ...this.state.view, mode: pick.mode });
    await vscode.commands.executeCommand('codeAttention.selectLayerHead');
  }

  private async selectLayerHead(layer?: number, head?: number): Promise<void> {
    const view = this.state.view;
    if (typeof layer === 'number') {
      const oneHead = typeof head === 'number';
      const mode = oneHead && view.mode !== 'valueWeighted' ? 'head' : view.mode;
      await this.state.setView({ ...view, layer, head: oneHead ? head : view.head, mode });
      return;
    }
    const model = this.state.activeResult()?.model;
    const layers = model?.layers ?? 12;
    const heads = model?.heads ?? 12;
    // Rollout and flow accumulate every head up to a layer, and the layer-level value-weighted view
    // sums the heads' vectors: only the layer is a choice there.
    const allHeads = view.mode === 'valueWeightedLayer';
    const layerOnly = view.mode === 'rollout' || view.mode === 'flow' || allHeads;
    const items: LayerHeadItem[] = [];
    for (let l = 0; l < layers; l++) {
      const description = allHeads ? 'all heads together' : layerOnly ? `layers 0–${l}` : 'mean over heads';
      items.push({ label: `Layer ${l}`, description, layer: l });
      if (!layerOnly)
        for (let h = 0; h < heads; h++) items.push({ label: `Layer ${l} · head ${h}`, layer: l, head: h });
    }
    const title = allHeads
      ? 'Code Attention: layer'
      : layerOnly
        ? 'Code Attention: up to which layer'
        : 'Code Attention: layer and head';
    const pick = await vscode.window.showQuickPick(items, { title });
    if (!pick) return;
    const keepMode = view.mode === 'valueWeighted' ? 'valueWeighted' : 'head';
    const mode: ViewMode = pick.head === undefined ? (view.mode === 'head' ? 'meanHeads' : view.mode) : keepMode;
    await this.state.setView({ ...view, layer: pick.layer, head: pick.head, mode });
  }

  dispose(): void {
    for (const registration of this.registrations) registration.dispose();
  }
}
