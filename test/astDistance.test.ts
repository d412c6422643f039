import { strict as assert } from 'node:assert';
import { astDistances, upgradedAstDistances } from '../src/core/astDistance';
import { sharedParser } from './helpers';

describe('AST distance', () => {
  // module > expression_statement > assignment > [x, =, binary_operator > [a, +, 1]]
  // Leaf depths: x, = : 3; a, +, 1 : 4.
  it('counts edges through the lowest common ancestor (hand-checked)', async () => {
    const parsed = await (await sharedParser()).parse('x = a + 1\n', 'python');
    assert.deepEqual(
      parsed.tokens.map((t) => t.text),
      ['x', '=', 'a', '+', '1'],
    );
    const d = astDistances(parsed.tree, parsed.tokens);
    const at = (i: number, j: number) => d[i * 5 + j];
    assert.equal(at(0, 0), 0);
    assert.equal(at(0, 1), 2); // x → assignment → =
    assert.equal(at(0, 2), 3); // x → assignment → binary_operator → a
    assert.equal(at(2, 4), 2); // a → binary_operator → 1
    assert.equal(at(1, 4), 3);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) assert.equal(at(i, j), at(j, i));
  });

  it('agrees with a brute-force path length on a real file', async () => {
    const parsed = await (
      await sharedParser()
    ).parse('def f(a, b):\n    if a > b:\n        return [a, b]\n    return {b: a}\n', 'python');
    const d = astDistances(parsed.tree, parsed.tokens);
    const m = parsed.tokens.length;
    const ancestors = (node: number) => {
      const chain: number[] = [];
      for (let n = node; n >= 0; n = parsed.tree.nodes[n].parent) chain.push(n);
      return chain;
    };
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        const a = ancestors(parsed.tokens[i].node);
        const b = new Set(ancestors(parsed.tokens[j].node));
        const lca = a.find((n) => b.has(n))!;
        const expected =
          parsed.tree.nodes[parsed.tokens[i].node].depth +
          parsed.tree.nodes[parsed.tokens[j].node].depth -
          2 * parsed.tree.nodes[lca].depth;
        assert.equal(d[i * m + j], expected);
      }
    }
  });

  it('upgraded distance adds next-token and same-identifier edges', async () => {
    const parsed = await (await sharedParser()).parse('x = 1\ny = x\n', 'python');
    assert.deepEqual(
      parsed.tokens.map((t) => t.text),
      ['x', '=', '1', 'y', '=', 'x'],
    );
    const plain = astDistances(parsed.tree, parsed.tokens);
    const upgraded = upgradedAstDistances(parsed.tree, parsed.tokens, parsed.tokens);
    const m = 6;
    assert.equal(plain[0 * m + 5], 6); // x → assignment → expression_statement → module → … → x
    assert.equal(upgraded[0 * m + 5], 1); // the two x are linked directly
    assert.equal(upgraded[2 * m + 3], 1); // consecutive tokens 1 and y
    for (let x = 0; x < m * m; x++) assert.ok(upgraded[x] <= plain[x]);
  });
});
