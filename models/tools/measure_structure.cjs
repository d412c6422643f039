// Measures attention structure of an exported model over the files in examples/ with the
// project's CLI, and prints a Markdown section for the model card.
// Usage: node models/tools/measure_structure.cjs MODEL_DIR   (after `npm run build`)
const { execFileSync } = require('node:child_process');
const { readdirSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');
const model = process.argv[2];
const files = readdirSync(join(root, 'examples')).filter((file) => !file.endsWith('.jsonl'));
const reports = files.map((file) => JSON.parse(execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), 'analyze', join(root, 'examples', file), '--model', model, '--device', 'cpu', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })));
const layers = reports[0].model.layers;
const heads = reports[0].model.heads;
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const lines = [`Measured by \`node models/tools/measure_structure.cjs ${model.replace(root + '/', '')}\` over the ${files.length} files in examples/ (one per language), CAT-score as defined in the README (reference token types, AST distance, q = 0.75), mean over files:`, '', '| layer | CAT-score | shuffled baseline | difference | DFG share (Python) | DFG baseline |', '| ---: | ---: | ---: | ---: | ---: | ---: |'];
const python = reports.find((report) => report.language === 'python');
for (let layer = 0; layer < layers; layer++) {
  const cat = mean(reports.map((report) => report.scores.cat.score.perLayer[layer]));
  const baseline = mean(reports.map((report) => report.scores.cat.baseline.perLayer[layer]));
  const dfg = python?.scores.dataFlow;
  lines.push(`| ${layer} | ${cat.toFixed(3)} | ${baseline.toFixed(3)} | ${(cat - baseline).toFixed(3)} | ${dfg ? dfg.score.perLayer[layer].toFixed(3) : 'n/a'} | ${dfg ? dfg.baseline.perLayer[layer].toFixed(3) : 'n/a'} |`);
}
lines.push('', 'Structure heads (share of tokens whose strongest attention lands on the relation, mean over files; chance in brackets):', '');
for (const relation of ['previousToken', 'matchingBracket', 'parentLeaf', 'sibling']) {
  const ranked = [];
  for (let layer = 0; layer < layers; layer++) for (let head = 0; head < heads; head++) {
    const entries = reports.map((report) => report.scores.structureHeads.relations[relation]).filter((entry) => entry && entry.tokens > 0);
    ranked.push({ layer, head, accuracy: mean(entries.map((entry) => entry.accuracy[layer][head])), chance: mean(entries.map((entry) => entry.chance[layer][head])) });
  }
  ranked.sort((a, b) => b.accuracy - b.chance - (a.accuracy - a.chance));
  lines.push(`- ${relation}: ${ranked.slice(0, 3).map((entry) => `L${entry.layer}H${entry.head} ${entry.accuracy.toFixed(2)}`).join(', ')} (chance ${ranked[0].chance.toFixed(3)})`);
}
console.log(lines.join('\n'));
