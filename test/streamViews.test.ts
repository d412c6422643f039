import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Analyzer, completeScoresStepwise, coversOffset, WindowOrder } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import type { AttentionView } from '../src/core/views';
import { windowSpan } from '../src/core/windowOrder';
import { carriedHighlights, drawnHighlights } from '../src/presenters/highlightCarry';
import { presentHover, tokenAtOffset } from '../src/presenters/hover';
import { panelModel } from '../src/presenters/panel';
import { MODEL_DIR, ROOT } from './helpers';

const LAST_LAYER_MEAN: AttentionView = { mode: 'meanHeads', layer: -1, direction: 'attendsTo' };

describe('score panel while windows land', function () {
  this.timeout(300_000);
  let analyzer: Analyzer;
  before(async () => {
    // A cache of one byte: every window's tensors are released after its forward pass, so the
    // partial panel is shown to need nothing but what a partial result keeps.
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
      tensorCacheBytes: 1,
    });
  });
  after(() => analyzer?.dispose());

  it('shows the per-layer scores of the windows done so far, labelled partial; the full report when complete', async () => {
    const text = readFileSync(join(ROOT, 'test', 'fixtures', 'pprint.py'), 'utf8');
    const partials: AnalysisResult[] = [];
    const result = await analyzer.analyze(text, 'python', {
      path: '/tmp/pprint.py',
      reports: ['catLayers', 'dataFlowLayers'],
      onPartial: (partial) => partials.push(partial),
    });
    const total = result.windows.length;
    assert.ok(total >= 13 && partials.length === total - 1, `${total} windows, ${partials.length} partials`);
    const { layers, heads } = result.model;
    for (const [index, partial] of partials.entries()) {
      const model = panelModel(partial);
      assert.deepEqual(model.partial, { windowsDone: index + 1, windowsTotal: total });
      assert.equal(model.windows, total);
      assert.equal(model.file, 'pprint.py');
      assert.equal(model.layers.length, layers);
      for (const row of model.layers) {
        assert.equal(row.cat, partial.scores.cat!.score.perLayer[row.layer]);
        assert.equal(row.baseline, partial.scores.cat!.baseline.perLayer[row.layer]);
        assert.equal(row.dataFlow, partial.scores.dataFlow!.score.perLayer[row.layer]);
        assert.equal(row.dataFlowBaseline, partial.scores.dataFlow!.baseline.perLayer[row.layer]);
        assert.ok([row.cat, row.baseline, row.dataFlow, row.dataFlowBaseline].every(Number.isFinite), 'scored');
        assert.ok(Number.isNaN(row.entropy), 'head statistics wait for the complete result');
      }
      assert.deepEqual(model.heatmap, []);
      assert.deepEqual(model.structureHeads, []);
      // Nothing was computed for the panel: the per-head reports stay missing on the partial result.
      assert.equal(partial.scores.cat!.headsScored, false);
      assert.equal(partial.scores.headStatistics, undefined);
    }
    // Fewer windows, other sums: the first partial's scores are not yet the file's.
    const firstCat = panelModel(partials[0]).layers.map((row) => row.cat);
    assert.notDeepEqual(firstCat, result.scores.cat!.score.perLayer);

    await completeScoresStepwise(result, 'all');
    const complete = panelModel(result);
    assert.equal(complete.partial, undefined);
    assert.equal(complete.windows, total);
    assert.deepEqual(
      complete.layers.map((row) => row.cat),
      [...result.scores.cat!.score.perLayer],
    );
    assert.equal(complete.heatmap.length, layers);
    assert.ok(complete.heatmap.every((row) => row.length === heads && row.every(Number.isFinite)));
    assert.ok(complete.structureHeads.length > 0);
    assert.ok(complete.layers.every((row) => Number.isFinite(row.entropy)));
  });
});

