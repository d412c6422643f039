import type { AnalysisResult } from '../core/types';
import type { FunctionScore } from './codeLens';

/** Where two versions of a text differ: `[start, oldEnd)` of the old one became `[start, newEnd)` of the new one. */
export interface TextChange {
  start: number;
  oldEnd: number;
  newEnd: number;
}

/** The one region holding every difference between `before` and `after` (common prefix and suffix kept). */
export function textChange(before: string, after: string): TextChange {
  const shorter = Math.min(before.length, after.length);
  let start = 0;
  while (start < shorter && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let suffix = 0;
  while (
    suffix < shorter - start &&
    before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
  )
    suffix++;
  return { start, oldEnd: before.length - suffix, newEnd: after.length - suffix };
}

/**
 * A function's lens placed in the current text. `carried`: the score is the previous version's,
 * kept until the new analysis reaches the function — `unchanged` when the function's text did not
 * change (re-anchored to its new offset), `edited` when the edit is inside its body (kept at its
 * start, its first line unchanged).
 */
export interface PlacedLens {
  offset: number;
  score: FunctionScore;
  carried?: 'unchanged' | 'edited';
}

/**
 * The lenses to show for `text` while it is being analysed: the current analysis's (partial or
 * complete) scores, and, for every function it has not reached yet, the previous result's lens,
 * so that no lens of an unchanged function disappears and the code does not jump. A previous
 * function whose first line the edit changed gets no lens (it may be another function now).
 */
export function placedLenses(
  text: string,
  current: { result: AnalysisResult; scores: FunctionScore[] } | undefined,
  previous: { result: AnalysisResult; scores: FunctionScore[] } | undefined,
): PlacedLens[] {
  const startOf = (result: AnalysisResult, score: FunctionScore) => result.tokens[score.firstToken].startIndex;
  const placed = new Map<number, PlacedLens>();
  for (const score of current?.scores ?? []) placed.set(startOf(current!.result, score), { offset: 0, score });
  const complete = current && !current.result.partial;
  if (previous && !complete) {
    const change = textChange(previous.result.source.text, text);
    const shift = change.newEnd - change.oldEnd;
    for (const score of previous.scores) {
      const start = startOf(previous.result, score);
      const end = previous.result.tokens[score.endToken - 1].endIndex;
      let offset: number;
      let carried: PlacedLens['carried'];
      if (end <= change.start) [offset, carried] = [start, 'unchanged'];
      else if (start >= change.oldEnd) [offset, carried] = [start + shift, 'unchanged'];
      else if (headerEnd(previous.result.source.text, start) < change.start) [offset, carried] = [start, 'edited'];
      else continue;
      if (!placed.has(offset)) placed.set(offset, { offset, score, carried });
    }
  }
  return [...placed.entries()].map(([offset, lens]) => ({ ...lens, offset })).sort((a, b) => a.offset - b.offset);
}

/** Where the line holding `offset` ends (its newline included). */
function headerEnd(text: string, offset: number): number {
  const newline = text.indexOf('\n', offset);
  return newline < 0 ? text.length : newline;
}
