import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { checkRegularFile } from './files';
import {
  declaredShape,
  firstLine,
  graphProblems,
  type DeclaredShape,
  type Manifest,
  mismatch,
  ModelLoadError,
  readJson,
  REEXPORT,
  tableProblems,
} from './modelFolder';
import { embeddingTables, type EmbeddingTables } from './onnxGraph';
import { ProcessSession } from './modelProcess';
import { CodeTokenizer, type SpecialTokenIds } from './tokenizer';
import type { ExecutionDevice, ExecutionProviderSetting, ForwardOutput, ModelInfo } from './types';
import type { ForwardSession, OpenedSession, OutputTensor } from './session';
export type { ForwardSession, OpenedSession, OutputTensor } from './session';

export { ModelLoadError } from './modelFolder';

// onnxruntime's global logger prints a failed CUDA load before the call throws; the environment
// takes its level from the first session of the process, so it is set here, once. Errors still
// reach the caller as exceptions with our own messages.
ort.env.logLevel = 'fatal';

export interface LoadModelOptions {
  executionProvider?: ExecutionProviderSetting;
  /**
   * Where onnxruntime runs: `main` (this thread) or `worker` (a worker thread, so that this
   * thread's event loop keeps running during a forward pass — onnxruntime-node's `run` blocks
   * it for the whole pass, seconds for a 12-layer model) or `process` (a child process, so that a
   * native crash or out-of-memory in onnxruntime ends that process only; the next analysis starts
   * it again; the editor uses `process`).
   */
  thread?: 'main' | 'worker' | 'process';
  /** onnxruntime intra-op threads (default: onnxruntime's own choice); the corpus workers split the cores. */
  intraOpThreads?: number;
}

export class LoadedModel {
  private constructor(
    readonly info: ModelInfo,
    readonly device: ExecutionDevice,
    readonly tokenizer: CodeTokenizer,
    private readonly session: ForwardSession,
    private readonly outputNames: {
      attentions: string;
      valueNorms?: string;
      valueGram?: string;
      lastHiddenState: string;
    },
    /** Why CUDA was not used, when `auto` fell back to the CPU. */
    readonly fallbackReason?: string,
  ) {}

