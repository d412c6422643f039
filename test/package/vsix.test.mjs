// The linux-x64 VSIX as built by `npm run test:package` (scripts/package.mjs): its contents, its
// manifest, and that the checker refuses a VSIX with another platform's binary, a missing model
// file or anything from the excluded folders. Run by `npm run test:package`, not by `npm test`
// (it needs the VSIX). CAL_VSIX=FILE checks another linux-x64 VSIX.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED_MODELS, checkEntries, readZip } from '../../scripts/check-vsix.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const vsix = process.env.CAL_VSIX ?? join(root, 'dist-vsix', `${manifest.name}-linux-x64-${manifest.version}.vsix`);

describe('the linux-x64 VSIX', function () {
  this.timeout(120_000);
  let entries;
  const names = () => entries.map((entry) => entry.name);
  const entry = (name) => entries.find((candidate) => candidate.name === name);
  const withExtra = (name) => [...entries, { name, size: 1, read: () => Buffer.from('x') }];
  before(function () {
    assert.ok(existsSync(vsix), `${vsix} is missing: run \`npm run test:package\` (it builds it)`);
    entries = readZip(vsix);
  });

  it(
    'holds everything the installed extension needs and nothing else; the shipped onnxruntime-node ' +
      'loads the bundled model',
    () => {
      assert.deepEqual(checkEntries(entries, { requireHere: true }), []);
    },
  );

  it('holds onnxruntime-node with linux-x64 binaries only, and no CUDA or TensorRT provider library', () => {
    const binaries = names().filter((name) => name.includes('/bin/napi-v6/'));
    assert.ok(binaries.length >= 2, binaries.join(', '));
    assert.ok(
      binaries.every((name) => name.startsWith('extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/')),
      binaries.join(', '),
    );
    assert.ok(binaries.some((name) => name.endsWith('/onnxruntime_binding.node')));
    assert.ok(!names().some((name) => /providers_(cuda|tensorrt)/.test(name)));
  });

  it('holds every file of both bundled models and every grammar the build copies', () => {
    for (const model of BUNDLED_MODELS) {
      for (const file of readdirSync(join(root, 'models', model)))
        assert.ok(entry(`extension/models/${model}/${file}`), `models/${model}/${file}`);
    }
    for (const grammar of readdirSync(join(root, 'grammars')).filter((name) => name.endsWith('.wasm')))
      assert.ok(entry(`extension/grammars/${grammar}`), grammar);
  });

  it('ships a complete manifest: version, license, repository, icon, kind, trust and walkthrough media', () => {
    const shipped = JSON.parse(entry('extension/package.json').read().toString('utf8'));
    assert.equal(shipped.version, manifest.version);
    assert.equal(shipped.license, 'MIT');
    assert.ok(shipped.repository && shipped.homepage && shipped.bugs, 'repository, homepage and bugs');
    assert.deepEqual(shipped.extensionKind, ['workspace']);
    assert.ok(shipped.capabilities.untrustedWorkspaces.description.length > 20);
    assert.ok(shipped.galleryBanner.color && shipped.keywords.length >= 5);
    assert.equal(shipped.devDependencies, undefined, 'no devDependencies in the shipped manifest');
    assert.equal(shipped.scripts, undefined, 'no scripts in the shipped manifest');
    assert.deepEqual(Object.keys(shipped.dependencies), ['onnxruntime-node']);
    const license = entry('extension/LICENSE.txt').read().toString('utf8');
    assert.match(license, /^MIT License/);
    assert.match(license, /Copyright \(c\) \d{4} Code Attention Lens contributors/);
    const icon = entry(`extension/${shipped.icon}`).read();
    assert.equal(icon.subarray(1, 4).toString('ascii'), 'PNG');
    const [width, height] = [icon.readUInt32BE(16), icon.readUInt32BE(20)];
    assert.ok((width === 128 && height === 128) || (width === 256 && height === 256), `icon ${width}×${height}`);
    for (const step of shipped.contributes.walkthroughs[0].steps)
      assert.ok(entry(`extension/${step.media.markdown}`), step.media.markdown);
  });

  it(
    'the checker refuses another platform’s binary, a provider library, a missing model file and ' +
      'the excluded folders',
    () => {
      const refused = {
        'extension/node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll': /belongs to win32-x64/,
        'extension/node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/onnxruntime_binding.node':
          /belongs to darwin-arm64/,
        'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so':
          /CUDA\/TensorRT provider/,
        'extension/models/_work/checkpoint.pt': /development folder/,
        'extension/.cache/code-server/x.js': /development folder|unexpected/,
        'extension/test/fixtures/a.json': /development folder|unexpected/,
        'extension/docs/screenshots/hover.png': /development folder|unexpected/,
        'extension/dist/extension.js.map': /source map/,
        'extension/src/core/model.ts': /TypeScript source|unexpected/,
        'extension/node_modules/adm-zip/adm-zip.js': /not a run-time dependency/,
      };
      for (const [name, expected] of Object.entries(refused)) {
        const problems = checkEntries(withExtra(name));
        assert.ok(
          problems.some((problem) => expected.test(problem)),
          `${name}: ${problems.join('; ') || 'accepted'}`,
        );
      }
      const modelFile = `extension/models/${BUNDLED_MODELS[1]}/model.onnx`;
      const problems = checkEntries(entries.filter((candidate) => candidate.name !== modelFile));
      assert.ok(problems.includes(`missing models/${BUNDLED_MODELS[1]}/model.onnx`), problems.join('; '));
    },
  );

  it('the shipped CLI scores a corpus with 2 worker processes and writes the figure as PNG, from the VSIX alone', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'cal-vsix-corpus-'));
    try {
      for (const file of entries.filter((candidate) => candidate.name.startsWith('extension/'))) {
        if (file.name.endsWith('/')) continue;
        mkdirSync(dirname(join(scratch, file.name)), { recursive: true });
        writeFileSync(join(scratch, file.name), file.read());
      }
      const out = join(scratch, 'figure');
      const corpus = join(root, 'test', 'fixtures', 'corpus', 'stdlib-40.jsonl');
      const cli = join(scratch, 'extension', 'dist', 'cli.js');
      const args = [cli, 'corpus', corpus, '--language', 'python', '--limit', '6', '--workers', '2', '--out', out];
      const run = spawnSync(process.execPath, args, {
        cwd: scratch,
        encoding: 'utf8',
        env: { ...process.env, NODE_PATH: '' },
      });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /2 worker processes/);
      const png = readFileSync(`${out}.png`);
      assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1640, 880]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
