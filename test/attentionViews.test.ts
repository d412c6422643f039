import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attentionFlow, FlowTooLargeError, LayeredMaxFlow, MAX_FLOW_CELLS } from '../src/core/metrics/flow';
import { headStatistics, isPunctuation, rowEntropy } from '../src/core/metrics/headStatistics';
import { attentionRollout, residualAttention } from '../src/core/metrics/rollout';
import {
  BASELINE_OFFSETS,
  bestOffset,
  mergeStructureHeads,
  relatedTokens,
  structureHeads,
  topHeads,
} from '../src/core/metrics/structureHeads';
import { valueWeightedAttention } from '../src/core/metrics/valueWeighted';
import { Analyzer } from '../src/core/pipeline';
import type { AnalysisResult, Tensor } from '../src/core/types';
import { tokenAttentionRow, topK } from '../src/core/views';
import { EXAMPLES, MODEL_DIR, ROOT } from './helpers';

/** [layers, heads = 1, n, n] from plain row-major matrices. */
function tensor(matrices: number[][]): Tensor {
  const n = Math.round(Math.sqrt(matrices[0].length));
  return { data: Float32Array.from(matrices.flat()), shape: [matrices.length, 1, n, n] };
}

const close = (actual: number, expected: number, message?: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-6, `${message ?? ''} ${actual} ≠ ${expected}`);

