// Attention views panel: for a selection, (1) the head view, lines from each attending token to
// the tokens it attends to, one colour per head, drawn on a canvas; (2) the model view, a
// layer × head grid of thumbnails (click one to show that head in the editor and here); (3) the
// token × token matrix of the current view, zoomable. Token text is drawn with fillText or set as
// textContent, never parsed as markup; colours come from the theme and follow theme changes.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { cssColor, exportFigures, onThemeChange, themeKind, themePalette, type NamedFigure } from './figureTools';
import { largest, scaleColor } from '../../src/presenters/figures';
import type { AttentionViewsModel, HostToViews, ViewsToHost } from '../../src/protocol/attentionViews';

declare function acquireVsCodeApi(): {
  postMessage(message: ViewsToHost): void;
  setState(state: unknown): void;
  getState(): unknown;
};

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;

interface UiState {
  layer: number;
  /** Heads whose lines are drawn. */
  heads: boolean[];
  /** Only links above uniform attention (1 / window tokens). */
  aboveUniform: boolean;
  /** Pixels per matrix cell. */
  zoom: number;
}

let model: AttentionViewsModel | undefined;
let ui: UiState | undefined;
/** The hovered token of the head view: its lines only. */
let focus: { side: 'from' | 'to'; token: number } | undefined;

const HEAD_COLORS = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

/** One colour per head, from the theme's chart colours (rotated through when there are more heads). */
function headColor(head: number): string {
  const index = head % HEAD_COLORS.length;
  const base = cssColor(`--vscode-charts-${HEAD_COLORS[index]}`, FALLBACK[index]);
  return head < HEAD_COLORS.length ? base : shade(base, head);
}

function shade(color: string, head: number): string {
  const palette = themePalette();
  return scaleColor(0.55 + 0.15 * (Math.floor(head / HEAD_COLORS.length) % 3), 0, 1, { ...palette, accent: color });
}

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

function button(id: string, label: string, action: () => void): HTMLElement {
  const node = document.createElement('vscode-button');
  node.id = id;
  node.textContent = label;
  node.addEventListener('click', action);
  return node;
}

const shortText = (text: string, length = 14) => {
  const line = text.replace(/\s+/g, ' ');
  return line.length > length ? line.slice(0, length - 1) + '…' : line;
};

/** A canvas sized in CSS pixels and drawn at the device's pixel ratio. */
function sizedCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.setProperty('width', `${width}px`);
  canvas.style.setProperty('height', `${height}px`);
  const context = canvas.getContext('2d')!;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  return context;
}

function render(): void {
  if (!model || !ui) return;
  const current = model;
  app.replaceChildren();
  app.dataset.themeKind = themeKind();
  app.append(element('h1', `${current.file}: attention views`));
  app.append(
    element('p', `${current.model.displayName} · ${current.scope} · the editor shows ${current.viewLabel}`, 'meta'),
  );
  const uniform = 1 / current.windowTokens;
  app.append(
    element(
      'p',
      `Uniform attention over the model window (${current.windowTokens} code tokens) is ` +
        (`1/${current.windowTokens} = ${uniform.toFixed(4)}; weights below are read against it. <s> and </s> ` +
          `are not code tokens and are left out.`),
      'meta',
    ),
  );
  if (current.notes.length) {
    const notes = element('ul', undefined, 'notes');
    notes.id = 'views-notes';
    for (const note of current.notes) notes.append(element('li', note));
    app.append(notes);
  }
  const toolbar = element('div', undefined, 'toolbar');
  toolbar.append(
    button(
      'export-svg',
      'Export figures SVG',
      () => void exportFigures(figures(), 'svg').then((message) => vscode.postMessage(message)),
    ),
    button(
      'export-png',
      'Export figures PNG (2×)',
      () => void exportFigures(figures(), 'png').then((message) => vscode.postMessage(message)),
    ),
    button('export-matrix-csv', 'Export matrix CSV', () => vscode.postMessage({ type: 'exportCsv' })),
  );
  app.append(toolbar);
  app.append(headViewSection(current), modelViewSection(current), matrixSection(current));
  drawHeadView();
  drawModelView();
  drawMatrix();
}

