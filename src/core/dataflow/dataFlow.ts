import type { DataFlowEdge, DataFlowGraph, LanguageId, ParsedSource, SyntaxNode } from '../types';

/**
 * Data-flow graphs in the manner of GraphCodeBERT (Guo et al., ICLR 2021; the reference is DFG.py
 * of its code-search parser): nodes are variable occurrences (code-token indices); `comesFrom`
 * links a use to the occurrences its value may come from, `computedFrom` links an assigned
 * variable to the variables of the expression it is computed from. One walker serves every
 * language; the per-language tables below only name the node types. The walk keeps, for every
 * name, the occurrences that last defined it:
 *
 * - a use of a known name comesFrom its current definitions; an unknown name (a global, a
 *   builtin) becomes a definition;
 * - an assignment or declaration visits its value first, then every variable on the left is
 *   computedFrom every variable of the value and becomes the name's only definition; parallel
 *   assignments (`a, b = b, a`) pair the sides element by element;
 * - an `if` visits its initializer and condition, then the consequence; each `else`/`elif` starts
 *   from the state after the condition; the states are merged (union), together with the state
 *   after the condition when there is no final `else`;
 * - loops are walked twice so values carried around the loop are linked; a C-style `for` runs its
 *   initializer once and then condition, body, update on each pass; a for-each loop assigns the
 *   iterated expression's variables to its loop variables on each pass;
 * - `try`: each handler starts from the union of the states before and after the protected body;
 *   `finally` continues from the union of the body and all handlers;
 * - functions, methods and lambdas are scopes: the name is defined where the function is, the
 *   parameters are fresh definitions, the body sees the enclosing definitions, and nothing the
 *   body defines leaks out (Ruby blocks are not scopes: they run in place like loop bodies);
 * - comprehensions walk their `for`/`if` clauses before the element expression.
 *
 * As in the reference, the state after a loop is the state after its second pass (the case of
 * zero iterations is not merged in).
 *
 * Deviations from the reference, on purpose: only variables are nodes (identifiers, not member or
 * type names; the reference also makes nodes of literals);
 * self-loops are dropped; an augmented assignment (`x += 1`) or update (`i++`) reads its target,
 * so the target comesFrom its previous definitions (the reference makes `i` computedFrom itself);
 * `else` branches start after the condition, not before it (so Go's `if v := f(); …` reaches the
 * `else`); the C-style `for` update runs after the body (the reference walks it before); `try` is
 * modelled (the reference walks it in sequence); function scopes and fresh parameters are ours
 * (the reference sees one function at a time, so in a whole file it would link a parameter to an
 * earlier function's variable of the same name); `do … while` walks its body before its condition.
 * A nested function's body is walked where the function is defined, as in the reference. `switch`,
 * `case` and `match` arms are branches from the state after the subject (the reference walks them
 * in sequence); fall-through between arms is not followed. TypeScript uses the JavaScript tables
 * (type annotations hold no variables). Languages without rules here return undefined.
 */
export function extractDataFlow(parsed: ParsedSource): DataFlowGraph | undefined {
  const rules = RULES[parsed.language];
  if (!rules) return undefined;
  const walker = new DataFlowWalker(parsed, rules);
  walker.visit(0, new States());
  return walker.graph();
}

export function supportsDataFlow(language: LanguageId): boolean {
  return RULES[language] !== undefined;
}

/** Chains of forked states longer than this are flattened, so that lookups stay cheap. */
const MAX_STATE_DEPTH = 24;

/**
 * For every name, the occurrences (token indices) that may have defined its current value.
 * Branches fork the states in constant time: a fork records only its own definitions and reads
 * through to its parent, which must not change while the fork is in use (the walker only changes
 * the newest states). Definition lists are replaced, never changed in place, so they are shared.
 */
class States {
  private readonly own = new Map<string, number[]>();
  readonly depth: number;

  constructor(readonly parent?: States) {
    this.depth = parent ? parent.depth + 1 : 0;
  }

  get(name: string): number[] | undefined {
    for (let states: States | undefined = this; states; states = states.parent) {
      const sources = states.own.get(name);
      if (sources !== undefined) return sources;
    }
    return undefined;
  }

  set(name: string, sources: number[]): void {
    this.own.set(name, sources);
  }

  fork(): States {
    if (this.depth < MAX_STATE_DEPTH) return new States(this);
    const flat = new States();
    for (const [name, sources] of this.flatten()) flat.own.set(name, sources);
    return flat;
  }

