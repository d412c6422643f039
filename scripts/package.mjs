// Builds one VSIX per platform that onnxruntime-node ships binaries for. Each target is staged in
// .cache/vsix-stage/TARGET with exactly what the installed extension runs: the bundles (no source
// maps), the corpus figure's PNG renderer (dist/resvg.wasm, the same on every platform) with its font
// and licenses, grammars, the bundled models (encoders and decoders), the webview assets, the
// walkthrough, and a node_modules that holds onnxruntime-node (with that platform's binaries only;
// no CUDA or TensorRT provider libraries, which come with the CUDA toolkit) and onnxruntime-common,
// its one run-time dependency. vsce then packages the staged folder, and scripts/check-vsix.mjs checks the result.
// Usage: node scripts/package.mjs [--target T[,T…]] [--out DIR]   (after `npm run build`)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkVsix, TARGETS } from './check-vsix.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const argument = (name) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : undefined;
};
const targets = (argument('--target') ?? Object.keys(TARGETS).join(',')).split(',').filter(Boolean);
const unknown = targets.filter((target) => !TARGETS[target]);
if (unknown.length) {
  console.error(`Unknown target ${unknown.join(', ')}; the targets are ${Object.keys(TARGETS).join(', ')}.`);
  process.exit(2);
}
const outDir = join(root, argument('--out') ?? 'dist-vsix');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The extension's own files, relative to the repository root (folders are copied whole, then filtered). */
const EXTENSION_FILES = [
  'dist/extension.js',
  'dist/modelWorker.js',
  'dist/modelProcessMain.js',
  'dist/cli.js',
  'dist/corpusWorker.js',
  'dist/resvg.wasm',
  'dist/webview/panel.js',
  'dist/webview/compare.js',
  'dist/webview/attentionViews.js',
  'webview/panel.css',
  'grammars',
  'models/code-attention-mini',
  'models/code-attention-mini-early',
  'models/code-attention-mini-decoder',
  'models/code-attention-mini-decoder-early',
  'examples',
  'media/icon.png',
  'media/walkthrough',
  'media/fonts',
  'media/licenses',
  'CHANGELOG.md',
  'LICENSE',
];
/** Never shipped, wherever they occur. */
const DROPPED = /(\.map|\.d\.ts|\.tsbuildinfo)$|(^|\/)(_work|\.cache|__pycache__|test)(\/|$)/;
/** Execution-provider libraries a CUDA (or TensorRT) user installs with the toolkit. */
const PROVIDER_LIBRARIES = /onnxruntime_providers_(cuda|tensorrt|shared)/;

const missing = EXTENSION_FILES.filter((file) => !existsSync(join(root, file)));
if (missing.length) {
  console.error(
    `Missing ${missing.join(', ')}: run \`npm run build\` first (\`npm run package\` does), and check ` +
      `the models under models/.`,
  );
  process.exit(1);
}

function copyFiltered(from, to, keep = () => true) {
  cpSync(from, to, {
    recursive: true,
    filter: (source) => {
      const path = relative(root, source).replace(/\\/g, '/');
      return !DROPPED.test(path) && (statSync(source).isDirectory() || keep(path));
    },
  });
}

/** A dependency's package.json without what only its development or install needs. */
function runtimeManifest(packageDir, keepDependencies) {
  const original = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const { scripts: _scripts, devDependencies: _devDependencies, dependencies, ...rest } = original;
  const kept = Object.fromEntries(
    Object.entries(dependencies ?? {}).filter(([name]) => keepDependencies.includes(name)),
  );
  return { ...rest, ...(Object.keys(kept).length ? { dependencies: kept } : {}) };
}

/** The folder of package `name` that holds `file` (for packages whose exports hide package.json). */
function packageRoot(file, name) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate) && JSON.parse(readFileSync(candidate, 'utf8')).name === name) return dir;
  }
  throw new Error(`no package.json of ${name} above ${file}`);
}

