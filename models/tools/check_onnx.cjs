// Runs an exported model in onnxruntime-node and compares it with PyTorch's outputs.
// Usage: node check_onnx.cjs PAYLOAD.json (written by models/export_onnx.py). Exit 1 on mismatch.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const ort = require(require.resolve('onnxruntime-node', { paths: [process.cwd(), join(__dirname, '..', '..')] }));

async function main() {
  const payload = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(payload.model, { executionProviders: ['cpu'] });
  const batchSize = payload.inputs.length / 2;
  const batch = payload.inputs.slice(0, batchSize);
  const width = batch[0].ids.length;
  const tensor = (rows, key) => new ort.Tensor('int64', BigInt64Array.from(rows.flatMap((row) => row[key].map(BigInt))), [rows.length, width]);
  const outputs = await session.run({ input_ids: tensor(batch, 'ids'), attention_mask: tensor(batch, 'mask') });
  let worst = 0;
  for (const [name, expected] of Object.entries(payload.expected)) {
    const actual = outputs[name].data;
    if (actual.length !== expected.length) throw new Error(`${name}: ${actual.length} values, PyTorch has ${expected.length}`);
    let maxDiff = 0;
    let largest = 0;
    for (let i = 0; i < actual.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
      largest = Math.max(largest, Math.abs(expected[i]));
    }
    console.log(`${name}: shape [${outputs[name].dims.join(', ')}], max |onnxruntime − PyTorch| = ${maxDiff.toExponential(2)}`);
    // The Gram entries are squared norms (hundreds to thousands): float32 rounding there is relative, so is the check.
    if (name === 'value_gram' && largest > 1) {
      maxDiff /= largest;
      console.log(`${name}: relative to its largest entry ${largest.toFixed(1)}: ${maxDiff.toExponential(2)}`);
    }
    worst = Math.max(worst, name === 'last_hidden_state' ? 0 : maxDiff);
    if (maxDiff > payload.tolerance) {
      console.error(`${name} differs from PyTorch by ${maxDiff} (> ${payload.tolerance})`);
      process.exitCode = 1;
    }
  }
  // Unpadded single rows must give the same attentions as their padded batch rows.
  const dims = outputs.attentions.dims;
  for (let b = 0; b < batchSize; b++) {
    const single = payload.inputs[batchSize + b];
    const n = single.ids.length;
    const one = await session.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(single.ids.map(BigInt)), [1, n]),
      attention_mask: new ort.Tensor('int64', BigInt64Array.from(single.mask.map(BigInt)), [1, n]),
    });
    const [layers, , heads, seq] = dims;
    let maxDiff = 0;
    for (let l = 0; l < layers; l++) for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const padded = outputs.attentions.data[((((l * batchSize + b) * heads + h) * seq + i) * seq) + j];
      const alone = one.attentions.data[(((l * heads + h) * n + i) * n) + j];
      maxDiff = Math.max(maxDiff, Math.abs(padded - alone));
    }
    console.log(`row ${b} (${n} tokens) alone vs padded batch: max attention difference ${maxDiff.toExponential(2)}`);
    if (maxDiff > payload.tolerance) process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 1;
});
