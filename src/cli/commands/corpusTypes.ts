import {
  countResultTypes,
  dataTypeFilter,
  newCounters,
  type FrequentTypeCounter,
} from '../../core/metrics/frequentTypes';
import type { TypeFilter } from '../../core/metrics/catScore';
import type { Analyzer, AnalyzeOptions } from '../../core/pipeline';
import type { LanguageId } from '../../core/types';

/**
 * The reference's frequent types over a corpus (`get_freq_type_list`, per layer): a first pass runs
 * the model on every snippet and counts; the scoring pass runs it again. Twice the forward time,
 * in exchange for not holding every snippet's attention in memory.
 */
export async function corpusDataTypes(
  analyzer: Analyzer,
  codes: ReadonlyArray<string | undefined>,
  language: LanguageId,
  options: AnalyzeOptions,
): Promise<{ filter: TypeFilter; counters: FrequentTypeCounter[] }> {
  const counters = newCounters(analyzer.model.info.layers);
  let counted = 0;
  for (const [index, code] of codes.entries()) {
    if (code === undefined) continue;
    try {
      countResultTypes(counters, await analyzer.analyze(code, language, { ...options, reports: [] }));
      counted++;
    } catch {
      // Snippets that cannot be analysed are reported by the scoring pass.
    }
    process.stderr.write(`\rchoosing types: ${index + 1}/${codes.length} snippets`);
  }
  process.stderr.write('\n');
  return { filter: dataTypeFilter(counters, `the corpus (${counted} snippets)`), counters };
}

/** Per layer: the kept types with their rates, for the text output. */
export function typeRankingLines(counters: readonly FrequentTypeCounter[]): string[] {
  return counters.map((counter, layer) => {
    const kept = counter.ranking().slice(0, 8);
    return (
      `  layer ${layer}: ` +
      (kept.length ? kept.map((entry) => `${entry.type} ${entry.rate.toFixed(3)}`).join(', ') : '(none)')
    );
  });
}