  static async load(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
    const folder = resolve(dir);
    if (!existsSync(folder))
      throw new ModelLoadError(
        `Model folder ${folder} does not exist. Choose a folder that holds model.onnx, tokenizer.json ` +
          `and manifest.json.`,
      );
    if (!statSync(folder).isDirectory()) {
      throw new ModelLoadError(
        `${folder} is a file, not a model folder. ` +
          'Choose the folder that holds model.onnx, tokenizer.json and manifest.json.',
      );
    }
    const missing = ['model.onnx', 'tokenizer.json', 'config.json'].filter((name) => !existsSync(join(folder, name)));
    if (missing.length) throw new ModelLoadError(`Model folder ${folder} lacks ${missing.join(', ')}. ${REEXPORT}`);
    const manifest = readJson<Manifest>(join(folder, 'manifest.json'), {});
    const config = readJson<Record<string, unknown>>(join(folder, 'config.json'));
    const declared = declaredShape(folder, manifest, config);
    const special: SpecialTokenIds = { bos: 0, pad: 1, eos: 2, unk: 3, mask: 4, ...declared.specialTokens };
    const modelFile = join(folder, 'model.onnx');
    try {
      checkRegularFile(modelFile, `model.onnx in ${folder}`);
    } catch (error) {
      throw new ModelLoadError(`${(error as Error).message} ${REEXPORT}`);
    }
    let tokenizer: CodeTokenizer;
    try {
      tokenizer = CodeTokenizer.load(folder, special);
    } catch (error) {
      throw new ModelLoadError(`tokenizer.json in ${folder} cannot be read (${firstLine(error)}). ${REEXPORT}`);
    }
    let tables: EmbeddingTables = {};
    try {
      tables = embeddingTables(modelFile);
    } catch {
      // A graph this reader cannot walk is checked by onnxruntime below.
    }
    // Checks that need no session: a wrong vocabulary or position table would end in a Gather error.
    const problems = tableProblems(declared, tables, special, tokenizer.largestId);
    if (problems.length) throw mismatch(folder, problems);

    const setting = options.executionProvider ?? 'auto';
    checkExecutionProvider(setting);
    const openers = {
      main: () => openSession(modelFile, setting, options.intraOpThreads),
      worker: () => WorkerSession.open(modelFile, setting),
      process: () => ProcessSession.open(modelFile, setting),
    };
    const { session, device, fallbackReason } = await openers[options.thread ?? 'main']();
    try {
      const names = {
        attentions: manifest.outputs?.attentions ?? 'attentions',
        valueNorms: manifest.outputs?.valueNorms ?? 'value_norms',
        valueGram: manifest.outputs?.valueGram ?? 'value_gram',
        lastHiddenState: manifest.outputs?.lastHiddenState ?? 'last_hidden_state',
      };
      const lackingInputs = ['input_ids', 'attention_mask'].filter((name) => !session.inputNames.includes(name));
      if (lackingInputs.length) {
        throw new ModelLoadError(
          `model.onnx in ${folder} has inputs [${session.inputNames.join(', ')}] but ` +
            `needs ${lackingInputs.join(' and ')}. ${REEXPORT}`,
        );
      }
      if (!session.outputNames.includes(names.attentions)) {
        throw new ModelLoadError(
          `model.onnx in ${folder} has no "${names.attentions}" output (it has ${session.outputNames.join(', ')}): ` +
            `attention weights are needed. ${REEXPORT}`,
        );
      }
      const hasValueNorms = session.outputNames.includes(names.valueNorms);
      const hasValueGram = session.outputNames.includes(names.valueGram);
      const info: ModelInfo = {
        name: manifest.name ?? basename(folder),
        displayName: manifest.displayName ?? manifest.name ?? basename(folder),
        path: folder,
        family: manifest.family ?? 'roberta',
        checkpoint: manifest.checkpoint ?? 'external',
        layers: declared.layers.value ?? 0,
        heads: declared.heads.value ?? 0,
        hiddenSize: declared.hiddenSize.value ?? 0,
        vocabSize: declared.vocabSize.value ?? tables.words?.rows ?? tokenizer.largestId + 1,
        maxPositions: declared.maxPositions,
        hasValueNorms,
        hasValueGram,
        ...(manifest.causal === true
          ? {
              causal: true,
              tokenization: manifest.tokenization === 'code-tokens' ? 'code-tokens' : 'raw-text',
              addBos: manifest.addBos === true,
            }
          : {}),
      };
      const model = new LoadedModel(
        info,
        device,
        tokenizer,
        session,
        {
          attentions: names.attentions,
          valueNorms: hasValueNorms ? names.valueNorms : undefined,
          valueGram: hasValueGram ? names.valueGram : undefined,
          lastHiddenState: names.lastHiddenState,
        },
        fallbackReason,
      );
      await model.probe(declared);
      return model;
    } catch (error) {
      // Release what was opened (a worker thread or a child process would otherwise keep this one alive).
      await session.release().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Runs a short input holding every special token and checks the graph's layers, heads and hidden
   * size against what the folder declares (one problem named per disagreement); a folder that
   * declares none of them takes the graph's.
   */
  private async probe(declared: DeclaredShape): Promise<void> {
    const { bos, eos, pad, unk, mask } = this.tokenizer.special;
    const ids = [bos, this.tokenizer.encodeText('x')[0] ?? bos, unk, mask, pad, eos];
    let output: ForwardOutput;
    try {
      output = await this.forward(ids);
    } catch (error) {
      if (error instanceof ModelLoadError) throw error;
      throw new ModelLoadError(
        `model.onnx in ${this.info.path} fails on a ${ids.length}-token probe with the special tokens ` +
          `[${ids.join(', ')}] (onnxruntime: ${firstLine(error)}). ` +
          `Check specialTokens in manifest.json against the vocabulary. ${REEXPORT}`,
      );
    }
    const [layers, heads, rows, columns] = output.attentions.shape;
    const problems: string[] = [];
    if (rows !== ids.length || columns !== ids.length) {
      const shape = output.attentions.shape.join(', ');
      const n = ids.length;
      problems.push(`the attentions output has shape [${shape}] for ${n} tokens; expected [layers, heads, ${n}, ${n}]`);
    }
    const hidden = output.lastHiddenState.data.length / ids.length;
    problems.push(
      ...graphProblems(declared.layers, layers, 'layers'),
      ...graphProblems(declared.heads, heads, 'attention heads'),
      ...graphProblems(declared.hiddenSize, hidden, 'hidden size (last_hidden_state width)'),
    );
    if (problems.length) throw mismatch(this.info.path, problems);
    const mutable = this.info as { layers: number; heads: number; hiddenSize: number };
    mutable.layers = layers;
    mutable.heads = heads;
    mutable.hiddenSize = hidden;
  }

  /** One forward pass over one window (batch of one). */
  async forward(ids: readonly number[]): Promise<ForwardOutput> {
    const n = ids.length;
    const fetches = this.fetches();
    let outputs: Record<string, OutputTensor>;
    try {
      outputs = await this.session.run(ids, fetches);
    } catch (error) {
      // An index beyond a table (vocabulary, positions) ends in an onnxruntime Gather error:
      // name the folder's numbers instead.
      if (!(error instanceof ModelLoadError) && /Gather|out of (data )?bounds|indices/i.test(firstLine(error))) {
        throw new ModelLoadError(
          `model.onnx in ${this.info.path} cannot run a window of ${n} subwords (largest id ${Math.max(...ids)}): ` +
            'a token id or position is beyond its tables; ' +
            'check vocab_size, max_position_embeddings and specialTokens ' +
            `(onnxruntime: ${firstLine(error)}).`,
        );
      }
      throw error;
    }
    const attentions = outputs[this.outputNames.attentions];
    const dims = attentions.dims;
    if (dims.length !== 5) {
      throw new ModelLoadError(
        `The attentions output has rank ${dims.length}; expected 5 ([layers, batch, heads, seq, seq]). ${REEXPORT}`,
      );
    }
    // With a batch of one, [layers, 1, heads, n, n] has the same layout as [layers, heads, n, n].
    const result: ForwardOutput = {
      attentions: { data: attentions.data, shape: [dims[0], dims[2], dims[3], dims[4]] },
      lastHiddenState: { data: outputs[this.outputNames.lastHiddenState].data, shape: [n, this.info.hiddenSize] },
    };
    if (this.outputNames.valueNorms) {
      const norms = outputs[this.outputNames.valueNorms];
      const normDims = norms.dims;
      result.valueNorms = { data: norms.data, shape: [normDims[0], normDims[2], normDims[3]] };
    }
    if (this.outputNames.valueGram) {
      const gram = outputs[this.outputNames.valueGram];
      const [layers, , , heads] = gram.dims;
      result.valueGram = { data: gram.data, shape: [layers, n, heads, heads] };
    }
    return result;
  }

  private fetches(): string[] {
    const { attentions, lastHiddenState, valueNorms, valueGram } = this.outputNames;
    return [attentions, lastHiddenState, ...(valueNorms ? [valueNorms] : []), ...(valueGram ? [valueGram] : [])];
  }

  /**
   * One forward pass over several windows: padded to the longest with the pad id and masked out
   * (attention_mask 0), each output cropped back to its own length. A session without batching
   * (the worker thread) runs them one at a time. On the bundled models the cropped outputs equal
   * {@link forward}'s bit for bit (test/corpusScale.test.ts); onnxruntime promises no summation
   * order, so another graph or provider may differ in the last bits.
   */
  async forwardBatch(batch: ReadonlyArray<readonly number[]>): Promise<ForwardOutput[]> {
    if (batch.length === 1 || !this.session.runBatch) {
      const outputs: ForwardOutput[] = [];
      for (const ids of batch) outputs.push(await this.forward(ids));
      return outputs;
    }
    const outputs = await this.session.runBatch(batch, this.tokenizer.special.pad, this.fetches());
    const attentions = outputs[this.outputNames.attentions];
    if (attentions.dims.length !== 5) {
      throw new ModelLoadError(
        `The attentions output has rank ${attentions.dims.length}; expected 5 ([layers, batch, heads, ` +
          `seq, seq]). ${REEXPORT}`,
      );
    }
    const [layers, batchSize, heads, width] = attentions.dims;
    const hidden = outputs[this.outputNames.lastHiddenState];
    const norms = this.outputNames.valueNorms ? outputs[this.outputNames.valueNorms] : undefined;
    const gram = this.outputNames.valueGram ? outputs[this.outputNames.valueGram] : undefined;
    const hiddenSize = this.info.hiddenSize;
    return batch.map((ids, item) => {
      const n = ids.length;
      const attentionData = new Float32Array(layers * heads * n * n);
      for (let layer = 0; layer < layers; layer++) {
        for (let head = 0; head < heads; head++) {
          for (let row = 0; row < n; row++) {
            const from = (((layer * batchSize + item) * heads + head) * width + row) * width;
            attentionData.set(attentions.data.subarray(from, from + n), ((layer * heads + head) * n + row) * n);
          }
        }
      }
      const hiddenFrom = item * width * hiddenSize;
      const result: ForwardOutput = {
        attentions: { data: attentionData, shape: [layers, heads, n, n] },
        lastHiddenState: { data: hidden.data.slice(hiddenFrom, hiddenFrom + n * hiddenSize), shape: [n, hiddenSize] },
      };
      if (norms) {
        const normData = new Float32Array(layers * heads * n);
        for (let layer = 0; layer < layers; layer++) {
          for (let head = 0; head < heads; head++) {
            const from = ((layer * batchSize + item) * heads + head) * width;
            normData.set(norms.data.subarray(from, from + n), (layer * heads + head) * n);
          }
        }
        result.valueNorms = { data: normData, shape: [layers, heads, n] };
      }
      if (gram) {
        // [layers, batch, width, heads, heads]: each layer's first n tokens of this item are contiguous.
        const perToken = heads * heads;
        const gramData = new Float32Array(layers * n * perToken);
        for (let layer = 0; layer < layers; layer++) {
          const from = (layer * batchSize + item) * width * perToken;
          gramData.set(gram.data.subarray(from, from + n * perToken), layer * n * perToken);
        }
        result.valueGram = { data: gramData, shape: [layers, n, heads, heads] };
      }
      return result;
    });
  }

  /**
   * `last_hidden_state` ([n, hidden]) of several inputs of one length, as one batched pass: the
   * exported graph has a batch dimension, and the attention outputs are not fetched. Inputs of
   * different lengths, or a session without batches, run one by one.
   */
  async hiddenStates(batch: ReadonlyArray<readonly number[]>): Promise<Float32Array[]> {
    const name = this.outputNames.lastHiddenState;
    const n = batch[0]?.length ?? 0;
    if (!this.session.runBatch || batch.some((ids) => ids.length !== n)) {
      const states: Float32Array[] = [];
      for (const ids of batch) states.push((await this.session.run(ids, [name]))[name].data);
      return states;
    }
    const { data } = (await this.session.runBatch(batch, this.tokenizer.special.pad, [name]))[name];
    const size = n * this.info.hiddenSize;
    return batch.map((_, index) => data.slice(index * size, (index + 1) * size));
  }

  /** True once the session cannot run: disposed, its worker thread stopped, or its process died (until restarted). */
  get stopped(): boolean {
    return this.session.stopped;
  }

  /** Starts the model process again if it died (`thread: 'process'`); nothing to do otherwise. */
  async restartIfStopped(): Promise<void> {
    if (this.session.stopped && this.session.restart) await this.session.restart();
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** An onnxruntime session in this thread. */
export class InProcessSession implements ForwardSession {
  stopped = false;

  constructor(private readonly session: ort.InferenceSession) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  run(ids: readonly number[], fetches: readonly string[]): Promise<Record<string, OutputTensor>> {
    return this.runBatch([ids], 0, fetches);
  }

  async runBatch(
    batch: ReadonlyArray<readonly number[]>,
    padId: number,
    fetches: readonly string[],
  ): Promise<Record<string, OutputTensor>> {
    const width = Math.max(...batch.map((ids) => ids.length));
    const ids = new BigInt64Array(batch.length * width).fill(BigInt(padId));
    const mask = new BigInt64Array(batch.length * width);
    batch.forEach((row, item) => {
      row.forEach((id, column) => {
        ids[item * width + column] = BigInt(id);
        mask[item * width + column] = 1n;
      });
    });
    const dims = [batch.length, width];
    const outputs = await this.session.run(
      { input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', mask, dims) },
      [...fetches],
    );
    const plain: Record<string, OutputTensor> = {};
    for (const name of fetches)
      plain[name] = { data: outputs[name].data as Float32Array, dims: outputs[name].dims.map(Number) };
    return plain;
  }

  release(): Promise<void> {
    this.stopped = true;
    return this.session.release();
  }
}

/** Opens `file` in this thread with the chosen execution provider, falling back to the CPU under `auto`. */
export async function openSession(
  file: string,
  setting: ExecutionProviderSetting,
  intraOpThreads?: number,
): Promise<OpenedSession<InProcessSession>> {
  checkExecutionProvider(setting);
  // A missing CUDA provider is expected on most machines: keep onnxruntime's own error log quiet
  // for that attempt and report the fallback ourselves.
  const open = async (providers: string[]) =>
    new InProcessSession(
      await ort.InferenceSession.create(file, {
        executionProviders: providers,
        graphOptimizationLevel: 'all',
        logSeverityLevel: providers.includes('cuda') ? 4 : 2,
        ...(intraOpThreads ? { intraOpNumThreads: intraOpThreads } : {}),
      }),
    );
  try {
    if (setting === 'cpu') return { session: await open(['cpu']), device: 'cpu' };
    try {
      return { session: await open(['cuda']), device: 'cuda' };
    } catch (error) {
      if (setting === 'cuda') {
        throw new ModelLoadError(
          `The CUDA execution provider is not available here (${firstLine(error)}). Set ` +
            `codeAttention.executionProvider / --device to "auto" or "cpu".`,
        );
      }
      return { session: await open(['cpu']), device: 'cpu', fallbackReason: firstLine(error) };
    }
  } catch (error) {
    if (error instanceof ModelLoadError) throw error;
    throw new ModelLoadError(`${file} is not a readable ONNX model (${firstLine(error)}). ${REEXPORT}`);
  }
}

/**
 * The execution providers a setting may name; anything else (a hand-edited settings.json, a script)
 * is refused, not tried as CUDA.
 */
export const EXECUTION_PROVIDER_SETTINGS: readonly ExecutionProviderSetting[] = ['auto', 'cuda', 'cpu'];

export function checkExecutionProvider(setting: unknown): asserts setting is ExecutionProviderSetting {
  if (!EXECUTION_PROVIDER_SETTINGS.includes(setting as ExecutionProviderSetting)) {
    const got = JSON.stringify(setting) ?? typeof setting;
    throw new ModelLoadError(
      `The execution provider must be one of ${EXECUTION_PROVIDER_SETTINGS.join(', ')} (got ${got}); ` +
        'set codeAttention.executionProvider / --device to one of them.',
    );
  }
}

/** Messages between {@link WorkerSession} and its worker (`modelWorker.ts`). */
export type WorkerRequest =
  | { type: 'open'; file: string; setting: ExecutionProviderSetting }
  | { type: 'run'; id: number; ids: number[]; fetches: string[] }
  | { type: 'runBatch'; id: number; batch: number[][]; padId: number; fetches: string[] }
  | { type: 'release' };
export type WorkerReply =
  | { type: 'opened'; device: ExecutionDevice; fallbackReason?: string; inputNames: string[]; outputNames: string[] }
  | { type: 'result'; id: number; outputs: Record<string, OutputTensor> }
  | { type: 'failed'; id?: number; message: string; loadError: boolean }
  | { type: 'released' };

/**
 * An onnxruntime session in a worker thread. Requests and replies are messages; the output
 * buffers are transferred, not copied.
 */
export class WorkerSession implements ForwardSession {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (outputs: Record<string, OutputTensor>) => void; reject: (error: Error) => void }
  >();
  private stoppedBy?: Error;
  private released?: () => void;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'released') this.released?.();
      if (reply.type !== 'result' && reply.type !== 'failed') return;
      const request = reply.id === undefined ? undefined : this.pending.get(reply.id);
      if (!request) return;
      this.pending.delete(reply.id!);
      if (reply.type === 'result') request.resolve(reply.outputs);
      else request.reject(reply.loadError ? new ModelLoadError(reply.message) : new Error(reply.message));
    });
    const stop = (error: Error) => {
      this.stoppedBy ??= error;
      for (const request of this.pending.values()) request.reject(this.stoppedBy);
      this.pending.clear();
      this.released?.();
    };
    worker.on('error', (error) => stop(new Error(`The model worker thread failed: ${firstLine(error)}`)));
    worker.on('exit', (code) => stop(new Error(`The model worker thread stopped (exit code ${code}).`)));
  }

