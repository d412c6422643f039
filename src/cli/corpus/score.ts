/** Scoring corpus lines with one Analyzer: what a corpus worker (in process or a child process) runs. */
import type { DistanceKind } from '../../core/astDistance';
import type { TypeFilter } from '../../core/metrics/catScore';
import { Analyzer, InputError, type AnalyzeOptions, type ReportName } from '../../core/pipeline';
import type { LanguageId, PairRule } from '../../core/types';
import type { SnippetOutcome } from './totals';

export interface ScoreSettings {
  language: LanguageId;
  distance: DistanceKind;
  pairRule: PairRule;
  typeFilter?: TypeFilter;
  heads: boolean;
  batch: number;
  /** Preset choices passed to every analysis (tokens, input cut, whitespace). */
  analyze?: Pick<AnalyzeOptions, 'preset' | 'tokens' | 'maxSubwords' | 'collapseWhitespace'>;
}

export interface CorpusItem {
  line: number;
  code: string;
}

/** One outcome per item, in the items' order; a snippet that fails is an outcome with its reason. */
export async function scoreItems(
  analyzer: Analyzer,
  items: readonly CorpusItem[],
  settings: ScoreSettings,
): Promise<SnippetOutcome[]> {
  const reports: ReportName[] = settings.heads
    ? ['catLayers', 'dataFlowLayers', 'structureHeads']
    : ['catLayers', 'dataFlowLayers'];
  const options: AnalyzeOptions = {
    distance: settings.distance,
    pairRule: settings.pairRule,
    typeFilter: settings.typeFilter,
    ...settings.analyze,
    reports,
  };
  const results = await analyzer.analyzeMany(
    items.map((item) => ({ source: item.code, language: settings.language })),
    options,
    settings.batch,
  );
  return results.map((result, index) => {
    const outcome: SnippetOutcome = { line: items[index].line };
    if (result instanceof Error) {
      outcome.skipped = result instanceof InputError ? result.message : `error: ${result.message}`;
      return outcome;
    }
    const cat = result.scores.cat!;
    if (index === 0 || cat.snippets > 0) outcome.definition = cat.definition;
    if (cat.snippets > 0) outcome.cat = { score: cat.score.perLayer, baseline: cat.baseline.perLayer };
    else outcome.skipped = 'too few kept tokens';
    const dataFlow = result.scores.dataFlow;
    if (dataFlow && dataFlow.tokens > 0)
      outcome.dataFlow = { score: dataFlow.score.perLayer, baseline: dataFlow.baseline.perLayer };
    if (result.scores.structureHeads) outcome.heads = result.scores.structureHeads;
    return outcome;
  });
}
