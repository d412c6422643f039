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
  else {
    best = ranked[0].mode;
    const next = ranked[1] ? `; next ${ranked[1].name} ${rho(ranked[1].spearman)}` : '';
    verdict =
      `Trust ${ranked[0].name} most for ${result.model.displayName} on ${file}: ` +
      `ρ ${rho(ranked[0].spearman)} at ${at}${next}. One token is one sample; check a few.`;
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
    views,
    skipped,
    best,
    verdict,
  };
}
