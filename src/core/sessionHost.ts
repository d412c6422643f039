/**
 * What the two session hosts (the worker thread `modelWorker.ts` and the child process
 * `modelProcessMain.ts`) answer alike: opening a session and reporting a failure.
 */
import { ModelLoadError, openSession, type InProcessSession } from './model';
import type { ExecutionDevice, ExecutionProviderSetting } from './types';

export type OpenedReply = {
  type: 'opened';
  device: ExecutionDevice;
  fallbackReason?: string;
  inputNames: string[];
  outputNames: string[];
};
export type FailedReply = { type: 'failed'; id?: number; message: string; loadError: boolean };

/** The reply to a request that failed; `loadError` tells the caller to report it as a model-folder problem. */
export function failedReply(error: unknown, id?: number): FailedReply {
  const message = String((error as Error)?.message ?? error);
  return { type: 'failed', ...(id === undefined ? {} : { id }), message, loadError: error instanceof ModelLoadError };
}

/** Opens the session a host serves, with the reply that says how it went. */
export async function openHostedSession(
  file: string,
  setting: ExecutionProviderSetting,
): Promise<{ session?: InProcessSession; reply: OpenedReply | FailedReply }> {
  try {
    const opened = await openSession(file, setting);
    const { session } = opened;
    const names = { inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
    return {
      session,
      reply: { type: 'opened', device: opened.device, fallbackReason: opened.fallbackReason, ...names },
    };
  } catch (error) {
    return { reply: failedReply(error) };
  }
}
