import type { AnalysisResult } from '../core/types';

/** Where one analysis window starts: its first code token and what the marker says. */
export interface WindowBoundary {
  window: number;
  token: number;
  /** Shown before the token: "window 2 of 3". */
  label: string;
  /** Hover text: the window's token and subword span and why attention stops there. */
  detail: string;
}

/**
 * The starts of a result's windows after the first (the first starts the file): a file of one
 * window has none. Windows split a long file because the model reads at most its position count.
 */
export function windowBoundaries(result: AnalysisResult): WindowBoundary[] {
  const count = result.windows.length;
  return result.windows.slice(1).map((window, index) => {
    const first = result.tokens[window.tokenStart];
    const line = first.range.start.line + 1;
    return {
      window: index + 1,
      token: window.tokenStart,
      label: `window ${index + 2} of ${count}`,
      detail:
        `Window ${index + 2} of ${count} starts here (line ${line}): code tokens ${window.tokenStart}–` +
        `${window.tokenEnd - 1}, ${window.ids.length} subwords of at most ${result.model.maxPositions}. ` +
        'Attention does not cross windows.',
    };
  });
}
