import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { astDistances } from '../src/core/astDistance';
import { extractDataFlow } from '../src/core/dataflow/dataFlow';
import { JAVASCRIPT_RULES } from '../src/core/dataflow/javascript';
import { PYTHON_RULES } from '../src/core/dataflow/python';
import { States } from '../src/core/dataflow/states';
import { DataFlowWalker } from '../src/core/dataflow/walker';
import { MAX_PARENT_TYPES } from '../src/core/parser';
import type { LanguageId, ParsedSource } from '../src/core/types';
import { CLI, labelledDataFlowEdges, MODEL_DIR, ROOT, sharedParser } from './helpers';

const DEPTH = 50_000;

/** `depth` nested brackets around nothing, assigned to x, and x read on the next line. */
function nestedBrackets(language: LanguageId, depth: number): string {
  const nest = '['.repeat(depth) + ']'.repeat(depth);
  switch (language) {
    case 'python':
    case 'ruby':
      return `x = ${nest}\ny = x\n`;
    case 'php':
      return `<?php\n$x = ${nest};\n$y = $x;\n`;
    case 'go':
      return `package p\n\nfunc f() {\n\tx := ${'('.repeat(depth)}1${')'.repeat(depth)}\n\ty := x\n\t_ = y\n}\n`;
    case 'java':
      return (
        `class A {\n  void f() {\n    int x = ${'('.repeat(depth)}1${')'.repeat(depth)};\n` + '    int y = x;\n  }\n}\n'
      );
    default:
      return `let x = ${nest};\nlet y = x;\n`;
  }
}

function maxDepth(parsed: ParsedSource): number {
  return parsed.tree.nodes.reduce((deepest, node) => Math.max(deepest, node.depth), 0);
}

describe('deeply nested input', function () {
  this.timeout(300_000);

  for (const language of ['python', 'javascript'] as const) {
    it(`${language}: a ${DEPTH}-deep bracket nest is parsed, walked for data flow and measured`, async () => {
      const source = nestedBrackets(language, DEPTH);
      const parsed = await (await sharedParser()).parse(source, language);
      assert.ok(maxDepth(parsed) > DEPTH, `tree depth ${maxDepth(parsed)}`);
      assert.equal(parsed.errors.length, 0);
      assert.equal(parsed.tokens.filter((token) => token.text === '[').length, DEPTH);
      assert.ok(parsed.tokens.every((token) => token.parentTypes.length <= MAX_PARENT_TYPES));
      const deepest = parsed.tokens.find((token) => token.text === ']')!;
      assert.equal(deepest.parentTypes.length, MAX_PARENT_TYPES);
      assert.equal(deepest.parentTypes[0], language === 'python' ? 'list' : 'array');

      const expected = ['y@2 <- x@2 computedFrom', 'x@2 <- x@1 comesFrom'];
      assert.deepEqual(await labelledDataFlowEdges(language, source), expected);

      // The i-th and j-th opening brackets are |i - j| + 2 edges apart: up to the outer list, down
      // the nest, up from the inner list's bracket (hand-computed from the tree's shape).
      const firstBracket = parsed.tokens.findIndex((token) => token.text === '[');
      const sample = parsed.tokens.slice(firstBracket, firstBracket + 300);
      const distances = astDistances(parsed.tree, sample);
      assert.equal(distances[0 * 300 + 1], 3);
      assert.equal(distances[0 * 300 + 299], 301);
      assert.equal(distances[10 * 300 + 20], 12);
    });
  }

  for (const language of ['java', 'go', 'ruby', 'php'] as const) {
    it(`${language}: a 20000-deep nest gives the data flow of the lines around it`, async () => {
      const source = nestedBrackets(language, 20_000);
      const parsed = await (await sharedParser()).parse(source, language);
      assert.ok(maxDepth(parsed) > 20_000);
      const expected: Record<typeof language, string[]> = {
        java: ['y@4 <- x@4 computedFrom', 'x@4 <- x@3 comesFrom'],
        go: ['y@5 <- x@5 computedFrom', 'x@5 <- x@4 comesFrom', 'y@6 <- y@5 comesFrom'],
        ruby: ['y@2 <- x@2 computedFrom', 'x@2 <- x@1 comesFrom'],
        php: ['y@3 <- x@3 computedFrom', 'x@3 <- x@2 comesFrom'],
      };
      assert.deepEqual(await labelledDataFlowEdges(language, source), expected[language]);
      assert.ok(extractDataFlow(parsed)!.nodes.length >= 2);
    });
  }

  describe('through the CLI', () => {
    let scratch: string;
    before(() => {
      scratch = mkdtempSync(join(tmpdir(), 'cal-deep-'));
    });
    after(() => rmSync(scratch, { recursive: true, force: true }));

    const analyze = (file: string) => {
      const run = spawnSync(process.execPath, [CLI, 'analyze', file, '--model', MODEL_DIR], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 240_000,
      });
      return { code: run.status, stdout: run.stdout, stderr: run.stderr };
    };

    // With bounded memory (windows keep layer means only) the 50,000-deep file is analysed, not refused.
    it(`analyses a real ${DEPTH}-deep .py file in windows, with no stack trace`, () => {
      const file = join(scratch, 'deep.py');
      writeFileSync(file, nestedBrackets('python', DEPTH));
      const run = analyze(file);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /layer\s+CAT-score\s+baseline/);
      assert.match(run.stderr, /^warning: The file has \d+ subwords; it was analysed in \d+ windows/m);
      assert.doesNotMatch(run.stderr, /RangeError|Maximum call stack|^\s+at /m);
    });

    it('analyses a real 3000-deep .py file completely, data flow included', () => {
      const file = join(scratch, 'deep3000.py');
      writeFileSync(file, nestedBrackets('python', 3000));
      const run = analyze(file);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /6005 code tokens/); // 6000 brackets, x = … and y = x
      assert.match(run.stdout, /layer\s+CAT-score\s+baseline/);
      assert.match(run.stdout, /Data flow: 2 edges/);
    });
  });
});

