import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertFolder } from '../src/convert/convert';
import { CAUSAL_HEAD_STATISTICS_DEFINITION } from '../src/core/metrics/headStatistics';
import {
  CAUSAL_STRUCTURE_DEFINITION,
  STRUCTURE_DEFINITION,
  topHeads,
  type RelationAccuracy,
} from '../src/core/metrics/structureHeads';
import { Analyzer } from '../src/core/pipeline';
import type { AnalysisResult, AnalyzedWindow } from '../src/core/types';
import { windowTensors, type WindowTensors } from '../src/core/windowTensors';
import { panelModel } from '../src/presenters/panel';
import { CLI, EXAMPLES, MODEL_DIR, ROOT } from './helpers';

const DECODER_DIR = join(ROOT, 'models', 'code-attention-mini-decoder');
const PPRINT = join(ROOT, 'test', 'fixtures', 'pprint.py');

/** Code tokens of the window with a subword of their own (global indices). */
function tokensWithSubwords(window: AnalyzedWindow): Set<number> {
  return new Set(Array.from(window.tokenOfSubword).filter((owner) => owner >= 0));
}

/**
 * The previous-token relation recomputed from the raw token attention with plain loops: every
 * scored token a whose row exists, over the earlier tokens of its window that have a column and are
 * not the first-position sink (a window without bos starts with a code token); the row counts when
 * a − 1 is one of them; the head's choice is the first strongest of them.
 */
function previousTokenByHand(
  result: AnalysisResult,
  tensors: readonly WindowTensors[],
): { hits: number[][]; counted: number; chance: number; encoderChance: number } {
  const { layers, heads } = result.model;
  const hits = Array.from({ length: layers }, () => new Array<number>(heads).fill(0));
  let counted = 0;
  let chance = 0;
  let encoderChance = 0;
  result.windows.forEach((window, index) => {
    // Summed per window first, as the report merges its windows' sums.
    let windowChance = 0;
    let windowEncoderChance = 0;
    const attention = tensors[index].tokenAttention.data;
    const m = window.tokenEnd - window.tokenStart;
    const owned = tokensWithSubwords(window);
    const sink = window.tokenOfSubword[0];
    for (let a = window.scoredStart!; a < window.tokenEnd; a++) {
      if (!owned.has(a)) continue;
      const earlier: number[] = [];
      for (let b = window.tokenStart; b < a; b++) if (owned.has(b) && b !== sink) earlier.push(b);
      if (!earlier.includes(a - 1)) continue;
      counted++;
      windowChance += 1 / earlier.length;
      windowEncoderChance += 1 / (m - 1);
      for (let l = 0; l < layers; l++) {
        for (let h = 0; h < heads; h++) {
          const at = (b: number) =>
            attention[((l * heads + h) * m + (a - window.tokenStart)) * m + (b - window.tokenStart)];
          let best = earlier[0];
          for (const b of earlier) if (at(b) > at(best)) best = b;
          if (best === a - 1) hits[l][h]++;
        }
      }
    }
    chance += windowChance;
    encoderChance += windowEncoderChance;
  });
  return { hits, counted, chance: chance / counted, encoderChance: encoderChance / counted };
}

function assertMatchesByHand(entry: RelationAccuracy, byHand: ReturnType<typeof previousTokenByHand>): void {
  assert.equal(entry.tokens, byHand.counted);
  entry.accuracy.forEach((row, layer) =>
    row.forEach((accuracy, head) => {
      assert.equal(accuracy, byHand.hits[layer][head] / byHand.counted, `L${layer}H${head}`);
      assert.equal(entry.chance[layer][head], byHand.chance);
    }),
  );
}

