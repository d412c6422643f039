import type { DistanceKind } from './astDistance';
import type { TokenMode } from './parser';
import type { AnalysisOptions, PresetName } from './types';
export type { PresetName } from './types';

/**
 * Presets: named sets of the choices that decide what CAT-score measures.
 *
 * - `lens` (default): whole string literals as tokens, tree distance, the per-language type lists,
 *   whole files in windows. The editor shows these tokens, a one-file score is stable under a fixed
 *   type list, and no part of a file is dropped.
 * - `reference`: what the CAT-probing reference's default run computes (nchen909/CodeAttention,
 *   `configs.py`: `frequent_type=1`, `upgraded_ast=1`, `quantile_threshold=0.75`, summarisation input
 *   of 256 subwords): every tree leaf as a token, the reference's upgraded AST, types chosen from the
 *   data per layer, input cut at 256 subwords. For comparing numbers with the paper's.
 */
export const PRESET_NAMES: readonly PresetName[] = ['lens', 'reference'];
export const DEFAULT_PRESET: PresetName = 'lens';

/** The reference's input length for code summarisation (`configs.py`: `max_source_length = 256`). */
export const REFERENCE_MAX_SUBWORDS = 256;

export type TypeChoice = 'language-list' | 'data';

export interface PresetSettings {
  tokens: TokenMode;
  distance: DistanceKind;
  types: TypeChoice;
  /** Subwords the model sees, `<s>` and `</s>` included; undefined: the whole file, in windows. */
  maxSubwords?: number;
  /** Feed runs of whitespace as one space (leaf tokens only), as the reference prepares its input. */
  collapseWhitespace: boolean;
}

export const PRESETS: Readonly<Record<PresetName, PresetSettings>> = {
  lens: { tokens: 'whole-strings', distance: 'ast', types: 'language-list', collapseWhitespace: false },
  reference: {
    tokens: 'leaves',
    distance: 'upgraded',
    types: 'data',
    maxSubwords: REFERENCE_MAX_SUBWORDS,
    collapseWhitespace: true,
  },
};

export const SUBWORD_MAP_NOTE =
  'subword → token by exact byte offsets; the reference walks a pointer forward to the next leaf whose text contains ' +
  'the subword (and, once types are chosen, whose type is kept), and goes back to its last match when none does: ' +
  'in `def add(a, b)` with Python’s kept types, `(` finds no kept leaf, and `a` is then given to `add`';

const TOKEN_WORDS: Record<TokenMode, string> = {
  'whole-strings': 'tree-sitter leaves, a string literal kept as one token (close to CodeSearchNet code_tokens)',
  leaves: 'every childless tree node (the reference’s leaves: string quotes, fragments and interpolated names apart)',
};

const DISTANCE_WORDS: Record<DistanceKind, string> = {
  ast: 'tree distance (path length through the lowest common ancestor)',
  upgraded: 'the reference’s upgraded AST: tree + consecutive leaves + same-text leaves of type exactly `identifier`',
  'upgraded-names':
    'our upgraded AST variant: tree + consecutive tokens + same-text tokens of any type containing "identifier"',
};

/** Each choice in effect, in words, for every report. */
export function describeChoices(
  options: Pick<
    AnalysisOptions,
    'preset' | 'tokens' | 'distance' | 'typeFilter' | 'pairRule' | 'maxSubwords' | 'collapseWhitespace'
  >,
): string[] {
  const tokens = options.tokens ?? 'whole-strings';
  return [
    `preset: ${options.preset ?? DEFAULT_PRESET}` +
      (options.preset === 'reference'
        ? ' (CAT-probing’s default run: frequent_type=1, upgraded_ast=1, q=0.75, 256 subwords)'
        : ''),
    `tokens: ${tokens}: ${TOKEN_WORDS[tokens]}`,
    `distance: ${options.distance}: ${DISTANCE_WORDS[options.distance]}`,
    `types: ${options.typeFilter.source}`,
    options.maxSubwords
      ? `input: cut at ${options.maxSubwords} subwords incl. <s> </s>, as the reference; later tokens are not scored`
      : 'input: the whole file, in windows of whole code tokens (attention does not cross windows)',
    options.collapseWhitespace
      ? 'input text: tokens joined by one space, whitespace runs inside string literals as one space (as the reference)'
      : 'input text: tokens joined by one space, whitespace inside string literals as written',
    `subwords: ${SUBWORD_MAP_NOTE}`,
    `pair rule: ${options.pairRule}; layer score from the mean over heads`,
  ];
}