  /** Names defined in this fork since `ancestor` (all names when `ancestor` is undefined). */
  namesSince(ancestor: States | undefined, into: Set<string>): void {
    for (let states: States | undefined = this; states && states !== ancestor; states = states.parent) {
      for (const name of states.own.keys()) into.add(name);
    }
  }

  private flatten(): Map<string, number[]> {
    const chain: States[] = [];
    for (let states: States | undefined = this; states; states = states.parent) chain.push(states);
    const flat = new Map<string, number[]>();
    for (let i = chain.length - 1; i >= 0; i--) for (const [name, sources] of chain[i].own) flat.set(name, sources);
    return flat;
  }
}

interface Fields {
  target: string[];
  value: string[];
}

interface LanguageRules {
  /** Leaf types that are variables; `variableParents` restricts a leaf type to one parent type. */
  variables: Set<string>;
  variableParents?: Record<string, string>;
  /** Names that are never variables (Go's blank identifier). */
  ignoredNames?: Set<string>;
  /** Assignments by node type: their target and value fields. */
  assignments: Record<string, Fields>;
  /** Assignment types that always read their target; others do when their operator is not `=`/`:=`. */
  augmentedAssignments: Set<string>;
  /** Declarations and parameters with an optional value (a missing value makes a fresh definition). */
  declarations: Record<string, Fields>;
  /** `i++` / `i--`: the target reads and redefines itself. */
  updates: Set<string>;
  conditionals: Set<string>;
  /** Else-if clauses that are siblings of the final else (Python `elif`, PHP `elseif`), not nested ifs. */
  flatElseIfs: Set<string>;
  loops: Set<string>;
  /** Children of a loop that hold its header (Go's `for_clause`, `range_clause`). */
  loopClauses: Set<string>;
  tries: Set<string>;
  handlers: Set<string>;
  finalizers: Set<string>;
  /** Functions, methods and lambdas: a scope whose parameters are fresh definitions. */
  functions: Set<string>;
  /** Switch-like statements, their arms (each a branch) and the arms that catch every other case. */
  switches: Set<string>;
  switchArms: Set<string>;
  defaultArms: Set<string>;
  /** Comprehensions: their `for`/`if` clauses run before the element expression (field `body`). */
  comprehensions?: Set<string>;
}

const PARALLEL_LISTS = new Set([
  'pattern_list',
  'expression_list',
  'tuple_pattern',
  'tuple',
  'left_assignment_list',
  'right_assignment_list',
  'array_pattern',
  'array',
]);

const LEFT_RIGHT: Fields = { target: ['left'], value: ['right'] };
const NAME_VALUE: Fields = { target: ['name'], value: ['value'] };

const JAVASCRIPT: LanguageRules = {
  variables: new Set(['identifier', 'shorthand_property_identifier_pattern', 'shorthand_property_identifier']),
  assignments: { assignment_expression: LEFT_RIGHT, augmented_assignment_expression: LEFT_RIGHT, assignment_pattern: LEFT_RIGHT },
  augmentedAssignments: new Set(['augmented_assignment_expression']),
  declarations: {
    variable_declarator: NAME_VALUE,
    required_parameter: { target: ['pattern'], value: ['value'] },
    optional_parameter: { target: ['pattern'], value: ['value'] },
  },
  updates: new Set(['update_expression']),
  conditionals: new Set(['if_statement']),
  flatElseIfs: new Set(),
  loops: new Set(['for_statement', 'for_in_statement', 'while_statement', 'do_statement']),
  loopClauses: new Set(),
  tries: new Set(['try_statement']),
  handlers: new Set(['catch_clause']),
  finalizers: new Set(['finally_clause']),
  functions: new Set([
    'function_declaration',
    'generator_function_declaration',
    'function_expression',
    'function',
    'generator_function',
    'arrow_function',
    'method_definition',
  ]),
  switches: new Set(['switch_statement']),
  switchArms: new Set(['switch_case', 'switch_default']),
  defaultArms: new Set(['switch_default']),
};

