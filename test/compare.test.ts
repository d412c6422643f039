import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareAnalyses, receivedAttention } from '../src/core/compare';
import { Analyzer } from '../src/core/pipeline';
import { EARLY_MODEL_DIR, EXAMPLES, MODEL_DIR, ROOT } from './helpers';

describe('comparing two real models on one file', function () {
  it('lines up per-layer scores, head maps and a token-level difference', async () => {
    const source = readFileSync(join(EXAMPLES, 'debounce.js'), 'utf8');
    const results = [];
    for (const modelDir of [MODEL_DIR, EARLY_MODEL_DIR]) {
      const analyzer = await Analyzer.create({
        modelDir,
        executionProvider: 'cpu',
        grammarsDir: join(ROOT, 'grammars'),
      });
      results.push(await analyzer.analyze(source, 'javascript', { path: 'debounce.js' }));
      await analyzer.dispose();
    }
    const [a, b] = results;
    const comparison = compareAnalyses(a, b);
    assert.equal(comparison.relativeDepth, a.model.layers !== b.model.layers);
    assert.deepEqual(comparison.a.cat, a.scores.cat!.score.perLayer);
    assert.deepEqual(comparison.b.cat, b.scores.cat!.score.perLayer);
    assert.deepEqual(
      comparison.a.depth,
      Array.from({ length: a.model.layers }, (_, l) => (l + 1) / a.model.layers),
    );
    assert.equal(comparison.a.heatmap.length, a.model.layers);
    assert.deepEqual(comparison.a.dataFlow?.score, a.scores.dataFlow!.score.perLayer);
    assert.deepEqual(comparison.b.dataFlow?.baseline, b.scores.dataFlow!.baseline.perLayer);
    assert.deepEqual(comparison.b.dataFlow?.perHead, b.scores.dataFlow!.score.perHead);
    const receivedA = receivedAttention(a);
    const receivedB = receivedAttention(b);
    assert.equal(comparison.receivedDifference.length, a.tokens.length);
    comparison.receivedDifference.forEach((difference, token) =>
      assert.ok(Math.abs(difference - (receivedB[token] - receivedA[token])) < 1e-12),
    );
    // Under the mean rule received attention is a mean of pair means; it stays within [0, 1].
    assert.ok(receivedA.every((value) => value >= 0 && value <= 1));
    assert.throws(() => compareAnalyses(a, { ...b, source: { ...b.source, text: b.source.text + ' ' } }), /same text/);
  });
});
