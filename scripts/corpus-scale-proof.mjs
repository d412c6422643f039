// The 10,000-function proof for `corpus` at data-set scale (too slow for `npm test`): builds a
// CodeSearchNet-shaped JSONL of real functions from the Python standard library, then checks that
// (1) an uninterrupted run, (2) a run interrupted by SIGINT and resumed, (3) a run killed with
// SIGKILL (a crash) and resumed, and (4) 3 shards run as 3 processes and merged all write the same
// numbers, bit for bit. Prints the timings. Usage (after npm run build):
//   node scripts/corpus-scale-proof.mjs [--lines 10000] [--workers 2] [--batch 8] [--dir DIR]
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const lines = Number(option('--lines', '10000'));
const workers = option('--workers', '2');
const batch = option('--batch', '8');
const dir = option('--dir', join(root, 'models', '_work', 'corpus-proof'));
mkdirSync(dir, { recursive: true });
const corpus = join(dir, `stdlib-${lines}.jsonl`);

function run(command, argv, { interruptAt, signal } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (data) => {
      stderr += data.toString();
      const done = [...stderr.matchAll(/(\d+)\/\d+ snippets/g)].map((match) => Number(match[1]));
      if (interruptAt && !sent && done.some((count) => count >= interruptAt)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.stdout.resume();
    child.on('exit', (code, killedBy) =>
      resolve({ code, signal: killedBy, seconds: (Date.now() - started) / 1000, stderr }),
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
function check(name, ok) {
  process.stdout.write(`${ok ? 'SAME' : 'DIFFERENT'}  ${name}\n`);
  if (!ok) process.exitCode = 1;
}

const built = await run(process.execPath, [
  join(root, 'dist', 'stdlib-corpus.js'),
  '--recursive',
  '--limit',
  String(lines),
  corpus,
]);
if (built.code !== 0) throw new Error(built.stderr);
process.stdout.write(
  `corpus: ${lines} functions of /usr/lib/python3.11 in ${corpus}; workers ${workers}, batch ${batch}\n`,
);

const whole = await corpusRun(join(dir, 'whole'));
process.stdout.write(
  `uninterrupted run: exit ${whole.code}, ${whole.seconds.toFixed(1)} s, ${(lines / whole.seconds).toFixed(1)} ` +
    `snippets/s\n`,
);

const third = Math.floor(lines / 3);
for (const signal of ['SIGINT', 'SIGKILL']) {
  const out = join(dir, `resumed-${signal}`);
  const first = await corpusRun(out, [], { interruptAt: third, signal });
  const second = await corpusRun(out, ['--resume']);
  process.stdout.write(
    `${signal} after ≥ ${third} snippets: exit ${first.code ?? first.signal} (${first.seconds.toFixed(1)} ` +
      `s), --resume: exit ${second.code} (${second.seconds.toFixed(1)} s)\n`,
  );
  check(`${signal} + --resume = uninterrupted`, second.code === 0 && numbers(out) === numbers(join(dir, 'whole')));
}

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
process.stdout.write(
  `3 shards in parallel + merge: exits ${shards.map((shard) => shard.code).join(', ')}, ` +
    `merge ${merged.code}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);
check(
  '3 shards merged = uninterrupted',
  merged.code === 0 && numbers(join(dir, 'merged')) === numbers(join(dir, 'whole')),
);
