// Forward time and peak memory of an exported model in onnxruntime-node (CPU), batch 1.
// Usage: node models/tools/bench_forward.cjs MODEL_DIR [LENGTHS=128,256,512] [REPEATS=5] [THREADS=2]
// Prints one JSON line per length: median and min wall time of session.run over REPEATS runs
// (after one warm-up run), and the process's peak resident set size so far (MB). Run one model
// per process so that the peak RSS belongs to that model alone.
const { statSync } = require('node:fs');
const { join } = require('node:path');
const ort = require(require.resolve('onnxruntime-node', { paths: [process.cwd(), join(__dirname, '..', '..')] }));

async function main() {
  const dir = process.argv[2];
  const lengths = (process.argv[3] || '128,256,512').split(',').map(Number);
  const repeats = Number(process.argv[4] || 5);
  const threads = Number(process.argv[5] || 2);
  const modelPath = join(dir, 'model.onnx');
  const loadStart = performance.now();
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 });
  const loadMs = performance.now() - loadStart;
  console.log(JSON.stringify({ model: dir, onnxMB: +(statSync(modelPath).size / 1e6).toFixed(1), loadMs: Math.round(loadMs), rssAfterLoadMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
  for (const length of lengths) {
    const ids = new BigInt64Array(length);
    for (let i = 0; i < length; i++) ids[i] = BigInt(i === 0 ? 0 : i === length - 1 ? 2 : 5 + ((i * 7919) % 8000));
    const feeds = { input_ids: new ort.Tensor('int64', ids, [1, length]), attention_mask: new ort.Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]) };
    await session.run(feeds);
    const times = [];
    for (let r = 0; r < repeats; r++) {
      const start = performance.now();
      await session.run(feeds);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    console.log(JSON.stringify({ length, medianMs: Math.round(times[Math.floor(times.length / 2)]), minMs: Math.round(times[0]), peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
  }
}

main().catch((error) => { console.error(error); process.exit(1); });
