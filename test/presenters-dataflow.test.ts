import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Analyzer } from '../src/core/pipeline';
import type { AnalysisResult, SourceRange } from '../src/core/types';
import { tokenAttentionRow, windowTokenMatrix, type AttentionView } from '../src/core/views';
import {
  dataFlowFocus,
  dataFlowHint,
  dataFlowMarkdown,
  dataFlowOverlay,
  HINT_EDGES,
} from '../src/presenters/dataFlowOverlay';
import { MODEL_DIR, ROOT } from './helpers';

// Lines (0-based):        0                          1                         2                           3
const SOURCE = 'def scale(width, factor):\n    area = width * width\n    scaled = area * factor\n    return scaled\n';

/** A range on one line, from its start character and length. */
const on = (line: number, character: number, length: number): SourceRange => ({
  start: { line, character },
  end: { line, character: character + length },
});

describe('data-flow overlay presenter on a real analysis', function () {
  let analyzer: Analyzer;
  let result: AnalysisResult;
  const meanLast: AttentionView = { mode: 'meanHeads', layer: 3, direction: 'attendsTo' };
  const token = (text: string, line: number) =>
    result.tokens.findIndex((candidate) => candidate.text === text && candidate.range.start.line === line);

  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    result = await analyzer.analyze(SOURCE, 'python', { path: '/tmp/scale.py', version: 1 });
  });
  after(async () => analyzer?.dispose());

  it('marks every variable occurrence of the graph, and nothing else without a focus', () => {
    const overlay = dataFlowOverlay(result, meanLast);
    assert.ok(overlay.supported);
    assert.equal(overlay.edges, 9);
    // scale, width, factor (parameters), area = width * width, scaled = area * factor, return scaled.
    assert.deepEqual(overlay.decorations.nodes, [
      on(0, 4, 5),
      on(0, 10, 5),
      on(0, 17, 6),
      on(1, 4, 4),
      on(1, 11, 5),
      on(1, 19, 5),
      on(2, 4, 6),
      on(2, 13, 4),
      on(2, 20, 6),
      on(3, 11, 6),
    ]);
    assert.deepEqual(
      [overlay.decorations.comesFrom, overlay.decorations.computedFrom, overlay.decorations.readBy],
      [[], [], []],
    );
    assert.equal(overlay.decorations.hint, undefined);
  });

  it(
    'for `area` on line 3: its value comes from `area` on line 2 and `scaled` reads it, with the ' +
      'view’s attention on each edge',
    () => {
      const focus = token('area', 2);
      const overlay = dataFlowOverlay(result, meanLast, focus);
      assert.ok(overlay.supported);
      const drawn = overlay.decorations;
      assert.deepEqual(drawn.comesFrom, [on(1, 4, 4)]);
      assert.deepEqual(drawn.computedFrom, []);
      assert.deepEqual(drawn.readBy, [on(2, 4, 6)]);

      // Each edge's attention is the reading end's row of the last layer's mean over heads.
      const matrix = windowTokenMatrix(result, result.windows[0], meanLast);
      const m = result.tokens.length;
      const shown = drawn.focus!;
      assert.equal(shown.comesFrom[0].attention, matrix[focus * m + token('area', 1)]);
      assert.equal(shown.readBy[0].attention, matrix[token('scaled', 2) * m + focus]);
      assert.equal(shown.readBy[0].kind, 'computedFrom');
      assert.deepEqual(shown.notes, []);

      const share = result.scores.dataFlow!;
      assert.deepEqual(shown.fileShare, {
        value: share.score.perLayer[3],
        baseline: share.baseline.perLayer[3],
        on: 'layer 3, mean over heads',
        short: 'L3 mean',
      });
      assert.deepEqual(drawn.hint!.position, { line: 2, character: SOURCE.split('\n')[2].length });
      assert.equal(
        drawn.hint!.text,
        `\`area\`: value comes from \`area\` line 2 (attention ${shown.comesFrom[0].attention.toFixed(3)}) ` +
          `· read by \`scaled\` line 3 (attention ${shown.readBy[0].attention.toFixed(3)}) · ` +
          (`file: ${share.score.perLayer[3].toFixed(3)} on data flow vs ${share.baseline.perLayer[3].toFixed(3)} ` +
            `baseline (L3 mean)`),
      );
    },
  );

  it(
    'for `scaled` on line 3: computed from `area` and `factor`; one head’s attention and that head’s ' + 'file share',
    () => {
      const focus = token('scaled', 2);
      const view: AttentionView = { mode: 'head', layer: 1, head: 2, direction: 'attendedBy' };
      const shown = dataFlowFocus(result, view, focus)!;
      assert.deepEqual(
        shown.computedFrom.map((row) => [row.text, row.range]),
        [
          ['area', on(2, 13, 4)],
          ['factor', on(2, 20, 6)],
        ],
      );
      assert.deepEqual(shown.comesFrom, []);
      assert.deepEqual(
        shown.readBy.map((row) => [row.text, row.range.start.line, row.kind]),
        [['scaled', 3, 'comesFrom']],
      );
      // The hover's direction does not matter: an edge's attention is always its reader's row.
      const row = tokenAttentionRow(result, { ...view, direction: 'attendsTo' }, focus).weights;
      assert.deepEqual(
        shown.computedFrom.map((edge) => edge.attention),
        [row[token('area', 2)], row[token('factor', 2)]],
      );
      assert.match(shown.viewLabel, /one head · layer 1 · head 2 · attends to/);
      const share = result.scores.dataFlow!;
      assert.deepEqual(shown.fileShare, {
        value: share.score.perHead[1][2],
        baseline: share.baseline.perHead[1][2],
        on: 'layer 1, head 2',
        short: 'L1 H2',
      });
      assert.match(
        dataFlowHint(shown),
        /^`scaled`: computed from `area` line 3 \(attention 0\.\d{3}\), `factor` line 3 \(attention 0\.\d{3}\) · read by `scaled` line 4/,
      );
    },
  );

  it('a result scored per layer only (as the editor analyses) gets the per-head share on demand', async () => {
    const layersOnly = await analyzer.analyze(SOURCE, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
    assert.equal(layersOnly.scores.dataFlow!.headsScored, false);
    const shown = dataFlowFocus(
      layersOnly,
      { mode: 'head', layer: 1, head: 2, direction: 'attendsTo' },
      token('scaled', 2),
    )!;
    assert.ok(Number.isFinite(shown.fileShare!.value) && Number.isFinite(shown.fileShare!.baseline));
    assert.ok(Math.abs(shown.fileShare!.value - result.scores.dataFlow!.score.perHead[1][2]) < 1e-9);
  });

  it('rollout edges use the rollout row, and the file share says it was measured on raw attention', () => {
    const focus = token('width', 1);
    const view: AttentionView = { mode: 'rollout', layer: 2, direction: 'attendsTo' };
    const shown = dataFlowFocus(result, view, focus)!;
    assert.deepEqual(
      shown.comesFrom.map((row) => [row.text, row.range.start.line]),
      [['width', 0]],
    );
    assert.equal(shown.comesFrom[0].attention, tokenAttentionRow(result, view, focus).weights[token('width', 0)]);
    assert.equal(shown.fileShare!.on, 'layer 2, mean over heads, raw attention');
  });

  it('under attention flow only the focus’s own row is computed: its sources get flow, its readers a note', () => {
    const focus = token('area', 2);
    const view: AttentionView = { mode: 'flow', layer: 3, direction: 'attendsTo' };
    const shown = dataFlowFocus(result, view, focus)!;
    assert.equal(shown.comesFrom[0].attention, tokenAttentionRow(result, view, focus).weights[token('area', 1)]);
    assert.ok(shown.comesFrom[0].attention > 0);
    assert.deepEqual(
      shown.readBy.map((row) => [row.text, row.attention]),
      [['scaled', NaN]],
    );
    assert.deepEqual(shown.notes, [
      'Attention flow is computed for the focused token only: put the cursor on a reader to see the flow on its edge.',
    ]);
  });

  it('a token that is not a variable draws the nodes only', () => {
    const overlay = dataFlowOverlay(result, meanLast, token('*', 1));
    assert.ok(overlay.supported);
    assert.equal(overlay.decorations.focus, undefined);
    assert.equal(overlay.decorations.hint, undefined);
    assert.equal(overlay.decorations.nodes.length, 10);
  });

  it('the hover card names each edge and escapes the source text', () => {
    const markdown = dataFlowMarkdown(dataFlowFocus(result, meanLast, token('area', 2))!);
    assert.match(markdown, /\*\*Data flow of area\*\*/);
    assert.match(markdown, /\| value comes from \| area \| 2 \| 0\.\d{3} \|/);
    assert.match(markdown, /\| read by \| scaled \| 3 \| 0\.\d{3} \|/);
    assert.match(markdown, /offset baseline \(layer 3, mean over heads\)\./);
  });

  it('a language without data-flow rules gets a message naming it', () => {
    const overlay = dataFlowOverlay({ ...result, dataFlow: undefined }, meanLast, token('area', 2));
    assert.deepEqual(overlay, {
      supported: false,
      message: 'Code Attention Lens has no data-flow rules for Python: no data-flow edges to show.',
    });
  });

  it('names at most a few edges per relation in the hint', () => {
    // `x` is read by every later line.
    const reads = Array.from({ length: HINT_EDGES + 2 }, (_, index) => `y${index} = x`);
    return analyzer.analyze(['x = 1', ...reads, ''].join('\n'), 'python').then((many) => {
      const shown = dataFlowFocus(many, meanLast, 0)!;
      assert.equal(shown.readBy.length, HINT_EDGES + 2);
      assert.match(
        dataFlowHint(shown),
        /read by `x` line 2 \(attention 0\.\d{3}\), `x` line 3 \(attention 0\.\d{3}\), `x` line 4 \(attention 0\.\d{3}\), \+2 more/,
      );
    });
  });

  it('an edge between two windows carries no attention, and the note says why', async () => {
    // About 750 subwords: the file is split into two windows, and `x` on the last line reads `x` on the first.
    const long = ['x = 0', ...Array.from({ length: 250 }, (_, index) => `y = ${index}`), 'print(x)', ''].join('\n');
    const split = await analyzer.analyze(long, 'python');
    assert.ok(split.windows.length >= 2);
    const use = split.tokens.length - 2; // `x` inside print( … )
    assert.equal(split.tokens[use].text, 'x');
    const shown = dataFlowFocus(split, meanLast, use)!;
    assert.deepEqual(
      shown.comesFrom.map((row) => [row.token, row.attention]),
      [[0, NaN]],
    );
    assert.deepEqual(shown.notes, ['Edges between windows carry no attention: attention does not cross windows.']);
    assert.match(dataFlowHint(shown), /value comes from `x` line 1 \(attention n\/a\)/);
  });
});