const RULES: Partial<Record<LanguageId, LanguageRules>> = {
  python: {
    variables: new Set(['identifier']),
    assignments: { assignment: LEFT_RIGHT, augmented_assignment: LEFT_RIGHT },
    augmentedAssignments: new Set(['augmented_assignment']),
    declarations: { default_parameter: NAME_VALUE, typed_default_parameter: NAME_VALUE, named_expression: NAME_VALUE, for_in_clause: LEFT_RIGHT },
    updates: new Set(),
    conditionals: new Set(['if_statement']),
    flatElseIfs: new Set(['elif_clause']),
    loops: new Set(['for_statement', 'while_statement']),
    loopClauses: new Set(),
    tries: new Set(['try_statement']),
    handlers: new Set(['except_clause', 'except_group_clause']),
    finalizers: new Set(['finally_clause']),
    functions: new Set(['function_definition', 'lambda']),
    switches: new Set(['match_statement']),
    switchArms: new Set(['case_clause']),
    defaultArms: new Set(),
    comprehensions: new Set(['list_comprehension', 'set_comprehension', 'dictionary_comprehension', 'generator_expression']),
  },
  java: {
    variables: new Set(['identifier']),
    assignments: { assignment_expression: LEFT_RIGHT },
    augmentedAssignments: new Set(),
    declarations: { variable_declarator: NAME_VALUE },
    updates: new Set(['update_expression']),
    conditionals: new Set(['if_statement']),
    flatElseIfs: new Set(),
    loops: new Set(['for_statement', 'enhanced_for_statement', 'while_statement', 'do_statement']),
    loopClauses: new Set(),
    tries: new Set(['try_statement', 'try_with_resources_statement']),
    handlers: new Set(['catch_clause']),
    finalizers: new Set(['finally_clause']),
    functions: new Set(['method_declaration', 'constructor_declaration', 'lambda_expression']),
    switches: new Set(['switch_expression', 'switch_statement']),
    switchArms: new Set(['switch_block_statement_group', 'switch_rule']),
    defaultArms: new Set(),
  },
  javascript: JAVASCRIPT,
  typescript: JAVASCRIPT,
  go: {
    variables: new Set(['identifier']),
    ignoredNames: new Set(['_']),
    assignments: { assignment_statement: LEFT_RIGHT, short_var_declaration: LEFT_RIGHT },
    augmentedAssignments: new Set(),
    declarations: { var_spec: NAME_VALUE, const_spec: NAME_VALUE },
    updates: new Set(['inc_statement', 'dec_statement']),
    conditionals: new Set(['if_statement']),
    flatElseIfs: new Set(),
    loops: new Set(['for_statement']),
    loopClauses: new Set(['for_clause', 'range_clause']),
    tries: new Set(),
    handlers: new Set(),
    finalizers: new Set(),
    functions: new Set(['function_declaration', 'method_declaration', 'func_literal']),
    switches: new Set(['expression_switch_statement', 'type_switch_statement', 'select_statement']),
    switchArms: new Set(['expression_case', 'type_case', 'communication_case', 'default_case']),
    defaultArms: new Set(['default_case']),
  },
  ruby: {
    variables: new Set(['identifier', 'instance_variable', 'class_variable', 'global_variable']),
    assignments: { assignment: LEFT_RIGHT, operator_assignment: LEFT_RIGHT },
    augmentedAssignments: new Set(['operator_assignment']),
    declarations: { optional_parameter: NAME_VALUE, keyword_parameter: NAME_VALUE },
    updates: new Set(),
    conditionals: new Set(['if', 'unless', 'elsif', 'if_modifier', 'unless_modifier']),
    flatElseIfs: new Set(),
    loops: new Set(['for', 'while', 'until', 'while_modifier', 'until_modifier']),
    loopClauses: new Set(),
    tries: new Set(['begin']),
    handlers: new Set(['rescue']),
    finalizers: new Set(['ensure']),
    functions: new Set(['method', 'singleton_method', 'lambda']),
    switches: new Set(['case', 'case_match']),
    switchArms: new Set(['when', 'in_clause', 'else']),
    defaultArms: new Set(['else']),
  },
  php: {
    variables: new Set(['name']),
    variableParents: { name: 'variable_name' },
    assignments: { assignment_expression: LEFT_RIGHT, augmented_assignment_expression: LEFT_RIGHT, reference_assignment_expression: LEFT_RIGHT },
    augmentedAssignments: new Set(['augmented_assignment_expression']),
    declarations: { simple_parameter: { target: ['name'], value: ['default_value'] } },
    updates: new Set(['update_expression']),
    conditionals: new Set(['if_statement']),
    flatElseIfs: new Set(['else_if_clause']),
    loops: new Set(['for_statement', 'foreach_statement', 'while_statement', 'do_statement']),
    loopClauses: new Set(),
    tries: new Set(['try_statement']),
    handlers: new Set(['catch_clause']),
    finalizers: new Set(['finally_clause']),
    functions: new Set(['function_definition', 'method_declaration', 'anonymous_function', 'arrow_function']),
    switches: new Set(['switch_statement', 'match_expression']),
    switchArms: new Set(['case_statement', 'default_statement', 'match_conditional_expression', 'match_default_expression']),
    defaultArms: new Set(['default_statement', 'match_default_expression']),
  },
};

