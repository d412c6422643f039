import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareAnalyses, type ModelComparison } from '../src/core/compare';
import { Analyzer } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import { comparePanelModel, DIFFERENCE_MIN_SHARE, differenceHighlights } from '../src/presenters/compare';
import { EARLY_MODEL_DIR, EXAMPLES, MODEL_DIR, ROOT } from './helpers';

describe('compare presenter', function () {
  it('marks tokens whose received-attention difference reaches a share of the largest, by sign', () => {
    // Largest |difference| is 0.4, so the cut is 0.1: 0.1 and 0.3 go to B, −0.4 to A; −0.09, 0.05 and 0 stay unmarked.
    const comparison = { receivedDifference: [0.1, -0.4, 0.05, 0.3, -0.09, 0] } as ModelComparison;
    assert.deepEqual(differenceHighlights(comparison, 0.25), { moreInA: [1], moreInB: [0, 3] });
    assert.deepEqual(differenceHighlights({ receivedDifference: [0, 0, 0] } as ModelComparison), {
      moreInA: [],
      moreInB: [],
    });
  });

  it('gives the panel both models’ CAT and data-flow curves and head maps as plain JSON', async () => {
    const source = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
    const results: AnalysisResult[] = [];
    for (const modelDir of [MODEL_DIR, EARLY_MODEL_DIR]) {
      const analyzer = await Analyzer.create({
        modelDir,
        executionProvider: 'cpu',
        grammarsDir: join(ROOT, 'grammars'),
      });
      try {
        results.push(await analyzer.analyze(source, 'python', { path: '/somewhere/lru_cache.py' }));
      } finally {
        await analyzer.dispose();
      }
    }
    const [a, b] = results;
    const comparison = compareAnalyses(a, b);
    const highlights = differenceHighlights(comparison);
    const model = comparePanelModel(a, b, comparison, highlights);
    assert.equal(model.file, 'lru_cache.py');
    assert.equal(model.relativeDepth, a.model.layers !== b.model.layers);
    for (const [side, result] of [
      [model.a, a],
      [model.b, b],
    ] as const) {
      assert.equal(side.name, result.model.name);
      assert.deepEqual(side.cat, result.scores.cat!.score.perLayer);
      assert.deepEqual(side.baseline, result.scores.cat!.baseline.perLayer);
      // Python has data-flow rules: one finite share per layer, equal to the core's report.
      assert.deepEqual(side.dataFlow, result.scores.dataFlow!.score.perLayer);
      assert.equal(side.dataFlow.length, result.model.layers);
      assert.ok(side.dataFlow.every((value) => value >= 0 && value <= 1));
      assert.equal(side.heatmap.length, result.model.layers);
      assert.ok(side.heatmap.every((row) => row.length === result.model.heads));
      assert.deepEqual(
        side.depth,
        Array.from({ length: result.model.layers }, (_, l) => (l + 1) / result.model.layers),
      );
    }
    assert.equal(model.moreInA, highlights.moreInA.length);
    assert.equal(model.moreInB, highlights.moreInB.length);
    const largest = Math.max(...comparison.receivedDifference.map(Math.abs));
    const cut = DIFFERENCE_MIN_SHARE * largest;
    const expected = { moreInA: [] as number[], moreInB: [] as number[] };
    comparison.receivedDifference.forEach((difference, token) => {
      if (largest === 0) return; // identical models: nothing to mark
      if (difference >= cut) expected.moreInB.push(token);
      else if (difference <= -cut) expected.moreInA.push(token);
    });
    assert.deepEqual(highlights, expected);
    assert.deepEqual(JSON.parse(JSON.stringify(model)).a.cat, model.a.cat, 'survives postMessage');
  });

  it(
    'leaves data-flow curves empty (NaN) when an analysis has no data-flow score, and finds no ' +
      'difference between a model and itself',
    async () => {
      const analyzer = await Analyzer.create({
        modelDir: MODEL_DIR,
        executionProvider: 'cpu',
        grammarsDir: join(ROOT, 'grammars'),
      });
      try {
        const result = await analyzer.analyze(readFileSync(join(EXAMPLES, 'inventory.rb'), 'utf8'), 'ruby');
        // As for a language without data-flow rules, where the pipeline leaves the score out.
        const withoutDataFlow: AnalysisResult = {
          ...result,
          dataFlow: undefined,
          scores: { ...result.scores, dataFlow: undefined },
        };
        const model = comparePanelModel(withoutDataFlow, result, compareAnalyses(withoutDataFlow, result));
        assert.equal(model.a.dataFlow.length, result.model.layers);
        assert.ok(model.a.dataFlow.every(Number.isNaN) && model.a.dataFlowBaseline.every(Number.isNaN));
        assert.equal(model.relativeDepth, false);
        assert.equal(model.moreInA + model.moreInB, 0, 'a model compared with itself differs nowhere');
      } finally {
        await analyzer.dispose();
      }
    },
  );
});
