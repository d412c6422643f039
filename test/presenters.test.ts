import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Analyzer } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import { tokenAttentionRow, windowTokenMatrix } from '../src/core/views';
import { BUCKETS, hoverMarkdown, markdownCell, presentHover, tokenAtOffset } from '../src/presenters/hover';
import { EXAMPLES, MODEL_DIR, ROOT } from './helpers';

describe('hover presenter on real analyses', function () {
  let analyzer: Analyzer;
  let result: AnalysisResult;
  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    result = await analyzer.analyze(readFileSync(join(EXAMPLES, 'Slugger.php'), 'utf8'), 'php', { version: 3 });
  });
  after(async () => analyzer?.dispose());

  it('finds the token under an offset, and nothing between tokens', () => {
    const source = result.source.text;
    const offset = source.indexOf('$separator') + 3;
    const token = tokenAtOffset(result.tokens, offset)!;
    assert.match(result.tokens[token].text, /separator/);
    assert.ok(result.tokens[token].startIndex <= offset && offset < result.tokens[token].endIndex);
    assert.equal(tokenAtOffset(result.tokens, source.indexOf('namespace') + 'namespace'.length), undefined); // the space after it
  });

  it('highlights the strongest attended tokens in buckets and lists the top rows by weight', () => {
    const focus = result.tokens.findIndex((t) => t.text === 'slug');
    const view = { mode: 'head' as const, layer: 2, head: 1, direction: 'attendsTo' as const };
    const shown = presentHover(result, view, focus, { topK: 6 });
    const { weights } = tokenAttentionRow(result, view, focus);
    assert.equal(shown.rows.length, 6);
    for (const row of shown.rows) assert.equal(row.weight, weights[row.token]);
    const strongest = shown.rows[0].weight;
    assert.ok(Array.from(weights).every((weight, token) => token === focus || weight <= strongest));
    assert.ok(shown.highlights.length >= 1);
    for (const highlight of shown.highlights) {
      assert.ok(highlight.bucket >= 0 && highlight.bucket < BUCKETS);
      assert.ok(highlight.weight >= 0.15 * strongest);
    }
    const top = shown.highlights.find((highlight) => highlight.token === shown.rows[0].token)!;
    assert.equal(top.bucket, BUCKETS - 1);
    assert.ok(!shown.highlights.some((highlight) => highlight.token === focus));
  });

  it('for "attended by", highlights the focused token’s column of the head matrix', () => {
    const focus = result.tokens.findIndex((t) => t.text === 'slug');
    const view = { mode: 'head' as const, layer: 1, head: 0, direction: 'attendedBy' as const };
    const shown = presentHover(result, view, focus, { topK: 5, minShare: 0 });
    const window = result.windows.find((w) => focus >= w.tokenStart && focus < w.tokenEnd)!;
    const m = window.tokenEnd - window.tokenStart;
    const matrix = windowTokenMatrix(result, window, view);
    for (const row of shown.rows)
      assert.equal(row.weight, matrix[(row.token - window.tokenStart) * m + (focus - window.tokenStart)]);
    // With minShare 0 every token of the window that gives it any attention is a candidate, strongest first.
    const column = Array.from({ length: m }, (_, b) =>
      b + window.tokenStart === focus ? 0 : matrix[b * m + focus - window.tokenStart],
    );
    assert.equal(shown.rows[0].weight, Math.max(...column));
    assert.equal(shown.highlights.find((h) => h.token === shown.rows[0].token)!.bucket, BUCKETS - 1);
  });

  it('renders a hover card that escapes source text and carries the flip command', () => {
    const focus = result.tokens.findIndex((t) => t.text === "'/[^a-z0-9]+/'");
    const shown = presentHover(result, { mode: 'meanHeads', layer: 3, direction: 'attendedBy' }, focus);
    const markdown = hoverMarkdown(result, shown, 'command:codeAttention.flipDirection');
    assert.match(markdown, /mean over heads · layer 3 · attended by/);
    assert.ok(
      markdown.includes("'/\\[^a\\-z0\\-9\\]\\+/'"),
      'brackets, dashes and plus signs of the literal are escaped',
    );
    assert.match(markdown, /\| token \| line \| weight \|/);
    assert.match(markdown, /\(command:codeAttention\.flipDirection\)/);
    assert.equal(markdownCell('a|b`c'), 'a\\|b\\`c');
  });
});

