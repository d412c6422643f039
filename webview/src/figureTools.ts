// What the webviews share for theming and export: the theme's colours, a listener that fires when
// VS Code switches the theme (it swaps the body's vscode-light / vscode-dark / vscode-high-contrast
// classes), and figure export as SVG and as PNG rasterised at 2× from the same SVG.
import { figureSvg, type Figure, type FigurePalette } from '../../src/presenters/figures';
import type { ExportFiguresMessage } from '../../src/protocol/panel';

export function cssColor(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** The theme's kind from the body classes VS Code sets. */
export function themeKind(): string {
  const classes = document.body.classList;
  if (classes.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (classes.contains('vscode-high-contrast')) return 'high-contrast';
  return classes.contains('vscode-light') ? 'light' : 'dark';
}

export function themePalette(): FigurePalette {
  return {
    foreground: cssColor('--vscode-foreground', '#cccccc'),
    background: cssColor('--vscode-editor-background', '#1e1e1e'),
    muted: cssColor('--vscode-descriptionForeground', '#808080'),
    accent: cssColor('--vscode-charts-blue', '#3794ff'),
    negative: cssColor('--vscode-charts-red', '#f14c4c'),
  };
}

/**
 * Calls `redraw` after each theme change. The body's class attribute changes for other reasons
 * too, so the callback runs only when the theme classes (and so the colours) really changed.
 */
export function onThemeChange(redraw: () => void): void {
  let last = `${themeKind()}|${document.body.dataset.vscodeThemeId ?? ''}`;
  let scheduled = false;
  new MutationObserver(() => {
    const now = `${themeKind()}|${document.body.dataset.vscodeThemeId ?? ''}`;
    if (now === last || scheduled) return;
    scheduled = true;
    // The new variables are applied with the class; read them on the next frame.
    requestAnimationFrame(() => {
      scheduled = false;
      last = `${themeKind()}|${document.body.dataset.vscodeThemeId ?? ''}`;
      document.body.dataset.themeRenders = String(Number(document.body.dataset.themeRenders ?? '0') + 1);
      redraw();
    });
  }).observe(document.body, {
    attributes: true,
    attributeFilter: ['class', 'data-vscode-theme-id', 'data-vscode-theme-kind'],
  });
}

/** A PNG data URL of an SVG drawn at `scale` × its size. */
export function rasterise(svg: string, width: number, height: number, scale = 2): Promise<string> {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = width * scale;
      canvas.height = height * scale;
      const context = canvas.getContext('2d');
      if (!context) return reject(new Error('no 2D canvas'));
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      resolve(canvas.toDataURL('image/png'));
    };
    image.onerror = () => reject(new Error('the figure could not be rasterised'));
    image.src = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg)))}`;
  });
}

export interface NamedFigure {
  name: string;
  figure: Figure;
}

/** Builds every figure in the current theme's colours, as SVG or 2× PNG, in one message. */
export async function exportFigures(figures: NamedFigure[], format: 'svg' | 'png'): Promise<ExportFiguresMessage> {
  const palette = themePalette();
  const built: ExportFiguresMessage['figures'] = [];
  for (const { name, figure } of figures) {
    const { svg, width, height } = figureSvg(figure, palette);
    built.push({ name, format, data: format === 'svg' ? svg : await rasterise(svg, width, height) });
  }
  return { type: 'exportFigures', figures: built };
}