describe('highlights kept during re-analysis', function () {
  this.timeout(300_000);
  let analyzer: Analyzer;
  let text: string;
  let previous: AnalysisResult;
  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    text = readFileSync(join(ROOT, 'test', 'fixtures', 'pprint.py'), 'utf8');
    previous = await analyzer.analyze(text, 'python', { reports: ['catLayers'] });
  });
  after(() => analyzer?.dispose());

  /** A focus token in window `index` with highlights of its own window around it, and what was drawn for it. */
  const drawnAt = (result: AnalysisResult, index: number) => {
    const window = result.windows[index];
    const focus = window.tokenStart + Math.floor((window.tokenEnd - window.tokenStart) / 2);
    const view = { ...LAST_LAYER_MEAN, layer: result.model.layers - 1 };
    return { focus, view, drawn: drawnHighlights(result, presentHover(result, view, focus), focus) };
  };
  const textsOf = (source: string, ranges: Array<{ start: number; end: number }>) =>
    ranges.map(({ start, end }) => source.slice(start, end));

  it('moves the highlights outside an edit with the text; the ones touching it go', () => {
    const { focus, drawn } = drawnAt(previous, 8);
    assert.ok(drawn.highlights.length >= 5, `${drawn.highlights.length} highlights`);
    // Insert a line right before a highlighted token that is before the focus (after a space, so
    // that no other token touches the insertion).
    const before = drawn.highlights.filter(
      (range) => range.end < drawn.focus.start && /\s/.test(text[range.start - 1]) && text[range.start] !== 'x',
    );
    assert.ok(before.length > 0);
    const touched = before[0];
    const edited = text.slice(0, touched.start) + 'x = 1\n' + text.slice(touched.start);
    const carried = carriedHighlights(drawn, edited)!;
    assert.ok(carried, 'the focused token is outside the edit');
    assert.equal(carried.text, edited);
    assert.deepEqual(textsOf(edited, [carried.focus]), [previous.tokens[focus].text]);
    const kept = drawn.highlights.filter((range) => range !== touched);
    assert.equal(carried.highlights.length, kept.length, 'only the highlight touching the edit goes');
    assert.deepEqual(textsOf(edited, carried.highlights), textsOf(text, kept));
    assert.deepEqual(
      carried.highlights.map((range) => range.bucket),
      kept.map((range) => range.bucket),
    );
    // Unchanged text keeps everything; an edit of the focused token drops it all.
    assert.equal(carriedHighlights(drawn, text), drawn);
    const onFocus = text.slice(0, drawn.focus.start + 1) + 'q' + text.slice(drawn.focus.start + 1);
    assert.equal(carriedHighlights(drawn, onFocus), undefined);
  });

  it('carried highlights equal the new analysis’s once it covers the focus; edits accumulate', async () => {
    const { drawn, view } = drawnAt(previous, 9);
    // Two edits in a row in window 2 (a line added, then a name changed), both before the focus.
    const target = previous.windows[2];
    const line = text.indexOf('\n', windowSpan(target, previous.tokens).start) + 1;
    const indent = /^[ \t]*/.exec(text.slice(line))![0];
    const first = text.slice(0, line) + `${indent}pass\n` + text.slice(line);
    const second = first.slice(0, line) + `${indent}del _\n` + first.slice(line + `${indent}pass\n`.length);
    const carried = carriedHighlights(carriedHighlights(drawn, first)!, second)!;
    assert.ok(carried && carried.highlights.length === drawn.highlights.length, 'far from the edit: all kept');

    const partials: AnalysisResult[] = [];
    const final = await analyzer.reanalyze(previous, second, {
      reports: ['catLayers'],
      order: new WindowOrder([{ start: 0, end: 0 }]),
      onPartial: (partial) => partials.push(partial),
    });
    assert.ok(final.windowRuns!.forward < final.windows.length, 'windows reused');
    // The overlay redraws from the first partial covering the carried focus (the kept windows come first).
    const covering = partials.find((partial) => coversOffset(partial, carried.focus.start));
    assert.ok(covering, 'a partial result covers the focus before the analysis completes');
    const focus = tokenAtOffset(covering.tokens, carried.focus.start)!;
    const redrawn = drawnHighlights(covering, presentHover(covering, view, focus), focus);
    assert.deepEqual(redrawn.focus, carried.focus);
    // The focus's window did not change: what was carried is what the new analysis draws.
    assert.deepEqual(redrawn.highlights, carried.highlights);
    const fromFinal = drawnHighlights(final, presentHover(final, view, focus), focus);
    assert.deepEqual(fromFinal.highlights, redrawn.highlights);
  });
});
