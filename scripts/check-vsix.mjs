// Checks what a VSIX holds: every file the installed extension needs (bundles, grammars, each file of
// the bundled models, webview assets, walkthrough media, onnxruntime-node with this target's
// binaries), and nothing else: no other platform's binaries, no CUDA/TensorRT provider libraries, no
// source maps, sources, tests, models/_work, .cache or docs. For the platform this runs on it also
// unpacks the VSIX and loads the bundled model with the shipped onnxruntime-node.
// Usage: node scripts/check-vsix.mjs FILE.vsix…   (prints the problems; exit code 1 when there are any)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** VSIX target → onnxruntime-node's folder names (bin/napi-v6/PLATFORM/ARCH). */
export const TARGETS = {
  'linux-x64': ['linux', 'x64'],
  'linux-arm64': ['linux', 'arm64'],
  'darwin-arm64': ['darwin', 'arm64'],
  'win32-x64': ['win32', 'x64'],
  'win32-arm64': ['win32', 'arm64'],
};
export const BUNDLED_MODELS = [
  'code-attention-mini',
  'code-attention-mini-early',
  'code-attention-mini-decoder',
  'code-attention-mini-decoder-early',
];
// vsce stores README.md and CHANGELOG.md as readme.md and changelog.md, LICENSE as LICENSE.txt.
const TOP_LEVEL = new Set([
  'package.json',
  'readme.md',
  'changelog.md',
  'LICENSE.txt',
  'dist',
  'grammars',
  'models',
  'examples',
  'media',
  'webview',
  'node_modules',
]);
const FORBIDDEN = [
  [/\.map$/, 'a source map'],
  [/^(?!examples\/).*\.ts$/, 'TypeScript source'],
  [/(^|\/)(test|_work|\.cache|docs|src|out|__pycache__)\//, 'a development folder'],
  [/onnxruntime_providers_(cuda|tensorrt|shared)/, 'a CUDA/TensorRT provider library'],
];

/** The entries of a zip file: name, sizes, and a reader of the content (stored or deflated only). */
export function readZip(file) {
  const zip = readFileSync(file);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${file} is not a zip file (no end-of-central-directory record)`);
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries = [];
  for (let index = 0; index < count; index++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${file}: damaged central directory`);
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localHeader = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    const read = () => {
      const start = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
      const data = zip.subarray(start, start + compressedSize);
      if (method === 0) return data;
      if (method === 8) return inflateRawSync(data);
      throw new Error(`${name}: unsupported zip compression method ${method}`);
    };
    entries.push({ name, size, read });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function listFiles(dir, prefix = '') {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

/** What is wrong with a VSIX, as messages (empty when nothing is). */
export function checkVsix(file, options = {}) {
  return checkEntries(readZip(file), options);
}

/** What is wrong with a VSIX's entries (as {@link readZip} lists them). */
export function checkEntries(entries, options = {}) {
  const problems = [];
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const vsixManifest = byName.get('extension.vsixmanifest')?.read().toString('utf8') ?? '';
  const target = /TargetPlatform="([^"]+)"/.exec(vsixManifest)?.[1];
  if (!target || !TARGETS[target]) return [`the VSIX names no known target platform (TargetPlatform=${target})`];
  const [platform, arch] = TARGETS[target];
  const files = entries
    .filter((entry) => entry.name.startsWith('extension/'))
    .map((entry) => entry.name.slice('extension/'.length));
  const has = (path) => files.includes(path);

  const manifest = JSON.parse(byName.get('extension/package.json')?.read().toString('utf8') ?? '{}');
  // The grammars the build copied (scripts/build.mjs GRAMMARS), and the tree-sitter runtime.
  const grammars = readdirSync(join(root, 'grammars'))
    .filter((name) => name.endsWith('.wasm'))
    .map((name) => `grammars/${name}`);
  const required = [
    'package.json',
    'readme.md',
    'changelog.md',
    'LICENSE.txt',
    manifest.main?.replace(/^\.\//, '') ?? 'dist/extension.js',
    'dist/modelProcessMain.js',
    'dist/modelWorker.js',
    'dist/cli.js',
    'dist/corpusWorker.js',
    'dist/resvg.wasm',
    'media/fonts/DejaVuSans.ttf',
    'media/fonts/LICENSE.txt',
    'media/licenses/resvg-wasm.txt',
    'dist/webview/panel.js',
    'dist/webview/compare.js',
    'webview/panel.css',
    'grammars/tree-sitter.wasm',
    ...grammars,
    manifest.icon,
    ...(manifest.contributes?.walkthroughs ?? []).flatMap((walkthrough) =>
      walkthrough.steps.map((step) => step.media?.markdown ?? step.media?.image),
    ),
    'node_modules/onnxruntime-node/package.json',
    'node_modules/onnxruntime-node/dist/index.js',
    `node_modules/onnxruntime-node/bin/napi-v6/${platform}/${arch}/onnxruntime_binding.node`,
    'node_modules/onnxruntime-common/package.json',
    'node_modules/onnxruntime-common/dist/cjs/index.js',
  ].filter(Boolean);
  for (const path of required) if (!has(path)) problems.push(`missing ${path}`);

  // Every file of each bundled model, byte for byte the size it has in the repository.
  for (const model of BUNDLED_MODELS) {
    for (const path of listFiles(join(root, 'models', model))) {
      const entry = byName.get(`extension/models/${model}/${path}`);
      const expected = statSync(join(root, 'models', model, path)).size;
      if (!entry) problems.push(`missing models/${model}/${path}`);
      else if (entry.size !== expected)
        problems.push(`models/${model}/${path} has ${entry.size} bytes, the repository's ${expected}`);
    }
  }

  for (const path of files) {
    const top = path.split('/')[0];
    if (!TOP_LEVEL.has(top)) problems.push(`unexpected ${path}`);
    for (const [pattern, what] of FORBIDDEN) if (pattern.test(path)) problems.push(`${path} is ${what}`);
    const binary = /^node_modules\/onnxruntime-node\/bin\/napi-v6\/([^/]+)\/([^/]+)\//.exec(path);
    if (binary && (binary[1] !== platform || binary[2] !== arch))
      problems.push(`${path} belongs to ${binary[1]}-${binary[2]}, not ${target}`);
    const dependency = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (dependency && !['onnxruntime-node', 'onnxruntime-common'].includes(dependency[1]))
      problems.push(`${path}: ${dependency[1]} is not a run-time dependency`);
  }

  if (options.requireHere && platform === process.platform && arch === process.arch && !problems.length) {
    const scratch = mkdtempSync(join(tmpdir(), 'cal-vsix-'));
    try {
      for (const entry of entries.filter(
        (candidate) => candidate.name.startsWith('extension/') && !candidate.name.endsWith('/'),
      )) {
        const out = join(scratch, entry.name);
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, entry.read());
      }
      const extension = join(scratch, 'extension');
      // Resolved as the extension host resolves it: from the bundle's folder, nothing outside the unpacked VSIX.
      const bundleDir = JSON.stringify(join(extension, 'dist'));
      const modelFile = JSON.stringify(join(extension, 'models', BUNDLED_MODELS[0], 'model.onnx'));
      const probe = `const ort = require(require.resolve('onnxruntime-node', { paths: [${bundleDir}] }));
        ort.InferenceSession.create(${modelFile}).then((session) => console.log(session.outputNames.join(',')));`;
      const outputs = execFileSync(process.execPath, ['-e', probe], {
        cwd: scratch,
        encoding: 'utf8',
        env: { ...process.env, NODE_PATH: '' },
      }).trim();
      if (!outputs.split(',').includes('attentions'))
        problems.push(`the shipped onnxruntime-node opened the bundled model but it has outputs ${outputs}`);
    } catch (error) {
      problems.push(
        `the shipped onnxruntime-node does not load the bundled ` +
          `model: ${String(error.message).split('\n').slice(0, 3).join(' ')}`,
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let failed = false;
  for (const file of process.argv.slice(2)) {
    const problems = checkVsix(file, { requireHere: true });
    failed ||= problems.length > 0;
    console.log(
      problems.length
        ? `${file}: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`
        : `${file}: contents checked`,
    );
  }
  process.exit(failed ? 1 : 0);
}
