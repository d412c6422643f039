// Runs two model.onnx files on the same inputs and prints the largest difference of each output.
// Usage: node compare_onnx.cjs A.onnx B.onnx INPUTS.json [TOLERANCE]   (default 1e-5; exit 1 above it)
// Attentions and hidden states are held to TOLERANCE absolutely; value norms (tens to hundreds at
// real sizes) relative to their largest value.
// INPUTS.json: [{"ids": [[…]], "mask": [[…]]}, …] (each a batch of rows of equal length).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const ort = require(require.resolve('onnxruntime-node', { paths: [process.cwd(), join(__dirname, '..', '..')] }));

async function outputsOf(model, batch) {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
  const shape = [batch.ids.length, batch.ids[0].length];
  const tensor = (rows) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), shape);
  const outputs = await session.run({ input_ids: tensor(batch.ids), attention_mask: tensor(batch.mask) });
  await session.release();
  return outputs;
}

async function main() {
  const [a, b, inputsFile, tolerance = '1e-5'] = process.argv.slice(2);
  const batches = JSON.parse(readFileSync(inputsFile, 'utf8'));
  for (const batch of batches) {
    const first = await outputsOf(a, batch);
    const second = await outputsOf(b, batch);
    for (const name of Object.keys(first)) {
      if (!second[name]) throw new Error(`${b} has no output ${name}`);
      if (first[name].dims.join() !== second[name].dims.join())
        throw new Error(`${name}: shape [${first[name].dims}] against [${second[name].dims}]`);
      let largest = 0;
      let scale = 0;
      const x = first[name].data;
      const y = second[name].data;
      for (let i = 0; i < x.length; i++) {
        largest = Math.max(largest, Math.abs(x[i] - y[i]));
        scale = Math.max(scale, Math.abs(x[i]));
      }
      const shape = first[name].dims.join(' × ');
      const batchShape = `${batch.ids.length} × ${batch.ids[0].length}`;
      const relative = largest / scale;
      const measures =
        `max difference ${largest.toExponential(2)}, ` +
        `relative to the largest value ${relative.toExponential(2)}`;
      console.log(`batch ${batchShape}  ${name} [${shape}]: ${measures}`);
      const held = name === 'value_norms' ? relative : largest;
      if (!(held <= Number(tolerance))) process.exitCode = 1;
    }
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 2;
});
