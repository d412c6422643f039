import type { AnalysisResult } from '../core/types';
import type { HoverPresentation } from './hover';
import { textChange } from './lensCarry';

/** A text range `[start, end)` of the analysed text, by character offset. */
export interface OffsetRange {
  start: number;
  end: number;
}

/** The highlights drawn for one focused token, by offsets into the text they were drawn on. */
export interface DrawnHighlights {
  text: string;
  focus: OffsetRange;
  highlights: Array<OffsetRange & { bucket: number }>;
}

/** What the overlay drew for `focus` on `result`'s text, as offsets (so that an edit can move it). */
export function drawnHighlights(
  result: AnalysisResult,
  presentation: Pick<HoverPresentation, 'highlights'>,
  focus: number,
): DrawnHighlights {
  const rangeOf = (token: number): OffsetRange => ({
    start: result.tokens[token].startIndex,
    end: result.tokens[token].endIndex,
  });
  return {
    text: result.source.text,
    focus: rangeOf(focus),
    highlights: presentation.highlights.map(({ token, bucket }) => ({ ...rangeOf(token), bucket })),
  };
}

/**
 * The highlights of `drawn` carried to the edited `text`, re-anchored through the one changed
 * region between the two texts (as the CodeLens carry does): a highlight before the change stays,
 * one after it moves by the change's length, one touching it is dropped (its token may have
 * changed: typing right after a name extends it). Undefined when the focused token itself touches
 * the change: its row of attention belongs to a token that no longer exists as it was.
 */
export function carriedHighlights(drawn: DrawnHighlights, text: string): DrawnHighlights | undefined {
  if (text === drawn.text) return drawn;
  const change = textChange(drawn.text, text);
  const shift = change.newEnd - change.oldEnd;
  const carried = <Range extends OffsetRange>(range: Range): Range | undefined => {
    if (range.end < change.start) return range;
    if (range.start > change.oldEnd) return { ...range, start: range.start + shift, end: range.end + shift };
    return undefined;
  };
  const focus = carried(drawn.focus);
  if (!focus) return undefined;
  const highlights = drawn.highlights.map(carried).filter((range) => range !== undefined);
  return { text, focus, highlights };
}
