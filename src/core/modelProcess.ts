/**
 * An onnxruntime session in a child process (`modelProcessMain.ts`), so that a native crash,
 * abort or out-of-memory in onnxruntime ends that process only, and onnxruntime's working memory
 * is not the caller's. Requests and small replies travel over the IPC channel (V8 serialization);
 * the attention tensors of a reply are written to one file in a memory-backed folder (/dev/shm
 * where it exists) and read back here: on a busy 2-core machine that took 0.5–0.9× the time of
 * V8-serializing them through the channel (scripts/bench-transfer.mjs: one 512-subword window,
 * 16 MiB for 4×4 heads, 144 MiB for 12×12).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ForwardSession, OpenedSession, OutputTensor } from './session';
import { ModelLoadError } from './modelFolder';
import type { ExecutionDevice, ExecutionProviderSetting } from './types';

/** Where an output tensor lies in a reply's tensor file (float32 elements). */
export interface TensorPlacement {
  name: string;
  dims: number[];
  /** Offset in bytes into the reply's file; a multiple of 4. */
  byteOffset: number;
  length: number;
}

/** Messages from {@link ProcessSession} to its child process. */
export type ProcessRequest =
  | { type: 'open'; file: string; setting: ExecutionProviderSetting; tensorDir: string }
  | { type: 'run'; id: number; ids: number[]; fetches: string[] }
  | { type: 'release' };

/** Messages from the child process; a result's tensors are in `file`, which the receiver deletes. */
export type ProcessReply =
  | { type: 'opened'; device: ExecutionDevice; fallbackReason?: string; inputNames: string[]; outputNames: string[] }
  | { type: 'result'; id: number; file: string; tensors: TensorPlacement[] }
  | { type: 'failed'; id?: number; message: string; loadError: boolean }
  | { type: 'released' };

/** The model process ended (killed, crashed, out of memory) while or before a call ran. */
export class ModelProcessStoppedError extends Error {
  constructor(readonly reason: string) {
    super(`The model process stopped: ${reason}; it will restart on the next analysis.`);
    this.name = 'ModelProcessStoppedError';
  }
}

/** The entry script of the child process, next to this module (dist/ when bundled, out/ under tsc). */
export const MODEL_PROCESS_ENTRY = 'modelProcessMain.js';

interface Pending {
  resolve: (outputs: Record<string, OutputTensor>) => void;
  reject: (error: Error) => void;
}

interface Running {
  child: ChildProcess;
  tensorDir: string;
  /** The last lines the child wrote to stderr (onnxruntime's abort message, V8's out-of-memory report). */
  stderrTail: string;
  exited: Promise<void>;
}

/**
 * An onnxruntime session in a child process that is started on open, reused for every run and
 * stopped on release. When the process dies, the calls in flight and every later `run` fail with
 * one {@link ModelProcessStoppedError} until `restart` starts a new process on the same model
 * (`Analyzer.analyze` does at its start): an analysis never silently switches process midway.
 */
export class ProcessSession implements ForwardSession {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private running?: Running;
  private starting?: Promise<Running>;
  private releasedFlag = false;
  /** Why the last process ended, until a new one runs. */
  private died?: ModelProcessStoppedError;

