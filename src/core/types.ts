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
  /**
   * Types of the ancestors, nearest first, root last; at most the 64 nearest (`MAX_PARENT_TYPES`
   * in parser.ts), so that a deeply nested file costs linear memory.
   */
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
  /** For each subword position, the global code-token index, or -1 for special tokens (and raw-text whitespace). */
  tokenOfSubword: Int32Array;
  /**
   * Decoder windows only: the first code token scored here. Tokens in [tokenStart, scoredStart) are the
   * prefix, fed to the model as context for the rest (they were scored in the previous window): their
   * rows are not scored, their columns are.
   */
  scoredStart?: number;
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
  /** Whether the model exports `value_gram` (what the layer-level value-weighted view needs). */
  hasValueGram: boolean;
  /** A decoder (manifest `causal: true`): attention is over positions j ≤ i and the causal metrics are used. */
  causal?: boolean;
  /** `raw-text`: the file's text is encoded as it is (decoders); absent: code token by code token. */
  tokenization?: 'raw-text' | 'code-tokens';
  /** Whether each window starts with the `bos` token (decoders; encoders always have `<s>` … `</s>`). */
  addBos?: boolean;
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
  /**
   * G_j[h, h'] = <f_h(x_j), f_h'(x_j)> per layer and token, shape [layers, n, heads, heads]: the layer-level
   * ‖Σ_h α_h(i, j) f_h(x_j)‖ is sqrt(α(i, j)ᵀ G_j α(i, j)). Absent when the model lacks it.
   */
  valueGram?: Tensor;
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
  /** [layers, n, heads, heads]; absent when the model has no `value_gram` output; only while cached. */
  readonly valueGram?: Tensor;
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

/** The named sets of choices (`presets.ts`): `lens` (ours) and `reference` (CAT-probing's default run). */
export type PresetName = 'lens' | 'reference';

/** Code tokens: `whole-strings`, a string literal is one token; `leaves`, every childless node (`parser.ts`). */
export type TokenMode = 'whole-strings' | 'leaves';

export interface AnalysisOptions {
  keepComments: boolean;
  pairRule: PairRule;
  /** AST distance used by CAT-score. */
  distance: DistanceKind;
  /** Token types kept for CAT-score. */
  typeFilter: TypeFilter;
  /** The preset the choices came from (`presets.ts`); absent in results from before presets. */
  preset?: PresetName;
  /** Code tokens: whole string literals (default) or every tree leaf. */
  tokens?: TokenMode;
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
  /** A decoder's result: CAT, data flow, rollout and flow are the causal versions (docs/causal.md). */
  causal?: true;
  /** Windows that ran the model, and windows carried over unchanged from a previous analysis (`reanalyze`). */
  windowRuns?: { forward: number; reused: number };
  /**
   * Only on a partial result (`AnalyzeOptions.onPartial`): `windows` holds the windows done so far
   * (in file order) and `scores` sums over them; the final result has no such field.
   */
  partial?: { windowsDone: number; windowsTotal: number };
}

/**
 * Per-metric reports of a whole file. Each metric module declares its own typed field here
 * (cat, dataFlow, structureHeads, specialTokens, …). The pipeline fills in the reports asked for;
 * `completeScores` adds the others when a view needs them.
 */
export interface AnalysisScores {
  cat?: CatScoreReport;
  headStatistics?: HeadStatistics;
  /** Sink and positional heads (share ≥ 0.5 of a row's attention on one target). */
  headRoles?: RoleHead[];
  structureHeads?: StructureHeadsReport;
  dataFlow?: DataFlowScoreReport;
  /** Decoders only: attention on each window's first position per head (metrics/causalSinks.ts). */
  sinks?: SinkReport;
  [metric: string]: unknown;
}

// Reports of the metrics (src/core/metrics/*): declared here so that types flow one way, from this
// module to the metrics, which re-export them.

/**
 * `ast`: tree distance. `upgraded`: the CAT-probing reference's upgraded AST (`get_sast`, its default).
 * `upgraded-names`: our earlier variant of it, whose same-name edges link every token type containing
 * "identifier" (also across types, e.g. a Java `type_identifier` to an `identifier` of the same text).
 */
export type DistanceKind = 'ast' | 'upgraded' | 'upgraded-names';

/**
 * Which token types CAT-score keeps. `reference`: the per-language list; `custom`: a given list;
 * `data`: chosen from the data per layer (`typesPerLayer[l]` for layer l; `types` is the last layer's,
 * and 'all' while the list is still to be derived from the result it is applied to).
 */
export type TypeFilter =
  | { kind: 'reference'; types: string[] | 'all'; source: string }
  | { kind: 'custom'; types: string[] | 'all'; source: string }
  | { kind: 'data'; types: string[] | 'all'; typesPerLayer?: string[][]; source: string };

export interface CatDefinition {
  quantile: number;
  attentionThreshold: string;
  distanceThreshold: string;
  distance: DistanceKind;
  pairRule: PairRule;
  headAggregation: string;
  keptTypes: string[] | 'all';
  /** Per layer, when the types were chosen per layer (`keptTypes` is then the last layer's). */
  keptTypesPerLayer?: string[][];
  typeSource: string;
  /** The preset and each of its choices, in words (see `presets.ts`). */
  preset?: string;
  choices?: string[];
  selfPairs: 'included';
  baseline: string;
  /** Decoders: the pairs are the causal support (b ≤ a) and this says how it is scored (metrics/causalCat.ts). */
  causal?: string;
}

