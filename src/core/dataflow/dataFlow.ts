import type { DataFlowEdge, DataFlowGraph, LanguageId, ParsedSource, SyntaxNode } from '../types';

/**
 * Data-flow graphs in the manner of GraphCodeBERT (Guo et al., ICLR 2021; the reference is DFG.py
 * of its code-search parser): nodes are variable occurrences (code-token indices); `comesFrom`
 * links a use to the occurrences its value may come from, `computedFrom` links an assigned
 * variable to the variables of the expression it is computed from. One walker serves every
 * language; the per-language tables below only name the node types. The walk keeps, for every
 * name, the occurrences that last defined it:
 *
 * - variables are identifiers, not the names of members, methods, keyword arguments, struct
 *   literal keys, annotations, labels or module paths: in `self.count`, `obj.size()`, `f(key=v)`
 *   only `self`, `obj` and `v` are nodes (the object of a member access is a use);
 * - a use of a known name comesFrom its current definitions; an unknown name (a global, a
 *   builtin) becomes a definition;
 * - an assignment or declaration visits its value first, then every variable on the left is
 *   computedFrom every variable of the value and becomes the name's only definition; parallel
 *   assignments (`a, b = b, a`) pair the sides element by element; in a destructuring pattern a
 *   default value is read, and the variable it defaults is also computedFrom it;
 * - a store into a member or element (`o.f = v`, `a[i] = v`, `o.f += v`) reads and updates the
 *   object: `o` comesFrom its definitions, is computedFrom the value and becomes its definition;
 *   indices are only read;
 * - an `if` visits its initializer and condition, then the consequence; each `else`/`elif` starts
 *   from the state after the condition; the states are merged (union), together with the state
 *   after the condition when there is no final `else`;
 * - loops are walked twice so values carried around the loop are linked; a C-style `for` runs its
 *   initializer once and then condition, body, update on each pass; a for-each loop assigns the
 *   iterated expression's variables to its loop variables on each pass;
 * - `try`: each handler starts from the union of the states before and after the protected body;
 *   `finally` continues from the union of the body and all handlers;
 * - functions, methods, lambdas, classes and comprehensions are scopes: the name is defined where
 *   the function is (a named function or class expression binds its name inside only), the
 *   parameters are fresh definitions, the body sees the enclosing definitions, and nothing the
 *   body defines leaks out. Some scopes see no enclosing variables: PHP functions, methods and
 *   closures (a closure sees what its `use (…)` captures), Ruby `def`, `class` and `module` (they
 *   see `$globals`), and a Python class body is not seen by the functions inside it. Names shared
 *   with the enclosing scope (`global`, `nonlocal`, PHP `use (&$x)`, a walrus in a comprehension)
 *   are declared by an occurrence that comesFrom the enclosing definitions, and if the scope
 *   redefines them, the enclosing scope afterwards has the union of the old definitions and the
 *   scope's (it may have run);
 * - Ruby blocks run in place like a loop body (walked twice): their parameters are fresh and local
 *   to the block, the block reads and updates the enclosing variables, and a variable the block
 *   introduces stays inside it;
 * - comprehensions walk their `for`/`if` clauses before the element expression.
 *
 * As in the reference, the state after a loop is the state after its second pass (the case of
 * zero iterations is not merged in).
 *
 * Deviations from the reference, on purpose: only variables are nodes (identifiers, not member,
 * method, keyword or type names; the reference also makes nodes of literals, and of attribute and
 * method names); a store into a member reads and updates its object (the reference redefines every
 * identifier on the left, the member name and any index included); self-loops are dropped; an
 * augmented assignment (`x += 1`) or update (`i++`) reads its target,
 * so the target comesFrom its previous definitions (the reference makes `i` computedFrom itself);
 * `else` branches start after the condition, not before it (so Go's `if v := f(); …` reaches the
 * `else`); the C-style `for` update runs after the body (the reference walks it before); `try` is
 * modelled (the reference walks it in sequence); scopes, fresh parameters and shared names are
 * ours (the reference sees one function at a time, so in a whole file it would link a parameter to
 * an earlier function's variable of the same name); `do … while` walks its body before its
 * condition. A nested function's body is walked where the function is defined, as in the
 * reference; a variable assigned to a function value is computedFrom every variable inside it, as
 * in the reference. `global` in a nested Python function is taken to refer to the enclosing
 * function's scope. `switch`, `case` and `match` arms are branches from the state after the subject
 * (the reference walks them in sequence); fall-through between arms is not followed. A string
 * literal is one code token, so variables inside f-strings and template or interpolated strings
 * are not nodes. TypeScript uses the JavaScript tables (type annotations hold no variables).
 * Languages without rules here return undefined.
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

  /** Every name with its current definitions. */
  flatten(): Map<string, number[]> {
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
  /**
   * Identifiers that name a member, method, keyword argument or label rather than a variable:
   * parent type → the fields that hold such a name (PHP: the field of the `variable_name`).
   */
  memberNames?: Map<string, string[]>;
  /** Member names the table cannot say (a struct literal's keys, an import's module path). */
  isMemberName?: (node: SyntaxNode, nodes: SyntaxNode[]) => boolean;
  /**
   * Member accesses and subscripts by node type → the field that holds the object ('' for the
   * first named child). On the left of an assignment they store into that object, which is read
   * and updated; their other parts (indices, arguments) are only read.
   */
  accesses?: Map<string, string>;
  /** Subtrees that hold no variables (package and import declarations). */
  skipped?: Set<string>;
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
  /** Functions, methods, lambdas and classes: a scope whose parameters are fresh definitions. */
  functions: Set<string>;
  /** Scopes whose body does not see the enclosing variables (PHP functions, Ruby `def` and `class`). */
  isolatedScopes?: Set<string>;
  /** Scopes whose definitions the functions directly inside them do not see (Python's class bodies). */
  hiddenScopes?: Set<string>;
  /** Names that an isolated scope still sees (Ruby's `$globals`). */
  globalNamePrefix?: string;
  /** Scopes whose name is bound only inside them (named function and class expressions). */
  selfNamedScopes?: Set<string>;
  /** Statements that make names of the enclosing scope shared (`global`, `nonlocal`). */
  sharedDeclarations?: Set<string>;
  /** A closure's capture list (PHP's `use (…)`) and the node type of a by-reference capture. */
  captureLists?: Set<string>;
  byReference?: string;
  /** Ruby blocks: closures that run in place like a loop body, with fresh parameters. */
  blocks?: Set<string>;
  /** Switch-like statements, their arms (each a branch) and the arms that catch every other case. */
  switches: Set<string>;
  switchArms: Set<string>;
  defaultArms: Set<string>;
  /** Comprehensions: scopes whose `for`/`if` clauses run before the element expression (field `body`). */
  comprehensions?: Set<string>;
  /** Declarations inside a comprehension that bind in the enclosing scope (Python's walrus). */
  comprehensionEscapes?: Set<string>;
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
  isMemberName: isJavaScriptModuleName,
  accesses: new Map([
    ['member_expression', 'object'],
    ['subscript_expression', 'object'],
  ]),
  assignments: {
    assignment_expression: LEFT_RIGHT,
    augmented_assignment_expression: LEFT_RIGHT,
    assignment_pattern: LEFT_RIGHT,
    object_assignment_pattern: LEFT_RIGHT,
  },
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
    'class_declaration',
    'abstract_class_declaration',
    'class',
  ]),
  selfNamedScopes: new Set(['function_expression', 'function', 'generator_function', 'class']),
  switches: new Set(['switch_statement']),
  switchArms: new Set(['switch_case', 'switch_default']),
  defaultArms: new Set(['switch_default']),
};

