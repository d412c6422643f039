import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alignMatrix } from '../src/core/alignment';
import { layerValueWeightedAttention, valueWeightedAttention } from '../src/core/metrics/valueWeighted';
import { LoadedModel } from '../src/core/model';
import { Analyzer } from '../src/core/pipeline';
import { NO_VALUE_GRAM, prepareView, tokenAttentionRow, VIEW_MODE_LABELS, viewLabel } from '../src/core/views';
import { EARLY_MODEL_DIR, EXAMPLES, MODEL_DIR, ROOT } from './helpers';

interface ParityFixture {
  ids: number[];
  valueGramShape: number[];
  layerValueWeightedShape: number[];
  layerValueWeighted: number[];
}

describe('layer-level value-weighted attention (Kobayashi ‖Σ_h α f_h(x)‖)', function () {
  let model: LoadedModel;
  before(async () => {
    model = await LoadedModel.load(MODEL_DIR, { executionProvider: 'cpu' });
  });
  after(async () => model?.dispose());

  it('equals the norm of Σ_h α_h f_h(x_j) computed from the vectors in PyTorch (the export’s fixture)', async function () {
    if (process.env.CAL_TEST_MODEL) this.skip(); // the fixture belongs to the bundled final model
    const fixturePath = join(ROOT, 'test', 'fixtures', 'model', 'onnx-parity.json');
    const fixture = JSON.parse(readFileSync(fixturePath, 'utf8')) as ParityFixture;
    const output = await model.forward(fixture.ids);
    const [layers, n] = fixture.layerValueWeightedShape;
    assert.deepEqual(output.valueGram!.shape, fixture.valueGramShape);
    let worst = 0;
    let largest = 0;
    for (let layer = 0; layer < layers; layer++) {
      const raw = layerValueWeightedAttention(output.attentions, output.valueGram!, layer, false);
      for (let cell = 0; cell < n * n; cell++) {
        const expected = fixture.layerValueWeighted[layer * n * n + cell];
        largest = Math.max(largest, expected);
        worst = Math.max(worst, Math.abs(raw[cell] - expected) / Math.max(1, expected));
      }
    }
    assert.ok(largest > 1, `the fixture holds real norms (largest ${largest})`);
    assert.ok(worst < 1e-4, `‖Σ_h α f_h(x)‖ differs from PyTorch's direct computation by ${worst} (relative)`);
  });

  it('has the value norms on the Gram diagonal, and is not the head mean of α‖f_h(x)‖', async () => {
    const source = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
    const ids = [0, ...model.tokenizer.encodeText(source).slice(0, 120), 2];
    const { attentions, valueNorms, valueGram } = await model.forward(ids);
    const [layers, heads, n] = attentions.shape;
    assert.deepEqual(valueGram!.shape, [layers, n, heads, heads]);
    let worst = 0;
    for (let layer = 0; layer < layers; layer++)
      for (let j = 0; j < n; j++)
        for (let h = 0; h < heads; h++) {
          const diagonal = valueGram!.data[((layer * n + j) * heads + h) * heads + h];
          const norm = valueNorms!.data[(layer * heads + h) * n + j];
          worst = Math.max(worst, Math.abs(Math.sqrt(diagonal) - norm) / Math.max(1, norm));
        }
    assert.ok(worst < 1e-5, `sqrt(G_j[h, h]) differs from value_norms by ${worst}`);
    // By the triangle inequality the layer norm is at most heads × the head mean; where heads disagree it is less.
    const layer = layers - 1;
    const combined = layerValueWeightedAttention(attentions, valueGram!, layer, false);
    const headMean = valueWeightedAttention(attentions, valueNorms!, layer, undefined, false);
    let differs = 0;
    for (let cell = 0; cell < n * n; cell++) {
      assert.ok(combined[cell] <= heads * headMean[cell] * (1 + 1e-5) + 1e-6, `cell ${cell}`);
      if (Math.abs(combined[cell] - heads * headMean[cell]) > 1e-3 * heads * headMean[cell]) differs++;
    }
    assert.ok(differs > n, `${differs} cells where the heads' vectors do not all point the same way`);
  });

  it('is a view of its own: the aligned row of the normalised matrix, labelled, on both bundled models', async () => {
    for (const modelDir of [MODEL_DIR, EARLY_MODEL_DIR]) {
      const analyzer = await Analyzer.create({
        modelDir,
        executionProvider: 'cpu',
        grammarsDir: join(ROOT, 'grammars'),
      });
      try {
        assert.ok(analyzer.model.info.hasValueGram, `${modelDir} exports value_gram`);
        const result = await analyzer.analyze(readFileSync(join(EXAMPLES, 'debounce.js'), 'utf8'), 'javascript');
        const token = result.tokens.findIndex((t) => t.text === 'timer');
        const view = { mode: 'valueWeightedLayer' as const, layer: 1, direction: 'attendsTo' as const };
        await prepareView(result, view, token);
        const row = tokenAttentionRow(result, view, token);
        const window = result.windows[0];
        let sum = 0;
        for (let t = window.tokenStart; t < window.tokenEnd; t++) sum += row.weights[t];
        // Rows are normalised over subwords; the special tokens' share is left out when aligning, as in every view.
        assert.ok(sum > 0.5 && sum <= 1 + 1e-5, `row sums to ${sum}`);
        const subwordMatrix = layerValueWeightedAttention(window.subwordAttention, window.valueGram!, 1);
        const n = window.ids.length;
        const m = window.tokenEnd - window.tokenStart;
        const aligned = alignMatrix(Float32Array.from(subwordMatrix), n, window, result.options.pairRule);
        const local = token - window.tokenStart;
        for (let b = 0; b < m; b++) assert.equal(row.weights[window.tokenStart + b], aligned[local * m + b]);
        assert.equal(row.label, 'value-weighted, layer (Kobayashi ‖Σ_h α f_h(x)‖) · layer 1 · attends to');
        const headMean = tokenAttentionRow(result, { ...view, mode: 'valueWeighted' }, token);
        assert.ok(headMean.weights.some((weight, t) => Math.abs(weight - row.weights[t]) > 1e-4));
        assert.equal(
          viewLabel({ ...view, mode: 'valueWeighted' }),
          'value-weighted, head mean of α‖f_h(x)‖ · layer 1 · attends to',
        );
      } finally {
        await analyzer.dispose();
      }
    }
    assert.deepEqual(
      [VIEW_MODE_LABELS.valueWeighted, VIEW_MODE_LABELS.valueWeightedLayer],
      ['value-weighted, head mean of α‖f_h(x)‖', 'value-weighted, layer (Kobayashi ‖Σ_h α f_h(x)‖)'],
    );
  });

  it('a model without value_gram still loads and analyses; the layer view says why it is unavailable', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'cal-no-gram-'));
    try {
      cpSync(MODEL_DIR, scratch, { recursive: true });
      // The exported graph is kept; the manifest names an output it does not have, as an older export would lack it.
      const manifestPath = join(scratch, 'manifest.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { outputs: Record<string, string> };
      manifest.outputs.valueGram = 'value_gram_not_exported';
      writeFileSync(manifestPath, JSON.stringify(manifest));
      const analyzer = await Analyzer.create({
        modelDir: scratch,
        executionProvider: 'cpu',
        grammarsDir: join(ROOT, 'grammars'),
      });
      try {
        assert.equal(analyzer.model.info.hasValueGram, false);
        const result = await analyzer.analyze('def f(a, b):\n    return a + b\n', 'python');
        assert.equal(result.windows[0].valueGram, undefined);
        const view = { mode: 'valueWeightedLayer' as const, layer: 0, direction: 'attendsTo' as const };
        await assert.rejects(prepareView(result, view, 1), (error: Error) => error.message === NO_VALUE_GRAM);
        assert.throws(
          () => tokenAttentionRow(result, view, 1),
          (error: Error) => error.message === NO_VALUE_GRAM,
        );
        // The head mean still works.
        const headMean = { ...view, mode: 'valueWeighted' as const };
        await prepareView(result, headMean, 1);
        assert.ok(tokenAttentionRow(result, headMean, 1).weights.some((weight) => weight > 0));
      } finally {
        await analyzer.dispose();
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
