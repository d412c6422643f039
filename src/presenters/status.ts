import { SUPPORTED_LANGUAGE_NAMES } from '../core/languages';
import type { AnalysisResult } from '../core/types';
import { VIEW_MODE_LABELS, viewLabel, type AttentionView, type Direction, type ViewMode } from '../core/views';
import { labelText, messageText, tooltipText } from './escape';

/**
 * The layer and head a stored view means for one model (stored views may come from a bigger model,
 * or from workspace state edited or written by an older version): an unknown mode becomes the mean
 * over heads, a layer that is not a whole number in range the last layer, a head out of range the
 * nearest one, an unknown direction "attends to".
 */
export function resolveView(view: AttentionView, layers: number, heads: number): AttentionView {
  const stored = (view ?? {}) as Partial<Record<keyof AttentionView, unknown>>;
  const known = typeof stored.mode === 'string' && Object.hasOwn(VIEW_MODE_LABELS, stored.mode);
  const mode = known ? (stored.mode as ViewMode) : 'meanHeads';
  const direction: Direction = stored.direction === 'attendedBy' ? 'attendedBy' : 'attendsTo';
  const wholeNumber = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value);
  const layer = wholeNumber(stored.layer) && stored.layer >= 0 && stored.layer < layers ? stored.layer : layers - 1;
  const head = wholeNumber(stored.head) ? Math.min(Math.max(0, stored.head), heads - 1) : undefined;
  return { mode, layer, head: mode === 'head' ? (head ?? 0) : head, direction };
}

/** A compact label of the view for the status bar: "L3 H2", "L5 mean", "rollout ≤L5" … */
export function shortView(view: AttentionView): string {
  switch (view.mode) {
    case 'head':
      return `L${view.layer} H${view.head ?? 0}`;
    case 'meanHeads':
      return `L${view.layer} mean`;
    case 'rollout':
      return `rollout ≤L${view.layer}`;
    case 'flow':
      return `flow ≤L${view.layer}`;
    case 'valueWeighted':
      return `L${view.layer} ${view.head === undefined ? 'mean' : 'H' + view.head} α‖f‖`;
    case 'valueWeightedLayer':
      return `L${view.layer} ‖Σαf‖`;
  }
}

export interface StatusPresentation {
  text: string;
  tooltip: string;
  /** True when the analysis has a problem worth a look (syntax errors, a token split or the input cut …). */
  warning: boolean;
}

/**
 * Analysis warnings that describe normal operation rather than a problem: a long file read in
 * several windows (most files over 512 subwords), a model without value norms (one view fewer).
 * They stay in the tooltip as notes, without the status bar's ⚠.
 */
const NOTES = [/^The file has \d+ subwords; it was analysed in \d+ windows/, /^The model has no value_norms output/];

export function isProblem(warning: string): boolean {
  return !NOTES.some((note) => note.test(warning));
}

/**
 * Status bar text and tooltip: model · device · view, with the analysis warnings in the tooltip
 * (⚠ for problems, ℹ for notes); the ⚠ icon only when there is a problem.
 * The model's name and display name come from its manifest and are shown literally (no icons).
 */
export function statusPresentation(result: AnalysisResult | undefined, view: AttentionView): StatusPresentation {
  if (!result) {
    return {
      text: '$(eye) Code Attention',
      tooltip: 'Code Attention Lens: run "Code Attention: Analyze Current File" or hover a token.',
      warning: false,
    };
  }
  const shown = resolveView(view, result.model.layers, result.model.heads);
  const warning = result.warnings.some(isProblem);
  const lines = [
    `Code Attention Lens: ${result.model.displayName} on ${result.device}.`,
    `Showing ${viewLabel(shown)}. Click to change the view.`,
    ...result.warnings.map((text) => `${isProblem(text) ? '⚠' : 'ℹ'} ${text}`),
  ];
  const icon = warning ? '$(warning)' : '$(eye)';
  const text = `${icon} ${labelText(result.model.name)} · ${labelText(result.device)} · ${shortView(shown)}`;
  return { text, tooltip: tooltipText(lines.join('\n')), warning };
}

/** The one-line notice for a file the extension cannot analyse (the language id comes from other extensions). */
export function unsupportedLanguageMessage(languageId: string): string {
  const language = messageText(languageId);
  return `Code Attention Lens does not support "${language}" files. Supported languages: ${SUPPORTED_LANGUAGE_NAMES}.`;
}

/** A small, serialisable summary of a result, returned by the analyze command (integration tests use it). */
export interface ResultSummary {
  tokens: number;
  layers: number;
  heads: number;
  device: string;
  model: string;
  version?: number;
  catPerLayer?: number[];
  /** A decoder's result: its CAT is causal, and the sink report's per-layer shares and chance. */
  causal?: { catBaselinePerLayer: number[]; sinkPerLayer: number[]; sinkChance: number };
  warnings: string[];
}

export function resultSummary(result: AnalysisResult): ResultSummary {
  return {
    tokens: result.tokens.length,
    layers: result.model.layers,
    heads: result.model.heads,
    device: result.device,
    model: result.model.name,
    version: result.source.version,
    catPerLayer: result.scores.cat ? [...result.scores.cat.score.perLayer] : undefined,
    ...(result.causal
      ? {
          causal: {
            catBaselinePerLayer: [...(result.scores.cat?.baseline.perLayer ?? [])],
            sinkPerLayer: [...(result.scores.sinks?.perLayer ?? [])],
            sinkChance: result.scores.sinks?.chance ?? NaN,
          },
        }
      : {}),
    warnings: [...result.warnings],
  };
}

/** The layer whose CAT-score is furthest above its shuffled baseline, with both numbers. */
export function bestLayerText(result: AnalysisResult): string {
  const cat = result.scores.cat;
  const name = result.causal ? 'causal CAT (j ≤ i)' : 'CAT-score';
  if (!cat) return `no ${name}`;
  let best = -1;
  cat.score.perLayer.forEach((score, layer) => {
    const gain = score - cat.baseline.perLayer[layer];
    if (Number.isFinite(gain) && (best < 0 || gain > cat.score.perLayer[best] - cat.baseline.perLayer[best]))
      best = layer;
  });
  if (best < 0) return `no ${name}`;
  const score = cat.score.perLayer[best].toFixed(3);
  return `best layer ${best} ${name} ${score} (shuffled baseline ${cat.baseline.perLayer[best].toFixed(3)})`;
}
