import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTextSafely } from '../core/files';
import { ConvertError } from './errors';

/**
 * The tokenizer files of a Hugging Face folder, copied into the model folder. A folder with only
 * vocab.json and merges.txt (codebert-base ships so) gets a tokenizer.json built from them: the
 * byte-level BPE with RoBERTa's post-processor that Hugging Face's RobertaTokenizerFast makes.
 */

export const SPECIAL_TOKEN_TEXTS = { bos: '<s>', pad: '<pad>', eos: '</s>', unk: '<unk>', mask: '<mask>' } as const;
const COPIED = ['tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json'];
const MAX_TOKENIZER_BYTES = 256 * 2 ** 20;

export interface TokenizerFiles {
  /** Token text → id, for the special-token ids of the manifest. */
  vocabulary: Map<string, number>;
  /** Whether tokenizer.json was built from vocab.json and merges.txt. */
  built: boolean;
  /** The special token tokenizer.json's post-processor puts before a single sequence, if any. */
  prefixToken?: string;
}

export function checkTokenizer(source: string): void {
  if (existsSync(join(source, 'tokenizer.json'))) return;
  if (existsSync(join(source, 'vocab.json')) && existsSync(join(source, 'merges.txt'))) return;
  throw new ConvertError(
    `${source} has no tokenizer: it needs tokenizer.json, or vocab.json and merges.txt. ` +
      "Copy the model's tokenizer files into it.",
  );
}

/** `decoder`: a tokenizer.json built from vocab.json and merges.txt adds no special tokens (GPT-2's). */
export function copyTokenizer(source: string, out: string, decoder = false): TokenizerFiles {
  const readText = (file: string, maxBytes: number) => readTextSafely(file, { maxBytes });
  for (const name of COPIED) if (existsSync(join(source, name))) copyFileSync(join(source, name), join(out, name));
  const vocabulary = new Map<string, number>();
  const parse = (file: string): unknown => {
    try {
      return JSON.parse(readText(file, MAX_TOKENIZER_BYTES));
    } catch (error) {
      throw new ConvertError(`${file} cannot be read as JSON (${(error as Error).message}).`);
    }
  };
  let built = false;
  let prefixToken: string | undefined;
  if (existsSync(join(source, 'vocab.json'))) {
    const vocab = parse(join(source, 'vocab.json')) as Record<string, number>;
    for (const [text, id] of Object.entries(vocab)) if (typeof id === 'number') vocabulary.set(text, id);
  }
  if (existsSync(join(source, 'tokenizer.json'))) {
    const tokenizer = parse(join(source, 'tokenizer.json')) as {
      model?: { vocab?: Record<string, number> };
      added_tokens?: Array<{ id?: number; content?: string }>;
      post_processor?: unknown;
    };
    prefixToken = leadingSpecialToken(tokenizer.post_processor);
    for (const [text, id] of Object.entries(tokenizer.model?.vocab ?? {}))
      if (typeof id === 'number' && !vocabulary.has(text)) vocabulary.set(text, id);
    for (const token of tokenizer.added_tokens ?? [])
      if (typeof token.content === 'string' && typeof token.id === 'number') vocabulary.set(token.content, token.id);
  } else {
    const merges = readText(join(source, 'merges.txt'), MAX_TOKENIZER_BYTES)
      .split(/\r?\n/)
      .filter((line) => line && !line.startsWith('#version'));
    const json = robertaTokenizerJson(vocabulary, merges);
    if (decoder) json.post_processor = null;
    writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(json));
    built = true;
    prefixToken = decoder ? undefined : SPECIAL_TOKEN_TEXTS.bos;
  }
  return { vocabulary, built, prefixToken };
}

/**
 * The token a post-processor adds first: TemplateProcessing's leading SpecialToken in `single`,
 * RobertaProcessing's and BertProcessing's cls, the first such of a Sequence of processors.
 */
function leadingSpecialToken(processor: unknown): string | undefined {
  if (typeof processor !== 'object' || processor === null) return undefined;
  const { type, single, cls, processors } = processor as Record<string, unknown>;
  if (type === 'TemplateProcessing' && Array.isArray(single)) {
    const first = (single[0] as { SpecialToken?: { id?: unknown } } | undefined)?.SpecialToken?.id;
    return typeof first === 'string' ? first : undefined;
  }
  if ((type === 'RobertaProcessing' || type === 'BertProcessing') && Array.isArray(cls))
    return typeof cls[0] === 'string' ? cls[0] : undefined;
  if (type === 'Sequence' && Array.isArray(processors))
    return processors.map(leadingSpecialToken).find((token) => token !== undefined);
  return undefined;
}

function robertaTokenizerJson(vocabulary: Map<string, number>, merges: string[]): Record<string, unknown> {
  const added = Object.values(SPECIAL_TOKEN_TEXTS)
    .filter((text) => vocabulary.has(text))
    .map((text) => ({
      id: vocabulary.get(text),
      content: text,
      single_word: false,
      lstrip: text === SPECIAL_TOKEN_TEXTS.mask,
      rstrip: false,
      normalized: false,
      special: true,
    }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: {
      type: 'RobertaProcessing',
      sep: [SPECIAL_TOKEN_TEXTS.eos, vocabulary.get(SPECIAL_TOKEN_TEXTS.eos) ?? 2],
      cls: [SPECIAL_TOKEN_TEXTS.bos, vocabulary.get(SPECIAL_TOKEN_TEXTS.bos) ?? 0],
      trim_offsets: true,
      add_prefix_space: false,
    },
    decoder: { ...byteLevel, add_prefix_space: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocabulary),
      merges,
    },
  };
}