const RULES: Partial<Record<LanguageId, LanguageRules>> = {
  python: {
    variables: new Set(['identifier']),
    memberNames: new Map([
      ['attribute', ['attribute']],
      ['keyword_argument', ['name']],
    ]),
    isMemberName: isPythonModulePath,
    accesses: new Map([
      ['attribute', 'object'],
      ['subscript', 'value'],
    ]),
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
    functions: new Set(['function_definition', 'lambda', 'class_definition']),
    hiddenScopes: new Set(['class_definition']),
    sharedDeclarations: new Set(['global_statement', 'nonlocal_statement']),
    switches: new Set(['match_statement']),
    switchArms: new Set(['case_clause']),
    defaultArms: new Set(),
    comprehensions: new Set(['list_comprehension', 'set_comprehension', 'dictionary_comprehension', 'generator_expression']),
    comprehensionEscapes: new Set(['named_expression']),
  },
  java: {
    variables: new Set(['identifier']),
    memberNames: new Map([
      ['field_access', ['field']],
      ['method_invocation', ['name']],
      ['annotation', ['name']],
      ['marker_annotation', ['name']],
      ['element_value_pair', ['key']],
    ]),
    isMemberName: isJavaLabelOrMethodReference,
    accesses: new Map([
      ['field_access', 'object'],
      ['array_access', 'array'],
    ]),
    skipped: new Set(['package_declaration', 'import_declaration']),
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
    functions: new Set([
      'method_declaration',
      'constructor_declaration',
      'lambda_expression',
      'class_declaration',
      'interface_declaration',
      'enum_declaration',
      'record_declaration',
    ]),
    switches: new Set(['switch_expression', 'switch_statement']),
    switchArms: new Set(['switch_block_statement_group', 'switch_rule']),
    defaultArms: new Set(),
  },
  javascript: JAVASCRIPT,
  typescript: JAVASCRIPT,
  go: {
    variables: new Set(['identifier']),
    ignoredNames: new Set(['_']),
    isMemberName: isGoStructFieldKey,
    accesses: new Map([
      ['selector_expression', 'operand'],
      ['index_expression', 'operand'],
    ]),
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
    memberNames: new Map([['call', ['method']]]),
    accesses: new Map([
      ['call', 'receiver'],
      ['element_reference', 'object'],
    ]),
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
    functions: new Set(['method', 'singleton_method', 'lambda', 'class', 'module', 'singleton_class']),
    isolatedScopes: new Set(['method', 'singleton_method', 'class', 'module', 'singleton_class']),
    globalNamePrefix: '$',
    blocks: new Set(['block', 'do_block']),
    switches: new Set(['case', 'case_match']),
    switchArms: new Set(['when', 'in_clause', 'else']),
    defaultArms: new Set(['else']),
  },
  php: {
    variables: new Set(['name']),
    variableParents: { name: 'variable_name' },
    memberNames: new Map([
      ['scoped_property_access_expression', ['name']],
      ['property_element', ['name']],
    ]),
    accesses: new Map([
      ['member_access_expression', 'object'],
      ['nullsafe_member_access_expression', 'object'],
      ['subscript_expression', ''],
    ]),
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
    isolatedScopes: new Set(['function_definition', 'method_declaration', 'anonymous_function']),
    sharedDeclarations: new Set(['global_declaration']),
    captureLists: new Set(['anonymous_function_use_clause']),
    byReference: 'by_ref',
    switches: new Set(['switch_statement', 'match_expression']),
    switchArms: new Set(['case_statement', 'default_statement', 'match_conditional_expression', 'match_default_expression']),
    defaultArms: new Set(['default_statement', 'match_default_expression']),
  },
};

