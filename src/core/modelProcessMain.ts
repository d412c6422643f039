/**
 * The child process behind `ProcessSession` (modelProcess.ts): opens one onnxruntime session and
 * answers forward requests. Each result's tensors are written to one file in the folder the
 * parent chose; the reply says where each tensor lies in it.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { InProcessSession } from './model';
import type { ProcessReply, ProcessRequest, TensorPlacement } from './modelProcess';
import { failedReply, openHostedSession } from './sessionHost';

if (!process.send) throw new Error('modelProcessMain.js runs only as a child process with an IPC channel.');

let session: InProcessSession | undefined;
let tensorDir: string | undefined;
const reply = (message: ProcessReply) => process.send!(message);

// The parent went away (its extension host ended): nobody reads the results any more.
process.on('disconnect', () => {
  if (tensorDir) rmSync(tensorDir, { recursive: true, force: true });
  process.exit(0);
});

process.on('message', (request: ProcessRequest) => void answer(request));

async function answer(request: ProcessRequest): Promise<void> {
  switch (request.type) {
    case 'open': {
      tensorDir = request.tensorDir;
      const opened = await openHostedSession(request.file, request.setting);
      session = opened.session;
      reply(opened.reply);
      return;
    }
    case 'run':
      try {
        if (!session || !tensorDir) throw new Error('The model process has no open session.');
        const outputs = await session.run(request.ids, request.fetches);
        const file = join(tensorDir, `${request.id}.f32`);
        const tensors: TensorPlacement[] = [];
        const fd = openSync(file, 'w');
        try {
          let byteOffset = 0;
          for (const [name, output] of Object.entries(outputs)) {
            const bytes = new Uint8Array(output.data.buffer, output.data.byteOffset, output.data.byteLength);
            for (let written = 0; written < bytes.length;)
              written += writeSync(fd, bytes, written, bytes.length - written, byteOffset + written);
            tensors.push({ name, dims: output.dims, byteOffset, length: output.data.length });
            byteOffset += bytes.length;
          }
        } finally {
          closeSync(fd);
        }
        reply({ type: 'result', id: request.id, file, tensors });
      } catch (error) {
        reply(failedReply(error, request.id));
      }
      return;
    case 'release':
      await session?.release();
      session = undefined;
      reply({ type: 'released' });
      process.disconnect();
      return;
  }
}