describe('rollout and flow', () => {
  // Two layers over 2 positions.
  const A0 = [0.6, 0.4, 0.2, 0.8];
  const A1 = [1.0, 0.0, 0.5, 0.5];

  it('residual attention is 0.5·A + 0.5·I', () => {
    const r = residualAttention(tensor([A0]), 0);
    [0.8, 0.2, 0.1, 0.9].forEach((value, index) => close(r[index], value));
  });

  it('rollout multiplies residual attention from the input up (hand-computed)', () => {
    // Â0 = [[.8,.2],[.1,.9]], Â1 = [[1,0],[.25,.75]];  R1 = Â1·Â0 = [[.8,.2],[.2+.075, .05+.675]].
    const [r0, r1] = attentionRollout(tensor([A0, A1]));
    [0.8, 0.2, 0.1, 0.9].forEach((value, index) => close(r0[index], value));
    [0.8, 0.2, 0.275, 0.725].forEach((value, index) => close(r1[index], value));
  });

  it('flow through two layers is Σ_k min(Â1[i][k], Â0[k][j]) (disjoint two-edge paths)', () => {
    // From output 1: to input 0: min(.25,.8) + min(.75,.1) = .35; to input 1: min(.25,.2) + min(.75,.9) = .95.
    const flows = attentionFlow(tensor([A0, A1]), 1);
    close(flows[0], 0.35);
    close(flows[1], 0.95);
    const single = attentionFlow(tensor([A0]), 0);
    close(single[0], 0.8);
    close(single[1], 0.2);
  });

  it(
    'equals a textbook max-flow (Edmonds–Karp on an explicit graph) within 1e-9 on random layered ' +
      'graphs of every kind',
    () => {
      let seed = 7;
      const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
      // Rows like residual attention (0.5·softmax + 0.5·I) unless noted; `weights(i, j)` is before normalising.
      const attentionLike = (n: number, weights: (i: number, j: number) => number) =>
        Float64Array.from({ length: n * n }, (_, cell) => {
          const i = Math.floor(cell / n);
          let sum = 0;
          for (let j = 0; j < n; j++) sum += weights(i, j);
          return (0.5 * weights(i, cell % n)) / sum + (i === cell % n ? 0.5 : 0);
        });
      const kinds: Record<string, (n: number, sink: number) => Float64Array> = {
        'tenths, some zero, rows not normalised': (n) =>
          Float64Array.from({ length: n * n }, () => Math.round(random() * 10) / 10),
        'sparse, rows not normalised': (n) =>
          Float64Array.from({ length: n * n }, () => (random() < 0.6 ? 0 : random())),
        'near-uniform attention': (n) => attentionLike(n, () => 1 + 1e-3 * random()),
        'one dominant column': (n, sink) => attentionLike(n, (_, j) => (j === sink ? 20 : random())),
        'previous-token attention': (n) => attentionLike(n, (i, j) => (j === Math.max(0, i - 1) ? 50 : random())),
      };
      let firstPhaseOnly = 0;
      let morePhases = 0;
      for (const [kind, make] of Object.entries(kinds)) {
        for (const layers of [1, 2, 3, 5]) {
          for (const n of [1, 2, 4, 7]) {
            const dominant = Math.floor(random() * n);
            const capacities = Array.from({ length: layers }, () => make(n, dominant));
            const solver = new LayeredMaxFlow(capacities, n);
            for (let source = 0; source < n; source++) {
              for (let sink = 0; sink < n; sink++) {
                const flow = solver.maxFlow(source, sink);
                const expected = edmondsKarp(capacities, n, source, sink);
                assert.ok(
                  Math.abs(flow - expected) < 1e-9,
                  `${kind}, ${layers} layers × ${n}, ${source} → ${sink}: ${flow} ≠ ${expected}`,
                );
                if (solver.phases === 1) firstPhaseOnly++;
                else morePhases++;
              }
            }
          }
        }
      }
      // Both paths of the solver ran: the BFS-free first phase alone, and further Dinic phases.
      assert.ok(firstPhaseOnly > 0 && morePhases > 0, `${firstPhaseOnly} pairs in one phase, ${morePhases} in more`);
    },
  );

  it(
    'between sets (super-source over top positions, super-sink over inputs) equals Edmonds–Karp on ' +
      'the explicit graph',
    () => {
      let seed = 11;
      const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
      const subset = (n: number) => {
        const chosen = Array.from({ length: n }, (_, i) => i).filter(() => random() < 0.4);
        return chosen.length ? chosen : [Math.floor(random() * n)];
      };
      let multiPhase = 0;
      for (const layers of [1, 2, 4]) {
        for (const n of [2, 5, 8]) {
          const capacities = Array.from({ length: layers }, () =>
            Float64Array.from({ length: n * n }, () => (random() < 0.3 ? 0 : Math.round(random() * 10) / 10)),
          );
          const solver = new LayeredMaxFlow(capacities, n);
          for (let trial = 0; trial < 12; trial++) {
            const sources = subset(n);
            const sinks = subset(n);
            const flow = solver.maxFlowBetween(sources, sinks);
            const expected = edmondsKarp(capacities, n, sources, sinks);
            const what = `${layers} layers × ${n}, {${sources.join(',')}} → {${sinks.join(',')}}`;
            assert.ok(Math.abs(flow - expected) < 1e-9, `${what}: ${flow} ≠ ${expected}`);
            if (solver.phases > 1) multiPhase++;
          }
        }
      }
      assert.ok(multiPhase > 0, 'some pairs of sets needed further Dinic phases');
    },
  );

  it('a single layer is its residual attention; a single position flows 1', () => {
    const single = attentionFlow(tensor([[0.1, 0.6, 0.3, 0.2, 0.2, 0.6, 0.5, 0.25, 0.25]]), 2);
    const expected = residualAttention(tensor([[0.1, 0.6, 0.3, 0.2, 0.2, 0.6, 0.5, 0.25, 0.25]]), 0).slice(6, 9);
    for (let j = 0; j < 3; j++) close(single[j], expected[j]);
    const one = attentionFlow(tensor([[1], [1], [1]]), 0);
    assert.deepEqual(Array.from(one), [1]);
  });

  it(
    'on the bundled model’s attention, equals Edmonds–Karp for focus positions across the window, ' +
      'and per requested layer',
    async () => {
      const analyzer = await Analyzer.create({
        modelDir: MODEL_DIR,
        executionProvider: 'cpu',
        grammarsDir: join(ROOT, 'grammars'),
      });
      try {
        const source = 'def area(width, height):\n    scale = 2\n    return width * height * scale\n';
        const window = (await analyzer.analyze(source, 'python', { reports: [] })).windows[0];
        const attentions = window.subwordAttention;
        const [layers, , n] = attentions.shape;
        assert.ok(n >= 16, `${n} subwords`);
        for (const layer of [layers - 1, 1, layers - 1]) {
          const capacities = Array.from({ length: layer + 1 }, (_, l) => residualAttention(attentions, l));
          for (const focus of [0, 5, n >> 1, n - 1]) {
            const flows = attentionFlow(attentions, focus, { layer });
            for (let j = 0; j < n; j++) {
              const expected = edmondsKarp(capacities, n, focus, j);
              assert.ok(
                Math.abs(flows[j] - expected) < 1e-9,
                `layer ${layer}, ${focus} → ${j}: ${flows[j]} ≠ ${expected}`,
              );
            }
          }
        }
      } finally {
        await analyzer.dispose();
      }
    },
  );

  it(`refuses more than ${MAX_FLOW_CELLS} layer × subword cells, counting only the layers asked for`, () => {
    const layers = Math.floor(MAX_FLOW_CELLS / 4) + 1;
    const tall: Tensor = { data: new Float32Array(layers * 16).fill(0.25), shape: [layers, 1, 4, 4] };
    assert.throws(
      () => attentionFlow(tall, 0),
      (error: Error) =>
        error instanceof FlowTooLargeError &&
        error.message.includes(`limited to ${MAX_FLOW_CELLS} layer × subword cells`) &&
        error.message.includes(`(this window has ${layers} × 4)`),
    );
    // Three layers of uniform attention (Â: 0.625 on the diagonal, 0.125 elsewhere): the focus keeps
    // its whole unit by going straight down, and every other input gets part of it.
    const flows = attentionFlow(tall, 0, { layer: 2 });
    close(flows[0], 1);
    for (let j = 1; j < 4; j++) assert.ok(flows[j] > 0.125 && flows[j] < 1, `${j}: ${flows[j]}`);
  });
});

