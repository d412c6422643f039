// Score panel webview: per-layer CAT-score chart with its baseline, a layer × head heatmap (click
// a cell to show that head in the editor), the definition in use, head statistics, exports and
// the faithfulness check of the cursor token (Spearman ρ of each view against occlusion).
// Every piece of text from the analysis goes through textContent; no inline handlers or styles.
import { Chart, registerables } from 'chart.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { themedBackground } from './chartTheme';
import { exportFigures, onThemeChange, themePalette, type NamedFigure } from './figureTools';
import { scaleColor, scaleRange, type Figure } from '../../src/presenters/figures';
import type {
  FaithfulnessPanelModel,
  FaithfulnessSection,
  HostToPanel,
  PanelCausalHeadStatistics,
  PanelModel,
  PanelSinks,
  PanelToHost,
  PanelView,
} from '../../src/protocol/panel';

declare function acquireVsCodeApi(): {
  postMessage(message: PanelToHost): void;
  setState(state: unknown): void;
  getState(): unknown;
};

Chart.register(...registerables);

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
const charts: Chart[] = [];
let current: { model: PanelModel; view?: PanelView; faithfulness?: FaithfulnessSection } | undefined;
/** What the heatmap shows: CAT-score, its shuffled baseline, or the difference. */
type HeatmapMode = 'cat' | 'baseline' | 'difference';
let heatmapMode: HeatmapMode = 'cat';
const HEATMAP_LABELS: Record<HeatmapMode, string> = {
  cat: 'CAT-score',
  baseline: 'shuffled baseline',
  difference: 'CAT − baseline',
};

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: { text?: string; className?: string; id?: string } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.text !== undefined) node.textContent = options.text;
  if (options.className) node.className = options.className;
  if (options.id) node.id = options.id;
  node.append(...children);
  return node;
}

