import { astDistances, sastDistances, upgradedAstDistances, type DistanceKind } from './astDistance';
import { languageSpec } from './languages';
import type { TypeFilter } from './metrics/catScore';
import type { CodeToken, PairRule, ParsedSource } from './types';

export interface ScoreOptions {
  distance: DistanceKind;
  typeFilter: TypeFilter;
  pairRule: PairRule;
}

/** Distances over the kept tokens of a window (k×k), by the chosen definition. */
export function keptDistances(
  parsed: ParsedSource,
  keptTokens: readonly CodeToken[],
  distance: DistanceKind,
): Int32Array {
  if (distance === 'ast') return astDistances(parsed.tree, keptTokens);
  if (distance === 'upgraded') {
    return sastDistances(parsed.tree, parsed.source, languageSpec(parsed.language).commentTypes, keptTokens);
  }
  return upgradedAstDistances(parsed.tree, parsed.tokens, keptTokens);
}
