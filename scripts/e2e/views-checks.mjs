// UI checks of the researcher views (issue 15), called once from run.mjs with its helpers:
// the compare legend; the attention views panel (head view canvas, hover isolation, head toggles,
// model view thumbnails that select a head, the matrix); the score panel's separate data-flow chart,
// heatmap colour bar and CAT − baseline toggle; figure and tidy CSV exports through the save
// dialog; theme switches (light, high contrast) that must re-render the charts and canvases, with
// screenshots of each theme in docs/screenshots/; the hover card (compact, against uniform, row
// links, filters, colour scale) in light and dark; a file of several windows (no ⚠, window
// boundaries). Leaves the default theme on.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Attributes of the first element matching `selector` in a frame, as a plain object. */
function dataOf(frame, selector) {
  return frame
    .locator(selector)
    .first()
    .evaluate((node) => ({ ...node.dataset, className: String(node.className) }));
}

/**
 * Switches the colour theme through the workspace settings (VS Code applies `workbench.colorTheme`
 * live) and waits until the workbench wears the theme's class (vs, vs-dark, hc-black).
 */
async function selectTheme(ui, workspace, theme, workbenchClass) {
  const file = join(workspace, '.vscode', 'settings.json');
  const settings = JSON.parse(readFileSync(file, 'utf8'));
  if (theme) settings['workbench.colorTheme'] = theme;
  else delete settings['workbench.colorTheme'];
  writeFileSync(file, JSON.stringify(settings));
  await ui.waitForSelector(`.monaco-workbench.${workbenchClass}`, { timeout: 30_000 });
  await ui.waitForTimeout(1500);
}

/** Accepts the save dialog's proposed file (VS Code's simple dialog) once it proposes `pattern`. */
async function acceptSaveDialog(ui, pattern) {
  await ui.waitForFunction(
    (source) => new RegExp(source).test(document.querySelector('.quick-input-widget input')?.value ?? ''),
    pattern.source,
    { timeout: 60_000 },
  );
  await ui.locator('.quick-input-widget input').first().press('Enter');
}

async function waitForFiles(ui, files) {
  for (let waited = 0; waited < 40 && !files.every((file) => existsSync(file)); waited++) await ui.waitForTimeout(500);
  return files.filter((file) => !existsSync(file));
}

