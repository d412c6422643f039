import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Analyzer } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import { prepareView, tokenAttentionRow, windowOfToken, type AttentionView } from '../src/core/views';
import {
  attentionSinks,
  BUCKETS,
  hoverMarkdown,
  isPunctuationOrOperator,
  presentHover,
  SINK_FACTOR,
  UNIFORM_BUCKET_EDGES,
} from '../src/presenters/hover';
import { isProblem, statusPresentation } from '../src/presenters/status';
import { windowBoundaries } from '../src/presenters/windowBoundaries';
import { renderHover, visibleHtmlText } from './markdownRender';
import { EXAMPLES, MODEL_DIR, ROOT } from './helpers';

const LINKS = { flip: 'command:codeAttention.flipDirection', reveal: 'command:codeAttention.revealToken' };

describe('hover card against uniform, filters and links, on real analyses', function () {
  this.timeout(180_000);
  let analyzer: Analyzer;
  let result: AnalysisResult;
  let focus: number;
  const last = (mode: AttentionView['mode']): AttentionView => ({
    mode,
    layer: result.model.layers - 1,
    direction: 'attendsTo',
  });
  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    result = await analyzer.analyze(readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8'), 'python', {});
    focus = result.tokens.findIndex((token) => token.text === 'capacity');
  });
  after(async () => analyzer?.dispose());

  it('measures each row against uniform: the row total spread over the window’s tokens', () => {
    const view = last('meanHeads');
    const shown = presentHover(result, view, focus);
    const window = windowOfToken(result, focus)!;
    const { weights } = tokenAttentionRow(result, view, focus);
    let total = 0;
    for (let token = window.tokenStart; token < window.tokenEnd; token++) total += weights[token];
    assert.equal(shown.tokens, window.tokenEnd - window.tokenStart);
    assert.ok(Math.abs(shown.uniform - total / shown.tokens) < 1e-9);
    for (const row of shown.rows) assert.ok(Math.abs(row.timesUniform - row.weight / shown.uniform) < 1e-9);
    const markdown = hoverMarkdown(result, shown, LINKS);
    assert.match(markdown, new RegExp(`uniform 1/n = ${shown.uniform.toFixed(4)} · n = ${shown.tokens} · `));
    assert.match(visibleHtmlText(renderHover(markdown)), /<s>\/<\/s> left out/);
    assert.match(markdown, /\| token \| line \| weight \| × uniform \|/);
  });

  it('against uniform, a row near chance is not coloured; relative, its strongest token is', () => {
    const view = last('meanHeads');
    const relative = presentHover(result, view, focus, { colorScale: 'relative' });
    const uniform = presentHover(result, view, focus, { colorScale: 'againstUniform' });
    assert.equal(relative.highlights.find((h) => h.token === relative.rows[0].token)?.bucket, BUCKETS - 1);
    for (const highlight of uniform.highlights) {
      const times = highlight.weight / uniform.uniform;
      assert.ok(times >= UNIFORM_BUCKET_EDGES[highlight.bucket], `${times}× in bucket ${highlight.bucket}`);
      const next = UNIFORM_BUCKET_EDGES[highlight.bucket + 1];
      if (next !== undefined) assert.ok(times < next);
    }
    const coloured = uniform.rows.filter((row) => row.timesUniform >= UNIFORM_BUCKET_EDGES[0]).length;
    assert.equal(uniform.highlights.filter((h) => uniform.rows.some((row) => row.token === h.token)).length, coloured);
    assert.match(hoverMarkdown(result, uniform, LINKS), /colours from 1\.5×/);
  });

  it('flow, row-normalised, still ties many tokens at the top: coloured against uniform and said so', async () => {
    const view = last('flow');
    await prepareView(result, view, focus);
    const shown = presentHover(result, view, focus, { colorScale: 'relative' });
    assert.equal(shown.colorScale, 'againstUniform');
    const { weights } = tokenAttentionRow(result, view, focus);
    const strongest = shown.rows[0].weight;
    const tied = Array.from(weights).filter((w, t) => t !== focus && w >= strongest * 0.999).length;
    assert.equal(shown.tiedAtTop, tied);
    // Saturated flow gives no token more than a little above uniform: none reaches the strongest bucket.
    assert.ok(shown.rows[0].timesUniform < UNIFORM_BUCKET_EDGES[BUCKETS - 1], `${shown.rows[0].timesUniform}×`);
    assert.ok(!shown.highlights.some((h) => h.bucket === BUCKETS - 1));
    if (tied >= shown.rows.length)
      assert.match(hoverMarkdown(result, shown, LINKS), new RegExp(`${tied} tokens tie at the top weight`));
  });

  it('hiding punctuation drops it from rows and highlights and renormalises the rest to the row total', () => {
    const view = last('meanHeads');
    const all = presentHover(result, view, focus, { topK: 50 });
    const filtered = presentHover(result, view, focus, { topK: 50, hidePunctuation: true });
    const window = windowOfToken(result, focus)!;
    let punctuation = 0;
    for (let t = window.tokenStart; t < window.tokenEnd; t++)
      if (t !== focus && isPunctuationOrOperator(result.tokens[t])) punctuation++;
    assert.ok(punctuation > 0);
    assert.equal(filtered.hidden.punctuation, punctuation);
    assert.equal(filtered.tokens, all.tokens - punctuation);
    assert.ok(filtered.hidden.renormalised);
    assert.ok(!filtered.rows.some((row) => isPunctuationOrOperator(result.tokens[row.token])));
    assert.ok(!filtered.highlights.some((h) => isPunctuationOrOperator(result.tokens[h.token])));
    // Same total, fewer tokens: each kept weight scaled by total / kept.
    const { weights } = tokenAttentionRow(result, view, focus);
    let total = 0;
    let kept = 0;
    for (let t = window.tokenStart; t < window.tokenEnd; t++) {
      total += weights[t];
      if (t === focus || !isPunctuationOrOperator(result.tokens[t])) kept += weights[t];
    }
    for (const row of filtered.rows) assert.ok(Math.abs(row.weight - (weights[row.token] * total) / kept) < 1e-6);
    assert.ok(Math.abs(filtered.uniform - total / filtered.tokens) < 1e-9);
    assert.ok(
      ['(', ')', ',', '.', '=', ':'].every((text) =>
        isPunctuationOrOperator({ ...result.tokens[0], text, type: text }),
      ),
    );
    assert.ok(!isPunctuationOrOperator({ ...result.tokens[0], text: '"="', type: 'string' }));
    assert.match(
      hoverMarkdown(result, filtered, LINKS),
      new RegExp(`Filter on: ${punctuation} punctuation/operator token\\(s\\) hidden; weights renormalised`),
    );
  });

  it('sinks are the tokens the window gives ≥ 4× uniform on average; hiding them renormalises', () => {
    const window = windowOfToken(result, focus)!;
    const layer = result.model.layers - 1;
    const sinks = attentionSinks(window, layer);
    const view = last('meanHeads');
    const shown = presentHover(result, view, focus, { hideSinks: true });
    const expected = sinks.filter((t) => t !== focus);
    assert.deepEqual(
      shown.hidden.sinks,
      expected.map((t) => result.tokens[t].text),
    );
    assert.ok(!shown.rows.some((row) => expected.includes(row.token)));
    assert.equal(shown.hidden.renormalised, expected.length > 0);
    assert.equal(SINK_FACTOR, 4);
  });

  it('rows link to their token by position only; source text stays escaped', () => {
    const shown = presentHover(result, last('meanHeads'), focus);
    const html = renderHover(hoverMarkdown(result, shown, LINKS));
    const links = [...html.matchAll(/<a [^>]*href="([^"]*)"/g)].map((match) => decodeURIComponent(match[1]));
    assert.equal(links[0], LINKS.flip);
    const rowLinks = links.slice(1);
    assert.equal(rowLinks.length, shown.rows.length);
    rowLinks.forEach((link, index) => {
      const row = shown.rows[index];
      assert.equal(link, `${LINKS.reveal}?${JSON.stringify([row.line, row.character])}`);
    });
    // The card starts with what it shows, the model and the flip link, before the rows.
    const text = visibleHtmlText(html);
    assert.ok(text.indexOf('Flip direction') < text.indexOf('token'), text);
  });
});

