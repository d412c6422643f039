import * as vscode from 'vscode';
import { LANGUAGES } from '../core/languages';
import type { AnalyzeOptions } from '../core/pipeline';
import type { ExecutionProviderSetting } from '../core/types';
import type { HoverOptions } from '../presenters/hover';

/** The extension's settings, read fresh on every call (VS Code caches the configuration itself). */
const section = () => vscode.workspace.getConfiguration('codeAttention');

export const settings = {
  autoAnalyze: (): boolean => section().get<boolean>('autoAnalyze', true),
  codeLensEnabled: (): boolean => section().get<boolean>('codeLens.enabled', true),
  executionProvider: (): ExecutionProviderSetting =>
    section().get<ExecutionProviderSetting>('executionProvider', 'auto'),
  /** In an untrusted workspace VS Code returns only the user's value of this restricted setting. */
  modelFolders: (): string[] => section().get<string[]>('models', []),
  /** How many tokens the hover card lists (1–50; other values fall back to 6, what a 250 px card holds). */
  hoverRows: (): number => {
    const rows = section().get<number>('hover.rows', DEFAULT_HOVER_ROWS);
    return Number.isInteger(rows) && rows >= 1 && rows <= 50 ? rows : DEFAULT_HOVER_ROWS;
  },
  /** What the overlay and the card show: rows, colour scale, and the punctuation and sink filters. */
  hoverOptions: (): HoverOptions => ({
    topK: settings.hoverRows(),
    colorScale: section().get('colorScale') === 'against-uniform' ? 'againstUniform' : 'relative',
    hidePunctuation: section().get('hover.punctuation') === 'hidden',
    hideSinks: section().get('hover.sinks') === 'hidden',
  }),
  /** The CAT-score definition choices the CLI offers too; a value outside the choices means the default. */
  analysisOptions: (): Pick<AnalyzeOptions, 'keepComments' | 'pairRule' | 'distance'> => ({
    keepComments: section().get<boolean>('keepComments', false) === true,
    pairRule: oneOf(section().get('pairRule'), ['mean', 'sumMean'] as const, 'mean'),
    distance: oneOf(section().get('distance'), ['ast', 'upgraded', 'upgraded-names'] as const, 'ast'),
  }),
};

const DEFAULT_HOVER_ROWS = 6;

function oneOf<T extends string>(value: unknown, choices: readonly T[], fallback: T): T {
  return choices.includes(value as T) ? (value as T) : fallback;
}

/** Settings whose change makes every loaded model and cached result stale. */
export function affectsModel(event: vscode.ConfigurationChangeEvent): boolean {
  const names = ['executionProvider', 'models', 'keepComments', 'pairRule', 'distance'];
  return names.some((name) => event.affectsConfiguration(`codeAttention.${name}`));
}

/** The documents the extension analyses: one selector entry per supported language. */
export const SUPPORTED_FILES: vscode.DocumentSelector = LANGUAGES.map((spec) => ({ language: spec.id }));
