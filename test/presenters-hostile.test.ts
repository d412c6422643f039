import { strict as assert } from 'node:assert';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findModels } from '../src/core/model';
import { Analyzer } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import type { AttentionView } from '../src/core/views';
import { functionLens, functionScores } from '../src/presenters/codeLens';
import { dataFlowFocus, dataFlowMarkdown } from '../src/presenters/dataFlowOverlay';
import { visibleText } from '../src/presenters/escape';
import { hoverMarkdown, presentHover } from '../src/presenters/hover';
import { comparePickItems, modelFoldersFromSetting, modelPickItems } from '../src/presenters/models';
import { resolveView, statusPresentation, unsupportedLanguageMessage } from '../src/presenters/status';
import { MARKUP, NOTIFICATION_LINK, renderHover, renderLabel, visibleHtmlText } from './markdownRender';
import { MODEL_DIR, ROOT } from './helpers';

/** Strings a source file or a manifest can carry into the editor's surfaces. */
const HOSTILE_STRINGS = [
  '$(zap)',
  '~~x~~',
  '&lt;',
  '<img src=x>',
  '[R](command:x)',
  'https://example.invalid',
  '`a|b`',
  '**b**',
];
const DISPLAY_NAME =
  '$(zap) <img src="https://example.invalid/p.png"> [Reload](command:workbench.action.reloadWindow) ~~mini~~ &lt;';
const NAME = '$(zap)mini';