describe('status bar ⚠ and window boundaries on a file of several windows', function () {
  this.timeout(180_000);
  it('a long file read in several windows is a note, not a problem; its windows start where said', async () => {
    const analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    try {
      const long = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8').repeat(3);
      const result = await analyzer.analyze(long, 'python', {});
      assert.ok(result.windows.length > 1, `${result.windows.length} windows`);
      const view: AttentionView = { mode: 'meanHeads', layer: 0, direction: 'attendsTo' };
      const windowsNote = result.warnings.find((warning) => /windows/.test(warning))!;
      assert.equal(isProblem(windowsNote), false);
      const status = statusPresentation(result, view);
      assert.equal(status.warning, result.warnings.some(isProblem));
      assert.ok(status.text.startsWith(status.warning ? '$(warning) ' : '$(eye) '));
      assert.ok(status.tooltip.includes(`ℹ ${windowsNote}`));
      const boundaries = windowBoundaries(result);
      assert.equal(boundaries.length, result.windows.length - 1);
      boundaries.forEach((boundary, index) => {
        assert.equal(boundary.token, result.windows[index + 1].tokenStart);
        assert.equal(boundary.label, `window ${index + 2} of ${result.windows.length}`);
        assert.match(boundary.detail, /Attention does not cross windows\./);
      });
      const short = await analyzer.analyze('def add(a, b):\n    return a + b\n', 'python', {});
      assert.deepEqual(windowBoundaries(short), []);
      const broken = await analyzer.analyze('def add(a, b:\n    return a +\n', 'python');
      assert.ok(statusPresentation(broken, view).warning);
    } finally {
      await analyzer.dispose();
    }
  });
});
