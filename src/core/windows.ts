import type { SubwordSequence, SpecialTokenIds } from './tokenizer';
import type { CodeToken, SubwordWindow } from './types';

export interface WindowPlan {
  windows: SubwordWindow[];
  /**
   * Code tokens with more subwords than a window holds: their subwords are split across
   * consecutive windows, so such a token belongs to more than one window.
   */
  splitTokens: number[];
}

/** A run of subwords placed together: a whole code token, or one piece of an over-long one. */
interface Unit {
  token: number;
  start: number;
  end: number;
}

/**
 * Splits a file's subwords into windows of at most `maxPositions` subwords including `<s>` and
 * `</s>`, filling each window greedily with whole code tokens, so no part of a long file is
 * dropped. A single code token with more subwords than a window holds is cut into window-sized
 * pieces of its subwords (reported in `splitTokens`); only then do two windows share a token.
 */
export function planWindows(sequence: SubwordSequence, tokens: readonly CodeToken[], maxPositions: number, special: SpecialTokenIds): WindowPlan {
  const body = maxPositions - 2;
  if (body < 1) throw new Error(`maxPositions ${maxPositions} leaves no room for code between <s> and </s>.`);
  const units: Unit[] = [];
  const splitTokens: number[] = [];
  let cursor = 0;
  for (const token of tokens) {
    const start = cursor;
    while (cursor < sequence.tokenOfSubword.length && sequence.tokenOfSubword[cursor] === token.index) cursor++;
    if (cursor - start > body) splitTokens.push(token.index);
    for (let piece = start; piece < cursor || piece === start; piece += body) units.push({ token: token.index, start: piece, end: Math.min(cursor, piece + body) });
  }

  const windows: SubwordWindow[] = [];
  let first = 0;
  while (first < units.length) {
    let last = first;
    let used = 0;
    while (last < units.length && used + (units[last].end - units[last].start) <= body) {
      used += units[last].end - units[last].start;
      last++;
    }
    const ids = [special.bos];
    const pieces = ['<s>'];
    const owner = [-1];
    for (let u = first; u < last; u++) {
      for (let s = units[u].start; s < units[u].end; s++) {
        ids.push(sequence.ids[s]);
        pieces.push(sequence.pieces[s]);
        owner.push(sequence.tokenOfSubword[s]);
      }
    }
    ids.push(special.eos);
    pieces.push('</s>');
    owner.push(-1);
    windows.push({ tokenStart: units[first].token, tokenEnd: units[last - 1].token + 1, ids, pieces, tokenOfSubword: Int32Array.from(owner) });
    first = last;
  }
  return { windows, splitTokens };
}
