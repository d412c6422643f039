import type { LanguageId } from './types';

export interface LanguageSpec {
  id: LanguageId;
  displayName: string;
  /** Grammar file in grammars/, without the `tree-sitter-` prefix and `.wasm` suffix. */
  grammar: string;
  extensions: string[];
  /** Leaf or subtree types that are comments. */
  commentTypes: string[];
  /**
   * Node types kept as one code token although they have children (string literals), in the
   * `whole-strings` token mode: close to CodeSearchNet's `code_tokens`, which the CAT-probing
   * reference feeds its model. The reference's own tree leaves split these literals into their
   * parts (quotes, fragments, escapes, interpolated names): the `leaves` token mode.
   */
  atomicTypes: string[];
}

export const LANGUAGES: readonly LanguageSpec[] = [
  {
    id: 'python',
    displayName: 'Python',
    grammar: 'python',
    extensions: ['.py', '.pyi'],
    commentTypes: ['comment'],
    atomicTypes: ['string', 'concatenated_string'],
  },
  {
    id: 'java',
    displayName: 'Java',
    grammar: 'java',
    extensions: ['.java'],
    commentTypes: ['line_comment', 'block_comment', 'comment'],
    atomicTypes: ['string_literal', 'character_literal', 'text_block'],
  },
  {
    id: 'javascript',
    displayName: 'JavaScript',
    grammar: 'javascript',
    extensions: ['.js', '.mjs', '.cjs', '.jsx'],
    commentTypes: ['comment'],
    atomicTypes: ['string', 'template_string', 'regex'],
  },
  {
    id: 'typescript',
    displayName: 'TypeScript',
    grammar: 'typescript',
    extensions: ['.ts', '.mts', '.cts'],
    commentTypes: ['comment'],
    atomicTypes: ['string', 'template_string', 'regex'],
  },
  {
    id: 'go',
    displayName: 'Go',
    grammar: 'go',
    extensions: ['.go'],
    commentTypes: ['comment'],
    atomicTypes: ['interpreted_string_literal', 'raw_string_literal', 'rune_literal'],
  },
  {
    id: 'ruby',
    displayName: 'Ruby',
    grammar: 'ruby',
    extensions: ['.rb'],
    commentTypes: ['comment'],
    atomicTypes: ['string', 'symbol', 'simple_symbol', 'delimited_symbol', 'regex', 'character'],
  },
  {
    id: 'php',
    displayName: 'PHP',
    grammar: 'php',
    extensions: ['.php'],
    commentTypes: ['comment'],
    atomicTypes: ['string', 'encapsed_string', 'heredoc', 'nowdoc'],
  },
];

export const SUPPORTED_LANGUAGE_NAMES = LANGUAGES.map((spec) => spec.displayName).join(', ');

export function languageSpec(id: LanguageId): LanguageSpec {
  const spec = LANGUAGES.find((candidate) => candidate.id === id);
  if (!spec) throw new UnsupportedLanguageError(id);
  return spec;
}

export function isLanguageId(value: string): value is LanguageId {
  return LANGUAGES.some((spec) => spec.id === value);
}

/** The language for a file name, by extension, or undefined when it is not supported. */
export function languageForFile(fileName: string): LanguageId | undefined {
  const lower = fileName.toLowerCase();
  return LANGUAGES.find((spec) => spec.extensions.some((extension) => lower.endsWith(extension)))?.id;
}

export class UnsupportedLanguageError extends Error {
  constructor(what: string) {
    super(`Unsupported language "${what}". Code Attention Lens supports ${SUPPORTED_LANGUAGE_NAMES}.`);
    this.name = 'UnsupportedLanguageError';
  }
}
