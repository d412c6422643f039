/**
 * Figures for a paper: every chart and view as a standalone SVG with a title, axis labels and a
 * legend (or colour bar). Pure and DOM-free, so the host tests it and the webviews bundle it;
 * a webview rasterises the same SVG at 2× for PNG. All text is escaped, never markup.
 */

export interface FigurePalette {
  foreground: string;
  background: string;
  /** Axis and grid lines. */
  muted: string;
  /** The colour of the strongest cell of a sequential scale. */
  accent: string;
  /** The colour of the most negative cell of a diverging scale. */
  negative: string;
}

export interface LineSeries {
  label: string;
  points: Array<{ x: number; y: number }>;
  color: string;
  dashed?: boolean;
}

export interface LineFigure {
  kind: 'line';
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Category ticks (layers); numeric ticks are chosen when absent. */
  xTicks?: Array<{ x: number; label: string }>;
  /** Extra line under the title, e.g. the model and file. */
  subtitle?: string;
}

export interface GridFigure {
  kind: 'grid';
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  rowLabels: string[];
  columnLabels: string[];
  /** [row][column]; NaN cells are left blank. */
  values: number[][];
  /** What the colour bar measures ("CAT-score", "attention weight"). */
  scaleLabel: string;
  /** A diverging scale centred on 0 (for differences such as CAT − baseline). */
  diverging?: boolean;
  /** A reference value marked on the colour bar (uniform attention, chance). */
  reference?: { value: number; label: string };
  /** Print each value in its cell (small grids only). */
  showValues?: boolean;
  /** The colour scale's ends, when several figures share one scale; the values' own range otherwise. */
  range?: { low: number; high: number };
}

export interface LinkFigure {
  kind: 'links';
  title: string;
  subtitle?: string;
  tokens: string[];
  /** One entry per line: from token (left column) to token (right column). */
  links: Array<{ from: number; to: number; weight: number; group: number }>;
  groups: Array<{ label: string; color: string }>;
}

export type Figure = LineFigure | GridFigure | LinkFigure;

export interface SvgFigure {
  svg: string;
  width: number;
  height: number;
}

/** Escapes text for SVG character data and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const FONT = 'font-family="sans-serif"';
const round = (value: number) => +value.toFixed(2);

function text(x: number, y: number, content: string, palette: FigurePalette, attributes = ''): string {
  return (
    `<text x="${round(x)}" y="${round(y)}" ${FONT} ` +
    `fill="${escapeXml(palette.foreground)}" ${attributes}>${escapeXml(content)}</text>`
  );
}

function shell(
  width: number,
  height: number,
  palette: FigurePalette,
  title: string,
  subtitle: string | undefined,
  body: string[],
): SvgFigure {
  const head = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="${escapeXml(palette.background)}"/>`,
    text(width / 2, 24, title, palette, 'font-size="16" font-weight="bold" text-anchor="middle"'),
  ];
  if (subtitle) head.push(text(width / 2, 42, subtitle, palette, 'font-size="11" text-anchor="middle" opacity="0.8"'));
  return { svg: [...head, ...body, '</svg>'].join('\n'), width, height };
}

/** 3–6 round tick values covering [low, high]. */
export function niceTicks(low: number, high: number, target = 5): number[] {
  if (!(high > low)) return [low];
  const rawStep = (high - low) / target;
  const magnitude = 10 ** Math.floor(Math.log10(rawStep));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rawStep)!;
  const ticks: number[] = [];
  for (let value = Math.ceil(low / step - 1e-9) * step; value <= high + step * 1e-9; value += step)
    ticks.push(+value.toPrecision(12));
  return ticks;
}

function tickLabel(value: number, ticks: number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(value) || 1;
  const digits = Math.max(
    0,
    Math.min(6, -Math.floor(Math.log10(step)) + (step / 10 ** Math.floor(Math.log10(step)) === 2.5 ? 1 : 0)),
  );
  return value.toFixed(digits);
}

