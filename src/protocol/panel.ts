/**
 * Messages between the extension host and the score panel webview. Imported by both sides, so a
 * change to a message is a compile error on the other side.
 */

export interface PanelLayerRow {
  layer: number;
  cat: number;
  baseline: number;
  /** Share of attention on data-flow edges and its baseline (NaN where the language has no data-flow rules). */
  dataFlow: number;
  dataFlowBaseline: number;
  bos: number;
  eos: number;
  punctuation: number;
  entropy: number;
}

export interface PanelStructureHead {
  relation: string;
  heads: Array<{ layer: number; head: number; accuracy: number }>;
  chance: number;
  /** The best fixed offset (tokens; negative = earlier) and its accuracy: the positional baseline. */
  fixedOffset?: { offset: number; accuracy: number };
}

/** Everything the score panel shows for one analysis (plain data, no tensors). */
export interface PanelModel {
  file: string;
  language: string;
  version?: number;
  model: { name: string; displayName: string; layers: number; heads: number };
  device: string;
  tokens: number;
  /** The file's windows (all of them, also while partial). */
  windows: number;
  /**
   * Only while the analysis is in flight: the per-layer rows are summed over the windows done so
   * far; the heatmap, head statistics and structure heads are empty until the result is complete.
   */
  partial?: { windowsDone: number; windowsTotal: number };
  timings: Record<string, number>;
  layers: PanelLayerRow[];
  /** [layer][head] CAT-score. */
  heatmap: number[][];
  /** [layer][head] CAT-score's shuffled baseline (the same definition with each row's values shuffled). */
  heatmapBaseline: number[][];
  definition: {
    /** The preset and each of its choices in words (`presets.ts`). */
    preset: string;
    choices: string[];
    keptTypes: string;
    typeSource: string;
    attentionThreshold: string;
    distanceThreshold: string;
    distance: string;
    pairRule: string;
    baseline: string;
  };
  structureHeads: PanelStructureHead[];
  warnings: string[];
  /** A decoder's analysis: the CAT is causal (j ≤ i), and the sink report. Absent for an encoder. */
  causal?: {
    /** How every causal score is labelled ("causal CAT (j ≤ i)"). */
    label: string;
    definition: string;
    /** Data-flow edges scored (backward) and left out (forward). */
    backwardEdges: number;
    forwardEdges: number;
    sinks?: PanelSinks;
    /** Head statistics on causal rows (j ≤ i), with their levels under uniform causal attention. */
    headStatistics?: PanelCausalHeadStatistics;
    /** How the structure heads are scored on causal rows (j < i); absent while they are not there. */
    structureHeads?: string;
  };
}

/**
 * A decoder's head statistics: the layer rows' `bos` is the first position, `eos` is NaN; the mass
 * on the previous subword per layer, and each statistic's level under uniform causal attention.
 */
export interface PanelCausalHeadStatistics {
  definition: string;
  previous: number[];
  chance: { bos: number; punctuation: number; previous: number; entropy: number };
}

/** Attention on each window's first position: per layer (head mean), the chance line, the heads above threshold. */
export interface PanelSinks {
  definition: string;
  perLayer: number[];
  chance: number;
  threshold: number;
  sinkRate: number;
  heads: Array<{ layer: number; head: number; share: number }>;
}

/** The view the editor overlay shows, so that the panel can mark its heatmap cell. */
export interface PanelView {
  layer: number;
  /** Undefined when the overlay is not on one head (mean over heads, rollout, flow). */
  head?: number;
  label: string;
}

/** One view's faithfulness: Spearman ρ of its importance against occlusion (NaN when either side is constant). */
export interface FaithfulnessViewRow {
  mode: string;
  /** Short name: "raw last layer (mean over heads)", "attention rollout" … */
  name: string;
  /** The core's full label of the view (layers, direction). */
  label: string;
  spearman: number;
  /** 95 % confidence interval of ρ (NaN when ρ is NaN or too few tokens). */
  low: number;
  high: number;
}

/** The faithfulness check of one cursor token, as the score panel shows it. */
export interface FaithfulnessPanelModel {
  file: string;
  version?: number;
  model: string;
  focus: { token: number; text: string; line: number; column: number };
  /** Tokens blanked out (one forward pass each). */
  tokens: number;
  definition: string;
  /** How the intervals of ρ were made. */
  interval: string;
  views: FaithfulnessViewRow[];
  skipped: Array<{ mode: string; name: string; reason: string }>;
  /** Mode of the view with the highest finite ρ, if it is above 0 and its interval clears the next one's. */
  best?: string;
  verdict: string;
}

/** The panel's faithfulness section: not run yet, running, failed, or the result. */
export type FaithfulnessSection =
  { status: 'idle' | 'running' | 'failed'; message: string } | { status: 'done'; report: FaithfulnessPanelModel };

export type HostToPanel =
  | { type: 'update'; model: PanelModel; view?: PanelView; faithfulness?: FaithfulnessSection }
  | { type: 'view'; view: PanelView }
  | { type: 'faithfulness'; section: FaithfulnessSection }
  | { type: 'empty'; reason: string };

export type PanelToHost =
  | { type: 'ready' }
  | { type: 'selectHead'; layer: number; head: number }
  | { type: 'checkFaithfulness' }
  | { type: 'export'; format: 'json' | 'csv' }
  | { type: 'exportPng'; dataUrl: string; chart: string }
  | ExportFiguresMessage
  | { type: 'showAttentionViews' };

/** Figures a webview built for export: SVG text, or PNG data URLs rasterised at 2×; saved side by side. */
export interface ExportFiguresMessage {
  type: 'exportFigures';
  figures: Array<{
    /** File-name suffix ("cat-by-layer"). */
    name: string;
    format: 'svg' | 'png';
    data: string;
  }>;
}
