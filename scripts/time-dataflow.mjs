#!/usr/bin/env node
// Times the data-flow stage alone (parse once, then extractDataFlow repeatedly) on real files.
// Needs the compiled tree: run `npm run pretest` first.
// Usage: node scripts/time-dataflow.mjs [--runs N] FILE…   (the language comes from the extension)
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const load = (module) => {
  try {
    return require(join(root, 'out', 'src', 'core', module));
  } catch {
    console.error(`time-dataflow: ${module}.js is not built; run "npm run pretest" first`);
    process.exit(2);
  }
};
const { CodeParser } = load('parser');
const { languageForFile } = load('languages');
const { extractDataFlow } = load('dataflow/dataFlow');

const args = process.argv.slice(2);
let runs = 20;
const runsAt = args.indexOf('--runs');
if (runsAt >= 0) {
  runs = Number(args[runsAt + 1]);
  args.splice(runsAt, 2);
}
if (!Number.isInteger(runs) || runs < 1 || args.length === 0) {
  console.error('usage: node scripts/time-dataflow.mjs [--runs N] FILE…');
  process.exit(2);
}

const parser = await CodeParser.create(join(root, 'grammars'));
console.log('file  tokens  edges  wall ms/run  CPU ms/run (process, all threads)');
for (const file of args) {
  const language = languageForFile(file);
  if (!language) {
    console.error(`time-dataflow: ${file}: no supported language for this extension`);
    process.exitCode = 1;
    continue;
  }
  const parsed = await parser.parse(readFileSync(file, 'utf8'), language);
  const graph = extractDataFlow(parsed);
  for (let warm = 0; warm < 2; warm++) extractDataFlow(parsed);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let run = 0; run < runs; run++) extractDataFlow(parsed);
  const wall = (performance.now() - started) / runs;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000 / runs;
  const columns = [basename(file), parsed.tokens.length, graph.edges.length, wall.toFixed(1), cpuMs.toFixed(1)];
  console.log(columns.join('  '));
}
parser.dispose();
