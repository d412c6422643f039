import type { CodeToken, DistanceKind, SyntaxTree } from './types';
export type { DistanceKind } from './types';

export const DISTANCE_KINDS: readonly DistanceKind[] = ['ast', 'upgraded', 'upgraded-names'];

/**
 * Tree distance (number of edges on the path through the lowest common ancestor) between every
 * pair of the given tokens, as a row-major m×m Int32Array.
 *
 * Tokens must be in source order, which is the pre-order of their leaves. For leaves in pre-order,
 * the depth of the LCA of leaves i < j is the minimum, over k in [i, j), of the LCA depth of the
 * adjacent leaves k and k + 1; so all pairs cost O(m²) with a running minimum, after m − 1
 * pairwise LCA walks.
 */
export function astDistances(tree: SyntaxTree, tokens: readonly CodeToken[]): Int32Array {
  const m = tokens.length;
  const distances = new Int32Array(m * m);
  const { depth, adjacentLcaDepth } = astDistanceBasis(tree, tokens);
  for (let i = 0; i < m; i++) {
    let minimum = Number.MAX_SAFE_INTEGER;
    for (let j = i + 1; j < m; j++) {
      minimum = Math.min(minimum, adjacentLcaDepth[j - 1]);
      const distance = depth[i] + depth[j] - 2 * minimum;
      distances[i * m + j] = distance;
      distances[j * m + i] = distance;
    }
  }
  return distances;
}

/**
 * What {@link astDistances} between `tokens` (source order) follow from, in O(m) numbers: each token's
 * depth and the depth of the lowest common ancestor of each adjacent pair. Equal bases, equal distances.
 */
export function astDistanceBasis(
  tree: SyntaxTree,
  tokens: readonly CodeToken[],
): { depth: Int32Array; adjacentLcaDepth: Int32Array } {
  const m = tokens.length;
  const depth = Int32Array.from(tokens, (token) => tree.nodes[token.node].depth);
  const adjacentLcaDepth = new Int32Array(Math.max(0, m - 1));
  for (let k = 0; k + 1 < m; k++) adjacentLcaDepth[k] = lcaDepth(tree, tokens[k].node, tokens[k + 1].node);
  return { depth, adjacentLcaDepth };
}

export function lcaDepth(tree: SyntaxTree, a: number, b: number): number {
  const nodes = tree.nodes;
  while (nodes[a].depth > nodes[b].depth) a = nodes[a].parent;
  while (nodes[b].depth > nodes[a].depth) b = nodes[b].parent;
  while (a !== b) {
    a = nodes[a].parent;
    b = nodes[b].parent;
  }
  return nodes[a].depth;
}

/**
 * Our variant of the upgraded AST (`upgraded-names`): shortest paths in the syntax tree plus an edge
 * between consecutive code tokens plus an edge between successive occurrences of the same text among
 * tokens whose type contains "identifier" (any such type, across types). `allTokens` are all code tokens
 * of the file (the extra edges use them all, comments too when kept); distances are returned for
 * `tokens`, a subset in source order.
 */
export function upgradedAstDistances(
  tree: SyntaxTree,
  allTokens: readonly CodeToken[],
  tokens: readonly CodeToken[],
): Int32Array {
  const extra: number[][] = Array.from({ length: tree.nodes.length }, () => []);
  const lastOccurrence = new Map<string, number>();
  for (let k = 0; k < allTokens.length; k++) {
    const token = allTokens[k];
    if (k > 0) linkNodes(extra, allTokens[k - 1].node, token.node);
    if (/identifier/.test(token.type)) {
      const previous = lastOccurrence.get(token.text);
      if (previous !== undefined) linkNodes(extra, previous, token.node);
      lastOccurrence.set(token.text, token.node);
    }
  }
  return shortestPathDistances(tree, extra, tokens);
}

/**
 * The CAT-probing reference's upgraded AST (`get_sast` in its `attention.py`, on by default): the tree
 * plus an edge between consecutive leaves plus an edge from each leaf of type exactly `identifier` to
 * the previous leaf of type `identifier` with the same text. Its leaves are every childless node but
 * the root, comments excepted, zero-width ones (MISSING nodes) included: they carry no subword, so
 * they never get a score row, but they are links of the consecutive-leaf chain. Run it on a tree
 * parsed with `tokens: 'leaves'` to get the reference's leaves; on a whole-string tree a string
 * literal is one leaf. Distances are returned for `tokens` (source order).
 */
export function sastDistances(
  tree: SyntaxTree,
  source: string,
  commentTypes: readonly string[],
  tokens: readonly CodeToken[],
): Int32Array {
  const comments = new Set(commentTypes);
  const extra: number[][] = Array.from({ length: tree.nodes.length }, () => []);
  const lastIdentifier = new Map<string, number>();
  let previousLeaf = -1;
  for (const node of tree.nodes) {
    if (node.children.length > 0 || node.parent < 0 || comments.has(node.type)) continue;
    if (previousLeaf >= 0) linkNodes(extra, previousLeaf, node.id);
    previousLeaf = node.id;
    if (node.type !== 'identifier') continue;
    const text = source.slice(node.startIndex, node.endIndex);
    const previous = lastIdentifier.get(text);
    if (previous !== undefined) linkNodes(extra, previous, node.id);
    lastIdentifier.set(text, node.id);
  }
  return shortestPathDistances(tree, extra, tokens);
}

function linkNodes(extra: number[][], a: number, b: number): void {
  extra[a].push(b);
  extra[b].push(a);
}

/** Breadth-first shortest path lengths over tree edges plus `extra` edges, between the given tokens. */
function shortestPathDistances(tree: SyntaxTree, extra: readonly number[][], tokens: readonly CodeToken[]): Int32Array {
  const nodeCount = tree.nodes.length;
  const m = tokens.length;
  const distances = new Int32Array(m * m);
  const seen = new Int32Array(nodeCount);
  const queue = new Int32Array(nodeCount);
  const level = new Int32Array(nodeCount);
  let stamp = 0;
  for (let i = 0; i < m; i++) {
    stamp++;
    let head = 0;
    let tail = 0;
    queue[tail++] = tokens[i].node;
    seen[tokens[i].node] = stamp;
    level[tokens[i].node] = 0;
    while (head < tail) {
      const node = queue[head++];
      const visit = (next: number) => {
        if (next >= 0 && seen[next] !== stamp) {
          seen[next] = stamp;
          level[next] = level[node] + 1;
          queue[tail++] = next;
        }
      };
      visit(tree.nodes[node].parent);
      for (const child of tree.nodes[node].children) visit(child);
      for (const other of extra[node]) visit(other);
    }
    for (let j = 0; j < m; j++) distances[i * m + j] = level[tokens[j].node];
  }
  return distances;
}
