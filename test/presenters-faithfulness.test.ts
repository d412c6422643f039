import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { faithfulness, type FaithfulnessReport } from '../src/core/metrics/faithfulness';
import { Analyzer } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import {
  FAITHFULNESS_VIEW_NAMES,
  faithfulnessPanelModel,
  faithfulnessPasses,
  spearmanInterval,
} from '../src/presenters/faithfulness';
import { MODEL_DIR, ROOT } from './helpers';

describe('faithfulness presenter on the bundled model', function () {
  let analyzer: Analyzer;
  let result: AnalysisResult;
  let report: FaithfulnessReport;
  let focus: number;
  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    result = await analyzer.analyze(
      'def area(width, height):\n    size = width * height\n    return size\n',
      'python',
      { path: '/work/geometry.py', version: 4 },
    );
    focus = result.tokens.findIndex((token) => token.text === 'size');
    report = await faithfulness(result, analyzer.model, focus);
  });
  after(async () => analyzer?.dispose());

  it('needs one forward pass per token of the focus window (the reference pass included)', () => {
    assert.equal(faithfulnessPasses(result, focus), result.tokens.length);
    assert.equal(faithfulnessPasses(result, focus), report.tokens.length + 1);
  });

  it('gives one ρ per view with its short name, the focus, the definition and the view to trust', () => {
    const shown = faithfulnessPanelModel(result, report);
    assert.equal(shown.file, 'geometry.py');
    assert.equal(shown.version, 4);
    assert.deepEqual(shown.focus, { token: focus, text: 'size', line: 2, column: 5 });
    assert.equal(shown.tokens, result.tokens.length - 1);
    assert.equal(shown.definition, report.definition);
    assert.deepEqual(
      shown.views.map((view) => [view.mode, view.name, view.spearman]),
      report.views.map((view) => [view.mode, FAITHFULNESS_VIEW_NAMES[view.mode], view.spearman]),
    );
    assert.deepEqual(
      shown.views.map((view) => view.mode),
      ['meanHeads', 'rollout', 'flow', 'valueWeighted'],
    );
    assert.equal(FAITHFULNESS_VIEW_NAMES.meanHeads, 'raw last layer (mean over heads)');
    assert.deepEqual(shown.skipped, []);
    const ranked = report.views
      .filter((view) => Number.isFinite(view.spearman))
      .sort((a, b) => b.spearman - a.spearman);
    const intervals = new Map(
      shown.views.map((view) => [view.mode, spearmanInterval(view.spearman, report.tokens.length)]),
    );
    for (const view of shown.views) assert.deepEqual({ low: view.low, high: view.high }, intervals.get(view.mode));
    // Behaviour changed by issue 15 item 8: a winner only when its interval clears the next view's.
    const overlap = ranked[1] && intervals.get(ranked[1].mode)!.high >= intervals.get(ranked[0].mode)!.low;
    if (ranked[0].spearman > 0 && !overlap) {
      assert.equal(shown.best, ranked[0].mode);
      assert.ok(
        shown.verdict.startsWith(
          `Trust ${FAITHFULNESS_VIEW_NAMES[ranked[0].mode]} most for ${result.model.displayName} on ` +
            `geometry.py: ρ ${ranked[0].spearman.toFixed(3)} [`,
        ),
        shown.verdict,
      );
    } else if (ranked[0].spearman > 0) {
      assert.equal(shown.best, undefined);
      assert.match(shown.verdict, /^No clear winner for .* at `size` \(line 2\): the 95 % intervals of .* overlap\./);
    } else {
      assert.equal(shown.best, undefined);
      assert.match(shown.verdict, /^No view ranks the tokens the way occlusion does/);
    }
    assert.match(shown.interval, /Fisher z/);
    assert.ok(JSON.parse(JSON.stringify(shown)).views.length === 4, 'the model survives postMessage');
  });

  it('lists skipped views with their reason, and value-weighted when the model has no value norms', () => {
    // The report of a model without value norms and a window too large for flow, from the real one.
    const reason = 'Attention flow is limited to 12 × 128 layer × subword cells.';
    const reduced: FaithfulnessReport = {
      ...report,
      views: report.views.filter((view) => view.mode === 'meanHeads' || view.mode === 'rollout'),
      skipped: [`flow: ${reason}`],
    };
    const shown = faithfulnessPanelModel(result, reduced);
    assert.deepEqual(
      shown.views.map((view) => view.mode),
      ['meanHeads', 'rollout'],
    );
    assert.deepEqual(shown.skipped, [
      { mode: 'flow', name: 'attention flow', reason },
      {
        mode: 'valueWeighted',
        name: 'value-weighted, head mean of α‖f_h(x)‖',
        reason: 'this model has no value_norms output (re-export it with models/export_onnx.py).',
      },
    ]);
  });

  it('says so when no view ranks like occlusion, or none can be ranked', () => {
    const negative: FaithfulnessReport = {
      ...report,
      views: report.views.map((view) => ({ ...view, spearman: -0.25 })),
    };
    const shownNegative = faithfulnessPanelModel(result, negative);
    assert.equal(shownNegative.best, undefined);
    assert.match(
      shownNegative.verdict,
      /^No view ranks the tokens the way occlusion does at `size` \(line 2\) \(best ρ -0\.250, raw last layer \(mean over heads\)\)/,
    );
    const constant: FaithfulnessReport = { ...report, views: report.views.map((view) => ({ ...view, spearman: NaN })) };
    assert.match(faithfulnessPanelModel(result, constant).verdict, /^No view could be ranked at `size` \(line 2\)/);
  });
  it('gives each ρ a Fisher-z interval and names a winner only when the intervals separate', () => {
    const n = report.tokens.length;
    const { low, high } = spearmanInterval(0.3, n);
    assert.ok(low < 0.3 && 0.3 < high && low >= -1 && high <= 1);
    // Symmetric in z: atanh(ρ) ± 1.96·√(1.06/(n−3)).
    const spread = 1.959964 * Math.sqrt(1.06 / (n - 3));
    assert.ok(Math.abs(Math.atanh(high) - Math.atanh(0.3) - spread) < 1e-9);
    assert.ok(Math.abs(Math.atanh(0.3) - Math.atanh(low) - spread) < 1e-9);
    assert.ok(
      spearmanInterval(0.3, 1000).high - spearmanInterval(0.3, 1000).low < high - low,
      'narrower with more tokens',
    );
    assert.ok(Number.isNaN(spearmanInterval(NaN, n).low) && Number.isNaN(spearmanInterval(0.5, 3).high));
    // The case: ρ 0.171 against 0.119 and 0.039 over the same tokens.
    const [first, second, third] = report.views;
    const close: FaithfulnessReport = {
      ...report,
      views: [
        { ...first, spearman: 0.171 },
        { ...second, spearman: 0.119 },
        { ...third, spearman: 0.039 },
      ],
    };
    const shown = faithfulnessPanelModel(result, close);
    assert.equal(shown.best, undefined);
    assert.match(shown.verdict, /^No clear winner/);
    assert.ok(shown.verdict.includes(`ρ 0.171 [${shown.views[0].low.toFixed(3)}, ${shown.views[0].high.toFixed(3)}]`));
    const apart: FaithfulnessReport = {
      ...report,
      views: [
        { ...first, spearman: 0.999 },
        { ...second, spearman: -0.999 },
      ],
    };
    assert.equal(faithfulnessPanelModel(result, apart).best, first.mode);
    assert.match(faithfulnessPanelModel(result, apart).verdict, /^Trust /);
  });
});