function headViewSection(current: AttentionViewsModel): HTMLElement {
  const section = element('section', undefined, 'views-section');
  section.id = 'head-view';
  section.append(
    element(
      'h2',
      `Head view: each token’s ${current.headView.linksPerToken} strongest targets per head ` +
        `(${current.headView.source})`,
    ),
  );
  const controls = element('div', undefined, 'views-controls');
  const layerLabel = element('label', 'Layer');
  const layer = element('select');
  layer.id = 'head-layer';
  for (let index = 0; index < current.model.layers; index++) {
    const option = element('option', `L${index}`);
    option.value = String(index);
    layer.append(option);
  }
  layer.value = String(ui!.layer);
  layer.addEventListener('change', () => {
    ui!.layer = Number(layer.value);
    save();
    drawHeadView();
  });
  layerLabel.append(layer);
  controls.append(layerLabel);
  const toggles = element('span', undefined, 'views-controls');
  toggles.id = 'head-toggles';
  for (let head = 0; head < current.model.heads; head++) {
    const label = element('label', undefined, 'head-toggle');
    const box = element('input');
    box.type = 'checkbox';
    box.checked = ui!.heads[head];
    box.dataset.head = String(head);
    box.addEventListener('change', () => {
      ui!.heads[head] = box.checked;
      save();
      drawHeadView();
    });
    const swatch = element('span', undefined, 'swatch');
    swatch.style.setProperty('--swatch', headColor(head));
    label.append(box, swatch, document.createTextNode(`H${head}`));
    toggles.append(label);
  }
  const above = element('label', undefined, 'head-toggle');
  const aboveBox = element('input');
  aboveBox.type = 'checkbox';
  aboveBox.id = 'above-uniform';
  aboveBox.checked = ui!.aboveUniform;
  aboveBox.addEventListener('change', () => {
    ui!.aboveUniform = aboveBox.checked;
    save();
    drawHeadView();
  });
  above.append(aboveBox, document.createTextNode(`only above uniform (${(1 / current.windowTokens).toFixed(4)})`));
  controls.append(toggles, above);
  section.append(controls);
  section.append(
    element(
      'p',
      'Line opacity is the weight (0.5 and above fully opaque). Hover a token to see only its lines; ' +
        'click a head in the model view to show it alone.',
      'meta',
    ),
  );
  const readout = element('p', '', 'meta');
  readout.id = 'head-readout';
  const canvas = element('canvas');
  canvas.id = 'head-canvas';
  canvas.addEventListener('mousemove', (event) => {
    const hit = headViewHit(canvas, event);
    if (hit?.token === focus?.token && hit?.side === focus?.side) return;
    focus = hit;
    drawHeadView();
  });
  canvas.addEventListener('mouseleave', () => {
    focus = undefined;
    drawHeadView();
  });
  const box = element('div', undefined, 'scroll-box');
  box.append(canvas);
  section.append(readout, box);
  return section;
}

/** The head view's geometry: label columns 130 px wide, lines between them; fitted to the panel's width. */
const HEAD_VIEW = { width: 620, left: 130, right: 490, top: 24 };

function fitHeadView(): void {
  HEAD_VIEW.width = Math.max(360, Math.min(760, app.clientWidth - 24));
  HEAD_VIEW.right = HEAD_VIEW.width - 130;
}
const rowHeight = (tokens: number) => (tokens > 200 ? 10 : 16);

function headViewHit(canvas: HTMLCanvasElement, event: MouseEvent): typeof focus {
  if (!model) return undefined;
  const bounds = canvas.getBoundingClientRect();
  const x = event.clientX - bounds.left;
  const token = Math.floor((event.clientY - bounds.top - HEAD_VIEW.top) / rowHeight(model.tokens.length));
  if (token < 0 || token >= model.tokens.length) return undefined;
  if (x < HEAD_VIEW.left + 10) return { side: 'from', token };
  if (x > HEAD_VIEW.right - 10) return { side: 'to', token };
  return undefined;
}

