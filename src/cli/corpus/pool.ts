/** Where corpus lines are scored: in this process, or in N worker processes (dist/corpusWorker.js). */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Analyzer } from '../../core/pipeline';
import { ModelLoadError } from '../../core/model';
import type { ExecutionDevice, ExecutionProviderSetting, ModelInfo } from '../../core/types';
import type { CorpusWorkerReply, CorpusWorkerRequest } from '../corpusWorker';
import { scoreItems, type CorpusItem, type ScoreSettings } from './score';
import type { SnippetOutcome } from './totals';

export interface ScoringPool {
  readonly info: ModelInfo;
  readonly device: ExecutionDevice;
  readonly fallbackReason?: string;
  /** How many chunks can run at once. */
  readonly size: number;
  score(items: CorpusItem[], settings: ScoreSettings): Promise<SnippetOutcome[]>;
  /** Stops at once: chunks in flight are rejected (worker processes) or finish (in process). */
  close(): Promise<void>;
}

export interface PoolOptions {
  modelDir: string;
  device: ExecutionProviderSetting;
  workers: number;
  threadsPerWorker: number;
}

export async function openPool(options: PoolOptions): Promise<ScoringPool> {
  return options.workers <= 1 ? InProcessPool.open(options) : ProcessPool.open(options);
}

class InProcessPool implements ScoringPool {
  readonly size = 1;
  private constructor(private readonly analyzer: Analyzer) {}

  static async open(options: PoolOptions): Promise<InProcessPool> {
    return new InProcessPool(
      await Analyzer.create({
        modelDir: options.modelDir,
        executionProvider: options.device,
        intraOpThreads: options.threadsPerWorker,
      }),
    );
  }

  get info(): ModelInfo {
    return this.analyzer.model.info;
  }
  get device(): ExecutionDevice {
    return this.analyzer.model.device;
  }
  get fallbackReason(): string | undefined {
    return this.analyzer.model.fallbackReason;
  }

  score(items: CorpusItem[], settings: ScoreSettings): Promise<SnippetOutcome[]> {
    return scoreItems(this.analyzer, items, settings);
  }

  close(): Promise<void> {
    return this.analyzer.dispose();
  }
}

interface WorkerSlot {
  child: ChildProcess;
  busy: boolean;
  pending?: { id: number; resolve: (outcomes: SnippetOutcome[]) => void; reject: (error: Error) => void };
}

class ProcessPool implements ScoringPool {
  private nextId = 0;
  private closed = false;
  private readonly waiting: Array<() => void> = [];

  private constructor(
    private readonly slots: WorkerSlot[],
    readonly info: ModelInfo,
    readonly device: ExecutionDevice,
    readonly fallbackReason?: string,
  ) {
    for (const slot of slots) {
      slot.child.on('message', (reply: CorpusWorkerReply) => {
        const pending = slot.pending;
        if (!pending) return;
        slot.pending = undefined;
        slot.busy = false;
        if (reply.type === 'scored') pending.resolve(reply.outcomes);
        else pending.reject(new Error(reply.type === 'failed' ? reply.message : `unexpected reply ${reply.type}`));
        this.waiting.shift()?.();
      });
      slot.child.on('exit', (code, signal) => {
        slot.pending?.reject(new Error(`A corpus worker process stopped (${signal ?? `exit code ${code}`}).`));
        slot.pending = undefined;
      });
    }
  }

  get size(): number {
    return this.slots.length;
  }

  static async open(options: PoolOptions): Promise<ProcessPool> {
    const script = join(__dirname, 'corpusWorker.js');
    const slots: WorkerSlot[] = [];
    const opened: Array<Promise<CorpusWorkerReply>> = [];
    for (let index = 0; index < options.workers; index++) {
      // Advanced serialisation keeps NaN and every double as it is.
      const child = fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      slots.push({ child, busy: false });
      opened.push(
        new Promise<CorpusWorkerReply>((resolve) => {
          child.once('message', resolve);
          child.once('exit', (code, signal) =>
            resolve({
              type: 'failed',
              message: `A corpus worker process stopped while loading the model (${signal ?? `exit code ${code}`}).`,
              loadError: false,
            }),
          );
          child.send({
            type: 'open',
            modelDir: options.modelDir,
            device: options.device,
            threads: options.threadsPerWorker,
          } satisfies CorpusWorkerRequest);
        }),
      );
    }
    const replies = await Promise.all(opened);
    const failed = replies.find((reply) => reply.type !== 'opened');
    if (failed) {
      for (const slot of slots) slot.child.kill('SIGTERM');
      const message = failed.type === 'failed' ? failed.message : 'A corpus worker process did not open the model.';
      throw failed.type === 'failed' && failed.loadError ? new ModelLoadError(message) : new Error(message);
    }
    const first = replies[0] as Extract<CorpusWorkerReply, { type: 'opened' }>;
    return new ProcessPool(slots, first.info, first.device, first.fallbackReason);
  }

  async score(items: CorpusItem[], settings: ScoreSettings): Promise<SnippetOutcome[]> {
    let slot = this.slots.find((candidate) => !candidate.busy);
    while (!slot) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.closed) throw new Error('The corpus workers were stopped.');
      slot = this.slots.find((candidate) => !candidate.busy);
    }
    if (this.closed) throw new Error('The corpus workers were stopped.');
    const chosen = slot;
    chosen.busy = true;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      chosen.pending = { id, resolve, reject };
      chosen.child.send({ type: 'score', id, items, settings } satisfies CorpusWorkerRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (slot.child.exitCode !== null || slot.child.signalCode !== null) return resolve();
            slot.child.once('exit', () => resolve());
            slot.child.kill('SIGTERM');
          }),
      ),
    );
    for (const wake of this.waiting.splice(0)) wake();
  }
}
