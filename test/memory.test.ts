import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faithfulness } from '../src/core/metrics/faithfulness';
import {
  Analyzer,
  completeScores,
  completeScoresStepwise,
  TensorCache,
  TensorsReleasedError,
  windowTensors,
} from '../src/core/pipeline';
import type { AnalysisResult, ForwardOutput } from '../src/core/types';
import { prepareView, tokenAttentionRow, type AttentionView } from '../src/core/views';
import { dataFlowOverlay, prepareDataFlowOverlay } from '../src/presenters/dataFlowOverlay';
import { tensorsOf, windowTensorBytes } from '../src/core/windowTensors';
import { planWindows, startDepths } from '../src/core/windows';
import { CLI, EXAMPLES, MODEL_DIR, ROOT } from './helpers';

const sameBytes = (a: Float32Array, b: Float32Array) =>
  a.length === b.length &&
  Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  ) === 0;
const grammarsDir = join(ROOT, 'grammars');
/** Three windows of real code: the example module three times, its functions renamed per copy. */
const threeWindows = () => {
  const example = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
  return [0, 1, 2, 3].map((copy) => example.replace(/^(\s*)def (\w+)/gm, `$1def $2_${copy}`)).join('\n');
};

describe('bounded memory: windows recomputed on demand', function () {
  this.timeout(240_000);
  let roomy: Analyzer;
  let tight: Analyzer;
  let text: string;
  let full: AnalysisResult;
  before(async () => {
    roomy = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir,
      tensorCacheBytes: 2 ** 31,
    });
    tight = await Analyzer.create({ modelDir: MODEL_DIR, executionProvider: 'cpu', grammarsDir, tensorCacheBytes: 0 });
    text = threeWindows();
    full = await roomy.analyze(text, 'python');
  });
  after(async () => {
    await roomy?.dispose();
    await tight?.dispose();
  });

  it(
    'accumulates every report window by window with no window held: the same numbers as with every ' + 'window held',
    async () => {
      assert.ok(full.windows.length >= 3, `${full.windows.length} windows`);
      assert.equal(roomy.tensorCache.stats().entries, full.windows.length);
      const bounded = await tight.analyze(text, 'python');
      assert.equal(tight.tensorCache.stats().entries, 0);
      assert.deepEqual(bounded.scores, full.scores);
      for (const [index, window] of bounded.windows.entries())
        assert.ok(sameBytes(window.layerAttention.data, full.windows[index].layerAttention.data));
    },
  );

  it(
    'completes the per-head reports of an editor analysis with one forward pass per evicted window, ' +
      'to the full numbers',
    async () => {
      const light = await tight.analyze(text, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
      assert.deepEqual(light.scores.cat!.score.perLayer, full.scores.cat!.score.perLayer);
      assert.throws(() => completeScores(light, ['cat']), TensorsReleasedError);
      const before = tight.recomputedWindows;
      const windowsDone: number[] = [];
      await completeScoresStepwise(light, 'all', undefined, (done) => windowsDone.push(done));
      assert.equal(
        tight.recomputedWindows - before,
        light.windows.length,
        'four per-head reports, one pass per window',
      );
      assert.deepEqual(
        windowsDone,
        light.windows.map((_, index) => index + 1),
      );
      for (const report of ['cat', 'dataFlow', 'headStatistics', 'headRoles', 'structureHeads'] as const)
        assert.deepEqual(light.scores[report], full.scores[report], report);
    },
  );

  it('recomputes an evicted window’s tensors and every view of it exactly', async () => {
    const bounded = await tight.analyze(text, 'python', { reports: [] });
    const window = bounded.windows[1];
    assert.throws(() => window.subwordAttention, TensorsReleasedError);
    const tensors = await windowTensors(window);
    assert.ok(sameBytes(tensors.subwordAttention.data, full.windows[1].subwordAttention.data));
    assert.ok(sameBytes(tensors.tokenAttention.data, full.windows[1].tokenAttention.data));
    assert.ok(sameBytes(tensors.valueNorms!.data, full.windows[1].valueNorms!.data));
    const focus = window.tokenStart + 5;
    const last = bounded.model.layers - 1;
    const views: AttentionView[] = [
      { mode: 'head', layer: 1, head: 2, direction: 'attendsTo' },
      { mode: 'head', layer: last, head: 0, direction: 'attendedBy' },
      { mode: 'rollout', layer: last, direction: 'attendsTo' },
      { mode: 'flow', layer: 1, direction: 'attendsTo' },
      { mode: 'valueWeighted', layer: last, direction: 'attendsTo' },
      { mode: 'meanHeads', layer: 2, direction: 'attendedBy' },
    ];
    for (const view of views) {
      if (view.mode !== 'meanHeads')
        assert.throws(() => tokenAttentionRow(bounded, view, focus), TensorsReleasedError, view.mode);
      await prepareView(bounded, view, focus);
      assert.deepEqual(tokenAttentionRow(bounded, view, focus), tokenAttentionRow(full, view, focus), view.mode);
    }
  });

  it(
    'prepares the data-flow overlay of a one-head view on evicted windows: the same edges and ' + 'file share',
    async () => {
      const bounded = await tight.analyze(text, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
      const view: AttentionView = { mode: 'head', layer: 1, head: 3, direction: 'attendsTo' };
      const focus = bounded.dataFlow!.edges.find(
        (edge) => edge.from >= bounded.windows[1].tokenStart && edge.to >= bounded.windows[1].tokenStart,
      )!.from;
      assert.throws(() => dataFlowOverlay(bounded, view, focus), TensorsReleasedError);
      await prepareDataFlowOverlay(bounded, view, focus);
      assert.deepEqual(dataFlowOverlay(bounded, view, focus), dataFlowOverlay(full, view, focus));
    },
  );

  it(
    'batches the blank-out passes of the faithfulness check: the same occlusion and ranks as one ' + 'pass per token',
    async () => {
      const focus = full.windows[0].tokenStart + 40;
      const sequential = await faithfulness(full, roomy.model, focus, 17, 1);
      const batched = await faithfulness(full, roomy.model, focus, 17, 8);
      assert.deepEqual(batched.tokens, sequential.tokens);
      for (const [index, value] of batched.occlusion.entries())
        assert.ok(Math.abs(value - sequential.occlusion[index]) < 1e-6, `${value} vs ${sequential.occlusion[index]}`);
      assert.deepEqual(
        batched.views.map((view) => view.importance),
        sequential.views.map((view) => view.importance),
      );
    },
  );
});

