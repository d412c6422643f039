import { runSteps, type Steps } from './slices';
import type { CodeTokenizer, SubwordSequence } from './tokenizer';
import type { CodeToken } from './types';

/** Subwords assigned per step of {@link rawTextSteps}. */
const SUBWORDS_PER_STEP = 4096;

/**
 * A decoder's subwords of a file: the text encoded as it is (newlines and indentation included), so
 * `tokenOfSubword` is −1 for subwords of no code token (whitespace, and comments unless they are kept).
 */
export interface RawTextSequence extends SubwordSequence {
  /** Subwords whose bytes overlap two or more code tokens (`):`); each belongs to the first of them. */
  spanningSubwords: number;
  /**
   * True when the pieces' bytes did not add up to the text's (a tokenizer that is neither byte-level
   * nor SentencePiece with byte fallback): subwords were then placed by their share of the pieces' length.
   */
  approximate: boolean;
}

/** Bytes of a byte-level BPE piece: one character per byte (GPT-2's byte-to-character table). */
const byteLevelWidth = (piece: string) => piece.length;

/** Bytes of a SentencePiece piece: `▁` is a space, `<0x0A>` one byte (byte fallback). */
const sentencePieceWidth = (piece: string) =>
  /^<0x[0-9A-Fa-f]{2}>$/.test(piece) ? 1 : Buffer.byteLength(piece.replace(/\u2581/g, ' '), 'utf8');

export function encodeRawText(tokenizer: CodeTokenizer, source: string, tokens: readonly CodeToken[]): RawTextSequence {
  return runSteps(rawTextSteps(tokenizer, source, tokens));
}

/**
 * Encodes `source` in one pass (a decoder reads the file as it is; cutting it into chunks would change
 * how whitespace merges) and gives each subword the code token its bytes overlap, the first one when it
 * overlaps several, none (−1) when it overlaps none. Byte offsets come from the pieces' widths: a
 * byte-level piece holds one character per byte; a SentencePiece tokenizer may add one leading `▁`.
 */
export function* rawTextSteps(
  tokenizer: CodeTokenizer,
  source: string,
  tokens: readonly CodeToken[],
): Steps<RawTextSequence> {
  const { ids, pieces } = tokenizer.encodeWhole(source);
  yield;
  const textBytes = Buffer.byteLength(source, 'utf8');
  const placement = placePieces(pieces, textBytes);
  const tokenOfSubword = new Array<number>(ids.length);
  let spanningSubwords = 0;
  let next = 0;
  let byte = placement.start;
  for (let k = 0; k < ids.length; k++) {
    if (k % SUBWORDS_PER_STEP === SUBWORDS_PER_STEP - 1) yield;
    const start = Math.max(0, Math.round(byte));
    byte += placement.width(pieces[k]) * placement.scale;
    const end = Math.round(byte);
    while (next < tokens.length && tokens[next].endByte <= start) next++;
    if (next < tokens.length && tokens[next].startByte < end && end > start) {
      tokenOfSubword[k] = tokens[next].index;
      if (next + 1 < tokens.length && tokens[next + 1].startByte < end && tokens[next + 1].endByte > start)
        spanningSubwords++;
    } else tokenOfSubword[k] = -1;
  }
  return { ids, pieces, tokenOfSubword, spanningSubwords, approximate: placement.scale !== 1 };
}

/** Which width rule makes the pieces add up to the text, where the first piece starts, and a fallback scale. */
function placePieces(
  pieces: readonly string[],
  textBytes: number,
): { width: (piece: string) => number; start: number; scale: number } {
  const sum = (width: (piece: string) => number) => pieces.reduce((total, piece) => total + width(piece), 0);
  if (sum(byteLevelWidth) === textBytes) return { width: byteLevelWidth, start: 0, scale: 1 };
  const sentencePiece = sum(sentencePieceWidth);
  if (sentencePiece === textBytes) return { width: sentencePieceWidth, start: 0, scale: 1 };
  // Metaspace with a prepended `▁`: the first piece's leading space is not in the text.
  if (sentencePiece === textBytes + 1 && pieces[0]?.startsWith('\u2581'))
    return { width: sentencePieceWidth, start: -1, scale: 1 };
  const total = sum(byteLevelWidth);
  return { width: byteLevelWidth, start: 0, scale: total > 0 ? textBytes / total : 1 };
}
