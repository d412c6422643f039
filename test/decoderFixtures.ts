import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { CodeToken, SubwordWindow, Tensor } from '../src/core/types';
import { ROOT } from './helpers';

/** test/fixtures/decoders: tiny random-weight decoders and their PyTorch reference outputs (see its README). */
export const DECODER_FIXTURES = join(ROOT, 'test', 'fixtures', 'decoders');
export const DECODER_FIXTURE_NAMES = [
  'tiny_starcoder_py',
  'gpt_bigcode-multi-head',
  'codeparrot-small',
  'qwen2.5-coder-0.5b',
  'deepseek-coder-1.3b-base',
] as const;

export interface ReferenceInput {
  language: 'python' | 'java';
  text: string;
  ids: number[];
  bosFirst: boolean;
}

export interface DecoderReference {
  inputs: ReferenceInput[];
  /** `input{k}.attentions` [layers, heads, n, n], `.value_norms`, `.hidden_states`, `.last_hidden_state`. */
  tensors: Map<string, Tensor>;
  ids: Map<string, number[]>;
}

/** Reads a safetensors file's F32 and I64 tensors (the test's own reader, for the fixtures only). */
export function readSafetensorsForTest(path: string): { floats: Map<string, Tensor>; integers: Map<string, number[]> } {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const start = 8 + headerLength;
  const floats = new Map<string, Tensor>();
  const integers = new Map<string, number[]>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = entry.data_offsets;
    const slice = bytes.subarray(start + begin, start + end);
    const copy = new Uint8Array(slice).buffer;
    if (entry.dtype === 'F32') floats.set(name, { data: new Float32Array(copy), shape: entry.shape });
    else if (entry.dtype === 'I64') integers.set(name, Array.from(new BigInt64Array(copy), Number));
    else throw new Error(`${path}: ${name} is ${entry.dtype}, this reader takes F32 and I64`);
  }
  return { floats, integers };
}

export function loadDecoderReference(name: string): DecoderReference {
  const folder = join(DECODER_FIXTURES, name);
  const { inputs } = JSON.parse(readFileSync(join(folder, 'reference.json'), 'utf8')) as { inputs: ReferenceInput[] };
  const { floats, integers } = readSafetensorsForTest(join(folder, 'reference.safetensors'));
  return { inputs, tensors: floats, ids: integers };
}

export function fixtureTokenizer(name: string): Tokenizer {
  const json = JSON.parse(readFileSync(join(DECODER_FIXTURES, name, 'tokenizer.json'), 'utf8')) as object;
  return new Tokenizer(json, {});
}

/**
 * A decoder reads the raw text, so its subwords do not follow code-token boundaries: subword s goes
 * to the code token holding its first non-whitespace character, −1 when it has none (whitespace,
 * special tokens). For ASCII text, as in the fixtures, each piece decodes to its own characters.
 */
export function rawTextWindow(
  tokenizer: Tokenizer,
  ids: number[],
  text: string,
  tokens: readonly CodeToken[],
): SubwordWindow {
  const tokenOfSubword = new Int32Array(ids.length).fill(-1);
  const pieces: string[] = [];
  let offset = 0;
  ids.forEach((id, s) => {
    const piece = tokenizer.decode([id], { skip_special_tokens: true });
    pieces.push(piece);
    if (piece && text.startsWith(piece, offset)) {
      const first = piece.search(/\S/);
      if (first >= 0) {
        const at = offset + first;
        const owner = tokens.find((token) => token.startIndex <= at && at < token.endIndex);
        tokenOfSubword[s] = owner ? owner.index : -1;
      }
      offset += piece.length;
    } else if (piece) {
      throw new Error(`subword ${s} (${JSON.stringify(piece)}) does not continue the text at ${offset}`);
    }
  });
  if (offset !== text.length) throw new Error(`the subwords cover ${offset} of ${text.length} characters`);
  return { tokenStart: 0, tokenEnd: tokens.length, ids, pieces, tokenOfSubword };
}