const INIT_FIELDS = ['init', 'initializer', 'initialize'];
const UPDATE_FIELDS = ['update', 'increment'];
const LOOP_TARGET_FIELDS = ['left', 'name', 'pattern'];
const LOOP_VALUE_FIELDS = ['right', 'value'];
const PARAMETER_FIELDS = ['parameters', 'parameter', 'receiver'];

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

  private fields(id: number, names: string[]): number[] {
    return this.node(id).children.filter((child) => names.includes(this.node(child).field ?? ''));
  }

  private name(token: number): string {
    return this.parsed.tokens[token].text;
  }

  private isVariable(node: SyntaxNode): boolean {
    if (node.token < 0 || !this.rules.variables.has(node.type)) return false;
    if (this.rules.ignoredNames?.has(this.name(node.token))) return false;
    const parentType = this.rules.variableParents?.[node.type];
    return parentType === undefined || (node.parent >= 0 && this.node(node.parent).type === parentType);
  }

  private addEdge(from: number, to: number, kind: DataFlowEdge['kind']): void {
    if (from === to) return;
    this.nodes.add(from);
    this.nodes.add(to);
    this.edges.set(`${from}:${to}:${kind}`, { from, to, kind });
  }

  /** Variable tokens under the given nodes, in source order. */
  private variables(ids: number[]): number[] {
    const out: number[] = [];
    const stack = [...ids].reverse();
    while (stack.length) {
      const current = this.node(stack.pop()!);
      if (this.isVariable(current)) out.push(current.token);
      for (let c = current.children.length - 1; c >= 0; c--) stack.push(current.children[c]);
    }
    return out.sort((a, b) => a - b);
  }

  private namedChildren(ids: number[]): number[] {
    if (ids.length !== 1 || !PARALLEL_LISTS.has(this.node(ids[0]).type)) return ids;
    return this.node(ids[0]).children.filter((child) => this.node(child).named);
  }

  /** Every variable of `targets` is computedFrom the variables of `values` (element-wise for parallel lists). */
  private assign(targets: number[], values: number[], states: States, readsTarget = false): void {
    const targetItems = this.namedChildren(targets);
    const valueItems = this.namedChildren(values);
    const pairs: Array<[number[], number[]]> =
      targetItems.length > 1 && targetItems.length === valueItems.length
        ? targetItems.map((target, i) => [[target], [valueItems[i]]])
        : [[targets, values]];
    const definitions: number[] = [];
    for (const [targetIds, valueIds] of pairs) {
      const sources = this.variables(valueIds);
      for (const target of this.variables(targetIds)) {
        this.nodes.add(target);
        if (readsTarget) for (const previous of states.get(this.name(target)) ?? []) this.addEdge(target, previous, 'comesFrom');
        for (const source of sources) this.addEdge(target, source, 'computedFrom');
        definitions.push(target);
      }
    }
    for (const target of definitions) states.set(this.name(target), [target]);
  }

  private visitAll(ids: number[], states: States): States {
    for (const id of ids) states = this.visit(id, states);
    return states;
  }

  visit(id: number, states: States): States {
    const node = this.node(id);
    const rules = this.rules;
    if (node.children.length === 0) {
      if (!this.isVariable(node)) return states;
      const name = this.name(node.token);
      this.nodes.add(node.token);
      const sources = states.get(name);
      if (sources) for (const source of sources) this.addEdge(node.token, source, 'comesFrom');
      else states.set(name, [node.token]);
      return states;
    }
    const declaration = Object.hasOwn(rules.declarations, node.type) ? rules.declarations[node.type] : undefined;
    if (declaration) {
      const values = this.fields(id, declaration.value);
      states = this.visitAll(values, states);
      this.assign(this.fields(id, declaration.target), values, states);
      return states;
    }
    const assignment = Object.hasOwn(rules.assignments, node.type) ? rules.assignments[node.type] : undefined;
    if (assignment) {
      const values = this.fields(id, assignment.value);
      states = this.visitAll(values, states);
      const operator = this.fields(id, ['operator'])[0];
      const operatorText = operator === undefined ? '=' : this.text(operator);
      const augmented = rules.augmentedAssignments.has(node.type) || (operatorText !== '=' && operatorText !== ':=');
      this.assign(this.fields(id, assignment.target), values, states, augmented);
      return states;
    }
    if (rules.updates.has(node.type)) {
      this.assign([id], [], states, true);
      return states;
    }
    if (rules.functions.has(node.type)) return this.visitFunction(id, states);
    if (rules.comprehensions?.has(node.type)) {
      const element = this.fields(id, ['body', 'key', 'value']);
      const clauses = node.children.filter((child) => !element.includes(child));
      return this.visitAll(element, this.visitAll(clauses, states));
    }
    if (rules.conditionals.has(node.type)) return this.visitConditional(id, states);
    if (rules.switches.has(node.type)) return this.visitSwitch(id, states);
    if (rules.loops.has(node.type)) return this.visitLoop(id, states);
    if (rules.tries.has(node.type)) return this.visitTry(id, states);
    return this.visitAll(node.children, states);
  }

  private text(id: number): string {
    const node = this.node(id);
    return node.token >= 0 ? this.name(node.token) : '';
  }

  /**
   * A function's name is defined where the function is; its parameters are fresh definitions and
   * its body sees the enclosing definitions, but nothing it defines leaks out of it.
   */
  private visitFunction(id: number, states: States): States {
    const children = this.node(id).children;
    const name = this.fields(id, ['name']);
    this.assign(name, [], states);
    let inner = states.fork();
    for (const child of children) {
      if (name.includes(child)) continue;
      if (PARAMETER_FIELDS.includes(this.node(child).field ?? '')) inner = this.defineParameters(child, inner);
      else inner = this.visit(child, inner);
    }
    return states;
  }

  /** Parameters define their names afresh; default values are uses; type annotations are skipped. */
  private defineParameters(id: number, states: States): States {
    const node = this.node(id);
    if (node.field === 'type') return states;
    if (node.children.length === 0) {
      if (this.isVariable(node)) this.assign([id], [], states);
      return states;
    }
    if (Object.hasOwn(this.rules.declarations, node.type) || Object.hasOwn(this.rules.assignments, node.type)) return this.visit(id, states);
    for (const child of node.children) states = this.defineParameters(child, states);
    return states;
  }

  private visitConditional(id: number, before: States): States {
    const children = this.node(id).children;
    const header = this.fields(id, [...INIT_FIELDS, 'condition']);
    const alternatives = this.fields(id, ['alternative']);
    const afterCondition = this.visitAll(header, before.fork());
    let current = afterCondition.fork();
    for (const child of children) {
      if (!header.includes(child) && !alternatives.includes(child)) current = this.visit(child, current);
    }
    const branches = [current, ...alternatives.map((alternative) => this.visit(alternative, afterCondition.fork()))];
    const hasElse = alternatives.some((alternative) => !this.rules.flatElseIfs.has(this.node(alternative).type));
    if (!hasElse) branches.push(afterCondition);
    return merge(branches);
  }

  /**
   * The subject first; then every arm starts from the state after the subject (fall-through from
   * one arm into the next is not followed); without a catch-all arm the subject's state survives.
   */
  private visitSwitch(id: number, states: States): States {
    const isArm = (child: number) => this.rules.switchArms.has(this.node(child).type);
    const arms: number[] = [];
    const subject: number[] = [];
    for (const child of this.node(id).children) {
      const nested = this.node(child).children.filter(isArm);
      if (isArm(child)) arms.push(child);
      else if (nested.length) arms.push(...nested);
      else subject.push(child);
    }
    const afterSubject = this.visitAll(subject, states);
    const branches = arms.map((arm) => this.visit(arm, afterSubject.fork()));
    if (!arms.some((arm) => this.catchesAll(arm))) branches.push(afterSubject);
    return merge(branches);
  }

  /** A `default` arm (Java's `default:` label) or Python's `case _:`. */
  private catchesAll(arm: number): boolean {
    if (this.rules.defaultArms.has(this.node(arm).type)) return true;
    return this.node(arm).children.some((child) => {
      const node = this.node(child);
      const grandchildren = node.children.map((grandchild) => this.node(grandchild).type);
      return (node.type === 'switch_label' && grandchildren.includes('default')) || (node.type === 'case_pattern' && grandchildren.join() === '_');
    });
  }

  private visitLoop(id: number, states: States): States {
    const clause = this.node(id).children.find((child) => this.rules.loopClauses.has(this.node(child).type));
    const header = clause ?? id;
    const body = this.fields(id, ['body']);
    const after = this.fields(id, ['alternative']);
    const values = this.fields(header, LOOP_VALUE_FIELDS);
    let targets = this.fields(header, LOOP_TARGET_FIELDS);
    if (this.node(id).type === 'foreach_statement') {
      // PHP's foreach has no fields: (value as [key =>] target) body.
      const named = this.node(id).children.filter((child) => this.node(child).named && !body.includes(child));
      values.push(named[0]);
      targets = named.slice(1, 2);
    }
    if (values.length && targets.length) {
      for (let pass = 0; pass < 2; pass++) {
        states = this.visitAll(values, states);
        this.assign(targets, values, states);
        states = this.visitAll(body, states);
      }
      return this.visitAll(after, states);
    }
    const init = this.fields(header, INIT_FIELDS);
    const condition = this.fields(header, ['condition']);
    const update = this.fields(header, UPDATE_FIELDS);
    if (init.length + condition.length + update.length === 0) {
      for (let pass = 0; pass < 2; pass++) states = this.visitAll(this.node(id).children, states);
      return states;
    }
    states = this.visitAll(init, states);
    const bodyFirst = condition.length > 0 && body.length > 0 && this.node(body[0]).startIndex < this.node(condition[0]).startIndex;
    const order = bodyFirst ? [...body, ...condition] : [...condition, ...body, ...update];
    for (let pass = 0; pass < 2; pass++) states = this.visitAll(order, states);
    return this.visitAll(after, states);
  }

  private visitTry(id: number, before: States): States {
    let current = before.fork();
    let handled: States[] = [];
    for (const child of this.node(id).children) {
      const type = this.node(child).type;
      if (this.rules.handlers.has(type)) handled.push(this.visit(child, merge([before, current])));
      else if (this.rules.finalizers.has(type)) {
        current = this.visit(child, merge([current, ...handled]));
        handled = [];
      } else current = this.visit(child, current);
    }
    return handled.length ? merge([current, ...handled]) : current;
  }

  graph(): DataFlowGraph {
    const edges = [...this.edges.values()].sort(compareEdges);
    return { nodes: [...this.nodes].sort((a, b) => a - b), edges };
  }
}

