import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertFolder } from '../src/convert/convert';
import { compareAnalyses } from '../src/core/compare';
import { keptTokenIndices } from '../src/core/metrics/catScore';
import { assertCausal } from '../src/core/metrics/causal';
import { scoreCausalSnippets } from '../src/core/metrics/causalCat';
import { causalDataFlowScore } from '../src/core/metrics/causalDataFlow';
import { attentionSinks } from '../src/core/metrics/causalSinks';
import { Analyzer, parsedOf } from '../src/core/pipeline';
import { keptDistances } from '../src/core/scoreOptions';
import type { AnalysisResult } from '../src/core/types';
import { tokenAttentionRow } from '../src/core/views';
import { windowTensors } from '../src/core/windowTensors';
import { presentHover } from '../src/presenters/hover';
import { panelModel } from '../src/presenters/panel';
import { CLI, EXAMPLES, MODEL_DIR, ROOT } from './helpers';

/**
 * A real decoder through the analysis: the Qwen2.5-Coder-shaped random-weight fixture, converted
 * here by the TypeScript converter (raw-text tokenization, no bos, 256 positions), analysed like
 * any model. Each causal report is checked against the causal metric functions run directly on the
 * window's tensors.
 */
describe('decoder analysis (converted Qwen2 fixture)', function () {
  this.timeout(240_000);
  let folder: string;
  let analyzer: Analyzer;
  const short =
    'def total(values):\n    result = 0\n    for value in values:\n        result += value\n    return result\n';

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'cal-decoder-'));
    await convertFolder(join(ROOT, 'test', 'fixtures', 'decoders', 'qwen2.5-coder-0.5b'), join(folder, 'qwen2'));
    analyzer = await Analyzer.create({ modelDir: join(folder, 'qwen2') });
  });
  after(async () => {
    await analyzer?.dispose();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('reads the manifest: causal, raw text, no bos', () => {
    assert.equal(analyzer.model.info.causal, true);
    assert.equal(analyzer.model.info.tokenization, 'raw-text');
    assert.equal(analyzer.model.info.addBos, false);
  });

  it('scores one window with causal CAT, backward data flow and sinks, as the metrics define them', async () => {
    const result = await analyzer.analyze(short, 'python');
    assert.equal(result.causal, true);
    assert.equal(result.windows.length, 1);
    const [window] = result.windows;
    assert.equal(window.scoredStart, 0);
    const tensors = await windowTensors(window);
    assertCausal(tensors.subwordAttention);
    // The text as it is: the window's subwords are the tokenizer's encoding of the whole file.
    assert.deepEqual(window.ids, analyzer.model.tokenizer.encodeText(short));

    const parsed = parsedOf(result);
    const hasSubword = new Set(Array.from(window.tokenOfSubword).filter((owner) => owner >= 0));
    const kept = keptTokenIndices(result.tokens, result.options.typeFilter, 0, result.tokens.length).filter((t) =>
      hasSubword.has(t),
    );
    const expected = scoreCausalSnippets([
      {
        tokenAttention: tensors.tokenAttention,
        kept,
        distances: keptDistances(
          parsed,
          kept.map((t) => result.tokens[t]),
          result.options.distance,
        ),
      },
    ]);
    const cat = result.scores.cat!;
    assert.ok(cat.definition.causal?.startsWith('causal CAT (j ≤ i)'));
    for (let layer = 0; layer < result.model.layers; layer++) {
      // Per-layer scores come from the stored (float16) layer means: equal up to their rounding.
      assert.ok(Math.abs(cat.score.perLayer[layer] - expected.score.perLayer[layer]) < 0.02, `layer ${layer}`);
      assert.ok(Math.abs(cat.baseline.perLayer[layer] - expected.baseline.perLayer[layer]) < 0.02);
      cat.score.perHead[layer].forEach((score, head) =>
        assert.ok(
          Math.abs(score - expected.score.perHead[layer][head]) < 1e-9 ||
            (isNaN(score) && isNaN(expected.score.perHead[layer][head])),
        ),
      );
    }
    assert.equal(cat.pairs, (kept.length * (kept.length + 1)) / 2);

    const dataFlow = result.scores.dataFlow!;
    const direct = causalDataFlowScore(
      [{ ...window, layerAttention: window.layerAttention, tokenAttention: tensors.tokenAttention }],
      result.dataFlow!,
      result.model.layers,
      result.model.heads,
    );
    assert.ok(direct.forwardEdges > 0, '`result += value` has a forward edge');
    assert.equal(dataFlow.forwardEdges, direct.forwardEdges);
    assert.equal(dataFlow.backwardEdges, direct.backwardEdges);
    dataFlow.score.perHead.forEach((row, layer) =>
      row.forEach((share, head) => assert.ok(Math.abs(share - direct.score.perHead[layer][head]) < 1e-9)),
    );

    const sinks = result.scores.sinks!;
    assert.deepEqual(sinks, attentionSinks([tensors.subwordAttention]));
    assert.ok(sinks.chance > 0 && sinks.chance < 1);
    // The editor asks for the per-layer reports only: the sink report comes with them.
    const editorResult = await analyzer.analyze(short, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
    assert.deepEqual(editorResult.scores.sinks, sinks);
    // Head statistics and structure heads are made for a decoder too, on causal rows (decoderHeads.test.ts).
    assert.ok(result.scores.headStatistics?.causal);
    assert.match(result.scores.structureHeads!.definition, /^causal \(j < i\)/);
  });

  it('cuts a long file into prefixed windows, scores each token once, reuses windows after an edit', async () => {
    const text = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
    const result = await analyzer.analyze(text, 'python');
    assert.ok(result.windows.length >= 2, `${result.windows.length} windows`);
    let scoredUpTo = 0;
    for (const [index, window] of result.windows.entries()) {
      assert.ok(window.ids.length <= result.model.maxPositions);
      assert.equal(window.scoredStart, scoredUpTo);
      if (index > 0) assert.ok(window.tokenStart < window.scoredStart, `window ${index} has a prefix`);
      scoredUpTo = window.tokenEnd;
      assertCausal((await windowTensors(window)).subwordAttention);
    }
    assert.equal(scoredUpTo, result.tokens.length);
    assert.ok(result.warnings.some((warning) => /prefix|before it as context/.test(warning)));
    assert.equal(result.scores.cat!.snippets, result.windows.length);

    // An edit in the last function: the first window's subwords and prefix are unchanged and are reused.
    const edited = text.replace('return ranked[:limit]', 'return ranked[:limit]  # edited');
    assert.notEqual(edited, text);
    const again = await analyzer.reanalyze(result, edited);
    const fresh = await analyzer.analyze(edited, 'python');
    assert.ok(again.windowRuns!.reused >= 1, `reused ${again.windowRuns!.reused}`);
    assert.deepEqual(again.scores.cat!.score, fresh.scores.cat!.score);
    assert.deepEqual(again.scores.sinks, fresh.scores.sinks);
  });

  it('the hover hides the first-position sink and counts only the tokens a causal row sees', async () => {
    const result = await analyzer.analyze(short, 'python');
    const view = { mode: 'meanHeads' as const, layer: 1, direction: 'attendsTo' as const };
    const focus = result.tokens.findIndex((token) => token.text === 'result' && token.range.start.line === 3);
    const { weights } = tokenAttentionRow(result, view, focus);
    for (let token = focus + 1; token < result.tokens.length; token++) assert.equal(weights[token], 0);
    const shown = presentHover(result, view, focus);
    const hidden = presentHover(result, view, focus, { hideSinks: true });
    const first = result.windows[0].tokenOfSubword[0];
    assert.equal(result.tokens[first].text, 'def');
    assert.deepEqual(hidden.hidden.sinks, ['def (first position of the window)']);
    assert.ok(hidden.rows.every((row) => row.token !== first));
    assert.ok(hidden.tokens < shown.tokens);
    const sees = Array.from({ length: focus + 1 }, (_, t) => t).filter((t) => result.tokens[t]).length;
    assert.ok(shown.tokens <= sees, 'n counts the tokens up to the focus');
  });

  it('the score panel labels causal CAT and carries the sink chart with its chance line', async () => {
    const result = await analyzer.analyze(short, 'python');
    const model = panelModel(result);
    assert.equal(model.causal?.label, 'causal CAT (j ≤ i)');
    assert.deepEqual(model.causal?.sinks?.perLayer, result.scores.sinks!.perLayer);
    assert.equal(model.causal?.sinks?.chance, result.scores.sinks!.chance);
    const encoder = await Analyzer.create({ modelDir: MODEL_DIR });
    try {
      const encoded = await encoder.analyze(short, 'python');
      assert.equal(panelModel(encoded).causal, undefined);
      const comparison = compareAnalyses(encoded, result);
      assert.equal(comparison.a.causal, false);
      assert.equal(comparison.b.causal, true);
      assert.match(comparison.note, /is a decoder \(causal CAT/);
      assert.equal(comparison.receivedDifference.length, result.tokens.length);
    } finally {
      await encoder.dispose();
    }
  });

  it('code-attention analyze prints causal CAT, backward data flow and the sink table; --json has them', () => {
    const model = join(folder, 'qwen2');
    const file = join(EXAMPLES, 'lru_cache.py');
    const text = spawnSync(process.execPath, [CLI, 'analyze', file, '--model', model], { encoding: 'utf8' });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /causal CAT \(j ≤ i, decoder\)/);
    assert.match(text.stdout, /layer +causal CAT +baseline +difference/);
    assert.match(text.stdout, /Data flow on backward edges \(decoder\): \d+ backward edges scored, \d+ forward/);
    assert.match(text.stdout, /layer +share on first +chance +ratio/);
    const json = spawnSync(process.execPath, [CLI, 'analyze', file, '--model', model, '--json'], { encoding: 'utf8' });
    assert.equal(json.status, 0, json.stderr);
    const summary = JSON.parse(json.stdout) as { causal: boolean; scores: AnalysisResult['scores'] };
    assert.equal(summary.causal, true);
    assert.ok(summary.scores.sinks!.perHead.length === 2 && summary.scores.sinks!.chance > 0);
    assert.ok(summary.scores.cat!.definition.causal);
    assert.ok(summary.scores.dataFlow!.backwardEdges! > 0);
  });
});

describe('decoder analysis (the bundled trained decoder)', function () {
  this.timeout(240_000);
  const modelDir = join(ROOT, 'models', 'code-attention-mini-decoder');
  let analyzer: Analyzer;
  before(async () => {
    analyzer = await Analyzer.create({ modelDir });
  });
  after(() => analyzer?.dispose());

  it('puts bos first in every window; the sink it hides is bos, never a code token', async () => {
    assert.equal(analyzer.model.info.addBos, true);
    const text = readFileSync(join(EXAMPLES, 'BinarySearch.java'), 'utf8');
    const result = await analyzer.analyze(text, 'java');
    assert.equal(result.causal, true);
    for (const window of result.windows) {
      assert.equal(window.ids[0], analyzer.model.tokenizer.special.bos);
      assert.equal(window.tokenOfSubword[0], -1);
    }
    const sinks = result.scores.sinks!;
    assert.deepEqual(
      sinks,
      attentionSinks(await Promise.all(result.windows.map(async (w) => (await windowTensors(w)).subwordAttention))),
    );
    const focus = result.tokens.findIndex((token) => token.text === 'middle');
    assert.ok(focus > 0);
    const view = { mode: 'meanHeads' as const, layer: result.model.layers - 1, direction: 'attendsTo' as const };
    const hidden = presentHover(result, view, focus, { hideSinks: true });
    assert.equal(hidden.hidden.sinks.length, 1);
    assert.match(hidden.hidden.sinks[0], /first position of the window; not a code token/);
    assert.ok(Number.isFinite(result.scores.cat!.score.perLayer[0]));
    assert.ok(Number.isFinite(result.scores.cat!.baseline.perLayer[0]));
  });
});