export interface CatScoreReport {
  definition: CatDefinition;
  /** False when only layers were scored (`perHead` is then NaN): `completeScores` adds heads. */
  headsScored: boolean;
  score: LayerHeadScores;
  baseline: LayerHeadScores;
  /** Snippets (windows) that contributed; skipped ones have too few kept tokens. */
  snippets: number;
  tokensKept: number;
  /** Token pairs scored per layer or head: Σ k² over the contributing snippets (self-pairs included). */
  pairs: number;
  /** The thresholds in effect, averaged over snippets (exact for a one-window file). */
  thresholds: CatThresholdValues;
}

export interface CatThresholdValues {
  /** Pairs with distance below this are "near". */
  distance: number;
  /** Per layer: head-averaged token-pair attention above this is "high". */
  attentionPerLayer: number[];
}

/**
 * Head statistics in the style of Clark et al. 2019 ("What does BERT look at?"), per layer and
 * head, averaged over every code-token subword row of every window:
 * - attention mass on `<s>` and on `</s>` (attention sinks), and on punctuation (delimiter) tokens;
 * - mean row entropy (nats);
 * - positional behaviour: mass on the previous and on the next subword.
 */
export interface HeadStatistics {
  /** [layer][head] */
  bos: number[][];
  eos: number[][];
  punctuation: number[][];
  entropy: number[][];
  previous: number[][];
  next: number[][];
  /** Per layer, means over heads. */
  perLayer: {
    bos: number[];
    eos: number[];
    punctuation: number[];
    entropy: number[];
    previous: number[];
    next: number[];
  };
  rows: number;
  /**
   * Decoders (metrics/headStatistics.ts): rows are the scored code-token subwords, each over its
   * positions j ≤ i; `eos` and `next` are NaN (no decoder row can attend there); each statistic's
   * level under uniform causal attention over the same rows (entropy: the mean of ln(i + 1)).
   */
  causal?: { definition: string; chance: { bos: number; punctuation: number; previous: number; entropy: number } };
}

export type HeadRole = 'bosSink' | 'eosSink' | 'punctuationSink' | 'previousToken' | 'nextToken';

export interface RoleHead {
  layer: number;
  head: number;
  role: HeadRole;
  /** Mean share of a code-token row's attention that the role accounts for. */
  share: number;
}

export type StructureRelation =
  | 'previousToken'
  | 'matchingBracket'
  | 'closerToOpener'
  | 'openerToCloser'
  | 'parentLeaf'
  | 'sibling'
  | 'dataFlowSource';

export interface RelationAccuracy {
  /** [layer][head]: share of tokens whose strongest attention (to another token) hits the relation. */
  accuracy: number[][];
  /** [layer][head]: the same share if that attention went to a uniformly random other token. */
  chance: number[][];
  /** Tokens that have at least one related token (the denominator). */
  tokens: number;
  /**
   * Clark et al.'s fixed-offset baseline: for each offset k in `offsets`, the share of those tokens
   * whose related tokens include the token k positions away (in the window; for a decoder, among the
   * earlier candidates). Its best offset is what a head that only counts positions would score.
   */
  offsetBaseline?: { offsets: number[]; shares: number[] };
}

export interface StructureHeadsReport {
  definition: string;
  relations: Partial<Record<StructureRelation, RelationAccuracy>>;
}

/**
 * How much attention lies on data-flow edges, per layer (heads averaged) and per head.
 *
 * For every code token that has data-flow sources in its window, the share of its attention row
 * (over the window's code tokens) that lands on those sources; averaged over such tokens and
 * windows. The baseline replaces each edge's weight by the window's mean attention at the same
 * signed offset (j − i) over all rows: it keeps the distance profile of attention and ignores the
 * graph, so a score above it means attention follows data flow, not just proximity.
 */
export interface DataFlowScoreReport {
  definition: string;
  /** False when only layers were scored (`perHead` is then NaN): `completeScores` adds heads. */
  headsScored: boolean;
  score: LayerHeadScores;
  baseline: LayerHeadScores;
  /** Tokens with at least one data-flow source in their window. */
  tokens: number;
  edges: number;
  /** Decoders: data-flow edges inside windows whose source comes after the reader (left out) and before it. */
  forwardEdges?: number;
  backwardEdges?: number;
}

/** Attention sinks of a decoder (Gu et al. 2024), see metrics/causalSinks.ts. */
export interface SinkHead {
  layer: number;
  head: number;
  share: number;
}

export interface SinkReport {
  definition: string;
  threshold: number;
  /** α per layer and head: mean attention on the first position over all rows. */
  perHead: number[][];
  /** Mean of α over each layer's heads. */
  perLayer: number[];
  /** α under uniform causal attention over the same rows (H_T / T per window, averaged over rows). */
  chance: number;
  /** Heads with α above the threshold, strongest first. */
  sinkHeads: SinkHead[];
  /** Share of all heads with α above the threshold (Gu et al.'s Sink_1^ε). */
  sinkRate: number;
  rows: number;
}
