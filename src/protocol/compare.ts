import type { ComparedModel } from '../core/compare';
import type { ExportFiguresMessage } from './panel';

/**
 * Messages between the extension host and the compare panel webview (imported by both sides).
 */

/**
 * One model's side of the comparison as the panel receives it: the core's per-model comparison,
 * with the data-flow curves flattened to arrays (NaN where the language has no data-flow rules).
 */
export type CompareSide = Omit<ComparedModel, 'dataFlow'> & {
  dataFlow: number[];
  dataFlowBaseline: number[];
};

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

export type ComparePanelToHost =
  | { type: 'ready' }
  | { type: 'exportPng'; dataUrl: string; chart: string }
  | { type: 'export'; format: 'json' }
  | ExportFiguresMessage;
