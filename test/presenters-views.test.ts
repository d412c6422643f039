import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Analyzer } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import { tokenAttentionRow, windowOfToken, windowTokenMatrix, type AttentionView } from '../src/core/views';
import {
  attentionViewsModel,
  LINKS_PER_TOKEN,
  matrixCsv,
  MAX_FLOW_ROWS,
  poolMatrix,
  viewScope,
} from '../src/presenters/attentionViews';
import { escapeXml, figureSvg, niceTicks, scaleColor, type FigurePalette } from '../src/presenters/figures';
import { panelCsvFiles, panelModel } from '../src/presenters/panel';
import { EXAMPLES, MODEL_DIR, ROOT } from './helpers';

const palette: FigurePalette = {
  foreground: '#cccccc',
  background: '#1e1e1e',
  muted: '#808080',
  accent: '#3794ff',
  negative: '#f14c4c',
};

describe('attention views presenter on a real analysis', function () {
  let analyzer: Analyzer;
  let result: AnalysisResult;
  let source: string;
  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    source = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
    result = await analyzer.analyze(source, 'python', { path: '/tmp/lru_cache.py' });
  });
  after(async () => analyzer?.dispose());

  it('scopes the cursor to the innermost function and a selection to its tokens', () => {
    const cursor = source.indexOf('def get(') + 10;
    const scope = viewScope(result, cursor, cursor)!;
    assert.match(scope.description, /^function get, lines 15–\d+, \d+ tokens$/);
    assert.equal(result.tokens[scope.first].text, 'def');
    const body = source.slice(result.tokens[scope.first].startIndex, result.tokens[scope.end - 1].endIndex);
    assert.ok(body.startsWith('def get(') && !body.includes('def put('), 'the scope is get and nothing after it');
    const start = source.indexOf('self.capacity');
    const selected = viewScope(result, start, start + 'self.capacity'.length)!;
    assert.deepEqual(
      result.tokens.slice(selected.first, selected.end).map((token) => token.text),
      ['self', '.', 'capacity'],
    );
    assert.match(selected.description, /^selection, line \d+, 3 tokens$/);
    const capped = viewScope(result, 0, source.length, 20)!;
    assert.equal(capped.end - capped.first, 20);
    assert.ok(capped.notes.some((note) => /first 20 of \d+ tokens/.test(note)));
  });

  it('gives each head’s strongest links, pooled thumbnails and the current view’s matrix', () => {
    const cursor = source.indexOf('def get(') + 10;
    const scope = viewScope(result, cursor, cursor)!;
    const view: AttentionView = { mode: 'head', layer: 2, head: 1, direction: 'attendsTo' };
    const model = attentionViewsModel(result, view, scope);
    const k = scope.end - scope.first;
    const window = windowOfToken(result, scope.first)!;
    const m = window.tokenEnd - window.tokenStart;
    assert.equal(model.tokens.length, k);
    assert.equal(model.windowTokens, m);
    assert.equal(model.head, 1);
    assert.equal(model.headView.layers.length, result.model.layers);
    assert.ok(model.headView.layers.every((heads) => heads.length === result.model.heads));
    // Head view: token i's first link is its strongest target among the scope in that head's matrix.
    const full = windowTokenMatrix(result, window, { mode: 'head', layer: 3, head: 2, direction: 'attendsTo' });
    const cell = (i: number, j: number) =>
      full[(scope.first - window.tokenStart + i) * m + scope.first - window.tokenStart + j];
    for (const i of [0, 5, k - 1]) {
      const links = model.headView.layers[3][2];
      const strongest = Math.max(...Array.from({ length: k }, (_, j) => cell(i, j)));
      assert.ok(links.targets[i].length <= LINKS_PER_TOKEN && links.targets[i].length > 0);
      assert.ok(Math.abs(cell(i, links.targets[i][0]) - strongest) < 1e-6);
      assert.ok(links.weights[i].every((weight, index) => index === 0 || weight <= links.weights[i][index - 1]));
    }
    // Model view: a thumbnail's mean equals the mean of the block it pools (all cells, equal blocks or not).
    const thumbnail = model.modelView.thumbnails[3][2];
    assert.equal(thumbnail.length, model.modelView.size ** 2);
    // Matrix: the current view's block, row = attending token.
    const head = windowTokenMatrix(result, window, view);
    const offset = scope.first - window.tokenStart;
    assert.ok(Math.abs(model.matrix.values[4 * k + 7] - head[(offset + 4) * m + offset + 7]) < 1e-4);
    assert.match(model.matrix.label, /one head · layer 2 · head 1/);
    const csv = matrixCsv(model).split('\n');
    assert.equal(csv[0], 'view,from_index,from_token,from_line,to_index,to_token,to_line,weight,uniform');
    assert.equal(csv.length - 2, k * k);
    assert.deepEqual(JSON.parse(JSON.stringify(model)), model, 'the model survives postMessage (plain JSON)');
  });

  it('pools a matrix into block means', () => {
    const matrix = Float32Array.from({ length: 16 }, (_, cell) => cell);
    const pooled = poolMatrix(matrix, 4, 2);
    assert.equal(pooled.size, 2);
    assert.deepEqual(pooled.values, [
      (0 + 1 + 4 + 5) / 4,
      (2 + 3 + 6 + 7) / 4,
      (8 + 9 + 12 + 13) / 4,
      (10 + 11 + 14 + 15) / 4,
    ]);
  });

  it('follows rollout and flow (rows from the core’s per-token view) and says the heads are raw', () => {
    const start = source.indexOf('def hit_rate');
    const scope = viewScope(result, start, start + 60)!;
    const flow: AttentionView = { mode: 'flow', layer: 1, direction: 'attendsTo' };
    const model = attentionViewsModel(result, flow, scope);
    const k = scope.end - scope.first;
    assert.equal(model.matrix.rows, Math.min(k, MAX_FLOW_ROWS));
    assert.equal(model.matrix.values.length, model.matrix.rows * k);
    const row = tokenAttentionRow(result, flow, scope.first + 2).weights;
    for (let j = 0; j < k; j++) assert.ok(Math.abs(model.matrix.values[2 * k + j] - row[scope.first + j]) < 1e-4);
    assert.ok(model.notes.some((note) => /Flow combines every head of layers 0–1/.test(note)));
    assert.equal(model.head, undefined);
    const rollout = attentionViewsModel(result, { mode: 'rollout', layer: 3, direction: 'attendedBy' }, scope);
    assert.ok(rollout.notes.some((note) => /transposed/.test(note)));
    assert.equal(rollout.headView.source, 'raw attention');
  });
});

