import type { SubwordSequence, SpecialTokenIds } from './tokenizer';
import type { CodeToken, SubwordWindow } from './types';

export interface WindowPlan {
  windows: SubwordWindow[];
  /** Code tokens whose subwords were cut because one token alone exceeds a window. */
  truncatedTokens: number[];
}

/**
 * Splits a file's subwords into windows of at most `maxPositions` subwords including `<s>` and
 * `</s>`, never splitting a code token, so no part of a long file is silently dropped. A single
 * code token with more subwords than a window holds keeps only its first subwords (reported).
 */
export function planWindows(sequence: SubwordSequence, tokens: readonly CodeToken[], maxPositions: number, special: SpecialTokenIds): WindowPlan {
  const body = maxPositions - 2;
  if (body < 1) throw new Error(`maxPositions ${maxPositions} leaves no room for code between <s> and </s>.`);
  const spans: Array<[number, number]> = [];
  let cursor = 0;
  for (let t = 0; t < tokens.length; t++) {
    const start = cursor;
    while (cursor < sequence.tokenOfSubword.length && sequence.tokenOfSubword[cursor] === tokens[t].index) cursor++;
    spans.push([start, cursor]);
  }
  const windows: SubwordWindow[] = [];
  const truncatedTokens: number[] = [];
  let first = 0;
  while (first < tokens.length) {
    let last = first;
    let used = 0;
    while (last < tokens.length) {
      const length = spans[last][1] - spans[last][0];
      if (used + Math.min(length, body) > body) break;
      used += Math.min(length, body);
      last++;
    }
    const ids = [special.bos];
    const pieces = ['<s>'];
    const owner = [-1];
    for (let t = first; t < last; t++) {
      const [start, end] = spans[t];
      const kept = Math.min(end, start + body);
      if (kept < end) truncatedTokens.push(tokens[t].index);
      for (let s = start; s < kept; s++) {
        ids.push(sequence.ids[s]);
        pieces.push(sequence.pieces[s]);
        owner.push(sequence.tokenOfSubword[s]);
      }
    }
    ids.push(special.eos);
    pieces.push('</s>');
    owner.push(-1);
    windows.push({ tokenStart: tokens[first]?.index ?? 0, tokenEnd: (tokens[last - 1]?.index ?? -1) + 1, ids, pieces, tokenOfSubword: Int32Array.from(owner) });
    first = last;
  }
  return { windows, truncatedTokens };
}