/**
 * Reference max-flow on the explicit graph, nodes (k, i) → k·n + i; sets of sources and sinks are
 * joined to a super-source and a super-sink by arcs of unbounded capacity.
 */
function edmondsKarp(
  capacities: Float64Array[],
  n: number,
  sources: number | number[],
  sinks: number | number[],
): number {
  const K = capacities.length;
  const size = (K + 1) * n + 2;
  const [s, t] = [size - 2, size - 1];
  const residual = Array.from({ length: size }, () => new Float64Array(size));
  for (let k = 1; k <= K; k++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) residual[k * n + i][(k - 1) * n + j] += capacities[k - 1][i * n + j];
    }
  }
  for (const source of [sources].flat()) residual[s][K * n + source] = Infinity;
  for (const sink of [sinks].flat()) residual[sink][t] = Infinity;
  let total = 0;
  for (;;) {
    const parent = new Int32Array(size).fill(-1);
    parent[s] = s;
    const queue = [s];
    while (queue.length && parent[t] < 0) {
      const v = queue.shift()!;
      for (let w = 0; w < size; w++) {
        if (parent[w] < 0 && residual[v][w] > 1e-12) {
          parent[w] = v;
          queue.push(w);
        }
      }
    }
    if (parent[t] < 0) return total;
    let bottleneck = Infinity;
    for (let v = t; v !== s; v = parent[v]) bottleneck = Math.min(bottleneck, residual[parent[v]][v]);
    for (let v = t; v !== s; v = parent[v]) {
      residual[parent[v]][v] -= bottleneck;
      residual[v][parent[v]] += bottleneck;
    }
    total += bottleneck;
  }
}

describe('data-flow attention score', function () {
  it('is 1 for attention that always points at the data-flow source, and the baseline keeps offsets', async () => {
    const analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    try {
      const result = await analyzer.analyze('a = 1\nb = a\nc = b\nd = c\n', 'python');
      const graph = result.dataFlow!;
      // Uses with a single source: a@2 → a@1, b@3 → b@2, c@4 → c@3; b@2 ← a@2 computedFrom etc.
      const window = result.windows[0];
      const m = window.tokenEnd - window.tokenStart;
      const sources = new Map<number, number[]>();
      for (const edge of graph.edges) sources.set(edge.from, [...(sources.get(edge.from) ?? []), edge.to]);
      // Every head, and so every layer's head mean, points at the data-flow sources.
      for (const tensor of [window.tokenAttention, window.layerAttention]) {
        const [layers, heads] = tensor.shape;
        for (let lh = 0; lh < layers * heads; lh++) {
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < m; j++) tensor.data[lh * m * m + i * m + j] = 0;
            const targets = sources.get(i) ?? [i];
            for (const target of targets) tensor.data[lh * m * m + i * m + target] = 1 / targets.length;
          }
        }
      }
      const { dataFlowScore } = await import('../src/core/metrics/dataFlowScore');
      const report = dataFlowScore(result, graph);
      assert.equal(report.tokens, sources.size);
      for (const value of [...report.score.perLayer, ...report.score.perHead.flat()]) close(value, 1);
      for (const value of report.baseline.perLayer) assert.ok(value > 0 && value < 1);
    } finally {
      await analyzer.dispose();
    }
  });
});

