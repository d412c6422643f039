import { strict as assert } from 'node:assert';
import { headMatrix, meanOverHeads } from '../src/core/alignment';
import { astDistances } from '../src/core/astDistance';
import { extractDataFlow } from '../src/core/dataflow/dataFlow';
import { NotCausalError, assertCausal, cropPositions } from '../src/core/metrics/causal';
import { causalCatCounts, causalCatOfMatrix, scoreCausalSnippets, supportValues } from '../src/core/metrics/causalCat';
import { backwardRows, causalDataFlowScore } from '../src/core/metrics/causalDataFlow';
import { causalAttentionFlow, causalRollout, causalTokenFlow } from '../src/core/metrics/causalFlow';
import { attentionSinks, hideSinkAndRenormalise } from '../src/core/metrics/causalSinks';
import { attentionFlow, tokenFlow } from '../src/core/metrics/flow';
import { attentionRollout } from '../src/core/metrics/rollout';
import { alignMatrix } from '../src/core/alignment';
import type { DataFlowGraph, Tensor } from '../src/core/types';
import { DECODER_FIXTURE_NAMES, fixtureTokenizer, loadDecoderReference, rawTextWindow } from './decoderFixtures';
import { sharedParser } from './helpers';

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);

describe('Causal metrics (decoders)', () => {
  describe('CAT-score on the causal support', () => {
    it('scores a hand-computed 3×3 example', () => {
      // Support values 1, .6, .4, .5, .2, .3; the 0.5-quantile sits between .4 and .5: .45, so A = (0,0),
      // (1,0), (2,0). Support distances 0, 1, 0, 2, 1, 0: the 0.5-quantile is 0.5, D = the diagonal.
      // |A ∧ D| = 1, |A ∨ D| = 5: CAT 0.2. Shuffle expectation per row h·d/(a+1): 1 + 1/2 + 1/3 = 11/6,
      // baseline (11/6) / (6 − 11/6) = 0.44.
      const attention = [1, 0, 0, 0.6, 0.4, 0, 0.5, 0.2, 0.3];
      const distance = [0, 1, 2, 1, 0, 1, 2, 1, 0];
      const result = causalCatOfMatrix(attention, distance, 0.5)!;
      assert.deepEqual([result.high, result.near, result.both, result.pairs], [3, 3, 1, 6]);
      close(result.attentionThreshold, 0.45, 1e-12, 'attention threshold');
      close(result.score, 0.2, 1e-12, 'score');
      close(result.expectedBoth, 11 / 6, 1e-12, 'E|A ∧ D|');
      close(result.baseline, 0.44, 1e-12, 'baseline');
    });

    it('baseline: exact E|A ∧ D| and close to the mean score over 4,000 within-support shuffles', () => {
      const random = mulberry32(11);
      const k = 14;
      const attention = randomCausal(k, random);
      const distance = randomDistances(k, random);
      const exact = causalCatOfMatrix(attention, distance)!;
      let bothSum = 0;
      let bothSquares = 0;
      let scoreSum = 0;
      const shuffles = 4000;
      for (let t = 0; t < shuffles; t++) {
        const shuffled = shuffleWithinSupport(attention, k, random);
        const counts = causalCatCounts(shuffled, distance, k);
        assert.equal(counts.attentionThreshold, exact.attentionThreshold); // the multiset on the support stays
        bothSum += counts.both;
        bothSquares += counts.both * counts.both;
        scoreSum += counts.both / (counts.high + counts.near - counts.both);
      }
      const mean = bothSum / shuffles;
      const standardError = Math.sqrt((bothSquares / shuffles - mean * mean) / shuffles);
      close(mean, exact.expectedBoth, 4 * standardError, 'mean |A ∧ D| over shuffles');
      close(scoreSum / shuffles, exact.baseline, 0.01, 'mean CAT over shuffles');
    });

    it('refuses attention that is not causal', () => {
      const full: Tensor = { data: Float32Array.from([0.5, 0.5, 0.2, 0.8]), shape: [1, 1, 2, 2] };
      assert.throws(() => assertCausal(full), NotCausalError);
      assert.throws(() => causalRollout(full), /layer 0 head 0 row 0 puts 0.5 on the later position 1/);
      assert.throws(() => attentionSinks([full]), NotCausalError);
    });
  });

  describe('data flow on backward edges', () => {
    it('keeps sources before the reader and counts the others', () => {
      const { rows, forward, backward } = backwardRows([
        { row: 4, sources: [1, 6] },
        { row: 2, sources: [5] },
        { row: 7, sources: [0, 3] },
      ]);
      assert.deepEqual(rows, [
        { row: 4, sources: [1] },
        { row: 7, sources: [0, 3] },
      ]);
      assert.deepEqual([forward, backward], [2, 3]);
    });

    it('a reader whose attention lies mostly outside the code tokens keeps share and baseline within [0, 1]', () => {
      // Code-token attention of 4 tokens: row 1 puts only 0.002 on code tokens (the rest went to bos,
      // which has no column), rows 2 and 3 almost all. Edge: token 1 reads token 0.
      const m = 4;
      const matrix = new Float32Array([1, 0, 0, 0, 0.001, 0.001, 0, 0, 0.3, 0.6, 0.1, 0, 0.2, 0.2, 0.5, 0.1]);
      const layerAttention: Tensor = { data: matrix, shape: [1, 1, m, m] };
      const graph: DataFlowGraph = { nodes: [0, 1], edges: [{ from: 1, to: 0, kind: 'comesFrom' }] };
      const flow = causalDataFlowScore([{ tokenStart: 0, tokenEnd: m, layerAttention }], graph, 1, 1);
      close(flow.score.perLayer[0], 0.5, 1e-6, 'share: half of row 1’s code-token mass is on token 0');
      // Offset −1 over rows 1–3, each over its own mass: 0.5, 0.6, 0.5 → 0.5333.
      close(flow.baseline.perLayer[0], (0.5 + 0.6 + 0.5) / 3, 1e-6, 'baseline');
    });
  });

  describe('attention sinks', () => {
    it('measures each head’s mean attention on the first position against uniform causal attention', () => {
      // Head 0 keeps 0.9 of each row on position 0; head 1 attends to itself only (α = 1/5: row 0 alone).
      const T = 5;
      const data = new Float32Array(2 * T * T);
      for (let i = 0; i < T; i++) {
        if (i === 0) data[0] = 1;
        else {
          data[i * T] = 0.9;
          for (let j = 1; j <= i; j++) data[i * T + j] = 0.1 / i;
        }
        data[T * T + i * T + i] = 1;
      }
      const report = attentionSinks([{ data, shape: [1, 2, T, T] }]);
      close(report.perHead[0][0], (1 + 0.9 * 4) / 5, 1e-6, 'sink head');
      close(report.perHead[0][1], 1 / 5, 1e-6, 'diagonal head');
      close(report.chance, (1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5) / 5, 1e-12, 'chance');
      assert.deepEqual(
        report.sinkHeads.map(({ layer, head }) => [layer, head]),
        [[0, 0]],
      );
      assert.equal(report.sinkRate, 0.5);

      const hidden = hideSinkAndRenormalise({ data, shape: [1, 2, T, T] });
      for (let i = 1; i < T; i++) {
        close(hidden.data[i * T + i], 1 / i, 1e-6, 'renormalised row');
        assert.equal(hidden.data[i * T], 0);
      }
      assert.equal(hidden.data[0], 0); // row 0 has nothing but the sink
    });
  });

  describe('on the PyTorch reference decoders’ attention (test/fixtures/decoders)', () => {
    for (const name of DECODER_FIXTURE_NAMES) {
      it(`${name}: causal probabilities, and the folder's tokenizer.json gives the reference's ids`, () => {
        const reference = loadDecoderReference(name);
        const tokenizer = fixtureTokenizer(name);
        reference.inputs.forEach((input, k) => {
          assert.deepEqual(tokenizer.encode(input.text).ids, input.ids);
          assert.deepEqual(reference.ids.get(`input${k}.ids`), input.ids);
          const attentions = reference.tensors.get(`input${k}.attentions`)!;
          const [layers, heads, n] = attentions.shape;
          assert.equal(n, input.ids.length);
          assertCausal(attentions);
          for (let row = 0; row < layers * heads * n; row++) {
            let sum = 0;
            for (let j = 0; j < n; j++) sum += attentions.data[row * n + j];
            close(sum, 1, 1e-5, `row ${row} sum`);
          }
        });
      });
    }

    it('causal CAT with its baseline, backward data flow and sinks on a real Python snippet (qwen2)', async () => {
      const name = 'qwen2.5-coder-0.5b';
      const reference = loadDecoderReference(name);
      const input = reference.inputs[0];
      assert.equal(input.language, 'python');
      const subword = reference.tensors.get('input0.attentions')!;
      const [layers, heads, n] = subword.shape;
      const parsed = await (await sharedParser()).parse(input.text, 'python');
      const window = rawTextWindow(fixtureTokenizer(name), input.ids, input.text, parsed.tokens);
      const m = parsed.tokens.length;
      const tokenData = new Float32Array(layers * heads * m * m);
      for (let l = 0; l < layers; l++) {
        for (let h = 0; h < heads; h++) {
          tokenData.set(alignMatrix(headMatrix(subword, l, h), n, window, 'sumMean'), (l * heads + h) * m * m);
        }
      }
      const tokenAttention: Tensor = { data: tokenData, shape: [layers, heads, m, m] };
      assertCausal(tokenAttention); // aligned causal attention stays causal

      const kept = parsed.tokens.filter((token) => window.tokenOfSubword.includes(token.index)).map((t) => t.index);
      const distances = astDistances(
        parsed.tree,
        kept.map((t) => parsed.tokens[t]),
      );
      const scored = scoreCausalSnippets([{ tokenAttention, kept, distances }]);
      assert.equal(scored.snippets, 1);
      for (let l = 0; l < layers; l++) {
        for (const value of [scored.score.perLayer[l], scored.baseline.perLayer[l]]) assert.ok(value > 0 && value < 1);
      }
      // The layer-0 head-mean matrix over the kept tokens, scored directly and against real shuffles.
      const k = kept.length;
      const mean = meanOverHeads(tokenAttention, 0);
      const restricted = new Float32Array(k * k);
      kept.forEach((a, x) => kept.forEach((b, y) => (restricted[x * k + y] = mean[a * m + b])));
      const direct = causalCatOfMatrix(restricted, distances)!;
      close(direct.score, scored.score.perLayer[0], 1e-12, 'layer 0 score');
      close(direct.baseline, scored.baseline.perLayer[0], 1e-12, 'layer 0 baseline');
      const random = mulberry32(5);
      let bothSum = 0;
      for (let t = 0; t < 2000; t++)
        bothSum += causalCatCounts(shuffleWithinSupport(restricted, k, random), distances, k).both;
      close(bothSum / 2000, direct.expectedBoth, 0.05 * direct.expectedBoth, 'E|A ∧ D| on real attention');

      // Backward data flow, against a direct reading of the definition.
      const graph = extractDataFlow(parsed)!;
      const layerData = new Float32Array(layers * m * m);
      for (let l = 0; l < layers; l++) layerData.set(meanOverHeads(tokenAttention, l), l * m * m);
      const layerAttention: Tensor = { data: layerData, shape: [layers, 1, m, m] };
      const flow = causalDataFlowScore(
        [{ tokenStart: 0, tokenEnd: m, layerAttention, tokenAttention }],
        graph,
        layers,
        heads,
      );
      const edges = [...new Map(graph.edges.map((e) => [`${e.from}>${e.to}`, e])).values()];
      assert.equal(flow.forwardEdges + flow.backwardEdges, edges.length);
      assert.ok(flow.forwardEdges > 0 && flow.backwardEdges > 0, 'the snippet has edges both ways');
      const readers = [...new Set(edges.filter((e) => e.to < e.from).map((e) => e.from))];
      assert.equal(flow.tokens, readers.length);
      const last = meanOverHeads(tokenAttention, layers - 1);
      let share = 0;
      for (const reader of readers) {
        let mass = 0;
        for (let j = 0; j <= reader; j++) mass += last[reader * m + j];
        for (const e of edges) if (e.from === reader && e.to < reader) share += last[reader * m + e.to] / mass;
      }
      close(flow.score.perLayer[layers - 1], share / readers.length, 1e-6, 'backward data-flow share');
      // Its baseline: at each edge's offset, the mean over the rows having it of weight / that row's mass.
      const massOf = (i: number) => last.slice(i * m, i * m + i + 1).reduce((sum, value) => sum + value, 0);
      let chance = 0;
      for (const e of edges.filter((edge) => edge.to < edge.from)) {
        const offset = e.to - e.from;
        let sum = 0;
        let count = 0;
        for (let i = -offset; i < m; i++) {
          if (massOf(i) <= 0) continue;
          sum += last[i * m + i + offset] / massOf(i);
          count++;
        }
        chance += sum / count;
      }
      close(flow.baseline.perLayer[layers - 1], chance / readers.length, 1e-6, 'backward data-flow baseline');

      // Sinks on the model positions: α per head is the mean of column 0.
      const sinks = attentionSinks([subword]);
      const column = headMatrix(subword, 1, 3);
      let onFirst = 0;
      for (let i = 0; i < n; i++) onFirst += column[i * n];
      close(sinks.perHead[1][3], onFirst / n, 1e-6, 'α of layer 1 head 3');
      assert.equal(sinks.sinkRate, sinks.sinkHeads.length / (layers * heads));
    });

    it('rollout and flow: the causal versions equal the dense ones, and a prefix is computed on its own', () => {
      const reference = loadDecoderReference('deepseek-coder-1.3b-base');
      const attentions = reference.tensors.get('input1.attentions')!;
      const n = attentions.shape[2];
      const dense = attentionRollout(attentions);
      const causal = causalRollout(attentions);
      const prefix = causalRollout(cropPositions(attentions, 9));
      for (let l = 0; l < dense.length; l++) {
        for (let x = 0; x < n * n; x++) close(causal[l][x], dense[l][x], 1e-12, `rollout ${l}`);
        for (let i = 0; i < 9; i++)
          for (let j = 0; j < 9; j++) close(prefix[l][i * 9 + j], dense[l][i * n + j], 1e-12, 'prefix');
      }
      const focus = 11;
      const full = attentionFlow(attentions, focus);
      const cropped = causalAttentionFlow(attentions, focus);
      for (let j = 0; j < n; j++) close(cropped[j], full[j], 1e-9, `flow to ${j}`);
      for (let j = focus + 1; j < n; j++) assert.equal(cropped[j], 0);
      const groups = [[0], [1, 2], [3, 4, 5], [12, 13]];
      const tokenDense = tokenFlow(attentions, [10, 11], groups);
      const tokenCausal = causalTokenFlow(attentions, [10, 11], groups);
      groups.forEach((_, g) => close(tokenCausal[g], tokenDense[g], 1e-9, `token flow ${g}`));
      assert.equal(tokenCausal[3], 0);
    });
  });
});

function randomCausal(k: number, random: () => number): Float32Array {
  const matrix = new Float32Array(k * k);
  for (let a = 0; a < k; a++) {
    let sum = 0;
    for (let b = 0; b <= a; b++) sum += matrix[a * k + b] = random() ** 3;
    for (let b = 0; b <= a; b++) matrix[a * k + b] /= sum;
  }
  return matrix;
}

function randomDistances(k: number, random: () => number): Int32Array {
  const distance = new Int32Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < a; b++) distance[a * k + b] = distance[b * k + a] = 1 + Math.floor(random() * 8);
  }
  return distance;
}

function shuffleWithinSupport(matrix: ArrayLike<number>, k: number, random: () => number): Float32Array {
  const out = Float32Array.from(matrix);
  for (let a = 0; a < k; a++) {
    for (let b = a; b > 0; b--) {
      const c = Math.floor(random() * (b + 1));
      const swap = out[a * k + b];
      out[a * k + b] = out[a * k + c];
      out[a * k + c] = swap;
    }
  }
  assert.deepEqual(
    Array.from(supportValues(out, k)).sort(),
    Array.from(supportValues(Float32Array.from(matrix), k)).sort(),
  );
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
