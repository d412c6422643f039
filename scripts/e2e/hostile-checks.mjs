// UI checks with hostile input in the real VS Code: a file whose name is a command link and whose
// source holds theme-icon syntax, a URL, strike-through and an HTML entity. The progress
// notification must show the name as text (no link that runs a command) and the hover card must
// show the source text literally (no icon, link, strike-through or decoded entity).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A file name that VS Code would render as a link running a command, if shown as Markdown. */
export const HOSTILE_FILE = '[Reload](command:workbench.action.reloadWindow).py';

const HOSTILE_LINES = [
  'icon = "$(zap)"',
  'link = "https://example.invalid/path"',
  'struck = "~~gone~~"',
  'entity = "&lt;tag&gt;"',
];

/** Writes the hostile file into the test workspace, long enough that its progress notification stays up. */
export function prepareHostileWorkspace(workspace) {
  const body = [];
  for (let block = 0; block < 200; block++) {
    body.push(`def check_${block}(value):`, ...HOSTILE_LINES.map((line) => `    ${line}`), '    return value', '');
  }
  writeFileSync(join(workspace, HOSTILE_FILE), body.join('\n'));
}

/**
 * Runs the checks; `tools` are the harness's helpers. The hover is read from the DOM, so what is
 * asserted is what a person sees.
 */
export async function hostileChecks(ui, { palette, pick, openFile, check, say, screenshots }) {
  await openFile(ui, 'workbench.action.reloadWindow');
  // Selecting the model again drops every result and analyses the active file under a progress notification.
  await ui.locator('.monaco-editor .view-lines').first().click();
  // Older toasts would hide the new one (VS Code shows a few at a time); with the notification list open,
  // the progress notification is listed there for as long as it runs.
  await palette(ui, 'Notifications: Clear All Notifications');
  await palette(ui, 'Notifications: Show Notifications');
  await palette(ui, 'Code Attention: Select Model');
  await pick(ui, 'Code Attention mini (final)');
  // One atomic read of the toasts, repeated: a progress notification can close between two locator calls.
  let seen;
  for (let waited = 0; waited < 600 && !seen; waited++) {
    seen = await ui.evaluate(() => {
      const shown = '.notifications-toasts .notification-toast, .notifications-center .notification-list-item';
      const toast = [...document.querySelectorAll(shown)].find((element) => element.textContent.includes('Reload'));
      if (!toast) return undefined;
      const links = [...toast.querySelectorAll('a')].map(
        (a) => a.getAttribute('href') ?? a.getAttribute('data-href') ?? '',
      );
      return { text: toast.innerText, links };
    });
    if (!seen) await ui.waitForTimeout(100);
  }
  if (seen) {
    await ui.screenshot({ path: join(screenshots, 'hostile-notification.png') });
    say(`hostile file name in the progress notification: ${seen.text.replace(/\s+/g, ' ').slice(0, 160)}`);
    check(
      !seen.links.some((href) => href.includes('command:')),
      `the notification has no command link (${seen.links.join(', ')})`,
    );
    check(
      seen.text.includes('[Reload]') && seen.text.includes('command:workbench.action.reloadWindow'),
      'the notification shows the file name as text',
    );
  } else {
    check(false, 'the progress notification naming the hostile file was never seen');
  }
  // The status bar turns from the spinner to the result when the analysis lands.
  await ui.locator('.statusbar-item', { hasText: 'code-attention-mini' }).first().waitFor({ timeout: 120_000 });

  const iconToken = ui.locator('.view-line span span', { hasText: '$(zap)' }).first();
  await iconToken.hover();
  const hover = ui.locator('.monaco-hover:not(.hidden)', { hasText: 'weight' });
  await hover.first().waitFor({ timeout: 30_000 });
  const card = await hover.first().evaluate((element) => ({
    text: element.innerText,
    icons: [...element.querySelectorAll('.codicon')].map((icon) => icon.className),
    links: [...element.querySelectorAll('a')].map((a) => a.getAttribute('data-href') ?? a.getAttribute('href') ?? ''),
    struck: element.querySelectorAll('del, s, strike').length,
  }));
  await ui.screenshot({ path: join(screenshots, 'hostile-hover.png') });
  say(`hover on "$(zap)": ${card.text.split('\n')[0]}; icons ${card.icons.join(' ') || 'none'}`);
  check(card.text.includes('"$(zap)"'), `the hover shows "$(zap)" as text (it shows: ${card.text.slice(0, 120)})`);
  check(!card.icons.some((name) => name.includes('codicon-zap')), 'no zap icon is rendered from source text');
  check(
    card.links.every((href) => href.startsWith('command:codeAttention.')),
    `the only links in the card are the extension's own (links: ${card.links.join(', ')})`,
  );
  check(card.struck === 0, 'nothing in the card is struck through');
}
