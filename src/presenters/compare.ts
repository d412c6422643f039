import { basename } from 'node:path';
import type { ModelComparison } from '../core/compare';
import type { AnalysisResult } from '../core/types';
import type { ComparePanelModel, CompareSide } from '../protocol/compare';

export interface DifferenceHighlights {
  /** Tokens that receive clearly more last-layer attention under model A / model B. */
  moreInA: number[];
  moreInB: number[];
}

/**
 * Share of the largest difference a token needs to be marked; lower values mark most of a file when two models differ
 * much.
 */
export const DIFFERENCE_MIN_SHARE = 0.5;

/**
 * Tokens to mark in the editor after a comparison: those whose received-attention difference
 * (b − a) is at least `minShare` of the largest absolute difference in the file, by sign.
 */
export function differenceHighlights(
  comparison: ModelComparison,
  minShare = DIFFERENCE_MIN_SHARE,
): DifferenceHighlights {
  const largest = comparison.receivedDifference.reduce((max, value) => Math.max(max, Math.abs(value)), 0);
  const moreInA: number[] = [];
  const moreInB: number[] = [];
  if (largest === 0) return { moreInA, moreInB };
  comparison.receivedDifference.forEach((value, token) => {
    if (Math.abs(value) < minShare * largest) return;
    (value > 0 ? moreInB : moreInA).push(token);
  });
  return { moreInA, moreInB };
}

function side(compared: ModelComparison['a'], result: AnalysisResult): CompareSide {
  const dataFlow = result.scores.dataFlow;
  return {
    ...compared,
    depth: [...compared.depth],
    cat: [...compared.cat],
    baseline: [...compared.baseline],
    dataFlow: Array.from({ length: compared.layers }, (_, layer) => dataFlow?.score.perLayer[layer] ?? NaN),
    dataFlowBaseline: Array.from({ length: compared.layers }, (_, layer) => dataFlow?.baseline.perLayer[layer] ?? NaN),
    heatmap: compared.heatmap.map((row) => [...row]),
  };
}

/** What the compare panel receives: both models' curves (CAT and data flow) and heatmaps, plain JSON. */
export function comparePanelModel(
  a: AnalysisResult,
  b: AnalysisResult,
  comparison: ModelComparison,
  highlights = differenceHighlights(comparison),
): ComparePanelModel {
  return {
    file: comparison.file ? basename(comparison.file) : '(untitled)',
    language: comparison.language,
    a: side(comparison.a, a),
    b: side(comparison.b, b),
    relativeDepth: comparison.relativeDepth,
    note: comparison.note,
    moreInA: highlights.moreInA.length,
    moreInB: highlights.moreInB.length,
  };
}
