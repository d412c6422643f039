import type { Plugin } from 'chart.js';

/** Paints the editor background behind a chart, so that an exported PNG is readable outside VS Code. */
export const themedBackground: Plugin = {
  id: 'themedBackground',
  beforeDraw(chart) {
    const context = chart.ctx;
    context.save();
    context.globalCompositeOperation = 'destination-over';
    context.fillStyle =
      getComputedStyle(document.body).getPropertyValue('--vscode-editor-background').trim() || '#ffffff';
    context.fillRect(0, 0, chart.width, chart.height);
    context.restore();
  },
};