/** Head statistics of one head recomputed with plain loops over the scored code-token subword rows. */
function headStatisticsByHand(
  result: AnalysisResult,
  tensors: readonly WindowTensors[],
  layer: number,
  head: number,
): { rows: number; previous: number; entropy: number; firstChance: number; uniformEntropy: number } {
  let rows = 0;
  let previous = 0;
  let entropy = 0;
  let firstChance = 0;
  let uniformEntropy = 0;
  result.windows.forEach((window, index) => {
    const n = window.ids.length;
    const attention = tensors[index].subwordAttention.data;
    const heads = result.model.heads;
    for (let i = 1; i < n; i++) {
      if (window.tokenOfSubword[i] < window.scoredStart!) continue;
      const base = ((layer * heads + head) * n + i) * n;
      rows++;
      previous += attention[base + i - 1];
      for (let j = 0; j <= i; j++)
        if (attention[base + j] > 0) entropy -= attention[base + j] * Math.log(attention[base + j]);
      firstChance += 1 / (i + 1);
      uniformEntropy += Math.log(i + 1);
    }
  });
  return {
    rows,
    previous: previous / rows,
    entropy: entropy / rows,
    firstChance: firstChance / rows,
    uniformEntropy: uniformEntropy / rows,
  };
}

describe('decoder head statistics and structure heads (the bundled trained decoder)', function () {
  this.timeout(300_000);
  let analyzer: Analyzer;
  let result: AnalysisResult;
  let tensors: WindowTensors[];
  before(async () => {
    analyzer = await Analyzer.create({ modelDir: DECODER_DIR });
    result = await analyzer.analyze(readFileSync(PPRINT, 'utf8'), 'python');
    tensors = [];
    for (const window of result.windows) tensors.push(await windowTensors(window));
  });
  after(() => analyzer?.dispose());

  it('a real file in prefixed windows: the reports are the causal ones', () => {
    assert.equal(result.causal, true);
    assert.ok(result.windows.length >= 3, `${result.windows.length} windows`);
    assert.ok(result.windows.slice(1).every((window) => window.tokenStart < window.scoredStart!));
    assert.equal(result.scores.structureHeads!.definition, CAUSAL_STRUCTURE_DEFINITION);
    assert.equal(result.scores.headStatistics!.causal!.definition, CAUSAL_HEAD_STATISTICS_DEFINITION);
  });

  it('names the previous-token head far above its chance; a loop over the raw attention agrees exactly', () => {
    const report = result.scores.structureHeads!;
    const entry = report.relations.previousToken!;
    const byHand = previousTokenByHand(result, tensors);
    assertMatchesByHand(entry, byHand);
    const [top] = topHeads(report, 'previousToken', 1);
    let best = { layer: 0, head: 0 };
    byHand.hits.forEach((row, layer) =>
      row.forEach((hits, head) => {
        if (hits > byHand.hits[best.layer][best.head]) best = { layer, head };
      }),
    );
    assert.deepEqual({ layer: top.layer, head: top.head }, best);
    assert.ok(top.accuracy > 20 * top.chance, `L${top.layer}H${top.head} ${top.accuracy} vs chance ${top.chance}`);
    // The same head is one of the two that put the most weight on the previous subword (the model card's
    // previous-token heads): the argmax report and the weight report see one real head.
    const weights = result.scores.headStatistics!.previous.flatMap((row, layer) =>
      row.map((weight, head) => ({ layer, head, weight })),
    );
    weights.sort((x, y) => y.weight - x.weight);
    assert.ok(
      weights.slice(0, 2).some(({ layer, head }) => layer === top.layer && head === top.head),
      `top weights ${JSON.stringify(weights.slice(0, 2))}`,
    );
  });

  it('causal chance levels: earlier tokens only, above the encoder’s 1 / (window tokens − 1)', () => {
    const byHand = previousTokenByHand(result, tensors);
    const chance = result.scores.structureHeads!.relations.previousToken!.chance[0][0];
    assert.equal(chance, byHand.chance);
    assert.ok(chance > 1.5 * byHand.encoderChance, `${chance} vs ${byHand.encoderChance}`);
    // Matching brackets count in one direction: from the closer back to its opener.
    const brackets = result.scores.structureHeads!.relations.matchingBracket!;
    let closers = 0;
    for (const window of result.windows) {
      const owned = tokensWithSubwords(window);
      for (let a = window.scoredStart!; a < window.tokenEnd; a++) {
        const token = result.tokens[a];
        const opener = { ')': '(', ']': '[', '}': '{' }[token.text];
        if (!opener || !owned.has(a)) continue;
        const siblings = result.tree.nodes[result.tree.nodes[token.node].parent].children;
        const hasOpener = siblings.some((child) => {
          const other = result.tree.nodes[child].token;
          return other >= window.tokenStart && other < a && owned.has(other) && result.tokens[other].text === opener;
        });
        if (hasOpener) closers++;
      }
    }
    assert.equal(brackets.tokens, closers);
    // That is the closing → opening direction already: no directed duplicates, and its label says so.
    assert.equal(result.scores.structureHeads!.relations.closerToOpener, undefined);
    assert.equal(result.scores.structureHeads!.relations.openerToCloser, undefined);
    const row = panelModel(result).structureHeads.find((entry) => entry.relation.startsWith('matching bracket'));
    assert.equal(row?.relation, 'matching bracket, closing → opening');
  });

  it('head statistics over each row’s support j ≤ i, against uniform causal attention; no </s>, no next', () => {
    const stats = result.scores.headStatistics!;
    const chance = stats.causal!.chance;
    for (const [layer, head] of [
      [1, 2],
      [3, 0],
    ]) {
      const byHand = headStatisticsByHand(result, tensors, layer, head);
      assert.equal(stats.rows, byHand.rows);
      assert.ok(Math.abs(stats.previous[layer][head] - byHand.previous) < 1e-9);
      assert.ok(Math.abs(stats.entropy[layer][head] - byHand.entropy) < 1e-6);
      assert.ok(Math.abs(chance.bos - byHand.firstChance) < 1e-12);
      assert.ok(Math.abs(chance.entropy - byHand.uniformEntropy) < 1e-9);
    }
    assert.equal(chance.previous, chance.bos);
    assert.ok(chance.punctuation > 0 && chance.punctuation < 1);
    for (const name of ['eos', 'next'] as const) assert.ok(stats[name].flat().every(Number.isNaN), name);
    // Uniform entropy over the row's support is below the encoder's ln(window length).
    const longest = Math.max(...result.windows.map((window) => window.ids.length));
    assert.ok(chance.entropy < Math.log(longest));
    assert.ok(!(result.scores.headRoles ?? []).some((role) => role.role === 'eosSink' || role.role === 'nextToken'));
  });

  it('the score panel carries both reports with their causal chance levels', () => {
    const model = panelModel(result);
    const stats = result.scores.headStatistics!;
    assert.deepEqual(model.causal?.headStatistics?.chance, stats.causal!.chance);
    assert.deepEqual(model.causal?.headStatistics?.previous, stats.perLayer.previous);
    assert.equal(model.causal?.structureHeads, CAUSAL_STRUCTURE_DEFINITION);
    const previous = model.structureHeads.find((row) => row.relation === 'previous token')!;
    assert.equal(previous.chance, result.scores.structureHeads!.relations.previousToken!.chance[0][0]);
  });

  it('code-attention analyze prints the causal head tables; --json has them', () => {
    const file = join(EXAMPLES, 'lru_cache.py');
    const text = spawnSync(process.execPath, [CLI, 'analyze', file, '--model', DECODER_DIR], { encoding: 'utf8' });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /Attention per layer, causal \(j ≤ i, decoder/);
    assert.match(text.stdout, /layer +first pos\. +chance +punct\. +chance +previous +chance +entropy +uniform/);
    assert.match(text.stdout, /Structure heads, causal \(j < i, decoder\)/);
    // The fixed-offset baseline of the previous token is offset −1, always right.
    assert.match(
      text.stdout,
      /previous token +L\dH\d 0\.\d\d +L\dH\d 0\.\d\d +L\dH\d 0\.\d\d +0\.\d{3} +−1: 1\.00 +\d+/,
    );
    const json = spawnSync(process.execPath, [CLI, 'analyze', file, '--model', DECODER_DIR, '--json'], {
      encoding: 'utf8',
    });
    assert.equal(json.status, 0, json.stderr);
    const scores = (JSON.parse(json.stdout) as { scores: AnalysisResult['scores'] }).scores;
    assert.equal(scores.structureHeads!.definition, CAUSAL_STRUCTURE_DEFINITION);
    assert.ok(scores.headStatistics!.causal!.chance.entropy > 0);
    // NaN ("not possible in a decoder") is null in JSON.
    assert.equal(scores.headStatistics!.next[0][0], null);
  });

  it('corpus mode labels a decoder’s CAT, data flow and structure heads as causal', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'cal-decheads-'));
    try {
      const out = join(scratch, 'corpus');
      const corpus = join(EXAMPLES, 'corpus.jsonl');
      const args = [CLI, 'corpus', corpus, '--language', 'python', '--model', DECODER_DIR, '--heads', '--out', out];
      const run = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: ROOT });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^decoder: causal CAT \(j ≤ i\): /m);
      assert.match(run.stdout, /layer +causal CAT mean +causal CAT std +baseline/);
      assert.match(run.stdout, /layer +backward DFG mean/);
      assert.match(run.stdout, /Structure heads, causal \(j < i, decoder\)/);
      const json = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { structureHeads: { definition: string } };
      assert.equal(json.structureHeads.definition, CAUSAL_STRUCTURE_DEFINITION);
      assert.match(readFileSync(`${out}.svg`, 'utf8'), /causal CAT \(j ≤ i\) per layer, python/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('decoder structure heads without bos (converted Qwen2 fixture), and the encoder’s unchanged', function () {
  this.timeout(300_000);
  let folder: string;
  let analyzer: Analyzer;
  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'cal-decheads-qwen2-'));
    await convertFolder(join(ROOT, 'test', 'fixtures', 'decoders', 'qwen2.5-coder-0.5b'), join(folder, 'qwen2'));
    analyzer = await Analyzer.create({ modelDir: join(folder, 'qwen2') });
  });
  after(async () => {
    await analyzer?.dispose();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('the window’s first token (the sink) is no candidate; the reports survive an edit unchanged', async () => {
    const text = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
    const result = await analyzer.analyze(text, 'python');
    assert.ok(result.windows.length >= 2);
    assert.ok(
      result.windows.every((window) => window.tokenOfSubword[0] >= 0),
      'no bos: a code token comes first',
    );
    const tensors: WindowTensors[] = [];
    for (const window of result.windows) tensors.push(await windowTensors(window));
    assertMatchesByHand(result.scores.structureHeads!.relations.previousToken!, previousTokenByHand(result, tensors));

    const edited = text.replace('return ranked[:limit]', 'return ranked[:limit]  # edited');
    const again = await analyzer.reanalyze(result, edited);
    const fresh = await analyzer.analyze(edited, 'python');
    assert.ok(again.windowRuns!.reused >= 1);
    assert.deepEqual(again.scores.structureHeads, fresh.scores.structureHeads);
    assert.deepEqual(again.scores.headStatistics, fresh.scores.headStatistics);
  });

  it('an encoder keeps its definitions: no causal fields', async () => {
    const encoder = await Analyzer.create({ modelDir: MODEL_DIR });
    try {
      const result = await encoder.analyze(readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8'), 'python');
      assert.equal(result.scores.structureHeads!.definition, STRUCTURE_DEFINITION);
      assert.equal(result.scores.headStatistics!.causal, undefined);
      assert.ok(result.scores.headStatistics!.next.flat().every(Number.isFinite));
      assert.equal(panelModel(result).causal, undefined);
    } finally {
      await encoder.dispose();
    }
  });
});
