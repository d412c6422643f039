import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AnalysisCancelledError,
  Analyzer,
  completeScores,
  completeScoresStepwise,
  InputError,
  missingReports,
} from '../src/core/pipeline';
import { headMatrix, headTokenMatrix } from '../src/core/alignment';
import { EXAMPLES, MODEL_DIR, ROOT } from './helpers';

describe('analysis pipeline on the bundled model', function () {
  let analyzer: Analyzer;
  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
  });
  after(async () => analyzer?.dispose());

  it(
    'analyses a file: tokens, aligned attention, CAT-score per layer and head with its ' + 'baseline, timings',
    async () => {
      const source = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
      const result = await analyzer.analyze(source, 'python', { path: 'lru_cache.py' });
      const { layers, heads } = result.model;
      assert.equal(result.windows.length, 1);
      const window = result.windows[0];
      const m = result.tokens.length;
      assert.deepEqual(window.tokenAttention.shape, [layers, heads, m, m]);
      // Under the mean rule a token row does not sum to 1; the subword rows it comes from do.
      const cat = result.scores.cat!;
      assert.equal(cat.score.perLayer.length, layers);
      assert.equal(cat.score.perHead.length, layers);
      assert.equal(cat.score.perHead[0].length, heads);
      for (const value of [...cat.score.perLayer, ...cat.baseline.perLayer]) assert.ok(value >= 0 && value <= 1);
      assert.deepEqual(cat.definition.keptTypes, [')', 'def', 'return', 'identifier', 'if', 'for', ':', ']']);
      assert.ok(cat.tokensKept > 50 && cat.tokensKept < m);
      for (const stage of ['parseMs', 'tokenizeMs', 'forwardMs', 'alignMs', 'metricsMs', 'totalMs'] as const)
        assert.ok(result.timings[stage] >= 0);
      assert.equal(result.device, 'cpu');
    },
  );

  it('computes only the reports asked for; completeScores adds the rest, equal to a full analysis', async () => {
    const source = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
    const full = await analyzer.analyze(source, 'python');
    const partial = await analyzer.analyze(source, 'python', { reports: ['cat'] });
    assert.deepEqual(Object.keys(partial.scores), ['cat']);
    assert.deepEqual(partial.scores.cat, full.scores.cat);
    const before = partial.timings.metricsMs;
    const scores = completeScores(partial, ['structureHeads']);
    assert.deepEqual(Object.keys(scores).sort(), ['cat', 'structureHeads']);
    assert.ok(partial.timings.metricsMs > before, 'the time of a later report counts as metrics time');
    completeScores(partial);
    for (const report of ['dataFlow', 'headStatistics', 'headRoles', 'structureHeads'] as const)
      assert.deepEqual(partial.scores[report], full.scores[report], report);
  });

  it(
    'per-layer reports for the editor: the same layer scores, heads left for later, one head aligned ' +
      'alone equals the full alignment',
    async () => {
      const source = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
      const full = await analyzer.analyze(source, 'python');
      const light = await analyzer.analyze(source, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
      assert.equal(light.scores.cat!.headsScored, false);
      assert.deepEqual(light.scores.cat!.score.perLayer, full.scores.cat!.score.perLayer);
      assert.deepEqual(light.scores.dataFlow!.score.perLayer, full.scores.dataFlow!.score.perLayer);
      assert.ok(light.scores.cat!.score.perHead.flat().every(Number.isNaN));
      const window = light.windows[0];
      const alone = headTokenMatrix(window, 1, 2, 'mean');
      assert.deepEqual(alone, headMatrix(window.tokenAttention, 1, 2));
      // Layer means are aligned from head-averaged subword attention: the mean of the aligned heads up to rounding,
      // and kept in float16 (half a unit in the last place: 2⁻¹¹ relative, 2⁻²⁵ absolute below the normal range).
      const m = window.tokenEnd - window.tokenStart;
      const layerMean = headMatrix(window.layerAttention, 1, 0);
      for (let x = 0; x < m * m; x += 7) {
        let mean = 0;
        for (let h = 0; h < light.model.heads; h++)
          mean += headMatrix(window.tokenAttention, 1, h)[x] / light.model.heads;
        assert.ok(Math.abs(layerMean[x] - mean) < 1e-6 + Math.max(mean * 2 ** -11, 2 ** -25));
      }
      completeScores(light, ['cat', 'dataFlow']);
      assert.equal(light.scores.cat!.headsScored, true);
      assert.deepEqual(light.scores.cat, full.scores.cat);
      assert.deepEqual(light.scores.dataFlow, full.scores.dataFlow);
    },
  );

  it('completes reports step by step, yielding to the event loop between them, to the same scores', async () => {
    const source = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
    const full = await analyzer.analyze(source, 'python');
    const light = await analyzer.analyze(source, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
    assert.deepEqual(missingReports(light, ['catLayers', 'dataFlowLayers']), []);
    assert.deepEqual(missingReports(light), ['cat', 'dataFlow', 'headStatistics', 'structureHeads']);
    assert.deepEqual(
      missingReports(light, ['cat', 'catLayers']),
      ['cat'],
      'the per-head report covers the per-layer one',
    );
    const steps: string[] = [];
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    await completeScoresStepwise(light, 'all', (report, index, count) => steps.push(`${index + 1}/${count} ${report}`));
    clearInterval(ticker);
    assert.deepEqual(steps, ['1/4 cat', '2/4 dataFlow', '3/4 headStatistics', '4/4 structureHeads']);
    assert.ok(turns >= 1, 'timers ran between the reports');
    assert.deepEqual(missingReports(light), []);
    for (const report of ['cat', 'dataFlow', 'headStatistics', 'headRoles', 'structureHeads'] as const)
      assert.deepEqual(light.scores[report], full.scores[report], report);
  });

  it('rows of token attention sum to 1 minus the special-token mass under the sumMean rule', async () => {
    const source = readFileSync(join(EXAMPLES, 'wordcount.go'), 'utf8');
    const result = await analyzer.analyze(source, 'go', { pairRule: 'sumMean' });
    const window = result.windows[0];
    const [layers, heads, n] = window.subwordAttention.shape;
    const m = window.tokenEnd - window.tokenStart;
    for (let l = 0; l < layers; l++) {
      for (let h = 0; h < heads; h++) {
        const special = new Float64Array(m);
        const counts = new Float64Array(m);
        for (let i = 0; i < n; i++) {
          const owner = window.tokenOfSubword[i];
          if (owner < 0) continue;
          counts[owner - window.tokenStart]++;
          const base = ((l * heads + h) * n + i) * n;
          special[owner - window.tokenStart] +=
            window.subwordAttention.data[base] + window.subwordAttention.data[base + n - 1];
        }
        for (let a = 0; a < m; a++) {
          let sum = 0;
          for (let b = 0; b < m; b++) sum += window.tokenAttention.data[((l * heads + h) * m + a) * m + b];
          assert.ok(Math.abs(sum + special[a] / counts[a] - 1) < 1e-4);
        }
      }
    }
  });

  it('splits a long file into windows instead of truncating it', async () => {
    const source = readFileSync(join(EXAMPLES, 'BinarySearch.java'), 'utf8').repeat(4);
    const result = await analyzer.analyze(source, 'java');
    assert.ok(result.windows.length >= 2);
    assert.equal(result.windows[0].tokenStart, 0);
    assert.equal(result.windows[result.windows.length - 1].tokenEnd, result.tokens.length);
    assert.ok(result.windows.every((window) => window.ids.length <= result.model.maxPositions));
    assert.ok(result.warnings.some((warning) => /windows/.test(warning)));
  });

  it('analyses a string literal longer than a window, split across windows with a warning', async () => {
    const literal = Array.from({ length: 700 }, (_, i) => `word${i}`).join(' ');
    const result = await analyzer.analyze(`text = "${literal}"\nsize = len(text)\n`, 'python');
    assert.ok(
      result.warnings.some((warning) =>
        /1 code token\(s\) have more subwords than a window holds.*split across consecutive windows/.test(warning),
      ),
    );
    const literalIndex = result.tokens.findIndex((token) => token.type === 'string');
    const holding = result.windows.filter(
      (window) => window.tokenStart <= literalIndex && window.tokenEnd > literalIndex,
    );
    assert.ok(holding.length >= 2, 'the literal spans windows');
    assert.equal(result.windows[result.windows.length - 1].tokenEnd, result.tokens.length);
    assert.ok(result.scores.cat!.score.perLayer.every((value) => Number.isFinite(value)));
  });

  it('analyses code with syntax errors and marks the error regions', async () => {
    const result = await analyzer.analyze('def broken(:\n    return 1 +\n', 'python');
    assert.ok(result.errors.length > 0);
    assert.ok(result.tokens.some((token) => token.inError));
    assert.ok(result.warnings.some((warning) => /Syntax errors/.test(warning)));
  });

  it('refuses empty, binary and oversized input with a clear message', async () => {
    await assert.rejects(
      analyzer.analyze('   \n', 'python'),
      (error: Error) => error instanceof InputError && /empty/.test(error.message),
    );
    await assert.rejects(
      analyzer.analyze('x = 1\u0000\u0000', 'python'),
      (error: Error) => error instanceof InputError && /binary/.test(error.message),
    );
    await assert.rejects(
      analyzer.analyze('x = 1\n'.repeat(100), 'python', { maxBytes: 100 }),
      (error: Error) => error instanceof InputError && /limit/.test(error.message),
    );
    await assert.rejects(
      analyzer.analyze('# only a comment\n', 'python'),
      (error: Error) => error instanceof InputError && /no code tokens/.test(error.message),
    );
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(analyzer.analyze('x = 1\n', 'python', { signal: controller.signal }), AnalysisCancelledError);
  });
});
