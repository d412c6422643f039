import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { languageForFile } from '../src/core/languages';
import { CLI, EARLY_MODEL_DIR, EXAMPLES, MODEL_DIR, ROOT, sharedParser } from './helpers';

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('CLI', function () {
  this.timeout(180_000);
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'cal-cli-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const examples = readdirSync(EXAMPLES).filter((file) => languageForFile(file));
  it('covers every supported language with an example', () => {
    assert.deepEqual(
      new Set(examples.map((file) => languageForFile(file))),
      new Set(['python', 'java', 'javascript', 'typescript', 'go', 'ruby', 'php']),
    );
  });

  for (const file of examples) {
    it(`analyze ${file} prints a per-layer table and JSON scores`, () => {
      const { layers } = JSON.parse(readFileSync(join(MODEL_DIR, 'manifest.json'), 'utf8'));
      const text = cli('analyze', join('examples', file), '--model', MODEL_DIR);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /device cpu/);
      assert.match(text.stdout, /layer\s+CAT-score\s+baseline\s+difference/);
      const catTable = text.stdout.split('layer  CAT-score')[1].split('\n\n')[0];
      const rows = catTable.split('\n').filter((line) => /^\d+\s+\d\.\d{3}\s+\d\.\d{3}/.test(line));
      assert.equal(rows.length, layers);
      assert.match(text.stdout, /Structure heads/);
      const json = cli('analyze', join('examples', file), '--model', MODEL_DIR, '--json');
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout);
      assert.equal(parsed.scores.cat.score.perLayer.length, layers);
      assert.ok(parsed.counts.codeTokens > 100);
      assert.equal(parsed.device, 'cpu');
    });
  }

  it('corpus writes per-layer means and spreads as JSON and CSV', () => {
    const out = join(scratch, 'corpus');
    const run = cli('corpus', 'examples/corpus.jsonl', '--language', 'python', '--model', MODEL_DIR, '--out', out);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /\d+\/\d+ snippets/);
    const json = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    assert.ok(json.snippets >= 10);
    assert.equal(json.perLayer.length, json.model.layers);
    assert.ok(json.perLayer.every((entry: { mean: number; std: number }) => entry.mean > 0 && entry.std >= 0));
    const csvLines = readFileSync(`${out}.csv`, 'utf8').trim().split('\n');
    assert.equal(csvLines[0], 'layer,cat_mean,cat_std,baseline_mean,baseline_std,snippets');
    assert.equal(csvLines.length, json.model.layers + 1);
    // Every layer was scored on every kept snippet: the count is a whole number in the table and the CSV.
    assert.ok(csvLines.slice(1).every((line) => line.endsWith(`,${json.snippets}`)));
    assert.match(run.stdout, new RegExp(`^0 .* ${json.snippets}$`, 'm'));
    assert.match(JSON.stringify(json.skipped), /invalid JSON/); // the sample holds one broken line on purpose
  });

  it('corpus --heads adds the top structure heads over the whole corpus, token-weighted', async () => {
    const out = join(scratch, 'heads');
    const run = cli(
      'corpus',
      'examples/corpus.jsonl',
      '--language',
      'python',
      '--model',
      MODEL_DIR,
      '--out',
      out,
      '--limit',
      '5',
      '--heads',
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Structure heads: share of tokens/);
    assert.match(run.stdout, /^previous token\s+L\d+H\d+ /m);
    const json = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    // The merged previous-token entry counts every token but each snippet's first, over the 5 lines (one is broken
    // JSON).
    const parser = await sharedParser();
    let expectedTokens = 0;
    for (const line of readFileSync(join(ROOT, 'examples', 'corpus.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .slice(0, 5)) {
      try {
        const record = JSON.parse(line);
        expectedTokens += (await parser.parse(record.code ?? record.original_string, 'python')).tokens.length - 1;
      } catch {
        // the broken line
      }
    }
    assert.equal(json.structureHeads.relations.previousToken.tokens, expectedTokens);
    assert.equal(json.structureHeads.relations.previousToken.accuracy.length, json.model.layers);
  });

  it('corpus --types top:K keeps the corpus’s K most frequent token types', async () => {
    const out = join(scratch, 'top');
    const run = cli(
      'corpus',
      'examples/corpus.jsonl',
      '--language',
      'python',
      '--model',
      MODEL_DIR,
      '--out',
      out,
      '--limit',
      '4',
      '--types',
      'top:3',
    );
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    const parser = await sharedParser();
    const counts = new Map<string, number>();
    for (const line of readFileSync(join(ROOT, 'examples', 'corpus.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .slice(0, 4)) {
      let code: string;
      try {
        const record = JSON.parse(line);
        code = record.code ?? record.original_string;
      } catch {
        continue;
      }
      for (const token of (await parser.parse(code, 'python')).tokens)
        counts.set(token.type, (counts.get(token.type) ?? 0) + 1);
    }
    const expected = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 3)
      .map(([type]) => type);
    assert.deepEqual(json.definition.keptTypes, expected);
    assert.match(json.definition.typeSource, /3 most frequent token types of the corpus/);
  });

  it('compare prints both models’ per-layer scores', () => {
    const run = cli('compare', 'examples/groupBy.ts', '--model', MODEL_DIR, '--model', EARLY_MODEL_DIR);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\(A\) vs .*\(B\)/);
    assert.match(run.stdout, /layer\s+CAT A\s+baseline A\s+CAT B\s+baseline B\s+B − A/);
    assert.match(run.stdout, /best head by CAT-score: A L\dH\d/);
  });

  describe('bad input gets one clear line and a non-zero exit', () => {
    const expectFailure = (args: string[], pattern: RegExp) => {
      const run = cli(...args);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, pattern);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    };
    it('unknown extension', () => {
      const file = join(scratch, 'notes.txt');
      writeFileSync(file, 'hello');
      expectFailure(['analyze', file, '--model', MODEL_DIR], /unsupported file type.*Python, Java/);
    });
    it('unreadable file', () =>
      expectFailure(['analyze', join(scratch, 'missing.py'), '--model', MODEL_DIR], /Cannot read .*no such file/));
    it('empty file', () => {
      const file = join(scratch, 'empty.py');
      writeFileSync(file, '\n\n');
      expectFailure(['analyze', file, '--model', MODEL_DIR], /empty/);
    });
    it('binary file', () => {
      const file = join(scratch, 'blob.py');
      writeFileSync(file, Buffer.from([0x78, 0x00, 0x01, 0x02]));
      expectFailure(['analyze', file, '--model', MODEL_DIR], /looks binary/);
    });
    it('file over the size limit', () =>
      expectFailure(
        ['analyze', 'examples/lru_cache.py', '--model', MODEL_DIR, '--max-bytes', '100'],
        /limit is 0\.00 MB/,
      ));
    it('a model folder that does not exist', () =>
      expectFailure(['analyze', 'examples/lru_cache.py', '--model', join(scratch, 'no-model')], /does not exist/));
    it('unknown option', () =>
      expectFailure(['analyze', 'examples/lru_cache.py', '--frobnicate'], /Unknown option --frobnicate/));
  });

  it('syntax errors: a result that counts and marks the error regions', () => {
    const file = join(scratch, 'broken.py');
    writeFileSync(file, 'def f(a):\n    return a +\n\nx = [1, 2\n');
    const run = cli('analyze', file, '--model', MODEL_DIR, '--json');
    assert.equal(run.code, 0, run.stderr);
    const parsed = JSON.parse(run.stdout);
    assert.ok(parsed.errors.length >= 1);
    assert.ok(parsed.counts.tokensInErrors >= 1);
    assert.match(run.stderr, /warning: Syntax errors/);
  });
});
