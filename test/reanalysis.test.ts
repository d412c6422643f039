import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Analyzer, type ReportName } from '../src/core/pipeline';
import type { AnalysisResult } from '../src/core/types';
import { pprint, pprintSession } from './editSession';
import { MODEL_DIR, ROOT } from './helpers';

const grammarsDir = join(ROOT, 'grammars');
const reports: ReportName[] = ['catLayers', 'dataFlowLayers'];

/** What must not differ between a re-analysis and a fresh analysis of the same text. */
const essentials = (result: AnalysisResult) => ({
  tree: result.tree,
  tokens: result.tokens,
  errors: result.errors,
  dataFlow: result.dataFlow,
  windows: result.windows.map((window) => [window.tokenStart, window.tokenEnd, window.ids]),
  layerMeans: result.windows.map((window) => Array.from(window.layerAttention.data)),
  scores: result.scores,
  warnings: result.warnings,
});

describe('re-analysis along an editing session (incremental parse, carried windows)', function () {
  this.timeout(600_000);
  let editor: Analyzer;
  let fresh: Analyzer;
  before(async () => {
    editor = await Analyzer.create({ modelDir: MODEL_DIR, executionProvider: 'cpu', grammarsDir });
    fresh = await Analyzer.create({ modelDir: MODEL_DIR, executionProvider: 'cpu', grammarsDir });
  });
  after(async () => {
    await editor?.dispose();
    await fresh?.dispose();
  });

  it('each re-analysis of pprint.py equals a fresh analysis of its text, with the same windows', async () => {
    let text = pprint;
    let previous = await editor.analyze(text, 'python', { reports });
    const reusedAlong: number[] = [];
    for (const [what, change] of pprintSession) {
      text = change(text);
      const again = await editor.reanalyze(previous, text, { reports });
      // Fresh: another analyzer, whose parser never saw an earlier text, with the cuts the re-analysis kept.
      const windowStarts = again.windows.map((window) => window.tokenStart);
      const reference = await fresh.analyze(text, 'python', { reports, windowStarts });
      assert.deepEqual(essentials(again), essentials(reference), what);
      // A syntax error may reshape the tree around much of the file; the other edits stay local.
      if (!what.includes('error')) reusedAlong.push(again.windowRuns!.reused);
      previous = again;
    }
    assert.ok(
      reusedAlong.every((reused) => reused >= previous.windows.length - 4),
      `windows reused after the local edits: ${reusedAlong.join(', ')} of ${previous.windows.length}`,
    );
    assert.ok(editor.parser.keptTrees >= 1, 'the editor keeps the last tree for the next edit');
  });
});