function lineFigure(figure: LineFigure, palette: FigurePalette): SvgFigure {
  const width = 760;
  const legendRows = Math.ceil(figure.series.length / 2);
  const plot = { left: 80, top: figure.subtitle ? 60 : 48, width: 640, height: 280 };
  const height = plot.top + plot.height + 56 + legendRows * 18 + 8;
  const points = figure.series.flatMap((series) => series.points.filter((point) => Number.isFinite(point.y)));
  const xs = figure.xTicks?.map((tick) => tick.x) ?? points.map((point) => point.x);
  const xLow = Math.min(...xs);
  const xHigh = Math.max(...xs);
  const yTicks = niceTicks(
    Math.min(0, ...points.map((point) => point.y)),
    Math.max(1e-9, ...points.map((point) => point.y)),
  );
  const yLow = yTicks[0];
  const yHigh = Math.max(yTicks[yTicks.length - 1], ...points.map((point) => point.y));
  const px = (x: number) => plot.left + (xHigh > xLow ? ((x - xLow) / (xHigh - xLow)) * plot.width : plot.width / 2);
  const py = (y: number) => plot.top + plot.height - ((y - yLow) / (yHigh - yLow || 1)) * plot.height;
  const body: string[] = [];
  const axis = `stroke="${escapeXml(palette.muted)}"`;
  for (const tick of yTicks) {
    body.push(
      `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${round(py(tick))}" ` +
        `y2="${round(py(tick))}" ${axis} stroke-opacity="0.35"/>`,
    );
    body.push(text(plot.left - 6, py(tick) + 4, tickLabel(tick, yTicks), palette, 'font-size="11" text-anchor="end"'));
  }
  const xTicks =
    figure.xTicks ?? niceTicks(xLow, xHigh).map((x) => ({ x, label: tickLabel(x, niceTicks(xLow, xHigh)) }));
  for (const tick of xTicks)
    body.push(
      text(px(tick.x), plot.top + plot.height + 16, tick.label, palette, 'font-size="11" text-anchor="middle"'),
    );
  body.push(
    `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${plot.top + plot.height}" ` +
      `y2="${plot.top + plot.height}" ${axis}/>`,
  );
  body.push(`<line x1="${plot.left}" x2="${plot.left}" y1="${plot.top}" y2="${plot.top + plot.height}" ${axis}/>`);
  body.push(
    text(
      plot.left + plot.width / 2,
      plot.top + plot.height + 36,
      figure.xLabel,
      palette,
      'font-size="12" text-anchor="middle"',
    ),
  );
  const yMid = plot.top + plot.height / 2;
  body.push(
    text(
      20,
      yMid,
      figure.yLabel,
      palette,
      `font-size="12" text-anchor="middle" transform="rotate(-90 20 ${round(yMid)})"`,
    ),
  );
  for (const series of figure.series) {
    const drawn = series.points.filter((point) => Number.isFinite(point.y));
    const path = drawn
      .map((point, index) => `${index ? 'L' : 'M'}${round(px(point.x))},${round(py(point.y))}`)
      .join(' ');
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    const color = escapeXml(series.color);
    body.push(`<path class="series" d="${path}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    for (const point of drawn)
      body.push(`<circle cx="${round(px(point.x))}" cy="${round(py(point.y))}" r="3" fill="${color}"/>`);
  }
  figure.series.forEach((series, index) => {
    const x = plot.left + (index % 2) * 320;
    const y = plot.top + plot.height + 56 + Math.floor(index / 2) * 18;
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    body.push(
      `<line class="legend-swatch" x1="${x}" x2="${x + 24}" y1="${y - 4}" y2="${y - 4}" ` +
        `stroke="${escapeXml(series.color)}" stroke-width="3"${dash}/>`,
    );
    body.push(text(x + 30, y, series.label, palette, 'font-size="11"'));
  });
  return shell(width, height, palette, figure.title, figure.subtitle, body);
}

/** The largest finite value (0 when there is none), for arrays of any length. */
export function largest(values: ArrayLike<number>): number {
  let high = 0;
  for (let index = 0; index < values.length; index++) if (values[index] > high) high = values[index];
  return high;
}

/** Parses #rgb, #rrggbb(aa) or rgb(a)(…) into [r, g, b]; undefined for anything else. */
export function parseColor(color: string): [number, number, number] | undefined {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$/i.exec(color.trim());
  if (hex) {
    const digits = hex[1].length === 3 ? [...hex[1]].map((digit) => digit + digit).join('') : hex[1].slice(0, 6);
    return [0, 2, 4].map((start) => parseInt(digits.slice(start, start + 2), 16)) as [number, number, number];
  }
  const rgb = /^rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)/i.exec(color.trim());
  return rgb ? [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])] : undefined;
}

/** The colour `share` (0…1) of the way from `from` to `to`, as #rrggbb. */
export function mixColor(from: string, to: string, share: number): string {
  const a = parseColor(from) ?? [255, 255, 255];
  const b = parseColor(to) ?? [0, 102, 204];
  const t = Math.max(0, Math.min(1, share));
  return (
    '#' +
    a
      .map((channel, index) =>
        Math.round(channel + (b[index] - channel) * t)
          .toString(16)
          .padStart(2, '0'),
      )
      .join('')
  );
}

/** Colour of a value on a grid's scale: sequential from the background, or diverging around 0. */
export function scaleColor(
  value: number,
  low: number,
  high: number,
  palette: FigurePalette,
  diverging = false,
): string {
  if (!Number.isFinite(value)) return palette.background;
  if (diverging) {
    const extent = Math.max(Math.abs(low), Math.abs(high)) || 1;
    return mixColor(palette.background, value < 0 ? palette.negative : palette.accent, Math.abs(value) / extent);
  }
  return mixColor(palette.background, palette.accent, high > low ? (value - low) / (high - low) : 0);
}

/** The value range a grid's colours span (symmetric around 0 when diverging). */
export function scaleRange(values: number[][], diverging = false): { low: number; high: number } {
  // A loop, not Math.min(...values): a 512 × 512 matrix has more cells than a call takes arguments.
  let low = Infinity;
  let high = -Infinity;
  for (const row of values) {
    for (const value of row) {
      if (!Number.isFinite(value)) continue;
      low = Math.min(low, value);
      high = Math.max(high, value);
    }
  }
  if (low > high) return { low: 0, high: 1 };
  if (!diverging) return { low, high };
  const extent = Math.max(Math.abs(low), Math.abs(high));
  return { low: -extent, high: extent };
}

function gridFigure(figure: GridFigure, palette: FigurePalette): SvgFigure {
  const rows = figure.values.length;
  const columns = figure.columnLabels.length;
  const labelWidth = Math.min(120, 12 + 7 * Math.max(2, ...figure.rowLabels.map((label) => label.length)));
  const columnLabelHeight = Math.min(100, 12 + 6 * Math.max(2, ...figure.columnLabels.map((label) => label.length)));
  const cell = Math.max(2, Math.min(44, Math.floor(560 / Math.max(rows, columns))));
  const plot = {
    left: 40 + labelWidth,
    top: (figure.subtitle ? 60 : 48) + columnLabelHeight,
    width: cell * columns,
    height: cell * rows,
  };
  const bar = { left: plot.left + plot.width + 30, width: 16, height: Math.max(120, Math.min(plot.height, 300)) };
  const width = Math.max(480, bar.left + bar.width + 110);
  const height = plot.top + plot.height + 44;
  const { low, high } = figure.range ?? scaleRange(figure.values, figure.diverging);
  const body: string[] = [];
  const labelStep = Math.max(1, Math.ceil(11 / cell));
  figure.columnLabels.forEach((label, column) => {
    if (column % labelStep) return;
    const x = plot.left + column * cell + cell / 2 + 4;
    const y = plot.top - 6;
    body.push(text(x, y, label, palette, `font-size="11" transform="rotate(-60 ${round(x)} ${round(y)})"`));
  });
  figure.rowLabels.forEach((label, row) => {
    if (row % labelStep) return;
    body.push(
      text(plot.left - 6, plot.top + row * cell + cell / 2 + 4, label, palette, 'font-size="11" text-anchor="end"'),
    );
  });
  figure.values.forEach((values, row) =>
    values.forEach((value, column) => {
      if (!Number.isFinite(value)) return;
      const fill = scaleColor(value, low, high, palette, figure.diverging);
      const x = plot.left + column * cell;
      const y = plot.top + row * cell;
      body.push(`<rect class="cell" x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}"/>`);
      if (figure.showValues && cell >= 30)
        body.push(
          text(x + cell / 2, y + cell / 2 + 4, value.toFixed(3), palette, 'font-size="9" text-anchor="middle"'),
        );
    }),
  );
  body.push(
    `<rect x="${plot.left}" y="${plot.top}" width="${plot.width}" height="${plot.height}" fill="none" ` +
      `stroke="${escapeXml(palette.muted)}"/>`,
  );
  body.push(
    text(plot.left + plot.width / 2, height - 12, figure.xLabel, palette, 'font-size="12" text-anchor="middle"'),
  );
  const yMid = plot.top + plot.height / 2;
  body.push(
    text(
      16,
      yMid,
      figure.yLabel,
      palette,
      `font-size="12" text-anchor="middle" transform="rotate(-90 16 ${round(yMid)})"`,
    ),
  );
  body.push(...colorBar(bar.left, plot.top, bar.width, bar.height, low, high, figure, palette));
  return shell(width, height, palette, figure.title, figure.subtitle, body);
}

