import type { DataFlowEdge, DataFlowGraph, LanguageId, ParsedSource, SyntaxNode } from '../types';

/**
 * Data-flow graphs in the manner of GraphCodeBERT (Guo et al., ICLR 2021): nodes are variable
 * occurrences (identifier code tokens); `comesFrom` links a use to the occurrences its value may
 * come from, `computedFrom` links an assigned variable to the variables of the expression it is
 * computed from. The walk keeps, for every name, the occurrences that last defined it:
 *
 * - a use of a known name comesFrom its current definitions; an unknown name becomes a definition;
 * - an assignment visits its right side first, then every variable on the left is computedFrom
 *   every variable on the right and becomes the name's only definition;
 * - an `if` visits its condition and consequence in sequence; each `elif`/`else` starts from the
 *   state before the `if`; the states are merged (union), including the state before the `if`
 *   when there is no `else`;
 * - `for` and `while` loops are walked twice so values carried around the loop are linked; edges
 *   of the two passes are merged.
 *
 * Deviations from the reference, on purpose: only identifiers are nodes (the reference also makes
 * isolated nodes of literals); self-loops from the second loop pass are dropped; an augmented
 * assignment (`x += 1`) also reads its target, so the target comesFrom its previous definitions.
 * Languages without rules here return undefined.
 */
export function extractDataFlow(parsed: ParsedSource): DataFlowGraph | undefined {
  const rules = RULES[parsed.language];
  if (!rules) return undefined;
  const walker = new DataFlowWalker(parsed, rules);
  walker.visit(0, new Map());
  return walker.graph();
}

export function supportsDataFlow(language: LanguageId): boolean {
  return RULES[language] !== undefined;
}

type States = Map<string, number[]>;

interface LanguageRules {
  identifiers: Set<string>;
  assignments: Set<string>;
  augmentedAssignments: Set<string>;
  defaultParameters: Set<string>;
  ifStatements: Set<string>;
  branchClauses: Set<string>;
  forStatements: Set<string>;
  whileStatements: Set<string>;
}

const RULES: Partial<Record<LanguageId, LanguageRules>> = {
  python: {
    identifiers: new Set(['identifier']),
    assignments: new Set(['assignment']),
    augmentedAssignments: new Set(['augmented_assignment']),
    defaultParameters: new Set(['default_parameter', 'typed_default_parameter']),
    ifStatements: new Set(['if_statement']),
    branchClauses: new Set(['elif_clause', 'else_clause']),
    forStatements: new Set(['for_statement']),
    whileStatements: new Set(['while_statement']),
  },
};

class DataFlowWalker {
  private readonly edges = new Map<string, DataFlowEdge>();
  private readonly nodes = new Set<number>();

  constructor(
    private readonly parsed: ParsedSource,
    private readonly rules: LanguageRules,
  ) {}

  private node(id: number): SyntaxNode {
    return this.parsed.tree.nodes[id];
  }

  private child(id: number, field: string): number | undefined {
    return this.node(id).children.find((child) => this.node(child).field === field);
  }

  private name(token: number): string {
    return this.parsed.tokens[token].text;
  }

  private addEdge(from: number, to: number, kind: DataFlowEdge['kind']): void {
    if (from === to) return;
    this.nodes.add(from);
    this.nodes.add(to);
    this.edges.set(`${from}:${to}:${kind}`, { from, to, kind });
  }

  /** Identifier tokens under a node, in source order. */
  private variables(id: number): number[] {
    const out: number[] = [];
    const stack = [id];
    while (stack.length) {
      const current = this.node(stack.pop()!);
      if (current.token >= 0 && this.rules.identifiers.has(current.type)) out.push(current.token);
      for (let c = current.children.length - 1; c >= 0; c--) stack.push(current.children[c]);
    }
    return out.sort((a, b) => a - b);
  }

