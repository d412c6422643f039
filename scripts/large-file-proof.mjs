// A large file through the CLI, with the resident memory of the CLI process sampled over time
// (too slow for `npm test`): builds a Python file of about --kb KB from copies of pprint.py (each
// copy's functions and classes renamed, so no two windows are alike; with --stdlib DIR, of the real
// .py files of DIR, such as /usr/lib/python3.11, in name order), runs
// `node dist/cli.js analyze FILE --model DIR` on it, reads the child's VmRSS from /proc once a second
// and prints the curve (MiB against elapsed seconds) and a summary as JSON. Linux only (/proc).
// Usage (after npm run build):
//   node scripts/large-file-proof.mjs [--model DIR] [--kb 1000] [--stdlib DIR] [--interval 1] [--out FILE.json]
//     [-- CLI ARGS]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const cliArgs = args.includes('--') ? args.slice(args.indexOf('--') + 1) : [];
const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
const option = (name, fallback) => (own.includes(name) ? own[own.indexOf(name) + 1] : fallback);
const modelDir = option('--model', join(root, 'models', 'code-attention-mini'));
const targetBytes = Number(option('--kb', '1000')) * 1000;
const intervalMs = Number(option('--interval', '1')) * 1000;
const outFile = option('--out');

const copies = [];
let bytes = 0;
if (own.includes('--stdlib')) {
  // Distinct real modules instead of renamed copies: the standard library's .py files in name order.
  const folder = option('--stdlib');
  for (const name of readdirSync(folder)
    .filter((entry) => entry.endsWith('.py'))
    .sort()) {
    if (bytes >= targetBytes) break;
    const text = readFileSync(join(folder, name), 'utf8');
    copies.push(text);
    bytes += Buffer.byteLength(text, 'utf8') + 1;
  }
} else {
  const source = ['/usr/lib/python3.11/pprint.py', join(root, 'test', 'fixtures', 'pprint.py')].find(existsSync);
  const base = readFileSync(source, 'utf8');
  for (let copy = 0; bytes < targetBytes; copy++) {
    const text = base.replace(/^(\s*)(def|class) (\w+)/gm, `$1$2 $3_${copy}`);
    copies.push(text);
    bytes += Buffer.byteLength(text, 'utf8') + 1;
  }
}
// Whole lines up to the target size (the CLI's default limit is 1,000,000 bytes).
let text = copies.join('\n');
if (Buffer.byteLength(text, 'utf8') > targetBytes) {
  const lines = text.split('\n');
  let size = 0;
  let keep = 0;
  while (keep < lines.length && size + Buffer.byteLength(lines[keep], 'utf8') + 1 <= targetBytes)
    size += Buffer.byteLength(lines[keep++], 'utf8') + 1;
  text = lines.slice(0, keep).join('\n') + '\n';
}
const folder = mkdtempSync(join(tmpdir(), 'cal-large-file-'));
const file = join(folder, 'large.py');
writeFileSync(file, text);

const rssMiB = (pid) => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
};

const started = Date.now();
const child = spawn(
  process.execPath,
  [join(root, 'dist', 'cli.js'), 'analyze', file, '--model', modelDir, ...cliArgs],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let stdout = '';
let stderr = '';
child.stdout.on('data', (data) => (stdout += data.toString()));
child.stderr.on('data', (data) => (stderr += data.toString()));
const samples = [];
const timer = setInterval(() => {
  const rss = rssMiB(child.pid);
  if (rss !== undefined) samples.push([Math.round((Date.now() - started) / 100) / 10, Math.round(rss)]);
  // The curve so far, for a run stopped before its end.
  if (outFile && samples.length % 30 === 0) writeFileSync(outFile, JSON.stringify({ partial: true, samples }) + '\n');
}, intervalMs);
const code = await new Promise((resolve) => child.on('close', resolve));
clearInterval(timer);
rmSync(folder, { recursive: true, force: true });

const seconds = (Date.now() - started) / 1000;
const windowsLine = /analysed in (\d+) windows/.exec(stdout);
const at = (fraction) => samples[Math.min(samples.length - 1, Math.floor(fraction * samples.length))]?.[1];
const secondHalf = samples.slice(Math.floor(samples.length / 2));
// Growth over the second half of the run, MiB per minute (least squares): flat memory is about 0.
let slope;
if (secondHalf.length >= 2) {
  const meanT = secondHalf.reduce((sum, [t]) => sum + t, 0) / secondHalf.length;
  const meanR = secondHalf.reduce((sum, [, r]) => sum + r, 0) / secondHalf.length;
  const covariance = secondHalf.reduce((sum, [t, r]) => sum + (t - meanT) * (r - meanR), 0);
  const variance = secondHalf.reduce((sum, [t]) => sum + (t - meanT) ** 2, 0);
  slope = variance > 0 ? (covariance / variance) * 60 : 0;
}
const summary = {
  model: modelDir,
  bytes: Buffer.byteLength(text, 'utf8'),
  lines: text.split('\n').length - 1,
  windows: windowsLine ? Number(windowsLine[1]) : undefined,
  exitCode: code,
  seconds,
  peakRssMiB: Math.max(...samples.map(([, r]) => r)),
  rssMiBAt: { '10%': at(0.1), '25%': at(0.25), '50%': at(0.5), '75%': at(0.75), '95%': at(0.95) },
  secondHalfGrowthMiBPerMinute: slope === undefined ? undefined : Math.round(slope * 10) / 10,
  stderr: stderr.trim().split('\n').slice(-3).join(' | ') || undefined,
};
const report = { summary, samples };
if (outFile) writeFileSync(outFile, JSON.stringify(report, null, 1) + '\n');
process.stdout.write(JSON.stringify(summary, null, 1) + '\n');
process.exitCode = code === 0 ? 0 : 1;
