import { headMatrix } from '../alignment';
import type {
  AnalysisResult,
  DataFlowGraph,
  RelationAccuracy,
  StructureHeadsReport,
  StructureRelation,
  Tensor,
} from '../types';
export type { StructureRelation, RelationAccuracy, StructureHeadsReport } from '../types';

export const RELATION_LABELS: Record<StructureRelation, string> = {
  previousToken: 'previous token',
  matchingBracket: 'matching bracket (either direction)',
  closerToOpener: 'matching bracket, closing → opening',
  openerToCloser: 'matching bracket, opening → closing',
  parentLeaf: 'keyword/operator of the parent node',
  sibling: 'sibling (same parent node)',
  dataFlowSource: 'data-flow source',
};

const OPENING: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const CLOSING: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/**
 * For each code token a, the tokens b in the same window that stand in a relation to a. Bracket
 * partners are the opposite bracket among the leaves of the same parent node, in either direction
 * or, as Clark et al. (2019) score each relation, in one direction (a closer's row to its opener,
 * an opener's row to its closer: small models learn the two in different heads); the parent leaf is
 * any anonymous leaf child (keyword, operator, punctuation) of a's parent node; siblings share a's
 * parent node; data-flow sources are the targets of a's data-flow edges.
 */
export function relatedTokens(
  result: Pick<AnalysisResult, 'tokens' | 'tree'>,
  relation: StructureRelation,
  dataFlow?: DataFlowGraph,
): number[][] {
  const { tokens, tree } = result;
  const related: number[][] = tokens.map(() => []);
  if (relation === 'previousToken') {
    for (let a = 1; a < tokens.length; a++) related[a].push(a - 1);
    return related;
  }
  if (relation === 'dataFlowSource') {
    for (const edge of dataFlow?.edges ?? []) related[edge.from].push(edge.to);
    return related;
  }
  for (const token of tokens) {
    const parent = tree.nodes[token.node].parent;
    if (parent < 0) continue;
    for (const child of tree.nodes[parent].children) {
      const other = tree.nodes[child].token;
      if (other < 0 || other === token.index) continue;
      const otherToken = tokens[other];
      if (relation === 'sibling') related[token.index].push(other);
      else if (relation === 'parentLeaf' && !tree.nodes[child].named) related[token.index].push(other);
      else if (isBracketPartner(relation, token.text, otherToken.text)) related[token.index].push(other);
    }
  }
  return related;
}

function isBracketPartner(relation: StructureRelation, text: string, otherText: string): boolean {
  if (relation === 'closerToOpener') return CLOSING[text] === otherText;
  if (relation === 'openerToCloser') return OPENING[text] === otherText;
  return relation === 'matchingBracket' && (OPENING[text] === otherText || CLOSING[text] === otherText);
}

export const STRUCTURE_DEFINITION =
  'argmax over the other code tokens of the window of each head’s token attention; chance = related ' +
  'tokens / (tokens in window − 1)';

/**
 * A decoder's row a sees only the positions before it, so the choice is among the earlier tokens.
 * bos has no code-token column; without bos, the window's first token holds the attention sink and
 * is no candidate either (a sink would otherwise win most rows' argmax).
 */
export const CAUSAL_STRUCTURE_DEFINITION =
  'causal (j < i): argmax over the earlier code tokens of the window (its unscored prefix included) of each ' +
  'head’s token attention, for the rows of the scored tokens; a relation counts only its earlier related ' +
  'tokens, rows without one are left out; chance = earlier related tokens / earlier tokens. bos has no ' +
  'code-token column; without bos the window’s first token (the attention sink) is no candidate';

/** Whether a structure-heads report (of a file or a corpus) was scored on causal rows. */
export function isCausalStructureReport(report: Pick<StructureHeadsReport, 'definition'>): boolean {
  return report.definition === CAUSAL_STRUCTURE_DEFINITION;
}

/** A relation's name in a report: a causal report's matching bracket is its closing → opening direction. */
export function relationLabel(relation: StructureRelation, report: Pick<StructureHeadsReport, 'definition'>): string {
  if (relation === 'matchingBracket' && isCausalStructureReport(report)) return RELATION_LABELS.closerToOpener;
  return RELATION_LABELS[relation];
}

/**
 * The relations a report scores. A causal row sees only earlier tokens, so its matching bracket is
 * already the closing → opening direction, and the two directed relations are left out.
 */