describe('data-flow walk cost', () => {
  /** `depth` nested loops, each with its own loop variable, around one statement. */
  function nestedLoops(language: 'python' | 'javascript', depth: number): string {
    const lines: string[] = [];
    for (let level = 0; level < depth; level++) {
      const indent = '  '.repeat(level);
      lines.push(language === 'python' ? `${indent}for i${level} in xs:` : `${indent}for (const i${level} of xs) {`);
    }
    lines.push(`${'  '.repeat(depth)}${language === 'python' ? 'total = total + 1' : 'total = total + 1;'}`);
    if (language === 'javascript') {
      for (let level = depth - 1; level >= 0; level--) lines.push(`${'  '.repeat(level)}}`);
    }
    return lines.join('\n') + '\n';
  }

  for (const language of ['python', 'javascript'] as const) {
    it(`${language}: in up to 20 nested loops, the loop at depth k is walked k times, the body depth + 1`, async () => {
      const parser = await sharedParser();
      for (let depth = 1; depth <= 20; depth++) {
        const parsed = await parser.parse(nestedLoops(language, depth), language);
        const walker = new DataFlowWalker(parsed, language === 'python' ? PYTHON_RULES : JAVASCRIPT_RULES);
        walker.walk(0, new States());
        const loopType = language === 'python' ? 'for_statement' : 'for_in_statement';
        const loops = parsed.tree.nodes.filter((node) => node.type === loopType);
        assert.equal(loops.length, depth);
        loops.forEach((loop, level) => {
          assert.equal(walker.visits[loop.id], level + 1, `loop ${level + 1} of ${depth}`);
        });
        const bodyType = language === 'python' ? 'assignment' : 'assignment_expression';
        const body = parsed.tree.nodes.find((node) => node.type === bodyType)!;
        assert.equal(walker.visits[body.id], depth + 1, `body of ${depth} loops`);
      }
    });
  }

  it('python: values carried around three nested loops are still linked after the change', async () => {
    const source = ['s = 0', 'for i in a:', '    for j in b:', '        for k in c:', '            s = s + t'];
    source.push('        t = k', '    u = s', '');
    assert.deepEqual(await labelledDataFlowEdges('python', source.join('\n')), [
      'i@2 <- a@2 computedFrom',
      'j@3 <- b@3 computedFrom',
      'k@4 <- c@4 computedFrom',
      's@5 <- s@5#2 computedFrom',
      's@5 <- t@5 computedFrom',
      's@5#2 <- s@1 comesFrom',
      's@5#2 <- s@5 comesFrom', // carried around the innermost loop
      't@5 <- t@6 comesFrom', // t is assigned after the inner loops and read in them on the next pass
      't@6 <- k@6 computedFrom',
      'k@6 <- k@4 comesFrom',
      'u@7 <- s@7 computedFrom',
      's@7 <- s@5 comesFrom', // as in the reference, the zero-iteration case is not merged in
    ]);
  });
});
