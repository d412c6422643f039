// Compare panel: per-layer CAT-score curves of two models on relative depth, with baselines, and
// their layer × head heatmaps side by side. Text goes through textContent only.
import { Chart, registerables } from 'chart.js';
import type { ModelComparison } from '../../src/core/compare';
import type { ComparePanelToHost, HostToComparePanel } from '../../src/protocol/panel';

declare function acquireVsCodeApi(): { postMessage(message: ComparePanelToHost): void; setState(state: unknown): void; getState(): unknown };

Chart.register(...registerables);
const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
let chart: Chart | undefined;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

function heatmap(title: string, rows: number[][], low: number, high: number): HTMLElement {
  const wrapper = element('div', undefined, 'side');
  wrapper.append(element('h3', title));
  const table = element('table', undefined, 'heatmap');
  const header = element('tr');
  header.append(element('th', ''), ...(rows[0] ?? []).map((_, head) => element('th', `H${head}`)));
  table.append(header);
  rows.forEach((scores, layer) => {
    const tr = element('tr');
    tr.append(element('th', `L${layer}`));
    for (const score of scores) {
      const cell = element('td', Number.isFinite(score) ? score.toFixed(2) : 'n/a', 'cell');
      cell.style.setProperty('--share', (high > low ? (score - low) / (high - low) : 0).toFixed(3));
      tr.append(cell);
    }
    table.append(tr);
  });
  wrapper.append(table);
  return wrapper;
}

function render(comparison: ModelComparison): void {
  chart?.destroy();
  app.replaceChildren();
  app.append(element('h1', `${comparison.file ?? ''}: ${comparison.a.displayName} vs ${comparison.b.displayName}`), element('p', comparison.note, 'meta'));
  const canvas = element('canvas');
  canvas.id = 'compare-chart';
  canvas.dataset.points = `${comparison.a.layers},${comparison.b.layers}`;
  const box = element('div', undefined, 'chart');
  box.append(canvas);
  app.append(element('h2', 'CAT-score by relative depth'), box);
  const foreground = css('--vscode-foreground', '#cccccc');
  const series = (label: string, depth: number[], values: number[], color: string, dashed: boolean) => ({
    label,
    data: depth.map((x, layer) => ({ x, y: values[layer] })),
    borderColor: color,
    backgroundColor: color,
    borderDash: dashed ? [6, 4] : [],
  });
  const blue = css('--vscode-charts-blue', '#3794ff');
  const orange = css('--vscode-charts-orange', '#d18616');
  chart = new Chart(canvas, {
    type: 'line',
    data: {
      datasets: [
        series(`A: ${comparison.a.displayName}`, comparison.a.depth, comparison.a.cat, blue, false),
        series('A baseline', comparison.a.depth, comparison.a.baseline, blue, true),
        series(`B: ${comparison.b.displayName}`, comparison.b.depth, comparison.b.cat, orange, false),
        series('B baseline', comparison.b.depth, comparison.b.baseline, orange, true),
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { x: { type: 'linear', min: 0, max: 1, title: { display: true, text: 'relative depth (layer + 1) / layers', color: foreground }, ticks: { color: foreground } }, y: { min: 0, ticks: { color: foreground } } },
      plugins: { legend: { labels: { color: foreground } } },
    },
  });
  const all = [...comparison.a.heatmap.flat(), ...comparison.b.heatmap.flat()].filter(Number.isFinite);
  const low = Math.min(...all);
  const high = Math.max(...all);
  const sides = element('div', undefined, 'sides');
  sides.append(heatmap(`A: ${comparison.a.displayName}`, comparison.a.heatmap, low, high), heatmap(`B: ${comparison.b.displayName}`, comparison.b.heatmap, low, high));
  app.append(element('h2', 'CAT-score per head (shared colour scale)'), sides);
  app.append(element('p', 'In the editor, tokens that receive more last-layer attention under B are marked in one colour, under A in the other.', 'meta'));
}

window.addEventListener('message', (event: MessageEvent<HostToComparePanel>) => {
  vscode.setState(event.data.comparison);
  render(event.data.comparison);
});
const saved = vscode.getState() as ModelComparison | undefined;
if (saved) render(saved);
vscode.postMessage({ type: 'ready' });
