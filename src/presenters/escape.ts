/**
 * Outside text (source tokens, file names, model manifest fields, error messages quoting them) shown
 * literally on each surface that would otherwise parse it: Markdown (hover cards), notification and
 * progress messages, status-bar and QuickPick labels, plain tooltips and the terminal. One function
 * per surface; each takes raw text and returns text that the surface shows as those characters.
 */

/**
 * Characters that hide or reorder text, or drive a terminal: C0 and C1 controls, DEL, bidirectional
 * controls ("Trojan source"), zero-width characters and the Unicode line/paragraph separators.
 * Tab, LF and CR are handled by each surface.
 */
const INVISIBLE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/g;

function codeEscape(char: string): string {
  const code = char.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`
    : `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The mark that stands for a line break inside one-line text (a table cell, a label). */
export const LINE_BREAK_MARK = '⏎';

/**
 * One-line text with every invisible or control character written as an escape (`\x1B`, `\u202E`)
 * and each line break (CRLF, CR or LF, as VS Code counts them) as ⏎. Tabs stay.
 */
export function visibleText(text: string): string {
  return text.replace(INVISIBLE, codeEscape).replace(/\r\n|\r|\n/g, LINE_BREAK_MARK);
}

/** Text for a terminal: every control character escaped (`\x1B`, `\r`, `\n`, `\t`); nothing moves the cursor. */
export function terminalText(text: string): string {
  return text
    .replace(INVISIBLE, codeEscape)
    .replace(/[\t\n\r]/g, (char) => (char === '\t' ? '\\t' : char === '\n' ? '\\n' : '\\r'));
}

/** `$(name)` or `$(name~modifier)`: what VS Code renders as a theme icon (its own icon-name pattern). */
const THEME_ICON = /\$\([A-Za-z0-9-]+(?:~[A-Za-z]+)?\)/g;

/**
 * Markdown syntax characters, backslash-escaped. Beyond CommonMark's emphasis, links, code, headings,
 * lists, tables and HTML: `~` (strike-through), `&` (entities such as `&lt;`), `:` and `.` (bare URL
 * and `www.` autolinks), `@` (e-mail autolinks), `$` and `=` (setext headings).
 */
const MARKDOWN_SYNTAX = /[\\`*_{}[\]()#+\-.!|<>~&:@$=]/g;

/**
 * Text for a MarkdownString (hover card prose), shown literally: no emphasis, links, autolinks,
 * images, HTML, entities, strike-through or theme icons. `themeIcons` says whether the MarkdownString
 * is created with `supportThemeIcons`; VS Code then renders `$(name)` in the HTML that Markdown
 * produces, and only a backslash left in that HTML (`\\` in the source) keeps it text.
 * One line: line breaks become ⏎, control characters escapes.
 */
export function markdownText(text: string, themeIcons = true): string {
  const visible = visibleText(text);
  const iconsEscaped = themeIcons ? visible.replace(THEME_ICON, (icon) => '\\' + icon) : visible;
  return iconsEscaped.replace(MARKDOWN_SYNTAX, (char) => '\\' + char);
}

/** Longest text of a hover table cell before it is cut with …. */
export const CELL_CHARACTERS = 40;

/**
 * Text for a Markdown table cell: {@link markdownText} (pipes included), cut to
 * {@link CELL_CHARACTERS} code points, runs of spaces kept as non-breaking spaces.
 */
export function markdownCell(text: string, themeIcons = true): string {
  const codePoints = Array.from(text);
  const short = codePoints.length > CELL_CHARACTERS ? codePoints.slice(0, CELL_CHARACTERS - 3).join('') + '…' : text;
  return markdownText(short, themeIcons).replace(/ {2,}/g, (run) => ' ' + '&nbsp;'.repeat(run.length - 1));
}

/**
 * Text for a notification or progress message (`showInformationMessage`, `withProgress`): those
 * turn `[label](command:…)`, `[label](https://…)` and `[label](file:…)` into links that run or open
 * their target, and a progress message in the status bar renders `$(name)`. A zero-width space
 * between `]` and `(`, and between `$` and `(`, breaks both patterns and shows the same text.
 */
export function messageText(text: string): string {
  return visibleText(text).replace(/\]\(/g, ']\u200B(').replace(/\$\(/g, '$\u200B(');
}

/**
 * Text for a status-bar item's `text`, a QuickPick item's `label`, `description` or `detail`, and a
 * CodeLens title: these render `$(name)` as an icon and drop a backslash before it, which keeps it text.
 */
export function labelText(text: string): string {
  return visibleText(text).replace(THEME_ICON, (icon) => '\\' + icon);
}

/** Text for a plain string tooltip (status bar, CodeLens): shown as text, so only invisible characters are escaped. */
export function tooltipText(text: string): string {
  return text.replace(INVISIBLE, codeEscape);
}
