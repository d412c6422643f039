import { alignAttention } from './alignment';
import type { LayerMeans } from './layerMeans';
import type { ForwardOutput, PairRule, SubwordWindow, Tensor } from './types';

/**
 * A window's full attention tensors: what one forward pass gives, and every head aligned to code
 * tokens (on first read). An analysis does not keep these for every window: they live in a
 * {@link TensorCache} bounded in bytes and are recomputed (one forward pass) when a view or a
 * per-head report needs a window that was evicted.
 */
export interface WindowTensors {
  /** [layers, heads, n, n] over subword positions. */
  readonly subwordAttention: Tensor;
  /** [layers, heads, n]; absent when the model has no `value_norms` output. */
  readonly valueNorms?: Tensor;
  /** [layers, n, heads, heads]; absent when the model has no `value_gram` output. */
  readonly valueGram?: Tensor;
  /** [layers, heads, m, m] over the window's code tokens, aligned on first read. */
  readonly tokenAttention: Tensor;
}

/** The bytes a window's tensors take once every head is aligned: what the cache counts for it. */
export function windowTensorBytes(layers: number, heads: number, n: number, m: number, valueNorms: boolean): number {
  return 4 * layers * heads * (n * n + m * m + (valueNorms ? n : 0));
}

/** Tensors of one window from a forward pass; `tokenAttention` is aligned when first read. */
export function tensorsOf(window: SubwordWindow, output: ForwardOutput, rule: PairRule): WindowTensors {
  let aligned: Tensor | undefined;
  return {
    subwordAttention: output.attentions,
    valueNorms: output.valueNorms,
    valueGram: output.valueGram,
    get tokenAttention() {
      return (aligned ??= alignAttention(output.attentions, window, rule));
    },
  };
}

export interface TensorCacheStats {
  /** Windows held now, and their bytes (counted with every head aligned). */
  entries: number;
  bytes: number;
  maxBytes: number;
  hits: number;
  misses: number;
  evictions: number;
  /** Most windows held at once since the cache was made. */
  peakEntries: number;
}

/** The ceiling of the default cache, 256 MiB: one window of a 12 × 12 model at 512 subwords (212 MiB). */
export const DEFAULT_TENSOR_CACHE_BYTES = 256 * 2 ** 20;

/** Windows the default cache holds at least (each as large as the model's positions allow), under the ceiling. */
export const DEFAULT_CACHED_WINDOWS = 2;

/**
 * The default cache size for a model: {@link DEFAULT_CACHED_WINDOWS} of its largest windows, at
 * most {@link DEFAULT_TENSOR_CACHE_BYTES}. A small model's windows are small next to a fixed
 * limit; sized to the model, the cache stays small next to the model itself.
 */
export function defaultTensorCacheBytes(layers: number, heads: number, positions: number, valueNorms: boolean): number {
  const largest = windowTensorBytes(layers, heads, positions, positions, valueNorms);
  return Math.min(DEFAULT_TENSOR_CACHE_BYTES, DEFAULT_CACHED_WINDOWS * largest);
}

/**
 * Recently used windows' tensors, least recently used evicted first once their bytes exceed
 * `maxBytes`. A window larger than the whole limit is not held at all (its caller still gets it).
 */
export class TensorCache {
  private readonly entries = new Map<string, { tensors: WindowTensors; bytes: number }>();
  private held = 0;
  private counts = { hits: 0, misses: 0, evictions: 0, peakEntries: 0 };

  constructor(readonly maxBytes = DEFAULT_TENSOR_CACHE_BYTES) {
    if (!(maxBytes >= 0)) throw new Error(`The tensor cache limit must be a number of bytes ≥ 0, got ${maxBytes}.`);
  }

  get(key: string): WindowTensors | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      this.counts.misses++;
      return undefined;
    }
    this.counts.hits++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.tensors;
  }

  /** Like `get`, but neither counts nor refreshes the entry. */
  peek(key: string): WindowTensors | undefined {
    return this.entries.get(key)?.tensors;
  }

  put(key: string, tensors: WindowTensors, bytes: number): void {
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.held -= previous.bytes;
    }
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { tensors, bytes });
    this.held += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.held -= entry.bytes;
      this.counts.evictions++;
    }
    this.counts.peakEntries = Math.max(this.counts.peakEntries, this.entries.size);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }

  stats(): TensorCacheStats {
    return { entries: this.entries.size, bytes: this.held, maxBytes: this.maxBytes, ...this.counts };
  }
}

/** A window whose tensors are needed synchronously but were evicted from the cache. */
export class TensorsReleasedError extends Error {
  constructor(
    what: string,
    instead = 'call it after `await windowTensors(window)` (or `await prepareView`), or use its async form',
  ) {
    super(`${what} needs a window's full attention tensors, which were released to bound memory; ${instead}.`);
    this.name = 'TensorsReleasedError';
  }
}

/** Where a window's tensors come from: the cache, else one forward pass of the model that analysed it. */
export interface TensorSource {
  /** Model and pair rule, the prefix of every key (two models may share a cache). */
  readonly prefix: string;
  readonly cache: TensorCache;
  readonly rule: PairRule;
  readonly layers: number;
  readonly heads: number;
  readonly hasValueNorms: boolean;
  forward(ids: readonly number[]): Promise<ForwardOutput>;
  /** True once the analyzer was disposed (its model released): an evicted window cannot come back. */
  stopped(): boolean;
  /** Forward passes run to recompute evicted windows (not counting the analysis' own). */
  recomputed: number;
}

