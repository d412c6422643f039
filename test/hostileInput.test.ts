import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRefusedError, readFileSafely } from '../src/core/files';
import { findModels, LoadedModel, modelEntry, ModelLoadError } from '../src/core/model';
import { Analyzer } from '../src/core/pipeline';
import { LineIndex } from '../src/core/text';
import { dataFlowOverlay } from '../src/presenters/dataFlowOverlay';
import { CLI, MODEL_DIR, ROOT } from './helpers';

/** Runs the real CLI; a hang shows as a timeout, never as a stuck test run. */
function cli(args: string[], timeoutMs = 60_000) {
  const started = Date.now();
  const run = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs });
  return {
    code: run.status,
    stdout: run.stdout,
    stderr: run.stderr,
    timedOut: run.error !== undefined && 'code' in run.error && run.error.code === 'ETIMEDOUT',
    ms: Date.now() - started,
  };
}

/** One line on stderr, the expected exit code, no stack trace, back within `withinMs`. */
function assertRefused(run: ReturnType<typeof cli>, code: number, pattern: RegExp, withinMs = 30_000) {
  assert.equal(run.timedOut, false, 'the CLI hung');
  assert.equal(run.code, code, run.stderr);
  assert.match(run.stderr, pattern);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.doesNotMatch(run.stderr, /\n\s+at |TypeError|internal error/);
  assert.ok(run.ms < withinMs, `took ${run.ms} ms`);
}

