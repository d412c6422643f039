import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExactMoments } from '../src/core/metrics/exactSum';
import { Analyzer, InputError } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import { CLI, EARLY_MODEL_DIR, MODEL_DIR, ROOT } from './helpers';
import { decodePng, pixelsOfColour } from './pngDecode';

/** 40 real functions of the Python standard library (node dist/stdlib-corpus.js --limit 40 --max-chars 1500). */
const CORPUS = join(ROOT, 'test', 'fixtures', 'corpus', 'stdlib-40.jsonl');

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Every corpus run of these tests also sums the structure heads, so that their merge is proven too. */
function corpus(out: string, ...extra: string[]) {
  return cli('corpus', CORPUS, '--language', 'python', '--model', MODEL_DIR, '--out', out, '--heads', ...extra);
}

const json = (prefix: string) => JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));

/** The figure's PNG read back: twice the SVG's size, and how many pixels each model's colour (in order) covers. */
function figurePng(prefix: string, colours: readonly string[]) {
  const svgSize = /<svg [^>]*width="(\d+)" height="(\d+)"/.exec(readFileSync(`${prefix}.svg`, 'utf8'));
  assert.ok(svgSize, 'the SVG states its size');
  const image = decodePng(readFileSync(`${prefix}.png`));
  assert.deepEqual([image.width, image.height], [2 * Number(svgSize[1]), 2 * Number(svgSize[2])], 'IHDR size at 2x');
  const pixels = image.width * image.height;
  const white = pixelsOfColour(image, '#ffffff', 8);
  // Not blank: the white background with lines, bands and text on it (about a tenth of the pixels).
  assert.ok(white < pixels * 0.97 && white > pixels * 0.5, `${white} of ${pixels} pixels white`);
  const dark = pixelsOfColour(image, '#000000', 60);
  assert.ok(dark > 2000, `${dark} black pixels of text`);
  return colours.map((colour) => pixelsOfColour(image, colour));
}

describe('exact sums', () => {
  it('give the same bits in any order and grouping, and the correctly rounded mean', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * (seed % 3 ? 1 : 1e-9);
    const values = Array.from({ length: 500 }, random);
    const whole = new ExactMoments();
    values.forEach((value) => whole.add(value));
    const reversed = new ExactMoments();
    [...values].reverse().forEach((value) => reversed.add(value));
    const parts = [new ExactMoments(), new ExactMoments(), new ExactMoments()];
    values.forEach((value, index) => parts[index % 3].add(value));
    const merged = new ExactMoments();
    parts.reverse().forEach((part) => merged.merge(ExactMoments.fromJSON(JSON.parse(JSON.stringify(part)))));
    for (const other of [reversed, merged]) {
      assert.equal(Object.is(other.mean(), whole.mean()), true);
      assert.equal(Object.is(other.std(), whole.std()), true);
    }
    // Against plain floating point: the same to rounding, and exact where floats are exact.
    const naive = values.reduce((a, b) => a + b, 0) / values.length;
    assert.ok(Math.abs(whole.mean() - naive) <= 1e-15);
    const small = new ExactMoments();
    [0.25, 0.5, 0.75, 1].forEach((value) => small.add(value));
    assert.equal(small.mean(), 0.625);
    assert.equal(small.std(), Math.sqrt(0.3125 / 3));
    small.add(NaN);
    assert.equal(small.count, 4);
  });
});

