import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadedModel, ModelLoadError } from '../src/core/model';
import { ModelProcessStoppedError, type ProcessSession } from '../src/core/modelProcess';
import { Analyzer } from '../src/core/pipeline';
import type { ForwardOutput } from '../src/core/types';
import { MODEL_DIR, ROOT } from './helpers';

/** The child process behind a model loaded with `thread: 'process'`. */
const sessionOf = (model: LoadedModel) => (model as unknown as { session: ProcessSession }).session;
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const waitUntil = async (condition: () => boolean, ms: number) => {
  for (const until = Date.now() + ms; !condition() && Date.now() < until;)
    await new Promise((done) => setTimeout(done, 20));
  return condition();
};
const tensorFolders = () =>
  readdirSync(existsSync('/dev/shm') ? '/dev/shm' : tmpdir()).filter((name) => name.startsWith('code-attention-'));

function largestDifference(a: ForwardOutput, b: ForwardOutput): Record<string, number> {
  const differences: Record<string, number> = {};
  for (const key of ['attentions', 'valueNorms', 'lastHiddenState'] as const) {
    const x = a[key]!.data;
    const y = b[key]!.data;
    assert.equal(x.length, y.length, `${key} lengths`);
    let worst = 0;
    for (let index = 0; index < x.length; index++) worst = Math.max(worst, Math.abs(x[index] - y[index]));
    differences[key] = worst;
  }
  return differences;
}

describe('model in a child process', function () {
  let here: LoadedModel;
  let there: LoadedModel;
  let ids: number[];
  before(async () => {
    here = await LoadedModel.load(MODEL_DIR, { executionProvider: 'cpu' });
    there = await LoadedModel.load(MODEL_DIR, { executionProvider: 'cpu', thread: 'process' });
    const source = readFileSync(join(ROOT, 'examples', 'lru_cache.py'), 'utf8');
    ids = [0, ...here.tokenizer.encodeText(source + source).slice(0, 510), 2];
  });
  after(async () => {
    await here?.dispose();
    await there?.dispose();
  });

  it('returns the outputs of the in-process session, shapes included', async () => {
    assert.equal(there.device, 'cpu');
    assert.deepEqual(there.info, here.info);
    const expected = await here.forward(ids);
    const actual = await there.forward(ids);
    assert.deepEqual(actual.attentions.shape, expected.attentions.shape);
    assert.deepEqual(actual.valueNorms!.shape, expected.valueNorms!.shape);
    assert.deepEqual(actual.lastHiddenState.shape, expected.lastHiddenState.shape);
    const differences = largestDifference(expected, actual);
    for (const [key, worst] of Object.entries(differences)) assert.ok(worst < 1e-5, `${key} differ by ${worst}`);
  });

  it('runs concurrent forward passes in one process and answers each with its own outputs', async () => {
    const pid = sessionOf(there).pid;
    const short = [0, ...here.tokenizer.encodeText('def f(a):\n    return a'), 2];
    const [long, small] = await Promise.all([there.forward(ids), there.forward(short)]);
    assert.equal(long.attentions.shape[2], ids.length);
    assert.equal(small.attentions.shape[2], short.length);
    assert.equal(sessionOf(there).pid, pid, 'the process is reused');
    const expected = await here.forward(short);
    assert.ok(largestDifference(expected, small).attentions < 1e-5);
  });

  it(
    'a SIGKILL during a forward pass fails the pending and later calls with one clear message until ' +
      'the model restarts',
    async () => {
      const killed = sessionOf(there).pid!;
      const pending = [there.forward(ids), there.forward(ids)];
      process.kill(killed, 'SIGKILL');
      const stoppedBySigkill = (error: Error) => {
        assert.ok(
          error instanceof ModelProcessStoppedError,
          `a ModelProcessStoppedError (${error.name}: ${error.message})`,
        );
        assert.equal(error.message, 'The model process stopped: signal SIGKILL; it will restart on the next analysis.');
        return true;
      };
      for (const call of pending) await assert.rejects(call, stoppedBySigkill);
      await assert.rejects(there.forward(ids), stoppedBySigkill, 'a later call fails the same way');
      assert.equal(there.stopped, true, 'a model whose process died is reported stopped');
      await there.restartIfStopped();
      assert.equal(there.stopped, false);
      const after = await there.forward(ids);
      const restarted = sessionOf(there).pid!;
      assert.notEqual(restarted, killed);
      assert.ok(isAlive(restarted));
      assert.ok(
        largestDifference(await here.forward(ids), after).attentions < 1e-5,
        'the restarted process gives the same outputs',
      );
    },
  );

  it(
    'an analysis interrupted by the kill fails with that message, and the next analysis of the same ' +
      'Analyzer works',
    async () => {
      const analyzer = await Analyzer.create({
        modelDir: MODEL_DIR,
        executionProvider: 'cpu',
        grammarsDir: join(ROOT, 'grammars'),
        thread: 'process',
      });
      try {
        const source = readFileSync(join(ROOT, 'examples', 'lru_cache.py'), 'utf8').repeat(12);
        const pid = sessionOf(analyzer.model).pid!;
        const analysis = analyzer.analyze(source, 'python', {
          reports: ['catLayers'],
          // Killed once the second window is under way: the first forward pass has come back.
          onProgress: (message) => /window 2 of/.test(message) && process.kill(pid, 'SIGKILL'),
        });
        await assert.rejects(
          analysis,
          /^ModelProcessStoppedError: The model process stopped: signal SIGKILL; it will restart on the next analysis\.$/,
        );
        const result = await analyzer.analyze(source, 'python', { reports: ['catLayers'] });
        assert.ok(result.windows.length > 1, `${result.windows.length} windows`);
        assert.ok(result.scores.cat && result.scores.cat.snippets > 1, 'the next analysis scores every window');
        assert.notEqual(sessionOf(analyzer.model).pid, pid);
      } finally {
        await analyzer.dispose();
      }
    },
  );

  it('dispose stops the process and removes its tensor folder; a disposed model refuses to run', async () => {
    const model = await LoadedModel.load(MODEL_DIR, { executionProvider: 'cpu', thread: 'process' });
    const pid = sessionOf(model).pid!;
    const foldersBefore = tensorFolders().length;
    await model.forward(ids);
    await model.dispose();
    assert.ok(await waitUntil(() => !isAlive(pid), 5000), 'the child process has exited');
    assert.equal(tensorFolders().length, foldersBefore - 1, 'its tensor folder is gone');
    assert.equal(model.stopped, true);
    await assert.rejects(model.forward([0, 2]), /model was released/);
  });

  it('a bad model folder gives the in-process message and leaves no process or folder behind', async () => {
    const foldersBefore = tensorFolders().length;
    await assert.rejects(
      LoadedModel.load(join(ROOT, 'test', 'fixtures', 'models', 'no-attentions'), {
        executionProvider: 'cpu',
        thread: 'process',
      }),
      (error: Error) => error instanceof ModelLoadError && /no "attentions" output/.test(error.message),
    );
    const scratch = mkdtempSync(join(tmpdir(), 'cal-model-'));
    try {
      cpSync(MODEL_DIR, scratch, { recursive: true });
      writeFileSync(join(scratch, 'model.onnx'), 'not an onnx file');
      await assert.rejects(
        LoadedModel.load(scratch, { executionProvider: 'cpu', thread: 'process' }),
        (error: Error) => error instanceof ModelLoadError && /not a readable ONNX model/.test(error.message),
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    assert.ok(await waitUntil(() => tensorFolders().length === foldersBefore, 5000), 'no tensor folder is left');
  });
});
