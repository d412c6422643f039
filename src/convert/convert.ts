import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readTextSafely } from '../core/files';
import { type HfConfig, CheckpointWeights } from './architecture';
import { familyFor } from './architectures';
import { ConvertCancelledError, ConvertError } from './errors';
import { GraphBuilder } from './graph';
import { type ExternalDataChoice, writeOnnxModel, type WrittenModel } from './onnxFile';
import { type WeightPrecision, WeightStore } from './safetensors';
import { checkTokenizer, copyTokenizer, SPECIAL_TOKEN_TEXTS, type TokenizerFiles } from './tokenizerFiles';

/**
 * Converts a Hugging Face model folder (config.json, safetensors weights, tokenizer) into this
 * project's model layout — model.onnx with attentions and value norms, config.json, the tokenizer
 * files, manifest.json — without Python. Every check runs before anything is written; the model
 * is written under a temporary name and renamed at the end, so a failure or a cancellation leaves
 * the output folder as it was.
 */

export const LANGUAGES = ['python', 'java', 'javascript', 'go', 'ruby', 'php', 'typescript'];

export interface ConvertOptions {
  name?: string;
  displayName?: string;
  /** float16 keeps float16 checkpoints' weights as float16 in the file (half the size; computed in float32). */
  precision?: WeightPrecision;
  externalData?: ExternalDataChoice;
  /** The longest window the model allows (default: the config's; decoders at most 2,048 unless given). */
  maxPositions?: number;
  onProgress?: (progress: ConvertProgress) => void;
  /** Checked between blocks of the write; an aborted signal ends the conversion with ConvertCancelledError. */
  signal?: AbortSignal;
}

export type ConvertProgress =
  { stage: 'checking'; message: string } | { stage: 'writing'; written: number; total: number };

export interface ConvertSummary {
  out: string;
  modelType: string;
  family: string;
  /** A decoder (attention over j ≤ i). */
  causal: boolean;
  layers: number;
  heads: number;
  hiddenSize: number;
  tensors: number;
  written: WrittenModel;
  tokenizerBuilt: boolean;
}

export async function convertFolder(
  sourceDir: string,
  outDir: string,
  options: ConvertOptions = {},
): Promise<ConvertSummary> {
  const source = resolve(sourceDir);
  const out = resolve(outDir);
  const report = options.onProgress ?? (() => undefined);
  const shouldStop = () => {
    if (options.signal?.aborted) throw new ConvertCancelledError();
  };
  if (!existsSync(source) || !statSync(source).isDirectory())
    throw new ConvertError(
      `${source} is not a folder: give the Hugging Face model folder (config.json, safetensors, tokenizer).`,
    );
  if (existsSync(out) && !statSync(out).isDirectory())
    throw new ConvertError(`${out} is a file; the output must be a folder.`);
  if (source === out) throw new ConvertError('The output folder must differ from the Hugging Face folder.');
  const maxPositions = options.maxPositions;
  if (maxPositions !== undefined && !(Number.isSafeInteger(maxPositions) && maxPositions >= 3))
    throw new ConvertError(`The largest window must be a whole number of at least 3 subwords, not ${maxPositions}.`);
  const configFile = join(source, 'config.json');
  if (!existsSync(configFile))
    throw new ConvertError(`${source} has no config.json: it is not a Hugging Face model folder.`);
  const config = readConfig(configFile);
  const family = familyFor(config.model_type, configFile);
  report({ stage: 'checking', message: `${family.family} family (model_type ${String(config.model_type)})` });
  checkTokenizer(source);
  const store = WeightStore.open(source);
  try {
    report({ stage: 'checking', message: `${store.names.length} tensors in the safetensors weights` });
    const precision = options.precision ?? 'float32';
    const weights =
      CheckpointWeights.locate(store, family.anchorTensor, precision) ?? new CheckpointWeights(store, '', precision);
    const plan = family.plan(config, weights, { maxPositions });
    const graph = new GraphBuilder(String(config.model_type));
    plan.build(graph);
    shouldStop();
    mkdirSync(out, { recursive: true });
    const written = await writeOnnxModel(graph, join(out, 'model.onnx'), {
      externalData: options.externalData,
      onBytes: (bytes, total) => report({ stage: 'writing', written: bytes, total }),
      shouldStop,
    });
    const tokenizer = copyTokenizer(source, out, plan.manifest.causal === true);
    writeFileSync(join(out, 'config.json'), JSON.stringify(config, null, 2));
    const name = options.name ?? basename(out);
    const { addBos: familyAddsBos, causal, ...shape } = plan.manifest;
    shape.maxPositions = Math.min(shape.maxPositions, maxPositions ?? Infinity);
    const decoder = causal
      ? {
          causal: true,
          tokenization: 'raw-text',
          addBos: familyAddsBos === true || tokenizer.prefixToken !== undefined,
        }
      : {};
    const manifest = {
      name,
      displayName: options.displayName ?? name,
      ...shape,
      ...decoder,
      checkpoint: 'external',
      languages: LANGUAGES,
      specialTokens: causal ? decoderSpecialTokens(config, tokenizer) : encoderSpecialTokens(config, tokenizer),
      inputs: ['input_ids', 'attention_mask'],
      outputs: {
        lastHiddenState: 'last_hidden_state',
        attentions: 'attentions',
        valueNorms: 'value_norms',
        valueGram: 'value_gram',
      },
      conversion: {
        tool: 'code-attention convert',
        source: basename(source),
        modelType: config.model_type,
        weights: storedPrecisions(store),
        storedAs: precision,
        externalData: written.externalData?.file ?? null,
      },
    };
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
    return {
      out,
      modelType: String(config.model_type),
      family: family.family,
      causal: causal === true,
      layers: plan.manifest.layers,
      heads: plan.manifest.heads,
      hiddenSize: plan.manifest.hiddenSize,
      tensors: graph.initializers.length,
      written,
      tokenizerBuilt: tokenizer.built,
    };
  } finally {
    store.close();
  }
}