export function structureRelations(dataFlow?: DataFlowGraph, causal = false): StructureRelation[] {
  const relations: StructureRelation[] = causal
    ? ['previousToken', 'matchingBracket', 'parentLeaf', 'sibling']
    : ['previousToken', 'matchingBracket', 'closerToOpener', 'openerToCloser', 'parentLeaf', 'sibling'];
  if (dataFlow) relations.push('dataFlowSource');
  return relations;
}

export function structureHeads(result: AnalysisResult, dataFlow?: DataFlowGraph): StructureHeadsReport {
  const relations = structureRelations(dataFlow, result.causal === true);
  const related = new Map(relations.map((relation) => [relation, relatedTokens(result, relation, dataFlow)]));
  const { layers, heads } = result.model;
  const total = newStructurePartial(relations, layers, heads);
  for (const window of result.windows) {
    const rows = structureRows(window, related);
    mergeStructurePartial(
      total,
      result.causal
        ? causalStructureWindowPartial(window, rows, window.tokenAttention, layers, heads, causalSupport(window))
        : structureWindowPartial(window, rows, window.tokenAttention, layers, heads),
    );
  }
  return finishStructureHeads(total, result.causal ? CAUSAL_STRUCTURE_DEFINITION : STRUCTURE_DEFINITION);
}

/** Per relation, for each token of a window (window-local), its related tokens in the window (window-local). */
export type StructureRows = Map<StructureRelation, number[][]>;

export function structureRows(
  window: { tokenStart: number; tokenEnd: number },
  related: ReadonlyMap<StructureRelation, number[][]>,
): StructureRows {
  const rows: StructureRows = new Map();
  for (const [relation, lists] of related) {
    const local: number[][] = [];
    for (let a = window.tokenStart; a < window.tokenEnd; a++)
      local.push(
        lists[a].filter((b) => b >= window.tokenStart && b < window.tokenEnd).map((b) => b - window.tokenStart),
      );
    rows.set(relation, local);
  }
  return rows;
}

/** The offsets of the fixed-offset baseline (Clark et al. 2019): up to 8 tokens either way. */
export const BASELINE_OFFSETS = [-8, -7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7, 8];

/**
 * Per relation: hits per layer and head, the sum of chance levels, the tokens counted and, per
 * offset of {@link BASELINE_OFFSETS}, the counted tokens whose related tokens include that offset.
 */
export type StructurePartial = Map<
  StructureRelation,
  { hits: number[][]; chance: number; counted: number; offsetHits: number[] }
>;

export function newStructurePartial(
  relations: readonly StructureRelation[],
  layers: number,
  heads: number,
): StructurePartial {
  return new Map(
    relations.map((relation) => [
      relation,
      {
        hits: Array.from({ length: layers }, () => new Array<number>(heads).fill(0)),
        chance: 0,
        counted: 0,
        offsetHits: BASELINE_OFFSETS.map(() => 0),
      },
    ]),
  );
}

export function mergeStructurePartial(total: StructurePartial, part: StructurePartial): StructurePartial {
  for (const [relation, entry] of part) {
    const into = total.get(relation)!;
    entry.hits.forEach((row, l) => row.forEach((value, h) => (into.hits[l][h] += value)));
    into.chance += entry.chance;
    into.counted += entry.counted;
    entry.offsetHits.forEach((value, k) => (into.offsetHits[k] += value));
  }
  return total;
}

/** Adds token `local`'s related tokens to the offset counts (`related` window-local). */
function countOffsets(offsetHits: number[], local: number, related: readonly number[]): void {
  BASELINE_OFFSETS.forEach((offset, k) => {
    if (related.includes(local + offset)) offsetHits[k]++;
  });
}

/** One window's hits, from every head's token attention [layers, heads, m, m]. */
export function structureWindowPartial(
  window: { tokenStart: number; tokenEnd: number },
  rows: StructureRows,
  tokenAttention: Tensor,
  layers: number,
  heads: number,
): StructurePartial {
  const partial = newStructurePartial([...rows.keys()], layers, heads);
  const m = window.tokenEnd - window.tokenStart;
  if (m < 2) return partial;
  const strongest = strongestOtherTokens(tokenAttention, m, layers, heads);
  for (const [relation, lists] of rows) {
    const entry = partial.get(relation)!;
    for (let local = 0; local < m; local++) {
      const inWindow = lists[local];
      if (!inWindow.length) continue;
      entry.counted++;
      entry.chance += inWindow.length / (m - 1);
      countOffsets(entry.offsetHits, local, inWindow);
      for (let l = 0; l < layers; l++) {
        for (let h = 0; h < heads; h++)
          if (inWindow.includes(strongest[(l * heads + h) * m + local])) entry.hits[l][h]++;
      }
    }
  }
  return partial;
}

