import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { MAX_LOADED_MODELS, ModelCache } from '../src/extension/modelCache';
import { EARLY_MODEL_DIR as EARLY, MODEL_DIR as FINAL, ROOT } from './helpers';

describe('model cache (the editor keeps models warm)', function () {
  this.timeout(120_000);
  const loads: string[] = [];
  let cache: ModelCache;
  beforeEach(() => {
    loads.length = 0;
    cache = new ModelCache(join(ROOT, 'grammars'), {
      loaded: (_analyzer, dir) => loads.push(dir),
      failed: (error) => assert.fail(error.message),
    });
  });
  afterEach(() => cache.dispose());

  it('loads a model once: a second comparison of the same two models reuses both', async () => {
    const first = [await cache.get(FINAL, 'cpu'), await cache.get(EARLY, 'cpu')];
    const second = [await cache.get(FINAL, 'cpu'), await cache.get(EARLY, 'cpu')];
    assert.equal(second[0], first[0]);
    assert.equal(second[1], first[1]);
    assert.deepEqual(loads, [FINAL, EARLY]);
    assert.deepEqual(cache.loadedModels(), [FINAL, EARLY]);
  });

  it(`keeps at most ${MAX_LOADED_MODELS} models, releasing the least recently used`, async () => {
    // Four keys: the two bundled models, each with two provider settings.
    const oldest = await cache.get(FINAL, 'cpu');
    await cache.get(EARLY, 'cpu');
    await cache.get(FINAL, 'auto');
    await cache.get(EARLY, 'auto');
    assert.equal(loads.length, 4);
    assert.equal(cache.loadedModels().length, MAX_LOADED_MODELS);
    // The evicted model's session is released: it cannot run any more, and asking again reloads it.
    for (let waited = 0; waited < 50 && !oldest.model.stopped; waited++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(oldest.model.stopped, 'the least recently used model was released');
    const again = await cache.get(FINAL, 'cpu');
    assert.notEqual(again, oldest);
    assert.equal(loads.length, 5);
  });

  it('a released model is loaded again instead of failing every analysis', async () => {
    const analyzer = await cache.get(FINAL, 'cpu');
    await analyzer.dispose();
    const reloaded = await cache.get(FINAL, 'cpu');
    assert.notEqual(reloaded, analyzer);
    const result = await reloaded.analyze('x = 1\n', 'python', { reports: ['catLayers'] });
    assert.equal(result.model.path, FINAL);
  });
});