const sources = new WeakMap<object, { source: TensorSource; key: string }>();
const pending = new Map<string, Promise<WindowTensors>>();

/**
 * The cache key of a window: the model and pair rule (`prefix`), its input ids, and which code
 * token (window-local) owns each subword — what its tensors depend on, and nothing else.
 */
export function windowKey(window: SubwordWindow, prefix: string): string {
  const known = keysOf.get(window);
  if (known?.prefix === prefix) return known.key;
  const key = computeWindowKey(window, prefix);
  keysOf.set(window, { prefix, key });
  return key;
}

/** Windows are not changed once planned; a re-analysis asks for each key several times (plans, claims). */
const keysOf = new WeakMap<SubwordWindow, { prefix: string; key: string }>();

function computeWindowKey(window: SubwordWindow, prefix: string): string {
  let owners = '';
  for (let s = 0; s < window.tokenOfSubword.length; s++)
    owners += (window.tokenOfSubword[s] < 0 ? -1 : window.tokenOfSubword[s] - window.tokenStart) + ',';
  // A decoder window's prefix is in its ids; where scoring starts is part of what it computes.
  const scored = window.scoredStart === undefined ? '' : `|scored:${window.scoredStart - window.tokenStart}`;
  return `${prefix}|${window.ids.join(',')}|${owners}${scored}`;
}

/** Ties `window` to where its tensors come from, under `key` (see {@link windowKey}). */
export function attachTensorSource(window: object, source: TensorSource, key: string): void {
  sources.set(window, { source, key });
}

export function tensorSourceOf(window: object): TensorSource | undefined {
  return sources.get(window)?.source;
}

/** The key `window` was tied to its tensor source under (see {@link attachTensorSource}). */
export function attachedKey(window: object): string | undefined {
  return sources.get(window)?.key;
}

/** The window's tensors if the cache holds them now (no forward pass). */
export function residentTensors(window: object): WindowTensors | undefined {
  const entry = sources.get(window);
  return entry?.source.cache.peek(entry.key);
}

/** The window's tensors: from the cache, or recomputed with one forward pass and cached. */
export async function windowTensors(window: SubwordWindow): Promise<WindowTensors> {
  const entry = sources.get(window);
  if (!entry)
    throw new Error(
      'This window has no model to recompute its attention from (it did not come from Analyzer.analyze).',
    );
  const { source, key } = entry;
  const cached = source.cache.get(key);
  if (cached) return cached;
  if (source.stopped())
    throw new TensorsReleasedError(
      'Recomputing an evicted window',
      'the model that analysed this file was released: analyse the file again',
    );
  // Two views asking for the same evicted window share one forward pass.
  let running = pending.get(key);
  if (!running) {
    running = (async () => {
      const output = await source.forward(window.ids);
      source.recomputed++;
      const tensors = tensorsOf(window, output, source.rule);
      const m = window.tokenEnd - window.tokenStart;
      source.cache.put(
        key,
        tensors,
        windowTensorBytes(source.layers, source.heads, window.ids.length, m, source.hasValueNorms),
      );
      return tensors;
    })().finally(() => pending.delete(key));
    pending.set(key, running);
  }
  return running;
}

/**
 * An analysed window: its subwords, its tokens and each layer's head-mean code-token attention,
 * which is all the default view and the per-layer scores read, held compactly by a
 * {@link LayerMeanStore} (layerMeans.ts; float16, spilled to a temporary file past its memory
 * limit). The full tensors are getters that read the cache (non-enumerable, on the prototype):
 * they throw {@link TensorsReleasedError} when the window was evicted — `await windowTensors(window)`
 * recomputes it.
 */
export class AnalyzedWindowRecord implements SubwordWindow {
  tokenStart: number;
  tokenEnd: number;
  ids: number[];
  pieces: string[];
  tokenOfSubword: Int32Array;
  scoredStart?: number;

  constructor(
    window: SubwordWindow,
    /** Each layer's head-mean code-token attention, [layers, 1, m, m]. */
    readonly layerMeans: LayerMeans,
  ) {
    this.tokenStart = window.tokenStart;
    this.tokenEnd = window.tokenEnd;
    this.ids = window.ids;
    this.pieces = window.pieces;
    this.tokenOfSubword = window.tokenOfSubword;
    if (window.scoredStart !== undefined) this.scoredStart = window.scoredStart;
  }

  /** [layers, 1, m, m], float32, decoded from the store (read back from its file when it was written there). */
  get layerAttention(): Tensor {
    return this.layerMeans.tensor;
  }

  private resident(): WindowTensors {
    const tensors = residentTensors(this);
    if (!tensors) throw new TensorsReleasedError("Reading a window's attention synchronously");
    return tensors;
  }

  get subwordAttention(): Tensor {
    return this.resident().subwordAttention;
  }

  get valueNorms(): Tensor | undefined {
    const entry = sources.get(this);
    if (entry && !entry.source.hasValueNorms) return undefined;
    return this.resident().valueNorms;
  }

  get valueGram(): Tensor | undefined {
    return this.resident().valueGram;
  }

  get tokenAttention(): Tensor {
    return this.resident().tokenAttention;
  }
}