/**
 * What a decoder window's rows may choose among: the scored rows start at `firstRow` (window-local;
 * the prefix before it is fed but not scored); `hasSubword[b]` is 1 for a token with a subword of its
 * own in the window (it has a row and a column), and `candidate[b]` for such a token that is not the
 * first-position sink.
 */
export interface CausalSupport {
  firstRow: number;
  hasSubword: Uint8Array;
  candidate: Uint8Array;
}

/** The causal support of a decoder window (see {@link CausalSupport}). */
export function causalSupport(window: {
  tokenStart: number;
  tokenEnd: number;
  scoredStart?: number;
  tokenOfSubword: Int32Array;
}): CausalSupport {
  const hasSubword = new Uint8Array(window.tokenEnd - window.tokenStart);
  for (const token of window.tokenOfSubword) if (token >= window.tokenStart) hasSubword[token - window.tokenStart] = 1;
  const candidate = hasSubword.slice();
  const first = window.tokenOfSubword[0];
  if (first >= window.tokenStart) candidate[first - window.tokenStart] = 0;
  return { firstRow: (window.scoredStart ?? window.tokenStart) - window.tokenStart, hasSubword, candidate };
}

/**
 * {@link structureWindowPartial} for a decoder: row a (scored, with a subword of its own) chooses
 * among the candidates b < a, and only its related candidates b < a count.
 */
export function causalStructureWindowPartial(
  window: { tokenStart: number; tokenEnd: number },
  rows: StructureRows,
  tokenAttention: Tensor,
  layers: number,
  heads: number,
  support: CausalSupport,
): StructurePartial {
  const partial = newStructurePartial([...rows.keys()], layers, heads);
  const m = window.tokenEnd - window.tokenStart;
  const { candidate, firstRow } = support;
  const earlier = new Int32Array(m);
  for (let a = 1; a < m; a++) earlier[a] = earlier[a - 1] + candidate[a - 1];
  const strongest = strongestEarlierTokens(tokenAttention, m, layers, heads, support);
  for (const [relation, lists] of rows) {
    const entry = partial.get(relation)!;
    for (let local = firstRow; local < m; local++) {
      if (!support.hasSubword[local] || !earlier[local]) continue;
      const related = lists[local].filter((b) => b < local && candidate[b]);
      if (!related.length) continue;
      entry.counted++;
      entry.chance += related.length / earlier[local];
      countOffsets(entry.offsetHits, local, related);
      for (let l = 0; l < layers; l++) {
        for (let h = 0; h < heads; h++)
          if (related.includes(strongest[(l * heads + h) * m + local])) entry.hits[l][h]++;
      }
    }
  }
  return partial;
}

/**
 * [layer][head][token]: the window-local index of the candidate b < a that row a attends to most
 * (first on ties); −1 for rows before `firstRow`, rows without an earlier candidate, and rows of
 * tokens without a subword (they have no row).
 */
function strongestEarlierTokens(
  tokenAttention: Tensor,
  m: number,
  layers: number,
  heads: number,
  { firstRow, hasSubword, candidate }: CausalSupport,
): Int32Array {
  const strongest = new Int32Array(layers * heads * m).fill(-1);
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      const matrix = headMatrix(tokenAttention, l, h);
      for (let a = firstRow; a < m; a++) {
        if (!hasSubword[a]) continue;
        let best = -1;
        let bestValue = -Infinity;
        for (let b = 0, x = a * m; b < a; b++, x++) {
          if (candidate[b] && matrix[x] > bestValue) {
            bestValue = matrix[x];
            best = b;
          }
        }
        strongest[(l * heads + h) * m + a] = best;
      }
    }
  }
  return strongest;
}

