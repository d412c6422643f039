// Compare panel: per-layer CAT-score (and data-flow attention, where the language has it) of two
// models on relative depth, with baselines, and their layer × head heatmaps side by side on one
// colour scale. Text goes through textContent only; no inline handlers or styles.
import { Chart, registerables, type ChartDataset } from 'chart.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { themedBackground } from './chartTheme';
import { exportFigures, onThemeChange, themePalette, type NamedFigure } from './figureTools';
import { scaleColor, type LineSeries } from '../../src/presenters/figures';
import type {
  ComparePanelModel,
  ComparePanelToHost,
  CompareSide,
  HostToComparePanel,
} from '../../src/protocol/compare';

declare function acquireVsCodeApi(): {
  postMessage(message: ComparePanelToHost): void;
  setState(state: unknown): void;
  getState(): unknown;
};

Chart.register(...registerables);

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
const charts: Chart[] = [];
let current: ComparePanelModel | undefined;

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

const css = (name: string, fallback: string) =>
  getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
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
      cell.style.setProperty('--cell-color', scaleColor(score, low, high, themePalette()));
      tr.append(cell);
    });
    table.append(tr);
  });
  wrapper.append(table);
  return wrapper;
}

type Series = ChartDataset<'line', Array<{ x: number; y: number }>>;

function series(label: string, depth: number[], values: number[], color: string, dashed: boolean): Series {
  return {
    label,
    data: depth.map((x, layer) => ({ x, y: values[layer] })),
    borderColor: color,
    backgroundColor: color,
    borderDash: dashed ? [6, 4] : [],
  };
}

