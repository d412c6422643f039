import type { SubwordSequence, SpecialTokenIds } from './tokenizer';
import type { CodeToken, SubwordWindow, SyntaxTree } from './types';

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
 * `</s>`, so no part of a long file is dropped. Windows hold whole code tokens; a single code token
 * with more subwords than a window holds is cut into window-sized pieces of its subwords (reported
 * in `splitTokens`); only then do two windows share a token.
 *
 * With the syntax tree, a window ends where the shallowest syntax node starts among the cut points
 * in the second half of what fits (a top-level statement or function where there is one), not
 * wherever the window fills up: an edit inside one function then leaves the other windows' cuts,
 * and so their subwords, as they were, unless the edited window overflows. Without it, windows
 * are filled greedily. `starts` (code-token indices, e.g. a previous plan's window starts) are cuts
 * kept wherever the run up to the next one fits in a window.
 */
export function planWindows(
  sequence: SubwordSequence,
  tokens: readonly CodeToken[],
  maxPositions: number,
  special: SpecialTokenIds,
  tree?: SyntaxTree,
  starts?: ReadonlySet<number>,
): WindowPlan {
  const body = maxPositions - 2;
  if (body < 1) throw new Error(`maxPositions ${maxPositions} leaves no room for code between <s> and </s>.`);
  const units: Unit[] = [];
  const splitTokens: number[] = [];
  let cursor = 0;
  for (const token of tokens) {
    const start = cursor;
    while (cursor < sequence.tokenOfSubword.length && sequence.tokenOfSubword[cursor] === token.index) cursor++;
    if (cursor - start > body) splitTokens.push(token.index);
    for (let piece = start; piece < cursor || piece === start; piece += body)
      units.push({ token: token.index, start: piece, end: Math.min(cursor, piece + body) });
  }
  const depth = tree ? startDepths(tree, tokens) : undefined;
  // A cut before unit u: the depth of the shallowest node starting at its token; a cut inside a token is the worst.
  const cutCost = (u: number) => (units[u].token === units[u - 1].token ? Infinity : depth ? depth[units[u].token] : 0);

  const windows: SubwordWindow[] = [];
  let first = 0;
  while (first < units.length) {
    let last = first;
    let used = 0;
    while (last < units.length && used + (units[last].end - units[last].start) <= body) {
      used += units[last].end - units[last].start;
      last++;
      if (starts?.has(units[last]?.token) && units[last].token !== units[last - 1].token) break;
    }
    const anchored =
      last < units.length && starts?.has(units[last].token) && units[last].token !== units[last - 1].token;
    if (depth && !anchored && last < units.length && last - first > 1) {
      let best = last;
      let bestCost = cutCost(last);
      for (let u = last - 1; u > first + (last - first) / 2; u--) {
        const cost = cutCost(u);
        if (cost < bestCost) {
          best = u;
          bestCost = cost;
        }
      }
      last = best;
    }
    windows.push(windowOf(units, first, last, sequence, special));
    first = last;
  }
  return { windows, splitTokens };
}

function windowOf(
  units: readonly Unit[],
  first: number,
  last: number,
  sequence: SubwordSequence,
  special: SpecialTokenIds,
): SubwordWindow {
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
  return {
    tokenStart: units[first].token,
    tokenEnd: units[last - 1].token + 1,
    ids,
    pieces,
    tokenOfSubword: Int32Array.from(owner),
  };
}

/**
 * For each code token, the depth of the shallowest syntax node (root excluded) whose first code
 * token it is: 1 for the first token of a top-level statement, more inside it.
 */
export function startDepths(tree: SyntaxTree, tokens: readonly CodeToken[]): Int32Array {
  const depth = new Int32Array(tokens.length).fill(1 << 30);
  for (const node of tree.nodes) {
    if (node.parent < 0) continue;
    let low = 0;
    let high = tokens.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (tokens[mid].startIndex < node.startIndex) low = mid + 1;
      else high = mid;
    }
    if (low < tokens.length && tokens[low].startIndex < node.endIndex && node.depth < depth[low])
      depth[low] = node.depth;
  }
  return depth;
}
