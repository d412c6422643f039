// Runs a model.onnx on fixed inputs and prints its outputs as base64 float32 (for parity fixtures).
// Usage: node run_onnx_outputs.cjs MODEL.onnx INPUTS.json > OUTPUTS.json
// INPUTS.json: {"ids": [[…], …], "mask": [[…], …]} (rows of equal length).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const ort = require(require.resolve('onnxruntime-node', { paths: [process.cwd(), join(__dirname, '..', '..')] }));

async function main() {
  const [model, inputsFile] = process.argv.slice(2);
  const { ids, mask } = JSON.parse(readFileSync(inputsFile, 'utf8'));
  const shape = [ids.length, ids[0].length];
  const tensor = (rows) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), shape);
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
  const outputs = await session.run({ input_ids: tensor(ids), attention_mask: tensor(mask) });
  const result = {};
  for (const [name, value] of Object.entries(outputs)) {
    const data = Float32Array.from(value.data);
    result[name] = { dims: value.dims, float32Base64: Buffer.from(data.buffer).toString('base64') };
  }
  process.stdout.write(JSON.stringify(result));
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 1;
});
