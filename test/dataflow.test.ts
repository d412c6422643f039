import { strict as assert } from 'node:assert';
import { extractDataFlow } from '../src/core/dataflow/dataFlow';
import type { LanguageId } from '../src/core/types';
import { sharedParser } from './helpers';

/** Edges as readable strings: "x@2 <- a@2 computedFrom" (token text @ 1-based line). */
async function edges(language: LanguageId, source: string): Promise<string[]> {
  const parsed = await (await sharedParser()).parse(source, language);
  const graph = extractDataFlow(parsed)!;
  const label = (token: number) => `${parsed.tokens[token].text}@${parsed.tokens[token].range.start.line + 1}`;
  return graph.edges.map((edge) => `${label(edge.from)} <- ${label(edge.to)} ${edge.kind}`);
}

describe('data-flow graph (GraphCodeBERT rules)', () => {
  it('python: straight line and augmented assignment', async () => {
    assert.deepEqual(await edges('python', 'a = 1\nb = a + 2\na += b\nprint(a)\n'), [
      'b@2 <- a@2 computedFrom',
      'a@2 <- a@1 comesFrom',
      'a@3 <- a@1 comesFrom', // an augmented assignment reads its target
      'a@3 <- b@3 computedFrom',
      'b@3 <- b@2 comesFrom',
      'a@4 <- a@3 comesFrom',
    ]);
  });

  it('python: branches start from the state before the if and merge afterwards', async () => {
    assert.deepEqual(await edges('python', 'x = 0\nif x > 1:\n    y = x\nelse:\n    y = 2\nz = y\n'), [
      'x@2 <- x@1 comesFrom',
      'y@3 <- x@3 computedFrom',
      'x@3 <- x@1 comesFrom',
      'z@6 <- y@6 computedFrom',
      'y@6 <- y@3 comesFrom', // both branches' definitions reach the use after the if
      'y@6 <- y@5 comesFrom',
    ]);
  });

  it('python: a branch without else keeps the old definition alive', async () => {
    assert.deepEqual(await edges('python', 'y = 1\nif c:\n    y = 2\nprint(y)\n'), ['y@4 <- y@1 comesFrom', 'y@4 <- y@3 comesFrom']);
  });

  it('python: loops carry values around (two passes), nested function and default parameter', async () => {
    const source = [
      'def f(a, b=1):',
      '    x = a + b',
      '    x += 1',
      '    for i in range(x):',
      '        if i > a:',
      '            y = i',
      '        else:',
      '            y = 0',
      '    while x:',
      '        x -= 1',
      '    return x, y',
      '',
    ].join('\n');
    assert.deepEqual(await edges('python', source), [
      'x@2 <- a@2 computedFrom',
      'x@2 <- b@2 computedFrom',
      'a@2 <- a@1 comesFrom',
      'b@2 <- b@1 comesFrom',
      'x@3 <- x@2 comesFrom',
      'i@4 <- range@4 computedFrom',
      'i@4 <- x@4 computedFrom',
      'x@4 <- x@3 comesFrom',
      'i@5 <- i@4 comesFrom',
      'a@5 <- a@1 comesFrom',
      'y@6 <- i@6 computedFrom',
      'i@6 <- i@4 comesFrom',
      'x@9 <- x@3 comesFrom',
      'x@9 <- x@10 comesFrom', // carried around the loop
      'x@10 <- x@3 comesFrom',
      'x@11 <- x@10 comesFrom',
      'y@11 <- y@6 comesFrom',
      'y@11 <- y@8 comesFrom',
    ]);
  });

  it('returns undefined for languages without rules yet', async () => {
    const parsed = await (await sharedParser()).parse('int x = 1;', 'java');
    assert.equal(extractDataFlow(parsed), undefined);
  });
});
