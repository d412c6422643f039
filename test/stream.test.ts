import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Analyzer, coversOffset, coversTokens, WindowOrder } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import { tokenAttentionRow, type AttentionView } from '../src/core/views';
import { windowSpan, type PendingWindow } from '../src/core/windowOrder';
import { functionScores, type FunctionScore } from '../src/presenters/codeLens';
import { placedLenses, textChange, type PlacedLens } from '../src/presenters/lensCarry';
import { MODEL_DIR, ROOT } from './helpers';

const sameBytes = (a: Float32Array, b: Float32Array) =>
  a.length === b.length &&
  Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  ) === 0;

describe('window order: the visible code first', () => {
  const pending = (spans: Array<[number, number]>, reused: number[] = []): PendingWindow[] =>
    spans.map(([start, end], index) => ({ index, span: { start, end }, reused: reused.includes(index) }));
  const drain = (order: WindowOrder, windows: PendingWindow[]): number[] => {
    const left = [...windows];
    const ran: number[] = [];
    while (left.length) {
      const next = order.next(left);
      ran.push(next);
      left.splice(
        left.findIndex((window) => window.index === next),
        1,
      );
    }
    return ran;
  };
  const file = pending([
    [0, 100],
    [100, 200],
    [200, 300],
    [300, 400],
    [400, 500],
  ]);

  it('runs in file order when nothing is preferred', () => {
    assert.deepEqual(drain(new WindowOrder(), file), [0, 1, 2, 3, 4]);
  });

  it('runs the windows covering the preferred spans first, in the order of the spans', () => {
    // The cursor at 350, the visible range 150–260: the cursor's window, then the visible ones, then the rest.
    const order = new WindowOrder([
      { start: 350, end: 350 },
      { start: 150, end: 260 },
    ]);
    assert.deepEqual(drain(order, file), [3, 1, 2, 0, 4]);
  });

  it('runs windows kept from the previous version before any forward pass', () => {
    const order = new WindowOrder([{ start: 420, end: 480 }]);
    assert.deepEqual(
      drain(order, pending([...file.map((w) => [w.span.start, w.span.end] as [number, number])], [2])),
      [2, 4, 0, 1, 3],
    );
  });

  it('moves a newly preferred span (scrolling) to the front of what is left', () => {
    const order = new WindowOrder([{ start: 0, end: 150 }]);
    const left = [...file];
    const ran: number[] = [];
    const take = () => {
      const next = order.next(left);
      ran.push(next);
      left.splice(
        left.findIndex((window) => window.index === next),
        1,
      );
    };
    take();
    order.prefer([{ start: 450, end: 460 }]);
    take();
    take();
    assert.deepEqual(ran, [0, 4, 1]);
  });
});

describe('streaming an analysis window by window', function () {
  this.timeout(300_000);
  let analyzer: Analyzer;
  let text: string;
  let plain: AnalysisResult;
  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    text = readFileSync(join(ROOT, 'test', 'fixtures', 'pprint.py'), 'utf8');
    plain = await analyzer.analyze(text, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
  });
  after(() => analyzer?.dispose());

  it('runs the window at the cursor first; each partial holds finished windows equal to the final ones', async () => {
    const total = plain.windows.length;
    assert.ok(total >= 13, `${total} windows`);
    const target = plain.windows[9];
    const cursor = windowSpan(target, plain.tokens).start + 5;
    const partials: AnalysisResult[] = [];
    const result = await analyzer.analyze(text, 'python', {
      reports: ['catLayers', 'dataFlowLayers'],
      order: new WindowOrder([{ start: cursor, end: cursor }]),
      onPartial: (partial) => partials.push(partial),
    });
    assert.equal(partials.length, total - 1);
    assert.deepEqual(
      partials.map((partial) => partial.partial),
      partials.map((_, index) => ({ windowsDone: index + 1, windowsTotal: total })),
    );
    const first = partials[0];
    assert.deepEqual(
      first.windows.map((window) => window.tokenStart),
      [target.tokenStart],
    );
    assert.ok(coversOffset(first, cursor));
    assert.ok(!coversOffset(first, plain.tokens[0].startIndex));
    assert.ok(coversTokens(first, target.tokenStart, target.tokenEnd));
    assert.ok(!coversTokens(first, target.tokenStart - 1, target.tokenEnd));
    // The hover's row at the cursor from the first partial is the final result's row.
    const focus = target.tokenStart + 3;
    const view: AttentionView = { mode: 'meanHeads', layer: -1, direction: 'attendsTo' };
    const resolved = { ...view, layer: plain.model.layers - 1 };
    assert.deepEqual(tokenAttentionRow(first, resolved, focus), tokenAttentionRow(result, resolved, focus));
    for (const partial of partials) {
      const starts = partial.windows.map((window) => window.tokenStart);
      assert.deepEqual(
        starts,
        [...starts].sort((a, b) => a - b),
      );
      for (const window of partial.windows) {
        const final = result.windows.find((candidate) => candidate.tokenStart === window.tokenStart)!;
        assert.ok(sameBytes(window.layerAttention.data, final.layerAttention.data));
      }
      assert.equal(partial.scores.cat!.score.perLayer.length, plain.model.layers);
    }
    // The order changes when results appear, never the result.
    assert.equal(result.partial, undefined);
    assert.deepEqual(result.scores, plain.scores);
    assert.deepEqual(
      result.windows.map((window) => [window.tokenStart, window.tokenEnd, window.ids]),
      plain.windows.map((window) => [window.tokenStart, window.tokenEnd, window.ids]),
    );
    for (const [index, window] of result.windows.entries())
      assert.ok(sameBytes(window.layerAttention.data, plain.windows[index].layerAttention.data));
  });

  it('a span preferred while the analysis runs (scrolling) runs next', async () => {
    const order = new WindowOrder([{ start: 0, end: 1 }]);
    const later = plain.windows[plain.windows.length - 2];
    const firstDone: number[][] = [];
    await analyzer.analyze(text, 'python', {
      reports: ['catLayers'],
      order,
      onPartial: (partial) => {
        firstDone.push(partial.windows.map((window) => window.tokenStart));
        if (partial.partial!.windowsDone === 1) order.prefer([windowSpan(later, plain.tokens)]);
      },
    });
    assert.deepEqual(firstDone[0], [plain.windows[0].tokenStart]);
    assert.deepEqual(firstDone[1], [plain.windows[0].tokenStart, later.tokenStart]);
  });

  it('re-analysis after an edit streams the unchanged windows first, then the edited one', async () => {
    const line = '            self._recursive = True\n            self._readable = False\n';
    const edited = text.replace(line, '            self._recursive = True\n            self._readable = None\n');
    const partials: AnalysisResult[] = [];
    const reanalysed = await analyzer.reanalyze(plain, edited, {
      reports: ['catLayers', 'dataFlowLayers'],
      onPartial: (partial) => partials.push(partial),
    });
    assert.equal(reanalysed.windowRuns!.forward, 1);
    const total = reanalysed.windows.length;
    // Every partial before the last window is made of kept windows only: no forward pass yet.
    assert.equal(partials.length, total - 1);
    assert.ok(partials.every((partial) => partial.windowRuns!.forward === 0));
    const fresh = await analyzer.analyze(edited, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
    assert.deepEqual(reanalysed.scores, fresh.scores);
  });
});

