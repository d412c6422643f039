/**
 * The CAT-probing paper's figure as SVG: CAT-score per layer, one line per model (mean over the
 * corpus's snippets, a band of ± one standard deviation), each with its shuffled-attention baseline
 * dashed in the same colour. Pure: numbers in, markup out; every outside text is escaped.
 */
export interface FigureSeries {
  label: string;
  snippets: number;
  perLayer: ReadonlyArray<{ layer: number; mean: number; std: number; baselineMean: number }>;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[character]!,
  );
}

export function catFigureSvg(
  series: readonly FigureSeries[],
  title = 'CAT-score per layer',
  yLabel = 'CAT-score',
): string {
  const width = 820;
  const height = 440;
  const left = 64;
  const right = 300;
  const top = 48;
  const bottom = 56;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const sameDepth = new Set(series.map((entry) => entry.perLayer.length)).size <= 1;
  const maxLayers = Math.max(1, ...series.map((entry) => entry.perLayer.length));
  // Models of different depth share a relative-depth axis (0 = first layer, 1 = last).
  const xOf = (layer: number, layers: number) =>
    left +
    (sameDepth ? (maxLayers > 1 ? layer / (maxLayers - 1) : 0.5) : layers > 1 ? layer / (layers - 1) : 0.5) * plotWidth;
  const values = series
    .flatMap((entry) => entry.perLayer.flatMap((point) => [point.mean + point.std, point.baselineMean]))
    .filter(Number.isFinite);
  const yMax = Math.max(0.05, Math.ceil((Math.max(0, ...values) + 0.005) * 20) / 20);
  const yOf = (value: number) => top + plotHeight - (value / yMax) * plotHeight;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 ` +
      `0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  parts.push(
    `<text x="${left}" y="38" fill="#555">solid: mean over snippets (band ± 1 std); dashed: ` +
      `shuffled-attention baseline</text>`,
  );
  for (let tick = 0; tick <= 5; tick++) {
    const value = (yMax * tick) / 5;
    const y = yOf(value).toFixed(1);
    parts.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(
      `<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${value.toFixed(2)}</text>`,
    );
  }
  if (sameDepth) {
    for (let layer = 0; layer < maxLayers; layer++)
      parts.push(
        `<text x="${xOf(layer, maxLayers).toFixed(1)}" y="${top + plotHeight + 18}" ` +
          `text-anchor="middle">${layer}</text>`,
      );
  } else {
    for (const tick of [0, 0.25, 0.5, 0.75, 1])
      parts.push(
        `<text x="${(left + tick * plotWidth).toFixed(1)}" y="${top + plotHeight + 18}" ` +
          `text-anchor="middle">${tick}</text>`,
      );
  }
  parts.push(
    `<text x="${left + plotWidth / 2}" y="${height - 14}" ` +
      `text-anchor="middle">${sameDepth ? 'layer' : 'relative depth (layer / (layers − 1))'}</text>`,
  );
  parts.push(
    `<text transform="translate(16 ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle">` +
      `${escapeXml(yLabel)}</text>`,
  );
  parts.push(`<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`);
  series.forEach((entry, index) => {
    const colour = COLOURS[index % COLOURS.length];
    const layers = entry.perLayer.length;
    const finite = entry.perLayer.filter((point) => Number.isFinite(point.mean));
    const path = (pick: (point: FigureSeries['perLayer'][number]) => number) =>
      finite
        .map((point, i) => `${i ? 'L' : 'M'}${xOf(point.layer, layers).toFixed(1)} ${yOf(pick(point)).toFixed(1)}`)
        .join(' ');
    if (finite.length) {
      const upper = finite.map(
        (point) => `${xOf(point.layer, layers).toFixed(1)},${yOf(point.mean + point.std).toFixed(1)}`,
      );
      const lower = [...finite]
        .reverse()
        .map(
          (point) => `${xOf(point.layer, layers).toFixed(1)},${yOf(Math.max(0, point.mean - point.std)).toFixed(1)}`,
        );
      parts.push(
        `<polygon points="${[...upper, ...lower].join(' ')}" fill="${colour}" fill-opacity="0.12" stroke="none"/>`,
      );
      parts.push(`<path d="${path((point) => point.mean)}" fill="none" stroke="${colour}" stroke-width="2"/>`);
      parts.push(
        `<path d="${path((point) => point.baselineMean)}" fill="none" stroke="${colour}" stroke-width="1.5" ` +
          `stroke-dasharray="5 4"/>`,
      );
      for (const point of finite)
        parts.push(
          `<circle cx="${xOf(point.layer, layers).toFixed(1)}" cy="${yOf(point.mean).toFixed(1)}" ` +
            `r="3" fill="${colour}"/>`,
        );
    }
    const legendY = top + 10 + index * 34;
    const legendX = left + plotWidth + 14;
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY}" y2="${legendY}" stroke="${colour}" ` +
        `stroke-width="2"/>`,
    );
    parts.push(`<text x="${legendX + 30}" y="${legendY}" dominant-baseline="middle">${escapeXml(entry.label)}</text>`);
    parts.push(
      `<text x="${legendX + 30}" y="${legendY + 14}" dominant-baseline="middle" fill="#555">${entry.snippets} ` +
        `snippets</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
