/**
 * Messages between the extension host and the attention views panel (head view, model view,
 * token × token matrix), imported by both sides.
 */
import type { ExportFiguresMessage } from './panel';

export interface ViewsToken {
  text: string;
  /** 1-based line, as the editor shows it. */
  line: number;
}

/** Each attending token's strongest targets in one head: `targets[i]`/`weights[i]` for token i. */
export interface HeadLinks {
  targets: number[][];
  weights: number[][];
}

export interface AttentionViewsModel {
  file: string;
  model: { displayName: string; layers: number; heads: number };
  /** The editor's current view, as the core labels it. */
  viewLabel: string;
  mode: string;
  layer: number;
  /** The head of the current view, when it is on one head. */
  head?: number;
  /** What the tokens are ("selection, lines 3–9", "function get, lines 15–24"). */
  scope: string;
  /** Plain-language notes: truncation, window limits, what the head view shows for rollout and flow. */
  notes: string[];
  tokens: ViewsToken[];
  /** Code tokens of the model window the selection lies in; uniform attention is 1 / windowTokens. */
  windowTokens: number;
  headView: {
    /** What the lines are ("raw attention", "value-weighted attention"). */
    source: string;
    /** Strongest targets kept per attending token and head. */
    linksPerToken: number;
    /** [layer][head]. */
    layers: HeadLinks[][];
  };
  modelView: {
    /** Side of each thumbnail after pooling the selection's k × k matrix into size × size blocks. */
    size: number;
    /** [layer][head]: size × size, row-major, block means. */
    thumbnails: number[][][];
    source: string;
  };
  matrix: {
    label: string;
    /** Rows computed: k, or fewer for flow (one max-flow per row). */
    rows: number;
    /** rows × k, row-major: row = attending token, column = attended token. */
    values: number[];
  };
}

export type HostToViews = { type: 'update'; model: AttentionViewsModel } | { type: 'empty'; reason: string };

export type ViewsToHost =
  | { type: 'ready' }
  | { type: 'selectHead'; layer: number; head: number }
  | { type: 'exportCsv' }
  | ExportFiguresMessage;