describe('CodeLens during re-analysis: lenses of unchanged functions stay', function () {
  this.timeout(300_000);
  let analyzer: Analyzer;
  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
  });
  after(() => analyzer?.dispose());
  /** The example module four times, its functions renamed per copy: several windows. */
  const fourCopies = () => {
    const example = readFileSync(join(ROOT, 'examples', 'lru_cache.py'), 'utf8');
    return [0, 1, 2, 3].map((copy) => example.replace(/^(\s*)def (\w+)/gm, `$1def $2_${copy}`)).join('\n');
  };
  const names = (lenses: Array<PlacedLens | FunctionScore>) =>
    lenses.map((lens) => ('score' in lens ? lens.score.name : lens.name));

  it('finds the one changed region between two texts', () => {
    assert.deepEqual(textChange('abcdef', 'abXYef'), { start: 2, oldEnd: 4, newEnd: 4 });
    assert.deepEqual(textChange('abc', 'abc'), { start: 3, oldEnd: 3, newEnd: 3 });
    assert.deepEqual(textChange('aaa', 'aaaa'), { start: 3, oldEnd: 3, newEnd: 4 });
  });

  it('re-anchors every lens of the previous result until the new one reaches its function', async () => {
    const text = fourCopies();
    const previous = await analyzer.analyze(text, 'python', { reports: ['catLayers'] });
    const before = functionScores(previous);
    assert.ok(previous.windows.length >= 2 && before.length >= 16, `${previous.windows.length} windows`);
    // One line added inside put_1: every function after it moves by that line.
    const line = '        self.entries[key] = value\n\n    def hit_rate_1';
    const added = '        self.writes = 1\n        self.entries[key] = value\n\n    def hit_rate_1';
    assert.equal(text.split(line).length, 2);
    const edited = text.replace(line, added);

    // Between the edit and the first window of the new analysis: only the previous result.
    const carried = placedLenses(edited, undefined, { result: previous, scores: before });
    assert.deepEqual(names(carried), names(before));
    for (const lens of carried) {
      const old = previous.tokens[lens.score.firstToken];
      assert.equal(edited.slice(lens.offset, lens.offset + old.text.length), old.text, lens.score.name);
      assert.equal(lens.carried, lens.score.name === 'put_1' ? 'edited' : 'unchanged', lens.score.name);
    }

    // As windows land, their functions' lenses become the new analysis's; the others stay carried.
    const partials: AnalysisResult[] = [];
    const final = await analyzer.reanalyze(previous, edited, {
      reports: ['catLayers'],
      onPartial: (partial) => partials.push(partial),
    });
    assert.ok(partials.length >= 1);
    const finalScores = functionScores(final);
    for (const partial of partials) {
      const shown = placedLenses(
        edited,
        { result: partial, scores: functionScores(partial) },
        { result: previous, scores: before },
      );
      assert.deepEqual(names(shown), names(before), 'no lens disappears');
      const fresh = shown.filter((lens) => !lens.carried);
      assert.ok(fresh.length > 0 && fresh.length < shown.length);
      for (const lens of fresh) {
        const same = finalScores.find((score) => score.name === lens.score.name)!;
        assert.equal(lens.score.cat, same.cat, `${lens.score.name}: a partial result's lens is the final one`);
        assert.equal(lens.offset, final.tokens[same.firstToken].startIndex);
      }
    }
    const done = placedLenses(edited, { result: final, scores: finalScores }, { result: previous, scores: before });
    assert.deepEqual(names(done), names(finalScores));
    assert.ok(done.every((lens) => !lens.carried));
  });

  it('drops the lens of a function whose first line the edit changed', async () => {
    const text = readFileSync(join(ROOT, 'examples', 'lru_cache.py'), 'utf8');
    const previous = await analyzer.analyze(text, 'python', { reports: ['catLayers'] });
    const edited = text.replace('    def put(self, key, value):\n', '    def store(self, key, value):\n');
    const shown = placedLenses(edited, undefined, { result: previous, scores: functionScores(previous) });
    assert.deepEqual(names(shown), ['__init__', 'get', 'hit_rate', 'most_common_words']);
  });
});