  static async open(file: string, setting: ExecutionProviderSetting): Promise<OpenedSession<WorkerSession>> {
    const worker = new Worker(join(__dirname, 'modelWorker.js'));
    const reply = await new Promise<WorkerReply>((resolveReply, rejectReply) => {
      worker.once('message', resolveReply);
      worker.once('error', rejectReply);
      worker.postMessage({ type: 'open', file, setting } satisfies WorkerRequest);
    }).catch((error: unknown): WorkerReply => ({
      type: 'failed',
      message: `The model worker thread did not start: ${firstLine(error)}`,
      loadError: true,
    }));
    if (reply.type !== 'opened') {
      await worker.terminate();
      const message = reply.type === 'failed' ? reply.message : `Unexpected reply from the model worker: ${reply.type}`;
      throw new ModelLoadError(message);
    }
    return {
      session: new WorkerSession(worker, reply.inputNames, reply.outputNames),
      device: reply.device,
      fallbackReason: reply.fallbackReason,
    };
  }

  get stopped(): boolean {
    return this.stoppedBy !== undefined;
  }

  run(ids: readonly number[], fetches: readonly string[]): Promise<Record<string, OutputTensor>> {
    return this.request((id) => ({ type: 'run', id, ids: [...ids], fetches: [...fetches] }));
  }

