/**
 * The corpus figure as PNG: the SVG rendered by resvg compiled to WebAssembly (`@resvg/resvg-wasm`),
 * so that one build runs on every platform the VSIX targets, with no Python, browser or network, and
 * with a shipped font (DejaVu Sans, media/fonts) rather than whatever fonts a machine has, so the
 * picture is the same everywhere.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { initWasm, Resvg } from '@resvg/resvg-wasm';

/** Pixels per SVG unit: the figure is 820 × 440 units, so the PNG is 1640 × 880, sharp on slides and in papers. */
export const PNG_SCALE = 2;
export const FIGURE_FONT_FAMILY = 'DejaVu Sans';

/**
 * The build copies the wasm next to the bundles (dist/resvg.wasm: found from dist/cli.js as `resvg.wasm`);
 * the compiled tests find the repository's copies in a folder above them.
 */
const WASM_CANDIDATES = ['resvg.wasm', 'dist/resvg.wasm', 'node_modules/@resvg/resvg-wasm/index_bg.wasm'];
const FONT_FILE = 'media/fonts/DejaVuSans.ttf';

/** The first of `relativePaths` found in the folder of this module or a folder above it. */
function findUpward(relativePaths: readonly string[], start = __dirname): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    for (const relativePath of relativePaths) {
      const candidate = join(dir, relativePath);
      if (existsSync(candidate)) return candidate;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

interface Renderer {
  font: Uint8Array;
}
let renderer: Promise<Renderer> | undefined;

/** Loads the renderer once per process (resvg's wasm can be initialised only once). */
function loadRenderer(): Promise<Renderer> {
  renderer ??= (async () => {
    const wasm = findUpward(WASM_CANDIDATES);
    const font = findUpward([FONT_FILE]);
    if (!wasm)
      throw new Error(
        `the renderer's WebAssembly (${WASM_CANDIDATES.join(' or ')}) is missing: run \`npm run build\` ` +
          '(it copies dist/resvg.wasm), or reinstall the extension',
      );
    if (!font)
      throw new Error(
        `the renderer's font (${FONT_FILE}) is missing: restore it from the repository, or reinstall the extension`,
      );
    await initWasm(readFileSync(wasm));
    return { font: readFileSync(font) };
  })();
  return renderer;
}

/** The SVG as PNG bytes at {@link PNG_SCALE} pixels per unit, on the SVG's own (white) background. */
export async function svgToPng(svg: string): Promise<Buffer> {
  const { font } = await loadRenderer();
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: PNG_SCALE },
    font: {
      fontBuffers: [font],
      defaultFontFamily: FIGURE_FONT_FAMILY,
      sansSerifFamily: FIGURE_FONT_FAMILY,
      serifFamily: FIGURE_FONT_FAMILY,
      monospaceFamily: FIGURE_FONT_FAMILY,
    },
  });
  try {
    const image = resvg.render();
    try {
      return Buffer.from(image.asPng());
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}
