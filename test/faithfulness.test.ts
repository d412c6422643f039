import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import {
  averageRanks,
  cosine,
  faithfulness,
  faithfulnessTokens,
  MAX_FAITHFULNESS_TOKENS,
  spearman,
} from '../src/core/metrics/faithfulness';
import { Analyzer } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import { tokenAttentionRow } from '../src/core/views';
import { EXAMPLES, MODEL_DIR, ROOT } from './helpers';

const close = (actual: number, expected: number, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) < tolerance, `${actual} ≠ ${expected}`);

describe('faithfulness: rank statistics', () => {
  it('average ranks share tied positions', () => {
    // 10 < 20 = 20 < 30: ranks 1, (2 + 3) / 2, (2 + 3) / 2, 4.
    assert.deepEqual(averageRanks([20, 10, 30, 20]), [2.5, 1, 4, 2.5]);
  });

  it('Spearman ρ on hand-checked samples', () => {
    close(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    close(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    // No ties: ρ = 1 − 6·Σd² / (n(n² − 1)); ranks y = [2, 1, 4, 3, 5], d² = 1 + 1 + 1 + 1 + 0 = 4 → 1 − 24/120 = 0.8.
    close(spearman([1, 2, 3, 4, 5], [0.2, 0.1, 0.9, 0.5, 1.0]), 0.8);
    // Ties: ranks x = [1, 2.5, 2.5, 4], y = [1, 2, 3, 4]; centred: [−1.5, 0, 0, 1.5] and [−1.5, −0.5, 0.5, 1.5];
    // covariance 4.5, variances 4.5 and 5 → ρ = 4.5 / √22.5.
    close(spearman([1, 2, 2, 3], [1, 2, 3, 4]), 4.5 / Math.sqrt(22.5));
    assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
  });

  it('cosine of parallel, orthogonal and opposite vectors', () => {
    close(cosine([1, 2], [2, 4]), 1);
    close(cosine([1, 0], [0, 3]), 0);
    close(cosine([1, -1], [-2, 2]), -1);
  });
});

describe('faithfulness on the bundled model', function () {
  let analyzer: Analyzer;
  let result: AnalysisResult;
  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    result = await analyzer.analyze('def area(width, height):\n    size = width * height\n    return size\n', 'python');
  });
  after(async () => analyzer?.dispose());

  it(
    'occlusion is 1 − cosine of the focus output with and without each token, and each view is ranked ' + 'against it',
    async () => {
      const focus = result.tokens.findIndex((token) => token.text === 'size');
      const report = await faithfulness(result, analyzer.model, focus);
      assert.deepEqual(
        report.tokens,
        result.tokens.map((_, index) => index).filter((index) => index !== focus),
      );
      assert.equal(report.occlusion.length, report.tokens.length);

      // Recompute one occlusion value by hand: blank out `width` (token 3) and compare the focus's vector.
      const window = result.windows[0];
      const hidden = result.model.hiddenSize;
      const focusSubwords = [...window.tokenOfSubword.keys()].filter((s) => window.tokenOfSubword[s] === focus);
      const vector = (data: Float32Array) =>
        Array.from(
          { length: hidden },
          (_, d) => focusSubwords.reduce((sum, s) => sum + data[s * hidden + d], 0) / focusSubwords.length,
        );
      const blanked = 3;
      assert.equal(result.tokens[blanked].text, 'width');
      const plain = vector((await analyzer.model.forward(window.ids)).lastHiddenState.data);
      const masked = vector(
        (
          await analyzer.model.forward(
            window.ids.map((id, s) =>
              window.tokenOfSubword[s] === blanked ? analyzer.model.tokenizer.special.mask : id,
            ),
          )
        ).lastHiddenState.data,
      );
      close(report.occlusion[report.tokens.indexOf(blanked)], 1 - cosine(plain, masked), 1e-6);
      assert.ok(report.occlusion.every((value) => value >= -1e-6 && value <= 2));

      assert.deepEqual(
        report.views.map((view) => view.mode),
        ['meanHeads', 'rollout', 'flow', 'valueWeighted'],
      );
      for (const view of report.views) {
        const row = tokenAttentionRow(
          result,
          { mode: view.mode, layer: result.model.layers - 1, direction: 'attendsTo' },
          focus,
        );
        assert.deepEqual(
          view.importance,
          report.tokens.map((token) => row.weights[token]),
        );
        close(view.spearman, spearman(view.importance, report.occlusion));
        assert.ok(view.spearman >= -1 && view.spearman <= 1);
      }
      assert.deepEqual(report.skipped, []);
    },
  );

  it('rejects a focus outside the file with the valid range', async () => {
    await assert.rejects(
      faithfulness(result, analyzer.model, result.tokens.length),
      /out of range: the file has \d+ code tokens/,
    );
  });

  it('in a window of more than 256 tokens compares the focus’s 255 nearest neighbours, and says so', async () => {
    const long = await analyzer.analyze(readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8'), 'python');
    const m = long.tokens.length;
    assert.ok(m > MAX_FAITHFULNESS_TOKENS && long.windows.length === 1);
    const middle = Math.floor(m / 2);
    const around = faithfulnessTokens(long, middle);
    assert.equal(around.length, MAX_FAITHFULNESS_TOKENS - 1);
    assert.equal(around[0], middle - 127);
    assert.equal(around[around.length - 1], middle + 128);
    assert.deepEqual(
      faithfulnessTokens(long, 0),
      Array.from({ length: 255 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      faithfulnessTokens(long, m - 1),
      Array.from({ length: 255 }, (_, i) => m - 256 + i),
    );
    assert.deepEqual(
      faithfulnessTokens(result, 3),
      result.tokens.map((_, index) => index).filter((index) => index !== 3),
    );
    // The same choice with a smaller bound, run for real (one forward pass per compared token).
    const report = await faithfulness(long, analyzer.model, m - 1, 9);
    assert.deepEqual(
      report.tokens,
      Array.from({ length: 8 }, (_, i) => m - 9 + i),
    );
    assert.equal(report.windowTokens, m);
    assert.equal(report.occlusion.length, 8);
    assert.match(report.definition, new RegExp(`compared: the 8 tokens nearest the focus of its window's ${m}`));
  });
});