describe('figures for export', () => {
  it('draws a line chart with a title, axis labels, one path and one legend swatch per series', () => {
    const { svg } = figureSvg(
      {
        kind: 'line',
        title: 'CAT-score per layer <lru_cache.py>',
        xLabel: 'layer',
        yLabel: 'CAT-score',
        xTicks: [0, 1, 2].map((x) => ({ x, label: `L${x}` })),
        series: [
          { label: 'CAT-score', color: '#3794ff', points: [0, 1, 2].map((x) => ({ x, y: 0.1 * x })) },
          {
            label: 'shuffled baseline',
            color: '#d18616',
            dashed: true,
            points: [0, 1, 2].map((x) => ({ x, y: 0.05 })),
          },
        ],
      },
      palette,
    );
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.ok(svg.includes('CAT-score per layer &#60;lru_cache.py&#62;'), 'text is escaped, never markup');
    assert.ok(!svg.includes('<lru_cache.py>'));
    assert.equal((svg.match(/class="series"/g) ?? []).length, 2);
    assert.equal((svg.match(/class="legend-swatch"/g) ?? []).length, 2);
    assert.ok(svg.includes('>layer</text>') && svg.includes('>CAT-score</text>') && svg.includes('>L2</text>'));
  });

  it('draws a grid with one rect per finite cell and a colour bar with the reference value', () => {
    const values = [
      [0.1, 0.2],
      [NaN, -0.05],
    ];
    const { svg } = figureSvg(
      {
        kind: 'grid',
        title: 'CAT − baseline',
        xLabel: 'head',
        yLabel: 'layer',
        rowLabels: ['L0', 'L1'],
        columnLabels: ['H0', 'H1'],
        values,
        scaleLabel: 'CAT − baseline',
        diverging: true,
        reference: { value: 0, label: 'baseline' },
      },
      palette,
    );
    assert.equal((svg.match(/class="cell"/g) ?? []).length, 3);
    assert.ok((svg.match(/class="color-bar"/g) ?? []).length > 10);
    assert.ok(svg.includes('>baseline 0.000</text>'));
    assert.equal(scaleColor(0, -1, 1, palette, true), palette.background);
    assert.equal(scaleColor(1, -1, 1, palette, true), palette.accent);
    assert.equal(scaleColor(-1, -1, 1, palette, true), '#f14c4c');
    assert.equal(escapeXml('a"&'), 'a&#34;&#38;');
  });

  it('chooses round ticks', () => {
    assert.deepEqual(niceTicks(0, 0.16), [0, 0.05, 0.1, 0.15]);
    assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});

describe('score panel CSV as tidy files', function () {
  it('writes one row per layer and one row per layer × head with its baseline', async () => {
    const analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    try {
      const result = await analyzer.analyze(readFileSync(join(EXAMPLES, 'wordcount.go'), 'utf8'), 'go', {
        path: '/tmp/wordcount.go',
      });
      const model = panelModel(result);
      const [layers, heads] = panelCsvFiles(model);
      assert.equal(layers.suffix, 'layers');
      assert.equal(heads.suffix, 'heads');
      const layerRows = layers.content.trim().split('\n');
      const headRows = heads.content.trim().split('\n');
      assert.equal(layerRows.length, 1 + result.model.layers);
      assert.equal(headRows.length, 1 + result.model.layers * result.model.heads);
      assert.ok(!layers.content.includes('\n\n') && !heads.content.includes('\n\n'), 'no blank line inside a file');
      const header = headRows[0].split(',');
      const row = headRows[1 + 2 * result.model.heads + 3].split(',');
      assert.equal(row[header.indexOf('layer')], '2');
      assert.equal(row[header.indexOf('head')], '3');
      const cat = result.scores.cat!;
      assert.ok(Math.abs(Number(row[header.indexOf('cat_score')]) - cat.score.perHead[2][3]) < 1e-6);
      assert.ok(Math.abs(Number(row[header.indexOf('cat_baseline')]) - cat.baseline.perHead[2][3]) < 1e-6);
      assert.ok(
        Math.abs(
          Number(row[header.indexOf('cat_minus_baseline')]) - (cat.score.perHead[2][3] - cat.baseline.perHead[2][3]),
        ) < 1e-6,
      );
    } finally {
      await analyzer.dispose();
    }
  });

  it("names a decoder's columns causal CAT and backward data flow, with its causal reports' numbers", async () => {
    const analyzer = await Analyzer.create({
      modelDir: join(ROOT, 'models', 'code-attention-mini-decoder'),
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    try {
      const result = await analyzer.analyze(readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8'), 'python');
      assert.ok(result.causal, 'the bundled decoder is causal');
      const [layers, heads] = panelCsvFiles(panelModel(result));
      const [layerHeader, firstLayer] = layers.content
        .trim()
        .split('\n')
        .map((line) => line.split(','));
      assert.deepEqual(layerHeader.slice(3, 7), [
        'causal_cat_score',
        'causal_cat_baseline',
        'backward_dfg_share',
        'backward_dfg_baseline',
      ]);
      assert.ok(!layers.content.includes(',cat_score') && !heads.content.includes(',cat_score'));
      const cat = result.scores.cat!;
      assert.ok(Math.abs(Number(firstLayer[layerHeader.indexOf('causal_cat_score')]) - cat.score.perLayer[0]) < 1e-6);
      assert.ok(
        Math.abs(Number(firstLayer[layerHeader.indexOf('causal_cat_baseline')]) - cat.baseline.perLayer[0]) < 1e-6,
      );
      assert.equal(
        heads.content.split('\n')[0],
        'model,file,layer,head,causal_cat_score,causal_cat_baseline,causal_cat_minus_baseline',
      );
    } finally {
      await analyzer.dispose();
    }
  });
});