describe('CLI --cache-mb', function () {
  this.timeout(120_000);
  it('analyses with no window held to the same scores as the default, and refuses a bad limit with one line', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cal-memory-')), 'three_windows.py');
    writeFileSync(file, threeWindows());
    const scores = (...extra: string[]) =>
      JSON.parse(
        execFileSync(process.execPath, [CLI, 'analyze', file, '--json', '--model', MODEL_DIR, ...extra], {
          encoding: 'utf8',
          stdio: 'pipe',
        }),
      ).scores;
    assert.deepEqual(scores('--cache-mb', '0'), scores());
    assert.throws(
      () =>
        execFileSync(process.execPath, [CLI, 'analyze', file, '--cache-mb', 'lots'], {
          encoding: 'utf8',
          stdio: 'pipe',
        }),
      (error: { stderr: string }) => /--cache-mb takes a number of MiB ≥ 0, got "lots"/.test(error.stderr),
    );
  });
});

describe('tensor cache: least recently used first, by bytes', function () {
  it('holds windows up to its byte limit, refreshes on use, and never holds one larger than the limit', async () => {
    const analyzer = await Analyzer.create({ modelDir: MODEL_DIR, executionProvider: 'cpu', grammarsDir });
    try {
      const parsed = await analyzer.parser.parse('def f(a, b):\n    return a + b\n', 'python');
      const ids = analyzer.model.tokenizer.encodeTokens(parsed.tokens).ids;
      const { layers, heads } = analyzer.model.info;
      const windows = [ids.slice(0, 4), ids.slice(0, 6), ids.slice(0, 8)].map((body) => ({
        tokenStart: 0,
        tokenEnd: 1,
        ids: [0, ...body, 2],
        pieces: [],
        tokenOfSubword: Int32Array.from([-1, ...body.map(() => 0), -1]),
      }));
      const outputs: ForwardOutput[] = [];
      for (const window of windows) outputs.push(await analyzer.model.forward(window.ids));
      const bytes = windows.map((window) => windowTensorBytes(layers, heads, window.ids.length, 1, true));
      const cache = new TensorCache(bytes[0] + bytes[1]);
      cache.put('a', tensorsOf(windows[0], outputs[0], 'mean'), bytes[0]);
      cache.put('b', tensorsOf(windows[1], outputs[1], 'mean'), bytes[1]);
      assert.equal(cache.stats().bytes, bytes[0] + bytes[1]);
      assert.ok(cache.get('a'), 'a is now the most recently used');
      cache.put('c', tensorsOf(windows[2], outputs[2], 'mean'), bytes[2]);
      assert.ok(cache.has('c') && !cache.has('b'), 'b, the least recently used, went first');
      assert.ok(cache.stats().bytes <= cache.maxBytes);
      assert.equal(cache.has('a'), bytes[0] + bytes[2] <= cache.maxBytes);
      const small = new TensorCache(bytes[0] - 1);
      small.put('a', tensorsOf(windows[0], outputs[0], 'mean'), bytes[0]);
      assert.equal(small.stats().entries, 0, 'a window larger than the whole limit is not held');
      assert.throws(() => new TensorCache(-1), /bytes ≥ 0/);
    } finally {
      await analyzer.dispose();
    }
  });

  it(
    'an analysis keeps at most the limit, the most recent windows, and recomputes the ' + 'first on demand',
    async function () {
      this.timeout(120_000);
      const probe = await Analyzer.create({ modelDir: MODEL_DIR, executionProvider: 'cpu', grammarsDir });
      const planned = await probe.analyze(threeWindows(), 'python', { reports: [] });
      const { layers, heads, hasValueNorms } = planned.model;
      const sizes = planned.windows.map((window) =>
        windowTensorBytes(layers, heads, window.ids.length, window.tokenEnd - window.tokenStart, hasValueNorms),
      );
      await probe.dispose();
      const limit = sizes[sizes.length - 1] + sizes[sizes.length - 2];
      const analyzer = await Analyzer.create({
        modelDir: MODEL_DIR,
        executionProvider: 'cpu',
        grammarsDir,
        tensorCacheBytes: limit,
      });
      let result: AnalysisResult;
      try {
        result = await analyzer.analyze(threeWindows(), 'python');
        const stats = analyzer.tensorCache.stats();
        assert.equal(stats.entries, 2);
        assert.ok(stats.bytes <= limit && stats.peakEntries <= 2 + 1);
        assert.equal(stats.evictions, result.windows.length - 2);
        assert.ok(result.windows[result.windows.length - 1].tokenAttention, 'the last window is held');
        assert.throws(() => result.windows[0].tokenAttention, TensorsReleasedError);
        await windowTensors(result.windows[0]);
        assert.equal(analyzer.recomputedWindows, 1);
        assert.ok(result.windows[0].tokenAttention);
        assert.ok(analyzer.tensorCache.stats().bytes <= limit);
      } finally {
        await analyzer.dispose();
      }
      await assert.rejects(
        windowTensors(result.windows[1]),
        /the model that analysed this file was released: analyse the file again/,
      );
    },
  );
});