describe('presenters on a real analysis with hostile source text and a hostile manifest', function () {
  this.timeout(120_000);
  let scratch: string;
  let analyzer: Analyzer;
  let result: AnalysisResult;
  const view: AttentionView = { mode: 'meanHeads', layer: -1, direction: 'attendsTo' };
  const source = [
    ...HOSTILE_STRINGS.map((text, index) => `s${index} = ${JSON.stringify(text)}`),
    'def join_all(parts, sep):',
    '    total = sep.join(parts)',
    '    return total + s0',
    '',
  ].join('\n');

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'cal-hostile-presenters-'));
    const folder = join(scratch, 'models', 'hostile');
    mkdirSync(join(scratch, 'models'));
    cpSync(MODEL_DIR, folder, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as object;
    writeFileSync(
      join(folder, 'manifest.json'),
      JSON.stringify({ ...manifest, name: NAME, displayName: DISPLAY_NAME, checkpoint: 'external' }),
    );
    analyzer = await Analyzer.create({
      modelDir: folder,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    result = await analyzer.analyze(source, 'python', { path: join(scratch, '[x](command:y).py') });
  });
  after(async () => {
    await analyzer?.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('the hover card shows each hostile token and the display name literally; the flip link is the only link', () => {
    for (const text of HOSTILE_STRINGS) {
      const focus = result.tokens.findIndex((token) => token.text === JSON.stringify(text));
      assert.ok(focus >= 0, text);
      const html = renderHover(
        hoverMarkdown(result, presentHover(result, view, focus), 'command:codeAttention.flipDirection'),
      );
      const links = [...html.matchAll(/<a [^>]*href="([^"]*)"/g)].map((match) => match[1]);
      assert.deepEqual(links, ['command:codeAttention.flipDirection'], html);
      assert.equal([...html.matchAll(/class="codicon/g)].length, 1, 'only the flip link has an icon');
      assert.doesNotMatch(html, /<img|<del|<s>|<em>|<code>/, html);
      const shown = visibleHtmlText(html);
      assert.ok(shown.includes(`${JSON.stringify(text)} — `), `${text} in ${shown}`);
      assert.ok(shown.includes(`${DISPLAY_NAME} · cpu`), shown);
    }
  });

  it('with row links, every link is ours and carries a position only; hostile rows stay text', () => {
    const links = { flip: 'command:codeAttention.flipDirection', reveal: 'command:codeAttention.revealToken' };
    for (const text of HOSTILE_STRINGS) {
      const focus = result.tokens.findIndex((token) => token.text === JSON.stringify(text));
      const shown = presentHover(result, view, focus, { topK: 50 });
      const html = renderHover(hoverMarkdown(result, shown, links));
      const hrefs = [...html.matchAll(/<a [^>]*href="([^"]*)"/g)].map((match) => match[1]);
      assert.equal(hrefs.length, 1 + shown.rows.length, html);
      for (const href of hrefs.slice(1)) assert.match(href, /^command:codeAttention\.revealToken\?%5B\d+%2C\d+%5D$/);
      assert.doesNotMatch(html, /<img|<del|<s>|<em>|<code>/, html);
      const seen = visibleHtmlText(html);
      const literals = HOSTILE_STRINGS.map((hostile) => JSON.stringify(hostile));
      for (const row of shown.rows.filter((row) => literals.includes(row.text)))
        assert.ok(seen.includes(row.text), `${row.text} in ${seen}`);
    }
  });

  it('the data-flow hover section shows source text literally', () => {
    const focus = result.tokens.findIndex(
      (token) => token.text === 'total' && token.range.start.line === HOSTILE_STRINGS.length + 2,
    );
    const html = renderHover(dataFlowMarkdown(dataFlowFocus(result, view, focus)!));
    assert.doesNotMatch(html.replace(/<\/?(p|strong|table|thead|tbody|tr|th|td)[^>]*>/g, ''), MARKUP, html);
    assert.match(visibleHtmlText(html), /Data flow of total/);
  });

  it('the status bar shows the model name without rendering its icon; the tooltip is plain text', () => {
    const status = statusPresentation(result, view);
    const rendered = renderLabel(status.text);
    assert.equal(rendered.icons, 1, 'only our own eye or warning icon');
    assert.ok(rendered.text.includes(`${NAME} · cpu`), rendered.text);
    assert.ok(status.tooltip.includes(DISPLAY_NAME));
  });

  it('model QuickPick items render no icon and show name and folder literally', () => {
    const models = findModels(join(scratch, 'models'));
    assert.equal(models[0].displayName, DISPLAY_NAME);
    for (const item of [...modelPickItems(models, models[0].path), ...comparePickItems(models)]) {
      const label = renderLabel(item.label);
      assert.equal(label.icons, 0);
      assert.equal(label.text, DISPLAY_NAME);
      assert.equal(renderLabel(item.description).icons, 0);
    }
  });

  it('a CodeLens tooltip shows invisible characters of a function name as escapes', () => {
    const [score] = functionScores(result, {}, 4);
    assert.equal(score.name, 'join_all');
    const lens = functionLens({ ...score, name: 'evil\u202Egnp.exe' });
    assert.match(lens.tooltip, /CAT-score of evil\\u202Egnp\.exe:/);
    assert.equal(renderLabel(lens.title).icons, 0);
  });

  it('a notification about an unknown language id makes no link', () => {
    const message = unsupportedLanguageMessage('[Reload](command:workbench.action.reloadWindow)');
    assert.equal([...message.matchAll(NOTIFICATION_LINK)].length, 0, message);
  });
});

describe('settings and stored state that reach the presenters', () => {
  it('a stored view with unknown mode, fractional or missing layer and odd direction is shown as a valid view', () => {
    const garbage = [
      { mode: 'bogus', layer: 2, direction: 'attendsTo' },
      { mode: 'head', layer: 1.5, head: 'x', direction: 'sideways' },
      { mode: 'rollout', layer: Number.NaN, direction: 'attendedBy' },
      { layer: 99 },
      null,
    ] as unknown as AttentionView[];
    for (const stored of garbage) {
      const shown = resolveView(stored, 4, 4);
      assert.ok(['head', 'meanHeads', 'rollout', 'flow', 'valueWeighted'].includes(shown.mode), JSON.stringify(shown));
      assert.ok(Number.isInteger(shown.layer) && shown.layer >= 0 && shown.layer < 4, JSON.stringify(shown));
      assert.ok(shown.direction === 'attendsTo' || shown.direction === 'attendedBy');
      if (shown.mode === 'head') assert.ok(Number.isInteger(shown.head) && shown.head! >= 0 && shown.head! < 4);
    }
    assert.deepEqual(resolveView({ mode: 'head', layer: 2, head: 9, direction: 'attendedBy' }, 4, 4), {
      mode: 'head',
      layer: 2,
      head: 3,
      direction: 'attendedBy',
    });
  });

  it('codeAttention.models: non-strings, empty entries and a non-list are left out with a message each', () => {
    const setting = modelFoldersFromSetting(
      ['~/models/a', '', 42, null, '  ', 'rel', '~/models/a', '[x](command:y)\u0000'],
      '/home/u',
      '/ws',
    );
    assert.deepEqual(setting.folders, ['/home/u/models/a', '/ws/rel']);
    assert.equal(setting.problems.length, 5);
    assert.match(setting.problems[0], /entry 2 is empty/);
    assert.match(setting.problems[1], /entry 3 is number 42/);
    assert.match(setting.problems[2], /entry 4 is null/);
    assert.ok(setting.problems.every((problem) => [...problem.matchAll(NOTIFICATION_LINK)].length === 0));
    assert.deepEqual(modelFoldersFromSetting('~/models', '/home/u').folders, []);
    assert.match(
      modelFoldersFromSetting('~/models', '/home/u').problems[0],
      /must be a list of folder paths; it is "~\/models"/,
    );
    assert.deepEqual(modelFoldersFromSetting(undefined, '/home/u'), { folders: [], problems: [] });
  });

  it('visibleText marks line breaks, so a one-line label stays one line', () => {
    assert.equal(visibleText('a\r\nb'), 'a⏎b');
  });
});