/** The deterministic edge order: by `from`, then `to`, then kind. */
export function compareEdges(a: DataFlowEdge, b: DataFlowEdge): number {
  return a.from - b.from || a.to - b.to || a.kind.localeCompare(b.kind);
}

/** The union of the branches' definitions, as a fork of their nearest common ancestor. */
function merge(branches: States[]): States {
  const ancestor = commonAncestor(branches);
  const merged = ancestor ? ancestor.fork() : new States();
  const base = merged.parent;
  const names = new Set<string>();
  for (const branch of branches) branch.namesSince(base, names);
  for (const name of names) {
    let union: number[] | undefined;
    for (const branch of branches) {
      const sources = branch.get(name);
      if (sources === undefined || sources === union) continue;
      union = union === undefined ? sources : [...new Set([...union, ...sources])].sort((a, b) => a - b);
    }
    if (union !== undefined && union !== base?.get(name)) merged.set(name, union);
  }
  return merged;
}

function commonAncestor(branches: States[]): States | undefined {
  let candidates: States[] = [];
  for (let states: States | undefined = branches[0]; states; states = states.parent) candidates.push(states);
  for (const branch of branches.slice(1)) {
    const chain = new Set<States>();
    for (let states: States | undefined = branch; states; states = states.parent) chain.add(states);
    candidates = candidates.filter((candidate) => chain.has(candidate));
  }
  return candidates[0];
}

/** Adjacency by token: for each code token, its outgoing data-flow edges (for hovers and drawing). */
export function dataFlowEdgesByToken(graph: DataFlowGraph, tokenCount: number): DataFlowEdge[][] {
  const byToken: DataFlowEdge[][] = Array.from({ length: tokenCount }, () => []);
  for (const edge of graph.edges) byToken[edge.from].push(edge);
  return byToken;
}
