import { catReport, coversTokens, parsedOf, type ScoreOptions } from '../core/pipeline';
import { referenceTypeFilter } from '../core/metrics/catScore';
import type { AnalysisResult, SourceRange } from '../core/types';
import { tooltipText } from './escape';

/** Node types that are functions or methods, per grammar. */
export const FUNCTION_TYPES = new Set([
  'function_definition', // python
  'method_declaration',
  'constructor_declaration', // java
  'function_declaration',
  'method_definition',
  'function_expression',
  'arrow_function',
  'generator_function_declaration', // javascript, typescript
  'func_literal', // go (function_declaration and method_declaration above)
  'method',
  'singleton_method', // ruby
  'method_declaration',
  'function_definition', // php
]);

export interface FunctionScore {
  name: string;
  range: SourceRange;
  /** Mean over layers of the per-layer CAT-score restricted to the function's tokens. */
  cat: number;
  baseline: number;
  bestLayer: number;
  bestLayerScore: number;
  tokens: number;
  /** The function's code tokens, `[firstToken, endToken)`. */
  firstToken: number;
  endToken: number;
}

/**
 * CAT-score of each function of a file: the same definition as the file score, restricted to
 * the code tokens inside the function (pairs within the function only). Functions with fewer
 * than `minTokens` tokens are skipped; anonymous functions shorter than a line are too. On a
 * partial result, only the functions whose windows all ran are scored. `known` holds scores of
 * the same text computed before (keyed by {@link functionKey}): a function's score depends only
 * on the windows over it, so a later partial result or the final one gives the same number.
 */
export function functionScores(
  result: AnalysisResult,
  options: Partial<ScoreOptions> = {},
  minTokens = 12,
  known?: Map<string, FunctionScore>,
): FunctionScore[] {
  const parsed = parsedOf(result);
  const scoreOptions: ScoreOptions = {
    distance: options.distance ?? 'ast',
    typeFilter: options.typeFilter ?? referenceTypeFilter(result.source.language),
    pairRule: options.pairRule ?? result.options.pairRule,
  };
  const scores: FunctionScore[] = [];
  for (const node of result.tree.nodes) {
    if (!FUNCTION_TYPES.has(node.type)) continue;
    const inside = result.tokens.filter(
      (token) => token.startIndex >= node.startIndex && token.endIndex <= node.endIndex,
    );
    if (inside.length < minTokens) continue;
    const first = inside[0].index;
    const last = inside[inside.length - 1].index + 1;
    if (inside[0].range.start.line === inside[inside.length - 1].range.end.line && node.type !== 'function_definition')
      continue;
    const earlier = known?.get(functionKey(first, last));
    if (earlier) {
      scores.push(earlier);
      continue;
    }
    if (!coversTokens(result, first, last)) continue;
    const report = catReport(result, parsed, scoreOptions, first, last, false);
    const perLayer = report.score.perLayer;
    const finite = perLayer.filter(Number.isFinite);
    if (!finite.length) continue;
    const bestLayer = perLayer.reduce(
      (best, value, layer) => (Number.isFinite(value) && value > (perLayer[best] ?? -Infinity) ? layer : best),
      perLayer.findIndex(Number.isFinite),
    );
    const nameNode = node.children.map((child) => result.tree.nodes[child]).find((child) => child.field === 'name');
    scores.push({
      name: nameNode ? result.source.text.slice(nameNode.startIndex, nameNode.endIndex) : '(anonymous)',
      range: { start: result.tokens[first].range.start, end: result.tokens[last - 1].range.end },
      cat: finite.reduce((a, b) => a + b, 0) / finite.length,
      baseline: report.baseline.perLayer.filter(Number.isFinite).reduce((a, b, _, all) => a + b / all.length, 0),
      bestLayer,
      bestLayerScore: perLayer[bestLayer],
      tokens: inside.length,
      firstToken: first,
      endToken: last,
    });
    known?.set(functionKey(first, last), scores[scores.length - 1]);
  }
  return scores;
}

export const functionKey = (first: number, last: number) => `${first}:${last}`;

/** What a function's CodeLens shows: the title (rendered with icons) and the plain tooltip naming the function. */
export function functionLens(score: FunctionScore): { title: string; tooltip: string } {
  return {
    title:
      `CAT ${score.cat.toFixed(3)} (baseline ${score.baseline.toFixed(3)}) · ` +
      `best L${score.bestLayer} ${score.bestLayerScore.toFixed(3)}`,
    tooltip: tooltipText(
      `CAT-score of ${score.name}: mean over layers of the file's CAT definition restricted to its ` +
        `${score.tokens} tokens. Click to open the score panel.`,
    ),
  };
}