/** The head view's lines for the current layer, toggles and hovered token. */
function visibleLinks(current: AttentionViewsModel, state: UiState) {
  const uniform = 1 / current.windowTokens;
  const links: Array<{ from: number; to: number; weight: number; head: number }> = [];
  current.headView.layers[state.layer].forEach((headLinks, head) => {
    if (!state.heads[head]) return;
    headLinks.targets.forEach((targets, from) =>
      targets.forEach((to, index) => {
        const weight = headLinks.weights[from][index];
        if (state.aboveUniform && weight <= uniform) return;
        if (focus && (focus.side === 'from' ? from : to) !== focus.token) return;
        links.push({ from, to, weight, head });
      }),
    );
  });
  return links;
}

function drawHeadView(): void {
  const canvas = document.getElementById('head-canvas') as HTMLCanvasElement | null;
  if (!canvas || !model || !ui) return;
  const k = model.tokens.length;
  const row = rowHeight(k);
  const height = HEAD_VIEW.top + k * row + 8;
  fitHeadView();
  const context = sizedCanvas(canvas, HEAD_VIEW.width, height);
  const palette = themePalette();
  context.fillStyle = palette.background;
  context.fillRect(0, 0, HEAD_VIEW.width, height);
  context.font = `${Math.min(12, row - 2)}px ${cssColor('--vscode-editor-font-family', 'monospace')}`;
  context.textBaseline = 'middle';
  context.fillStyle = palette.muted;
  context.textAlign = 'right';
  context.fillText('attending', HEAD_VIEW.left - 8, 10);
  context.textAlign = 'left';
  context.fillText('attended', HEAD_VIEW.right + 8, 10);
  const links = visibleLinks(model, ui);
  context.lineWidth = 2;
  for (const link of links) {
    context.strokeStyle = headColor(link.head);
    context.globalAlpha = Math.max(0.04, Math.min(1, link.weight * 2));
    context.beginPath();
    context.moveTo(HEAD_VIEW.left, HEAD_VIEW.top + link.from * row + row / 2);
    context.lineTo(HEAD_VIEW.right, HEAD_VIEW.top + link.to * row + row / 2);
    context.stroke();
  }
  context.globalAlpha = 1;
  const linked = new Set(links.flatMap((link) => [`from${link.from}`, `to${link.to}`]));
  model.tokens.forEach((token, index) => {
    const y = HEAD_VIEW.top + index * row + row / 2;
    const label = shortText(token.text, 22);
    for (const [side, x, align] of [
      ['from', HEAD_VIEW.left - 8, 'right'],
      ['to', HEAD_VIEW.right + 8, 'left'],
    ] as const) {
      const active = !focus || (focus.side === side && focus.token === index) || linked.has(`${side}${index}`);
      context.textAlign = align;
      context.fillStyle = active ? palette.foreground : palette.muted;
      context.globalAlpha = active ? 1 : 0.5;
      context.fillText(label, x, y);
    }
  });
  context.globalAlpha = 1;
  canvas.dataset.tokens = String(k);
  canvas.dataset.layer = String(ui.layer);
  canvas.dataset.headsShown = String(ui.heads.filter(Boolean).length);
  canvas.dataset.lines = String(links.length);
  canvas.dataset.focus = focus ? `${focus.side}:${focus.token}` : '';
  canvas.dataset.theme = themeKind();
  canvas.dataset.background = palette.background;
  const readout = document.getElementById('head-readout');
  if (readout) {
    const shown =
      ui.heads
        .map((on, head) => (on ? `H${head}` : ''))
        .filter(Boolean)
        .join(' ') || 'no head';
    const about = focus
      ? ` · lines of “${model.tokens[focus.token].text}” (line ${model.tokens[focus.token].line}) only`
      : '';
    readout.textContent = `Layer ${ui.layer}, ${shown}: ${links.length} lines${about}`;
  }
}