describe('batched forward passes', function () {
  this.timeout(120_000);
  it('analyzeMany (windows sorted by length, padded, masked) equals analyze one at a time, bit for bit', async () => {
    const analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    try {
      const codes = readFileSync(CORPUS, 'utf8')
        .trim()
        .split('\n')
        .slice(0, 14)
        .map((line) => JSON.parse(line).code as string);
      // A snippet of several windows and one the analysis refuses ride along.
      codes.push(Array.from({ length: 8 }, (_, i) => codes[i % 14]).join('\n\n'), '   ');
      const batched = await analyzer.analyzeMany(
        codes.map((source) => ({ source, language: 'python' as const })),
        { reports: ['catLayers', 'dataFlowLayers'] },
        8,
      );
      assert.ok((batched[14] as AnalysisResult).windows.length > 1);
      assert.ok(batched[15] instanceof InputError);
      for (const [index, source] of codes.slice(0, 15).entries()) {
        const one = await analyzer.analyze(source, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
        const many = batched[index] as AnalysisResult;
        assert.deepEqual(many.scores.cat!.score, one.scores.cat!.score);
        assert.deepEqual(many.scores.cat!.baseline, one.scores.cat!.baseline);
        assert.deepEqual(many.scores.dataFlow?.score, one.scores.dataFlow?.score);
        many.windows.forEach((window, w) =>
          assert.deepEqual(window.subwordAttention.data, one.windows[w].subwordAttention.data),
        );
      }
    } finally {
      await analyzer.dispose();
    }
  });
});

describe('corpus at data-set scale', function () {
  this.timeout(240_000);
  let scratch: string;
  let single: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'cal-corpus-'));
    single = join(scratch, 'single');
    const run = corpus(single, '--batch', '1', '--workers', '1');
    assert.equal(run.code, 0, run.stderr);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('one run writes JSON, CSV, tidy CSV and the figure; no state file is left', () => {
    const result = json(single);
    assert.equal(result.structureHeads.relations.previousToken.accuracy.length, result.model.layers);
    assert.equal(
      result.snippets + Object.values(result.skipped as Record<string, number>).reduce((a, b) => a + b, 0),
      40,
    );
    assert.equal(result.partial, undefined);
    const tidy = readFileSync(`${single}.layers.csv`, 'utf8').trim().split('\n');
    assert.equal(tidy[0], 'model,layer,metric,mean,std,n');
    assert.equal(tidy.length, 1 + result.model.layers * 4);
    assert.ok(
      tidy.some((line) => line.startsWith(`${result.model.name},0,cat_baseline,${result.perLayer[0].baselineMean},`)),
    );
    const svg = readFileSync(`${single}.svg`, 'utf8');
    assert.match(svg, /^<svg xmlns/);
    assert.match(svg, /shuffled-attention baseline/);
    assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, 1);
    assert.equal(existsSync(`${single}.state.json`), false);
  });

  it('the figure is also a PNG at twice the SVG size, drawn with the model’s line colour', () => {
    const [blue, red] = figurePng(single, ['#1f77b4', '#d62728']);
    assert.ok(blue > 1500, `${blue} pixels of the model's line, markers and legend`);
    assert.equal(red, 0, 'one model: no second colour');
  });

  it('--batch 8 and --workers 2 give the same files, byte for byte, as one snippet at a time', () => {
    for (const extra of [
      ['--batch', '8', '--workers', '1'],
      ['--batch', '8', '--workers', '2'],
    ]) {
      const out = join(scratch, `b${extra.join('')}`);
      const run = corpus(out, ...extra);
      assert.equal(run.code, 0, run.stderr);
      for (const ending of ['json', 'csv', 'layers.csv', 'svg'])
        assert.equal(
          readFileSync(`${out}.${ending}`, 'utf8'),
          readFileSync(`${single}.${ending}`, 'utf8'),
          `${extra.join(' ')} .${ending}`,
        );
    }
  });

  it('3 shards, run as 3 processes by the deploy recipe, merge into exactly the single run', async () => {
    const outDir = join(scratch, 'shards');
    const env = { ...process.env, CORPUS, LANGUAGE: 'python', SHARDS: '3', OUT_DIR: outDir, CODE_ATTENTION_CLI: CLI };
    const codes = await Promise.all(
      [0, 1, 2].map(
        (index) =>
          new Promise<number | null>((resolve) => {
            const child = spawn(
              'sh',
              [join(ROOT, 'deploy', 'run-shard.sh'), '--model', MODEL_DIR, '--heads', '--workers', '1'],
              { env: { ...env, JOB_COMPLETION_INDEX: String(index) }, stdio: 'ignore' },
            );
            child.on('exit', resolve);
          }),
      ),
    );
    assert.deepEqual(codes, [0, 0, 0]);
    const shardLines = [1, 2, 3].map((k) => json(join(outDir, `shard-${k}-of-3`)).totals.lines);
    assert.deepEqual(shardLines, [14, 13, 13]);
    const merge = spawnSync('sh', [join(ROOT, 'deploy', 'merge.sh')], { env, encoding: 'utf8' });
    assert.equal(merge.status, 0, merge.stderr);
    const merged = json(join(outDir, 'corpus'));
    assert.equal(merged.mergedFrom.length, 3);
    delete merged.mergedFrom;
    assert.deepEqual(merged, json(single));
    for (const ending of ['csv', 'layers.csv', 'svg'])
      assert.equal(readFileSync(join(outDir, `corpus.${ending}`), 'utf8'), readFileSync(`${single}.${ending}`, 'utf8'));
    assert.ok(readFileSync(join(outDir, 'corpus.png')).equals(readFileSync(`${single}.png`)), 'the merged PNG');
    // Missing or doubled shards are refused with one line.
    const missing = cli(
      'corpus',
      'merge',
      join(outDir, 'shard-1-of-3.json'),
      join(outDir, 'shard-3-of-3.json'),
      '--out',
      join(scratch, 'bad'),
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: Shards 2\/3 are missing: merge all 3 shards\.\n$/);
  });

  it(
    'SIGINT to a real run writes what is done, marked partial; --resume gives exactly the ' + 'uninterrupted result',
    async function () {
      for (const workers of ['1', '2']) {
        const out = join(scratch, `interrupted-${workers}`);
        const child = spawn(
          process.execPath,
          [
            CLI,
            'corpus',
            CORPUS,
            '--language',
            'python',
            '--model',
            MODEL_DIR,
            '--out',
            out,
            '--heads',
            '--batch',
            '1',
            '--workers',
            workers,
          ],
          { cwd: ROOT },
        );
        let stderr = '';
        let signalled = false;
        child.stderr.on('data', (data: Buffer) => {
          stderr += data.toString();
          // Interrupt once some snippets are done and well before all are.
          const done = [...stderr.matchAll(/(\d+)\/40 snippets/g)].map((match) => Number(match[1]));
          if (!signalled && done.some((count) => count >= 4)) {
            signalled = true;
            child.kill('SIGINT');
          }
        });
        const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
        assert.equal(code, 130, stderr);
        const partial = json(out);
        assert.ok(partial.partial.linesDone > 0 && partial.partial.linesDone < 40, JSON.stringify(partial.partial));
        assert.equal(partial.totals.lines, partial.partial.linesDone);
        assert.ok(existsSync(`${out}.state.json`));
        // Without --resume the state is not overwritten.
        const refused = corpus(out, '--workers', workers);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /holds an interrupted run: add --resume/);
        const resumed = corpus(out, '--resume', '--batch', '8', '--workers', workers);
        assert.equal(resumed.code, 0, resumed.stderr);
        for (const ending of ['json', 'csv', 'layers.csv', 'svg'])
          assert.equal(
            readFileSync(`${out}.${ending}`, 'utf8'),
            readFileSync(`${single}.${ending}`, 'utf8'),
            `workers ${workers} .${ending}`,
          );
        assert.equal(existsSync(`${out}.state.json`), false);
      }
    },
  );

  it(
    'a crash (SIGKILL) mid-run keeps the progress in the state file; --resume gives exactly the ' +
      'uninterrupted result',
    async () => {
      const out = join(scratch, 'crashed');
      const child = spawn(
        process.execPath,
        [
          CLI,
          'corpus',
          CORPUS,
          '--language',
          'python',
          '--model',
          MODEL_DIR,
          '--out',
          out,
          '--heads',
          '--batch',
          '1',
          '--workers',
          '1',
        ],
        { cwd: ROOT },
      );
      let stderr = '';
      child.stderr.on('data', (data: Buffer) => {
        stderr += data.toString();
        if ([...stderr.matchAll(/(\d+)\/40 snippets/g)].some((match) => Number(match[1]) >= 8)) child.kill('SIGKILL');
      });
      const signal = await new Promise<string | null>((resolve) =>
        child.on('exit', (_code, killedBy) => resolve(killedBy)),
      );
      assert.equal(signal, 'SIGKILL', stderr);
      assert.equal(existsSync(`${out}.json`), false);
      const state = JSON.parse(readFileSync(`${out}.state.json`, 'utf8'));
      const done = state.models[0].done.reduce((sum: number, [from, to]: [number, number]) => sum + to - from, 0);
      assert.ok(done >= 4 && done < 40, `${done} lines in the state`);
      assert.equal(state.models[0].totals.lines, done);
      const resumed = corpus(out, '--resume');
      assert.equal(resumed.code, 0, resumed.stderr);
      for (const ending of ['json', 'csv', 'layers.csv', 'svg'])
        assert.equal(
          readFileSync(`${out}.${ending}`, 'utf8'),
          readFileSync(`${single}.${ending}`, 'utf8'),
          `.${ending}`,
        );
    },
  );

  it('several --model at once: one result per model, the CSV with a model column, both lines in the figure', () => {
    const out = join(scratch, 'two');
    const run = cli(
      'corpus',
      CORPUS,
      '--language',
      'python',
      '--model',
      MODEL_DIR,
      '--model',
      EARLY_MODEL_DIR,
      '--out',
      out,
      '--limit',
      '12',
    );
    assert.equal(run.code, 0, run.stderr);
    const result = json(out);
    assert.deepEqual(
      result.models.map((model: { model: { name: string } }) => model.model.name),
      ['code-attention-mini', 'code-attention-mini-early'],
    );
    const csvLines = readFileSync(`${out}.csv`, 'utf8').trim().split('\n');
    assert.equal(csvLines[0], 'model,layer,cat_mean,cat_std,baseline_mean,baseline_std,snippets');
    assert.equal(csvLines.length, 1 + result.models[0].model.layers + result.models[1].model.layers);
    const svg = readFileSync(`${out}.svg`, 'utf8');
    for (const model of result.models) assert.ok(svg.includes(model.model.displayName));
    assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, 2);
    const [blue, red] = figurePng(out, ['#1f77b4', '#d62728']);
    assert.ok(blue > 1500 && red > 1500, `${blue} and ${red} pixels of the two models' colours`);
    // The same model alone gives the same numbers as in the pair.
    const alone = join(scratch, 'alone');
    assert.equal(
      cli('corpus', CORPUS, '--language', 'python', '--model', EARLY_MODEL_DIR, '--out', alone, '--limit', '12').code,
      0,
    );
    assert.deepEqual(json(alone).perLayer, result.models[1].perLayer);
  });

  it('a CLI without the PNG renderer’s font says so in one line and still writes every other file', () => {
    // dist/cli.js alone in a folder: node_modules (for onnxruntime-node and the wasm) but no media/fonts above it.
    const lone = mkdtempSync(join(tmpdir(), 'cal-lone-cli-'));
    try {
      mkdirSync(join(lone, 'dist'));
      copyFileSync(CLI, join(lone, 'dist', 'cli.js'));
      symlinkSync(join(ROOT, 'node_modules'), join(lone, 'node_modules'));
      const out = join(scratch, 'no-font');
      writeFileSync(`${out}.png`, 'an older figure');
      const run = spawnSync(
        process.execPath,
        [join(lone, 'dist', 'cli.js'), 'corpus', 'merge', `${single}.json`, '--out', out],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(run.status, 0, run.stderr);
      assert.equal(
        run.stderr,
        `${out}.png not written: the renderer's font (media/fonts/DejaVuSans.ttf) is missing: restore it from the ` +
          'repository, or reinstall the extension; the SVG has the same figure\n',
      );
      assert.equal(existsSync(`${out}.png`), false, 'no stale PNG beside the new SVG');
      for (const ending of ['csv', 'layers.csv', 'svg'])
        assert.equal(readFileSync(`${out}.${ending}`, 'utf8'), readFileSync(`${single}.${ending}`, 'utf8'));
      assert.doesNotMatch(run.stdout, /\.png/);
    } finally {
      rmSync(lone, { recursive: true, force: true });
    }
  });

  describe('bad output and input get one line, before any work', () => {
    it('--out in a missing folder', () => {
      const run = corpus(join(scratch, 'no', 'such', 'folder', 'out'));
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^error: Cannot write .*out\.json: the folder .* does not exist\. Create it or choose another --out\.\n$/,
      );
      assert.doesNotMatch(run.stderr, /snippets/);
    });
    it('--out on a file system that cannot be written', () => {
      const run = corpus('/proc/cal-corpus-out');
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^error: Cannot write \/proc\/cal-corpus-out\.json: the folder \/proc is not writable/);
      assert.doesNotMatch(run.stderr, /snippets/);
    });
    it('a line `null` is not a JSON object, and a BOM does not lose the first line', () => {
      const file = join(scratch, 'bom.jsonl');
      const lines = readFileSync(CORPUS, 'utf8').split('\n').slice(0, 3);
      writeFileSync(file, '\uFEFF' + [lines[0], 'null', '[1]', lines[1], lines[2]].join('\n') + '\n');
      const out = join(scratch, 'bom');
      const run = cli('corpus', file, '--language', 'python', '--model', MODEL_DIR, '--out', out);
      assert.equal(run.code, 0, run.stderr);
      const result = json(out);
      assert.equal(result.snippets, 3);
      assert.deepEqual(Object.keys(result.skipped), [
        'not a JSON object (a line is {"code": "…"} or {"original_string": "…"})',
      ]);
      assert.equal(Object.values(result.skipped)[0], 2);
    });
    it('bad --batch, --workers and --shard values', () => {
      for (const [args, pattern] of [
        [['--batch', '0'], /--batch must be a whole number from 1 to 4096 \(got "0"\)/],
        [['--workers', 'two'], /--workers must be a whole number from 1 to 256 \(got "two"\)/],
        [['--shard', '4/3'], /--shard must be K\/N with 1 ≤ K ≤ N/],
      ] as const) {
        const run = corpus(join(scratch, 'x'), ...args);
        assert.equal(run.code, 2);
        assert.match(run.stderr, pattern);
      }
    });
    it('--device cuda without the CUDA provider says so and stops', () => {
      const run = corpus(join(scratch, 'cuda'), '--device', 'cuda', '--limit', '2');
      if (run.code === 0) return; // a machine with CUDA: nothing to refuse
      assert.equal(run.code, 1);
      assert.match(run.stderr, /CUDA execution provider is not available/);
      assert.equal(existsSync(join(scratch, 'cuda.json')), false);
    });
  });
});
