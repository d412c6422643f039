// Compare panel: per-layer CAT-score (and data-flow attention, where the language has it) of two
// models on relative depth, with baselines, and their layer × head heatmaps side by side on one
// colour scale. Text goes through textContent only; no inline handlers or styles.
import { Chart, registerables, type ChartDataset } from 'chart.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { themedBackground } from './chartTheme';
import type { ComparePanelModel, ComparePanelToHost, CompareSide, HostToComparePanel } from '../../src/protocol/compare';

declare function acquireVsCodeApi(): { postMessage(message: ComparePanelToHost): void; setState(state: unknown): void; getState(): unknown };

Chart.register(...registerables);

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
const charts: Chart[] = [];

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
const format = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function heatmap(id: string, title: string, side: CompareSide, low: number, high: number): HTMLElement {
  const wrapper = element('div', undefined, 'side');
  wrapper.append(element('h3', title));
  const table = element('table', undefined, 'heatmap');
  table.id = id;
  table.dataset.layers = String(side.layers);
  table.dataset.heads = String(side.heads);
  const header = element('tr');
  header.append(element('th', ''), ...Array.from({ length: side.heads }, (_, head) => element('th', `H${head}`)));
  table.append(header);
  side.heatmap.forEach((scores, layer) => {
    const tr = element('tr');
    tr.append(element('th', `L${layer}`));
    scores.forEach((score, head) => {
      const cell = element('td', format(score), 'cell');
      cell.dataset.layer = String(layer);
      cell.dataset.head = String(head);
      cell.title = `${side.displayName}, layer ${layer}, head ${head}: CAT-score ${format(score, 3)}`;
      // CSSOM assignments are not inline style markup, so the strict CSP allows them.
      cell.style.setProperty('--share', (high > low && Number.isFinite(score) ? (score - low) / (high - low) : 0).toFixed(3));
      tr.append(cell);
    });
    table.append(tr);
  });
  wrapper.append(table);
  return wrapper;
}

type Series = ChartDataset<'line', Array<{ x: number; y: number }>>;

function series(label: string, depth: number[], values: number[], color: string, dashed: boolean): Series {
  return { label, data: depth.map((x, layer) => ({ x, y: values[layer] })), borderColor: color, backgroundColor: color, borderDash: dashed ? [6, 4] : [] };
}

function lineChart(id: string, title: string, yTitle: string, datasets: Series[], points: string): HTMLElement {
  const canvas = element('canvas');
  canvas.id = id;
  canvas.dataset.points = points;
  const box = element('div', undefined, 'chart');
  box.append(canvas);
  const foreground = css('--vscode-foreground', '#cccccc');
  charts.push(
    new Chart(canvas, {
      type: 'line',
      plugins: [themedBackground],
      data: { datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: { type: 'linear', min: 0, max: 1, title: { display: true, text: 'relative depth (layer + 1) / layers', color: foreground }, ticks: { color: foreground } },
          y: { min: 0, title: { display: true, text: yTitle, color: foreground }, ticks: { color: foreground } },
        },
        plugins: { legend: { labels: { color: foreground } } },
      },
    }),
  );
  const section = element('section');
  section.append(element('h2', title), box);
  return section;
}

function render(model: ComparePanelModel): void {
  for (const chart of charts.splice(0)) chart.destroy();
  app.replaceChildren();
  const { a, b } = model;
  app.append(element('h1', `${model.file}: ${a.displayName} vs ${b.displayName}`));
  const note = element('p', model.note, model.relativeDepth ? 'warning' : 'meta');
  note.id = 'depth-note';
  note.dataset.relativeDepth = String(model.relativeDepth);
  app.append(note);

  const toolbar = element('div', undefined, 'toolbar');
  const buttons: Array<[string, string, () => void]> = [
    ['export-json', 'Export JSON', () => vscode.postMessage({ type: 'export', format: 'json' })],
    ['export-png', 'Export CAT chart PNG', () => charts[0] && vscode.postMessage({ type: 'exportPng', dataUrl: charts[0].toBase64Image('image/png', 1), chart: 'compare-cat' })],
  ];
  for (const [id, label, action] of buttons) {
    const button = document.createElement('vscode-button');
    button.id = id;
    button.textContent = label;
    button.addEventListener('click', action);
    toolbar.append(button);
  }
  app.append(toolbar);

  const blue = css('--vscode-charts-blue', '#3794ff');
  const orange = css('--vscode-charts-orange', '#d18616');
  const points = `${a.layers},${b.layers}`;
  app.append(
    lineChart('compare-chart', 'CAT-score by relative depth', 'CAT-score', [
      series(`A: ${a.displayName}`, a.depth, a.cat, blue, false),
      series('A shuffled baseline', a.depth, a.baseline, blue, true),
      series(`B: ${b.displayName}`, b.depth, b.cat, orange, false),
      series('B shuffled baseline', b.depth, b.baseline, orange, true),
    ], points),
  );
  if ([...a.dataFlow, ...b.dataFlow].some(Number.isFinite)) {
    app.append(
      lineChart('compare-dfg-chart', 'Attention on data-flow edges by relative depth', 'share of attention', [
        series(`A: ${a.displayName}`, a.depth, a.dataFlow, blue, false),
        series('A offset baseline', a.depth, a.dataFlowBaseline, blue, true),
        series(`B: ${b.displayName}`, b.depth, b.dataFlow, orange, false),
        series('B offset baseline', b.depth, b.dataFlowBaseline, orange, true),
      ], points),
    );
  }

  const all = [...a.heatmap.flat(), ...b.heatmap.flat()].filter(Number.isFinite);
  const low = Math.min(...all);
  const high = Math.max(...all);
  const sides = element('div', undefined, 'sides');
  sides.append(heatmap('heatmap-a', `A: ${a.displayName} (${a.layers} × ${a.heads})`, a, low, high), heatmap('heatmap-b', `B: ${b.displayName} (${b.layers} × ${b.heads})`, b, low, high));
  app.append(element('h2', 'CAT-score per head (one colour scale for both)'), sides);
  const legend = element('p', `In the editor, ${model.moreInB} token(s) that receive clearly more last-layer attention under B and ${model.moreInA} under A are marked in two colours (Clear Attention Highlights removes them).`, 'meta');
  legend.id = 'difference-legend';
  app.append(legend);
}

window.addEventListener('message', (event: MessageEvent<HostToComparePanel>) => {
  if (event.data.type !== 'compare') return;
  vscode.setState(event.data.model);
  render(event.data.model);
});
const saved = vscode.getState() as ComparePanelModel | undefined;
if (saved && saved.a && saved.b) render(saved);
vscode.postMessage({ type: 'ready' });