  runBatch(
    batch: ReadonlyArray<readonly number[]>,
    padId: number,
    fetches: readonly string[],
  ): Promise<Record<string, OutputTensor>> {
    const request = { batch: batch.map((ids) => [...ids]), padId, fetches: [...fetches] };
    return this.request((id) => ({ type: 'runBatch', id, ...request }));
  }

  private request(make: (id: number) => WorkerRequest): Promise<Record<string, OutputTensor>> {
    if (this.stoppedBy) return Promise.reject(this.stoppedBy);
    const id = this.nextId++;
    return new Promise((resolveRun, rejectRun) => {
      this.pending.set(id, { resolve: resolveRun, reject: rejectRun });
      this.worker.postMessage(make(id));
    });
  }

  async release(): Promise<void> {
    if (!this.stoppedBy) {
      await new Promise<void>((done) => {
        this.released = done;
        this.worker.postMessage({ type: 'release' } satisfies WorkerRequest);
      });
    }
    this.stoppedBy ??= new Error('The model worker thread stopped: the model was released.');
    await this.worker.terminate();
  }
}

export interface ModelEntry {
  name: string;
  displayName: string;
  path: string;
  checkpoint: string;
}

/**
 * How a model folder is listed (model pickers, the bundled list): name, display name and checkpoint
 * from its manifest when those are non-empty strings, the folder name and "external" otherwise. The
 * manifest is read with the safe reader (a FIFO or device there is not waited on); a folder whose
 * manifest is missing or broken is still listed, and loading it names the problem.
 */