function modelViewSection(current: AttentionViewsModel): HTMLElement {
  const section = element('section', undefined, 'views-section');
  section.id = 'model-view';
  section.append(
    element(
      'h2',
      `Model view: every layer × head (${current.modelView.source}, ${current.modelView.size} ` +
        `× ${current.modelView.size} block means of the selection)`,
    ),
  );
  section.append(
    element(
      'p',
      'One colour scale for all thumbnails (its top is the strongest block mean). Click a thumbnail ' +
        'to show that head in the editor and alone in the head view.',
      'meta',
    ),
  );
  const grid = element('div', undefined, 'model-grid');
  grid.id = 'model-grid';
  grid.style.setProperty('--heads', String(current.model.heads));
  grid.append(element('span'));
  for (let head = 0; head < current.model.heads; head++) grid.append(element('span', `H${head}`, 'meta'));
  for (let layer = 0; layer < current.model.layers; layer++) {
    grid.append(element('span', `L${layer}`, 'meta'));
    for (let head = 0; head < current.model.heads; head++) {
      const canvas = element('canvas', undefined, 'thumbnail');
      canvas.dataset.layer = String(layer);
      canvas.dataset.head = String(head);
      canvas.title = `layer ${layer}, head ${head}: click to show it in the editor and the head view`;
      if (layer === current.layer && head === current.head) canvas.classList.add('selected');
      canvas.addEventListener('click', () => {
        ui!.layer = layer;
        ui!.heads = ui!.heads.map((_, index) => index === head);
        save();
        vscode.postMessage({ type: 'selectHead', layer, head });
        render();
      });
      grid.append(canvas);
    }
  }
  section.append(grid);
  return section;
}

const THUMBNAIL_PX = 72;

function drawModelView(): void {
  if (!model) return;
  const palette = themePalette();
  const { size, thumbnails } = model.modelView;
  const high = Math.max(1e-9, largest(thumbnails.flat(2)));
  const cell = THUMBNAIL_PX / size;
  for (const canvas of document.querySelectorAll<HTMLCanvasElement>('#model-grid canvas.thumbnail')) {
    const values = thumbnails[Number(canvas.dataset.layer)][Number(canvas.dataset.head)];
    const context = sizedCanvas(canvas, THUMBNAIL_PX, THUMBNAIL_PX);
    for (let row = 0; row < size; row++) {
      for (let column = 0; column < size; column++) {
        context.fillStyle = scaleColor(values[row * size + column], 0, high, palette);
        context.fillRect(column * cell, row * cell, Math.ceil(cell), Math.ceil(cell));
      }
    }
  }
  const grid = document.getElementById('model-grid');
  if (grid) {
    grid.dataset.thumbnails = String(thumbnails.flat().length);
    grid.dataset.theme = themeKind();
  }
}

function matrixSection(current: AttentionViewsModel): HTMLElement {
  const section = element('section', undefined, 'views-section');
  section.id = 'matrix-view';
  section.append(element('h2', `Token × token matrix: ${current.matrix.label}`));
  const k = current.tokens.length;
  const controls = element('div', undefined, 'views-controls');
  const zoomLabel = element('label', 'Zoom (pixels per cell)');
  const zoom = element('select');
  zoom.id = 'matrix-zoom';
  for (const pixels of [2, 4, 8, 12, 16, 24, 32]) {
    const option = element('option', String(pixels));
    option.value = String(pixels);
    zoom.append(option);
  }
  zoom.value = String(ui!.zoom);
  zoom.addEventListener('change', () => {
    ui!.zoom = Number(zoom.value);
    save();
    drawMatrix();
  });
  zoomLabel.append(zoom);
  controls.append(zoomLabel);
  section.append(controls);
  const values = current.matrix.values;
  const high = largest(values);
  const uniform = 1 / current.windowTokens;
  const caption =
    `Rows: attending token (${current.matrix.rows} of ${k}); columns: attended token. ` +
    `Colour from 0 (background) to ${high.toFixed(4)} (strongest); uniform = ${uniform.toFixed(4)}.`;
  const bar = element('div', undefined, 'color-bar');
  bar.id = 'matrix-color-bar';
  const palette = themePalette();
  bar.style.setProperty('--bar-low', scaleColor(0, 0, high, palette));
  bar.style.setProperty('--bar-mid', scaleColor(high / 2, 0, high, palette));
  bar.style.setProperty('--bar-high', scaleColor(high, 0, high, palette));
  const scale = element('div', undefined, 'color-bar-scale');
  if (high > 0 && uniform <= high) {
    const marker = element('div', undefined, 'color-bar-marker');
    marker.style.setProperty('--position', `${((uniform / high) * 100).toFixed(1)}%`);
    marker.title = `uniform ${uniform.toFixed(4)}`;
    scale.append(marker);
  }
  section.append(element('p', caption, 'meta'), scale, bar);
  const readout = element('p', 'Hover a cell to read its weight.', 'meta');
  readout.id = 'matrix-readout';
  const canvas = element('canvas');
  canvas.id = 'matrix-canvas';
  canvas.addEventListener('mousemove', (event) => {
    const hit = matrixHit(canvas, event);
    if (!hit || !model) return;
    const weight = model.matrix.values[hit.row * k + hit.column];
    const from = model.tokens[hit.row];
    const to = model.tokens[hit.column];
    readout.textContent =
      `“${from.text}” (line ${from.line}) → “${to.text}” ` +
      `(line ${to.line}): ${weight.toFixed(4)} ` +
      `= ${(weight / uniform).toFixed(1)} × uniform`;
  });
  const box = element('div', undefined, 'scroll-box');
  box.append(canvas);
  section.append(readout, box);
  return section;
}

