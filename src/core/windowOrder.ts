import type { AnalysisResult, CodeToken, SubwordWindow } from './types';

/** A stretch of the analysed text in character (UTF-16) offsets, end exclusive. */
export interface TextSpan {
  start: number;
  end: number;
}

/** A window the analysis has still to run, as {@link WindowOrder.next} sees it. */
export interface PendingWindow {
  /** Its index in the plan (file order). */
  index: number;
  /** The text its code tokens cover. */
  span: TextSpan;
  /** Kept from the previous version of the text: it needs no forward pass. */
  reused: boolean;
}

/**
 * The order in which an analysis runs its windows, changeable while it runs: windows kept from a
 * previous version first (they cost no forward pass), then the windows covering the spans most
 * recently preferred (the editor's cursor and visible ranges), in the order of the spans, then the
 * rest in file order. The order changes only when results appear, never the numbers.
 */
export class WindowOrder {
  private preferred: TextSpan[] = [];

  constructor(spans: readonly TextSpan[] = []) {
    this.prefer(spans);
  }

  /** Puts the windows covering `spans` (most wanted first) ahead of every other pending window. */
  prefer(spans: readonly TextSpan[]): void {
    this.preferred = spans.map((span) => ({ start: span.start, end: Math.max(span.end, span.start + 1) }));
  }

  get spans(): readonly TextSpan[] {
    return this.preferred;
  }

  /** The plan index of the window to run next among `pending` (not empty). */
  next(pending: readonly PendingWindow[]): number {
    let best = pending[0];
    let bestRank = this.rank(best);
    for (const candidate of pending) {
      const rank = this.rank(candidate);
      if (rank < bestRank || (rank === bestRank && candidate.index < best.index)) {
        best = candidate;
        bestRank = rank;
      }
    }
    return best.index;
  }

  private rank(window: PendingWindow): number {
    if (window.reused) return -1;
    const at = this.preferred.findIndex((span) => span.start < window.span.end && window.span.start < span.end);
    return at < 0 ? this.preferred.length : at;
  }
}

/** The text a window's code tokens cover. */
export function windowSpan(window: SubwordWindow, tokens: readonly CodeToken[]): TextSpan {
  return { start: tokens[window.tokenStart].startIndex, end: tokens[window.tokenEnd - 1].endIndex };
}

/**
 * Whether every code token in `[first, last)` lies in one of `result`'s windows: always in a
 * complete result, and in a partial one (`result.partial`) once the windows covering them ran.
 */
export function coversTokens(result: AnalysisResult, first: number, last: number): boolean {
  if (!result.partial) return true;
  let next = first;
  // Windows are in file order and do not overlap (a split token is in consecutive windows).
  for (const window of result.windows) {
    if (window.tokenEnd <= next) continue;
    if (window.tokenStart > next) return false;
    next = window.tokenEnd;
    if (next >= last) return true;
  }
  return next >= last;
}

/** Whether the code token at `offset` (if any) lies in one of `result`'s windows; offsets between tokens are covered. */
export function coversOffset(result: AnalysisResult, offset: number): boolean {
  if (!result.partial) return true;
  const tokens = result.tokens;
  let low = 0;
  let high = tokens.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (tokens[middle].endIndex <= offset) low = middle + 1;
    else high = middle;
  }
  if (low >= tokens.length || tokens[low].startIndex > offset) return true;
  return coversTokens(result, low, low + 1);
}