  private assign(targets: number[], sources: number[], states: States): void {
    for (const target of targets) {
      this.nodes.add(target);
      for (const source of sources) this.addEdge(target, source, 'computedFrom');
      states.set(this.name(target), [target]);
    }
  }

  visit(id: number, states: States): States {
    const node = this.node(id);
    const rules = this.rules;
    if (node.children.length === 0) {
      if (node.token < 0 || !rules.identifiers.has(node.type)) return states;
      const name = this.name(node.token);
      this.nodes.add(node.token);
      const sources = states.get(name);
      if (sources) for (const source of sources) this.addEdge(node.token, source, 'comesFrom');
      else states.set(name, [node.token]);
      return states;
    }
    if (rules.defaultParameters.has(node.type)) {
      const value = this.child(id, 'value');
      const name = this.child(id, 'name');
      if (value !== undefined) states = this.visit(value, states);
      if (name !== undefined) this.assign(this.variables(name), value === undefined ? [] : this.variables(value), states);
      return states;
    }
    if (rules.assignments.has(node.type) || rules.augmentedAssignments.has(node.type)) {
      const left = this.child(id, 'left');
      const right = this.child(id, 'right');
      if (right !== undefined) states = this.visit(right, states);
      if (left === undefined) return states;
      const targets = this.variables(left);
      if (rules.augmentedAssignments.has(node.type)) {
        for (const target of targets) for (const source of states.get(this.name(target)) ?? []) this.addEdge(target, source, 'comesFrom');
      }
      this.assign(targets, right === undefined ? [] : this.variables(right), states);
      return states;
    }
    if (rules.ifStatements.has(node.type)) {
      let current = copy(states);
      const branches: States[] = [];
      let hasElse = false;
      for (const child of node.children) {
        const type = this.node(child).type;
        if (type.includes('else')) hasElse = true;
        if (rules.branchClauses.has(type)) branches.push(this.visit(child, copy(states)));
        else current = this.visit(child, current);
      }
      branches.push(current);
      if (!hasElse) branches.push(states);
      return merge(branches);
    }
    if (rules.forStatements.has(node.type)) {
      const left = this.child(id, 'left');
      const right = this.child(id, 'right');
      const body = this.child(id, 'body');
      for (let pass = 0; pass < 2; pass++) {
        if (right !== undefined) states = this.visit(right, states);
        if (left !== undefined) this.assign(this.variables(left), right === undefined ? [] : this.variables(right), states);
        if (body !== undefined) states = this.visit(body, states);
      }
      const alternative = this.child(id, 'alternative');
      if (alternative !== undefined) states = this.visit(alternative, states);
      return states;
    }
    if (rules.whileStatements.has(node.type)) {
      for (let pass = 0; pass < 2; pass++) for (const child of node.children) states = this.visit(child, states);
      return states;
    }
    for (const child of node.children) states = this.visit(child, states);
    return states;
  }

  graph(): DataFlowGraph {
    const edges = [...this.edges.values()].sort((a, b) => a.from - b.from || a.to - b.to || a.kind.localeCompare(b.kind));
    return { nodes: [...this.nodes].sort((a, b) => a - b), edges };
  }
}

function copy(states: States): States {
  return new Map([...states].map(([name, sources]) => [name, [...sources]]));
}

function merge(all: States[]): States {
  const merged: States = new Map();
  for (const states of all) {
    for (const [name, sources] of states) merged.set(name, [...new Set([...(merged.get(name) ?? []), ...sources])].sort((a, b) => a - b));
  }
  return merged;
}

/** Adjacency by token: for each code token, its outgoing data-flow edges (for hovers and drawing). */
export function dataFlowEdgesByToken(graph: DataFlowGraph, tokenCount: number): DataFlowEdge[][] {
  const byToken: DataFlowEdge[][] = Array.from({ length: tokenCount }, () => []);
  for (const edge of graph.edges) byToken[edge.from].push(edge);
  return byToken;
}