export function modelEntry(folder: string): ModelEntry {
  let manifest: Manifest = {};
  try {
    manifest = readJson<Manifest>(join(folder, 'manifest.json'), {});
  } catch {
    // Listed under its folder name; LoadedModel.load reports what is wrong with the manifest.
  }
  const text = (value: unknown, fallback: string) => (typeof value === 'string' && value.trim() ? value : fallback);
  const name = basename(folder);
  return {
    name: text(manifest.name, name),
    displayName: text(manifest.displayName, text(manifest.name, name)),
    path: folder,
    checkpoint: text(manifest.checkpoint, 'external'),
  };
}

/** Model folders (those with a manifest.json) directly under `modelsDir`, final checkpoints first. */
export function findModels(modelsDir: string): ModelEntry[] {
  let names: string[];
  try {
    names = readdirSync(modelsDir).sort();
  } catch {
    // Missing, or not a folder (a settings entry pointing at a file): no models there.
    return [];
  }
  const entries: ModelEntry[] = [];
  for (const name of names) {
    const folder = join(modelsDir, name);
    if (!existsSync(join(folder, 'manifest.json')) || !existsSync(join(folder, 'model.onnx'))) continue;
    entries.push(modelEntry(folder));
  }
  return entries.sort((a, b) => Number(a.checkpoint !== 'final') - Number(b.checkpoint !== 'final'));
}

/** Loads and validates an exported model folder; see {@link LoadedModel.load}. */
export function loadModel(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  return LoadedModel.load(dir, options);
}

/** The models shipped under `rootDir/models` (the extension or repository root). */
export function findBundledModels(rootDir: string): ModelEntry[] {
  return findModels(join(rootDir, 'models'));
}