const matrixLabelSpace = (zoom: number) => (zoom >= 8 ? 110 : 0);

function matrixHit(canvas: HTMLCanvasElement, event: MouseEvent): { row: number; column: number } | undefined {
  if (!model || !ui) return undefined;
  const bounds = canvas.getBoundingClientRect();
  const offset = matrixLabelSpace(ui.zoom);
  const column = Math.floor((event.clientX - bounds.left - offset) / ui.zoom);
  const row = Math.floor((event.clientY - bounds.top - offset) / ui.zoom);
  if (row < 0 || column < 0 || row >= model.matrix.rows || column >= model.tokens.length) return undefined;
  return { row, column };
}

function drawMatrix(): void {
  const canvas = document.getElementById('matrix-canvas') as HTMLCanvasElement | null;
  if (!canvas || !model || !ui) return;
  const k = model.tokens.length;
  const rows = model.matrix.rows;
  const zoom = ui.zoom;
  const offset = matrixLabelSpace(zoom);
  const context = sizedCanvas(canvas, offset + k * zoom + 4, offset + rows * zoom + 4);
  const palette = themePalette();
  context.fillStyle = palette.background;
  context.fillRect(0, 0, offset + k * zoom + 4, offset + rows * zoom + 4);
  const values = model.matrix.values;
  const high = Math.max(1e-9, largest(values));
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < k; column++) {
      context.fillStyle = scaleColor(values[row * k + column], 0, high, palette);
      context.fillRect(offset + column * zoom, offset + row * zoom, zoom, zoom);
    }
  }
  if (offset) {
    context.fillStyle = palette.foreground;
    context.font = `${Math.min(12, zoom)}px ${cssColor('--vscode-editor-font-family', 'monospace')}`;
    context.textBaseline = 'middle';
    context.textAlign = 'right';
    for (let row = 0; row < rows; row++)
      context.fillText(shortText(model.tokens[row].text), offset - 4, offset + row * zoom + zoom / 2);
    for (let column = 0; column < k; column++) {
      context.save();
      context.translate(offset + column * zoom + zoom / 2, offset - 4);
      context.rotate(-Math.PI / 2);
      context.textAlign = 'left';
      context.fillText(shortText(model.tokens[column].text), 0, 0);
      context.restore();
    }
  }
  canvas.dataset.tokens = String(k);
  canvas.dataset.rows = String(rows);
  canvas.dataset.zoom = String(zoom);
  canvas.dataset.theme = themeKind();
  canvas.dataset.background = palette.background;
}

