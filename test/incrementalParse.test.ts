import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Parser, Tree } from 'web-tree-sitter';
import { languageForFile } from '../src/core/languages';
import { CodeParser, MAX_KEPT_TREES, textEdit } from '../src/core/parser';
import { setSliceBudget } from '../src/core/slices';
import type { LanguageId } from '../src/core/types';
import { editAt, pprint, pprintSession } from './editSession';
import { EXAMPLES, ROOT } from './helpers';

const grammarsDir = join(ROOT, 'grammars');

/**
 * Trees that web-tree-sitter made and did not delete while `run` ran, and how many parses started from
 * an old tree, counted on its own prototypes.
 */
async function treesDuring(run: () => Promise<void>): Promise<{ live: number; incremental: number }> {
  /* eslint-disable @typescript-eslint/unbound-method -- put back below, and only ever called with its object */
  const parse = Parser.prototype.parse;
  const remove = Tree.prototype.delete;
  /* eslint-enable @typescript-eslint/unbound-method */
  let live = 0;
  let incremental = 0;
  Parser.prototype.parse = function (this: Parser, ...args: Parameters<Parser['parse']>) {
    const tree = parse.apply(this, args);
    if (tree) live++;
    if (tree && args[1]) incremental++;
    return tree;
  };
  Tree.prototype.delete = function (this: Tree) {
    live--;
    remove.call(this);
  };
  try {
    await run();
  } finally {
    Parser.prototype.parse = parse;
    Tree.prototype.delete = remove;
  }
  return { live, incremental };
}

describe('incremental parsing after edits', function () {
  this.timeout(120_000);
  let incremental: CodeParser;
  before(async () => (incremental = await CodeParser.create(grammarsDir)));
  after(() => incremental?.dispose());

  /** A parser that has never seen the text: what a fresh analysis parses. */
  async function freshParse(source: string, language: LanguageId, keepComments = false) {
    const fresh = await CodeParser.create(grammarsDir);
    try {
      return await fresh.parse(source, language, { keepComments });
    } finally {
      fresh.dispose();
    }
  }

  it('each edit of a session on pprint.py gives the tree and tokens of a fresh parse', async () => {
    let text = pprint;
    await incremental.parse(text, 'python');
    let fromOldTrees = 0;
    for (const [what, change] of pprintSession) {
      text = change(text);
      for (const options of [{}, { keepComments: true }]) {
        let again: Awaited<ReturnType<CodeParser['parse']>> | undefined;
        fromOldTrees += (await treesDuring(async () => void (again = await incremental.parse(text, 'python', options))))
          .incremental;
        assert.deepEqual(again, await freshParse(text, 'python', options.keepComments), what);
      }
    }
    assert.equal(text, pprint);
    // A parse that ends in a syntax error is redone afresh and its tree not reused: the next parse is fresh too.
    assert.equal(fromOldTrees, 2 * pprintSession.length - 2);
  });

  it('edits in every example file (insert, delete, non-ASCII) give the parse of a fresh parser', async () => {
    const files = readdirSync(EXAMPLES).filter((name) => extname(name) !== '.jsonl');
    assert.ok(files.length >= 7, files.join(', '));
    for (const name of files) {
      const language = languageForFile(name)!;
      assert.ok(language, name);
      const original = readFileSync(join(EXAMPLES, name), 'utf8');
      const middle = original.indexOf('\n', original.length >> 1) + 1;
      const edits = [
        original.slice(0, middle) + 'x' + original.slice(middle),
        original.slice(0, middle) + original.slice(original.indexOf('\n', middle) + 1),
        original.slice(0, middle) + '// é😀 "\n' + original.slice(middle),
        original.slice(0, middle) + '// é😁 "\n' + original.slice(middle),
        original,
      ];
      await incremental.parse(original, language);
      for (const [step, text] of edits.entries())
        assert.deepEqual(await incremental.parse(text, language), await freshParse(text, language), `${name} #${step}`);
    }
  });

  it('a file full of syntax errors gets the same tree whether its parse pauses at every step or never', async () => {
    const files = readdirSync(EXAMPLES).filter((name) => extname(name) !== '.jsonl');
    let withErrors = 0;
    for (const name of files) {
      const language = languageForFile(name)!;
      let closers = 0;
      // Every seventh closing bracket dropped: error recovery everywhere (it once settled differently
      // in inventory.rb when the parse was paused and resumed).
      const broken = readFileSync(join(EXAMPLES, name), 'utf8').replace(/[)\]}]/g, (c) => (++closers % 7 ? c : ''));
      const previous = setSliceBudget(Number.MAX_SAFE_INTEGER);
      let whole;
      try {
        whole = await freshParse(broken, language);
      } finally {
        setSliceBudget(0);
      }
      try {
        const paused = await freshParse(broken, language);
        assert.deepEqual(paused, whole, name);
        if (whole.tree.nodes.some((node) => node.isError || node.isMissing)) withErrors++;
      } finally {
        setSliceBudget(previous);
      }
    }
    assert.ok(withErrors >= 5, `${withErrors} of the broken files have syntax errors`);
  });

  it('holds at most a few trees in wasm memory: 200 edits leave no tree behind', async () => {
    const texts = Array.from({ length: 200 }, (_, k) => editAt(pprint, 'self._readable = False', `_${k}`, 14));
    const other = 'x = 1\n';
    let held = 0;
    const { live } = await treesDuring(async () => {
      const parser = await CodeParser.create(grammarsDir);
      for (const text of texts) {
        await parser.parse(text, 'python');
        await parser.parse(other, 'javascript');
        held = Math.max(held, parser.keptTrees);
      }
      assert.equal(parser.keptTrees, 2, 'one tree per text still being edited');
      parser.dispose();
    });
    assert.ok(held <= MAX_KEPT_TREES, `${held} trees held`);
    assert.equal(live, 0, `${live} trees never deleted`);
  });

  it('describes an edit as one replaced span in UTF-16 units and rows, never inside a surrogate pair', () => {
    assert.deepEqual(textEdit('ab\ncd', 'ab\ncXd'), {
      startIndex: 4,
      oldEndIndex: 4,
      newEndIndex: 5,
      startPosition: { row: 1, column: 1 },
      oldEndPosition: { row: 1, column: 1 },
      newEndPosition: { row: 1, column: 2 },
    });
    const emoji = textEdit('x = "😀"', 'x = "😁"');
    assert.deepEqual([emoji.startIndex, emoji.oldEndIndex, emoji.newEndIndex], [5, 7, 7]);
    const same = textEdit('a\nb', 'a\nb');
    assert.deepEqual([same.startIndex, same.oldEndIndex, same.newEndIndex], [3, 3, 3]);
  });
});