function colorBar(
  left: number,
  top: number,
  barWidth: number,
  barHeight: number,
  low: number,
  high: number,
  figure: GridFigure,
  palette: FigurePalette,
): string[] {
  const steps = 24;
  const body: string[] = [];
  for (let step = 0; step < steps; step++) {
    const value = high - ((step + 0.5) / steps) * (high - low);
    const y = top + (step * barHeight) / steps;
    body.push(
      `<rect class="color-bar" x="${left}" y="${round(y)}" width="${barWidth}" ` +
        `height="${round(barHeight / steps + 0.5)}" fill="${scaleColor(value, low, high, palette, figure.diverging)}"/>`,
    );
  }
  body.push(
    `<rect x="${left}" y="${top}" width="${barWidth}" height="${barHeight}" fill="none" ` +
      `stroke="${escapeXml(palette.muted)}"/>`,
  );
  body.push(text(left + barWidth + 4, top + 10, high.toFixed(3), palette, 'font-size="10"'));
  body.push(text(left + barWidth + 4, top + barHeight, low.toFixed(3), palette, 'font-size="10"'));
  if (figure.reference && high > low && figure.reference.value >= low && figure.reference.value <= high) {
    const y = top + ((high - figure.reference.value) / (high - low)) * barHeight;
    body.push(
      `<line x1="${left - 3}" x2="${left + barWidth + 3}" y1="${round(y)}" y2="${round(y)}" ` +
        `stroke="${escapeXml(palette.foreground)}" stroke-width="2"/>`,
    );
    body.push(
      text(
        left + barWidth + 4,
        y + 4,
        `${figure.reference.label} ${figure.reference.value.toFixed(3)}`,
        palette,
        'font-size="10"',
      ),
    );
  }
  const mid = top + barHeight / 2;
  const x = left + barWidth + 96;
  body.push(
    text(
      x,
      mid,
      figure.scaleLabel,
      palette,
      `font-size="11" text-anchor="middle" transform="rotate(-90 ${round(x)} ${round(mid)})"`,
    ),
  );
  return body;
}

