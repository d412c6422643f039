import { ConvertError } from './errors';
import type { GraphBuilder } from './graph';
import type { StoredTensor, WeightPrecision, WeightStore } from './safetensors';

/**
 * What one architecture family provides to the converter (one module per family: `roberta.ts`
 * now, GPT-2 and Llama next), and the weight access they share.
 */

export type HfConfig = Record<string, unknown>;

/** The numbers a family writes into manifest.json (the loader checks them against the graph). */
export interface ManifestShape {
  family: string;
  maxPositions: number;
  layers: number;
  heads: number;
  hiddenSize: number;
  vocabSize: number;
  /** Decoders: attention over positions j ≤ i (manifest.json `causal`). */
  causal?: boolean;
  /** Decoders: whether each window starts with bos whatever the tokenizer's post-processor says (Llama). */
  addBos?: boolean;
}

export interface PlanOptions {
  /** The longest window the converted model allows (decoders; capped by the config's own limit). */
  maxPositions?: number;
}

/** Decoders' default window cap: attention costs layers × heads × n² floats per window. */
export const DEFAULT_MAX_POSITIONS = 2048;

/**
 * The most one window's attention output may take by default (float32, every layer and head). A
 * window's forward pass materialises all of it at once, so this bounds the analysis' memory
 * whatever the model's context: 24 × 14 heads (Qwen2.5-Coder-0.5B) at 2,048 subwords would be 5.3 GiB.
 */
export const DEFAULT_ATTENTION_BYTES = 512 * 2 ** 20;

export interface ArchitectureFamily {
  /** manifest.json `family`. */
  family: string;
  /** config.json `model_type` values this family converts. */
  modelTypes: readonly string[];
  /** Models of the family, for messages ("CodeBERT, GraphCodeBERT, …"). */
  examples: string;
  /** A tensor name every checkpoint of the family has; what precedes it is the checkpoint's prefix ("roberta."). */
  anchorTensor: string;
  /**
   * Reads the config and checks every tensor the graph needs against it; throws one ConvertError
   * naming each problem.
   */
  plan(config: HfConfig, weights: CheckpointWeights, options?: PlanOptions): ArchitecturePlan;
}

export interface ArchitecturePlan {
  manifest: ManifestShape;
  /** Adds the whole graph (inputs, nodes, outputs) to `graph`. */
  build(graph: GraphBuilder): void;
}

/**
 * The window a decoder allows: the config's context, capped at `options.maxPositions`; by default at
 * 2,048 subwords and at the longest multiple of 64 whose attention fits {@link DEFAULT_ATTENTION_BYTES}.
 */
export function decoderWindow(
  configPositions: number,
  shape: { layers: number; heads: number },
  options: PlanOptions | undefined,
): number {
  if (options?.maxPositions !== undefined) return Math.min(configPositions, options.maxPositions);
  const fitting = Math.sqrt(DEFAULT_ATTENTION_BYTES / (4 * shape.layers * shape.heads));
  const budgetWindow = Math.max(64, Math.floor(fitting / 64) * 64);
  return Math.min(configPositions, DEFAULT_MAX_POSITIONS, budgetWindow);
}

/** A config.json number: whole, ≥ minimum; `fallback` when absent; a problem recorded otherwise. */
export function configInteger(
  config: HfConfig,
  key: string,
  problems: string[],
  fallback?: number,
  minimum = 1,
): number {
  const value = config[key] ?? fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= minimum) return value;
  problems.push(
    value === undefined
      ? `config.json has no ${key}`
      : `config.json ${key} is ${JSON.stringify(value)}; it must be a whole number ≥ ${minimum}`,
  );
  return fallback ?? minimum;
}

export function configNumber(config: HfConfig, key: string, problems: string[], fallback: number): number {
  const value = config[key] ?? fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  problems.push(`config.json ${key} is ${JSON.stringify(value)}; it must be a positive number`);
  return fallback;
}

/**
 * The checkpoint's tensors under one name prefix ("roberta." in a masked-LM checkpoint, none in a
 * bare encoder), checked against the shapes the config implies, and added to a graph on demand
 * (float16 weights get a Cast to float32, so every architecture computes in float32).
 */
export class CheckpointWeights {
  readonly problems: string[] = [];

  constructor(
    readonly store: WeightStore,
    readonly prefix: string,
    readonly precision: WeightPrecision,
  ) {}

  /** Finds the prefix under which `suffix` is stored (the shortest, when several are). */
  static locate(store: WeightStore, suffix: string, precision: WeightPrecision): CheckpointWeights | undefined {
    const prefixes = store.names
      .filter((name) => name.endsWith(suffix))
      .map((name) => name.slice(0, name.length - suffix.length))
      .sort((a, b) => a.length - b.length);
    return prefixes.length ? new CheckpointWeights(store, prefixes[0], precision) : undefined;
  }

  has(name: string): boolean {
    return this.store.get(this.prefix + name) !== undefined;
  }

  /** Records a problem when the tensor is missing or its shape differs from `shape`. */
  expect(name: string, shape: readonly number[], because: string): void {
    const tensor = this.store.get(this.prefix + name);
    if (!tensor) this.problems.push(`the weights lack ${this.prefix + name}`);
    else if (tensor.shape.join() !== shape.join())
      this.problems.push(
        `${this.prefix + name} is [${tensor.shape.join(', ')}] but ${because} means [${shape.join(', ')}]`,
      );
  }

  /** How many layers the checkpoint stores: the first index n for which `nameOf(n)` is missing. */
  countLayers(nameOf: (index: number) => string): number {
    let count = 0;
    while (this.has(nameOf(count))) count++;
    return count;
  }

  tensor(name: string): StoredTensor {
    return this.store.require(this.prefix + name);
  }

  /** Throws one ConvertError listing every problem found so far (the config's and the weights'). */
  throwIfProblems(configProblems: readonly string[]): void {
    const all = [...configProblems, ...this.problems];
    if (all.length)
      throw new ConvertError(`config.json and the weights in ${this.store.folder} disagree: ${all.join('; ')}.`);
  }

  /** The weight as a float32 graph value (an initializer under its checkpoint name, cast when stored as float16). */
  weight(graph: GraphBuilder, name: string): string {
    const tensor = this.tensor(name);
    const type = this.store.storedAs(tensor, this.precision);
    const value = graph.initializer(tensor.name, type, tensor.shape, this.store.stream(tensor, this.precision));
    return type === 'float32' ? value : graph.op('Cast', [value], { to: { kind: 'int', value: 1 } });
  }
}
