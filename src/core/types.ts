/**
 * The analysis result and the types it is built from. One result flows one way:
 * source → syntax tree and code tokens → subword windows → attention → structure → scores → views.
 * Nothing in src/core imports `vscode`; the extension, the webview and the CLI only read these types.
 */

export type LanguageId = 'python' | 'java' | 'javascript' | 'typescript' | 'go' | 'ruby' | 'php';

/** Zero-based line and UTF-16 character, as VS Code positions count. */
export interface SourcePosition {
  line: number;
  character: number;
}

export interface SourceRange {
  start: SourcePosition;
  end: SourcePosition;
}

/**
 * A tree-sitter-independent copy of the concrete syntax tree. Node 0 is the root; nodes are
 * stored in pre-order, so a node's index is smaller than its descendants'. Offsets are UTF-16
 * code-unit offsets into the source string (JavaScript string indices).
 */
export interface SyntaxNode {
  id: number;
  type: string;
  /** Field name under the parent (e.g. `left`, `body`), or null. */
  field: string | null;
  named: boolean;
  parent: number;
  children: number[];
  depth: number;
  startIndex: number;
  endIndex: number;
  isError: boolean;
  isMissing: boolean;
  /** Index into `ParsedSource.tokens` when this node is a kept code token, else -1. */
  token: number;
}

export interface SyntaxTree {
  nodes: SyntaxNode[];
}

/** A code token: one AST leaf (a string literal is one token), comments excluded by default. */
export interface CodeToken {
  index: number;
  text: string;
  /** Tree-sitter type of the leaf node (e.g. `identifier`, `(`, `string`). */
  type: string;
  /** Types of the ancestors, nearest first, root last. */
  parentTypes: string[];
  /** Id of the leaf in `SyntaxTree.nodes`. */
  node: number;
  range: SourceRange;
  /** UTF-16 offsets into the source string. */
  startIndex: number;
  endIndex: number;
  /** UTF-8 byte offsets into the source. */
  startByte: number;
  endByte: number;
  isComment: boolean;
  /** True when the token lies inside an ERROR node or is a MISSING node inserted by recovery. */
  inError: boolean;
}

export interface ParsedSource {
  language: LanguageId;
  source: string;
  tree: SyntaxTree;
  tokens: CodeToken[];
  /** Ranges of ERROR and MISSING nodes; empty for a clean parse. */
  errors: SourceRange[];
  /** Whether comments were kept as code tokens. */
  keptComments: boolean;
}

/** Attention tensors are flat row-major Float32Arrays with an explicit shape. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

/** A window of the file that fits the model: a contiguous run of whole code tokens. */
export interface SubwordWindow {
  /** First code token (inclusive) and last code token (exclusive) of the window. */
  tokenStart: number;
  tokenEnd: number;
  /** Model input ids including `<s>` and `</s>`. */
  ids: number[];
  /** Subword strings as the tokenizer produced them. */
  pieces: string[];
  /** For each subword position, the global code-token index, or -1 for special tokens. */
  tokenOfSubword: Int32Array;
}

export interface DataFlowEdge {
  /** Code-token index of the variable occurrence whose value comes from `to`. */
  from: number;
  /** Code-token index of the source occurrence. */
  to: number;
  kind: 'comesFrom' | 'computedFrom';
}

export interface DataFlowGraph {
  /** Code-token indices that are variable occurrences (nodes of the graph). */
  nodes: number[];
  edges: DataFlowEdge[];
}

export type ExecutionProviderSetting = 'auto' | 'cuda' | 'cpu';
export type ExecutionDevice = 'cuda' | 'cpu';

export interface ModelInfo {
  name: string;
  displayName: string;
  path: string;
  family: string;
  checkpoint: string;
  layers: number;
  heads: number;
  hiddenSize: number;
  vocabSize: number;
  maxPositions: number;
  hasValueNorms: boolean;
}

export interface StageTimings {
  parseMs: number;
  tokenizeMs: number;
  forwardMs: number;
  alignMs: number;
  metricsMs: number;
  totalMs: number;
}

