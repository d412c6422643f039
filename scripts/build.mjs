// Bundles the extension, the CLI and the benchmarks with esbuild, and copies the tree-sitter
// runtime and grammar wasm files into grammars/ where the core's parser looks for them.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');

export const GRAMMARS = ['python', 'java', 'javascript', 'typescript', 'tsx', 'go', 'ruby', 'php'];

function copyGrammars() {
  const grammarsDir = join(root, 'grammars');
  mkdirSync(grammarsDir, { recursive: true });
  const wasmDir = join(dirname(require.resolve('@vscode/tree-sitter-wasm/package.json')), 'wasm');
  for (const name of GRAMMARS) {
    copyFileSync(join(wasmDir, `tree-sitter-${name}.wasm`), join(grammarsDir, `tree-sitter-${name}.wasm`));
  }
  const runtime = require.resolve('web-tree-sitter/tree-sitter.wasm');
  copyFileSync(runtime, join(grammarsDir, 'tree-sitter.wasm'));
}

const entryPoints = [
  { in: 'src/extension/extension.ts', out: 'extension' },
  { in: 'src/cli/main.ts', out: 'cli' },
  { in: 'src/core/modelWorker.ts', out: 'modelWorker' },
  { in: 'src/core/modelProcessMain.ts', out: 'modelProcessMain' },
  { in: 'src/bench/bench.ts', out: 'bench' },
  { in: 'src/bench/flowBench.ts', out: 'flow-bench' },
  { in: 'src/bench/stdlibCorpus.ts', out: 'stdlib-corpus' },
  { in: 'src/cli/corpusWorker.ts', out: 'corpusWorker' },
  { in: 'src/bench/memoryProbe.ts', out: 'memory-probe' },
  { in: 'src/bench/freezeProbe.ts', out: 'freeze-probe' },
  { in: 'src/bench/precisionProbe.ts', out: 'precision-probe' },
  { in: 'src/bench/streamBench.ts', out: 'stream-bench' },
].filter((entry) => existsSync(join(root, entry.in)));

const webviewEntryPoints = [
  { in: 'webview/src/panel.ts', out: 'panel' },
  { in: 'webview/src/compare.ts', out: 'compare' },
  { in: 'webview/src/attentionViews.ts', out: 'attentionViews' },
].filter((entry) => existsSync(join(root, entry.in)));

copyGrammars();
// The corpus figure's PNG renderer (src/cli/corpus/png.ts) loads its WebAssembly from beside the bundles.
mkdirSync(join(root, 'dist'), { recursive: true });
copyFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm'), join(root, 'dist', 'resvg.wasm'));

const nodeOptions = {
  absWorkingDir: root,
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  external: ['vscode', 'onnxruntime-node'],
  // web-tree-sitter's loader reads import.meta.url, which a CommonJS bundle lacks.
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
};
const webviewOptions = {
  absWorkingDir: root,
  entryPoints: webviewEntryPoints,
  outdir: 'dist/webview',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
};

if (watch) {
  const contexts = [await esbuild.context(nodeOptions)];
  if (webviewEntryPoints.length) contexts.push(await esbuild.context(webviewOptions));
  await Promise.all(contexts.map((context) => context.watch()));
} else {
  await esbuild.build(nodeOptions);
  if (webviewEntryPoints.length) await esbuild.build(webviewOptions);
}
