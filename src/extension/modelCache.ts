import { statSync } from 'node:fs';
import * as path from 'node:path';
import { Analyzer } from '../core/pipeline';
import type { ExecutionProviderSetting } from '../core/types';

/** At most this many models stay loaded (the selected one and, say, the two of a comparison). */
export const MAX_LOADED_MODELS = 3;
/** Models other than the most recently used are released after this long unused. */
export const IDLE_RELEASE_MS = 10 * 60_000;
/** Loaded models are kept while their ONNX files (with external data) add up to at most this many bytes. */
export const MAX_LOADED_MODEL_BYTES = 3 * 2 ** 30;

interface Entry {
  key: string;
  promise: Promise<Analyzer>;
  loaded?: Analyzer;
  bytes: number;
  lastUsed: number;
}

export interface ModelCacheEvents {
  loaded(analyzer: Analyzer, modelDir: string, ms: number): void;
  failed(error: Error, modelDir: string): void;
}

/**
 * The loaded models, kept warm between analyses and comparisons: least recently used first out
 * when more than {@link MAX_LOADED_MODELS} or {@link MAX_LOADED_MODEL_BYTES} are loaded, and
 * released when idle. A model whose worker stopped (e.g. out of memory) is loaded again.
 */
export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private readonly idleTimer: NodeJS.Timeout;

  constructor(
    private readonly grammarsDir: string,
    private readonly events: ModelCacheEvents,
  ) {
    this.idleTimer = setInterval(() => this.releaseIdle(), IDLE_RELEASE_MS / 4);
    this.idleTimer.unref();
  }

  get(modelDir: string, provider: ExecutionProviderSetting): Promise<Analyzer> {
    const key = `${modelDir}|${provider}`;
    let entry = this.entries.get(key);
    if (entry?.loaded?.model.stopped) {
      this.drop(entry);
      entry = undefined;
    }
    if (!entry) entry = this.load(key, modelDir, provider);
    entry.lastUsed = Date.now();
    // Map order is use order: the first entry is the least recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.evict(entry);
    return entry.promise;
  }

  /** The loaded models' folders, least recently used first (tests and the bench read it). */
  loadedModels(): string[] {
    return [...this.entries.values()].filter((entry) => entry.loaded).map((entry) => entry.key.split('|')[0]);
  }

  clear(): void {
    for (const entry of [...this.entries.values()]) this.drop(entry);
  }

  dispose(): void {
    clearInterval(this.idleTimer);
    this.clear();
  }

  private load(key: string, modelDir: string, provider: ExecutionProviderSetting): Entry {
    const started = performance.now();
    // The model runs in its own process: a forward pass must not stop the extension host's event
    // loop, nor a native crash end it.
    const promise = Analyzer.create({
      modelDir,
      executionProvider: provider,
      grammarsDir: this.grammarsDir,
      thread: 'process',
    });
    const entry: Entry = { key, promise, bytes: modelBytes(modelDir), lastUsed: Date.now() };
    promise.then(
      (analyzer) => {
        entry.loaded = analyzer;
        this.events.loaded(analyzer, modelDir, performance.now() - started);
      },
      (error: Error) => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        this.events.failed(error, modelDir);
      },
    );
    return entry;
  }

  private evict(keep: Entry): void {
    const total = () => [...this.entries.values()].reduce((sum, entry) => sum + entry.bytes, 0);
    for (const entry of [...this.entries.values()]) {
      if (this.entries.size <= MAX_LOADED_MODELS && total() <= MAX_LOADED_MODEL_BYTES) break;
      if (entry !== keep) this.drop(entry);
    }
  }

  private releaseIdle(): void {
    const newest = [...this.entries.values()].pop();
    for (const entry of [...this.entries.values()]) {
      if (entry !== newest && Date.now() - entry.lastUsed > IDLE_RELEASE_MS) this.drop(entry);
    }
  }

  private drop(entry: Entry): void {
    this.entries.delete(entry.key);
    void entry.promise.then(
      (analyzer) => analyzer.dispose(),
      () => undefined,
    );
  }
}

/** The model's bytes on disk: `model.onnx` and, for a converted large model, its external data file. */
function modelBytes(modelDir: string): number {
  return ['model.onnx', 'model.onnx.data'].reduce((sum, name) => sum + fileBytes(path.join(modelDir, name)), 0);
}

function fileBytes(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
