// How the model process hands attention tensors back (src/core/modelProcess.ts): a child fills a
// Float32Array of one window's attentions and the parent receives it, either V8-serialized through
// the IPC channel (`fork` with serialization 'advanced') or written to a file in a memory-backed
// folder (/dev/shm where it exists) and read back. Prints the median round trip of each, then the
// bundled model's forward pass in this thread, a worker thread and the model process.
// Usage: node scripts/bench-transfer.mjs [REPEATS]
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === '--child') {
  process.on('message', ({ length, via, dir }) => {
    const data = new Float32Array(length).fill(0.5);
    if (via === 'ipc') return process.send({ data });
    const file = join(dir, `${Math.random().toString(36).slice(2)}.f32`);
    writeFileSync(file, new Uint8Array(data.buffer));
    process.send({ file, length });
  });
} else {
  const repeats = Number(process.argv[2] ?? 7);
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'cal-transfer-'));
  const child = fork(fileURLToPath(import.meta.url), ['--child'], { serialization: 'advanced' });
  const roundTrip = (length, via) =>
    new Promise((resolve) => {
      const started = performance.now();
      child.once('message', (reply) => {
        let data = reply.data;
        if (via === 'file') {
          const bytes = readFileSync(reply.file);
          unlinkSync(reply.file);
          data = new Float32Array(bytes.buffer, bytes.byteOffset, reply.length);
        }
        if (data.length !== length) throw new Error(`received ${data.length} of ${length} floats`);
        resolve(performance.now() - started);
      });
      child.send({ length, via, dir });
    });
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(
    `| attentions of one 512-subword window | IPC, V8 serialization (ms) | file ` +
      `in ${dir.split('/').slice(0, -1).join('/')} (ms) |`,
  );
  console.log('| --- | ---: | ---: |');
  for (const [label, layers, heads] of [
    ['4 layers × 4 heads (bundled model)', 4, 4],
    ['12 layers × 12 heads (CodeBERT-shaped)', 12, 12],
  ]) {
    const length = layers * heads * 512 * 512;
    const times = { ipc: [], file: [] };
    for (let repeat = 0; repeat < repeats; repeat++)
      for (const via of ['ipc', 'file']) times[via].push(await roundTrip(length, via));
    console.log(
      `| ${label}, ${((length * 4) / 2 ** 20).toFixed(0)} MiB | ${median(times.ipc).toFixed(0)} ` +
        `| ${median(times.file).toFixed(0)} |`,
    );
  }
  child.kill();
  rmSync(dir, { recursive: true, force: true });

  // The whole forward pass of the bundled model per thread option (needs `npm run pretest`'s out/).
  const compiled = join(fileURLToPath(new URL('..', import.meta.url)), 'out', 'src', 'core', 'model.js');
  if (existsSync(compiled)) {
    const { createRequire } = await import('node:module');
    const { LoadedModel } = createRequire(import.meta.url)(compiled);
    const root = fileURLToPath(new URL('..', import.meta.url));
    const source = readFileSync(join(root, 'examples', 'lru_cache.py'), 'utf8').repeat(3);
    console.log('\n| forward pass, bundled model, 512 subwords | median (ms) |\n| --- | ---: |');
    for (const thread of ['main', 'worker', 'process']) {
      const model = await LoadedModel.load(join(root, 'models', 'code-attention-mini'), {
        executionProvider: 'cpu',
        thread,
      });
      const ids = [0, ...model.tokenizer.encodeText(source).slice(0, 510), 2];
      const times = [];
      for (let repeat = 0; repeat < repeats; repeat++) {
        const started = performance.now();
        await model.forward(ids);
        times.push(performance.now() - started);
      }
      await model.dispose();
      console.log(`| thread: '${thread}' | ${median(times).toFixed(0)} |`);
    }
  }
}