/** `import a.b` binds `a`; `from a.b import c` and `import a.b as m` bind only `c` and `m`. */
function isPythonModulePath(node: SyntaxNode, nodes: SyntaxNode[]): boolean {
  const path = nodes[node.parent];
  if (path.type !== 'dotted_name') return false;
  if (path.children[0] !== node.id) return true;
  const holder = nodes[path.parent];
  return path.field === 'module_name' || holder.type === 'relative_import' || (holder.type === 'aliased_import' && path.field === 'name');
}

/** `import { a as b }` binds `b` only; `export { b as e }` exports `b` under a name that is no variable. */
function isJavaScriptModuleName(node: SyntaxNode, nodes: SyntaxNode[]): boolean {
  const specifier = nodes[node.parent];
  if (specifier.type === 'import_specifier') return node.field === 'name' && specifier.children.some((child) => nodes[child].field === 'alias');
  return specifier.type === 'export_specifier' && node.field === 'alias';
}

/** Statement labels, and the method of `Type::method` / `this::method`. */
function isJavaLabelOrMethodReference(node: SyntaxNode, nodes: SyntaxNode[]): boolean {
  const parent = nodes[node.parent];
  if (parent.type === 'method_reference') return parent.children[0] !== node.id;
  return parent.type === 'labeled_statement' || parent.type === 'break_statement' || parent.type === 'continue_statement';
}

