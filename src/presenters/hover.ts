import { headMatrix } from '../core/alignment';
import { isPunctuation } from '../core/metrics/headStatistics';
import type { AnalysisResult, AnalyzedWindow, CodeToken } from '../core/types';
import { tokenAttentionRow, topK, windowOfToken, type AttentionView } from '../core/views';
import { markdownCell, markdownText } from './escape';

export { markdownCell } from './escape';

/** The hover card's line for a decoder's result. */
export const CAUSAL_HOVER_NOTE = 'causal model (decoder): each token attends to itself and earlier tokens only (j ≤ i)';

/** Number of intensity buckets the editor overlay uses (one decoration type each). */
export const BUCKETS = 5;

/**
 * How highlights are coloured: `relative`, by share of the row's strongest weight; `againstUniform`,
 * by how many times the uniform weight (the row's total spread evenly over its tokens) a token gets.
 */
export type ColorScale = 'relative' | 'againstUniform';

/** Lower edges of the against-uniform buckets, in multiples of uniform; below the first, no highlight. */
export const UNIFORM_BUCKET_EDGES = [1.5, 3, 6, 12, 24] as const;

/** A code token is an attention sink when the window's tokens give it this many times uniform on average. */
export const SINK_FACTOR = 4;

export interface HoverOptions {
  topK?: number;
  maxHighlights?: number;
  /** Relative scale: tokens below this share of the strongest weight are not highlighted. */
  minShare?: number;
  colorScale?: ColorScale;
  /** Leave out punctuation and operator tokens and renormalise the rest. */
  hidePunctuation?: boolean;
  /** Leave out attention-sink tokens ({@link SINK_FACTOR}) and renormalise the rest. */
  hideSinks?: boolean;
}

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
  character: number;
  weight: number;
  /** weight / uniform. */
  timesUniform: number;
}

