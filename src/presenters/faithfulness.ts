import { basename } from 'node:path';
import { faithfulnessTokens, type FaithfulnessReport } from '../core/metrics/faithfulness';
import type { AnalysisResult } from '../core/types';
import { VIEW_MODE_LABELS, windowOfToken, type ViewMode } from '../core/views';
import type { FaithfulnessPanelModel, FaithfulnessViewRow } from '../protocol/panel';

/** Short names of the views the faithfulness check ranks (all at the last layer). */
export const FAITHFULNESS_VIEW_NAMES: Record<ViewMode, string> = {
  ...VIEW_MODE_LABELS,
  meanHeads: 'raw last layer (mean over heads)',
};

/** Forward passes the check needs for `focus`: one reference pass and one per other token of its window. */
export function faithfulnessPasses(result: AnalysisResult, focus: number): number {
  return windowOfToken(result, focus) ? faithfulnessTokens(result, focus).length + 1 : 0;
}

const rho = (value: number) => (Number.isFinite(value) ? value.toFixed(3) : 'n/a');

/** z of the two-sided 95 % normal interval. */
const Z95 = 1.959964;

/** How the intervals are made, as the panel and the CLI state it. */
export const INTERVAL_METHOD =
  '95 % interval of each ρ by Fisher z: atanh ρ ± 1.96 · √(1.06 / (n − 3)) (the Fieller–Hartley–Pearson ' +
  'variance for Spearman ρ, n = tokens compared, treated as independent)';

/**
 * The 95 % confidence interval of a Spearman ρ over `n` pairs by Fisher's z transform with the
 * Fieller–Hartley–Pearson variance 1.06 / (n − 3). Closed form, so the same report always gives
 * the same interval; [NaN, NaN] when ρ is not finite or n < 4.
 */
export function spearmanInterval(spearman: number, n: number): { low: number; high: number } {
  if (!Number.isFinite(spearman) || n < 4) return { low: NaN, high: NaN };
  const clamped = Math.max(-0.999999, Math.min(0.999999, spearman));
  const spread = Z95 * Math.sqrt(1.06 / (n - 3));
  const z = Math.atanh(clamped);
  return { low: Math.tanh(z - spread), high: Math.tanh(z + spread) };
}

const interval = (view: { low: number; high: number }) => `[${rho(view.low)}, ${rho(view.high)}]`;

/**
 * What the score panel shows for a faithfulness report: ρ per view, the views that were skipped
 * and why (value-weighted on a model without value norms included), and which view to trust.
 */
export function faithfulnessPanelModel(result: AnalysisResult, report: FaithfulnessReport): FaithfulnessPanelModel {
  const token = result.tokens[report.focus];
  const views: FaithfulnessViewRow[] = report.views.map((view) => ({
    mode: view.mode,
    name: FAITHFULNESS_VIEW_NAMES[view.mode],
    label: view.label,
    spearman: view.spearman,
    ...spearmanInterval(view.spearman, report.tokens.length),
  }));
  const skipped = report.skipped.map((entry) => {
    const colon = entry.indexOf(': ');
    const mode = colon > 0 ? entry.slice(0, colon) : '';
    return {
      mode,
      name: FAITHFULNESS_VIEW_NAMES[mode as ViewMode] ?? mode,
      reason: colon > 0 ? entry.slice(colon + 2) : entry,
    };
  });
  if (
    !views.some((view) => view.mode === 'valueWeighted') &&
    !skipped.some((entry) => entry.mode === 'valueWeighted')
  ) {
    skipped.push({
      mode: 'valueWeighted',
      name: FAITHFULNESS_VIEW_NAMES.valueWeighted,
      reason: 'this model has no value_norms output (re-export it with models/export_onnx.py).',
    });
  }
  const file = result.source.path ? basename(result.source.path) : '(untitled)';
  const ranked = views.filter((view) => Number.isFinite(view.spearman)).sort((a, b) => b.spearman - a.spearman);
  const at = `\`${token.text}\` (line ${token.range.start.line + 1})`;
  let verdict: string;
  let best: string | undefined;
  if (!ranked.length)
    verdict =
      `No view could be ranked at ${at}: the occlusion importance or every view's importance ` +
      `is constant. Try another token.`;
  else if (ranked[0].spearman <= 0)
    verdict =
      `No view ranks the tokens the way occlusion does at ${at} (best ` +
      `ρ ${rho(ranked[0].spearman)}, ${ranked[0].name}): none of them is a faithful explanation here.`;
  else if (ranked[1] && Number.isFinite(ranked[1].high) && ranked[1].high >= ranked[0].low) {
    const overlapping = ranked.filter((view) => view.high >= ranked[0].low);
    verdict =
      `No clear winner for ${result.model.displayName} on ${file} at ${at}: the 95 % intervals of ` +
      overlapping.map((view) => `${view.name} (ρ ${rho(view.spearman)} ${interval(view)})`).join(', ') +
      ` overlap. Check more tokens before trusting one view over the others.`;
  } else {
    best = ranked[0].mode;
    const next = ranked[1] ? `; next ${ranked[1].name} ${rho(ranked[1].spearman)} ${interval(ranked[1])}` : '';
    verdict =
      `Trust ${ranked[0].name} most for ${result.model.displayName} on ${file}: ` +
      `ρ ${rho(ranked[0].spearman)} ${interval(ranked[0])} at ${at}${next}. One token is one sample; check a few.`;
  }
  return {
    file,
    version: result.source.version,
    model: result.model.displayName,
    focus: {
      token: report.focus,
      text: token.text,
      line: token.range.start.line + 1,
      column: token.range.start.character + 1,
    },
    tokens: report.tokens.length,
    definition: report.definition,
    interval: INTERVAL_METHOD,
    views,
    skipped,
    best,
    verdict,
  };
}
