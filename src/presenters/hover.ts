import type { AnalysisResult, CodeToken } from '../core/types';
import { tokenAttentionRow, topK, type AttentionView } from '../core/views';
import { markdownCell, markdownText } from './escape';

export { markdownCell } from './escape';

/** Number of intensity buckets the editor overlay uses (one decoration type each). */
export const BUCKETS = 5;

export interface Highlight {
  token: number;
  /** 0 (faintest) … BUCKETS − 1 (strongest). */
  bucket: number;
  weight: number;
}

export interface HoverRow {
  token: number;
  text: string;
  line: number;
  weight: number;
}

export interface HoverPresentation {
  focus: number;
  label: string;
  highlights: Highlight[];
  rows: HoverRow[];
}

/** The code token whose range contains a UTF-16 offset, by binary search over source order. */
export function tokenAtOffset(tokens: readonly CodeToken[], offset: number): number | undefined {
  let low = 0;
  let high = tokens.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const token = tokens[mid];
    if (offset < token.startIndex) high = mid - 1;
    else if (offset >= token.endIndex) low = mid + 1;
    else return mid;
  }
  return undefined;
}

/**
 * What to show for a focused token: the tokens it attends to (or is attended by), bucketed by
 * weight relative to the strongest one, and the top rows of the hover card. Tokens below
 * `minShare` of the strongest weight are not highlighted, to keep the overlay readable.
 */
export function presentHover(
  result: AnalysisResult,
  view: AttentionView,
  focus: number,
  options: { topK?: number; maxHighlights?: number; minShare?: number } = {},
): HoverPresentation {
  const { weights, label } = tokenAttentionRow(result, view, focus);
  const top = topK(weights, options.topK ?? 8, focus);
  const strongest = top[0]?.weight ?? 0;
  const candidates = topK(weights, options.maxHighlights ?? 40, focus);
  const minShare = options.minShare ?? 0.15;
  const highlights: Highlight[] = [];
  for (const { token, weight } of candidates) {
    const share = strongest > 0 ? weight / strongest : 0;
    if (share < minShare) continue;
    highlights.push({
      token,
      weight,
      bucket: Math.min(BUCKETS - 1, Math.floor(((share - minShare) / (1 - minShare)) * BUCKETS)),
    });
  }
  return {
    focus,
    label,
    highlights,
    rows: top.map(({ token, weight }) => ({
      token,
      text: result.tokens[token].text,
      line: result.tokens[token].range.start.line,
      weight,
    })),
  };
}

/**
 * The hover card as Markdown for a MarkdownString with theme icons: what is shown, then the top
 * tokens with weights. Source text and model metadata are escaped (shown literally); only the flip
 * link, ours, is Markdown.
 */
export function hoverMarkdown(
  result: AnalysisResult,
  presentation: HoverPresentation,
  flipCommandUri?: string,
): string {
  const focus = result.tokens[presentation.focus];
  const lines = [
    `**${markdownCell(focus.text)}** — ${markdownText(presentation.label)}`,
    '',
    '| token | line | weight |',
    '| --- | ---: | ---: |',
    ...presentation.rows.map((row) => `| ${markdownCell(row.text)} | ${row.line + 1} | ${row.weight.toFixed(3)} |`),
    '',
    `${markdownText(result.model.displayName)} · ${markdownText(result.device)}`,
  ];
  if (flipCommandUri) lines.push('', `[$(arrow-swap) Flip direction](${flipCommandUri})`);
  return lines.join('\n');
}
