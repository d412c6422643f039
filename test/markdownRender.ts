import { marked } from 'marked';

/** VS Code's surfaces in tests: real Markdown (marked, which VS Code uses), VS Code's icon and link patterns. */

const ICON_NAME = /(\\)?\$\(([A-Za-z0-9-]+(?:~[A-Za-z]+)?)\)/g;

/**
 * How VS Code renders a MarkdownString with theme icons: Markdown (GFM) to HTML, after doubling the
 * backslash of an escaped icon in the source; then, in the HTML, `$(name)` becomes an icon element
 * and `\$(name)` the text `$(name)`.
 */
export function renderHover(markdown: string): string {
  const source = markdown.replace(/\\\$\([A-Za-z0-9-]+(?:~[A-Za-z]+)?\)/g, (icon) => '\\' + icon);
  const html = marked.parse(source, { async: false, gfm: true });
  return html.replace(ICON_NAME, (_match, escaped: string | undefined, name: string) =>
    escaped ? `$(${name})` : `<span class="codicon codicon-${name}"></span>`,
  );
}

/** The text a reader sees in rendered HTML (tags dropped, entities decoded). */
export function visibleHtmlText(html: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', nbsp: '\u00A0' };
  return html.replace(/<[^>]+>/g, '').replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (entity, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
    return entities[name] ?? entity;
  });
}

/** Tags a hover must never contain when it renders outside text. */
export const MARKUP = /<(a|img|del|s|em|strong|code|span|h\d|blockquote|ul|ol|li|hr|script|table)\b/;

/** How VS Code turns a notification message into links: a label, then a command, http(s) or file target. */
export const NOTIFICATION_LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/gi;

/** How VS Code renders a label with icons (status bar, QuickPick, CodeLens title): icons out, escaped icons as text. */
export function renderLabel(text: string): { text: string; icons: number } {
  let icons = 0;
  const shown = text.replace(ICON_NAME, (_match, escaped: string | undefined, name: string) => {
    if (escaped) return `$(${name})`;
    icons++;
    return '';
  });
  return { text: shown, icons };
}
