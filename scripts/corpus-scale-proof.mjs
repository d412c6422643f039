// The 10,000-function proof for `corpus` at data-set scale (too slow for `npm test`): builds (or reuses) a
// CodeSearchNet-shaped JSONL of real functions from the Python standard library, then checks that
// (1) an uninterrupted run, (2) a run interrupted by SIGINT part-way and resumed, (3) a run killed with
// SIGKILL (a crash) part-way and resumed, and (4) 3 shards run as 3 processes and merged all write the same
// numbers, bit for bit (the JSON compared as text, less `mergedFrom`). Prints the timings and writes them to
// DIR/summary.md (appended). Usage (after npm run build; nice it on a shared machine):
//   nice -n 5 node scripts/corpus-scale-proof.mjs [--lines 10000] [--workers 2] [--batch 1] [--dir DIR]
//     [--steps whole,SIGINT,SIGKILL,shards]   (a subset compares with the DIR/whole.json an earlier run left)
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const lines = Number(option('--lines', '10000'));
const workers = option('--workers', '2');
const batch = option('--batch', '1');
const dir = option('--dir', join(root, 'models', '_work', 'corpus-proof'));
const steps = new Set(option('--steps', 'whole,SIGINT,SIGKILL,shards').split(','));
mkdirSync(dir, { recursive: true });
const corpus = join(dir, `stdlib-${lines}.jsonl`);
const report = [];
const say = (line) => {
  process.stdout.write(`${line}\n`);
  report.push(line);
};

function run(command, argv, { interruptAt, signal } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    let sentAt;
    child.stderr.on('data', (data) => {
      stderr += data.toString();
      const done = [...stderr.matchAll(/(\d+)\/\d+ snippets/g)].map((match) => Number(match[1]));
      if (interruptAt && sentAt === undefined && done.some((count) => count >= interruptAt)) {
        sentAt = Math.max(...done);
        child.kill(signal);
      }
    });
    child.stdout.on('data', (data) => (stdout += data.toString()));
    child.on('exit', (code, killedBy) =>
      resolve({ code, signal: killedBy, seconds: (Date.now() - started) / 1000, stderr, stdout, sentAt }),
    );
  });
}
const corpusRun = (out, extra = [], options) =>
  run(
    process.execPath,
    [cli, 'corpus', corpus, '--language', 'python', '--out', out, '--workers', workers, '--batch', batch, ...extra],
    options,
  );
const numbers = (prefix) => {
  const json = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
  delete json.mergedFrom;
  return JSON.stringify(json);
};
/** Lines the state file beside PREFIX says are done (what a crash or SIGINT left), or undefined without one. */
const linesInState = (prefix) => {
  if (!existsSync(`${prefix}.state.json`)) return undefined;
  const state = JSON.parse(readFileSync(`${prefix}.state.json`, 'utf8'));
  return state.models.reduce((sum, model) => sum + model.done.reduce((n, [from, to]) => n + to - from, 0), 0);
};
const failures = [];
function check(name, ok) {
  say(`${ok ? 'SAME' : 'DIFFERENT'}  ${name}`);
  if (!ok) failures.push(name);
}
const seconds = (value) => `${value.toFixed(1)} s`;

const proofStarted = Date.now();
if (!existsSync(corpus)) {
  const built = await run(process.execPath, [
    join(root, 'dist', 'stdlib-corpus.js'),
    '--recursive',
    '--limit',
    String(lines),
    corpus,
  ]);
  if (built.code !== 0) throw new Error(built.stderr);
}
const functions = readFileSync(corpus, 'utf8').split('\n').filter(Boolean).length;
if (functions !== lines)
  throw new Error(`${corpus} holds ${functions} functions, not ${lines}: delete it or pass --lines.`);
say(
  `corpus: ${functions} functions of /usr/lib/python3.11 (\`dist/stdlib-corpus.js --recursive\`) in ${corpus}; ` +
    `workers ${workers}, batch ${batch}; ${cpus().length} logical cores, load average ${loadavg()[0].toFixed(1)} ` +
    `at the start`,
);

