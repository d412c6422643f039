/**
 * Messages between the extension host and the compare panel webview (imported by both sides).
 */

/** One model's side of the comparison: per-layer curves on relative depth and its head heatmap. */
export interface CompareSide {
  name: string;
  displayName: string;
  layers: number;
  heads: number;
  /** (layer + 1) / layers for each layer. */
  depth: number[];
  cat: number[];
  baseline: number[];
  /** Share of attention on data-flow edges per layer; NaN where the language has no data-flow rules. */
  dataFlow: number[];
  dataFlowBaseline: number[];
  /** [layer][head] CAT-score. */
  heatmap: number[][];
}

export interface ComparePanelModel {
  file: string;
  language: string;
  a: CompareSide;
  b: CompareSide;
  /** True when the layer counts differ and curves are placed on relative depth. */
  relativeDepth: boolean;
  note: string;
  /** Counts of tokens marked in the editor as receiving more last-layer attention under A or B. */
  moreInA: number;
  moreInB: number;
}

export type HostToComparePanel = { type: 'compare'; model: ComparePanelModel };

export type ComparePanelToHost = { type: 'ready' } | { type: 'exportPng'; dataUrl: string; chart: string } | { type: 'export'; format: 'json' };
