import { DISTANCE_KINDS, type DistanceKind } from '../core/astDistance';
import { referenceTypeFilter, type TypeFilter } from '../core/metrics/catScore';
import { pendingDataTypeFilter } from '../core/metrics/frequentTypes';
import { TOKEN_MODES, type TokenMode } from '../core/parser';
import { DEFAULT_PRESET, PRESET_NAMES, PRESETS, type PresetName } from '../core/presets';
import type { LanguageId } from '../core/types';
import { choice, option, UsageError, type ParsedArgs } from './args';

export const PRESET_VALUE_OPTIONS = ['preset', 'tokens', 'distance', 'input'] as const;

export const PRESET_USAGE = `[--preset lens|reference]   (reference: CAT-probing's default run; README "What is computed")
    [--tokens whole-strings|leaves] [--distance ast|upgraded|upgraded-names] [--input windows|cut:N]`;

export interface PresetOptions {
  preset: PresetName;
  tokens: TokenMode;
  distance: DistanceKind;
  /** Whether CAT's types are chosen from the data (per layer) rather than the per-language list. */
  typesFromData: boolean;
  maxSubwords?: number;
  collapseWhitespace: boolean;
}

/** The preset's settings with any explicit option on top of them. */
export function presetOptions(args: ParsedArgs, typesFromDataOverride?: boolean): PresetOptions {
  const preset = choice(args, 'preset', PRESET_NAMES, DEFAULT_PRESET);
  const settings = PRESETS[preset];
  const input = option(args, 'input');
  let maxSubwords = settings.maxSubwords;
  if (input !== undefined) {
    const cut = /^cut:([1-9]\d*)$/.exec(input);
    if (input !== 'windows' && !cut)
      throw new UsageError(`--input must be "windows" or "cut:N", e.g. cut:256 (got "${input}").`);
    maxSubwords = cut ? Number(cut[1]) : undefined;
    if (maxSubwords !== undefined && maxSubwords < 3)
      throw new UsageError('--input cut:N needs N ≥ 3 (<s>, one subword, </s>).');
  }
  return {
    preset,
    tokens: choice(args, 'tokens', TOKEN_MODES, settings.tokens),
    distance: choice(args, 'distance', DISTANCE_KINDS, settings.distance),
    typesFromData: typesFromDataOverride ?? settings.types === 'data',
    maxSubwords,
    collapseWhitespace: settings.collapseWhitespace,
  };
}

/** For one file: the per-language list, or types chosen from this file alone. */
export function fileTypeFilter(options: PresetOptions, language: LanguageId): TypeFilter {
  return options.typesFromData ? pendingDataTypeFilter() : referenceTypeFilter(language);
}
