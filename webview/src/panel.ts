// Score panel webview: per-layer CAT-score chart with its baseline, a layer × head heatmap (click
// a cell to show that head in the editor), the definition in use, head statistics, exports and
// the faithfulness check of the cursor token (Spearman ρ of each view against occlusion).
// Every piece of text from the analysis goes through textContent; no inline handlers or styles.
import { Chart, registerables } from 'chart.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { themedBackground } from './chartTheme';
import type { FaithfulnessPanelModel, FaithfulnessSection, HostToPanel, PanelModel, PanelToHost, PanelView } from '../../src/protocol/panel';

declare function acquireVsCodeApi(): { postMessage(message: PanelToHost): void; setState(state: unknown): void; getState(): unknown };

Chart.register(...registerables);

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
let chart: Chart | undefined;
let current: { model: PanelModel; view?: PanelView; faithfulness?: FaithfulnessSection } | undefined;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, options: { text?: string; className?: string; id?: string } = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.text !== undefined) node.textContent = options.text;
  if (options.className) node.className = options.className;
  if (options.id) node.id = options.id;
  node.append(...children);
  return node;
}

const format = (value: number, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function themeColor(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function render(model: PanelModel): void {
  chart?.destroy();
  app.replaceChildren();
  app.append(
    element('h1', { text: `${model.file} — structure attention` }),
    element('p', { className: 'meta', text: `${model.model.displayName} · ${model.model.layers} layers × ${model.model.heads} heads · ${model.device} · ${model.tokens} code tokens in ${model.windows} window(s) · total ${format(model.timings.totalMs, 0)} ms (forward ${format(model.timings.forwardMs, 0)} ms)` }),
  );
  for (const warning of model.warnings) app.append(element('p', { className: 'warning', text: warning }));

  const toolbar = element('div', { className: 'toolbar' });
  const buttons: Array<[string, string, PanelToHost | (() => void)]> = [
    ['export-json', 'Export JSON', { type: 'export', format: 'json' }],
    ['export-csv', 'Export CSV', { type: 'export', format: 'csv' }],
    ['export-png', 'Export chart PNG', () => chart && vscode.postMessage({ type: 'exportPng', dataUrl: chart.toBase64Image('image/png', 1), chart: 'cat-by-layer' })],
  ];
  for (const [id, label, action] of buttons) {
    const button = document.createElement('vscode-button');
    button.id = id;
    button.textContent = label;
    button.addEventListener('click', () => (typeof action === 'function' ? action() : vscode.postMessage(action)));
    toolbar.append(button);
  }
  app.append(toolbar);

  const canvas = element('canvas', { id: 'cat-chart' });
  canvas.dataset.points = String(model.layers.length);
  app.append(element('h2', { text: 'CAT-score per layer (and attention on data flow, where available)' }), element('div', { className: 'chart' }, canvas));
  const foreground = themeColor('--vscode-foreground', '#cccccc');
  chart = new Chart(canvas, {
    type: 'line',
    plugins: [themedBackground],
    data: {
      labels: model.layers.map((row) => `L${row.layer}`),
      datasets: [
        { label: 'CAT-score', data: model.layers.map((row) => row.cat), borderColor: themeColor('--vscode-charts-blue', '#3794ff'), backgroundColor: themeColor('--vscode-charts-blue', '#3794ff') },
        { label: 'shuffled baseline', data: model.layers.map((row) => row.baseline), borderColor: themeColor('--vscode-charts-orange', '#d18616'), borderDash: [6, 4], backgroundColor: themeColor('--vscode-charts-orange', '#d18616') },
        ...(model.layers.some((row) => Number.isFinite(row.dataFlow))
          ? [
              { label: 'attention on data flow', data: model.layers.map((row) => row.dataFlow), borderColor: themeColor('--vscode-charts-green', '#89d185'), backgroundColor: themeColor('--vscode-charts-green', '#89d185') },
              { label: 'data-flow baseline', data: model.layers.map((row) => row.dataFlowBaseline), borderColor: themeColor('--vscode-charts-green', '#89d185'), borderDash: [2, 3], backgroundColor: themeColor('--vscode-charts-green', '#89d185') },
            ]
          : []),
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { min: 0, ticks: { color: foreground }, title: { display: true, text: 'CAT-score', color: foreground } }, x: { ticks: { color: foreground } } },
      plugins: { legend: { labels: { color: foreground } } },
    },
  });

  app.append(element('h2', { text: 'CAT-score per head (click a cell to show that head in the editor)' }), element('p', { className: 'meta', id: 'current-view' }), heatmap(model));

  const definition = element('dl', { className: 'definition' });
  for (const [term, value] of [
    ['Preset', model.definition.preset],
    ...model.definition.choices.map((choice) => ['Choice', choice]),
    ['Token types kept', `${model.definition.keptTypes} (${model.definition.typeSource})`],
    ['Attention threshold', model.definition.attentionThreshold],
    ['Distance threshold', `${model.definition.distanceThreshold} (${model.definition.distance} distance)`],
    ['Subword → token rule', model.definition.pairRule],
    ['Baseline', model.definition.baseline],
  ]) definition.append(element('dt', { text: term }), element('dd', { text: value }));
  app.append(element('h2', { text: 'Definition in use' }), definition);

  const stats = element('table', { className: 'stats', id: 'head-statistics' });
  stats.append(row('th', ['layer', 'CAT', 'baseline', '<s>', '</s>', 'punctuation', 'entropy']));
  for (const layer of model.layers) stats.append(row('td', [String(layer.layer), format(layer.cat), format(layer.baseline), format(layer.bos), format(layer.eos), format(layer.punctuation), format(layer.entropy, 2)]));
  app.append(element('h2', { text: 'Attention sinks and entropy per layer (mean over heads)' }), stats);

  const heads = element('table', { className: 'stats', id: 'structure-heads' });
  heads.append(row('th', ['relation', 'top heads (accuracy)', 'chance']));
  for (const relation of model.structureHeads) {
    const cell = element('td');
    for (const head of relation.heads) {
      const link = element('a', { text: `L${head.layer}H${head.head} ${format(head.accuracy, 2)}`, className: 'head-link' });
      link.href = '#';
      link.addEventListener('click', (event) => {
        event.preventDefault();
        vscode.postMessage({ type: 'selectHead', layer: head.layer, head: head.head });
      });
      cell.append(link, document.createTextNode(' '));
    }
    const tr = element('tr', {}, element('td', { text: relation.relation }), cell, element('td', { text: format(relation.chance) }));
    heads.append(tr);
  }
  app.append(element('h2', { text: 'Structure heads: where each head’s strongest attention lands' }), heads);

  const check = document.createElement('vscode-button');
  check.id = 'check-faithfulness';
  check.textContent = 'Check at cursor';
  check.addEventListener('click', () => vscode.postMessage({ type: 'checkFaithfulness' }));
  const section = element('section', { id: 'faithfulness' }, element('h2', { text: 'Which view to trust: faithfulness at the cursor token' }), element('div', { className: 'toolbar' }, check), element('div', { id: 'faithfulness-body' }));
  app.append(section);
}

const IDLE_FAITHFULNESS: FaithfulnessSection = { status: 'idle', message: 'Put the cursor on a code token and click “Check at cursor” (or run “Code Attention: Check View Faithfulness at Cursor”). It blanks out each other token of the window, one forward pass each.' };

/** Fills the faithfulness section: a message while idle, running or failed; ρ per view with bars when done. */
function showFaithfulness(section: FaithfulnessSection | undefined): void {
  const body = document.getElementById('faithfulness-body');
  if (!body) return;
  const shown = section ?? IDLE_FAITHFULNESS;
  body.dataset.status = shown.status;
  const button = document.getElementById('check-faithfulness');
  if (button) button.toggleAttribute('disabled', shown.status === 'running');
  if (shown.status !== 'done') {
    body.replaceChildren(element('p', { className: shown.status === 'failed' ? 'warning' : 'meta', text: shown.message }));
    return;
  }
  body.replaceChildren(...faithfulnessReport(shown.report));
}

function faithfulnessReport(report: FaithfulnessPanelModel): Node[] {
  const table = element('table', { className: 'stats', id: 'faithfulness-table' });
  table.append(row('th', ['view (last layer)', 'Spearman ρ', '']));
  for (const view of report.views) {
    const bar = element('div', { className: view.spearman < 0 ? 'rho-bar negative' : 'rho-bar' });
    bar.style.setProperty('--magnitude', (Number.isFinite(view.spearman) ? Math.min(1, Math.abs(view.spearman)) : 0).toFixed(3));
    const name = element('td', { text: view.name });
    name.title = view.label;
    const tr = element('tr', { className: view.mode === report.best ? 'best' : undefined }, name, element('td', { className: 'rho', text: format(view.spearman) }), element('td', { className: 'rho-cell' }, bar));
    tr.dataset.mode = view.mode;
    table.append(tr);
  }
  const nodes: Node[] = [
    element('p', { className: 'meta', text: `${report.file}: token “${report.focus.text}” at line ${report.focus.line}, column ${report.focus.column} · ${report.tokens} tokens blanked out · ${report.model}` }),
    table,
    element('p', { id: 'faithfulness-verdict', text: report.verdict }),
  ];
  if (report.skipped.length) {
    const list = element('ul', { id: 'faithfulness-skipped' });
    for (const skipped of report.skipped) {
      const item = element('li', { className: 'meta', text: `${skipped.name} skipped: ${skipped.reason}` });
      item.dataset.mode = skipped.mode;
      list.append(item);
    }
    nodes.push(list);
  }
  nodes.push(element('p', { className: 'meta definition-text', text: `Definition: ${report.definition}.` }));
  return nodes;
}

function row(cellTag: 'td' | 'th', values: string[]): HTMLTableRowElement {
  return element('tr', {}, ...values.map((value) => element(cellTag, { text: value })));
}

function heatmap(model: PanelModel): HTMLTableElement {
  const table = element('table', { className: 'heatmap', id: 'cat-heatmap' });
  const values = model.heatmap.flat().filter(Number.isFinite);
  const low = Math.min(...values);
  const high = Math.max(...values);
  table.append(row('th', ['', ...Array.from({ length: model.model.heads }, (_, head) => `H${head}`)]));
  model.heatmap.forEach((scores, layer) => {
    const tr = element('tr', {}, element('th', { text: `L${layer}` }));
    scores.forEach((score, head) => {
      const cell = element('td', { text: format(score, 2), className: 'cell' });
      cell.dataset.layer = String(layer);
      cell.dataset.head = String(head);
      cell.title = `layer ${layer}, head ${head}: CAT-score ${format(score)}`;
      const share = high > low && Number.isFinite(score) ? (score - low) / (high - low) : 0;
      // CSSOM assignments are not inline style markup, so the strict CSP allows them.
      cell.style.setProperty('--share', share.toFixed(3));
      cell.addEventListener('click', () => vscode.postMessage({ type: 'selectHead', layer, head }));
      tr.append(cell);
    });
    table.append(tr);
  });
  return table;
}

/** Marks the heatmap cell of the head the editor overlay shows, and names the view. */
function showView(view: PanelView | undefined): void {
  for (const cell of document.querySelectorAll<HTMLElement>('#cat-heatmap td.selected')) {
    cell.classList.remove('selected');
    delete cell.dataset.selected;
  }
  const label = document.getElementById('current-view');
  if (label) label.textContent = view ? `The editor shows: ${view.label}` : '';
  if (view?.head === undefined) return;
  const cell = document.querySelector<HTMLElement>(`#cat-heatmap td[data-layer="${view.layer}"][data-head="${view.head}"]`);
  if (cell) {
    cell.classList.add('selected');
    cell.dataset.selected = 'true';
  }
}

window.addEventListener('message', (event: MessageEvent<HostToPanel>) => {
  const message = event.data;
  if (message.type === 'update') {
    current = { model: message.model, view: message.view, faithfulness: message.faithfulness };
    render(message.model);
    showView(message.view);
    showFaithfulness(message.faithfulness);
  } else if (message.type === 'faithfulness') {
    if (current) current.faithfulness = message.section;
    showFaithfulness(message.section);
  } else if (message.type === 'view') {
    if (current) current.view = message.view;
    showView(message.view);
  } else {
    current = undefined;
    chart?.destroy();
    chart = undefined;
    app.replaceChildren(element('p', { id: 'status', text: message.reason }));
  }
  vscode.setState(current);
});

const saved = vscode.getState() as { model?: PanelModel; view?: PanelView; faithfulness?: FaithfulnessSection } | undefined;
if (saved?.model) {
  // A check that was running when the panel was saved did not finish for it.
  const faithfulness = saved.faithfulness?.status === 'running' ? undefined : saved.faithfulness;
  current = { model: saved.model, view: saved.view, faithfulness };
  render(saved.model);
  showView(saved.view);
  showFaithfulness(faithfulness);
}
vscode.postMessage({ type: 'ready' });
