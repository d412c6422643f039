/**
 * The worker thread behind `WorkerSession` (model.ts): opens one onnxruntime session and answers
 * forward requests, transferring the output buffers to the caller's thread.
 */
import { parentPort } from 'node:worker_threads';
import type { InProcessSession, WorkerReply, WorkerRequest } from './model';
import { failedReply, openHostedSession } from './sessionHost';

const port = parentPort;
if (!port) throw new Error('modelWorker.js runs only as a worker thread.');

let session: InProcessSession | undefined;
const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on('message', (request: WorkerRequest) => void answer(request));

async function answer(request: WorkerRequest): Promise<void> {
  switch (request.type) {
    case 'open': {
      const opened = await openHostedSession(request.file, request.setting);
      session = opened.session;
      reply(opened.reply);
      return;
    }
    case 'run':
    case 'runBatch':
      try {
        if (!session) throw new Error('The model worker has no open session.');
        const outputs =
          request.type === 'run'
            ? await session.run(request.ids, request.fetches)
            : await session.runBatch(request.batch, request.padId, request.fetches);
        const buffers = new Set(Object.values(outputs).map((output) => output.data.buffer as ArrayBuffer));
        reply({ type: 'result', id: request.id, outputs }, [...buffers]);
      } catch (error) {
        reply(failedReply(error, request.id));
      }
      return;
    case 'release':
      await session?.release();
      session = undefined;
      reply({ type: 'released' });
      return;
  }
}