function readConfig(file: string): HfConfig {
  let value: unknown;
  try {
    value = JSON.parse(readTextSafely(file, { maxBytes: 16 * 2 ** 20 }));
  } catch (error) {
    throw new ConvertError(`${file} cannot be read as JSON (${(error as Error).message}).`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConvertError(`${file} must hold a JSON object.`);
  return value as HfConfig;
}

function encoderSpecialTokens(config: HfConfig, tokenizer: TokenizerFiles): Record<string, number> {
  return Object.fromEntries(
    Object.entries(SPECIAL_TOKEN_TEXTS).map(([key, text]) => [
      key,
      tokenizer.vocabulary.get(text) ?? fallbackId(key, config),
    ]),
  );
}

/**
 * A decoder's bos, eos, pad and unk: the config's ids first (GPT-2 and StarCoder name
 * <|endoftext|> for both bos and eos), then the tokenizer's; no mask token, and eos pads when there
 * is no pad id (the attention mask is what keeps padding out).
 */
function decoderSpecialTokens(config: HfConfig, tokenizer: TokenizerFiles): Record<string, number> {
  const configId = (key: string): number | undefined => {
    const value = config[`${key}_token_id`];
    const first: unknown = Array.isArray(value) ? value[0] : value;
    return typeof first === 'number' && Number.isSafeInteger(first) && first >= 0 ? first : undefined;
  };
  const vocabularyId = (...texts: string[]) =>
    texts.map((text) => tokenizer.vocabulary.get(text)).find((id) => id !== undefined);
  const prefix = tokenizer.prefixToken === undefined ? undefined : vocabularyId(tokenizer.prefixToken);
  const bos = prefix ?? configId('bos') ?? vocabularyId('<s>', '<|endoftext|>') ?? 0;
  const eos = configId('eos') ?? vocabularyId('</s>', '<|endoftext|>') ?? bos;
  const pad = configId('pad') ?? vocabularyId('<pad>') ?? eos;
  const unk = vocabularyId('<unk>');
  return unk === undefined ? { bos, eos, pad } : { bos, eos, pad, unk };
}

/** The config's id for a special token the tokenizer does not name (RoBERTa's numbering otherwise). */
function fallbackId(key: string, config: HfConfig): number {
  const fromConfig = config[`${key}_token_id`];
  if (typeof fromConfig === 'number') return fromConfig;
  return { bos: 0, pad: 1, eos: 2, unk: 3, mask: 4 }[key] ?? 0;
}

function storedPrecisions(store: WeightStore): string[] {
  return [...new Set(store.names.map((name) => store.require(name).dtype))].sort();
}

/** Whether a folder looks like a Hugging Face model folder (for pickers). */
export function looksLikeHuggingFaceFolder(folder: string): boolean {
  try {
    const names = readdirSync(folder);
    return (
      names.includes('config.json') &&
      names.some((name) => name.endsWith('.safetensors') || name === 'pytorch_model.bin')
    );
  } catch {
    return false;
  }
}
