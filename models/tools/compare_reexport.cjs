// Runs two exported models on the same inputs and compares every output they share, value by value.
// Usage: node compare_reexport.cjs OLD_MODEL.onnx NEW_MODEL.onnx [LENGTHS]   (default lengths 16,77,256,512)
// Inputs: <s> + pseudo-random ids + </s> of each length (seeded), one at a time and as one padded batch.
// Prints, per output, how many values differ and the largest difference; exit 1 if any shared output differs.
const { join } = require('node:path');
const ort = require(require.resolve('onnxruntime-node', { paths: [process.cwd(), join(__dirname, '..', '..')] }));

function inputsOf(lengths, vocabulary) {
  let seed = 12345;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  return lengths.map((length) => [0, ...Array.from({ length: length - 2 }, () => 5 + Math.floor(random() * (vocabulary - 5))), 2]);
}

function feeds(rows) {
  const width = Math.max(...rows.map((row) => row.length));
  const ids = new BigInt64Array(rows.length * width).fill(1n);
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((row, r) => row.forEach((id, c) => ((ids[r * width + c] = BigInt(id)), (mask[r * width + c] = 1n))));
  return { input_ids: new ort.Tensor('int64', ids, [rows.length, width]), attention_mask: new ort.Tensor('int64', mask, [rows.length, width]) };
}

async function main() {
  const [oldPath, newPath, lengthList] = process.argv.slice(2);
  if (!oldPath || !newPath) throw new Error('usage: node compare_reexport.cjs OLD_MODEL.onnx NEW_MODEL.onnx [LENGTHS]');
  const options = { executionProviders: ['cpu'], intraOpNumThreads: 1 };
  const before = await ort.InferenceSession.create(oldPath, options);
  const after = await ort.InferenceSession.create(newPath, options);
  const shared = before.outputNames.filter((name) => after.outputNames.includes(name));
  const added = after.outputNames.filter((name) => !before.outputNames.includes(name));
  const rows = inputsOf((lengthList ?? '16,77,256,512').split(',').map(Number), 8192);
  let differing = 0;
  for (const [what, batch] of [...rows.map((row) => [`length ${row.length}`, [row]]), ['padded batch', rows]]) {
    const [a, b] = [await before.run(feeds(batch)), await after.run(feeds(batch))];
    for (const name of shared) {
      let count = 0;
      let largest = 0;
      for (let k = 0; k < a[name].data.length; k++) {
        if (a[name].data[k] === b[name].data[k] || (Number.isNaN(a[name].data[k]) && Number.isNaN(b[name].data[k]))) continue;
        count++;
        largest = Math.max(largest, Math.abs(a[name].data[k] - b[name].data[k]));
      }
      differing += count;
      console.log(`${what}: ${name} [${a[name].dims.join(', ')}]: ${count} of ${a[name].data.length} values differ` + (count ? ` (largest ${largest})` : ''));
    }
  }
  console.log(`outputs only in the new model: ${added.join(', ') || 'none'}`);
  console.log(differing ? `${differing} values differ` : 'every shared output is bit-identical');
  if (differing) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 1;
});