/** The three views as paper figures: head view (current layer and heads), model view, matrix. */
function figures(): NamedFigure[] {
  if (!model || !ui) return [];
  const current = model;
  const state = ui;
  const subtitle = `${current.file} · ${current.model.displayName} · ${current.scope}`;
  const tokens = current.tokens.map((token) => shortText(token.text));
  const saved = focus;
  focus = undefined;
  const links = visibleLinks(current, state).map((link) => ({
    from: link.from,
    to: link.to,
    weight: Math.min(1, link.weight * 2),
    group: link.head,
  }));
  focus = saved;
  const { size, thumbnails } = current.modelView;
  const tiled: number[][] = [];
  const rowLabels: string[] = [];
  thumbnails.forEach((heads, layer) => {
    for (let row = 0; row < size; row++) {
      rowLabels.push(row === 0 ? `L${layer}` : '');
      tiled.push(
        heads.flatMap((values, head) => [
          ...values.slice(row * size, (row + 1) * size),
          ...(head < heads.length - 1 ? [NaN] : []),
        ]),
      );
    }
    if (layer < thumbnails.length - 1) {
      rowLabels.push('');
      tiled.push(tiled[tiled.length - 1].map(() => NaN));
    }
  });
  const columnLabels = (tiled[0] ?? []).map((_, column) =>
    column % (size + 1) === 0 ? `H${column / (size + 1)}` : '',
  );
  const k = current.tokens.length;
  const matrixRows = Array.from({ length: current.matrix.rows }, (_, row) =>
    current.matrix.values.slice(row * k, (row + 1) * k),
  );
  const uniform = 1 / current.windowTokens;
  return [
    {
      name: `head-view-L${state.layer}`,
      figure: {
        kind: 'links',
        title: `Head view, layer ${state.layer}: each token’s strongest targets (${current.headView.source})`,
        subtitle:
          `${subtitle} · opacity = 2 × ` +
          `weight${state.aboveUniform ? ` · only above uniform ${uniform.toFixed(4)}` : ''}`,
        tokens,
        links,
        groups: Array.from({ length: current.model.heads }, (_, head) => ({
          label: `head ${head}${state.heads[head] ? '' : ' (hidden)'}`,
          color: headColor(head),
        })),
      },
    },
    {
      name: 'model-view',
      figure: {
        kind: 'grid',
        title: `Model view: every layer × head (${current.modelView.source})`,
        subtitle,
        xLabel: 'head',
        yLabel: 'layer',
        rowLabels,
        columnLabels,
        values: tiled,
        scaleLabel: 'attention (block mean)',
      },
    },
    {
      name: 'attention-matrix',
      figure: {
        kind: 'grid',
        title: `Token × token attention: ${current.matrix.label}`,
        subtitle,
        xLabel: 'attended token',
        yLabel: 'attending token',
        rowLabels: tokens.slice(0, current.matrix.rows),
        columnLabels: tokens,
        values: matrixRows,
        scaleLabel: 'attention weight',
        range: { low: 0, high: Math.max(1e-9, largest(current.matrix.values)) },
        reference: { value: uniform, label: 'uniform' },
      },
    },
  ];
}

function save(): void {
  vscode.setState({ model, ui });
}

function show(next: AttentionViewsModel): void {
  const sameShape = ui && model && model.model.layers === next.model.layers && model.model.heads === next.model.heads;
  const headMode = next.head !== undefined;
  if (!sameShape || !ui) {
    ui = {
      layer: next.layer,
      heads: Array.from({ length: next.model.heads }, () => true),
      aboveUniform: true,
      zoom: Math.max(2, Math.min(16, Math.floor(640 / next.tokens.length))),
    };
  }
  // Following the editor's view: its layer, and its head alone when it is on one head.
  ui.layer = next.layer;
  if (headMode) ui.heads = ui.heads.map((_, head) => head === next.head);
  model = next;
  focus = undefined;
  save();
  render();
}

window.addEventListener('message', (event: MessageEvent<HostToViews>) => {
  const message = event.data;
  if (message.type === 'update') show(message.model);
  else {
    model = undefined;
    save();
    app.replaceChildren(element('p', message.reason));
    app.firstElementChild!.id = 'status';
  }
});

const saved = vscode.getState() as { model?: AttentionViewsModel; ui?: UiState } | undefined;
if (saved?.model && saved.ui) {
  model = saved.model;
  ui = saved.ui;
  render();
}
onThemeChange(render);
let resizeScheduled = false;
window.addEventListener('resize', () => {
  if (resizeScheduled) return;
  resizeScheduled = true;
  requestAnimationFrame(() => {
    resizeScheduled = false;
    drawHeadView();
  });
});
vscode.postMessage({ type: 'ready' });
