import { strict as assert } from 'node:assert';
import { sharedParser } from './helpers';

describe('parser', () => {
  it('gives UTF-16 line/character ranges and UTF-8 byte offsets on CRLF files with non-ASCII text', async () => {
    const parser = await sharedParser();
    const source = 'é = "ü😀"\r\nnombre_año = é + 1\r\n';
    const parsed = await parser.parse(source, 'python');
    const summary = parsed.tokens.map((t) => [
      t.text,
      t.range.start.line,
      t.range.start.character,
      t.range.end.character,
      t.startByte,
      t.endByte,
    ]);
    assert.deepEqual(summary, [
      ['é', 0, 0, 1, 0, 2],
      ['=', 0, 2, 3, 3, 4],
      ['"ü😀"', 0, 4, 9, 5, 13], // ü is 2 bytes, 😀 is 4 bytes and 2 UTF-16 units
      ['nombre_año', 1, 0, 10, 15, 26], // line 1 starts after "\r\n" at byte 15
      ['=', 1, 11, 12, 27, 28],
      ['é', 1, 13, 14, 29, 31],
      ['+', 1, 15, 16, 32, 33],
      ['1', 1, 17, 18, 34, 35],
    ]);
    for (const token of parsed.tokens) assert.equal(source.slice(token.startIndex, token.endIndex), token.text);
    assert.equal(
      Buffer.from(source, 'utf8').subarray(parsed.tokens[3].startByte, parsed.tokens[3].endByte).toString('utf8'),
      'nombre_año',
    );
  });

  it('keeps a string literal as one token and drops comments unless asked', async () => {
    const parser = await sharedParser();
    const source = 'x = f"a {b}"  # note\n';
    const dropped = await parser.parse(source, 'python');
    assert.deepEqual(
      dropped.tokens.map((t) => t.text),
      ['x', '=', 'f"a {b}"'],
    );
    const kept = await parser.parse(source, 'python', { keepComments: true });
    assert.deepEqual(
      kept.tokens.map((t) => [t.text, t.isComment]),
      [
        ['x', false],
        ['=', false],
        ['f"a {b}"', false],
        ['# note', true],
      ],
    );
  });

  it('records the parent chain of each leaf', async () => {
    const parser = await sharedParser();
    const parsed = await parser.parse('return a;', 'javascript');
    const a = parsed.tokens.find((t) => t.text === 'a')!;
    assert.deepEqual(a.parentTypes, ['return_statement', 'program']);
  });

  it('marks tokens inside syntax errors and lists the error regions', async () => {
    const parser = await sharedParser();
    const parsed = await parser.parse('class A { int f(int x) { return x + ; } }', 'java');
    assert.ok(parsed.errors.length >= 1);
    assert.ok(parsed.tokens.every((t) => t.text !== ''));
    assert.equal(parsed.tokens.filter((t) => !t.inError).length > 10, true);
  });

  it('parses every supported language', async () => {
    const parser = await sharedParser();
    const snippets = {
      python: 'def f(a):\n    return a\n',
      java: 'class A { int f(int a) { return a; } }',
      javascript: 'function f(a) { return a; }',
      typescript: 'function f(a: number): number { return a; }',
      go: 'package p\nfunc f(a int) int { return a }\n',
      ruby: 'def f(a)\n  a\nend\n',
      php: '<?php function f($a) { return $a; }',
    } as const;
    for (const [language, source] of Object.entries(snippets)) {
      const parsed = await parser.parse(source, language as keyof typeof snippets);
      assert.equal(parsed.errors.length, 0, `${language} parses cleanly`);
      assert.ok(
        parsed.tokens.some((t) => t.text === 'f'),
        `${language} has the identifier f`,
      );
    }
  });
});