/** The README without its screenshots (they stay in the repository; docs/ is not shipped). */
function stagedReadme() {
  return readFileSync(join(root, 'README.md'), 'utf8').replace(/^!\[[^\]]*\]\(docs\/screenshots\/[^)]*\)\n\n?/gm, '');
}

function stage(target) {
  const [platform, arch] = TARGETS[target];
  const dir = join(root, '.cache', 'vsix-stage', target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const file of EXTENSION_FILES) copyFiltered(join(root, file), join(dir, file));
  writeFileSync(join(dir, 'README.md'), stagedReadme());

  // onnxruntime-node: its JavaScript and this platform's binaries; its install-time dependencies
  // (adm-zip, global-agent download the CUDA libraries) stay out.
  const ortDir = dirname(require.resolve('onnxruntime-node/package.json'));
  const ortStage = join(dir, 'node_modules', 'onnxruntime-node');
  const binaries = `bin/napi-v6/${platform}/${arch}/`;
  copyFiltered(join(ortDir, 'dist'), join(ortStage, 'dist'));
  copyFiltered(join(ortDir, binaries), join(ortStage, binaries), (path) => !PROVIDER_LIBRARIES.test(path));
  cpSync(join(ortDir, 'README.md'), join(ortStage, 'README.md'));
  writeFileSync(
    join(ortStage, 'package.json'),
    JSON.stringify(runtimeManifest(ortDir, ['onnxruntime-common']), null, 2),
  );
  const commonDir = packageRoot(require.resolve('onnxruntime-common', { paths: [ortDir] }), 'onnxruntime-common');
  const commonStage = join(dir, 'node_modules', 'onnxruntime-common');
  copyFiltered(join(commonDir, 'dist', 'cjs'), join(commonStage, 'dist', 'cjs'));
  cpSync(join(commonDir, 'README.md'), join(commonStage, 'README.md'));
  // The ESM entry is not shipped: the bundles require() the CommonJS one.
  const common = runtimeManifest(commonDir, []);
  common.exports = { require: './dist/cjs/index.js' };
  writeFileSync(join(commonStage, 'package.json'), JSON.stringify(common, null, 2));

  const { scripts: _scripts, devDependencies: _devDependencies, bin: _bin, ...extension } = manifest;
  extension.dependencies = { 'onnxruntime-node': runtimeManifest(ortDir, []).version };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(extension, null, 2));
  // The staged folder holds only what ships; this file only states it (and quiets vsce's warning).
  writeFileSync(join(dir, '.vscodeignore'), '.vscodeignore\n**/*.map\n');
  return dir;
}

mkdirSync(outDir, { recursive: true });
const vsce = join(dirname(require.resolve('@vscode/vsce/package.json')), 'vsce');
const built = [];
for (const target of targets) {
  const dir = stage(target);
  const file = join(outDir, `${manifest.name}-${target}-${manifest.version}.vsix`);
  rmSync(file, { force: true });
  // Relative README links stay relative: the installed extension shows README.md from its own folder.
  execFileSync(process.execPath, [vsce, 'package', '--target', target, '--out', file, '--no-rewrite-relative-links'], {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  built.push(file);
}
let failed = false;
for (const file of built) {
  const problems = checkVsix(file, { requireHere: true });
  const size = (statSync(file).size / 2 ** 20).toFixed(1);
  if (problems.length) {
    failed = true;
    console.error(`${relative(root, file)} (${size} MiB) FAILED:\n  ${problems.join('\n  ')}`);
  } else {
    console.log(`${relative(root, file)}: ${size} MiB, contents checked`);
  }
}
for (const leftover of readdirSync(outDir).filter(
  (name) => name.endsWith('.vsix') && !built.some((file) => file.endsWith(name)),
)) {
  console.log(`(also in ${relative(root, outDir)}: ${leftover}, not built by this run)`);
}
process.exit(failed ? 1 : 0);