function lineChart(id: string, title: string, yTitle: string, datasets: Series[], points: string): HTMLElement {
  const canvas = element('canvas');
  canvas.id = id;
  canvas.dataset.points = points;
  const box = element('div', undefined, 'chart');
  box.append(canvas);
  const foreground = css('--vscode-foreground', '#cccccc');
  canvas.dataset.foreground = foreground;
  charts.push(
    new Chart(canvas, {
      type: 'line',
      plugins: [themedBackground],
      data: { datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: {
            type: 'linear',
            min: 0,
            max: 1,
            title: { display: true, text: 'relative depth (layer + 1) / layers', color: foreground },
            ticks: { color: foreground },
          },
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
  current = model;
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
    [
      'export-svg',
      'Export figures SVG',
      () => void exportFigures(figures(model), 'svg').then((message) => vscode.postMessage(message)),
    ],
    [
      'export-png',
      'Export figures PNG (2×)',
      () => void exportFigures(figures(model), 'png').then((message) => vscode.postMessage(message)),
    ],
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
    lineChart(
      'compare-chart',
      'CAT-score by relative depth',
      'CAT-score',
      [
        series(`A: ${a.displayName}${causalTag(a)}`, a.depth, a.cat, blue, false),
        series('A shuffled baseline', a.depth, a.baseline, blue, true),
        series(`B: ${b.displayName}${causalTag(b)}`, b.depth, b.cat, orange, false),
        series('B shuffled baseline', b.depth, b.baseline, orange, true),
      ],
      points,
    ),
  );
  if ([...a.dataFlow, ...b.dataFlow].some(Number.isFinite)) {
    app.append(
      lineChart(
        'compare-dfg-chart',
        'Attention on data-flow edges by relative depth',
        'share of attention',
        [
          series(`A: ${a.displayName}`, a.depth, a.dataFlow, blue, false),
          series('A offset baseline', a.depth, a.dataFlowBaseline, blue, true),
          series(`B: ${b.displayName}`, b.depth, b.dataFlow, orange, false),
          series('B offset baseline', b.depth, b.dataFlowBaseline, orange, true),
        ],
        points,
      ),
    );
  }

  const all = [...a.heatmap.flat(), ...b.heatmap.flat()].filter(Number.isFinite);
  const low = Math.min(...all);
  const high = Math.max(...all);
  const sides = element('div', undefined, 'sides');
  sides.append(
    heatmap('heatmap-a', `A: ${a.displayName} (${a.layers} × ${a.heads})`, a, low, high),
    heatmap('heatmap-b', `B: ${b.displayName} (${b.layers} × ${b.heads})`, b, low, high),
  );
  const scale = element(
    'p',
    `Colour: CAT-score from ${format(low, 3)} (background) to ${format(high, 3)} (strongest), ` +
      'one scale for both models.',
    'meta',
  );
  app.append(element('h2', 'CAT-score per head (one colour scale for both)'), sides, scale);
  const legend = element('div', undefined, 'legend');
  legend.id = 'difference-legend';
  legend.append(element('span', 'Marked in the editor (last-layer attention received):', 'meta'));
  for (const [className, side, count, name] of [
    ['more-in-b', 'B', model.moreInB, b.displayName],
    ['more-in-a', 'A', model.moreInA, a.displayName],
  ] as const) {
    const entry = element('span', undefined, 'legend-entry');
    entry.dataset.side = side;
    entry.dataset.count = String(count);
    entry.append(
      element('span', undefined, `swatch ${className}`),
      element('span', `clearly more under ${side} (${name}): ${tokenCount(count)}`),
    );
    legend.append(entry);
  }
  app.append(
    legend,
    element(
      'p',
      'The marks go with the hover highlights: moving the cursor, editing or “Clear Attention Highlights” ' +
        'removes them.',
      'meta',
    ),
  );
}

const tokenCount = (count: number) => (count === 0 ? 'none' : count === 1 ? '1 token' : `${count} tokens`);

/** Every chart of the panel for export: both curves and both head maps (one colour scale). */
function figures(model: ComparePanelModel): NamedFigure[] {
  const { a, b } = model;
  const blue = css('--vscode-charts-blue', '#3794ff');
  const orange = css('--vscode-charts-orange', '#d18616');
  const subtitle = `${model.file} · A: ${a.displayName} · B: ${b.displayName}`;
  const line = (
    values: (side: CompareSide) => number[],
    baseline: (side: CompareSide) => number[],
    baselineName: string,
  ): LineSeries[] => [
    { label: `A: ${a.displayName}`, color: blue, points: a.depth.map((x, layer) => ({ x, y: values(a)[layer] })) },
    {
      label: `A ${baselineName}`,
      color: blue,
      dashed: true,
      points: a.depth.map((x, layer) => ({ x, y: baseline(a)[layer] })),
    },
    { label: `B: ${b.displayName}`, color: orange, points: b.depth.map((x, layer) => ({ x, y: values(b)[layer] })) },
    {
      label: `B ${baselineName}`,
      color: orange,
      dashed: true,
      points: b.depth.map((x, layer) => ({ x, y: baseline(b)[layer] })),
    },
  ];
  const xLabel = 'relative depth (layer + 1) / layers';
  const list: NamedFigure[] = [
    {
      name: 'compare-cat',
      figure: {
        kind: 'line',
        title: 'CAT-score by relative depth',
        subtitle,
        xLabel,
        yLabel: 'CAT-score',
        series: line(
          (side) => side.cat,
          (side) => side.baseline,
          'shuffled baseline',
        ),
      },
    },
  ];
  if ([...a.dataFlow, ...b.dataFlow].some(Number.isFinite)) {
    list.push({
      name: 'compare-dfg',
      figure: {
        kind: 'line',
        title: 'Attention on data-flow edges by relative depth',
        subtitle,
        xLabel,
        yLabel: 'share of attention',
        series: line(
          (side) => side.dataFlow,
          (side) => side.dataFlowBaseline,
          'offset baseline',
        ),
      },
    });
  }
  const all = [...a.heatmap.flat(), ...b.heatmap.flat()].filter(Number.isFinite);
  const range = { low: Math.min(...all), high: Math.max(...all) };
  for (const [name, side] of [
    ['A', a],
    ['B', b],
  ] as const) {
    list.push({
      name: `compare-heads-${name.toLowerCase()}`,
      figure: {
        kind: 'grid',
        title: `${name}: ${side.displayName}, CAT-score per head`,
        subtitle: model.file,
        xLabel: 'head',
        yLabel: 'layer',
        rowLabels: side.heatmap.map((_, layer) => `L${layer}`),
        columnLabels: Array.from({ length: side.heads }, (_, head) => `H${head}`),
        values: side.heatmap,
        scaleLabel: 'CAT-score (one scale for A and B)',
        showValues: true,
        range,
      },
    });
  }
  return list;
}

window.addEventListener('message', (event: MessageEvent<HostToComparePanel>) => {
  if (event.data.type !== 'compare') return;
  vscode.setState(event.data.model);
  render(event.data.model);
});
const saved = vscode.getState() as ComparePanelModel | undefined;
if (saved && saved.a && saved.b) render(saved);
onThemeChange(() => current && render(current));
vscode.postMessage({ type: 'ready' });

/** A decoder's curves say that their CAT is the causal one. */
function causalTag(side: { causal?: boolean }): string {
  return side.causal ? ' (causal CAT, j ≤ i)' : '';
}
