import type { ExecutionDevice } from './types';

/* The session interfaces shared by model.ts and the sessions that run elsewhere (modelProcess.ts),
 * apart from both so that neither imports the other. */

export interface OutputTensor {
  data: Float32Array;
  dims: number[];
}

/** What LoadedModel needs of an onnxruntime session, whichever thread runs it. */
export interface ForwardSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** One forward pass over `ids` (batch of one, no padding). */
  run(ids: readonly number[], fetches: readonly string[]): Promise<Record<string, OutputTensor>>;
  /** One forward pass over several inputs, right-padded with `padId` under attention_mask 0. */
  runBatch?(
    batch: ReadonlyArray<readonly number[]>,
    padId: number,
    fetches: readonly string[],
  ): Promise<Record<string, OutputTensor>>;
  release(): Promise<void>;
  /** True once `run` can only fail (released, its worker thread stopped, or its process died). */
  readonly stopped: boolean;
  /** Brings a stopped session back where that is possible (a model process that died). */
  restart?(): Promise<unknown>;
}

export interface OpenedSession<S extends ForwardSession = ForwardSession> {
  session: S;
  device: ExecutionDevice;
  fallbackReason?: string;
}