if (steps.has('whole')) {
  const whole = await corpusRun(join(dir, 'whole'));
  say(
    `uninterrupted run: exit ${whole.code}, ${seconds(whole.seconds)} (${(lines / whole.seconds).toFixed(1)} ` +
      `snippets/s, model loads included)`,
  );
  if (whole.code !== 0) throw new Error(`the uninterrupted run failed:\n${whole.stderr}`);
} else if (existsSync(join(dir, 'whole.json'))) {
  say(`uninterrupted run: ${join(dir, 'whole.json')} from an earlier run of this script`);
} else throw new Error(`--steps without "whole" needs the ${join(dir, 'whole.json')} of an earlier run`);
const summary = JSON.parse(readFileSync(join(dir, 'whole.json'), 'utf8'));
say(
  `  ${summary.snippets} snippets scored, skipped: ${JSON.stringify(summary.skipped)}; last layer CAT ` +
    `${summary.perLayer.at(-1).mean.toFixed(4)} against the baseline ${summary.perLayer.at(-1).baselineMean.toFixed(4)}`,
);

const third = Math.floor(lines / 3);
for (const signal of ['SIGINT', 'SIGKILL'].filter((step) => steps.has(step))) {
  const out = join(dir, `resumed-${signal}`);
  const first = await corpusRun(out, [], { interruptAt: third, signal });
  const kept = linesInState(out);
  const partial = signal === 'SIGINT' ? JSON.parse(readFileSync(`${out}.json`, 'utf8')).partial : undefined;
  const second = await corpusRun(out, ['--resume']);
  say(
    `${signal} at ${first.sentAt ?? 'never'} of ${lines} snippets: exit ${first.code ?? first.signal} ` +
      `(${seconds(first.seconds)}); the state file kept ${kept ?? 'nothing'} lines` +
      (partial ? `, the JSON is marked partial (${partial.linesDone}/${partial.linesTotal})` : '') +
      `; --resume: exit ${second.code} (${seconds(second.seconds)})`,
  );
  const reallyInterrupted = first.sentAt !== undefined && kept !== undefined && kept > 0 && kept < lines;
  check(
    `${signal} part-way + --resume = uninterrupted`,
    reallyInterrupted && second.code === 0 && numbers(out) === numbers(join(dir, 'whole')),
  );
}

if (steps.has('shards')) {
  const started = Date.now();
  const shards = await Promise.all(
    [1, 2, 3].map((k) => corpusRun(join(dir, `shard-${k}`), ['--shard', `${k}/3`, '--workers', '1'])),
  );
  const merged = await run(process.execPath, [
    cli,
    'corpus',
    'merge',
    ...[1, 2, 3].map((k) => join(dir, `shard-${k}.json`)),
    '--out',
    join(dir, 'merged'),
  ]);
  say(
    `3 shards (3 processes at once, 1 worker each) + merge: exits ${shards.map((shard) => shard.code).join(', ')}, ` +
      `merge ${merged.code}, ${seconds((Date.now() - started) / 1000)}`,
  );
  check(
    '3 shards merged = uninterrupted',
    shards.every((shard) => shard.code === 0) &&
      merged.code === 0 &&
      numbers(join(dir, 'merged')) === numbers(join(dir, 'whole')),
  );
}
say(
  `whole proof: ${seconds((Date.now() - proofStarted) / 1000)}; load average ${loadavg()[0].toFixed(1)} at the end; ` +
    (failures.length ? `DIFFERENT: ${failures.join('; ')}` : 'every result the same, bit for bit'),
);
appendFileSync(
  join(dir, 'summary.md'),
  `## ${new Date().toISOString()}: ${process.argv.slice(2).join(' ')}\n\n${report.join('\n')}\n\n`,
);
if (failures.length) process.exitCode = 1;
