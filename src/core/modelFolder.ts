import { existsSync } from 'node:fs';
import { FileRefusedError, readTextSafely } from './files';
import type { EmbeddingTables } from './onnxGraph';
import type { SpecialTokenIds } from './tokenizer';

/**
 * What a model folder declares (manifest.json, config.json) and how it is checked against its
 * model.onnx, before and after onnxruntime opens it: each disagreement becomes one named problem.
 */

/** A model folder that cannot be used, with a message that says what is wrong and what to do. */
export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

export const REEXPORT = 'Export the checkpoint again with models/export_onnx.py CHECKPOINT_DIR OUT_DIR.';

export interface Manifest {
  name?: string;
  displayName?: string;
  family?: string;
  checkpoint?: string;
  maxPositions?: number;
  layers?: number;
  heads?: number;
  hiddenSize?: number;
  vocabSize?: number;
  specialTokens?: Partial<SpecialTokenIds>;
  outputs?: { attentions?: string; valueNorms?: string; valueGram?: string; lastHiddenState?: string };
  /** Decoder fields (docs/causal.md): causal attention, raw-text tokenization, `bos` first in each window. */
  causal?: boolean;
  tokenization?: 'raw-text' | 'code-tokens';
  addBos?: boolean;
}

/** The first line of an error's message, at most 200 characters (onnxruntime's can span pages). */
export function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .split('\n')[0]
    .slice(0, 200);
}

/** The largest manifest.json or config.json read. */
const MAX_JSON_BYTES = 16 * 2 ** 20;

export function readJson<T extends object>(file: string, fallback?: T): T {
  if (!existsSync(file)) {
    if (fallback !== undefined) return fallback;
    throw new ModelLoadError(`${file} is missing. ${REEXPORT}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(readTextSafely(file, { maxBytes: MAX_JSON_BYTES }));
  } catch (error) {
    if (error instanceof FileRefusedError) throw new ModelLoadError(`${error.message} ${REEXPORT}`);
    throw new ModelLoadError(`${file} is not valid JSON (${firstLine(error)}). ${REEXPORT}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const holds = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new ModelLoadError(`${file} must hold a JSON object; it holds ${holds}. ${REEXPORT}`);
  }
  return value as T;
}

/** A number the folder declares, with every file and key that declares it. */
export interface DeclaredValue {
  value?: number;
  sources: Array<{ where: string; value: number }>;
}

export interface DeclaredShape {
  layers: DeclaredValue;
  heads: DeclaredValue;
  hiddenSize: DeclaredValue;
  vocabSize: DeclaredValue;
  /** Subwords per window, <s> and </s> included. */
  maxPositions: number;
  maxPositionsFrom: string;
  /** config.json's max_position_embeddings, when present. */
  positionEmbeddings?: number;
  /** Rows of the position table before the first position (RoBERTa numbers positions from padding_idx + 1 = 2). */
  positionOffset: number;
  specialTokens: Partial<SpecialTokenIds>;
}

export const SPECIAL_NAMES = ['bos', 'pad', 'eos', 'unk', 'mask'] as const;

export function mismatch(folder: string, problems: readonly string[]): ModelLoadError {
  return new ModelLoadError(
    `Model folder ${folder} does not match its model.onnx: ${problems.join('; ')}. ` +
      `Correct these entries, or ${REEXPORT.charAt(0).toLowerCase()}${REEXPORT.slice(1)}`,
  );
}

/** What manifest.json and config.json declare, each number checked to be a whole number in range. */
export function declaredShape(folder: string, manifest: Manifest, config: Record<string, unknown>): DeclaredShape {
  const problems: string[] = [];
  const whole = (where: string, value: unknown, minimum: number): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= minimum) return value;
    problems.push(`${where} is ${JSON.stringify(value) ?? typeof value}; it must be a whole number ≥ ${minimum}`);
    return undefined;
  };
  const declared = (entries: Array<[string, unknown]>, minimum = 1): DeclaredValue => {
    const sources: DeclaredValue['sources'] = [];
    for (const [where, raw] of entries) {
      const value = whole(where, raw, minimum);
      if (value !== undefined) sources.push({ where, value });
    }
    return { value: sources[0]?.value, sources };
  };
  for (const key of ['name', 'displayName', 'family', 'checkpoint'] as const) {
    if (manifest[key] !== undefined && typeof manifest[key] !== 'string')
      problems.push(`manifest.json ${key} is ${JSON.stringify(manifest[key])}; it must be a string`);
  }
  const family = typeof manifest.family === 'string' ? manifest.family : 'roberta';
  const positionOffset = family === 'roberta' ? 2 : 0;
  const shape: DeclaredShape = {
    layers: declared([
      ['manifest.json layers', manifest.layers],
      ['config.json num_hidden_layers', config.num_hidden_layers],
    ]),
    heads: declared([
      ['manifest.json heads', manifest.heads],
      ['config.json num_attention_heads', config.num_attention_heads],
    ]),
    hiddenSize: declared([
      ['manifest.json hiddenSize', manifest.hiddenSize],
      ['config.json hidden_size', config.hidden_size],
    ]),
    vocabSize: declared([
      ['manifest.json vocabSize', manifest.vocabSize],
      ['config.json vocab_size', config.vocab_size],
    ]),
    maxPositions: 512,
    maxPositionsFrom: 'the default of 512',
    positionOffset,
    specialTokens: {},
  };
  // A window holds <s>, </s> and at least one code token.
  const manifestPositions = whole('manifest.json maxPositions', manifest.maxPositions, 3);
  const configPositions = whole(
    'config.json max_position_embeddings',
    config.max_position_embeddings,
    3 + positionOffset,
  );
  shape.positionEmbeddings = configPositions;
  if (manifestPositions !== undefined)
    [shape.maxPositions, shape.maxPositionsFrom] = [
      manifestPositions,
      `manifest.json maxPositions ${manifestPositions}`,
    ];
  else if (configPositions !== undefined)
    [shape.maxPositions, shape.maxPositionsFrom] = [
      configPositions - positionOffset,
      `config.json max_position_embeddings ${configPositions}`,
    ];
  const special = manifest.specialTokens;
  if (special !== undefined && (typeof special !== 'object' || special === null || Array.isArray(special)))
    problems.push(`manifest.json specialTokens is ${JSON.stringify(special)}; it must be an object of token ids`);
  else if (special) {
    for (const name of SPECIAL_NAMES) {
      const id = whole(`manifest.json specialTokens.${name}`, special[name], 0);
      if (id !== undefined) shape.specialTokens[name] = id;
    }
  }
  const outputs = manifest.outputs;
  if (
    outputs !== undefined &&
    (typeof outputs !== 'object' || outputs === null || Object.values(outputs).some((name) => typeof name !== 'string'))
  ) {
    problems.push(
      `manifest.json outputs is ${JSON.stringify(outputs)}; ` +
        'it must map attentions, valueNorms and lastHiddenState to output names',
    );
  }
  if (problems.length) throw mismatch(folder, problems);
  return shape;
}

