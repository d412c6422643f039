import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { readTextSafely } from './files';
import { runSteps, type Steps } from './slices';
import type { CodeToken } from './types';

export interface SpecialTokenIds {
  bos: number;
  pad: number;
  eos: number;
  unk: number;
  mask: number;
}

/** Tokens encoded between two points where encoding may pause. */
export const TOKENS_PER_STEP = 256;

/** Subwords of a whole file before windowing: `tokenOfSubword[i]` is a code-token index. */
export interface SubwordSequence {
  ids: number[];
  pieces: string[];
  tokenOfSubword: number[];
}

/** The largest tokenizer.json read (CodeBERT's is about 2 MB). */
export const MAX_TOKENIZER_BYTES = 64 * 2 ** 20;

/** The largest id in tokenizer.json's vocabulary (a BPE/WordPiece map or a Unigram list) and added tokens. */
function largestTokenId(json: { model?: { vocab?: unknown }; added_tokens?: unknown }): number {
  let largest = -1;
  const vocab = json.model?.vocab;
  const ids: unknown[] = [];
  if (Array.isArray(vocab)) ids.push(vocab.length - 1);
  else if (vocab && typeof vocab === 'object') ids.push(...Object.values(vocab as Record<string, unknown>));
  if (Array.isArray(json.added_tokens)) {
    for (const token of json.added_tokens as unknown[]) {
      if (token && typeof token === 'object' && 'id' in token) ids.push(token.id);
    }
  }
  for (const id of ids) if (typeof id === 'number' && id > largest) largest = id;
  return largest;
}

/**
 * Tokenizes code the way CodeBERT, GraphCodeBERT and CAT-probing feed it: code token by code
 * token, with a leading space before every token but the first, so each subword belongs to
 * exactly one code token.
 */
export class CodeTokenizer {
  private readonly cache = new Map<string, { ids: number[]; pieces: string[] }>();

  constructor(
    private readonly tokenizer: Tokenizer,
    readonly special: SpecialTokenIds,
    /** The largest id the tokenizer can produce (vocabulary and added tokens); -1 when unknown. */
    readonly largestId = -1,
  ) {}

  static load(modelDir: string, special: SpecialTokenIds): CodeTokenizer {
    const read = (name: string): unknown =>
      JSON.parse(readTextSafely(join(modelDir, name), { maxBytes: MAX_TOKENIZER_BYTES, label: name }));
    const json = read('tokenizer.json');
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new Error('tokenizer.json does not hold a JSON object');
    }
    let config: object = {};
    try {
      const parsed = read('tokenizer_config.json');
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) config = parsed;
    } catch {
      // tokenizer_config.json is optional: tokenizer.json alone defines the encoding.
    }
    return new CodeTokenizer(new Tokenizer(json, config), special, largestTokenId(json));
  }

  /** Encodes plain text without special tokens. */
  encodeText(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** The text of subword ids, as the tokenizer's decoder gives it. */
  decodeIds(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: false });
  }

  /** Subword ids and pieces of a whole text, not cached (a decoder's file, encoded as it is). */
  encodeWhole(text: string): { ids: number[]; pieces: string[] } {
    const encoding = this.tokenizer.encode(text, { add_special_tokens: false });
    return { ids: encoding.ids, pieces: encoding.tokens };
  }

  /** Subword ids and pieces of one chunk of text (cached). */
  encodeChunk(text: string): { ids: number[]; pieces: string[] } {
    let cached = this.cache.get(text);
    if (!cached) {
      const encoding = this.tokenizer.encode(text, { add_special_tokens: false });
      cached = { ids: encoding.ids, pieces: encoding.tokens };
      if (this.cache.size < 50_000) this.cache.set(text, cached);
    }
    return cached;
  }

  encodeTokens(tokens: readonly CodeToken[]): SubwordSequence {
    return runSteps(this.encodeTokenSteps(tokens));
  }

  /** {@link encodeTokens} as steps of {@link TOKENS_PER_STEP} tokens (see slices.ts). */
  *encodeTokenSteps(tokens: readonly CodeToken[]): Steps<SubwordSequence> {
    const ids: number[] = [];
    const pieces: string[] = [];
    const tokenOfSubword: number[] = [];
    for (const [position, token] of tokens.entries()) {
      if (position % TOKENS_PER_STEP === TOKENS_PER_STEP - 1) yield;
      const encoded = this.encodeChunk(position === 0 ? token.text : ' ' + token.text);
      for (let k = 0; k < encoded.ids.length; k++) {
        ids.push(encoded.ids[k]);
        pieces.push(encoded.pieces[k]);
        tokenOfSubword.push(token.index);
      }
    }
    return { ids, pieces, tokenOfSubword };
  }
}
