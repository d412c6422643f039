import { strict as assert } from 'node:assert';
import { marked } from 'marked';
import { MARKUP, NOTIFICATION_LINK, renderHover, renderLabel, visibleHtmlText } from './markdownRender';
import {
  labelText,
  markdownCell,
  markdownText,
  messageText,
  terminalText,
  tooltipText,
  visibleText,
} from '../src/presenters/escape';

/** Outside text an attacker or an unlucky user can put in a file name, a token or a model manifest. */
const HOSTILE = [
  '[Reload](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%22%7D)',
  '[docs](https://example.invalid/x)',
  '[open](file:///etc/passwd)',
  '$(zap)',
  '$(sync~spin) busy',
  '\\$(zap)',
  '~~struck~~',
  '&lt;b&gt; &amp; &#36;(zap)',
  '<img src="https://example.invalid/pixel.png">',
  '<span style="color:red">red</span>',
  'see https://example.invalid/a?b=c and www.example.invalid',
  'mail me@example.invalid',
  '`code` ``more``',
  'a | b || c',
  '**bold** _em_ __strong__ *x*',
  '# heading',
  '> quote',
  '- item',
  '1. item',
  '![alt](https://example.invalid/i.png)',
  '[ref]: https://example.invalid',
  'line one\nline two\r\nline three\rline four',
  'esc \u001b[31mred\u001b[0m bell \u0007',
  'trojan \u202Eevil\u202C source \u2066x\u2069',
  'zero\u200Bwidth\uFEFF',
  'backslash \\ at end \\',
  'html <!-- comment --> <script>alert(1)</script>',
  '___',
  'setext\n===',
];

describe('escaping outside text for each surface', () => {
  describe('Markdown (hover cards)', () => {
    for (const hostile of HOSTILE) {
      it(`shows ${JSON.stringify(hostile)} literally in prose and in a table cell`, () => {
        const prose = renderHover(`**Token** ${markdownText(hostile)} end`);
        assert.doesNotMatch(prose.replace(/^<p><strong>Token<\/strong>/, ''), MARKUP, prose);
        assert.equal(visibleHtmlText(prose).trim(), `Token ${visibleText(hostile)} end`);
        const table = renderHover(`| token | line |\n| --- | ---: |\n| ${markdownCell(hostile)} | 3 |`);
        const cells = [...table.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((match) => match[1]);
        assert.equal(cells.length, 2, `one row of two cells: ${table}`);
        assert.doesNotMatch(cells[0], MARKUP, cells[0]);
        const expected = Array.from(hostile).length > 40 ? Array.from(hostile).slice(0, 37).join('') + '…' : hostile;
        assert.equal(visibleHtmlText(cells[0]).replace(/\u00A0/g, ' '), visibleText(expected));
        assert.equal(cells[1], '3');
      });
    }

    it('keeps an icon when the MarkdownString has no theme icons (no backslash left over)', () => {
      const html = marked.parse(markdownText('$(zap)', false), { async: false });
      assert.equal(visibleHtmlText(html).trim(), '$(zap)');
    });

    it('cuts a long cell on code points, never inside a surrogate pair', () => {
      const cell = markdownCell('😀'.repeat(50));
      assert.equal(cell, '😀'.repeat(37) + '…');
    });
  });

  describe('notification and progress messages', () => {
    for (const hostile of HOSTILE) {
      it(`makes no link or icon of ${JSON.stringify(hostile)}`, () => {
        const message = messageText(`Analysing ${hostile}…`);
        assert.equal([...message.matchAll(NOTIFICATION_LINK)].length, 0, message);
        // A progress message in the status bar renders icons.
        assert.equal(renderLabel(message).icons, 0, message);
        assert.equal(message.replace(/\u200B/g, ''), `Analysing ${visibleText(hostile)}…`);
      });
    }

    it('a file name with a command link shows the same characters', () => {
      const name = '[Reload](command:workbench.action.reloadWindow).py';
      assert.equal(messageText(name), '[Reload]\u200B(command:workbench.action.reloadWindow).py');
    });
  });

  describe('status bar, QuickPick labels and CodeLens titles', () => {
    for (const hostile of HOSTILE) {
      it(`renders ${JSON.stringify(hostile)} with no icon and as the same text`, () => {
        const rendered = renderLabel(`$(eye) ${labelText(hostile)}`);
        assert.equal(rendered.icons, 1, 'only our own icon');
        assert.equal(rendered.text, ` ${visibleText(hostile)}`);
      });
    }
  });

  describe('invisible and control characters', () => {
    it('plain tooltips keep line breaks and show controls as escapes', () => {
      assert.equal(tooltipText('a\nb\u001b[2J\u202Ec'), 'a\nb\\x1B[2J\\u202Ec');
    });

    it('one-line text marks CR, LF and CRLF line breaks alike', () => {
      assert.equal(visibleText('a\rb\nc\r\nd'), 'a⏎b⏎c⏎d');
    });

    it('terminal text escapes every control character, so nothing moves the cursor or restyles output', () => {
      const printed = terminalText('x\u001b[2J\u001b]0;title\u0007\r\n\t\u009b\u202E');
      assert.equal(printed, 'x\\x1B[2J\\x1B]0;title\\x07\\r\\n\\t\\x9B\\u202E');
      // eslint-disable-next-line no-control-regex -- asserting that no control character is left
      assert.doesNotMatch(printed, /[\u0000-\u001f\u007f-\u009f\u202e]/);
    });
  });
});