const GO_LITERALS_KEYED_BY_VALUE = new Set(['map_type', 'slice_type', 'array_type', 'implicit_length_array_type']);

/** A key of a struct literal (`T{Name: v}`) is a field name; a map or array literal's key is an expression. */
function isGoStructFieldKey(node: SyntaxNode, nodes: SyntaxNode[]): boolean {
  const element = nodes[node.parent];
  if (element.type !== 'literal_element' || element.field !== 'key') return false;
  const body = nodes[nodes[element.parent].parent];
  const literal = body?.type === 'literal_value' ? nodes[body.parent] : undefined;
  // An inner literal with its type left out (`[]T{{Name: v}}`) is taken for a struct.
  if (literal?.type !== 'composite_literal') return true;
  const type = literal.children.find((child) => nodes[child].field === 'type');
  return type === undefined || !GO_LITERALS_KEYED_BY_VALUE.has(nodes[type].type);
}

const INIT_FIELDS = ['init', 'initializer', 'initialize'];
const UPDATE_FIELDS = ['update', 'increment'];
const LOOP_TARGET_FIELDS = ['left', 'name', 'pattern'];
const LOOP_VALUE_FIELDS = ['right', 'value'];
const PARAMETER_FIELDS = ['parameters', 'parameter', 'receiver'];

/** The parts of an assignment's target. */
interface TargetParts {
  /** Variables the target (re)defines. */
  defined: number[];
  /** Objects the target stores into (`o` of `o.f = v`, `a` of `a[i] = v`): read, then redefined. */
  stored: number[];
  /** Expressions inside the target that are only read (indices, default values of patterns). */
  reads: number[];
  /** Extra sources of a variable: the default value of its pattern (`const { a = d } = o`). */
  defaults?: Map<number, number[]>;
}

/** A function, class or comprehension being walked, with the names it shares with its enclosing scope. */
interface Scope {
  enclosing: States;
  /** Shared name → the token that declared it (-1 when no token did). */
  shared: Map<string, number>;
  comprehension: boolean;
  /** Functions directly inside see `enclosing`, not this scope's own definitions. */
  hidden: boolean;
}

class DataFlowWalker {
  private readonly edges = new Map<string, DataFlowEdge>();
  private readonly nodes = new Set<number>();
  private readonly scopes: Scope[] = [];
  /** Node types that wrap a variable leaf (PHP's `variable_name`). */
  private readonly variableWrappers: Set<string>;