/** A PNG's width and height from its IHDR chunk. */
function pngSize(file) {
  const bytes = readFileSync(file);
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

export async function viewsChecks({
  ui,
  workspace,
  screenshots,
  layers,
  heads,
  palette,
  pick: _pick,
  frameWith,
  openFile,
  goToLine,
  closeAllEditors,
  check,
  say,
}) {
  // Compare legend (the compare panel is still open from run.mjs's compare check).
  const compareFrame = await frameWith(ui, '#difference-legend', 10_000).catch(() => undefined);
  if (compareFrame) {
    const entries = await compareFrame.locator('#difference-legend .legend-entry').evaluateAll((nodes) =>
      nodes.map((node) => ({
        count: node.dataset.count,
        text: node.textContent,
        swatch: Boolean(node.querySelector('.swatch')),
      })),
    );
    say(`compare legend: ${entries.map((entry) => entry.text).join(' | ')}`);
    check(
      entries.length === 2 && entries.every((entry) => entry.swatch),
      `the compare legend has two entries with colour swatches (${entries.length})`,
    );
    check(
      entries.every((entry) => !/0 token\(s\)/.test(entry.text) && (entry.count !== '0' || /none/.test(entry.text))),
      `the compare legend says “none” rather than “0 token(s)” (${entries.map((e) => e.text).join(' | ')})`,
    );
  } else check(false, 'the compare panel with its legend is open for the legend check');

  const tools = { ui, workspace, screenshots, palette, openFile, goToLine, check, say };
  await closeAllEditors(ui);
  await openFile(ui, 'lru_cache.py');
  // A failure here is recorded and the other view checks still run.
  const recorded = (what) => (error) => check(false, `${what}: ${String(error?.message ?? error).split('\n')[0]}`);
  await hoverCardChecks(tools, 'light').catch(recorded('hover card checks'));
  await closeAllEditors(ui);
  await windowChecks(tools).catch(recorded('window checks'));

  // The attention views of the function under the cursor (`def get` on line 15 of lru_cache.py).
  await closeAllEditors(ui);
  await openFile(ui, 'lru_cache.py');
  await ui.locator('.monaco-editor .view-lines').first().click();
  await palette(ui, 'Code Attention: Score Structure Attention');
  const scoreFrame = await frameWith(ui, '#cat-chart[data-points]', 60_000);
  await ui.locator('.tab', { hasText: 'lru_cache.py' }).first().click();
  await goToLine(ui, 16, 12);
  await palette(ui, 'Code Attention: Show Attention Views');
  const viewsFrame = await frameWith(ui, '#head-canvas[data-lines]', 120_000);
  const head = await dataOf(viewsFrame, '#head-canvas');
  const matrix = await dataOf(viewsFrame, '#matrix-canvas');
  const grid = await dataOf(viewsFrame, '#model-grid');
  const thumbnails = await viewsFrame.locator('#model-grid canvas.thumbnail').count();
  const scopeText = (await viewsFrame.locator('#app p.meta').first().textContent()) ?? '';
  say(
    `attention views: ${scopeText}; head view ${head.tokens} tokens, ${head.lines} lines on ` +
      `layer ${head.layer}; ${thumbnails} thumbnails; matrix ${matrix.rows} × ${matrix.tokens}`,
  );
  check(
    /function get, lines 15–\d+, \d+ tokens/.test(scopeText),
    `the views show the function under the cursor (${scopeText})`,
  );
  check(
    Number(head.tokens) > 10 && Number(head.tokens) <= 512 && Number(head.lines) > 0,
    `the head view canvas draws lines between the function's tokens (${head.tokens} tokens, ${head.lines} lines)`,
  );
  check(
    thumbnails === layers * heads && Number(grid.thumbnails) === layers * heads,
    `the model view has one thumbnail per layer × head (${thumbnails}, expected ${layers * heads})`,
  );
  check(
    matrix.tokens === head.tokens && matrix.rows === head.tokens,
    `the matrix has one row and column per token (${matrix.rows} × ${matrix.tokens})`,
  );
  check(
    (await viewsFrame.locator('svg, svg line').count()) === 0,
    'the head view is drawn on a canvas, not as SVG elements',
  );

  // Hovering a token of the left column isolates its lines.
  const box = await viewsFrame.locator('#head-canvas').boundingBox();
  await viewsFrame.locator('#head-canvas').hover({ position: { x: 100, y: 24 + 3 * 16 + 8 } });
  await ui.waitForTimeout(300);
  const focused = await dataOf(viewsFrame, '#head-canvas');
  check(
    focused.focus === 'from:3' &&
      Number(focused.lines) > 0 &&
      Number(focused.lines) <= heads * 8 &&
      Number(focused.lines) < Number(head.lines),
    `hovering token 3 isolates its lines (focus ${focused.focus}, ${focused.lines} of ${head.lines} ` +
      `lines; canvas ${box ? `${box.width}×${box.height}` : 'not found'})`,
  );
  await viewsFrame.locator('#head-readout').hover();

  // Toggling a head off removes its lines.
  await viewsFrame.locator('#head-toggles input[data-head="0"]').click();
  const toggled = await dataOf(viewsFrame, '#head-canvas');
  check(
    Number(toggled.headsShown) === heads - 1 && Number(toggled.lines) < Number(head.lines),
    `turning head 0 off leaves ${heads - 1} heads and fewer lines (${toggled.headsShown} ` +
      `heads, ${toggled.lines} lines)`,
  );

  // Clicking a thumbnail selects that head in the editor and shows it alone in the head view.
  const pickLayer = Math.min(1, layers - 1);
  const pickHead = Math.min(2, heads - 1);
  await viewsFrame.locator(`#model-grid canvas[data-layer="${pickLayer}"][data-head="${pickHead}"]`).click();
  await ui
    .locator('.statusbar-item', { hasText: `L${pickLayer} H${pickHead}` })
    .first()
    .waitFor({ timeout: 15_000 })
    .catch(() => undefined);
  await ui.waitForTimeout(1000);
  const status = await ui
    .locator('.statusbar-item', { hasText: /· (cpu|cuda) ·/ })
    .first()
    .innerText();
  const selected = await dataOf(viewsFrame, '#head-canvas');
  const marked = await viewsFrame
    .locator('#model-grid canvas.selected')
    .evaluateAll((nodes) => nodes.map((node) => `${node.dataset.layer},${node.dataset.head}`));
  say(
    `thumbnail L${pickLayer} H${pickHead}: status bar ${status}; head view ` +
      `layer ${selected.layer}, ${selected.headsShown} ` +
      `head(s); marked ${marked.join(' ')}`,
  );
  check(
    status.includes(`L${pickLayer} H${pickHead}`),
    `clicking a thumbnail selects that head in the editor (status bar: ${status})`,
  );
  check(
    selected.layer === String(pickLayer) &&
      selected.headsShown === '1' &&
      marked.join(' ') === `${pickLayer},${pickHead}`,
    `the head view shows that head alone and the thumbnail is marked ` +
      `(layer ${selected.layer}, ${selected.headsShown} ` +
      `heads, marked ${marked.join(' ')})`,
  );
  const matrixTitle = (await viewsFrame.locator('#matrix-view h2').textContent()) ?? '';
  check(
    new RegExp(`one head · layer ${pickLayer} · head ${pickHead}`).test(matrixTitle),
    `the matrix follows the current view (${matrixTitle})`,
  );

  // Zoom the matrix.
  await viewsFrame.locator('#matrix-zoom').selectOption('24');
  const zoomed = await dataOf(viewsFrame, '#matrix-canvas');
  check(zoomed.zoom === '24', `the matrix zooms (${zoomed.zoom} px per cell)`);
  await viewsFrame.locator('#matrix-zoom').selectOption('8');

  // Figures of the three views: SVG, then PNG at 2×, saved side by side.
  await viewsFrame.locator('#export-svg').click();
  await acceptSaveDialog(ui, /lru_cache-head-view-L\d\.svg$/);
  const svgFiles = [
    `lru_cache-head-view-L${pickLayer}.svg`,
    'lru_cache-model-view.svg',
    'lru_cache-attention-matrix.svg',
  ].map((name) => join(workspace, name));
  const missingSvg = await waitForFiles(ui, svgFiles);
  check(!missingSvg.length, `the SVG export writes the three views (missing: ${missingSvg.join(', ')})`);
  for (const file of svgFiles.filter(existsSync)) {
    const svg = readFileSync(file, 'utf8');
    check(
      svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') &&
        /<title>[^<]+<\/title>/.test(svg) &&
        /legend-swatch|color-bar/.test(svg),
      `${file} is an SVG with a title and a legend or colour bar`,
    );
  }
  await viewsFrame.locator('#export-png').click();
  await acceptSaveDialog(ui, /lru_cache-head-view-L\d\.png$/);
  const pngFiles = svgFiles.map((file) => file.replace(/\.svg$/, '.png'));
  const missingPng = await waitForFiles(ui, pngFiles);
  check(!missingPng.length, `the PNG export writes the three views (missing: ${missingPng.join(', ')})`);
  for (const [index, file] of pngFiles.entries()) {
    if (!existsSync(file) || !existsSync(svgFiles[index])) continue;
    const width = Number(/width="(\d+)"/.exec(readFileSync(svgFiles[index], 'utf8'))?.[1]);
    const size = pngSize(file);
    check(size.width === 2 * width, `${file} is drawn at 2× (${size.width} px for an SVG ${width} px wide)`);
  }

  // The score panel: data flow on its own chart, colour bar, CAT − baseline, three-decimal accuracies, tidy CSV.
  await ui.locator('.tab', { hasText: 'Structure Attention' }).first().click();
  await ui.waitForTimeout(800);
  check(
    (await scoreFrame.locator('#dfg-chart[data-points]').count()) === 1,
    'the data-flow share has its own chart in the score panel',
  );
  check((await scoreFrame.locator('#heatmap-color-bar').count()) === 1, 'the heatmap has a colour bar');
  await scoreFrame.locator('#heatmap-difference').click();
  const heatmapMode = await scoreFrame.locator('#cat-heatmap').getAttribute('data-mode');
  const negative = await scoreFrame
    .locator('#cat-heatmap td.cell')
    .evaluateAll((cells) => cells.filter((cell) => cell.textContent.startsWith('-')).length);
  check(
    heatmapMode === 'difference',
    `the CAT − baseline toggle switches the heatmap (mode ${heatmapMode}; ${negative} heads below baseline)`,
  );
  const accuracies = await scoreFrame.locator('#structure-heads a.head-link').allTextContents();
  check(
    accuracies.length > 0 && accuracies.every((text) => /^L\d+H\d+ \d\.\d{3}$/.test(text)),
    `structure-head accuracies have three decimals like their chance (${accuracies.slice(0, 3).join(', ')})`,
  );
  await scoreFrame.locator('#export-csv').click();
  await acceptSaveDialog(ui, /lru_cache-layers\.csv$/);
  const csvFiles = ['lru_cache-layers.csv', 'lru_cache-heads.csv'].map((name) => join(workspace, name));
  const missingCsv = await waitForFiles(ui, csvFiles);
  check(!missingCsv.length, `Export CSV writes tidy per-layer and per-head files (missing: ${missingCsv.join(', ')})`);
  if (!missingCsv.length) {
    const headRows = readFileSync(csvFiles[1], 'utf8').trim().split('\n');
    check(
      headRows[0] === 'model,file,layer,head,cat_score,cat_baseline,cat_minus_baseline' &&
        headRows.length === 1 + layers * heads,
      `the per-head CSV has one row per layer × head with its baseline (${headRows.length - 1} rows)`,
    );
  }
  await scoreFrame.locator('#heatmap-cat').click();
  await palette(ui, 'Notifications: Clear All Notifications');

  // Theme switches (the test workbench starts in the default light theme): every chart and canvas
  // redraws in the new theme's colours; a screenshot of both panels in each theme.
  let previous = {
    views: await dataOf(viewsFrame, '#head-canvas'),
    score: await dataOf(scoreFrame, '#cat-chart'),
    theme: 'the default theme',
  };
  for (const [theme, kind, workbenchClass] of [
    ['Default Dark Modern', 'dark', 'vs-dark'],
    ['Default Light Modern', 'light', 'vs'],
    ['Default High Contrast', 'high-contrast', 'hc-black'],
  ]) {
    await selectTheme(ui, workspace, theme, workbenchClass);
    await ui.locator('.tab', { hasText: 'Attention Views' }).first().click();
    await ui.waitForTimeout(800);
    const views = await dataOf(viewsFrame, '#head-canvas');
    const renders = await viewsFrame.evaluate(() => document.body.dataset.themeRenders ?? '0');
    const matrixTheme = (await dataOf(viewsFrame, '#matrix-canvas')).theme;
    say(
      `${theme}: head view theme ${views.theme}, background ${views.background} ` +
        `(was ${previous.views.background}); ${renders} theme re-render(s)`,
    );
    check(
      views.theme === kind && matrixTheme === kind && views.background !== previous.views.background,
      `after switching from ${previous.theme} to “${theme}” the attention views redraw in its colours ` +
        `(theme ${views.theme}, background ${previous.views.background} → ${views.background})`,
    );
    await ui.screenshot({ path: join(screenshots, `attention-views-${kind}.png`) });
    if (kind === 'dark') {
      await viewsFrame.locator('#model-view').scrollIntoViewIfNeeded();
      await ui.waitForTimeout(300);
      await ui.screenshot({ path: join(screenshots, 'attention-views-model-matrix.png') });
      await viewsFrame.locator('#head-view').scrollIntoViewIfNeeded();
    }
    await ui.locator('.tab', { hasText: 'Structure Attention' }).first().click();
    await ui.waitForTimeout(1000);
    const score = await dataOf(scoreFrame, '#cat-chart');
    const scoreRenders = await scoreFrame.evaluate(() => document.body.dataset.themeRenders ?? '0');
    check(
      score.foreground !== previous.score.foreground && Number(scoreRenders) >= 1,
      `after switching from ${previous.theme} to “${theme}” the score charts redraw with the new tick ` +
        `colour (${previous.score.foreground} → ${score.foreground}; ${scoreRenders} re-render(s))`,
    );
    await ui.screenshot({ path: join(screenshots, `score-panel-${kind}.png`) });
    if (kind === 'dark') await hoverCardChecks(tools, 'dark').catch(recorded('hover card checks (dark)'));
    previous = { views, score, theme: `“${theme}”` };
  }
  await selectTheme(ui, workspace, undefined, 'vs');
  await closeAllEditors(ui);
}

/** The visible hover card's layout and text, measured in the DOM. */
async function measureHover(ui, pattern) {
  const hover = ui.locator('.monaco-hover:not(.hidden)', { hasText: pattern });
  await hover.first().waitFor({ timeout: 60_000 });
  await ui.waitForTimeout(500); // the card sizes itself after it renders
  return hover.first().evaluate((element) => {
    const box = element.getBoundingClientRect();
    const scrolling = [element, ...element.querySelectorAll('.monaco-scrollable-element, .monaco-hover-content')]
      .filter((node) => node.clientHeight > 0 && node.scrollHeight > node.clientHeight + 1)
      .map((node) => `${String(node.className).split(' ')[0]} ${node.scrollHeight} > ${node.clientHeight}`);
    const title = element.querySelector('.hover-contents p');
    const titleBox = title?.getBoundingClientRect();
    const flip = [...element.querySelectorAll('a')].find((a) =>
      /flipDirection/.test(a.getAttribute('data-href') ?? a.getAttribute('href') ?? ''),
    );
    const flipBox = flip?.getBoundingClientRect();
    const inside = (inner) =>
      Boolean(inner) && inner.top >= box.top - 1 && inner.bottom <= box.bottom + 1 && inner.right <= box.right + 1;
    const rows = [...element.querySelectorAll('.hover-contents table tbody tr')].map((row) =>
      [...row.querySelectorAll('td')].map((cell) => cell.textContent.trim()),
    );
    const links = [...element.querySelectorAll('table a')].map((a) => a.getAttribute('data-href') ?? '');
    return {
      size: `${Math.round(box.width)}×${Math.round(box.height)}`,
      scrolling,
      title: title?.textContent ?? '',
      titleClipped: !title || title.scrollWidth > title.clientWidth + 1 || !inside(titleBox),
      flipVisible: inside(flipBox),
      rows,
      links,
      text: element.innerText,
    };
  });
}

/** Hovers the first standalone `text` token near the top of the file (the editor may have been scrolled). */
async function hoverToken(ui, goToLine, text) {
  await ui.mouse.move(5, 5);
  await goToLine(ui, 1, 1);
  await ui.waitForTimeout(400);
  await ui
    .locator('.view-line span', { hasText: new RegExp(`^${text}$`) })
    .first()
    .hover();
}

/** Sets (or, with undefined, removes) a workspace setting; VS Code applies it live. */
function setWorkspaceSetting(workspace, name, value) {
  const file = join(workspace, '.vscode', 'settings.json');
  const settings = JSON.parse(readFileSync(file, 'utf8'));
  if (value === undefined) delete settings[name];
  else settings[name] = value;
  writeFileSync(file, JSON.stringify(settings));
}

/**
 * The hover card (issue 15 items 3, 5, 6, 9): compact, with the title, model and flip link in sight
 * and no scrolling at the default 6 rows (VS Code caps a hover at 250 px); weights against uniform;
 * rows that jump to their token;
 * the punctuation filter and the against-uniform colour scale. `theme` names the screenshot.
 */
export async function hoverCardChecks({ ui, workspace, screenshots, palette, openFile, goToLine, check, say }, theme) {
  await ui
    .locator('.tab', { hasText: 'lru_cache.py' })
    .first()
    .click()
    .catch(() => openFile(ui, 'lru_cache.py'));
  await ui.locator('.monaco-editor .view-lines').first().click();
  await hoverToken(ui, goToLine, 'capacity');
  const card = await measureHover(ui, 'uniform');
  await ui.screenshot({ path: join(screenshots, `hover-card-${theme}.png`) });
  say(
    `hover card (${theme}) ${card.size}: “${card.title}”; ${card.rows.length} rows; ` +
      `scrolling: ${card.scrolling.join(', ') || 'none'}`,
  );
  check(
    card.scrolling.length === 0,
    `the hover card does not scroll at the default 6 rows (${card.scrolling.join(', ')})`,
  );
  check(
    !card.titleClipped && /capacity/.test(card.title) && /attends to/.test(card.title),
    `the hover card's title is whole and in sight (“${card.title}”)`,
  );
  check(card.flipVisible, 'the model line and the flip-direction link are in sight');
  check(card.rows.length === 6, `the card lists the default 6 rows (${card.rows.length})`);
  if (theme !== 'light') return;
  check(
    /uniform 1\/n = 0\.\d{4} · n = \d+ · <s>\/<\/s> left out/.test(card.text) &&
      card.rows.every((cells) => /^\d+\.\d×$/.test(cells[3] ?? '')),
    `each row shows its weight against uniform (${card.rows.map((cells) => cells[3]).join(' ')})`,
  );
  check(
    card.links.length === card.rows.length &&
      card.links.every((href) => /^command:codeAttention\.revealToken\?%5B\d+%2C\d+%5D$/.test(href)),
    `each row links to its token by position only (${card.links.slice(0, 2).join(', ')})`,
  );

  // A row link moves the cursor to its token.
  const target = card.rows[0];
  await ui.locator('.monaco-hover:not(.hidden) table a').first().click();
  await ui.waitForTimeout(800);
  const selection = await ui
    .locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ })
    .first()
    .innerText()
    .catch(() => '');
  say(`row link to “${target[0]}” (line ${target[1]}): cursor ${selection}`);
  check(
    new RegExp(`Ln ${target[1]}, Col \\d+`).test(selection),
    `clicking the first row jumps to its token on line ${target[1]} (status bar: ${selection})`,
  );

  // Punctuation hidden: gone from the rows, and the card says the weights were renormalised.
  await palette(ui, 'Code Attention: Hide or Show Punctuation and Operators');
  await ui.waitForTimeout(800);
  await hoverToken(ui, goToLine, 'capacity');
  const filtered = await measureHover(ui, 'Filter on');
  const symbols = filtered.rows.filter((cells) => /^[^\p{L}\p{N}_"'$]+$/u.test(cells[0]));
  say(`punctuation hidden: ${filtered.text.split('\n').find((line) => /Filter on/.test(line))}`);
  check(
    /Filter on: \d+ punctuation\/operator token\(s\) hidden; weights renormalised/.test(filtered.text) &&
      symbols.length === 0,
    `hiding punctuation leaves none in the rows and says so (${symbols.map((cells) => cells[0]).join(' ')})`,
  );
  await palette(ui, 'Code Attention: Hide or Show Punctuation and Operators');
  await ui.waitForTimeout(800);

  // Against uniform: the colour scale is named in the card.
  setWorkspaceSetting(workspace, 'codeAttention.colorScale', 'against-uniform');
  await ui.waitForTimeout(1500);
  await hoverToken(ui, goToLine, 'capacity');
  const absolute = await measureHover(ui, 'uniform');
  const coloured = absolute.rows.filter((cells) => Number.parseFloat(cells[3]) >= 1.5).length;
  say(`against uniform: ${coloured} of ${absolute.rows.length} rows at 1.5× uniform or more`);
  check(/colours from 1\.5×/.test(absolute.text), 'the against-uniform colour scale is named in the card');
  setWorkspaceSetting(workspace, 'codeAttention.colorScale', undefined);
  await ui.waitForTimeout(1500);
  await ui.mouse.move(5, 5);
}

/**
 * A file of several windows (issue 15 item 10): no ⚠ in the status bar for that alone, and Show
 * Window Boundaries marks where each window after the first starts.
 */
export async function windowChecks({ ui, workspace, screenshots, palette, openFile, goToLine, check, say }) {
  const source = readFileSync(join(workspace, 'lru_cache.py'), 'utf8').repeat(3);
  writeFileSync(join(workspace, 'three_windows.py'), source);
  await ui.waitForTimeout(2000); // the explorer lists the new file
  await openFile(ui, 'three_windows.py');
  await ui.locator('.monaco-editor .view-lines').first().click();
  await palette(ui, 'Code Attention: Analyze Current File');
  const item = ui.locator('.statusbar-item', { hasText: /· (cpu|cuda) ·/ }).first();
  await item.waitFor({ timeout: 180_000 });
  const warned = await item.locator('.codicon-warning').count();
  const tooltip = (await item.getAttribute('aria-label')) ?? '';
  say(`three_windows.py status bar: ${await item.innerText()} (⚠ icons ${warned})`);
  check(warned === 0, `a file read in several windows gets no ⚠ in the status bar (${tooltip.slice(0, 160)})`);
  await palette(ui, 'Code Attention: Show Window Boundaries');
  const lines = source.split('\n').length;
  let markers = [];
  for (let line = 1; line <= lines && !markers.length; line += 30) {
    await goToLine(ui, line, 1);
    markers = await ui.evaluate(() =>
      [...document.querySelectorAll('.monaco-editor .view-lines span')]
        .map((element) => getComputedStyle(element, '::before').content)
        .filter((content) => /window \d+ of \d+/.test(content)),
    );
  }
  if (markers.length) await ui.screenshot({ path: join(screenshots, 'window-boundaries.png') });
  say(`window boundary markers: ${markers.join(' | ') || 'none'}`);
  check(/window 2 of [2-9]/.test(markers.join(' ')), `Show Window Boundaries marks window 2 (${markers.join(' | ')})`);
  await palette(ui, 'Code Attention: Show Window Boundaries');
}
