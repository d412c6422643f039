import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CodeTokenizer, type SpecialTokenIds } from './tokenizer';
import type { ExecutionDevice, ExecutionProviderSetting, ForwardOutput, ModelInfo } from './types';

/** A model folder that cannot be used, with a message that says what is wrong and what to do. */
export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

interface Manifest {
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
  outputs?: { attentions?: string; valueNorms?: string; lastHiddenState?: string };
}

// onnxruntime's global logger prints a failed CUDA load before the call throws; the environment
// takes its level from the first session of the process, so it is set here, once. Errors still
// reach the caller as exceptions with our own messages.
ort.env.logLevel = 'fatal';

const REEXPORT = 'Export the checkpoint again with models/export_onnx.py CHECKPOINT_DIR OUT_DIR.';

export interface LoadModelOptions {
  executionProvider?: ExecutionProviderSetting;
}

export class LoadedModel {
  private constructor(
    readonly info: ModelInfo,
    readonly device: ExecutionDevice,
    readonly tokenizer: CodeTokenizer,
    private readonly session: ort.InferenceSession,
    private readonly outputNames: { attentions: string; valueNorms?: string; lastHiddenState: string },
    /** Why CUDA was not used, when `auto` fell back to the CPU. */
    readonly fallbackReason?: string,
  ) {}

  static async load(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
    const folder = resolve(dir);
    if (!existsSync(folder)) throw new ModelLoadError(`Model folder ${folder} does not exist. Choose a folder that holds model.onnx, tokenizer.json and manifest.json.`);
    const missing = ['model.onnx', 'tokenizer.json', 'config.json'].filter((name) => !existsSync(join(folder, name)));
    if (missing.length) throw new ModelLoadError(`Model folder ${folder} lacks ${missing.join(', ')}. ${REEXPORT}`);
    const manifest = readJson<Manifest>(join(folder, 'manifest.json'), {});
    const config = readJson<Record<string, number>>(join(folder, 'config.json'));
    const special: SpecialTokenIds = { bos: 0, pad: 1, eos: 2, unk: 3, mask: 4, ...manifest.specialTokens };
    let tokenizer: CodeTokenizer;
    try {
      tokenizer = CodeTokenizer.load(folder, special);
    } catch (error) {
      throw new ModelLoadError(`tokenizer.json in ${folder} cannot be read (${(error as Error).message}). ${REEXPORT}`);
    }

    const setting = options.executionProvider ?? 'auto';
    const { session, device, fallbackReason } = await createSession(join(folder, 'model.onnx'), setting);
    const names = {
      attentions: manifest.outputs?.attentions ?? 'attentions',
      valueNorms: manifest.outputs?.valueNorms ?? 'value_norms',
      lastHiddenState: manifest.outputs?.lastHiddenState ?? 'last_hidden_state',
    };
    const lackingInputs = ['input_ids', 'attention_mask'].filter((name) => !session.inputNames.includes(name));
    if (lackingInputs.length) {
      throw new ModelLoadError(`model.onnx in ${folder} has inputs [${session.inputNames.join(', ')}] but needs ${lackingInputs.join(' and ')}. ${REEXPORT}`);
    }
    if (!session.outputNames.includes(names.attentions)) {
      throw new ModelLoadError(
        `model.onnx in ${folder} has no "${names.attentions}" output (it has ${session.outputNames.join(', ')}): attention weights are needed. ${REEXPORT}`,
      );
    }
    const hasValueNorms = session.outputNames.includes(names.valueNorms);
    const layers = manifest.layers ?? config.num_hidden_layers;
    const heads = manifest.heads ?? config.num_attention_heads;
    const info: ModelInfo = {
      name: manifest.name ?? basename(folder),
      displayName: manifest.displayName ?? manifest.name ?? basename(folder),
      path: folder,
      family: manifest.family ?? 'roberta',
      checkpoint: manifest.checkpoint ?? 'external',
      layers,
      heads,
      hiddenSize: manifest.hiddenSize ?? config.hidden_size,
      vocabSize: manifest.vocabSize ?? config.vocab_size,
      maxPositions: manifest.maxPositions ?? (config.max_position_embeddings ?? 514) - 2,
      hasValueNorms,
    };
    const model = new LoadedModel(info, device, tokenizer, session, {
      attentions: names.attentions,
      valueNorms: hasValueNorms ? names.valueNorms : undefined,
      lastHiddenState: names.lastHiddenState,
    }, fallbackReason);
    await model.probe();
    return model;
  }

