import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Analyzer } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import { tokenAttentionRow } from '../src/core/views';
import { BUCKETS, hoverMarkdown, markdownCell, presentHover, tokenAtOffset } from '../src/presenters/hover';
import { EXAMPLES, MODEL_DIR, ROOT } from './helpers';

describe('hover presenter on real analyses', function () {
  let analyzer: Analyzer;
  let result: AnalysisResult;
  before(async () => {
    analyzer = await Analyzer.create({ modelDir: MODEL_DIR, executionProvider: 'cpu', grammarsDir: join(ROOT, 'grammars') });
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

  it('renders a hover card that escapes source text and carries the flip command', () => {
    const focus = result.tokens.findIndex((t) => t.text === "'/[^a-z0-9]+/'");
    const shown = presentHover(result, { mode: 'meanHeads', layer: 3, direction: 'attendedBy' }, focus);
    const markdown = hoverMarkdown(result, shown, 'command:codeAttention.flipDirection');
    assert.match(markdown, /mean over heads · layer 3 · attended by/);
    assert.ok(markdown.includes("'/\\[^a\\-z0\\-9\\]\\+/'"), 'brackets, dashes and plus signs of the literal are escaped');
    assert.match(markdown, /\| token \| line \| weight \|/);
    assert.match(markdown, /\(command:codeAttention\.flipDirection\)/);
    assert.equal(markdownCell('a|b`c'), 'a\\|b\\`c');
  });
});

describe('score panel presenter on a real analysis', function () {
  it('gives one row per layer, a layer × head heatmap, the definition and a CSV export', async () => {
    const { Analyzer } = await import('../src/core/pipeline');
    const { panelCsv, panelModel } = await import('../src/presenters/panel');
    const analyzer = await Analyzer.create({ modelDir: MODEL_DIR, executionProvider: 'cpu', grammarsDir: join(ROOT, 'grammars') });
    try {
      const result = await analyzer.analyze(readFileSync(join(EXAMPLES, 'inventory.rb'), 'utf8'), 'ruby', { path: '/tmp/inventory.rb' });
      const model = panelModel(result);
      assert.equal(model.file, 'inventory.rb');
      assert.equal(model.layers.length, result.model.layers);
      assert.deepEqual(model.layers.map((row) => row.cat), result.scores.cat!.score.perLayer);
      assert.equal(model.heatmap.length, result.model.layers);
      assert.ok(model.heatmap.every((row) => row.length === result.model.heads));
      assert.equal(model.definition.keptTypes, 'all types'); // the reference has no Ruby list
      assert.equal(model.structureHeads.length, 4);
      const csv = panelCsv(model).split('\n');
      assert.equal(csv[0], 'layer,cat_score,baseline,dfg_share,dfg_baseline,attention_to_bos,attention_to_eos,attention_to_punctuation,entropy');
      assert.equal(csv.filter((line) => /^\d+,\d+,\d/.test(line) && line.split(',').length === 3).length, result.model.layers * result.model.heads);
      assert.ok(JSON.parse(JSON.stringify(model)).layers.length === result.model.layers, 'the model survives postMessage (plain JSON)');
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
    const analyzer = await Analyzer.create({ modelDir: MODEL_DIR, executionProvider: 'cpu', grammarsDir: join(ROOT, 'grammars') });
    try {
      const result = await analyzer.analyze(readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8'), 'python');
      const scores = functionScores(result);
      assert.deepEqual(scores.map((score) => score.name), ['__init__', 'get', 'put', 'hit_rate', 'most_common_words']);
      const get = scores[1];
      assert.equal(get.range.start.line, 14); // "def get(" on line 15 (1-based)
      const first = result.tokens.findIndex((token) => token.range.start.line === 14);
      const last = result.tokens.findIndex((token) => token.range.start.line === 23);
      const direct = catReport(result, parsedOf(result), { distance: 'ast', typeFilter: referenceTypeFilter('python'), pairRule: 'mean' }, first, last);
      const mean = direct.score.perLayer.reduce((a, b) => a + b, 0) / direct.score.perLayer.length;
      assert.ok(Math.abs(get.cat - mean) < 1e-12);
      for (const score of scores) assert.ok(score.cat >= 0 && score.cat <= 1 && score.bestLayer >= 0 && score.bestLayer < result.model.layers);
    } finally {
      await analyzer.dispose();
    }
  });
});