describe('re-analysis after an edit', function () {
  this.timeout(300_000);
  let analyzer: Analyzer;
  before(async () => {
    analyzer = await Analyzer.create({ modelDir: MODEL_DIR, executionProvider: 'cpu', grammarsDir });
  });
  after(async () => analyzer?.dispose());

  it('windows end at the start of shallow syntax nodes (top-level statements, methods) where one fits', async () => {
    const text = readFileSync(join(ROOT, 'test', 'fixtures', 'pprint.py'), 'utf8');
    const parsed = await analyzer.parser.parse(text, 'python');
    const result = await analyzer.analyze(text, 'python', { reports: [] });
    const depth = startDepths(parsed.tree, parsed.tokens);
    const shallow = (windows: ReadonlyArray<{ tokenStart: number }>) =>
      windows.slice(1).filter((window) => depth[window.tokenStart] <= 3).length;
    // pprint.py: top-level functions (depth 1) and the methods of PrettyPrinter (class → block → def: depth 3).
    const cuts = result.windows.slice(1).map((window) => depth[window.tokenStart]);
    assert.ok(shallow(result.windows) >= 0.75 * cuts.length, `cut depths ${cuts.join(' ')}`);
    const greedy = planWindows(
      analyzer.model.tokenizer.encodeTokens(parsed.tokens),
      parsed.tokens,
      result.model.maxPositions,
      analyzer.model.tokenizer.special,
    );
    assert.ok(
      shallow(greedy.windows) < shallow(result.windows),
      `greedy filling cuts at ${shallow(greedy.windows)} shallow nodes`,
    );
  });

  it('a one-line edit in pprint.py re-runs one window and gives exactly the numbers of a fresh analysis', async () => {
    const text = readFileSync(join(ROOT, 'test', 'fixtures', 'pprint.py'), 'utf8');
    const before = await analyzer.analyze(text, 'python');
    assert.ok(before.windows.length >= 13, `${before.windows.length} windows`);
    const line = '            self._recursive = True\n            self._readable = False\n';
    assert.equal(text.split(line).length, 2, 'the edited line is unique');
    const edited = text.replace(
      line,
      '            self._recursive = True\n            self._readable = None  # edited\n',
    );
    const reanalysed = await analyzer.reanalyze(before, edited);
    assert.deepEqual(reanalysed.windowRuns, { forward: 1, reused: before.windows.length - 1 });
    const fresh = await analyzer.analyze(edited, 'python');
    assert.deepEqual(
      reanalysed.windows.map((window) => [window.tokenStart, window.tokenEnd, window.ids]),
      fresh.windows.map((window) => [window.tokenStart, window.tokenEnd, window.ids]),
    );
    assert.deepEqual(reanalysed.scores, fresh.scores);
    for (const [index, window] of reanalysed.windows.entries())
      assert.ok(sameBytes(window.layerAttention.data, fresh.windows[index].layerAttention.data));
    const focus = reanalysed.windows[5].tokenStart + 3;
    const view: AttentionView = { mode: 'head', layer: 2, head: 1, direction: 'attendsTo' };
    await prepareView(reanalysed, view, focus);
    await prepareView(fresh, view, focus);
    assert.deepEqual(tokenAttentionRow(reanalysed, view, focus), tokenAttentionRow(fresh, view, focus));
  });

  it('an edit that adds a line shifts later windows’ offsets; they are re-anchored, not re-run', async () => {
    const text = readFileSync(join(ROOT, 'test', 'fixtures', 'pprint.py'), 'utf8');
    const before = await analyzer.analyze(text, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
    const line = '            self._recursive = True\n            self._readable = False\n';
    const edited = text.replace(line, line + '            self._checked = True\n');
    const reanalysed = await analyzer.reanalyze(before, edited, { reports: ['catLayers', 'dataFlowLayers'] });
    const fresh = await analyzer.analyze(edited, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
    assert.equal(reanalysed.windowRuns!.forward, 1);
    assert.ok(
      reanalysed.windows.some((window, index) => window.tokenStart !== before.windows[index].tokenStart),
      'later windows moved',
    );
    assert.deepEqual(reanalysed.scores, fresh.scores);
  });
});

describe('re-analysis after an edit that overflows its window', function () {
  this.timeout(300_000);
  it(
    'planning keeps given window starts wherever the run to the next one fits, over its own ' + 'preferred cuts',
    async () => {
      const analyzer = await Analyzer.create({ modelDir: MODEL_DIR, executionProvider: 'cpu', grammarsDir });
      try {
        const text = readFileSync(join(ROOT, 'test', 'fixtures', 'pprint.py'), 'utf8');
        const parsed = await analyzer.parser.parse(text, 'python');
        const sequence = analyzer.model.tokenizer.encodeTokens(parsed.tokens);
        const { special } = analyzer.model.tokenizer;
        const greedy = planWindows(sequence, parsed.tokens, 512, special).windows;
        const shallow = planWindows(sequence, parsed.tokens, 512, special, parsed.tree).windows;
        assert.notDeepEqual(
          greedy.map((window) => window.tokenStart),
          shallow.map((window) => window.tokenStart),
        );
        const kept = planWindows(
          sequence,
          parsed.tokens,
          512,
          special,
          parsed.tree,
          new Set(greedy.map((window) => window.tokenStart)),
        ).windows;
        assert.deepEqual(
          kept.map((window) => window.tokenStart),
          greedy.map((window) => window.tokenStart),
        );
      } finally {
        await analyzer.dispose();
      }
    },
  );

  it(
    're-runs only the windows around an edit that overflows its window; the numbers of a fresh ' +
      'analysis with the same cuts',
    async () => {
      const analyzer = await Analyzer.create({ modelDir: MODEL_DIR, executionProvider: 'cpu', grammarsDir });
      try {
        const text = readFileSync(join(ROOT, 'test', 'fixtures', 'pprint.py'), 'utf8');
        const reports = ['catLayers', 'dataFlowLayers'] as const;
        const before = await analyzer.analyze(text, 'python', { reports });
        const line = '            self._recursive = True\n            self._readable = False\n';
        const added = Array.from({ length: 40 }, (_, i) => `            self._extra_${i} = len(object) + ${i}\n`).join(
          '',
        );
        const edited = text.replace(line, line + added);
        const reanalysed = await analyzer.reanalyze(before, edited, { reports });
        assert.ok(reanalysed.windows.length > before.windows.length, 'the edited window overflowed into a new one');
        assert.ok(reanalysed.windowRuns!.forward <= 3, `${reanalysed.windowRuns!.forward} windows re-run`);
        assert.equal(reanalysed.windowRuns!.forward + reanalysed.windowRuns!.reused, reanalysed.windows.length);
        const fresh = await analyzer.analyze(edited, 'python', {
          reports,
          windowStarts: reanalysed.windows.map((window) => window.tokenStart),
        });
        assert.deepEqual(
          fresh.windows.map((window) => window.ids),
          reanalysed.windows.map((window) => window.ids),
        );
        assert.deepEqual(reanalysed.scores, fresh.scores);
      } finally {
        await analyzer.dispose();
      }
    },
  );
});

describe('memory stays flat as the input grows (child processes)', function () {
  this.timeout(300_000);
  it('16 windows hold no more tensors than the cache limit; RSS grows by far less than the old design held', () => {
    const probe = join(ROOT, 'out', 'src', 'bench', 'memoryProbe.js');
    const limit = 32 * 2 ** 20;
    const run = (windows: number) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            probe,
            '--model',
            MODEL_DIR,
            '--windows',
            String(windows),
            '--cache-bytes',
            String(limit),
            '--grammars',
            grammarsDir,
            '--source',
            join(ROOT, 'test', 'fixtures', 'pprint.py'),
          ],
          { encoding: 'utf8' },
        ),
      );
    const one = run(1);
    const many = run(16);
    assert.equal(one.windows, 1);
    assert.equal(many.windows, 16);
    assert.ok(many.cache.bytes <= limit);
    assert.ok(
      many.cache.peakEntries <= Math.floor(limit / many.smallestWindowBytes),
      `${many.cache.peakEntries} windows held at most`,
    );
    assert.equal(many.cache.evictions, 16 - many.cache.entries);
    const growthMB = many.peakRssMB - one.peakRssMB;
    const boundMB = (many.compactBytes + limit) / 2 ** 20 + 128;
    assert.ok(growthMB < boundMB, `RSS grew ${growthMB.toFixed(0)} MB; bound ${boundMB.toFixed(0)} MB`);
    assert.ok(boundMB < many.oldDesignBytes / 2 ** 20, 'the bound is below what keeping every window took');
  });
});