const format = (value: number, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
/** A fixed-offset baseline as "−2: 0.220" (offset in tokens, negative = earlier, then its accuracy). */
const offsetText = ({ offset, accuracy }: { offset: number; accuracy: number }) =>
  `${offset > 0 ? '+' : '−'}${Math.abs(offset)}: ${format(accuracy)}`;

/** The CAT's name: a decoder's is causal CAT (j ≤ i). */
function catLabel(model: PanelModel): string {
  return model.causal?.label ?? 'CAT-score';
}

/** What the heatmap shows now, with the causal label for a decoder. */
function heatmapLabel(model: PanelModel): string {
  return heatmapMode === 'cat' ? catLabel(model) : HEATMAP_LABELS[heatmapMode];
}

/**
 * A decoder's head statistics per layer (heads averaged): each next to its level under uniform
 * causal attention over the same rows; a decoder has no </s> and no row sees its next subword.
 */
function causalStatisticsSection(model: PanelModel, stats: PanelCausalHeadStatistics): HTMLElement[] {
  const table = element('table', { className: 'stats', id: 'head-statistics' });
  table.append(
    row('th', [
      'layer',
      'first position',
      'chance',
      'punctuation',
      'chance',
      'previous subword',
      'chance',
      'entropy',
      'uniform',
    ]),
  );
  const { chance } = stats;
  for (const layer of model.layers)
    table.append(
      row('td', [
        String(layer.layer),
        format(layer.bos),
        format(chance.bos),
        format(layer.punctuation),
        format(chance.punctuation),
        format(stats.previous[layer.layer]),
        format(chance.previous),
        format(layer.entropy, 2),
        format(chance.entropy, 2),
      ]),
    );
  return [
    element('h2', {
      text: 'Head statistics per layer, causal (j ≤ i; mean over heads), against uniform causal attention',
    }),
    element('p', { className: 'meta', id: 'head-statistics-definition', text: stats.definition }),
    table,
  ];
}

function themeColor(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function render(model: PanelModel): void {
  for (const chart of charts.splice(0)) chart.destroy();
  app.replaceChildren();
  app.dataset.theme = document.body.classList.contains('vscode-light') ? 'light' : 'dark';
  app.append(
    element('h1', { text: `${model.file} — structure attention` }),
    element('p', {
      className: 'meta',
      text:
        `${model.model.displayName} · ${model.model.layers} layers × ${model.model.heads} heads ` +
        (`· ${model.device} · ${model.tokens} code tokens in ${model.windows} window(s) · ` +
          `total ${format(model.timings.totalMs, 0)} ms (forward ${format(model.timings.forwardMs, 0)} ms)`),
    }),
  );
  if (model.partial) {
    const { windowsDone, windowsTotal } = model.partial;
    app.append(
      element('p', {
        className: 'partial',
        id: 'partial-status',
        text:
          `Partial: ${windowsDone}/${windowsTotal} windows analysed. The per-layer scores below are over ` +
          'those windows, against their baselines; the per-head heatmap, head statistics and structure ' +
          'heads follow when every window is done.',
      }),
    );
  }
  for (const warning of model.warnings) app.append(element('p', { className: 'warning', text: warning }));

  const toolbar = element('div', { className: 'toolbar' });
  const buttons: Array<[string, string, PanelToHost | (() => void)]> = [
    ['export-json', 'Export JSON', { type: 'export', format: 'json' }],
    ['export-csv', 'Export CSV', { type: 'export', format: 'csv' }],
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
    ['show-attention-views', 'Head, model and matrix views', { type: 'showAttentionViews' }],
  ];
  for (const [id, label, action] of buttons) {
    const button = document.createElement('vscode-button');
    button.id = id;
    button.textContent = label;
    button.addEventListener('click', () => (typeof action === 'function' ? action() : vscode.postMessage(action)));
    toolbar.append(button);
  }
  app.append(toolbar);

  const foreground = themeColor('--vscode-foreground', '#cccccc');
  // A decoder's CAT is on the causal support: every title says so.
  const catName = model.causal ? model.causal.label : 'CAT-score';
  if (model.causal)
    app.append(
      element('p', {
        className: 'meta',
        id: 'causal-note',
        text:
          'Causal model (decoder): each token attends to itself and earlier tokens only. ' + model.causal.definition,
      }),
    );
  const canvas = element('canvas', { id: 'cat-chart' });
  canvas.dataset.points = String(model.layers.length);
  canvas.dataset.foreground = foreground;
  app.append(
    element('h2', { text: `${catName} per layer, against its shuffled baseline` }),
    element('div', { className: 'chart' }, canvas),
  );
  charts.push(
    lineChart(canvas, catName, [
      {
        label: catName,
        data: model.layers.map((row) => row.cat),
        color: themeColor('--vscode-charts-blue', '#3794ff'),
      },
      {
        label: 'shuffled baseline',
        data: model.layers.map((row) => row.baseline),
        color: themeColor('--vscode-charts-orange', '#d18616'),
        dashed: true,
      },
    ]),
  );
  if (model.layers.some((row) => Number.isFinite(row.dataFlow))) {
    // Its own chart: the share (≈ 0.004) would be a flat line on the CAT-score axis (0–0.2).
    const flowCanvas = element('canvas', { id: 'dfg-chart' });
    flowCanvas.dataset.points = String(model.layers.length);
    flowCanvas.dataset.foreground = foreground;
    const edges = model.causal
      ? ` (backward edges only: ${model.causal.backwardEdges} scored, ${model.causal.forwardEdges} forward left out)`
      : '';
    app.append(
      element('h2', { text: `Share of attention on data-flow edges per layer, against its offset baseline${edges}` }),
      element('div', { className: 'chart' }, flowCanvas),
    );
    const green = themeColor('--vscode-charts-green', '#89d185');
    charts.push(
      lineChart(flowCanvas, 'share of attention on data-flow edges', [
        { label: 'attention on data flow', data: model.layers.map((row) => row.dataFlow), color: green },
        {
          label: 'offset baseline',
          data: model.layers.map((row) => row.dataFlowBaseline),
          color: themeColor('--vscode-charts-purple', '#b180d7'),
          dashed: true,
        },
      ]),
    );
  }

  if (model.causal?.sinks) app.append(...sinkSection(model.causal.sinks, foreground));

  app.append(
    element('h2', { text: `${catName} per head (click a cell to show that head in the editor)` }),
    element('p', { className: 'meta', id: 'current-view' }),
    heatmapToggle(model),
    element('div', { id: 'heatmap-box' }, heatmap(model)),
  );

  const definition = element('dl', { className: 'definition' });
  for (const [term, value] of [
    ['Preset', model.definition.preset],
    ...model.definition.choices.map((choice) => ['Choice', choice]),
    ['Token types kept', `${model.definition.keptTypes} (${model.definition.typeSource})`],
    ['Attention threshold', model.definition.attentionThreshold],
    ['Distance threshold', `${model.definition.distanceThreshold} (${model.definition.distance} distance)`],
    ['Subword → token rule', model.definition.pairRule],
    ['Baseline', model.definition.baseline],
  ])
    definition.append(element('dt', { text: term }), element('dd', { text: value }));
  app.append(element('h2', { text: 'Definition in use' }), definition);

  const causalStats = model.causal?.headStatistics;
  if (causalStats) app.append(...causalStatisticsSection(model, causalStats));
  else {
    const stats = element('table', { className: 'stats', id: 'head-statistics' });
    stats.append(row('th', ['layer', 'CAT', 'baseline', '<s>', '</s>', 'punctuation', 'entropy']));
    for (const layer of model.layers)
      stats.append(
        row('td', [
          String(layer.layer),
          format(layer.cat),
          format(layer.baseline),
          format(layer.bos),
          format(layer.eos),
          format(layer.punctuation),
          format(layer.entropy, 2),
        ]),
      );
    app.append(element('h2', { text: 'Attention sinks and entropy per layer (mean over heads)' }), stats);
  }

  const heads = element('table', { className: 'stats', id: 'structure-heads' });
  heads.append(row('th', ['relation', 'top heads (accuracy)', 'chance', 'fixed offset']));
  for (const relation of model.structureHeads) {
    const cell = element('td');
    for (const head of relation.heads) {
      // As many decimals as the chance level it is read against.
      const link = element('a', {
        text: `L${head.layer}H${head.head} ${format(head.accuracy)}`,
        className: 'head-link',
      });
      link.href = '#';
      link.addEventListener('click', (event) => {
        event.preventDefault();
        vscode.postMessage({ type: 'selectHead', layer: head.layer, head: head.head });
      });
      cell.append(link, document.createTextNode(' '));
    }
    const tr = element(
      'tr',
      {},
      element('td', { text: relation.relation }),
      cell,
      element('td', { text: format(relation.chance) }),
      element('td', {
        text: relation.fixedOffset ? offsetText(relation.fixedOffset) : 'n/a',
      }),
    );
    heads.append(tr);
  }
  const causalHeads = model.causal?.structureHeads;
  app.append(
    element('h2', {
      text: causalHeads
        ? 'Structure heads, causal (j < i): where each head’s strongest attention to an earlier token lands'
        : 'Structure heads: where each head’s strongest attention lands',
    }),
    ...(causalHeads ? [element('p', { className: 'meta', id: 'structure-heads-definition', text: causalHeads })] : []),
    element('p', {
      className: 'meta',
      text:
        'Fixed offset: the accuracy of always choosing the token k positions away, at the best k ' +
        '(−2 = two tokens earlier), the positional baseline of Clark et al. (2019). A head at or below it ' +
        'may only be counting positions.',
    }),
    heads,
  );

  const check = document.createElement('vscode-button');
  check.id = 'check-faithfulness';
  check.textContent = 'Check at cursor';
  check.addEventListener('click', () => vscode.postMessage({ type: 'checkFaithfulness' }));
  const section = element(
    'section',
    { id: 'faithfulness' },
    element('h2', { text: 'Which view to trust: faithfulness at the cursor token' }),
    element('div', { className: 'toolbar' }, check),
    element('div', { id: 'faithfulness-body' }),
  );
  app.append(section);
}

const IDLE_FAITHFULNESS: FaithfulnessSection = {
  status: 'idle',
  message:
    'Put the cursor on a code token and click “Check at cursor” (or run “Code Attention: Check View ' +
    'Faithfulness at Cursor”). It blanks out each other token of the window, one forward pass each.',
};

/** Fills the faithfulness section: a message while idle, running or failed; ρ per view with bars when done. */
function showFaithfulness(section: FaithfulnessSection | undefined): void {
  const body = document.getElementById('faithfulness-body');
  if (!body) return;
  const shown = section ?? IDLE_FAITHFULNESS;
  body.dataset.status = shown.status;
  const button = document.getElementById('check-faithfulness');
  if (button) button.toggleAttribute('disabled', shown.status === 'running');
  if (shown.status !== 'done') {
    body.replaceChildren(
      element('p', { className: shown.status === 'failed' ? 'warning' : 'meta', text: shown.message }),
    );
    return;
  }
  body.replaceChildren(...faithfulnessReport(shown.report));
}

function faithfulnessReport(report: FaithfulnessPanelModel): Node[] {
  const table = element('table', { className: 'stats', id: 'faithfulness-table' });
  table.append(row('th', ['view (last layer)', 'Spearman ρ', '95 % interval', '']));
  for (const view of report.views) {
    const bar = element('div', { className: view.spearman < 0 ? 'rho-bar negative' : 'rho-bar' });
    bar.style.setProperty(
      '--magnitude',
      (Number.isFinite(view.spearman) ? Math.min(1, Math.abs(view.spearman)) : 0).toFixed(3),
    );
    const name = element('td', { text: view.name });
    name.title = view.label;
    const tr = element(
      'tr',
      { className: view.mode === report.best ? 'best' : undefined },
      name,
      element('td', { className: 'rho', text: format(view.spearman) }),
      element('td', { className: 'rho-interval', text: `[${format(view.low)}, ${format(view.high)}]` }),
      element('td', { className: 'rho-cell' }, bar),
    );
    tr.dataset.mode = view.mode;
    table.append(tr);
  }
  const nodes: Node[] = [
    element('p', {
      className: 'meta',
      text:
        `${report.file}: token “${report.focus.text}” at line ${report.focus.line}, ` +
        `column ${report.focus.column} · ${report.tokens} tokens blanked out · ${report.model}`,
    }),
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
  nodes.push(
    element('p', { className: 'meta definition-text', text: `Definition: ${report.definition}.` }),
    element('p', { className: 'meta', id: 'faithfulness-interval', text: `Intervals: ${report.interval}.` }),
  );
  return nodes;
}

/** A decoder's attention sinks: share on the window's first position per layer against uniform causal attention. */
function sinkSection(sinks: PanelSinks, foreground: string): Node[] {
  const canvas = element('canvas', { id: 'sink-chart' });
  canvas.dataset.points = String(sinks.perLayer.length);
  canvas.dataset.foreground = foreground;
  charts.push(
    lineChart(canvas, 'share of attention on the first position', [
      {
        label: 'share on the first position (mean over heads)',
        data: sinks.perLayer,
        color: themeColor('--vscode-charts-red', '#f14c4c'),
      },
      {
        label: 'chance: uniform causal attention',
        data: sinks.perLayer.map(() => sinks.chance),
        color: themeColor('--vscode-charts-yellow', '#cca700'),
        dashed: true,
      },
    ]),
  );
  const heads = sinks.heads.length
    ? sinks.heads
        .slice(0, 12)
        .map(
          (head) =>
            `L${head.layer}H${head.head} ${format(head.share)} (${format(head.share / sinks.chance, 1)}× chance)`,
        )
        .join(', ')
    : 'none';
  return [
    element('h2', { text: 'Attention sinks: share of attention on the first position, against chance' }),
    element('div', { className: 'chart' }, canvas),
    element('p', {
      className: 'meta',
      id: 'sink-heads',
      text:
        `Sink heads (share > ${sinks.threshold}): ${heads}. Sink rate ${format(sinks.sinkRate)} of all heads; ` +
        `chance ${format(sinks.chance)}. ${sinks.definition}.`,
    }),
  ];
}

function row(cellTag: 'td' | 'th', values: string[]): HTMLTableRowElement {
  return element('tr', {}, ...values.map((value) => element(cellTag, { text: value })));
}

type LineSeries = { label: string; data: number[]; color: string; dashed?: boolean };

function lineChart(canvas: HTMLCanvasElement, yTitle: string, series: LineSeries[]): Chart {
  const foreground = themeColor('--vscode-foreground', '#cccccc');
  const grid = themeColor('--vscode-panel-border', '#80808040');
  const axis = (text: string) => ({
    ticks: { color: foreground },
    grid: { color: grid },
    title: { display: true, text, color: foreground },
  });
  return new Chart(canvas, {
    type: 'line',
    plugins: [themedBackground],
    data: {
      labels: series[0].data.map((_, layer) => `L${layer}`),
      datasets: series.map((line) => ({
        label: line.label,
        data: line.data,
        borderColor: line.color,
        backgroundColor: line.color,
        borderDash: line.dashed ? [6, 4] : [],
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { min: 0, ...axis(yTitle) }, x: axis('layer') },
      plugins: { legend: { labels: { color: foreground } } },
    },
  });
}

/** The [layer][head] values the heatmap shows in a mode. */
function heatmapValues(model: PanelModel, mode: HeatmapMode): number[][] {
  const baseline = (layer: number, head: number) => model.heatmapBaseline?.[layer]?.[head] ?? NaN;
  if (mode === 'cat') return model.heatmap;
  if (mode === 'baseline') return model.heatmap.map((row, layer) => row.map((_, head) => baseline(layer, head)));
  return model.heatmap.map((row, layer) => row.map((score, head) => score - baseline(layer, head)));
}

function heatmapToggle(model: PanelModel): HTMLElement {
  const bar = element('div', { className: 'toolbar', id: 'heatmap-mode' });
  for (const mode of Object.keys(HEATMAP_LABELS) as HeatmapMode[]) {
    const button = document.createElement('vscode-button');
    button.id = `heatmap-${mode}`;
    button.textContent = mode === 'cat' ? catLabel(model) : HEATMAP_LABELS[mode];
    if (mode !== heatmapMode) button.setAttribute('secondary', '');
    button.addEventListener('click', () => {
      heatmapMode = mode;
      for (const other of bar.querySelectorAll('vscode-button')) other.toggleAttribute('secondary', other !== button);
      document.getElementById('heatmap-box')?.replaceChildren(heatmap(model));
      if (current) showView(current.view);
    });
    bar.append(button);
  }
  return bar;
}

function heatmap(model: PanelModel): HTMLElement {
  const values = heatmapValues(model, heatmapMode);
  const diverging = heatmapMode === 'difference';
  const palette = themePalette();
  const { low, high } = scaleRange(values, diverging);
  const table = element('table', { className: 'heatmap', id: 'cat-heatmap' });
  table.dataset.mode = heatmapMode;
  table.append(row('th', ['', ...Array.from({ length: model.model.heads }, (_, head) => `H${head}`)]));
  values.forEach((scores, layer) => {
    const tr = element('tr', {}, element('th', { text: `L${layer}` }));
    scores.forEach((value, head) => {
      const cell = element('td', { text: format(value), className: 'cell' });
      cell.dataset.layer = String(layer);
      cell.dataset.head = String(head);
      const cat = model.heatmap[layer][head];
      const baseline = model.heatmapBaseline?.[layer]?.[head] ?? NaN;
      const numbers =
        `${catLabel(model)} ${format(cat)}, shuffled baseline ${format(baseline)}, ` +
        `difference ${format(cat - baseline)}`;
      cell.title = `layer ${layer}, head ${head}: ${numbers}`;
      // CSSOM assignments are not inline style markup, so the strict CSP allows them.
      cell.style.setProperty('--cell-color', scaleColor(value, low, high, palette, diverging));
      cell.addEventListener('click', () => vscode.postMessage({ type: 'selectHead', layer, head }));
      tr.append(cell);
    });
    table.append(tr);
  });
  return element('div', { className: 'heatmap-with-bar' }, table, colorBar(low, high, diverging, model));
}

/** The colour bar under the heatmap: its ends, and the mean shuffled baseline marked on it. */
function colorBar(low: number, high: number, diverging: boolean, model: PanelModel): HTMLElement {
  const palette = themePalette();
  const bar = element('div', { className: 'color-bar', id: 'heatmap-color-bar' });
  bar.style.setProperty('--bar-low', scaleColor(low, low, high, palette, diverging));
  bar.style.setProperty('--bar-mid', scaleColor((low + high) / 2, low, high, palette, diverging));
  bar.style.setProperty('--bar-high', scaleColor(high, low, high, palette, diverging));
  bar.dataset.low = format(low);
  bar.dataset.high = format(high);
  const baselines = (model.heatmapBaseline ?? []).flat().filter(Number.isFinite);
  const reference = diverging
    ? 0
    : heatmapMode === 'cat' && baselines.length
      ? baselines.reduce((a, b) => a + b, 0) / baselines.length
      : NaN;
  const scale = element('div', { className: 'color-bar-scale' });
  if (Number.isFinite(reference) && high > low && reference >= low && reference <= high) {
    const marker = element('div', { className: 'color-bar-marker' });
    marker.style.setProperty('--position', `${(((reference - low) / (high - low)) * 100).toFixed(1)}%`);
    marker.title = diverging ? 'baseline (difference 0)' : `mean shuffled baseline ${format(reference)}`;
    scale.append(marker);
  }
  const caption = diverging
    ? `CAT − baseline: ${format(low)} (below baseline) … 0 … ${format(high)} (above)`
    : `${heatmapLabel(model)}: ${format(low)} … ${format(high)}` +
      (Number.isFinite(reference) ? ` · mean shuffled baseline ${format(reference)} (marked)` : '');
  return element('div', {}, scale, element('p', { className: 'meta color-bar-caption', text: caption }), bar);
}

/** The panel's figures for export: both line charts and the heatmap in its current mode. */
function figures(model: PanelModel): NamedFigure[] {
  const subtitle = `${model.file} · ${model.model.displayName} · ${model.tokens} code tokens`;
  const layerTicks = model.layers.map((row) => ({ x: row.layer, label: `L${row.layer}` }));
  const palette = {
    blue: themeColor('--vscode-charts-blue', '#3794ff'),
    orange: themeColor('--vscode-charts-orange', '#d18616'),
    green: themeColor('--vscode-charts-green', '#89d185'),
    purple: themeColor('--vscode-charts-purple', '#b180d7'),
  };
  const points = (pick: (row: PanelModel['layers'][number]) => number) =>
    model.layers.map((row) => ({ x: row.layer, y: pick(row) }));
  const list: NamedFigure[] = [
    {
      name: 'cat-by-layer',
      figure: {
        kind: 'line',
        title: `${catLabel(model)} per layer`,
        subtitle,
        xLabel: 'layer',
        yLabel: catLabel(model),
        xTicks: layerTicks,
        series: [
          { label: catLabel(model), points: points((row) => row.cat), color: palette.blue },
          { label: 'shuffled baseline', points: points((row) => row.baseline), color: palette.orange, dashed: true },
        ],
      },
    },
  ];
  if (model.layers.some((row) => Number.isFinite(row.dataFlow))) {
    list.push({
      name: 'dfg-by-layer',
      figure: {
        kind: 'line',
        title: 'Share of attention on data-flow edges per layer',
        subtitle,
        xLabel: 'layer',
        yLabel: 'share of attention',
        xTicks: layerTicks,
        series: [
          { label: 'attention on data flow', points: points((row) => row.dataFlow), color: palette.green },
          {
            label: 'offset baseline',
            points: points((row) => row.dataFlowBaseline),
            color: palette.purple,
            dashed: true,
          },
        ],
      },
    });
  }
  const baselines = (model.heatmapBaseline ?? []).flat().filter(Number.isFinite);
  const grid: Figure = {
    kind: 'grid',
    title: `${heatmapLabel(model)} per head`,
    subtitle,
    xLabel: 'head',
    yLabel: 'layer',
    rowLabels: model.heatmap.map((_, layer) => `L${layer}`),
    columnLabels: Array.from({ length: model.model.heads }, (_, head) => `H${head}`),
    values: heatmapValues(model, heatmapMode),
    scaleLabel: heatmapLabel(model),
    diverging: heatmapMode === 'difference',
    showValues: true,
    reference:
      heatmapMode === 'difference'
        ? { value: 0, label: 'baseline' }
        : heatmapMode === 'cat' && baselines.length
          ? { value: baselines.reduce((a, b) => a + b, 0) / baselines.length, label: 'mean baseline' }
          : undefined,
  };
  list.push({ name: `heads-${heatmapMode}`, figure: grid });
  return list;
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
  const cell = document.querySelector<HTMLElement>(
    `#cat-heatmap td[data-layer="${view.layer}"][data-head="${view.head}"]`,
  );
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
    for (const chart of charts.splice(0)) chart.destroy();
    app.replaceChildren(element('p', { id: 'status', text: message.reason }));
  }
  vscode.setState(current);
});

const saved = vscode.getState() as
  { model?: PanelModel; view?: PanelView; faithfulness?: FaithfulnessSection } | undefined;
if (saved?.model) {
  // A check that was running when the panel was saved did not finish for it.
  const faithfulness = saved.faithfulness?.status === 'running' ? undefined : saved.faithfulness;
  current = { model: saved.model, view: saved.view, faithfulness };
  render(saved.model);
  showView(saved.view);
  showFaithfulness(faithfulness);
}
onThemeChange(() => {
  if (!current) return;
  const scroll = window.scrollY;
  render(current.model);
  showView(current.view);
  showFaithfulness(current.faithfulness);
  window.scrollTo(0, scroll);
});
vscode.postMessage({ type: 'ready' });
