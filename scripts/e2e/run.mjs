// End-to-end tests in a real VS Code (code-server) driven by Debian's Chromium:
// 1. integration tests inside the extension host (test/e2e/integration, full vscode API);
// 2. UI checks of what a person sees: analyse through the command palette, hover a token (the
//    attended tokens light up, the card lists weights), the score panel (one chart point per
//    layer), the compare panel, the unsupported-file message, JSON export through the save dialog.
//    Each view is saved to docs/screenshots/.
// Usage: node scripts/e2e/run.mjs [--ui-only | --integration-only]   (CAL_E2E_EXTRA_MODELS: see below)
// (after scripts/e2e/setup-code-server.sh; `npm run test:e2e` builds and does both)
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { chromium } from 'playwright-core';

const started = Date.now();
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const say = (message) => console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${message}`);
const codeServer = execFileSync('bash', [join(root, 'scripts/e2e/setup-code-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
const screenshots = join(root, 'docs', 'screenshots');
mkdirSync(screenshots, { recursive: true });
const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((candidate) => existsSync(candidate));
if (!chromiumPath) {
  console.error('Chromium is not installed: run scripts/e2e/setup-code-server.sh as root (it installs Debian\'s chromium).');
  process.exit(1);
}
const bundledModels = ['code-attention-mini', 'code-attention-mini-early'].filter((name) => existsSync(join(root, 'models', name, 'manifest.json')));
if (!bundledModels.length) {
  console.error('No bundled model under models/: the extension has nothing to run (see models/README.md).');
  process.exit(1);
}
const layersOf = (name) => JSON.parse(readFileSync(join(root, 'models', name, 'manifest.json'), 'utf8')).layers;

const scratch = mkdtempSync(join(tmpdir(), 'cal-e2e-'));
const workspace = join(scratch, 'workspace');
mkdirSync(workspace);
for (const file of readdirSync(join(root, 'examples'))) cpSync(join(root, 'examples', file), join(workspace, file));
writeFileSync(join(workspace, 'notes.txt'), 'Plain text: not a supported language.\n');
mkdirSync(join(workspace, '.vscode'));
const settings = { 'workbench.startupEditor': 'none', 'security.workspace.trust.enabled': false, 'editor.hover.delay': 300, 'files.simpleDialog.enable': true, 'workbench.tips.enabled': false };
// CAL_E2E_EXTRA_MODELS=DIR[:DIR…] offers more model folders next to the bundled ones (codeAttention.models).
if (process.env.CAL_E2E_EXTRA_MODELS) settings['codeAttention.models'] = process.env.CAL_E2E_EXTRA_MODELS.split(':').filter(Boolean);
writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify(settings));

const port = await new Promise((resolve) => {
  const probe = createServer();
  probe.listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const host = `127.0.0.1:${port}`;
const serverLog = [];
say(`starting code-server on ${host} (workspace ${workspace})`);
const server = spawn(process.execPath, [join(codeServer, 'out/node/entry.js'), '--auth', 'none', '--bind-addr', host, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
  '--user-data-dir', join(scratch, 'user'), '--extensions-dir', join(scratch, 'extensions'), workspace], { stdio: ['ignore', 'pipe', 'pipe'] });
server.stdout.on('data', (chunk) => serverLog.push(String(chunk)));
server.stderr.on('data', (chunk) => serverLog.push(String(chunk)));

let browser;
let page;
const failures = [];
const extensionLog = [];
const consoleLog = [];
const deadline = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms).unref());
const workbenchUrl = (payload) => `http://${host}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
const extensionUri = `vscode-remote://${host}${root}`;

async function newPage() {
  const created = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  created.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') consoleLog.push(`[${message.type()}] ${message.text()}`.slice(0, 500));
  });
  return created;
}

/** Runs a command through the command palette, as a person would. */
async function palette(ui, title) {
  await ui.keyboard.press('Escape');
  await ui.keyboard.press('F1');
  const input = ui.locator('.quick-input-widget input');
  await input.first().waitFor({ timeout: 10_000 });
  await input.first().fill(`>${title}`);
  await ui.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 10_000 });
  await ui.keyboard.press('Enter');
}

/** The webview frame (webviews are nested iframes) that holds `selector`. */
async function frameWith(ui, selector, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    for (const frame of ui.frames()) {
      if (await frame.locator(selector).count().catch(() => 0)) return frame;
    }
    await ui.waitForTimeout(500);
  }
  throw new Error(`no webview showed ${selector} within ${timeoutMs / 1000} s`);
}

async function openFile(ui, name) {
  await ui.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first().click();
  await ui.locator('.tab.active', { hasText: name }).first().waitFor({ timeout: 30_000 });
  await ui.locator('.monaco-editor .view-lines').first().waitFor({ timeout: 30_000 });
}