export interface HoverPresentation {
  focus: number;
  label: string;
  highlights: Highlight[];
  rows: HoverRow[];
  /** The row's total spread evenly over the tokens shown (after filters): the chance level of one weight. */
  uniform: number;
  /** Tokens of the focus's window the row covers, after filters (the n of 1/n). */
  tokens: number;
  /** The colour scale used: flow always colours against uniform (its max-flow saturates). */
  colorScale: ColorScale;
  /** Tokens tied (within 0.1 %) with the strongest one: more than the rows means the order among them is arbitrary. */
  tiedAtTop: number;
  /** What the filters left out; `renormalised` when any weight was left out and the rest scaled up. */
  hidden: { punctuation: number; sinks: string[]; renormalised: boolean };
  /** Share of the attention that went to `<s>`/`</s>` (sum-mean rows sum to 1 minus it); otherwise undefined. */
  specialShare?: number;
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
 * Punctuation (brackets, separators, member access) and operators: anonymous leaves, whose
 * tree-sitter type is their own text, made only of symbols. Strings and comments never are.
 */
export function isPunctuationOrOperator(token: CodeToken): boolean {
  return isPunctuation(token) || (token.type === token.text && /^[^\p{L}\p{N}_$\s]+$/u.test(token.text));
}

/**
 * The attention sinks of a window at a layer: tokens whose average received attention (the column
 * mean of the layer's head-mean matrix) is at least {@link SINK_FACTOR} × the matrix's mean weight.
 */
export function attentionSinks(window: AnalyzedWindow, layer: number): number[] {
  const m = window.tokenEnd - window.tokenStart;
  const matrix = headMatrix(window.layerAttention, layer, 0);
  let total = 0;
  const received = new Float64Array(m);
  for (let a = 0; a < m; a++)
    for (let b = 0; b < m; b++) {
      received[b] += matrix[a * m + b];
      total += matrix[a * m + b];
    }
  const meanColumn = total / m;
  const sinks: number[] = [];
  received.forEach((sum, b) => {
    if (meanColumn > 0 && sum >= SINK_FACTOR * meanColumn) sinks.push(window.tokenStart + b);
  });
  return sinks;
}

/**
 * A decoder's attention sink (docs/causal.md): the window's first position, whatever it holds. Its code
 * token when the first position is one (no `bos`); none when it is `bos`, which no code-token row shows.
 */
export function firstPositionSink(window: AnalyzedWindow): number[] {
  const first = window.tokenOfSubword[0];
  return first >= 0 ? [first] : [];
}

/** What the card names as hidden sinks; for a decoder, that the sink is the window's first position. */
function sinkLabels(
  result: AnalysisResult,
  window: AnalyzedWindow | undefined,
  sinks: readonly number[],
  hideSinks: boolean,
): string[] {
  if (!result.causal) return sinks.map((token) => result.tokens[token].text);
  if (!hideSinks || !window) return [];
  if (sinks.length) return sinks.map((token) => `${result.tokens[token].text} (first position of the window)`);
  return window.tokenOfSubword[0] < 0
    ? [`${window.pieces[0]} (first position of the window; not a code token, so never among the weights)`]
    : [];
}

function bucketAgainstUniform(timesUniform: number): number | undefined {
  let bucket: number | undefined;
  UNIFORM_BUCKET_EDGES.forEach((edge, index) => {
    if (timesUniform >= edge) bucket = index;
  });
  return bucket;
}

/**
 * What to show for a focused token: the tokens it attends to (or is attended by) after the
 * filters (hidden tokens get weight 0, the rest scaled so that the row keeps its total), bucketed
 * by weight relative to the strongest one or against uniform, and the top rows of the hover card.
 * Relative scale: tokens below `minShare` of the strongest weight are not highlighted.
 */
export function presentHover(
  result: AnalysisResult,
  view: AttentionView,
  focus: number,
  options: HoverOptions = {},
): HoverPresentation {
  const { weights, label } = tokenAttentionRow(result, view, focus);
  const window = windowOfToken(result, focus);
  const start = window?.tokenStart ?? 0;
  // A decoder's token attends only to itself and the tokens before it: those are its row's n.
  const causalRow = result.causal === true && view.direction === 'attendsTo';
  const end = window ? (causalRow ? Math.min(window.tokenEnd, focus + 1) : window.tokenEnd) : 0;
  const sinks =
    options.hideSinks && window
      ? (result.causal ? firstPositionSink(window) : attentionSinks(window, view.layer)).filter((t) => t !== focus)
      : [];
  const hiddenSinks = new Set(sinks);
  let total = 0;
  let kept = 0;
  let tokens = 0;
  let punctuation = 0;
  for (let token = start; token < end; token++) {
    total += weights[token];
    const hide =
      token !== focus &&
      (hiddenSinks.has(token) || (options.hidePunctuation === true && isPunctuationOrOperator(result.tokens[token])));
    if (hide) {
      if (!hiddenSinks.has(token)) punctuation++;
      weights[token] = 0;
    } else {
      kept += weights[token];
      tokens++;
    }
  }
  const renormalised = tokens < end - start && kept > 0;
  if (renormalised) for (let token = start; token < end; token++) weights[token] *= total / kept;
  const uniform = tokens > 0 ? total / tokens : 0;
  const timesUniform = (weight: number) => (uniform > 0 ? weight / uniform : 0);

  const top = topK(weights, options.topK ?? 8, focus);
  const strongest = top[0]?.weight ?? 0;
  let tiedAtTop = 0;
  for (let token = start; token < end; token++)
    if (token !== focus && strongest > 0 && weights[token] >= strongest * 0.999) tiedAtTop++;
  const colorScale: ColorScale = view.mode === 'flow' ? 'againstUniform' : (options.colorScale ?? 'relative');
  const minShare = options.minShare ?? 0.15;
  const highlights: Highlight[] = [];
  for (const { token, weight } of topK(weights, options.maxHighlights ?? 40, focus)) {
    const share = strongest > 0 ? weight / strongest : 0;
    const bucket =
      colorScale === 'againstUniform'
        ? bucketAgainstUniform(timesUniform(weight))
        : share < minShare
          ? undefined
          : Math.min(BUCKETS - 1, Math.floor(((share - minShare) / (1 - minShare)) * BUCKETS));
    if (bucket !== undefined) highlights.push({ token, weight, bucket });
  }
  const specialShare =
    result.options.pairRule === 'sumMean' && view.mode !== 'flow' && view.direction === 'attendsTo'
      ? Math.max(0, 1 - total)
      : undefined;
  return {
    focus,
    label,
    highlights,
    rows: top.map(({ token, weight }) => ({
      token,
      text: result.tokens[token].text,
      line: result.tokens[token].range.start.line,
      character: result.tokens[token].range.start.character,
      weight,
      timesUniform: timesUniform(weight),
    })),
    uniform,
    tokens,
    colorScale,
    tiedAtTop,
    hidden: { punctuation, sinks: sinkLabels(result, window, sinks, options.hideSinks === true), renormalised },
    specialShare,
  };
}

/** The commands the card links to; a row link carries the token's position only, never its text. */
export interface HoverLinks {
  flip?: string;
  /** `command:…` that reveals a position: called with the row's [line, character] (0-based). */
  reveal?: string;
}

const percent = (share: number) => `${(100 * share).toFixed(share < 0.1 ? 1 : 0)} %`;

/**
 * The hover card as Markdown for a MarkdownString with theme icons, compact and most important
 * first: the focused token, the view, model and flip link; what the weights are measured against
 * and which filters are on; then the rows. Source text and model metadata are escaped (shown
 * literally); only our own command links are Markdown.
 */
export function hoverMarkdown(
  result: AnalysisResult,
  presentation: HoverPresentation,
  links: HoverLinks | string = {},
): string {
  const { flip, reveal } = typeof links === 'string' ? { flip: links, reveal: undefined } : links;
  const focus = result.tokens[presentation.focus];
  const model = `${markdownText(result.model.displayName)} · ${markdownText(result.device)}`;
  const specialTokens = markdownText('<s>/</s>');
  const special =
    presentation.specialShare === undefined
      ? `${specialTokens} left out`
      : `${specialTokens} left out (${percent(presentation.specialShare)})`;
  const scale =
    presentation.colorScale === 'againstUniform' ? `colours from ${UNIFORM_BUCKET_EDGES[0]}×` : 'relative colours';
  // One paragraph of short lines: VS Code caps the card at 250 px; a paragraph costs a margin, a wrap a line.
  const header = [
    `**${markdownCell(focus.text)}** — ${markdownText(presentation.label)}`,
    flip ? `${model} · [$(arrow-swap) Flip direction](${flip})` : model,
    `uniform 1/n = ${presentation.uniform.toFixed(4)} · n = ${presentation.tokens} · ${special} · ${scale}`,
    ...(result.causal ? [CAUSAL_HOVER_NOTE] : []),
  ];
  const { punctuation, sinks, renormalised } = presentation.hidden;
  const filters = [
    ...(punctuation ? [`${punctuation} punctuation/operator token(s) hidden`] : []),
    ...(sinks.length ? [`sinks hidden: ${sinks.map((text) => markdownCell(text)).join(', ')}`] : []),
  ];
  if (filters.length) header.push(`Filter on: ${filters.join('; ')}${renormalised ? '; weights renormalised' : ''}`);
  const rowCount = presentation.rows.length;
  if (presentation.tiedAtTop > 1 && presentation.tiedAtTop >= rowCount)
    header.push(`${presentation.tiedAtTop} tokens tie at the top weight: their order is arbitrary.`);
  const lines = [header.join('  \n')];
  lines.push(
    '',
    '| token | line | weight | × uniform |',
    '| --- | ---: | ---: | ---: |',
    ...presentation.rows.map((row) => {
      const text = markdownCell(row.text);
      const arguments_ = encodeURIComponent(JSON.stringify([row.line, row.character]));
      const cell = reveal ? `[${text}](${reveal}?${arguments_})` : text;
      return `| ${cell} | ${row.line + 1} | ${row.weight.toFixed(3)} | ${row.timesUniform.toFixed(1)}× |`;
    }),
  );
  return lines.join('\n');
}