export function finishStructureHeads(total: StructurePartial, definition = STRUCTURE_DEFINITION): StructureHeadsReport {
  const report: StructureHeadsReport = { definition, relations: {} };
  for (const [relation, { hits, chance, counted, offsetHits }] of total) {
    const chanceLevel = counted ? chance / counted : NaN;
    report.relations[relation] = {
      accuracy: hits.map((row) => row.map((value) => (counted ? value / counted : NaN))),
      chance: hits.map((row) => row.map(() => chanceLevel)),
      tokens: counted,
      offsetBaseline: {
        offsets: [...BASELINE_OFFSETS],
        shares: offsetHits.map((value) => (counted ? value / counted : NaN)),
      },
    };
  }
  return report;
}

/** The best fixed offset of a relation (the first of equal shares), or undefined without a baseline. */
export function bestOffset(entry: RelationAccuracy): { offset: number; share: number } | undefined {
  const baseline = entry.offsetBaseline;
  if (!baseline?.shares.length) return undefined;
  let best = 0;
  baseline.shares.forEach((share, k) => {
    if (share > baseline.shares[best]) best = k;
  });
  return Number.isFinite(baseline.shares[best])
    ? { offset: baseline.offsets[best], share: baseline.shares[best] }
    : undefined;
}

/**
 * [layer][head][token]: the window-local index of the other token that the token's row attends
 * to most (first on ties; −1 in a one-token window).
 */
function strongestOtherTokens(tokenAttention: Tensor, m: number, layers: number, heads: number): Int32Array {
  const strongest = new Int32Array(layers * heads * m).fill(-1);
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      const matrix = headMatrix(tokenAttention, l, h);
      for (let a = 0; a < m; a++) {
        let best = -1;
        let bestValue = -Infinity;
        for (let b = 0, x = a * m; b < m; b++, x++) {
          if (b !== a && matrix[x] > bestValue) {
            bestValue = matrix[x];
            best = b;
          }
        }
        strongest[(l * heads + h) * m + a] = best;
      }
    }
  }
  return strongest;
}

/**
 * Structure heads over many files: per relation, accuracies and chance levels averaged with each
 * file's token count as weight (so it is the share over all tokens of the corpus).
 */
export function mergeStructureHeads(reports: readonly StructureHeadsReport[]): StructureHeadsReport | undefined {
  if (!reports.length) return undefined;
  const merged: StructureHeadsReport = { definition: reports[0].definition, relations: {} };
  for (const relation of Object.keys(RELATION_LABELS) as StructureRelation[]) {
    const entries = reports
      .map((report) => report.relations[relation])
      .filter((entry): entry is RelationAccuracy => entry !== undefined && entry.tokens > 0);
    if (!entries.length) continue;
    const tokens = entries.reduce((sum, entry) => sum + entry.tokens, 0);
    const weighted = (pick: (entry: RelationAccuracy) => number[][]) =>
      pick(entries[0]).map((row, layer) =>
        row.map((_, head) => entries.reduce((sum, entry) => sum + pick(entry)[layer][head] * entry.tokens, 0) / tokens),
      );
    const withBaseline = entries.filter((entry) => entry.offsetBaseline);
    const baselineTokens = withBaseline.reduce((sum, entry) => sum + entry.tokens, 0);
    merged.relations[relation] = {
      accuracy: weighted((entry) => entry.accuracy),
      chance: weighted((entry) => entry.chance),
      tokens,
      ...(withBaseline.length === entries.length && baselineTokens > 0
        ? {
            offsetBaseline: {
              offsets: [...withBaseline[0].offsetBaseline!.offsets],
              shares: withBaseline[0].offsetBaseline!.shares.map(
                (_, k) =>
                  withBaseline.reduce((sum, entry) => sum + entry.offsetBaseline!.shares[k] * entry.tokens, 0) /
                  baselineTokens,
              ),
            },
          }
        : {}),
    };
  }
  return merged;
}

export interface RankedHead {
  layer: number;
  head: number;
  accuracy: number;
  chance: number;
}

/** Heads ranked by accuracy above chance for one relation. */
export function topHeads(report: StructureHeadsReport, relation: StructureRelation, k = 3): RankedHead[] {
  const entry = report.relations[relation];
  if (!entry) return [];
  const ranked: RankedHead[] = [];
  entry.accuracy.forEach((row, layer) =>
    row.forEach((accuracy, head) => ranked.push({ layer, head, accuracy, chance: entry.chance[layer][head] })),
  );
  return ranked.sort((x, y) => y.accuracy - y.chance - (x.accuracy - x.chance)).slice(0, k);
}
