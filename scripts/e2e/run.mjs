// End-to-end tests in a real VS Code (code-server) driven by Debian's Chromium:
// 1. integration tests inside the extension host (test/e2e/integration, full vscode API);
// 2. a UI check of what a person sees: hover a token, the attended tokens light up; screenshot.
// Usage: node scripts/e2e/run.mjs  (after scripts/e2e/setup-code-server.sh; `npm run test:e2e` does both)
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const codeServer = execFileSync('bash', [join(root, 'scripts/e2e/setup-code-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
const screenshots = join(root, 'docs', 'screenshots');
mkdirSync(screenshots, { recursive: true });

const scratch = mkdtempSync(join(tmpdir(), 'cal-e2e-'));
const workspace = join(scratch, 'workspace');
mkdirSync(workspace);
for (const file of readdirSync(join(root, 'examples'))) cpSync(join(root, 'examples', file), join(workspace, file));
writeFileSync(join(workspace, 'notes.txt'), 'Plain text: not a supported language.\n');
mkdirSync(join(workspace, '.vscode'));
writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'workbench.startupEditor': 'none', 'security.workspace.trust.enabled': false, 'editor.hover.delay': 300 }));

const port = await new Promise((resolve) => {
  const server = createServer();
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
const host = `127.0.0.1:${port}`;
const serverLog = [];
const server = spawn(process.execPath, [join(codeServer, 'out/node/entry.js'), '--auth', 'none', '--bind-addr', host, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
  '--user-data-dir', join(scratch, 'user'), '--extensions-dir', join(scratch, 'extensions'), workspace], { stdio: ['ignore', 'pipe', 'pipe'] });
server.stdout.on('data', (chunk) => serverLog.push(String(chunk)));
server.stderr.on('data', (chunk) => serverLog.push(String(chunk)));

let browser;
let page;
let failed = false;
const extensionLog = [];
const deadline = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms).unref());
try {
  await Promise.race([waitForServer(host), deadline(60_000, 'code-server start')]);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });

  // 1. Integration tests inside the extension host.
  if (!process.argv.includes('--ui-only')) {
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const exitCode = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
  await page.exposeFunction('codeAutomationLog', (_type, args) => extensionLog.push(args.map(String).join(' ')));
  const payload = [['extensionDevelopmentPath', `vscode-remote://${host}${root}`], ['extensionTestsPath', `vscode-remote://${host}${join(root, 'out/e2e/integration/index.js')}`], ['skipWelcome', 'true']];
  await page.goto(`http://${host}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
  const code = await Promise.race([exitCode, deadline(300_000, 'integration tests')]);
  console.log(extensionLog.join('\n'));
  console.log(`integration tests exited with ${code}`);
  if (code !== 0) failed = true;
  await page.close();
  }

  // 2. What a person sees: the extension loaded from its folder, a hover lights tokens up.
  const ui = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const devPayload = [['extensionDevelopmentPath', `vscode-remote://${host}${root}`], ['skipWelcome', 'true']];
  await ui.goto(`http://${host}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(devPayload))}`);
  page = ui;
  await ui.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  await ui.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60_000 });
  await ui.locator('.explorer-folders-view .monaco-list-row', { hasText: 'lru_cache.py' }).first().click();
  await ui.waitForSelector('.monaco-editor .view-lines', { timeout: 30_000 });
  await ui.locator('.monaco-editor .view-lines').first().click();
  await ui.keyboard.press('F1');
  await ui.keyboard.type('Code Attention: Analyze Current File');
  await ui.keyboard.press('Enter');
  const statusItem = ui.locator('.statusbar-item', { hasText: 'code-attention-mini' });
  await statusItem.first().waitFor({ timeout: 120_000 });
  const word = ui.locator('.view-line span', { hasText: /^capacity$/ }).first();
  await word.hover();
  const hover = ui.locator('.monaco-hover', { hasText: 'weight' });
  await hover.first().waitFor({ timeout: 30_000 });
  const highlighted = await ui.evaluate(() => [...document.querySelectorAll('.view-overlays div, .view-lines span')].filter((element) => /ced-\d+-/.test(element.className) || /codeAttention/.test(element.className)).length);
  const hoverText = await hover.first().innerText();
  await ui.screenshot({ path: join(screenshots, 'hover.png') });
  console.log(`hover card:\n${hoverText}\ndecorated elements: ${highlighted}`);
  if (!/weight/.test(hoverText) || highlighted === 0) {
    console.error('UI check failed: the hover card or the highlights are missing');
    failed = true;
  }
  // The score panel: one chart point per layer, a heatmap, exports.
  await ui.keyboard.press('Escape');
  await ui.keyboard.press('F1');
  await ui.keyboard.type('Code Attention: Score Structure Attention');
  await ui.keyboard.press('Enter');
  let chartFrame;
  for (let attempt = 0; attempt < 60 && !chartFrame; attempt++) {
    for (const frame of ui.frames()) {
      if (await frame.locator('#cat-chart').count().catch(() => 0)) chartFrame = frame;
    }
    if (!chartFrame) await ui.waitForTimeout(500);
  }
  if (!chartFrame) throw new Error('the score panel did not show a chart');
  const points = await chartFrame.locator('#cat-chart').getAttribute('data-points');
  const cells = await chartFrame.locator('#cat-heatmap td.cell').count();
  console.log(`score panel: chart points ${points}, heatmap cells ${cells}`);
  await ui.waitForTimeout(500);
  await ui.screenshot({ path: join(screenshots, 'score-panel.png') });
  if (!(Number(points) > 0) || cells === 0) {
    console.error('UI check failed: the score panel lacks per-layer points or heatmap cells');
    failed = true;
  }
  // The unsupported file: a clear message.
  await ui.keyboard.press('Escape');
  await ui.locator('.explorer-folders-view .monaco-list-row', { hasText: 'notes.txt' }).first().click();
  await ui.waitForTimeout(1000);
  await ui.keyboard.press('F1');
  await ui.keyboard.type('Code Attention: Analyze Current File');
  await ui.keyboard.press('Enter');
  const toast = ui.locator('.notifications-toasts', { hasText: 'does not support' });
  await toast.first().waitFor({ timeout: 30_000 });
  console.log(`unsupported file: ${(await toast.first().innerText()).split('\n')[0]}`);
  await ui.screenshot({ path: join(screenshots, 'unsupported.png') });
} catch (error) {
  failed = true;
  await page?.screenshot({ path: join(scratch, '..', 'cal-e2e-failure.png') }).catch(() => undefined);
  console.error(`screenshot of the failure: ${join(scratch, '..', 'cal-e2e-failure.png')}`);
  console.error(`e2e failed: ${error.message}`);
  console.error(`extension host log:\n${extensionLog.slice(-40).join('\n')}`);
  console.error(`code-server log:\n${serverLog.join('').split('\n').slice(-40).join('\n')}`);
} finally {
  await browser?.close().catch(() => undefined);
  server.kill('SIGTERM');
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

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
