import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  catScoreOfMatrix,
  keptTokenIndices,
  quantile,
  referenceTypeFilter,
  scoreSnippets,
  topTypesFilter,
} from '../src/core/metrics/catScore';
import type { CodeToken } from '../src/core/types';
import { ROOT } from './helpers';

// Distances of a 4-token chain: sorted values 0×4, 1×6, 2×4, 3×2, so the 0.25-quantile sits at
// position 3.75 between 0 and 1: 0.75. Only the diagonal (distance 0) is "near".
const DISTANCE = Int32Array.from([0, 1, 2, 3, 1, 0, 1, 2, 2, 1, 0, 1, 3, 2, 1, 0]);

describe('CAT-score', () => {
  it('matches numpy.quantile (linear interpolation)', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile(DISTANCE, 0.25), 0.75);
    assert.ok(Math.abs(quantile([0.1, 0.2, 0.3, 0.4, 0.5], 0.75) - 0.4) < 1e-12);
  });

  it('scores a hand-computed 4×4 example', () => {
    // Attention values: 0.1×7, 0.2×4, 0.3, 0.4, 0.5, 0.6, 0.7. The 0.75-quantile is at position
    // 11.25: 0.3 + 0.25 × (0.4 − 0.3) = 0.325. High pairs: (0,0)=.7, (1,2)=.5, (2,2)=.4, (3,3)=.6.
    // Near pairs: the diagonal. |A ∧ D| = 3 ((0,0), (2,2), (3,3)); |A ∨ D| = 5. CAT = 0.6.
    const attention = Float32Array.from([
      0.7, 0.1, 0.1, 0.1, 0.1, 0.3, 0.5, 0.1, 0.2, 0.2, 0.4, 0.2, 0.1, 0.1, 0.2, 0.6,
    ]);
    assert.ok(Math.abs(catScoreOfMatrix(attention, DISTANCE)! - 0.6) < 1e-9);
  });

  it('agrees with the reference formula computed by numpy on random float32 matrices with ties', () => {
    // test/fixtures/cat/numpy-reference.json: 24 matrices (k = 2…12, q ∈ {0.5, 0.75, 0.9}, a quarter
    // of the values zero, some rounded to quarters) scored by np.quantile and the set formulas.
    const fixture = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'cat', 'numpy-reference.json'), 'utf8')) as {
      cases: Array<{
        q: number;
        attention: number[];
        distance: number[];
        attentionQuantile: number;
        distanceQuantile: number;
        cat: number | null;
      }>;
    };
    assert.equal(fixture.cases.length, 24);
    assert.ok(fixture.cases.some((entry) => entry.cat === null)); // the skip rule is exercised too
    for (const [index, entry] of fixture.cases.entries()) {
      const attention = Float32Array.from(entry.attention);
      const distance = Int32Array.from(entry.distance);
      assert.ok(
        Math.abs(quantile(attention, entry.q) - entry.attentionQuantile) <= 1e-7 * Math.abs(entry.attentionQuantile),
        `case ${index}: attention quantile`,
      );
      assert.ok(
        Math.abs(quantile(distance, 1 - entry.q) - entry.distanceQuantile) < 1e-12,
        `case ${index}: distance quantile`,
      );
      const score = catScoreOfMatrix(attention, distance, entry.q);
      if (entry.cat === null) assert.equal(score, undefined, `case ${index}: skipped`);
      else
        assert.ok(
          score !== undefined && Math.abs(score - entry.cat) < 1e-12,
          `case ${index}: ${score} vs numpy ${entry.cat}`,
        );
    }
  });

  it('skips snippets with all-zero attention, as the reference does', () => {
    assert.equal(catScoreOfMatrix(new Float32Array(16), DISTANCE), undefined);
  });

  it('baseline: the expected score under row shuffles, close to the mean over 4,000 actual shuffles', () => {
    // 40 tokens on a chain (distance |a − b|), attention that prefers near tokens plus noise.
    const k = 40;
    const random = mulberry32(7);
    const distances = new Int32Array(k * k);
    const attention = new Float32Array(k * k);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        distances[a * k + b] = Math.abs(a - b);
        attention[a * k + b] = Math.exp(-Math.abs(a - b) / 3) * random() + 0.05 * random();
      }
    }
    const scored = scoreSnippets(
      [
        {
          attention: { tokenAttention: { data: attention, shape: [1, 1, k, k] } },
          kept: Array.from({ length: k }, (_, t) => t),
          distances,
        },
      ],
      1,
      1,
    );
    const attentionThreshold = quantile(attention, 0.75);
    const distanceThreshold = quantile(distances, 0.25);
    let sum = 0;
    const repeats = 4000;
    for (let r = 0; r < repeats; r++)
      sum += catScoreOfMatrix(
        shuffledRows(attention, k, random),
        distances,
        0.75,
        distanceThreshold,
        attentionThreshold,
      )!;
    const simulated = sum / repeats;
    assert.ok(scored.score.perHead[0][0] > 2 * simulated, 'structured attention scores well above chance');
    assert.ok(
      Math.abs(scored.baseline.perHead[0][0] - simulated) < 0.002,
      `closed form ${scored.baseline.perHead[0][0]} vs simulated ${simulated}`,
    );
  });

  it('averages layers over heads and reports a baseline per layer and head', () => {
    // 1 layer, 2 heads over 4 tokens; head 0 is the hand example, head 1 is uniform (all values
    // equal: nothing exceeds the quantile, only the 4 near pairs remain, CAT = 0).
    const head0 = [0.7, 0.1, 0.1, 0.1, 0.1, 0.3, 0.5, 0.1, 0.2, 0.2, 0.4, 0.2, 0.1, 0.1, 0.2, 0.6];
    const head1 = new Array(16).fill(0.25);
    const tokenAttention = { data: Float32Array.from([...head0, ...head1]), shape: [1, 2, 4, 4] };
    const scored = scoreSnippets([{ attention: { tokenAttention }, kept: [0, 1, 2, 3], distances: DISTANCE }], 1, 2);
    assert.ok(Math.abs(scored.score.perHead[0][0] - 0.6) < 1e-6);
    assert.equal(scored.score.perHead[0][1], 0);
    assert.equal(scored.snippets, 1);
    assert.equal(scored.pairs, 16); // 4 kept tokens, self-pairs included
    assert.equal(scored.thresholds.distance, 0.75);
    // The head mean is (head0 + 0.25) / 2, an increasing map: its 0.75-quantile is (0.325 + 0.25) / 2.
    assert.ok(Math.abs(scored.thresholds.attentionPerLayer[0] - 0.2875) < 1e-6);
    // Head 0: one high pair per row, one near pair per row (the diagonal): E|A ∧ D| = 4 · 1·1/4 = 1,
    // so the baseline is 1 / (4 + 4 − 1).
    assert.ok(Math.abs(scored.baseline.perHead[0][0] - 1 / 7) < 1e-12);
    assert.equal(scored.baseline.perHead[0][1], 0); // shuffling a constant row changes nothing
  });

  it('filters tokens by the reference’s frequent types', () => {
    const tokens = ['def', 'f', '(', 'a', ')', ':', 'return', 'a'].map(
      (text, index) => ({ index, text, type: text === 'f' || text === 'a' ? 'identifier' : text }) as CodeToken,
    );
    const filter = referenceTypeFilter('python');
    assert.deepEqual(keptTokenIndices(tokens, filter), [0, 1, 3, 4, 5, 6, 7]);
    assert.equal(referenceTypeFilter('ruby').types, 'all');
    assert.deepEqual(referenceTypeFilter('typescript').types, referenceTypeFilter('javascript').types);
  });

  it('chooses the k most frequent types of a corpus, ties by name', () => {
    const counts = new Map([
      ['identifier', 40],
      [')', 12],
      ['(', 12],
      ['def', 3],
      [':', 12],
    ]);
    // identifier 40, then the three types with 12 in name order: "(" < ")" < ":".
    assert.deepEqual(topTypesFilter(counts, 3).types, ['identifier', '(', ')']);
    assert.deepEqual(topTypesFilter(counts, 10).types, ['identifier', '(', ')', ':', 'def']);
  });
});

/** Each row's values permuted among its columns (Fisher–Yates), the chance model of the baseline. */
function shuffledRows(matrix: Float32Array, k: number, random: () => number): Float32Array {
  const out = Float32Array.from(matrix);
  for (let a = 0; a < k; a++) {
    for (let i = k - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[a * k + i], out[a * k + j]] = [out[a * k + j], out[a * k + i]];
    }
  }
  return out;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