/** Disagreements of the declared vocabulary, hidden size, positions and special ids with the graph's tables. */
export function tableProblems(
  declared: DeclaredShape,
  tables: EmbeddingTables,
  special: SpecialTokenIds,
  largestTokenId: number,
): string[] {
  const problems: string[] = [];
  const words = tables.words;
  if (words) {
    for (const { where, value } of declared.vocabSize.sources)
      if (value !== words.rows)
        problems.push(`${where} is ${value} but model.onnx's word-embedding table has ${words.rows} rows`);
    for (const { where, value } of declared.hiddenSize.sources)
      if (value !== words.columns)
        problems.push(`${where} is ${value} but model.onnx's embeddings are ${words.columns} wide`);
    if (largestTokenId >= words.rows)
      problems.push(
        `tokenizer.json has token ids up to ${largestTokenId} ` +
          `but model.onnx's word-embedding table has ${words.rows} rows`,
      );
  }
  const vocabulary = words?.rows ?? declared.vocabSize.value ?? (largestTokenId >= 0 ? largestTokenId + 1 : undefined);
  if (vocabulary !== undefined) {
    for (const name of SPECIAL_NAMES) {
      if (special[name] >= vocabulary)
        problems.push(`specialTokens.${name} is ${special[name]}, outside the vocabulary (ids 0–${vocabulary - 1})`);
    }
  }
  const positions = tables.positions;
  if (positions) {
    const needed = declared.maxPositions + declared.positionOffset;
    if (declared.positionEmbeddings !== undefined && declared.positionEmbeddings > positions.rows) {
      problems.push(
        `config.json max_position_embeddings is ${declared.positionEmbeddings} ` +
          `but model.onnx's position table has ${positions.rows} rows`,
      );
    } else if (needed > positions.rows) {
      problems.push(
        `${declared.maxPositionsFrom} means windows of ${declared.maxPositions} subwords, ` +
          `which need ${needed} rows of the position table; model.onnx has ${positions.rows}`,
      );
    }
  }
  return problems;
}

/** Each declared value that disagrees with what the graph computes. */
export function graphProblems(declared: DeclaredValue, graph: number, what: string): string[] {
  return declared.sources
    .filter(({ value }) => value !== graph)
    .map(({ where, value }) => `${where} is ${value} but model.onnx has ${graph} ${what}`);
}