describe('hostile input', function () {
  this.timeout(180_000);
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'cal-hostile-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const fifo = (name: string) => {
    const path = join(scratch, name);
    execFileSync('mkfifo', [path]);
    return path;
  };
  /** A copy of the bundled model folder to corrupt. */
  const modelCopy = (name: string) => {
    const folder = join(scratch, name);
    cpSync(MODEL_DIR, folder, { recursive: true });
    return folder;
  };

  describe('special files are refused, promptly, with one message', () => {
    it('analyze on a FIFO', () => {
      assertRefused(
        cli(['analyze', fifo('pipe.py'), '--model', MODEL_DIR]),
        1,
        /pipe\.py is a named pipe \(FIFO\), not a regular file/,
        10_000,
      );
    });

    it('corpus on a FIFO', () => {
      assertRefused(
        cli(['corpus', fifo('pipe.jsonl'), '--language', 'python', '--model', MODEL_DIR]),
        1,
        /pipe\.jsonl is a named pipe \(FIFO\), not a regular file/,
        10_000,
      );
    });

    it('a .py symlink to /dev/zero', () => {
      const link = join(scratch, 'zero.py');
      symlinkSync('/dev/zero', link);
      assertRefused(
        cli(['analyze', link, '--model', MODEL_DIR]),
        1,
        /zero\.py \(a link to \/dev\/zero\) is a character device, not a regular file/,
        10_000,
      );
    });

    it('a symbolic-link loop', () => {
      symlinkSync(join(scratch, 'loop-b.py'), join(scratch, 'loop-a.py'));
      symlinkSync(join(scratch, 'loop-a.py'), join(scratch, 'loop-b.py'));
      assertRefused(
        cli(['analyze', join(scratch, 'loop-a.py'), '--model', MODEL_DIR]),
        1,
        /Cannot read .*loop-a\.py: too many levels of symbolic links/,
        10_000,
      );
    });

    it('a folder named like a source file', () => {
      const folder = join(scratch, 'package.py');
      mkdirSync(folder);
      assertRefused(cli(['analyze', folder, '--model', MODEL_DIR]), 1, /package\.py is a folder/, 10_000);
    });

    it('a FIFO as model.onnx, through the loader and the CLI', async () => {
      const folder = modelCopy('fifo-model');
      unlinkSync(join(folder, 'model.onnx'));
      execFileSync('mkfifo', [join(folder, 'model.onnx')]);
      await assert.rejects(
        LoadedModel.load(folder, { executionProvider: 'cpu' }),
        (error: Error) =>
          error instanceof ModelLoadError && /model\.onnx in .* is a named pipe \(FIFO\)/.test(error.message),
      );
      assertRefused(
        cli(['analyze', 'examples/lru_cache.py', '--model', folder]),
        1,
        /model\.onnx in .* is a named pipe \(FIFO\), not a regular file/,
        15_000,
      );
    });

    it('a FIFO as config.json and a symlink to /dev/zero as tokenizer.json', async () => {
      const folder = modelCopy('fifo-config');
      unlinkSync(join(folder, 'config.json'));
      execFileSync('mkfifo', [join(folder, 'config.json')]);
      await assert.rejects(
        LoadedModel.load(folder, { executionProvider: 'cpu' }),
        (error: Error) =>
          error instanceof ModelLoadError && /config\.json is a named pipe \(FIFO\)/.test(error.message),
      );
      const other = modelCopy('zero-tokenizer');
      unlinkSync(join(other, 'tokenizer.json'));
      symlinkSync('/dev/zero', join(other, 'tokenizer.json'));
      await assert.rejects(
        LoadedModel.load(other, { executionProvider: 'cpu' }),
        (error: Error) =>
          error instanceof ModelLoadError &&
          /tokenizer\.json \(a link to \/dev\/zero\) is a character device/.test(error.message),
      );
    });

    it('a UTF-16 source file is named as such, not as binary', () => {
      const file = join(scratch, 'utf16.py');
      writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('x = 1\n', 'utf16le')]));
      assertRefused(
        cli(['analyze', file, '--model', MODEL_DIR]),
        1,
        /utf16\.py is UTF-16 text; save it as UTF-8 first/,
        10_000,
      );
    });

    it('reads at most the cap whatever stat says (a /proc file claims 0 bytes)', () => {
      assert.throws(
        () => readFileSafely('/proc/self/status', { maxBytes: 16 }),
        (error: Error) =>
          error instanceof FileRefusedError &&
          error.reason === 'tooLarge' &&
          /has more than 0\.00 MB; the limit is 0\.00 MB/.test(error.message),
      );
      const exact = join(scratch, 'exact.py');
      writeFileSync(exact, 'x = 1\n');
      assert.equal(readFileSafely(exact, { maxBytes: 6 }).toString(), 'x = 1\n');
      assert.throws(() => readFileSafely(exact, { maxBytes: 5 }), /exact\.py has 0\.00 MB; the limit is 0\.00 MB/);
    });
  });

  describe('line endings: lines and characters as VS Code counts them (CR, LF, CRLF)', () => {
    const lines = ['def area(w, h):', '    size = w * h', '    return size', '', 'print(area(2, 3))'];
    const styles: Record<string, string> = {
      LF: lines.join('\n'),
      CRLF: lines.join('\r\n'),
      CR: lines.join('\r'),
      mixed: `${lines[0]}\r\n${lines[1]}\r${lines[2]}\n${lines[3]}\r\n${lines[4]}`,
    };
    /** Where each token starts in the lines above: the same for every line-ending style. */
    const expected = (text: string, occurrence = 0) => {
      let seen = 0;
      for (let line = 0; line < lines.length; line++) {
        for (
          let character = lines[line].indexOf(text);
          character >= 0;
          character = lines[line].indexOf(text, character + 1)
        ) {
          if (seen++ === occurrence) return { line, character };
        }
      }
      throw new Error(`no ${text}`);
    };

    for (const [style, source] of Object.entries(styles)) {
      it(`${style} file through the CLI`, () => {
        const file = join(scratch, `endings-${style}.py`);
        writeFileSync(file, source);
        const run = cli(['analyze', file, '--model', MODEL_DIR, '--json', '--include-attention']);
        assert.equal(run.code, 0, run.stderr);
        const tokens: Array<{
          text: string;
          range: { start: { line: number; character: number }; end: { line: number; character: number } };
        }> = (JSON.parse(run.stdout) as { tokens: [] }).tokens;
        const counts = new Map<string, number>();
        for (const token of tokens) {
          const occurrence = counts.get(token.text) ?? 0;
          counts.set(token.text, occurrence + 1);
          assert.deepEqual(token.range.start, expected(token.text, occurrence), `${token.text} #${occurrence}`);
          assert.equal(token.range.end.line, token.range.start.line);
          assert.equal(token.range.end.character, token.range.start.character + token.text.length);
        }
        assert.equal(tokens[tokens.length - 1].range.start.line, 4);
      });
    }

    it('line lengths leave the break out, and the data-flow hint sits at the end of its line', async () => {
      for (const source of Object.values(styles)) {
        const index = new LineIndex(source);
        assert.equal(index.lineCount, lines.length);
        assert.deepEqual(
          lines.map((_, line) => index.lineLength(line)),
          lines.map((line) => line.length),
        );
      }
      const analyzer = await Analyzer.create({
        modelDir: MODEL_DIR,
        executionProvider: 'cpu',
        grammarsDir: join(ROOT, 'grammars'),
      });
      try {
        const result = await analyzer.analyze(styles.CR, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
        const size = result.tokens.findIndex((token) => token.text === 'size');
        const overlay = dataFlowOverlay(result, { mode: 'meanHeads', layer: -1, direction: 'attendsTo' }, size);
        assert.ok(overlay.supported && overlay.decorations.hint);
        assert.deepEqual(overlay.decorations.hint.position, { line: 1, character: lines[1].length });
      } finally {
        await analyzer.dispose();
      }
    });
  });

  describe('numeric options get a usage message before any work', () => {
    const bad = ['abc', '-5', '1.5', 'NaN', 'Infinity', '0', '1e3', '', ' 7', '0x10', '99999999999999999999'];
    for (const value of bad) {
      it(`analyze --max-bytes ${JSON.stringify(value)}`, () => {
        assertRefused(
          cli(['analyze', 'examples/lru_cache.py', '--max-bytes', value]),
          2,
          /^--max-bytes must be a whole number from 1 to \d+ \(got ".*"\)\.$/m,
          10_000,
        );
      });
      it(`corpus --limit ${JSON.stringify(value)}`, () => {
        assertRefused(
          cli(['corpus', 'examples/corpus.jsonl', '--language', 'python', '--limit', value]),
          2,
          /^--limit must be a whole number ≥ 1 \(got ".*"\)\.$/m,
          10_000,
        );
      });
    }
    for (const value of ['abc', '-1', '1.5', '0:3', '3:0', '1:2:3']) {
      it(`analyze --faithfulness ${value}`, () => {
        assertRefused(
          cli(['analyze', 'examples/lru_cache.py', '--faithfulness', value]),
          2,
          /^--faithfulness /,
          10_000,
        );
      });
    }
    for (const value of ['top:0', 'top:-1', 'top:1.5', 'top:abc', 'top:']) {
      it(`corpus --types ${value}`, () => {
        assertRefused(
          cli(['corpus', 'examples/corpus.jsonl', '--language', 'python', '--types', value]),
          2,
          /^--types must be "reference" or "top:K"/,
          10_000,
        );
      });
    }
    it('an accepted --max-bytes still limits the file', () => {
      assertRefused(
        cli(['analyze', 'examples/lru_cache.py', '--max-bytes', '100']),
        1,
        /lru_cache\.py has 0\.\d\d MB; the limit is 0\.00 MB \(--max-bytes\)/,
      );
    });
  });

  describe('model folders are checked against the ONNX graph, one message per problem', () => {
    type Json = Record<string, unknown>;
    const corruptions: Array<{
      name: string;
      file: 'manifest.json' | 'config.json';
      change: (json: Json) => unknown;
      message: RegExp;
    }> = [
      {
        name: 'hidden_size that disagrees with the graph',
        file: 'config.json',
        change: (c) => ({ ...c, hidden_size: 128 }),
        message: /config\.json hidden_size is 128 but model\.onnx's embeddings are 256 wide/,
      },
      {
        name: 'null as manifest',
        file: 'manifest.json',
        change: () => null,
        message: /manifest\.json must hold a JSON object; it holds null/,
      },
      {
        name: 'null as config',
        file: 'config.json',
        change: () => null,
        message: /config\.json must hold a JSON object; it holds null/,
      },
      {
        name: 'an array as config',
        file: 'config.json',
        change: () => [1, 2],
        message: /config\.json must hold a JSON object; it holds an array/,
      },
      {
        name: 'max_position_embeddings beyond the position table',
        file: 'config.json',
        change: (c) => ({ ...c, max_position_embeddings: 1026 }),
        message: /config\.json max_position_embeddings is 1026 but model\.onnx's position table has 514 rows/,
      },
      {
        name: 'maxPositions beyond the position table',
        file: 'manifest.json',
        change: (m) => ({ ...m, maxPositions: 1024 }),
        message: /maxPositions 1024 means windows of 1024 subwords, which need 1026 rows .*; model\.onnx has 514/,
      },
      {
        name: 'a special-token id outside the vocabulary',
        file: 'manifest.json',
        change: (m) => ({ ...m, specialTokens: { ...(m.specialTokens as Json), eos: 9000 } }),
        message: /specialTokens\.eos is 9000, outside the vocabulary \(ids 0–8191\)/,
      },
      {
        name: 'a negative special-token id',
        file: 'manifest.json',
        change: (m) => ({ ...m, specialTokens: { bos: -1 } }),
        message: /manifest\.json specialTokens\.bos is -1; it must be a whole number ≥ 0/,
      },
      {
        name: 'a vocabulary size that disagrees with the graph',
        file: 'manifest.json',
        change: (m) => ({ ...m, vocabSize: 50265 }),
        message: /manifest\.json vocabSize is 50265 but model\.onnx's word-embedding table has 8192 rows/,
      },
      {
        name: 'layers that disagree with the graph',
        file: 'config.json',
        change: (c) => ({ ...c, num_hidden_layers: 6 }),
        message: /config\.json num_hidden_layers is 6 but model\.onnx has 4 layers/,
      },
      {
        name: 'heads that disagree with the graph',
        file: 'manifest.json',
        change: (m) => ({ ...m, heads: 8 }),
        message: /manifest\.json heads is 8 but model\.onnx has 4 attention heads/,
      },
      {
        name: 'a layer count that is not a number',
        file: 'manifest.json',
        change: (m) => ({ ...m, layers: 'four' }),
        message: /manifest\.json layers is "four"; it must be a whole number ≥ 1/,
      },
      {
        name: 'a display name that is not text',
        file: 'manifest.json',
        change: (m) => ({ ...m, displayName: { html: '<b>x</b>' } }),
        message: /manifest\.json displayName is \{"html":"<b>x<\/b>"\}; it must be a string/,
      },
      {
        name: 'outputs that are not names',
        file: 'manifest.json',
        change: (m) => ({ ...m, outputs: { attentions: 7 } }),
        message: /manifest\.json outputs is \{"attentions":7\}; it must map/,
      },
    ];

    corruptions.forEach(({ name, file, change, message }, index) => {
      it(`${name} (${file})`, async () => {
        const folder = modelCopy(`corrupt-${index}`);
        const path = join(folder, file);
        writeFileSync(path, JSON.stringify(change(JSON.parse(readFileSync(path, 'utf8')) as Json)));
        await assert.rejects(LoadedModel.load(folder, { executionProvider: 'cpu' }), (error: Error) => {
          assert.ok(error instanceof ModelLoadError, `${error.name}: ${error.message}`);
          assert.match(error.message, message);
          assert.match(error.message, /export_onnx\.py/);
          return true;
        });
      });
    });

    it('tokenizer.json holding null, a file given as the model folder, an unknown execution provider', async () => {
      const folder = modelCopy('null-tokenizer');
      writeFileSync(join(folder, 'tokenizer.json'), 'null');
      await assert.rejects(
        LoadedModel.load(folder, { executionProvider: 'cpu' }),
        (error: Error) =>
          error instanceof ModelLoadError &&
          /tokenizer\.json in .* cannot be read \(tokenizer\.json does not hold a JSON object\)/.test(error.message),
      );
      writeFileSync(join(folder, 'tokenizer.json'), '{}');
      await assert.rejects(
        LoadedModel.load(folder, { executionProvider: 'cpu' }),
        (error: Error) =>
          error instanceof ModelLoadError && /tokenizer\.json in .* cannot be read \(/.test(error.message),
      );
      await assert.rejects(
        LoadedModel.load(join(MODEL_DIR, 'config.json')),
        (error: Error) =>
          error instanceof ModelLoadError && /config\.json is a file, not a model folder/.test(error.message),
      );
      for (const setting of ['gpu', '', 42, 'CPU']) {
        await assert.rejects(
          LoadedModel.load(MODEL_DIR, { executionProvider: setting as never }),
          (error: Error) =>
            error instanceof ModelLoadError &&
            /execution provider must be one of auto, cuda, cpu \(got .*\); set codeAttention\.executionProvider/.test(
              error.message,
            ),
        );
      }
    });

    it('findModels and modelEntry list broken or FIFO manifests by folder name, and a file as no models', () => {
      const models = join(scratch, 'listed');
      mkdirSync(models);
      cpSync(MODEL_DIR, join(models, 'broken'), { recursive: true });
      writeFileSync(join(models, 'broken', 'manifest.json'), 'null');
      cpSync(MODEL_DIR, join(models, 'odd'), { recursive: true });
      writeFileSync(
        join(models, 'odd', 'manifest.json'),
        JSON.stringify({ name: 7, displayName: '  ', checkpoint: ['final'] }),
      );
      assert.deepEqual(
        findModels(models).map(({ name, displayName, checkpoint }) => ({ name, displayName, checkpoint })),
        [
          { name: 'broken', displayName: 'broken', checkpoint: 'external' },
          { name: 'odd', displayName: 'odd', checkpoint: 'external' },
        ],
      );
      assert.deepEqual(findModels(join(MODEL_DIR, 'config.json')), []);
      // A folder from the models setting whose manifest is a FIFO: listed at once, not waited on.
      const piped = modelCopy('fifo-manifest');
      unlinkSync(join(piped, 'manifest.json'));
      execFileSync('mkfifo', [join(piped, 'manifest.json')]);
      assert.deepEqual(modelEntry(piped), {
        name: 'fifo-manifest',
        displayName: 'fifo-manifest',
        path: piped,
        checkpoint: 'external',
      });
    });

    it('two problems at once are both named, in one line of the CLI', () => {
      const folder = modelCopy('corrupt-two');
      const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as object;
      writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...config, hidden_size: 64, vocab_size: 100 }));
      const run = cli(['analyze', 'examples/lru_cache.py', '--model', folder]);
      assertRefused(
        run,
        1,
        /config\.json vocab_size is 100 but .*8192 rows; config\.json hidden_size is 64 but .*256 wide/,
      );
    });

    it('the CLI refuses a null manifest and an oversized position table with exit 1, no stack trace', () => {
      for (const [file, content, pattern] of [
        ['manifest.json', 'null', /manifest\.json must hold a JSON object; it holds null/],
        [
          'config.json',
          JSON.stringify({
            ...JSON.parse(readFileSync(join(MODEL_DIR, 'config.json'), 'utf8')),
            max_position_embeddings: 4098,
          }),
          /max_position_embeddings is 4098/,
        ],
      ] as const) {
        const folder = modelCopy(`cli-${file}`);
        writeFileSync(join(folder, file), content);
        assertRefused(cli(['analyze', 'examples/lru_cache.py', '--model', folder]), 1, pattern);
      }
    });
  });

  describe('terminal output shows control characters escaped', () => {
    it('escape sequences in a token and in the file name are printed as escapes (--faithfulness, tables)', () => {
      const file = join(scratch, 'esc\u001b[31mred.py');
      writeFileSync(file, 'title = "\u001b]0;pwned\u0007\u001b[2J"\nprint(title)\n');
      const run = cli(['analyze', file, '--model', MODEL_DIR, '--faithfulness', '1:9']);
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(
        run.stdout + run.stderr,
        // eslint-disable-next-line no-control-regex -- asserting that no control character is left
        /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/,
        'no raw control character reaches the terminal',
      );
      assert.match(run.stdout, /esc\\x1B\[31mred\.py \(Python\)/);
      assert.match(run.stdout, /Faithfulness for token 2 ""\\x1B\]0;pwned\\x07\\x1B\[2J"" \(line 1, column 9\)/);
      const missing = cli(['analyze', join(scratch, 'gone\u001b[2J.py'), '--model', MODEL_DIR]);
      assertRefused(missing, 1, /Cannot read .*gone\\x1B\[2J\.py: no such file/);
    });
  });
});