function linkFigure(figure: LinkFigure, palette: FigurePalette): SvgFigure {
  const rowHeight = figure.tokens.length > 200 ? 4 : figure.tokens.length > 80 ? 8 : 16;
  const top = figure.subtitle ? 76 : 64;
  const left = 160;
  const right = 460;
  const legendTop = top + figure.tokens.length * rowHeight + 24;
  const width = 640;
  const height = legendTop + figure.groups.length * 18 + 16;
  const body: string[] = [];
  body.push(text(left, top - 16, 'attending token', palette, 'font-size="11" text-anchor="end"'));
  body.push(text(right, top - 16, 'attended token', palette, 'font-size="11"'));
  if (rowHeight >= 8) {
    figure.tokens.forEach((token, index) => {
      const y = top + index * rowHeight + rowHeight / 2 + 4;
      body.push(text(left - 6, y, token, palette, `font-size="${Math.min(11, rowHeight)}" text-anchor="end"`));
      body.push(text(right + 6, y, token, palette, `font-size="${Math.min(11, rowHeight)}"`));
    });
  }
  for (const link of figure.links) {
    const y1 = top + link.from * rowHeight + rowHeight / 2;
    const y2 = top + link.to * rowHeight + rowHeight / 2;
    const color = escapeXml(figure.groups[link.group]?.color ?? palette.accent);
    body.push(
      `<line class="link" x1="${left}" y1="${round(y1)}" x2="${right}" y2="${round(y2)}" stroke="${color}" ` +
        `stroke-width="2" stroke-opacity="${Math.max(0.05, Math.min(1, link.weight)).toFixed(3)}"/>`,
    );
  }
  figure.groups.forEach((group, index) => {
    const y = legendTop + index * 18;
    body.push(
      `<rect class="legend-swatch" x="${left}" y="${y - 10}" width="14" height="10" fill="${escapeXml(group.color)}"/>`,
    );
    body.push(text(left + 20, y, group.label, palette, 'font-size="11"'));
  });
  return shell(width, height, palette, figure.title, figure.subtitle, body);
}

export function figureSvg(figure: Figure, palette: FigurePalette): SvgFigure {
  switch (figure.kind) {
    case 'line':
      return lineFigure(figure, palette);
    case 'grid':
      return gridFigure(figure, palette);
    case 'links':
      return linkFigure(figure, palette);
  }
}

/** A file-name-safe slug for a figure ("CAT-score per layer" → "cat-score-per-layer"). */
export function figureSlug(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60) || 'figure'
  );
}