describe('score panel presenter on a real analysis', function () {
  it('gives one row per layer, a layer × head heatmap, the definition and a CSV export', async () => {
    const { Analyzer } = await import('../src/core/pipeline');
    const { panelCsv, panelModel } = await import('../src/presenters/panel');
    const analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    try {
      const result = await analyzer.analyze(readFileSync(join(EXAMPLES, 'inventory.rb'), 'utf8'), 'ruby', {
        path: '/tmp/inventory.rb',
      });
      const model = panelModel(result);
      assert.equal(model.file, 'inventory.rb');
      assert.equal(model.layers.length, result.model.layers);
      assert.deepEqual(
        model.layers.map((row) => row.cat),
        result.scores.cat!.score.perLayer,
      );
      assert.equal(model.heatmap.length, result.model.layers);
      assert.ok(model.heatmap.every((row) => row.length === result.model.heads));
      assert.equal(model.definition.keptTypes, 'all types'); // the reference has no Ruby list
      const relations = Object.keys(result.scores.structureHeads!.relations);
      assert.equal(model.structureHeads.length, relations.length);
      assert.ok(
        model.structureHeads.every(
          (relation) =>
            relation.heads.length <= 3 &&
            relation.heads.every((head) => head.layer < result.model.layers && head.head < result.model.heads),
        ),
      );
      const csv = panelCsv(model).split('\n');
      assert.equal(
        csv[0],
        'layer,cat_score,baseline,dfg_share,dfg_baseline,attention_to_bos,attention_to_eos,attention_to_punctuation,entropy',
      );
      assert.equal(
        csv.filter((line) => /^\d+,\d+,\d/.test(line) && line.split(',').length === 3).length,
        result.model.layers * result.model.heads,
      );
      assert.ok(
        JSON.parse(JSON.stringify(model)).layers.length === result.model.layers,
        'the model survives postMessage (plain JSON)',
      );
    } finally {
      await analyzer.dispose();
    }
  });
});

