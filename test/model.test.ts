import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findModels, LoadedModel, ModelLoadError } from '../src/core/model';
import { MODEL_DIR, ROOT } from './helpers';

describe('model runner', function () {
  let model: LoadedModel;
  before(async () => {
    model = await LoadedModel.load(MODEL_DIR, { executionProvider: 'auto' });
  });
  after(async () => model?.dispose());

  it('loads the bundled model, says which device ran, and returns attentions of the declared shape', async () => {
    assert.equal(model.device, 'cpu'); // no CUDA libraries on these machines: auto falls back
    assert.ok(model.fallbackReason, 'the fallback reason is recorded');
    const ids = [0, ...model.tokenizer.encodeText('def f(a):\n    return a'), 2];
    const output = await model.forward(ids);
    const n = ids.length;
    assert.deepEqual(output.attentions.shape, [model.info.layers, model.info.heads, n, n]);
    assert.deepEqual(output.valueNorms!.shape, [model.info.layers, model.info.heads, n]);
    for (let row = 0; row < model.info.layers * model.info.heads * n; row++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += output.attentions.data[row * n + j];
      assert.ok(Math.abs(sum - 1) < 1e-4, 'softmax rows sum to 1');
    }
  });

  it('matches PyTorch on the export’s parity fixture (attentions and value norms)', async function () {
    const fixturePath = join(ROOT, 'test', 'fixtures', 'model', 'onnx-parity.json');
    if (process.env.CAL_TEST_MODEL) this.skip(); // the fixture belongs to the bundled final model
    const fixture = JSON.parse(readFileSync(fixturePath, 'utf8'));
    const output = await model.forward(fixture.ids);
    assert.deepEqual(output.attentions.shape, fixture.attentionsShape);
    let worst = 0;
    fixture.attentions.forEach(
      (value: number, index: number) => (worst = Math.max(worst, Math.abs(value - output.attentions.data[index]))),
    );
    assert.ok(worst < 1e-4, `attentions differ from PyTorch by ${worst}`);
    worst = 0;
    fixture.valueNorms.forEach(
      (value: number, index: number) =>
        (worst = Math.max(worst, Math.abs(value - output.valueNorms!.data[index]) / Math.max(1, Math.abs(value)))),
    );
    assert.ok(worst < 1e-4, `value norms differ from PyTorch by ${worst}`);
  });

  it('refuses the CUDA provider where its libraries are missing, with what to do', async () => {
    await assert.rejects(
      LoadedModel.load(MODEL_DIR, { executionProvider: 'cuda' }),
      (error: Error) =>
        error instanceof ModelLoadError && /CUDA/.test(error.message) && /"auto" or "cpu"/.test(error.message),
    );
  });

  it(
    'runs onnxruntime in a worker thread on request: the same outputs, and this thread’s event loop ' +
      'keeps turning during the pass',
    async () => {
      const inWorker = await LoadedModel.load(MODEL_DIR, { executionProvider: 'cpu', thread: 'worker' });
      try {
        assert.equal(inWorker.device, 'cpu');
        const source = readFileSync(join(ROOT, 'examples', 'lru_cache.py'), 'utf8');
        const ids = [0, ...model.tokenizer.encodeText(source).slice(0, 500), 2];
        // Turns of this thread's event loop while one forward pass is awaited.
        const turnsDuring = async (runner: LoadedModel) => {
          let turns = 0;
          let spinning = true;
          const spin = () => {
            if (!spinning) return;
            turns++;
            setImmediate(spin);
          };
          setImmediate(spin);
          const output = await runner.forward(ids);
          spinning = false;
          return { turns, output };
        };
        const here = await turnsDuring(model);
        const there = await turnsDuring(inWorker);
        assert.deepEqual(there.output.attentions.shape, here.output.attentions.shape);
        for (const key of ['attentions', 'valueNorms', 'lastHiddenState'] as const) {
          const a = here.output[key]!.data;
          const b = there.output[key]!.data;
          assert.equal(a.length, b.length);
          let worst = 0;
          for (let x = 0; x < a.length; x++) worst = Math.max(worst, Math.abs(a[x] - b[x]));
          assert.ok(worst < 1e-5, `${key} differ by ${worst}`);
        }
        assert.ok(
          there.turns > 10 * (here.turns + 1),
          `event-loop turns during the pass: ${there.turns} with the worker, ${here.turns} without`,
        );
        assert.equal(inWorker.stopped, false);
      } finally {
        await inWorker.dispose();
      }
      assert.equal(inWorker.stopped, true, 'a stopped worker is reported, so that the editor loads the model again');
      await assert.rejects(inWorker.forward([0, 2]), /worker thread stopped/);
    },
  );

  it('a worker-thread load of a bad model gives the same message and leaves no thread behind', async () => {
    await assert.rejects(
      LoadedModel.load(join(ROOT, 'test', 'fixtures', 'models', 'no-attentions'), {
        executionProvider: 'cpu',
        thread: 'worker',
      }),
      (error: Error) => error instanceof ModelLoadError && /no "attentions" output/.test(error.message),
    );
    const scratch = mkdtempSync(join(tmpdir(), 'cal-model-'));
    try {
      cpSync(MODEL_DIR, scratch, { recursive: true });
      writeFileSync(join(scratch, 'model.onnx'), 'not an onnx file');
      await assert.rejects(
        LoadedModel.load(scratch, { executionProvider: 'cpu', thread: 'worker' }),
        (error: Error) => error instanceof ModelLoadError && /not a readable ONNX model/.test(error.message),
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  describe('bad model folders', () => {
    let scratch: string;
    beforeEach(() => {
      scratch = mkdtempSync(join(tmpdir(), 'cal-model-'));
    });
    afterEach(() => rmSync(scratch, { recursive: true, force: true }));

    it('a missing folder', async () => {
      await assert.rejects(LoadedModel.load(join(scratch, 'nope')), /does not exist/);
    });

    it('a folder without tokenizer.json', async () => {
      cpSync(MODEL_DIR, scratch, { recursive: true });
      rmSync(join(scratch, 'tokenizer.json'));
      await assert.rejects(
        LoadedModel.load(scratch),
        (error: Error) =>
          error instanceof ModelLoadError &&
          /lacks tokenizer\.json/.test(error.message) &&
          /export_onnx\.py/.test(error.message),
      );
    });

    it('a corrupt model.onnx', async () => {
      cpSync(MODEL_DIR, scratch, { recursive: true });
      writeFileSync(join(scratch, 'model.onnx'), 'not an onnx file');
      await assert.rejects(
        LoadedModel.load(scratch, { executionProvider: 'cpu' }),
        (error: Error) => error instanceof ModelLoadError && /not a readable ONNX model/.test(error.message),
      );
    });

    it('a model without attention outputs', async () => {
      await assert.rejects(
        LoadedModel.load(join(ROOT, 'test', 'fixtures', 'models', 'no-attentions'), { executionProvider: 'cpu' }),
        (error: Error) =>
          error instanceof ModelLoadError &&
          /no "attentions" output/.test(error.message) &&
          /attention weights are needed/.test(error.message),
      );
    });

    it('a manifest that is not JSON', async () => {
      cpSync(MODEL_DIR, scratch, { recursive: true });
      writeFileSync(join(scratch, 'manifest.json'), '{ broken');
      await assert.rejects(LoadedModel.load(scratch), /manifest\.json is not valid JSON/);
    });
  });

  it('lists the bundled models, final checkpoints first', () => {
    const models = findModels(join(ROOT, 'models'));
    assert.ok(models.length >= 2);
    assert.equal(models[0].checkpoint, 'final');
    assert.ok(models.some((entry) => entry.checkpoint === 'early'));
    assert.ok(models.every((entry) => existsSync(join(entry.path, 'model.onnx'))));
  });
});