function check(condition, message) {
  if (!condition) {
    failures.push(message);
    console.error(`FAILED: ${message}`);
  }
}

async function closeAllEditors(ui) {
  await palette(ui, 'View: Close All Editors');
  await ui.waitForTimeout(500);
}

try {
  const exited = new Promise((_, reject) => server.once('exit', (code) => reject(new Error(`code-server exited with ${code} before it was ready (its log is below)`))));
  exited.catch(() => undefined);
  await Promise.race([waitForServer(host), exited, deadline(60_000, 'code-server start')]);
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });

  if (!process.argv.includes('--ui-only')) {
    say('integration tests inside the extension host');
    page = await newPage();
    const exitCode = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
    await page.exposeFunction('codeAutomationLog', (_type, args) => {
      const line = format(...args);
      extensionLog.push(line);
      console.log(`  | ${line}`);
    });
    const payload = [['extensionDevelopmentPath', extensionUri], ['extensionTestsPath', `vscode-remote://${host}${join(root, 'out/e2e/integration/index.js')}`], ['skipWelcome', 'true']];
    await page.goto(workbenchUrl(payload));
    const code = await Promise.race([exitCode, deadline(300_000, 'integration tests')]);
    say(`integration tests exited with ${code}`);
    check(code === 0, 'integration tests failed (see the mocha output above)');
    await page.close();
    rmSync(join(workspace, 'wordcount-scores.json'), { force: true });
  }

  if (!process.argv.includes('--integration-only')) {
    say('UI checks');
    const ui = await newPage();
    page = ui;
    await ui.goto(workbenchUrl([['extensionDevelopmentPath', extensionUri], ['skipWelcome', 'true']]));
    await ui.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await ui.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60_000 });

    // Analyse through the command palette; the status bar shows model · device · view when done.
    await openFile(ui, 'lru_cache.py');
    await ui.locator('.monaco-editor .view-lines').first().click();
    await palette(ui, 'Code Attention: Analyze Current File');
    await ui.locator('.statusbar-item', { hasText: /· (cpu|cuda) ·/ }).first().waitFor({ timeout: 120_000 });
    await ui.locator('.codelens-decoration', { hasText: /CAT \d\.\d{3}/ }).first().waitFor({ timeout: 30_000 });
    say('analysed lru_cache.py');

    // Hover a code token: the attended tokens get decorations, the card lists tokens with weights.
    await ui.locator('.view-line span', { hasText: /^capacity$/ }).first().hover();
    const hover = ui.locator('.monaco-hover', { hasText: 'weight' });
    await hover.first().waitFor({ timeout: 30_000 });
    const hoverText = await hover.first().innerText();
    const decorated = await ui.evaluate(() => [...document.querySelectorAll('.view-overlays div, .view-lines span, .cdr')].filter((element) => /ced-\d+-/.test(String(element.className))).length);
    const weights = hoverText.match(/\b[01]\.\d{3}\b/g) ?? [];
    await ui.screenshot({ path: join(screenshots, 'hover.png') });
    say(`hover card: ${weights.length} weights; decorated elements: ${decorated}`);
    check(/attends to/.test(hoverText) && weights.length >= 3, `the hover card lists tokens with weights (it shows: ${hoverText.replace(/\s+/g, ' ').slice(0, 200)})`);
    check(decorated > 0, 'attended tokens are decorated in the editor');

    // The score panel: one chart point per layer, a layer × head heatmap.
    await palette(ui, 'Code Attention: Score Structure Attention');
    const scoreFrame = await frameWith(ui, '#cat-chart[data-points]', 60_000);
    const points = Number(await scoreFrame.locator('#cat-chart').getAttribute('data-points'));
    const cells = await scoreFrame.locator('#cat-heatmap td.cell').count();
    const expectedLayers = layersOf(bundledModels[0]);
    await ui.waitForTimeout(1000);
    await ui.screenshot({ path: join(screenshots, 'score-panel.png') });
    say(`score panel: ${points} chart points, ${cells} heatmap cells`);
    check(points === expectedLayers, `the score chart has one point per layer (${points}, expected ${expectedLayers})`);
    check(cells > 0, 'the score panel shows the layer × head heatmap');

    // Export JSON through the save dialog (VS Code's own file dialog: accept the proposed path).
    await closeAllEditors(ui);
    await openFile(ui, 'wordcount.go');
    await ui.locator('.monaco-editor .view-lines').first().click();
    await palette(ui, 'Code Attention: Export Scores (JSON or CSV)');
    const dialogInput = ui.locator('.quick-input-widget input');
    await ui.waitForFunction(() => /wordcount-scores\.json$/.test(document.querySelector('.quick-input-widget input')?.value ?? ''), undefined, { timeout: 120_000 });
    await dialogInput.first().press('Enter');
    const exported = join(workspace, 'wordcount-scores.json');
    for (let waited = 0; waited < 30 && !existsSync(exported); waited++) await ui.waitForTimeout(500);
    check(existsSync(exported), 'export wrote wordcount-scores.json into the workspace');
    if (existsSync(exported)) {
      const saved = JSON.parse(readFileSync(exported, 'utf8'));
      say(`exported JSON: ${saved.file}, ${saved.layers?.length} layers`);
      check(saved.file === 'wordcount.go' && saved.layers?.length === saved.model?.layers && saved.layers.every((row) => row.cat >= 0 && row.cat <= 1), 'the exported JSON names the file and has one CAT-score in [0, 1] per layer');
    }

    // Compare the two bundled checkpoints: pick both in the quick pick.
    await palette(ui, 'Code Attention: Compare Models');
    const rows = ui.locator('.quick-input-list .monaco-list-row');
    await rows.first().waitFor({ timeout: 10_000 });
    const modelRows = await rows.count();
    check(modelRows >= 2, `the model picker offers both bundled checkpoints (it offers ${modelRows})`);
    for (let row = 0; row < Math.min(2, modelRows); row++) await rows.nth(row).locator('input[type=checkbox], .quick-input-list-checkbox, .monaco-custom-toggle').first().click();
    await ui.keyboard.press('Enter');
    if (modelRows >= 2) {
      const compareFrame = await frameWith(ui, '#compare-chart[data-points]', 180_000);
      const comparePoints = await compareFrame.locator('#compare-chart').getAttribute('data-points');
      await ui.waitForTimeout(1000);
      await ui.screenshot({ path: join(screenshots, 'compare-panel.png') });
      say(`compare panel: chart points ${comparePoints}`);
      check(/^\d+,\d+$/.test(comparePoints ?? ''), `the compare chart has per-layer points for both models (${comparePoints})`);
    }

    // An unsupported file: a clear message.
    await closeAllEditors(ui);
    await openFile(ui, 'notes.txt');
    await ui.locator('.monaco-editor .view-lines').first().click();
    await palette(ui, 'Code Attention: Analyze Current File');
    const toast = ui.locator('.notifications-toasts .notification-toast', { hasText: 'not supported' }).or(ui.locator('.notifications-toasts .notification-toast', { hasText: 'does not support' }));
    await toast.first().waitFor({ timeout: 30_000 });
    const toastText = (await toast.first().innerText()).split('\n')[0];
    await ui.waitForTimeout(1000); // the toast slides in
    await ui.screenshot({ path: join(screenshots, 'unsupported.png') });
    say(`unsupported file: ${toastText}`);
    check(/Python|Java/.test(toastText), `the message names the supported languages (${toastText})`);
  }
} catch (error) {
  failures.push(error.message);
  console.error(`e2e failed: ${error.message}`);
}
if (failures.length) {
  const shot = join(tmpdir(), 'cal-e2e-failure.png');
  await page?.screenshot({ path: shot }).catch(() => undefined);
  const visible = await page
    ?.evaluate(() =>
      [...document.querySelectorAll('.notifications-toasts .notification-list-item-message, .monaco-dialog-box .dialog-message-text, .quick-input-widget .quick-input-title, .quick-input-widget .monaco-list-row .label-name')]
        .map((element) => element.textContent.replace(/\s+/g, ' ').trim())
        .filter(Boolean)
        .join(' | '),
    )
    .catch(() => '');
  console.error(`screenshot of the failure: ${shot}`);
  console.error(`notifications and dialogs on screen: ${visible || '(none)'}`);
  console.error(`browser console errors and warnings (last 30):\n${consoleLog.filter((line) => !/ENOTFOUND|open-vsx/.test(line)).slice(-30).join('\n')}`);
  console.error(`extension host log (last 40):\n${extensionLog.slice(-40).join('\n')}`);
  console.error(`code-server log (last 30):\n${serverLog.join('').split('\n').filter((line) => !/ENOTFOUND|open-vsx/.test(line)).slice(-30).join('\n')}`);
}
await Promise.race([browser?.close(), new Promise((resolve) => setTimeout(resolve, 10_000))]).catch(() => undefined);
server.kill('SIGTERM');
setTimeout(() => server.kill('SIGKILL'), 5_000).unref();
rmSync(scratch, { recursive: true, force: true });
say(failures.length ? `FAILED (${failures.length}): ${failures.join('; ')}` : 'all end-to-end checks passed');
process.exit(failures.length ? 1 : 0);

async function waitForServer(address) {
  for (;;) {
    try {
      const response = await fetch(`http://${address}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