/** Output of one forward pass over one window (batch of one). */
export interface ForwardOutput {
  /** Softmax attention probabilities, shape [layers, heads, n, n] over subword positions. */
  attentions: Tensor;
  /** ‖f(x_j)‖ of Kobayashi et al. 2020, shape [layers, heads, n]; absent when the model lacks it. */
  valueNorms?: Tensor;
  /** Shape [n, hidden]. */
  lastHiddenState: Tensor;
}

/** How two code tokens' attention is made from their subwords' attention. */
export type PairRule = 'mean' | 'sumMean';

/**
 * A window of an analysis. It keeps what the default view and the per-layer scores read:
 * `layerAttention`. The full tensors are recomputed on demand (one forward pass) through a cache
 * of recent windows bounded in bytes: `await windowTensors(window)` (windowTensors.ts) gives them
 * always; the getters below read the cache and throw `TensorsReleasedError` for an evicted window.
 */
export interface AnalyzedWindow extends SubwordWindow {
  /** [layers, heads, n, n], n = ids.length; only while the window is cached. */
  readonly subwordAttention: Tensor;
  /** [layers, heads, n]; absent when the model has no `value_norms` output; only while cached. */
  readonly valueNorms?: Tensor;
  /** [layers, heads, m, m] over the window's code tokens, m = tokenEnd − tokenStart; only while cached. */
  readonly tokenAttention: Tensor;
  /** [layers, 1, m, m]: each layer's head-mean code-token attention (always kept). */
  layerAttention: Tensor;
}

/** A score per layer and per head. `perLayer[l]` scores the head-averaged attention of layer l. */
export interface LayerHeadScores {
  perLayer: number[];
  /** [layer][head] */
  perHead: number[][];
}

export interface AnalysisOptions {
  keepComments: boolean;
  pairRule: PairRule;
  /** AST distance used by CAT-score. */
  distance: import('./astDistance').DistanceKind;
  /** Token types kept for CAT-score. */
  typeFilter: import('./metrics/catScore').TypeFilter;
  /** The preset the choices came from (`presets.ts`); absent in results from before presets. */
  preset?: import('./presets').PresetName;
  /** Code tokens: whole string literals (default) or every tree leaf. */
  tokens?: import('./parser').TokenMode;
  /** Input cut at this many subwords (incl. `<s>` `</s>`) instead of windows. */
  maxSubwords?: number;
  /** Leaf tokens fed with runs of whitespace as one space. */
  collapseWhitespace?: boolean;
}

export interface AnalysisResult {
  schemaVersion: 1;
  /** File path or document URI, when known. */
  source: { path?: string; language: LanguageId; text: string; version?: number };
  model: ModelInfo;
  device: ExecutionDevice;
  options: AnalysisOptions;
  tree: SyntaxTree;
  tokens: CodeToken[];
  errors: SourceRange[];
  windows: AnalyzedWindow[];
  scores: AnalysisScores;
  dataFlow?: DataFlowGraph;
  timings: StageTimings;
  /** Plain-language notes for the user (windows split, syntax errors, missing value norms …). */
  warnings: string[];
  /** Windows that ran the model, and windows carried over unchanged from a previous analysis (`reanalyze`). */
  windowRuns?: { forward: number; reused: number };
}

/**
 * Per-metric reports of a whole file. Each metric module declares its own typed field here
 * (cat, dataFlow, structureHeads, specialTokens, …). The pipeline fills in the reports asked for;
 * `completeScores` adds the others when a view needs them.
 */
export interface AnalysisScores {
  cat?: import('./metrics/catScore').CatScoreReport;
  headStatistics?: import('./metrics/headStatistics').HeadStatistics;
  /** Sink and positional heads (share ≥ 0.5 of a row's attention on one target). */
  headRoles?: import('./metrics/specialTokens').RoleHead[];
  structureHeads?: import('./metrics/structureHeads').StructureHeadsReport;
  dataFlow?: import('./metrics/dataFlowScore').DataFlowScoreReport;
  [metric: string]: unknown;
}