describe('CodeLens presenter on a real analysis', function () {
  it('scores each function with the file’s CAT definition restricted to its tokens', async () => {
    const { Analyzer, catReport, parsedOf } = await import('../src/core/pipeline');
    const { referenceTypeFilter } = await import('../src/core/metrics/catScore');
    const { functionScores } = await import('../src/presenters/codeLens');
    const analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    try {
      const result = await analyzer.analyze(readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8'), 'python');
      const scores = functionScores(result);
      assert.deepEqual(
        scores.map((score) => score.name),
        ['__init__', 'get', 'put', 'hit_rate', 'most_common_words'],
      );
      const get = scores[1];
      assert.equal(get.range.start.line, 14); // "def get(" on line 15 (1-based)
      const first = result.tokens.findIndex((token) => token.range.start.line === 14);
      const last = result.tokens.findIndex((token) => token.range.start.line === 23);
      const direct = catReport(
        result,
        parsedOf(result),
        { distance: 'ast', typeFilter: referenceTypeFilter('python'), pairRule: 'mean' },
        first,
        last,
      );
      const mean = direct.score.perLayer.reduce((a, b) => a + b, 0) / direct.score.perLayer.length;
      assert.ok(Math.abs(get.cat - mean) < 1e-12);
      for (const score of scores)
        assert.ok(score.cat >= 0 && score.cat <= 1 && score.bestLayer >= 0 && score.bestLayer < result.model.layers);
    } finally {
      await analyzer.dispose();
    }
  });
});

describe('status bar and summary presenters', function () {
  it('resolves a stored view for a model and labels it compactly', async () => {
    const { resolveView, shortView } = await import('../src/presenters/status');
    assert.deepEqual(resolveView({ mode: 'head', layer: 11, head: 9, direction: 'attendsTo' }, 4, 4), {
      mode: 'head',
      layer: 3,
      head: 3,
      direction: 'attendsTo',
    });
    assert.deepEqual(resolveView({ mode: 'head', layer: -1, direction: 'attendsTo' }, 4, 4), {
      mode: 'head',
      layer: 3,
      head: 0,
      direction: 'attendsTo',
    });
    assert.deepEqual(resolveView({ mode: 'meanHeads', layer: 2, direction: 'attendedBy' }, 4, 4), {
      mode: 'meanHeads',
      layer: 2,
      head: undefined,
      direction: 'attendedBy',
    });
    assert.equal(shortView({ mode: 'head', layer: 3, head: 2, direction: 'attendsTo' }), 'L3 H2');
    assert.equal(shortView({ mode: 'meanHeads', layer: 1, direction: 'attendsTo' }), 'L1 mean');
    assert.equal(shortView({ mode: 'rollout', layer: 3, direction: 'attendsTo' }), 'rollout ≤L3');
    assert.equal(shortView({ mode: 'valueWeighted', layer: 0, head: 1, direction: 'attendsTo' }), 'L0 H1 α‖f‖');
  });

  it('shows model · device · view, and warnings of a file with syntax errors', async () => {
    const { bestLayerText, resultSummary, statusPresentation, unsupportedLanguageMessage } =
      await import('../src/presenters/status');
    const analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    try {
      const clean = await analyzer.analyze('def add(a, b):\n    return a + b\n', 'python', { version: 7 });
      const view = { mode: 'head' as const, layer: 1, head: 2, direction: 'attendsTo' as const };
      const status = statusPresentation(clean, view);
      assert.equal(status.text, `$(eye) ${clean.model.name} · cpu · L1 H2`);
      assert.equal(status.warning, false);
      assert.match(status.tooltip, /one head · layer 1 · head 2 · attends to/);
      const broken = await analyzer.analyze('def add(a, b:\n    return a +\n', 'python');
      const warned = statusPresentation(broken, view);
      assert.ok(warned.text.startsWith('$(warning) '));
      assert.match(warned.tooltip, /⚠ Syntax errors: \d+ region/);
      assert.equal(statusPresentation(undefined, view).text, '$(eye) Code Attention');
      const summary = resultSummary(clean);
      assert.deepEqual(
        { tokens: summary.tokens, layers: summary.layers, device: summary.device, version: summary.version },
        { tokens: 12, layers: clean.model.layers, device: 'cpu', version: 7 }, // def add ( a , b ) : return a + b
      );
      assert.deepEqual(summary.catPerLayer, clean.scores.cat!.score.perLayer);
      const { score, baseline } = clean.scores.cat!;
      const gains = score.perLayer.map((value, layer) => value - baseline.perLayer[layer]);
      const best = gains.indexOf(Math.max(...gains));
      assert.equal(
        bestLayerText(clean),
        `best layer ${best} CAT-score ${score.perLayer[best].toFixed(3)} ` +
          `(shuffled baseline ${baseline.perLayer[best].toFixed(3)})`,
      );
      assert.match(bestLayerText({ ...clean, causal: true }), /^best layer \d causal CAT \(j ≤ i\) /);
      assert.equal(bestLayerText({ ...clean, scores: {} }), 'no CAT-score');
    } finally {
      await analyzer.dispose();
    }
    assert.equal(
      unsupportedLanguageMessage('plaintext'),
      'Code Attention Lens does not support "plaintext" files. Supported languages: Python, Java, ' +
        'JavaScript, TypeScript, Go, Ruby, PHP.',
    );
  });

  it('resolves model folders from the settings against the home and workspace folders', async () => {
    const { resolveModelFolder } = await import('../src/presenters/models');
    assert.equal(resolveModelFolder('~/models/codebert', '/home/ada', '/work/project'), '/home/ada/models/codebert');
    assert.equal(resolveModelFolder('~', '/home/ada'), '/home/ada');
    assert.equal(resolveModelFolder('exported/mini', '/home/ada', '/work/project'), '/work/project/exported/mini');
    assert.equal(resolveModelFolder('exported/mini', '/home/ada'), '/home/ada/exported/mini');
    assert.equal(resolveModelFolder(' /opt/models/../m ', '/home/ada', '/work/project'), '/opt/m');
  });
});

describe('export presenter', function () {
  it('decodes the PNG data URL of a chart and refuses anything else', async () => {
    const { pngFromDataUrl } = await import('../src/presenters/export');
    // The 8-byte PNG signature, base64-encoded.
    const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.deepEqual(Buffer.from(pngFromDataUrl(`data:image/png;base64,${signature.toString('base64')}`)!), signature);
    assert.equal(pngFromDataUrl('data:image/svg+xml;base64,PHN2Zz4='), undefined);
    assert.equal(pngFromDataUrl('data:image/png;base64,<script>'), undefined);
  });

  it('names exports after the analysed file', async () => {
    const { exportFileName } = await import('../src/presenters/export');
    assert.equal(exportFileName('lru_cache.py', 'scores', 'csv'), 'lru_cache-scores.csv');
    assert.equal(exportFileName('debounce.js', 'compare-cat', 'png'), 'debounce-compare-cat.png');
    assert.equal(exportFileName(undefined, '../../etc', 'json'), 'analysis-etc.json');
    assert.equal(exportFileName('.env', 'scores', 'json'), 'analysis-scores.json');
  });
});