describe('views and head metrics on the bundled model', function () {
  let analyzer: Analyzer;
  let result: AnalysisResult;
  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    result = await analyzer.analyze(readFileSync(join(EXAMPLES, 'debounce.js'), 'utf8'), 'javascript');
  });
  after(async () => analyzer?.dispose());

  it('value-weighted attention equals α_ij·‖f(x_j)‖ from the model’s value_norms output', () => {
    const window = result.windows[0];
    const [, heads, n] = window.subwordAttention.shape;
    const raw = valueWeightedAttention(window.subwordAttention, window.valueNorms!, 2, 1, false);
    for (const [i, j] of [
      [1, 1],
      [3, 7],
      [n - 2, 0],
      [5, n - 1],
    ]) {
      const alpha = window.subwordAttention.data[((2 * heads + 1) * n + i) * n + j];
      const norm = window.valueNorms!.data[(2 * heads + 1) * n + j];
      close(raw[i * n + j], alpha * norm);
    }
    const normalised = valueWeightedAttention(window.subwordAttention, window.valueNorms!, 2, 1);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += normalised[3 * n + j];
    close(sum, 1);
  });

  it('hover rows: one weight per code token for every view mode, top-k sorted', () => {
    const token = result.tokens.findIndex((t) => t.text === 'timer');
    for (const mode of ['head', 'meanHeads', 'rollout', 'valueWeighted'] as const) {
      const row = tokenAttentionRow(
        result,
        { mode, layer: result.model.layers - 1, head: 0, direction: 'attendsTo' },
        token,
      );
      assert.equal(row.weights.length, result.tokens.length);
      assert.ok(
        row.weights.some((weight) => weight > 0),
        mode,
      );
      const best = topK(row.weights, 5, token);
      assert.equal(best.length, 5);
      for (let k = 1; k < best.length; k++) assert.ok(best[k - 1].weight >= best[k].weight);
      assert.ok(!best.some((entry) => entry.token === token));
    }
    const attendedBy = tokenAttentionRow(result, { mode: 'head', layer: 0, head: 0, direction: 'attendedBy' }, token);
    const attendsTo = tokenAttentionRow(result, { mode: 'head', layer: 0, head: 0, direction: 'attendsTo' }, 3);
    close(attendedBy.weights[3], attendsTo.weights[token]);
    assert.match(attendedBy.label, /attended by/);
  });

  it('flow rows: max-flow from the focus token into each token’s subwords (Edmonds–Karp), normalised', async () => {
    const short = await analyzer.analyze('function add(a, b) {\n  return a + b;\n}\n', 'javascript');
    const token = short.tokens.findIndex((t) => t.text === 'return');
    const layer = short.model.layers - 1;
    const row = tokenAttentionRow(short, { mode: 'flow', layer, direction: 'attendsTo' }, token);
    const expected = /attention flow · layers 0–3 · flows to \(max-flow into each token, row normalised to 1\)/;
    assert.match(row.label, expected);
    const window = short.windows[0];
    const attentions = window.subwordAttention;
    const n = attentions.shape[2];
    const capacities = Array.from({ length: layer + 1 }, (_, l) => residualAttention(attentions, l));
    const subwordsOf = (t: number) => [...window.tokenOfSubword.keys()].filter((s) => window.tokenOfSubword[s] === t);
    const raw = short.tokens.map((_, t) => edmondsKarp(capacities, n, subwordsOf(token), subwordsOf(t)));
    const total = raw.reduce((a, b) => a + b, 0);
    raw.forEach((flow, t) => assert.ok(Math.abs(row.weights[t] - flow / total) < 1e-6, `${t}: ${row.weights[t]}`));
    close(
      Array.from(row.weights).reduce((a, b) => a + b, 0),
      1,
    );
    // The residual half of every layer keeps at least 0.5 on the straight path down to the focus itself.
    assert.ok(raw[token] >= 0.5);
  });

  it('rollout rows of a window still sum to 1 over subwords', () => {
    const rollouts = attentionRollout(result.windows[0].subwordAttention);
    const n = result.windows[0].ids.length;
    for (const rollout of rollouts)
      for (let i = 0; i < n; i++)
        close(
          rollout.slice(i * n, i * n + n).reduce((a, b) => a + b, 0),
          1,
        );
  });

  it('head statistics equal plain loops over the rows 1…n − 2 of the raw attention, shares within [0, 1]', () => {
    const stats = headStatistics(result);
    const window = result.windows[0];
    const n = window.ids.length;
    const { heads } = result.model;
    const attention = window.subwordAttention.data;
    const punctuation = Array.from(window.tokenOfSubword.keys()).filter(
      (j) => window.tokenOfSubword[j] >= 0 && isPunctuation(result.tokens[window.tokenOfSubword[j]]),
    );
    assert.equal(stats.rows, n - 2);
    for (const [l, h] of [
      [0, 0],
      [1, 2],
      [3, 3],
    ]) {
      const byHand = { bos: 0, eos: 0, previous: 0, next: 0, punctuation: 0, entropy: 0 };
      for (let i = 1; i < n - 1; i++) {
        const row = (j: number) => attention[((l * heads + h) * n + i) * n + j];
        byHand.bos += row(0);
        byHand.eos += row(n - 1);
        byHand.previous += row(i - 1);
        byHand.next += row(i + 1);
        for (const j of punctuation) byHand.punctuation += row(j);
        for (let j = 0; j < n; j++) if (row(j) > 0) byHand.entropy -= row(j) * Math.log(row(j));
      }
      for (const name of ['bos', 'eos', 'previous', 'next', 'punctuation', 'entropy'] as const)
        close(stats[name][l][h], byHand[name] / (n - 2), `${name} L${l}H${h}`);
    }
    for (const [l, row] of stats.bos.entries()) {
      row.forEach((bos, h) => {
        const total = bos + stats.eos[l][h] + stats.punctuation[l][h];
        assert.ok(total >= 0 && total <= 1 + 1e-6);
        assert.ok(stats.entropy[l][h] > 0 && stats.entropy[l][h] <= Math.log(n) + 1e-6);
      });
    }
  });

  it('entropy from float bits equals −Σ p·ln p with Math.log, on every row of the real attention', () => {
    const attention = result.windows[0].subwordAttention.data;
    const bits = new Int32Array(attention.buffer, attention.byteOffset, attention.length);
    const n = result.windows[0].ids.length;
    let largest = 0;
    for (let base = 0; base < attention.length; base += n) {
      let direct = 0;
      for (let j = base; j < base + n; j++) if (attention[j] > 0) direct -= attention[j] * Math.log(attention[j]);
      largest = Math.max(largest, Math.abs(rowEntropy(attention, bits, base, base + n) - direct));
    }
    assert.ok(largest < 1e-7, `largest difference ${largest}`);
    const probabilities = Float32Array.from([0, 0.5, 0.25, 0.125, 0.125]);
    close(rowEntropy(probabilities, new Int32Array(probabilities.buffer), 0, 5), 1.75 * Math.LN2);
  });

  it('structure heads merged over files weigh each file by its tokens', () => {
    const report = (accuracy: number, chance: number, tokens: number) => ({
      definition: 'd',
      relations: { sibling: { accuracy: [[accuracy]], chance: [[chance]], tokens } },
    });
    const merged = mergeStructureHeads([report(1, 0.1, 30), report(0, 0.3, 10), { definition: 'd', relations: {} }])!;
    close(merged.relations.sibling!.accuracy[0][0], 0.75);
    close(merged.relations.sibling!.chance[0][0], 0.15);
    assert.equal(merged.relations.sibling!.tokens, 40);
    assert.equal(merged.relations.previousToken, undefined);
    assert.equal(mergeStructureHeads([]), undefined);
  });

  it('structure heads: relations are found as defined, and a previous-token pattern scores 1', () => {
    const brackets = relatedTokens(result, 'matchingBracket');
    const open = result.tokens.findIndex((t) => t.text === '(');
    assert.equal(result.tokens[brackets[open][0]].text, ')');
    // Replace layer 0, head 0 by attention that always points to the previous token.
    const window = result.windows[0];
    const m = window.tokenEnd - window.tokenStart;
    const saved = window.tokenAttention.data.slice(0, m * m);
    window.tokenAttention.data.fill(0, 0, m * m);
    for (let a = 1; a < m; a++) window.tokenAttention.data[a * m + a - 1] = 1;
    const report = structureHeads(result);
    window.tokenAttention.data.set(saved, 0);
    assert.equal(report.relations.previousToken!.accuracy[0][0], 1);
    assert.deepEqual(topHeads(report, 'previousToken', 1)[0], {
      layer: 0,
      head: 0,
      accuracy: 1,
      chance: report.relations.previousToken!.chance[0][0],
    });
    close(report.relations.previousToken!.chance[0][0], 1 / (m - 1));
  });

  it('structure heads: the two bracket directions split the matching-bracket relation, each scored alone', () => {
    const either = relatedTokens(result, 'matchingBracket');
    const toOpener = relatedTokens(result, 'closerToOpener');
    const toCloser = relatedTokens(result, 'openerToCloser');
    let closers = 0;
    for (const token of result.tokens) {
      const a = token.index;
      assert.deepEqual([...toOpener[a], ...toCloser[a]].sort(), [...either[a]].sort());
      if (toOpener[a].length) {
        closers++;
        assert.ok(')]}'.includes(token.text) && toOpener[a].every((b) => '([{'.includes(result.tokens[b].text)));
      }
      if (toCloser[a].length) assert.ok('([{'.includes(token.text));
    }
    assert.ok(closers > 3);
    // A head whose every closing bracket attends only to its opener scores 1 on closing → opening; its
    // openers attend to nothing related, so on the undirected relation it scores the closers' share.
    const window = result.windows[0];
    const m = window.tokenEnd - window.tokenStart;
    const saved = window.tokenAttention.data.slice(0, m * m);
    window.tokenAttention.data.fill(0, 0, m * m);
    for (let a = 0; a < m; a++) {
      const target = toOpener[a + window.tokenStart].find((b) => b >= window.tokenStart && b < window.tokenEnd);
      const other = target === undefined ? Number(a === 0) : target - window.tokenStart;
      window.tokenAttention.data[a * m + other] = 1;
    }
    const report = structureHeads(result);
    window.tokenAttention.data.set(saved, 0);
    const directed = report.relations.closerToOpener!;
    assert.equal(directed.accuracy[0][0], 1);
    const both = report.relations.matchingBracket!;
    close(both.accuracy[0][0], directed.tokens / both.tokens);
    assert.ok(report.relations.openerToCloser!.accuracy[0][0] < 0.5);
  });

  it('structure heads: the fixed-offset baseline counts the tokens whose related token sits at each offset', () => {
    const report = structureHeads(result);
    const previous = report.relations.previousToken!.offsetBaseline!;
    assert.deepEqual(previous.offsets, BASELINE_OFFSETS);
    previous.offsets.forEach((offset, k) =>
      assert.equal(previous.shares[k], offset === -1 ? 1 : 0, `offset ${offset}`),
    );
    assert.deepEqual(bestOffset(report.relations.previousToken!), { offset: -1, share: 1 });
    // Closing → opening, counted independently over the windows from the related tokens.
    const toOpener = relatedTokens(result, 'closerToOpener');
    const counts = new Map<number, number>();
    let tokens = 0;
    for (const window of result.windows) {
      for (let a = window.tokenStart; a < window.tokenEnd; a++) {
        const inWindow = toOpener[a].filter((b) => b >= window.tokenStart && b < window.tokenEnd);
        if (!inWindow.length) continue;
        tokens++;
        for (const b of inWindow) counts.set(b - a, (counts.get(b - a) ?? 0) + 1);
      }
    }
    const brackets = report.relations.closerToOpener!;
    assert.equal(brackets.tokens, tokens);
    brackets.offsetBaseline!.offsets.forEach((offset, k) =>
      close(brackets.offsetBaseline!.shares[k], (counts.get(offset) ?? 0) / tokens),
    );
    assert.ok(
      brackets.offsetBaseline!.shares.slice(8).every((share) => share === 0),
      'an opener is never later',
    );
    // Merged over files with token weights, as the accuracies are.
    const merged = mergeStructureHeads([report, report])!;
    assert.deepEqual(merged.relations.closerToOpener!.offsetBaseline, brackets.offsetBaseline);
  });
});
