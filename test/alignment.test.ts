import { strict as assert } from 'node:assert';
import { alignMatrix } from '../src/core/alignment';
import type { SubwordWindow } from '../src/core/types';

// Subwords: <s>, a₁, a₂, b₁, </s>; code tokens a (index 7) and b (index 8).
const WINDOW: SubwordWindow = {
  tokenStart: 7,
  tokenEnd: 9,
  ids: [0, 10, 11, 12, 2],
  pieces: ['<s>', 'a1', 'a2', 'b1', '</s>'],
  tokenOfSubword: Int32Array.from([-1, 7, 7, 8, -1]),
};
// Row-stochastic 5×5 subword attention.
const ALPHA = Float32Array.from([
  0.2, 0.2, 0.2, 0.2, 0.2, 0.1, 0.3, 0.2, 0.3, 0.1, 0.0, 0.5, 0.1, 0.2, 0.2, 0.4, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2, 0.2,
  0.2, 0.2,
]);

describe('alignment', () => {
  it('mean rule: mean over all subword pairs (the CAT-probing reference)', () => {
    const a = alignMatrix(ALPHA, 5, WINDOW, 'mean');
    const expected = [(0.3 + 0.2 + 0.5 + 0.1) / 4, (0.3 + 0.2) / 2, (0.1 + 0.1) / 2, 0.2];
    expected.forEach((value, index) => assert.ok(Math.abs(a[index] - value) < 1e-6, `cell ${index}`));
  });

  it('sumMean rule: sum over attended subwords, mean over attending ones; rows + special mass = 1', () => {
    const a = alignMatrix(ALPHA, 5, WINDOW, 'sumMean');
    const expected = [(0.3 + 0.2 + 0.5 + 0.1) / 2, (0.3 + 0.2) / 2, 0.1 + 0.1, 0.2];
    expected.forEach((value, index) => assert.ok(Math.abs(a[index] - value) < 1e-6, `cell ${index}`));
    const specialMass = [(0.1 + 0.1 + 0.0 + 0.2) / 2, 0.4 + 0.2];
    for (let row = 0; row < 2; row++) assert.ok(Math.abs(a[row * 2] + a[row * 2 + 1] + specialMass[row] - 1) < 1e-6);
  });
});
