// Writes each file of a corpus JSONL as the product feeds an encoder: its code tokens (tree-sitter
// leaves; a string literal whole; comments dropped) joined by one space, exactly the chunks that
// src/core/leafTokens.ts encodes. Training on this as well as on raw files keeps the bundled model's
// attention in the regime in which the CLI and the editor read it.
// Usage: node models/tools/leaf_text.cjs IN.jsonl OUT.jsonl   (after `npm run pretest`, which compiles out/)
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');
const { CodeParser } = require(join(root, 'out', 'src', 'core', 'parser.js'));
const { inputChunks } = require(join(root, 'out', 'src', 'core', 'leafTokens.js'));

async function main() {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error('Usage: node models/tools/leaf_text.cjs IN.jsonl OUT.jsonl');
    process.exit(2);
  }
  const parser = await CodeParser.create(join(root, 'grammars'));
  const lines = [];
  let files = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  for (const line of readFileSync(input, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const record = JSON.parse(line);
    const parsed = await parser.parse(record.text, record.language);
    const text = inputChunks(parsed)
      .map((chunk) => parsed.source.slice(chunk.startIndex, chunk.endIndex))
      .join(' ');
    lines.push(JSON.stringify({ ...record, text }));
    files++;
    bytesIn += record.text.length;
    bytesOut += text.length;
  }
  writeFileSync(output, lines.join('\n') + '\n');
  parser.dispose();
  console.log(`${files} files, ${bytesIn} → ${bytesOut} characters`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
