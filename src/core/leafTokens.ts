import { languageSpec } from './languages';
import { runSteps, type Steps } from './slices';
import { TOKENS_PER_STEP, type CodeTokenizer, type SubwordSequence } from './tokenizer';
import type { ParsedSource } from './types';

/** A run of consecutive code tokens that reaches the model as one chunk of text. */
export interface InputChunk {
  /** Code-token indices [from, to). */
  from: number;
  to: number;
  startIndex: number;
  endIndex: number;
}

/**
 * The model's input chunks for leaf tokens: the leaves of one string literal (the language's
 * `atomicTypes`, outermost one) form one chunk, every other leaf is a chunk of its own. Fed chunk by
 * chunk with a space between chunks, this is exactly the text the `whole-strings` tokens give the
 * model (and close to CodeSearchNet's `code_tokens` joined by spaces, the reference's input), so
 * both token modes see the same subwords and only the subword → token map differs.
 */
export function inputChunks(parsed: ParsedSource): InputChunk[] {
  const atomic = new Set(languageSpec(parsed.language).atomicTypes);
  const nodes = parsed.tree.nodes;
  const chunks: InputChunk[] = [];
  let currentOwner = -2;
  for (const token of parsed.tokens) {
    let owner = -1;
    for (let node = nodes[token.node].parent; node >= 0; node = nodes[node].parent)
      if (atomic.has(nodes[node].type)) owner = node;
    const last = chunks[chunks.length - 1];
    if (owner >= 0 && owner === currentOwner && last) {
      last.to = token.index + 1;
      continue;
    }
    currentOwner = owner;
    const range = owner >= 0 ? nodes[owner] : token;
    chunks.push({ from: token.index, to: token.index + 1, startIndex: range.startIndex, endIndex: range.endIndex });
  }
  return chunks;
}

/**
 * Subwords of leaf tokens, chunk by chunk (see {@link inputChunks}), each subword assigned to the
 * leaf holding its first byte that is not whitespace (`Ġ{` after `hi ` in `f"hi {name}"` is the brace's;
 * a subword of whitespace only goes to the leaf holding its first byte, or the next one). Byte-level
 * BPE pieces hold one character per byte, which gives each piece's byte offset.
 * A leaf whose bytes all fall inside a piece that starts in an earlier leaf (the second quote of
 * `""`) gets no subword and, as in the reference, no score row. `approximateChunks` counts chunks
 * whose pieces did not add up to their bytes (a tokenizer that is not byte-level); their subwords
 * all go to the chunk's first leaf.
 */
export function encodeLeafTokens(
  tokenizer: CodeTokenizer,
  parsed: ParsedSource,
  options: { collapseWhitespace?: boolean } = {},
): SubwordSequence & { approximateChunks: number } {
  return runSteps(leafTokenSteps(tokenizer, parsed, options));
}

/** {@link encodeLeafTokens} as steps of {@link TOKENS_PER_STEP} chunks (see slices.ts). */
export function* leafTokenSteps(
  tokenizer: CodeTokenizer,
  parsed: ParsedSource,
  options: { collapseWhitespace?: boolean } = {},
): Steps<SubwordSequence & { approximateChunks: number }> {
  const ids: number[] = [];
  const pieces: string[] = [];
  const tokenOfSubword: number[] = [];
  let approximateChunks = 0;
  for (const [position, chunk] of inputChunks(parsed).entries()) {
    if (position % TOKENS_PER_STEP === TOKENS_PER_STEP - 1) yield;
    const original = parsed.source.slice(chunk.startIndex, chunk.endIndex);
    const { text, sourceByte } = options.collapseWhitespace
      ? collapseWhitespace(original)
      : { text: original, sourceByte: undefined };
    const leading = position === 0 ? 0 : 1;
    const encoded = tokenizer.encodeChunk(leading ? ' ' + text : text);
    const totalBytes = encoded.pieces.reduce((sum, piece) => sum + piece.length, 0);
    const exact = totalBytes === Buffer.byteLength(text, 'utf8') + leading;
    if (!exact) approximateChunks++;
    const leafEnds: number[] = [];
    for (let t = chunk.from; t < chunk.to; t++)
      leafEnds.push(Buffer.byteLength(parsed.source.slice(chunk.startIndex, parsed.tokens[t].endIndex), 'utf8'));
    let byte = -leading;
    let leaf = 0;
    for (let k = 0; k < encoded.ids.length; k++) {
      const piece = encoded.pieces[k];
      const blank = /^[\u0120\u010a\u0109\u010d]*/.exec(piece)![0].length;
      const inText = Math.max(byte + (blank < piece.length ? blank : 0), 0);
      const start = sourceByte ? sourceByte[Math.min(inText, sourceByte.length - 1)] : inText;
      while (exact && leaf < leafEnds.length - 1 && leafEnds[leaf] <= start) leaf++;
      ids.push(encoded.ids[k]);
      pieces.push(encoded.pieces[k]);
      tokenOfSubword.push(chunk.from + leaf);
      byte += encoded.pieces[k].length;
    }
  }
  return { ids, pieces, tokenOfSubword, approximateChunks };
}

/**
 * Runs of whitespace as one space, as the reference prepares its input (`' '.join(code.split())`),
 * with the chunk byte each byte of the new text comes from.
 */
export function collapseWhitespace(text: string): { text: string; sourceByte: number[] } {
  let collapsed = '';
  const sourceByte: number[] = [];
  let byte = 0;
  let inBlank = false;
  for (const char of text) {
    const width = Buffer.byteLength(char, 'utf8');
    if (/\s/.test(char)) {
      if (!inBlank) {
        collapsed += ' ';
        sourceByte.push(byte);
      }
      inBlank = true;
    } else {
      collapsed += char;
      for (let b = 0; b < width; b++) sourceByte.push(byte + b);
      inBlank = false;
    }
    byte += width;
  }
  return { text: collapsed, sourceByte };
}
