import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Analyzer, completeScoresStepwise } from '../src/core/pipeline';
import { setSliceBudget } from '../src/core/slices';
import type { AnalysisResult } from '../src/core/types';
import { EXAMPLES, MODEL_DIR, ROOT, sharedParser } from './helpers';

/**
 * Issue 13 item 11: the extension host runs the analysis and the score panel's step, so their
 * synchronous work comes in slices with a turn of the event loop in between. The slice budget is
 * set to 0 here (every step ends a slice), so the counts below do not depend on the machine's speed;
 * each result is compared with the one computed in one unbroken piece (an unbounded budget).
 */

/** Counts turns of the event loop (a chain of immediates) and firings of a 0 ms timer while `work` runs. */
async function whileCounting<T>(work: () => Promise<T>): Promise<{ value: T; turns: number; timerFired: number }> {
  let turns = 0;
  let timerFired = 0;
  let running = true;
  const turn = () => {
    turns++;
    if (running) setImmediate(turn);
  };
  const timer = () => {
    timerFired++;
    if (running) setTimeout(timer, 0);
  };
  setImmediate(turn);
  setTimeout(timer, 0);
  // Counted from the call on, so that a turn taken before the work starts is not counted.
  turns = 0;
  timerFired = 0;
  try {
    const value = await work();
    return { value, turns, timerFired };
  } finally {
    running = false;
  }
}

/** The result in one piece: a budget no step reaches. */
async function unsliced<T>(work: () => Promise<T>): Promise<T> {
  const previous = setSliceBudget(Number.MAX_SAFE_INTEGER);
  try {
    return await work();
  } finally {
    setSliceBudget(previous);
  }
}

/** The example module four times, its functions renamed per copy: several windows of real code. */
const severalWindows = () => {
  const example = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
  return [0, 1, 2, 3].map((copy) => example.replace(/^(\s*)def (\w+)/gm, `$1def $2_${copy}`)).join('\n');
};

/** Each window's layer means as bytes, for an exact comparison. */
const layerMeanBytes = (result: AnalysisResult) =>
  result.windows.map(({ layerAttention: { data } }) => Buffer.from(data.buffer, data.byteOffset, data.byteLength));

describe('long work yields to the event loop (issue 13 item 11)', function () {
  this.timeout(240_000);
  let previousBudget: number;
  let analyzer: Analyzer;
  before(async () => {
    previousBudget = setSliceBudget(0);
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
  });
  after(async () => {
    setSliceBudget(previousBudget);
    await analyzer?.dispose();
  });

  it('parses a 24 KB real file while a timer set before it keeps firing, into the same tree and tokens', async () => {
    const parser = await sharedParser();
    const source = readFileSync(join(ROOT, 'test', 'fixtures', 'pprint.py'), 'utf8');
    const whole = await unsliced(() => parser.parse(source, 'python'));
    const { value: sliced, turns, timerFired } = await whileCounting(() => parser.parse(source, 'python'));
    // Budget 0: tree-sitter pauses at each progress check and the copy after each batch of nodes.
    const nodeBatches = Math.floor(whole.tree.nodes.length / 2048);
    assert.ok(turns > nodeBatches, `${turns} turns of the event loop, ${nodeBatches} node batches`);
    assert.ok(timerFired >= 3, `the timer fired ${timerFired} times during the parse`);
    assert.deepEqual(sliced.tokens, whole.tokens);
    assert.deepEqual(sliced.tree, whole.tree);
    assert.deepEqual(sliced.errors, whole.errors);
  });

  it('lets two parses on one parser run at once, each with its own text', async () => {
    const parser = await sharedParser();
    const python = readFileSync(join(ROOT, 'test', 'fixtures', 'pprint.py'), 'utf8');
    const javascript = 'function add(a, b) {\n  return a + b;\n}\n'.repeat(200);
    const [first, second] = await Promise.all([parser.parse(python, 'python'), parser.parse(javascript, 'javascript')]);
    assert.deepEqual(first.tokens, (await unsliced(() => parser.parse(python, 'python'))).tokens);
    assert.deepEqual(second.tokens, (await unsliced(() => parser.parse(javascript, 'javascript'))).tokens);
  });

  it('analyses a file of several windows in slices: a turn per layer of each window, the same result', async () => {
    const text = severalWindows();
    const reports = ['catLayers', 'dataFlowLayers'] as const;
    const whole = await unsliced(() => analyzer.analyze(text, 'python', { reports }));
    const {
      value: sliced,
      turns,
      timerFired,
    } = await whileCounting(() => analyzer.analyze(text, 'python', { reports }));
    assert.ok(sliced.windows.length >= 3, `${sliced.windows.length} windows`);
    const layerSteps = sliced.windows.length * sliced.model.layers;
    assert.ok(turns >= layerSteps, `${turns} turns, ${layerSteps} layer alignments`);
    assert.ok(timerFired >= 3, `the timer fired ${timerFired} times during the analysis`);
    assert.deepEqual(layerMeanBytes(sliced), layerMeanBytes(whole));
    assert.deepEqual(sliced.scores, whole.scores);
    assert.deepEqual(sliced.tokens, whole.tokens);
  });

  it('completes the score panel’s reports in slices: a turn per head of each window, the same scores', async () => {
    const text = severalWindows();
    const reports = ['catLayers', 'dataFlowLayers'] as const;
    const whole = await unsliced(async () => {
      const result = await analyzer.analyze(text, 'python', { reports });
      await completeScoresStepwise(result, 'all');
      return result;
    });
    const light = await analyzer.analyze(text, 'python', { reports });
    const { turns, timerFired } = await whileCounting(() => completeScoresStepwise(light, 'all'));
    const headSteps = light.windows.length * light.model.layers * light.model.heads;
    assert.ok(turns >= headSteps, `${turns} turns, ${headSteps} head alignments`);
    assert.ok(timerFired >= 3, `the timer fired ${timerFired} times while the reports were completed`);
    for (const report of ['cat', 'dataFlow', 'headStatistics', 'headRoles', 'structureHeads'] as const)
      assert.deepEqual(light.scores[report], whole.scores[report], report);
  });
});
