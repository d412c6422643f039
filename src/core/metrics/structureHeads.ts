import { headMatrix } from '../alignment';
import type {
  AnalysisResult,
  DataFlowGraph,
  RelationAccuracy,
  StructureHeadsReport,
  StructureRelation,
} from '../types';
export type { StructureRelation, RelationAccuracy, StructureHeadsReport } from '../types';

export const RELATION_LABELS: Record<StructureRelation, string> = {
  previousToken: 'previous token',
  matchingBracket: 'matching bracket',
  parentLeaf: 'keyword/operator of the parent node',
  sibling: 'sibling (same parent node)',
  dataFlowSource: 'data-flow source',
};

const OPENING: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const CLOSING: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/**
 * For each code token a, the tokens b in the same window that stand in a relation to a. Bracket
 * partners are the opposite bracket among the leaves of the same parent node; the parent leaf is
 * any anonymous leaf child (keyword, operator, punctuation) of a's parent node; siblings share a's
 * parent node; data-flow sources are the targets of a's data-flow edges.
 */
export function relatedTokens(result: AnalysisResult, relation: StructureRelation, dataFlow?: DataFlowGraph): number[][] {
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
      else if (relation === 'matchingBracket' && (OPENING[token.text] === otherToken.text || CLOSING[token.text] === otherToken.text)) related[token.index].push(other);
    }
  }
  return related;
}

export function structureHeads(result: AnalysisResult, dataFlow?: DataFlowGraph): StructureHeadsReport {
  const relations: StructureRelation[] = ['previousToken', 'matchingBracket', 'parentLeaf', 'sibling'];
  if (dataFlow) relations.push('dataFlowSource');
  const report: StructureHeadsReport = {
    definition: 'argmax over the other code tokens of the window of each head’s token attention; chance = related tokens / (tokens in window − 1)',
    relations: {},
  };
  const { layers, heads } = result.model;
  const strongest = strongestOtherTokens(result);
  for (const relation of relations) {
    const related = relatedTokens(result, relation, dataFlow);
    const hits = Array.from({ length: layers }, () => new Array<number>(heads).fill(0));
    let chance = 0;
    let counted = 0;
    for (const [w, window] of result.windows.entries()) {
      const m = window.tokenEnd - window.tokenStart;
      for (let a = window.tokenStart; a < window.tokenEnd; a++) {
        const inWindow = related[a].filter((b) => b >= window.tokenStart && b < window.tokenEnd);
        if (!inWindow.length || m < 2) continue;
        counted++;
        chance += inWindow.length / (m - 1);
        const local = a - window.tokenStart;
        for (let l = 0; l < layers; l++) {
          for (let h = 0; h < heads; h++) {
            if (inWindow.includes(strongest[w][(l * heads + h) * m + local] + window.tokenStart)) hits[l][h]++;
          }
        }
      }
    }
    const chanceLevel = counted ? chance / counted : NaN;
    report.relations[relation] = {
      accuracy: hits.map((row) => row.map((value) => (counted ? value / counted : NaN))),
      chance: hits.map((row) => row.map(() => chanceLevel)),
      tokens: counted,
    };
  }
  return report;
}

/**
 * Per window, [layer][head][token]: the window-local index of the other token that the token's
 * row attends to most (first on ties; −1 in a one-token window).
 */
function strongestOtherTokens(result: AnalysisResult): Int32Array[] {
  const { layers, heads } = result.model;
  return result.windows.map((window) => {
    const m = window.tokenEnd - window.tokenStart;
    const strongest = new Int32Array(layers * heads * m).fill(-1);
    for (let l = 0; l < layers; l++) {
      for (let h = 0; h < heads; h++) {
        const matrix = headMatrix(window.tokenAttention, l, h);
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
  });
}

/**
 * Structure heads over many files: per relation, accuracies and chance levels averaged with each
 * file's token count as weight (so it is the share over all tokens of the corpus).
 */
export function mergeStructureHeads(reports: readonly StructureHeadsReport[]): StructureHeadsReport | undefined {
  if (!reports.length) return undefined;
  const merged: StructureHeadsReport = { definition: reports[0].definition, relations: {} };
  for (const relation of Object.keys(RELATION_LABELS) as StructureRelation[]) {
    const entries = reports.map((report) => report.relations[relation]).filter((entry): entry is RelationAccuracy => entry !== undefined && entry.tokens > 0);
    if (!entries.length) continue;
    const tokens = entries.reduce((sum, entry) => sum + entry.tokens, 0);
    const weighted = (pick: (entry: RelationAccuracy) => number[][]) =>
      pick(entries[0]).map((row, layer) => row.map((_, head) => entries.reduce((sum, entry) => sum + pick(entry)[layer][head] * entry.tokens, 0) / tokens));
    merged.relations[relation] = { accuracy: weighted((entry) => entry.accuracy), chance: weighted((entry) => entry.chance), tokens };
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
  entry.accuracy.forEach((row, layer) => row.forEach((accuracy, head) => ranked.push({ layer, head, accuracy, chance: entry.chance[layer][head] })));
  return ranked.sort((x, y) => y.accuracy - y.chance - (x.accuracy - x.chance)).slice(0, k);
}
