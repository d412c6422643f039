import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { CodeToken } from './types';

export interface SpecialTokenIds {
  bos: number;
  pad: number;
  eos: number;
  unk: number;
  mask: number;
}

/** Subwords of a whole file before windowing: `tokenOfSubword[i]` is a code-token index. */
export interface SubwordSequence {
  ids: number[];
  pieces: string[];
  tokenOfSubword: number[];
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
  ) {}

  static load(modelDir: string, special: SpecialTokenIds): CodeTokenizer {
    const json = JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8'));
    let config: object = {};
    try {
      config = JSON.parse(readFileSync(join(modelDir, 'tokenizer_config.json'), 'utf8'));
    } catch {
      // tokenizer_config.json is optional: tokenizer.json alone defines the encoding.
    }
    return new CodeTokenizer(new Tokenizer(json, config), special);
  }

  /** Encodes plain text without special tokens. */
  encodeText(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  private encodePiece(text: string): { ids: number[]; pieces: string[] } {
    let cached = this.cache.get(text);
    if (!cached) {
      const encoding = this.tokenizer.encode(text, { add_special_tokens: false });
      cached = { ids: encoding.ids, pieces: encoding.tokens };
      if (this.cache.size < 50_000) this.cache.set(text, cached);
    }
    return cached;
  }

  encodeTokens(tokens: readonly CodeToken[]): SubwordSequence {
    const ids: number[] = [];
    const pieces: string[] = [];
    const tokenOfSubword: number[] = [];
    tokens.forEach((token, position) => {
      const encoded = this.encodePiece(position === 0 ? token.text : ' ' + token.text);
      for (let k = 0; k < encoded.ids.length; k++) {
        ids.push(encoded.ids[k]);
        pieces.push(encoded.pieces[k]);
        tokenOfSubword.push(token.index);
      }
    });
    return { ids, pieces, tokenOfSubword };
  }
}

export { planWindows, type WindowPlan } from './windows';