  private constructor(
    private readonly file: string,
    private readonly setting: ExecutionProviderSetting,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  static async open(file: string, setting: ExecutionProviderSetting): Promise<OpenedSession<ProcessSession>> {
    const { running, reply } = await startProcess(file, setting);
    const session = new ProcessSession(file, setting, reply.inputNames, reply.outputNames);
    session.adopt(running);
    return { session, device: reply.device, fallbackReason: reply.fallbackReason };
  }

  /** The child's process id while one runs (tests and the end-to-end suite kill it). */
  get pid(): number | undefined {
    return this.running?.child.pid;
  }

  /** True once released, or while its process is dead and not restarted. */
  get stopped(): boolean {
    return this.releasedFlag || this.died !== undefined;
  }

  async run(ids: readonly number[], fetches: readonly string[]): Promise<Record<string, OutputTensor>> {
    if (this.releasedFlag) throw new Error('The model process was stopped: the model was released.');
    if (this.died) throw this.died;
    const running = this.running ?? (await this.restart());
    const id = this.nextId++;
    return new Promise((resolveRun, rejectRun) => {
      this.pending.set(id, { resolve: resolveRun, reject: rejectRun });
      // A send to a process that just died fails; its exit rejects this call with the exit's reason.
      running.child.send(
        { type: 'run', id, ids: [...ids], fetches: [...fetches] } satisfies ProcessRequest,
        () => undefined,
      );
    });
  }

  async release(): Promise<void> {
    this.releasedFlag = true;
    const running = this.running ?? (await this.starting?.catch(() => undefined));
    if (!running) return;
    const released = new Promise<void>((done) => {
      running.child.on('message', (reply: ProcessReply) => reply.type === 'released' && done());
    });
    running.child.send({ type: 'release' } satisfies ProcessRequest, () => undefined);
    // A child stuck in a native call is killed after a grace period rather than waited for.
    const grace = new Promise<void>((done) => setTimeout(done, 2000).unref());
    await Promise.race([released, running.exited, grace]);
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    await running.exited;
  }

  /** Starts a new process on the same model when the last one died; returns the running one otherwise. */
  restart(): Promise<Running> {
    if (this.releasedFlag) return Promise.reject(new Error('The model process was stopped: the model was released.'));
    if (this.running) return Promise.resolve(this.running);
    this.starting ??= startProcess(this.file, this.setting).then(
      ({ running }) => {
        this.starting = undefined;
        if (this.releasedFlag) {
          running.child.kill('SIGKILL');
          throw new Error('The model process was stopped: the model was released.');
        }
        this.adopt(running);
        return running;
      },
      (error: unknown) => {
        this.starting = undefined;
        throw error;
      },
    );
    return this.starting;
  }

  private adopt(running: Running): void {
    this.running = running;
    this.died = undefined;
    running.child.on('message', (reply: ProcessReply) => {
      if (reply.type !== 'result' && reply.type !== 'failed') return;
      const request = reply.id === undefined ? undefined : this.pending.get(reply.id);
      if (!request) return;
      this.pending.delete(reply.id!);
      if (reply.type === 'failed') {
        request.reject(reply.loadError ? new ModelLoadError(reply.message) : new Error(reply.message));
        return;
      }
      try {
        request.resolve(readTensors(reply.file, reply.tensors));
      } catch (error) {
        request.reject(new Error(`The model process's output could not be read: ${firstLine(error)}`));
      }
    });
    void running.exited.then(() => {
      if (this.running !== running) return;
      this.running = undefined;
      const error = new ModelProcessStoppedError(exitReason(running));
      if (!this.releasedFlag) this.died = error;
      for (const request of this.pending.values()) request.reject(error);
      this.pending.clear();
    });
  }
}

/** Forks the child, opens the model there and waits for its answer. */
async function startProcess(
  file: string,
  setting: ExecutionProviderSetting,
): Promise<{ running: Running; reply: Extract<ProcessReply, { type: 'opened' }> }> {
  const tensorDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'code-attention-'));
  // In VS Code's desktop extension host process.execPath is Electron: ELECTRON_RUN_AS_NODE makes it plain Node.
  // The model file on the command line names the process in `ps` (the end-to-end tests find it
  // so); the child ignores it.
  const child = fork(join(__dirname, MODEL_PROCESS_ENTRY), ['--model', file], {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    execArgv: [],
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
  const running: Running = {
    child,
    tensorDir,
    stderrTail: '',
    exited: new Promise<void>((done) => {
      child.once('exit', () => done());
      child.once('error', () => (child.pid === undefined ? done() : undefined));
    }).then(() => rmSync(tensorDir, { recursive: true, force: true })),
  };
  child.stderr?.on('data', (chunk: Buffer) => (running.stderrTail = (running.stderrTail + String(chunk)).slice(-2000)));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const reply = await new Promise<ProcessReply | undefined>((resolveReply) => {
    child.once('message', resolveReply);
    void running.exited.then(() => resolveReply(undefined));
    child.send({ type: 'open', file, setting, tensorDir } satisfies ProcessRequest, () => undefined);
  });
  if (reply?.type === 'opened') return { running, reply };
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await running.exited;
  if (reply?.type === 'failed') throw new ModelLoadError(reply.message);
  const why = spawnError ? firstLine(spawnError) : exitReason(running);
  throw new ModelLoadError(`The model process did not start (${why}).`);
}

function readTensors(file: string, placements: readonly TensorPlacement[]): Record<string, OutputTensor> {
  const bytes = readFileSync(file);
  unlinkSync(file);
  const outputs: Record<string, OutputTensor> = {};
  for (const placement of placements) {
    // Buffers start 8-byte aligned (also inside Node's pool) and offsets are multiples of 4.
    outputs[placement.name] = {
      data: new Float32Array(bytes.buffer, bytes.byteOffset + placement.byteOffset, placement.length),
      dims: placement.dims,
    };
  }
  return outputs;
}

function exitReason(running: Running): string {
  const { signalCode, exitCode } = running.child;
  const how = signalCode ? `signal ${signalCode}` : `exit code ${exitCode}`;
  const lastLine = running.stderrTail.trim().split('\n').pop()?.slice(0, 200);
  return lastLine ? `${how} (its last message: ${lastLine})` : how;
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .split('\n')[0]
    .slice(0, 200);
}