  constructor(
    private readonly parsed: ParsedSource,
    private readonly rules: LanguageRules,
  ) {
    this.variableWrappers = new Set(Object.values(rules.variableParents ?? {}));
  }

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
    if (parentType === undefined) return !this.isMemberName(node);
    return node.parent >= 0 && this.node(node.parent).type === parentType && !this.isMemberName(this.node(node.parent));
  }

  private isMemberName(node: SyntaxNode): boolean {
    if (node.parent < 0) return false;
    if (node.field !== null && this.rules.memberNames?.get(this.node(node.parent).type)?.includes(node.field)) return true;
    return this.rules.isMemberName?.(node, this.parsed.tree.nodes) ?? false;
  }

  private addEdge(from: number, to: number, kind: DataFlowEdge['kind']): void {
    if (from === to) return;
    this.nodes.add(from);
    this.nodes.add(to);
    this.edges.set(`${from}:${to}:${kind}`, { from, to, kind });
  }

  private comesFrom(token: number, sources: number[] | undefined): void {
    this.nodes.add(token);
    if (sources) for (const source of sources) this.addEdge(token, source, 'comesFrom');
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

  private assignmentFields(type: string): Fields | undefined {
    const rules = this.rules;
    if (Object.hasOwn(rules.declarations, type)) return rules.declarations[type];
    return Object.hasOwn(rules.assignments, type) ? rules.assignments[type] : undefined;
  }

  /**
   * Sorts a target's variables into those it defines and the objects it stores into; member
   * names are neither, and indices and pattern defaults are only read.
   */
  private collectTarget(id: number, storing: boolean, parts: TargetParts): void {
    const node = this.node(id);
    if (node.children.length === 0) {
      if (this.isVariable(node)) (storing ? parts.stored : parts.defined).push(node.token);
      return;
    }
    const objectField = this.rules.accesses?.get(node.type);
    if (objectField !== undefined) {
      const object = node.children.find((child) => (objectField ? this.node(child).field === objectField : this.node(child).named));
      for (const child of node.children) {
        if (child === object) this.collectTarget(child, true, parts);
        else parts.reads.push(child);
      }
      return;
    }
    if (storing && !this.variableWrappers.has(node.type)) {
      parts.reads.push(id); // `f(x).y = v`: no variable is stored into
      return;
    }
    const nested = storing ? undefined : this.assignmentFields(node.type);
    if (nested) {
      const defaults = this.fields(id, nested.value);
      parts.reads.push(...defaults);
      const first = parts.defined.length;
      for (const target of this.fields(id, nested.target)) this.collectTarget(target, false, parts);
      parts.defaults ??= new Map();
      for (const token of parts.defined.slice(first)) parts.defaults.set(token, defaults);
      return;
    }
    for (const child of node.children) this.collectTarget(child, storing, parts);
  }

  /**
   * Every variable of `targets` is computedFrom the variables of `values` (element-wise for
   * parallel lists) and becomes the name's only definition; an object stored into also comesFrom
   * its previous definitions, as does every target when `readsTarget` is set.
   */
  private assign(targets: number[], values: number[], states: States, readsTarget = false): States {
    const targetItems = this.namedChildren(targets);
    const valueItems = this.namedChildren(values);
    const pairs: Array<[number[], number[]]> =
      targetItems.length > 1 && targetItems.length === valueItems.length
        ? targetItems.map((target, i) => [[target], [valueItems[i]]])
        : [[targets, values]];
    const definitions: number[] = [];
    for (const [targetIds, valueIds] of pairs) {
      const parts: TargetParts = { defined: [], stored: [], reads: [] };
      for (const target of targetIds) this.collectTarget(target, false, parts);
      if (parts.reads.length) states = this.visitAll(parts.reads, states);
      const sources = this.variables(valueIds);
      const targets = parts.stored.length ? [...parts.defined, ...parts.stored] : parts.defined;
      for (let t = 0; t < targets.length; t++) {
        const target = targets[t];
        if (readsTarget || t >= parts.defined.length) this.comesFrom(target, states.get(this.name(target)));
        else this.nodes.add(target);
        for (const source of sources) this.addEdge(target, source, 'computedFrom');
        const defaults = parts.defaults?.get(target);
        if (defaults) for (const source of this.variables(defaults)) this.addEdge(target, source, 'computedFrom');
        definitions.push(target);
      }
    }
    for (const target of definitions) states.set(this.name(target), [target]);
    return states;
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
      const sources = states.get(name);
      this.comesFrom(node.token, sources);
      if (!sources) states.set(name, [node.token]);
      return states;
    }
    const declaration = Object.hasOwn(rules.declarations, node.type) ? rules.declarations[node.type] : undefined;
    if (declaration) {
      const values = this.fields(id, declaration.value);
      states = this.visitAll(values, states);
      const targets = this.fields(id, declaration.target);
      states = this.assign(targets, values, states);
      if (rules.comprehensionEscapes?.has(node.type)) this.escapeComprehension(targets);
      return states;
    }
    const assignment = Object.hasOwn(rules.assignments, node.type) ? rules.assignments[node.type] : undefined;
    if (assignment) {
      const values = this.fields(id, assignment.value);
      states = this.visitAll(values, states);
      const operator = this.fields(id, ['operator'])[0];
      const operatorText = operator === undefined ? '=' : this.text(operator);
      const augmented = rules.augmentedAssignments.has(node.type) || (operatorText !== '=' && operatorText !== ':=');
      return this.assign(this.fields(id, assignment.target), values, states, augmented);
    }
    if (rules.updates.has(node.type)) return this.assign([id], [], states, true);
    if (rules.functions.has(node.type)) return this.visitFunction(id, states);
    if (rules.blocks?.has(node.type)) return this.visitBlock(id, states);
    if (rules.comprehensions?.has(node.type)) return this.visitComprehension(id, states);
    if (rules.conditionals.has(node.type)) return this.visitConditional(id, states);
    if (rules.switches.has(node.type)) return this.visitSwitch(id, states);
    if (rules.loops.has(node.type)) return this.visitLoop(id, states);
    if (rules.tries.has(node.type)) return this.visitTry(id, states);
    if (rules.sharedDeclarations?.has(node.type) && this.scopes.length) {
      const scope = this.scopes[this.scopes.length - 1];
      for (const token of this.variables([id])) this.share(token, scope, states, true);
      return states;
    }
    if (rules.skipped?.has(node.type)) return states;
    return this.visitAll(node.children, states);
  }

  private text(id: number): string {
    const node = this.node(id);
    return node.token >= 0 ? this.name(node.token) : '';
  }

  /**
   * A function's (or class's) name is defined where the function is; its parameters are fresh
   * definitions and its body sees the enclosing definitions (none when the scope is isolated),
   * but nothing it defines leaks out of it, except names it shares with the enclosing scope.
   */
  private visitFunction(id: number, states: States): States {
    const node = this.node(id);
    const rules = this.rules;
    const name = this.fields(id, ['name']);
    const selfNamed = rules.selfNamedScopes?.has(node.type) ?? false;
    if (!selfNamed) states = this.assign(name, [], states);
    const around = this.scopes[this.scopes.length - 1];
    const visible = around?.hidden ? around.enclosing : states;
    let inner = rules.isolatedScopes?.has(node.type) ? this.isolated(visible) : visible.fork();
    if (selfNamed) inner = this.assign(name, [], inner);
    const scope: Scope = { enclosing: states, shared: new Map(), comprehension: false, hidden: rules.hiddenScopes?.has(node.type) ?? false };
    this.scopes.push(scope);
    for (const child of node.children) {
      if (name.includes(child)) continue;
      const childNode = this.node(child);
      if (PARAMETER_FIELDS.includes(childNode.field ?? '')) inner = this.defineParameters(child, inner);
      else if (rules.captureLists?.has(childNode.type)) this.capture(child, scope, inner);
      else inner = this.visit(child, inner);
    }
    this.scopes.pop();
    this.shareBack(scope, inner);
    return states;
  }

  /** A fresh state for a scope that does not see the enclosing variables, except the global ones. */
  private isolated(states: States): States {
    const fresh = new States();
    const prefix = this.rules.globalNamePrefix;
    if (prefix) for (const [name, sources] of states.flatten()) if (name.startsWith(prefix)) fresh.set(name, sources);
    return fresh;
  }

  /**
   * A name declared shared (`global x`, a captured `$x`): the declaration comesFrom the enclosing
   * definitions and defines the name inside; a shared name's definitions flow back out.
   */
  private share(token: number, scope: Scope, inner: States, flowsBack: boolean): void {
    const name = this.name(token);
    this.comesFrom(token, scope.enclosing.get(name));
    inner.set(name, [token]);
    if (flowsBack) scope.shared.set(name, token);
  }

  /** PHP's `use ($a, &$b)`: each is captured from the enclosing scope; by reference, changes flow back. */
  private capture(id: number, scope: Scope, inner: States): void {
    for (const token of this.variables([id])) {
      let byReference = false;
      for (let at = this.node(this.parsed.tokens[token].node).parent; at !== id && at >= 0; at = this.node(at).parent) {
        if (this.node(at).type === this.rules.byReference) byReference = true;
      }
      this.share(token, scope, inner, byReference);
    }
  }

  /**
   * The scope may have run (a function called, a comprehension iterated), so a shared name that it
   * redefined has, afterwards, its old definitions or the scope's.
   */
  private shareBack(scope: Scope, inner: States): void {
    const outer = this.scopes[this.scopes.length - 1];
    for (const [name, declaration] of scope.shared) {
      const inside = inner.get(name);
      if (!inside || (inside.length === 1 && inside[0] === declaration)) continue;
      scope.enclosing.set(name, union(scope.enclosing.get(name), inside));
      if (scope.comprehension && outer?.comprehension) outer.shared.set(name, -1);
    }
  }

  /** A walrus inside a comprehension binds in the scope around the comprehension. */
  private escapeComprehension(targets: number[]): void {
    const scope = this.scopes[this.scopes.length - 1];
    if (!scope?.comprehension) return;
    for (const token of this.variables(targets)) scope.shared.set(this.name(token), -1);
  }

  /** Comprehensions are scopes; their `for`/`if` clauses run before the element expression. */
  private visitComprehension(id: number, states: States): States {
    const element = this.fields(id, ['body', 'key', 'value']);
    const clauses = this.node(id).children.filter((child) => !element.includes(child));
    const scope: Scope = { enclosing: states, shared: new Map(), comprehension: true, hidden: false };
    this.scopes.push(scope);
    const inner = this.visitAll(element, this.visitAll(clauses, states.fork()));
    this.scopes.pop();
    this.shareBack(scope, inner);
    return states;
  }

  /**
   * A Ruby block runs in place, like a loop body (two passes): its parameters are fresh and
   * local to it, it reads and updates the enclosing variables, and the variables it introduces
   * stay inside it (each pass starts them afresh). A block that updates no enclosing variable
   * would repeat its first pass exactly, so it gets one (nested blocks would otherwise cost 2^depth).
   */
  private visitBlock(id: number, states: States): States {
    const parameters = this.fields(id, ['parameters']);
    const body = this.node(id).children.filter((child) => !parameters.includes(child));
    const parameterNames = new Set<string>();
    let updated = new Map<string, number[]>();
    for (let pass = 0; pass < 2 && (pass === 0 || updated.size > 0); pass++) {
      let inner = states.fork();
      for (const [name, sources] of updated) inner.set(name, sources);
      for (const parameter of parameters) inner = this.defineParameters(parameter, inner);
      if (pass === 0) inner.namesSince(states, parameterNames);
      inner = this.visitAll(body, inner);
      const names = new Set<string>();
      inner.namesSince(states, names);
      updated = new Map();
      for (const name of names) {
        const sources = inner.get(name);
        if (sources && !parameterNames.has(name) && states.get(name) !== undefined) updated.set(name, sources);
      }
    }
    for (const [name, sources] of updated) states.set(name, sources);
    return states;
  }

  /** Parameters define their names afresh; default values are uses; type annotations are skipped. */
  private defineParameters(id: number, states: States): States {
    const node = this.node(id);
    if (node.field === 'type') return states;
    if (node.children.length === 0) return this.isVariable(node) ? this.assign([id], [], states) : states;
    if (this.assignmentFields(node.type)) return this.visit(id, states);
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
        states = this.assign(targets, values, states);
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
    let sources: number[] | undefined;
    for (const branch of branches) sources = union(sources, branch.get(name));
    if (sources !== undefined && sources !== base?.get(name)) merged.set(name, sources);
  }
  return merged;
}

/** The sorted union of two definition lists; either one itself when the other adds nothing. */
function union(a: number[] | undefined, b: number[]): number[];
function union(a: number[] | undefined, b: number[] | undefined): number[] | undefined;
function union(a: number[] | undefined, b: number[] | undefined): number[] | undefined {
  if (a === undefined || a === b) return b;
  if (b === undefined) return a;
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
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