  /** Runs a 3-token input and checks that the attention output has the declared shape. */
  private async probe(): Promise<void> {
    const { bos, eos } = this.tokenizer.special;
    const output = await this.forward([bos, this.tokenizer.encodeText('x')[0] ?? bos, eos]);
    const [layers, heads, rows, columns] = output.attentions.shape;
    if (layers !== this.info.layers || heads !== this.info.heads || rows !== 3 || columns !== 3) {
      throw new ModelLoadError(
        `The attentions output of ${this.info.path} has shape [${output.attentions.shape.join(', ')}] for 3 tokens; expected [${this.info.layers}, ${this.info.heads}, 3, 3] (layers, heads, seq, seq). ${REEXPORT}`,
      );
    }
  }

  /** One forward pass over one window (batch of one). */
  async forward(ids: readonly number[]): Promise<ForwardOutput> {
    const n = ids.length;
    const inputIds = new ort.Tensor('int64', BigInt64Array.from(ids, (id) => BigInt(id)), [1, n]);
    const mask = new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);
    const fetches = [this.outputNames.attentions, this.outputNames.lastHiddenState];
    if (this.outputNames.valueNorms) fetches.push(this.outputNames.valueNorms);
    const outputs = await this.session.run({ input_ids: inputIds, attention_mask: mask }, fetches);
    const attentions = outputs[this.outputNames.attentions];
    const dims = attentions.dims.map(Number);
    if (dims.length !== 5) {
      throw new ModelLoadError(`The attentions output has rank ${dims.length}; expected 5 ([layers, batch, heads, seq, seq]). ${REEXPORT}`);
    }
    // With a batch of one, [layers, 1, heads, n, n] has the same layout as [layers, heads, n, n].
    const result: ForwardOutput = {
      attentions: { data: attentions.data as Float32Array, shape: [dims[0], dims[2], dims[3], dims[4]] },
      lastHiddenState: { data: outputs[this.outputNames.lastHiddenState].data as Float32Array, shape: [n, this.info.hiddenSize] },
    };
    if (this.outputNames.valueNorms) {
      const norms = outputs[this.outputNames.valueNorms];
      const normDims = norms.dims.map(Number);
      result.valueNorms = { data: norms.data as Float32Array, shape: [normDims[0], normDims[2], normDims[3]] };
    }
    return result;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

async function createSession(
  file: string,
  setting: ExecutionProviderSetting,
): Promise<{ session: ort.InferenceSession; device: ExecutionDevice; fallbackReason?: string }> {
  // A missing CUDA provider is expected on most machines: keep onnxruntime's own error log quiet
  // for that attempt and report the fallback ourselves.
  const open = (providers: string[]) =>
    ort.InferenceSession.create(file, { executionProviders: providers, graphOptimizationLevel: 'all', logSeverityLevel: providers.includes('cuda') ? 4 : 2 });
  try {
    if (setting === 'cpu') return { session: await open(['cpu']), device: 'cpu' };
    try {
      return { session: await open(['cuda']), device: 'cuda' };
    } catch (error) {
      if (setting === 'cuda') {
        throw new ModelLoadError(`The CUDA execution provider is not available here (${firstLine(error)}). Set codeAttention.executionProvider / --device to "auto" or "cpu".`);
      }
      return { session: await open(['cpu']), device: 'cpu', fallbackReason: firstLine(error) };
    }
  } catch (error) {
    if (error instanceof ModelLoadError) throw error;
    throw new ModelLoadError(`${file} is not a readable ONNX model (${firstLine(error)}). ${REEXPORT}`);
  }
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0].slice(0, 200);
}

function readJson<T>(file: string, fallback?: T): T {
  if (!existsSync(file)) {
    if (fallback !== undefined) return fallback;
    throw new ModelLoadError(`${file} is missing. ${REEXPORT}`);
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new ModelLoadError(`${file} is not valid JSON (${firstLine(error)}). ${REEXPORT}`);
  }
}

export interface ModelEntry {
  name: string;
  displayName: string;
  path: string;
  checkpoint: string;
}

/** Model folders (those with a manifest.json) directly under `modelsDir`, final checkpoints first. */
export function findModels(modelsDir: string): ModelEntry[] {
  if (!existsSync(modelsDir)) return [];
  const entries: ModelEntry[] = [];
  for (const name of readdirSync(modelsDir).sort()) {
    const manifestPath = join(modelsDir, name, 'manifest.json');
    if (!existsSync(manifestPath) || !existsSync(join(modelsDir, name, 'model.onnx'))) continue;
    const manifest = readJson<Manifest>(manifestPath, {});
    entries.push({ name: manifest.name ?? name, displayName: manifest.displayName ?? name, path: join(modelsDir, name), checkpoint: manifest.checkpoint ?? 'external' });
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
