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

/** The share of a decoder's context given to the prefix of every window after the first. */
export const DECODER_PREFIX_SHARE = 0.25;

/**
 * Decoder windows (docs/causal.md). A decoder's position sees only what precedes it, so a window's
 * first tokens have almost no context. Each window after the first therefore starts with a
 * **prefix**: the whole code tokens just before it, up to {@link DECODER_PREFIX_SHARE} of the
 * context, fed to the model but not scored (`scoredStart` marks where scoring starts; the prefix
 * was scored in the previous window, where it had more context). Every code token is scored in
 * exactly one window, the one where it has the longest prefix, except a token with more subwords
 * than a window holds (`splitTokens`), whose pieces are scored where they lie.
 *
 * Subwords of no code token (whitespace in raw-text encoding, `tokenOfSubword` −1) go with the
 * token after them. Windows end at the shallowest cut point in the second half of what fits, as in
 * {@link planWindows}, and `starts` anchors scored starts the same way. `addBos` puts `bos` first;
 * decoders have no end token. Windows cover the code tokens contiguously: a token without subwords
 * of its own (`:` inside the subword `):`) belongs to the window of the subwords before it.
 */
export function planDecoderWindows(
  sequence: SubwordSequence,
  tokens: readonly CodeToken[],
  maxPositions: number,
  special: SpecialTokenIds,
  addBos: boolean,
  tree?: SyntaxTree,
  starts?: ReadonlySet<number>,
): WindowPlan {
  const body = maxPositions - (addBos ? 1 : 0);
  if (body < 2) throw new Error(`maxPositions ${maxPositions} leaves no room for code in a decoder window.`);
  const prefixBudget = Math.floor(maxPositions * DECODER_PREFIX_SHARE);
  const { units, splitTokens } = decoderUnits(sequence, body);
  const size = (u: number) => units[u].end - units[u].start;
  const depth = tree ? startDepths(tree, tokens) : undefined;
  const newToken = (u: number) => units[u].token !== units[u - 1].token;
  const cutCost = (u: number) => (!newToken(u) ? Infinity : depth ? depth[units[u].token] : 0);
  const anchoredAt = (u: number) => u < units.length && newToken(u) && starts?.has(units[u].token) === true;

  const windows: SubwordWindow[] = [];
  let first = 0;
  let scoredStart = 0;
  while (first < units.length) {
    let prefixFirst = first;
    let prefixSize = 0;
    if (first > 0) {
      while (prefixFirst > 0 && prefixSize + size(prefixFirst - 1) <= prefixBudget) prefixSize += size(--prefixFirst);
      // A prefix starts with a whole code token.
      while (prefixFirst < first && prefixFirst > 0 && !newToken(prefixFirst)) prefixSize -= size(prefixFirst++);
      while (prefixFirst < first && prefixSize + size(first) > body) prefixSize -= size(prefixFirst++);
    }
    let last = first;
    let used = prefixSize;
    while (last < units.length && used + size(last) <= body) {
      used += size(last++);
      if (anchoredAt(last)) break;
    }
    if (depth && !anchoredAt(last) && last < units.length && last - first > 1) {
      let best = last;
      let bestCost = cutCost(last);
      for (let u = last - 1; u > first + (last - first) / 2; u--) {
        if (cutCost(u) < bestCost) {
          best = u;
          bestCost = cutCost(u);
        }
      }
      last = best;
    }
    const tokenStart = first === 0 ? 0 : units[prefixFirst].token;
    const tokenEnd = last < units.length ? Math.max(units[last - 1].token + 1, units[last].token) : tokens.length;
    const ids: number[] = addBos ? [special.bos] : [];
    const pieces: string[] = addBos ? ['<s>'] : [];
    const owner: number[] = addBos ? [-1] : [];
    for (let u = prefixFirst; u < last; u++) {
      for (let s = units[u].start; s < units[u].end; s++) {
        ids.push(sequence.ids[s]);
        pieces.push(sequence.pieces[s]);
        owner.push(sequence.tokenOfSubword[s]);
      }
    }
    const scored = Math.min(scoredStart, units[first].token);
    windows.push({ tokenStart, tokenEnd, ids, pieces, tokenOfSubword: Int32Array.from(owner), scoredStart: scored });
    scoredStart = tokenEnd;
    first = last;
  }
  return { windows, splitTokens };
}

/**
 * Runs of subwords placed together in decoder windows: a code token's subwords with the subwords of
 * no token before it, cut into pieces of at most `body`; subwords of no token after the last token
 * go with it.
 */
function decoderUnits(sequence: SubwordSequence, body: number): { units: Unit[]; splitTokens: number[] } {
  const owners = sequence.tokenOfSubword;
  const runs: Unit[] = [];
  let start = 0;
  for (let s = 0; s < owners.length; s++) {
    if (owners[s] < 0) continue;
    let end = s + 1;
    while (end < owners.length && owners[end] === owners[s]) end++;
    runs.push({ token: owners[s], start, end });
    start = end;
    s = end - 1;
  }
  if (runs.length && start < owners.length) runs[runs.length - 1].end = owners.length;
  const units: Unit[] = [];
  const splitTokens: number[] = [];
  for (const run of runs) {
    if (run.end - run.start > body && splitTokens[splitTokens.length - 1] !== run.token) splitTokens.push(run.token);
    for (let piece = run.start; piece < run.end; piece += body)
      units.push({ token: run.token, start: piece, end: Math.min(run.end, piece + body) });
  }
  return { units, splitTokens };
}
