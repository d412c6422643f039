import type { DataFlowEdge, DataFlowGraph, ParsedSource, SyntaxNode } from '../types';
import type { Fields, LanguageRules } from './rules';
import { merge, States, union } from './states';

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

const INIT_FIELDS = ['init', 'initializer', 'initialize'];
const UPDATE_FIELDS = ['update', 'increment'];
const LOOP_TARGET_FIELDS = ['left', 'name', 'pattern'];
const LOOP_VALUE_FIELDS = ['right', 'value'];
const PARAMETER_FIELDS = ['parameters', 'parameter', 'receiver'];

/**
 * The walk runs on an explicit stack, so that nesting depth costs heap, not call stack (a
 * 50,000-deep bracket nest must not overflow it). A node with a rule is visited by a generator
 * that yields requests to walk nodes in sequence and receives the state after them; other inner
 * nodes and leaves are walked by `walk` itself, which drives the generators.
 */
interface WalkRequest {
  ids: readonly number[];
  states: States;
  /** Walk the nodes as parameter lists (their variables are fresh definitions). */
  parameters: boolean;
}

type Walking = Generator<WalkRequest, States, States>;

/** Nodes of a request still to walk, in order. */
interface Sequence {
  ids: readonly number[];
  at: number;
  parameters: boolean;
}

const visitRequest = (id: number, states: States): WalkRequest => ({ ids: [id], states, parameters: false });
const parametersRequest = (id: number, states: States): WalkRequest => ({ ids: [id], states, parameters: true });
const sequenceRequest = (ids: readonly number[], states: States): WalkRequest => ({ ids, states, parameters: false });

function* walkSequence(ids: readonly number[], states: States): Walking {
  return yield sequenceRequest(ids, states);
}

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

/**
 * The shared scope and definition walker of every language (the rules say which node types are
 * which); see extractDataFlow in dataFlow.ts for what it computes.
 */
export class DataFlowWalker {
  private readonly edges = new Map<string, DataFlowEdge>();
  private readonly nodes = new Set<number>();
  private readonly scopes: Scope[] = [];
  /** How many enclosing loops (or blocks) are in their second pass: nested ones then need only one. */
  private repeating = 0;
  /** How many times each inner node was visited (the walk's cost, for tests). */
  readonly visits: Uint32Array;
  /** Node types that wrap a variable leaf (PHP's `variable_name`). */
  private readonly variableWrappers: Set<string>;

  constructor(
    private readonly parsed: ParsedSource,
    private readonly rules: LanguageRules,
  ) {
    this.variableWrappers = new Set(Object.values(rules.variableParents ?? {}));
    this.visits = new Uint32Array(parsed.tree.nodes.length);
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
    const memberFields = node.field === null ? undefined : this.rules.memberNames?.get(this.node(node.parent).type);
    if (node.field !== null && memberFields?.includes(node.field)) return true;
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
  private collectTarget(target: number, parts: TargetParts): void {
    type Task = { id: number; storing: boolean } | { read: number } | { defaultsFrom: number; defaults: number[] };
    const tasks: Task[] = [{ id: target, storing: false }];
    const pushInOrder = (items: Task[]) => {
      for (let i = items.length - 1; i >= 0; i--) tasks.push(items[i]);
    };
    while (tasks.length) {
      const task = tasks.pop()!;
      if ('read' in task) {
        parts.reads.push(task.read);
        continue;
      }
      if ('defaultsFrom' in task) {
        parts.defaults ??= new Map();
        for (const token of parts.defined.slice(task.defaultsFrom)) parts.defaults.set(token, task.defaults);
        continue;
      }
      const { id, storing } = task;
      const node = this.node(id);
      if (node.children.length === 0) {
        if (this.isVariable(node)) (storing ? parts.stored : parts.defined).push(node.token);
        continue;
      }
      const objectField = this.rules.accesses?.get(node.type);
      if (objectField !== undefined) {
        const object = node.children.find((child) => {
          return objectField ? this.node(child).field === objectField : this.node(child).named;
        });
        pushInOrder(node.children.map((child) => (child === object ? { id: child, storing: true } : { read: child })));
        continue;
      }
      if (storing && !this.variableWrappers.has(node.type)) {
        parts.reads.push(id); // `f(x).y = v`: no variable is stored into
        continue;
      }
      const nested = storing ? undefined : this.assignmentFields(node.type);
      if (nested) {
        const defaults = this.fields(id, nested.value);
        parts.reads.push(...defaults);
        const targets: Task[] = this.fields(id, nested.target).map((child) => ({ id: child, storing: false }));
        pushInOrder([...targets, { defaultsFrom: parts.defined.length, defaults }]);
        continue;
      }
      pushInOrder(node.children.map((child) => ({ id: child, storing })));
    }
  }

  /**
   * Every variable of `targets` is computedFrom the variables of `values` (element-wise for
   * parallel lists) and becomes the name's only definition; an object stored into also comesFrom
   * its previous definitions, as does every target when `readsTarget` is set.
   */
  private *assign(targets: number[], values: number[], states: States, readsTarget = false): Walking {
    const targetItems = this.namedChildren(targets);
    const valueItems = this.namedChildren(values);
    const pairs: Array<[number[], number[]]> =
      targetItems.length > 1 && targetItems.length === valueItems.length
        ? targetItems.map((target, i) => [[target], [valueItems[i]]])
        : [[targets, values]];
    const definitions: number[] = [];
    for (const [targetIds, valueIds] of pairs) {
      const parts: TargetParts = { defined: [], stored: [], reads: [] };
      for (const target of targetIds) this.collectTarget(target, parts);
      if (parts.reads.length) states = yield sequenceRequest(parts.reads, states);
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

  /** Walks the tree from `root`, starting with `states`; returns the state after it. */
  walk(root: number, states: States): States {
    const frames: Array<Walking | Sequence> = [{ ids: [root], at: 0, parameters: false }];
    let received = states;
    while (frames.length) {
      const frame = frames[frames.length - 1];
      if ('ids' in frame) {
        if (frame.at === frame.ids.length) {
          frames.pop();
          continue;
        }
        const id = frame.ids[frame.at++];
        const node = this.node(id);
        if (node.children.length === 0) {
          received = frame.parameters ? this.defineParameterLeaf(node, received) : this.visitLeaf(node, received);
        } else if (frame.parameters) {
          frames.push(this.defineParameters(id, received));
        } else if (this.hasRule(node.type)) {
          frames.push(this.visitNode(id, received));
        } else {
          this.visits[id]++;
          frames.push({ ids: node.children, at: 0, parameters: false });
        }
        continue;
      }
      const step = frame.next(received);
      if (step.done) {
        frames.pop();
        received = step.value;
      } else {
        received = step.value.states;
        frames.push({ ids: step.value.ids, at: 0, parameters: step.value.parameters });
      }
    }
    return received;
  }

  private readonly ruled = new Map<string, boolean>();

  /** Whether `visitNode` has a rule for the type; other inner nodes are walked child by child. */
  private hasRule(type: string): boolean {
    let ruled = this.ruled.get(type);
    if (ruled === undefined) {
      const rules = this.rules;
      const sets = [
        rules.updates,
        rules.functions,
        rules.blocks,
        rules.comprehensions,
        rules.conditionals,
        rules.switches,
        rules.loops,
        rules.tries,
        rules.sharedDeclarations,
        rules.skipped,
        rules.blockScopes,
      ];
      ruled = this.assignmentFields(type) !== undefined || sets.some((set) => set?.has(type));
      ruled ||= rules.bindings?.has(type) ?? false;
      this.ruled.set(type, ruled);
    }
    return ruled;
  }

  private visitLeaf(node: SyntaxNode, states: States): States {
    if (!this.isVariable(node)) return states;
    const name = this.name(node.token);
    const sources = states.get(name);
    this.comesFrom(node.token, sources);
    if (!sources) states.set(name, [node.token]);
    return states;
  }

  /**
   * A node with a rule. A block scope keeps, for each name declared directly in it, the
   * definitions the name had just before its declaration, and gives them back after the block.
   */
  private *visitNode(id: number, states: States): Walking {
    this.visits[id]++;
    if (!this.rules.blockScopes?.has(this.node(id).type)) return yield* this.visitRuled(id, states);
    const outer = new Map<string, number[] | undefined>();
    this.openBlocks.push(outer);
    states = yield* this.visitRuled(id, states);
    this.openBlocks.pop();
    for (const [name, sources] of outer) {
      if (sources === undefined) states.delete(name);
      else states.set(name, sources);
    }
    return states;
  }

  /** Block scopes being walked, innermost last: declared name → its definitions outside the block. */
  private readonly openBlocks: Array<Map<string, number[] | undefined>> = [];

  /** Records the names that `id` declares in the innermost block scope, before it defines them. */
  private declareInBlock(id: number, states: States): void {
    const block = this.openBlocks.at(-1);
    const holders = block && this.rules.blockDeclared?.(this.node(id), this.parsed.tree.nodes);
    if (!holders) return;
    const parts: TargetParts = { defined: [], stored: [], reads: [] };
    for (const holder of holders) this.collectTarget(holder, parts);
    for (const token of parts.defined) {
      const name = this.name(token);
      if (!block.has(name)) block.set(name, states.get(name));
    }
  }

  private *visitRuled(id: number, states: States): Walking {
    const node = this.node(id);
    const rules = this.rules;
    const declaration = Object.hasOwn(rules.declarations, node.type) ? rules.declarations[node.type] : undefined;
    if (declaration) {
      const values = this.fields(id, declaration.value);
      states = yield sequenceRequest(values, states);
      const targets = this.fields(id, declaration.target);
      this.declareInBlock(id, states);
      states = yield* this.assign(targets, values, states);
      if (rules.comprehensionEscapes?.has(node.type)) this.escapeComprehension(targets);
      return states;
    }
    const assignment = Object.hasOwn(rules.assignments, node.type) ? rules.assignments[node.type] : undefined;
    if (assignment) {
      const values = this.fields(id, assignment.value);
      states = yield sequenceRequest(values, states);
      const operator = this.fields(id, ['operator'])[0];
      const operatorText = operator === undefined ? '=' : this.text(operator);
      const augmented = rules.augmentedAssignments.has(node.type) || (operatorText !== '=' && operatorText !== ':=');
      this.declareInBlock(id, states);
      return yield* this.assign(this.fields(id, assignment.target), values, states, augmented);
    }
    if (rules.updates.has(node.type)) return yield* this.assign([id], [], states, true);
    if (rules.functions.has(node.type)) return yield* this.visitFunction(id, states);
    if (rules.blocks?.has(node.type)) return yield* this.visitBlock(id, states);
    if (rules.comprehensions?.has(node.type)) return yield* this.visitComprehension(id, states);
    if (rules.conditionals.has(node.type)) return yield* this.visitConditional(id, states);
    if (rules.switches.has(node.type)) return yield* this.visitSwitch(id, states);
    if (rules.loops.has(node.type)) return yield* this.visitLoop(id, states);
    if (rules.tries.has(node.type)) return yield* this.visitTry(id, states);
    if (rules.sharedDeclarations?.has(node.type) && this.scopes.length) {
      const scope = this.scopes[this.scopes.length - 1];
      for (const token of this.variables([id])) this.share(token, scope, states, true);
      return states;
    }
    if (rules.skipped?.has(node.type)) return states;
    const bound = rules.bindings?.get(node.type);
    if (bound) {
      this.declareInBlock(id, states);
      for (const child of node.children) {
        const binds = bound.includes(this.node(child).field ?? '');
        states = yield binds ? parametersRequest(child, states) : visitRequest(child, states);
      }
      return states;
    }
    return yield sequenceRequest(node.children, states);
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
  private *visitFunction(id: number, states: States): Walking {
    const node = this.node(id);
    const rules = this.rules;
    const name = this.fields(id, ['name']);
    const selfNamed = rules.selfNamedScopes?.has(node.type) ?? false;
    if (!selfNamed) states = yield* this.assign(name, [], states);
    const around = this.scopes[this.scopes.length - 1];
    const visible = around?.hidden ? around.enclosing : states;
    let inner = rules.isolatedScopes?.has(node.type) ? this.isolated(visible) : visible.fork();
    if (selfNamed) inner = yield* this.assign(name, [], inner);
    const hidden = rules.hiddenScopes?.has(node.type) ?? false;
    const scope: Scope = { enclosing: states, shared: new Map(), comprehension: false, hidden };
    this.scopes.push(scope);
    for (const child of node.children) {
      if (name.includes(child)) continue;
      const childNode = this.node(child);
      if (PARAMETER_FIELDS.includes(childNode.field ?? '')) inner = yield parametersRequest(child, inner);
      else if (rules.captureLists?.has(childNode.type)) this.capture(child, scope, inner);
      else inner = yield visitRequest(child, inner);
    }
    this.scopes.pop();
    this.shareBack(scope, inner);
    return states;
  }

  /** A fresh state for a scope that does not see the enclosing variables, except the global ones. */
  private isolated(states: States): States {
    const fresh = new States();
    const isGlobal = this.rules.isGlobalName;
    if (isGlobal) for (const [name, sources] of states.flatten()) if (isGlobal(name)) fresh.set(name, sources);
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
  private *visitComprehension(id: number, states: States): Walking {
    const element = this.fields(id, ['body', 'key', 'value']);
    const clauses = this.node(id).children.filter((child) => !element.includes(child));
    const scope: Scope = { enclosing: states, shared: new Map(), comprehension: true, hidden: false };
    this.scopes.push(scope);
    const afterClauses = yield sequenceRequest(clauses, states.fork());
    const inner = yield sequenceRequest(element, afterClauses);
    this.scopes.pop();
    this.shareBack(scope, inner);
    return states;
  }

  /**
   * A Ruby block runs in place, like a loop body (two passes): its parameters are fresh and
   * local to it, it reads and updates the enclosing variables, and the variables it introduces
   * stay inside it (each pass starts them afresh). A block that updates no enclosing variable
   * would repeat its first pass exactly, so it gets one; so does a block inside the second pass of
   * an enclosing loop or block (see visitLoop).
   */
  private *visitBlock(id: number, states: States): Walking {
    const parameters = this.fields(id, ['parameters']);
    const body = this.node(id).children.filter((child) => !parameters.includes(child));
    const parameterNames = new Set<string>();
    let updated = new Map<string, number[]>();
    const passes = this.repeating > 0 ? 1 : 2;
    for (let pass = 0; pass < passes && (pass === 0 || updated.size > 0); pass++) {
      let inner = states.fork();
      for (const [name, sources] of updated) inner.set(name, sources);
      for (const parameter of parameters) inner = yield parametersRequest(parameter, inner);
      if (pass === 0) inner.namesSince(states, parameterNames);
      if (pass === 1) this.repeating++;
      inner = yield sequenceRequest(body, inner);
      if (pass === 1) this.repeating--;
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
  private *defineParameters(id: number, states: States): Walking {
    const node = this.node(id);
    if (node.field === 'type') return states;
    if (node.children.length === 0) return this.defineParameterLeaf(node, states);
    if (this.assignmentFields(node.type)) return yield visitRequest(id, states);
    for (const child of node.children) states = yield parametersRequest(child, states);
    return states;
  }

  private defineParameterLeaf(node: SyntaxNode, states: States): States {
    if (node.field === 'type' || !this.isVariable(node)) return states;
    this.nodes.add(node.token);
    states.set(this.name(node.token), [node.token]);
    return states;
  }

  private *visitConditional(id: number, before: States): Walking {
    const children = this.node(id).children;
    const header = this.fields(id, [...INIT_FIELDS, 'condition']);
    const alternatives = this.fields(id, ['alternative']);
    const afterCondition = yield sequenceRequest(header, before.fork());
    let current = afterCondition.fork();
    for (const child of children) {
      if (!header.includes(child) && !alternatives.includes(child)) current = yield visitRequest(child, current);
    }
    const branches = [current];
    for (const alternative of alternatives) branches.push(yield visitRequest(alternative, afterCondition.fork()));
    const hasElse = alternatives.some((alternative) => !this.rules.flatElseIfs.has(this.node(alternative).type));
    if (!hasElse) branches.push(afterCondition);
    return merge(branches);
  }

  /**
   * The subject first; then every arm starts from the state after the subject (fall-through from
   * one arm into the next is not followed); without a catch-all arm the subject's state survives.
   */
  private *visitSwitch(id: number, states: States): Walking {
    const isArm = (child: number) => this.rules.switchArms.has(this.node(child).type);
    const arms: number[] = [];
    const subject: number[] = [];
    for (const child of this.node(id).children) {
      const nested = this.node(child).children.filter(isArm);
      if (isArm(child)) arms.push(child);
      else if (nested.length) arms.push(...nested);
      else subject.push(child);
    }
    const afterSubject = yield sequenceRequest(subject, states);
    const branches: States[] = [];
    for (const arm of arms) branches.push(yield visitRequest(arm, afterSubject.fork()));
    if (!arms.some((arm) => this.catchesAll(arm))) branches.push(afterSubject);
    return merge(branches);
  }

  /** A catch-all arm: of a type that is one, or one the language's rules recognise (`case _:`). */
  private catchesAll(arm: number): boolean {
    if (this.rules.defaultArms.has(this.node(arm).type)) return true;
    return this.rules.isCatchAllArm?.(this.node(arm), this.parsed.tree.nodes) ?? false;
  }

  private *visitLoop(id: number, states: States): Walking {
    const clause = this.node(id).children.find((child) => this.rules.loopClauses.has(this.node(child).type));
    const header = clause ?? id;
    const body = this.fields(id, ['body']);
    const after = this.fields(id, ['alternative']);
    const values = this.fields(header, LOOP_VALUE_FIELDS);
    let targets = this.fields(header, LOOP_TARGET_FIELDS);
    if (this.rules.positionalForEach?.has(this.node(id).type)) {
      const named = this.node(id).children.filter((child) => this.node(child).named && !body.includes(child));
      values.push(named[0]);
      targets = named.slice(1, 2);
    }
    if (values.length && targets.length) {
      this.declareInBlock(header, states);
      states = yield* this.repeat(states, (pass) => this.forEachPass(values, targets, body, pass));
      return yield sequenceRequest(after, states);
    }
    const init = this.fields(header, INIT_FIELDS);
    const condition = this.fields(header, ['condition']);
    const update = this.fields(header, UPDATE_FIELDS);
    if (init.length + condition.length + update.length === 0) {
      const children = this.node(id).children;
      return yield* this.repeat(states, (pass) => walkSequence(children, pass));
    }
    states = yield sequenceRequest(init, states);
    const bodyFirst =
      condition.length > 0 && body.length > 0 && this.node(body[0]).startIndex < this.node(condition[0]).startIndex;
    const order = bodyFirst ? [...body, ...condition] : [...condition, ...body, ...update];
    states = yield* this.repeat(states, (pass) => walkSequence(order, pass));
    return yield sequenceRequest(after, states);
  }

  /**
   * A loop body's two passes, so that values carried around the loop are linked. Inside the second
   * pass, nested loops and blocks take one pass: their own carried values were linked in the first
   * pass (their definitions are the same occurrences), and what reaches them from the enclosing
   * loop's carried values does so on their first pass. So each loop body is walked once more per
   * enclosing loop (depth + 1 times), not 2^depth times.
   */
  private *repeat(states: States, pass: (states: States) => Walking): Walking {
    if (this.repeating > 0) return yield* pass(states);
    states = yield* pass(states);
    this.repeating++;
    states = yield* pass(states);
    this.repeating--;
    return states;
  }

  /** One pass of a for-each loop: the iterated value, its assignment to the loop variables, the body. */
  private *forEachPass(values: number[], targets: number[], body: number[], states: States): Walking {
    states = yield sequenceRequest(values, states);
    states = yield* this.assign(targets, values, states);
    return yield sequenceRequest(body, states);
  }

  private *visitTry(id: number, before: States): Walking {
    let current = before.fork();
    let handled: States[] = [];
    let exited: States[] = [];
    for (const child of this.node(id).children) {
      const type = this.node(child).type;
      if (this.rules.handlers.has(type)) {
        const after: States = yield visitRequest(child, merge([before, current]));
        if (!this.alwaysExits(child)) handled.push(after);
        else exited.push(after);
      } else if (this.rules.finalizers.has(type)) {
        current = yield visitRequest(child, merge([current, ...handled, ...exited]));
        handled = [];
        exited = [];
      } else current = yield visitRequest(child, current);
    }
    return handled.length ? merge([current, ...handled]) : current;
  }

  /**
   * Whether a handler's body ends in a statement that leaves it (`raise`, `return`, `throw`, a
   * call that never returns): then its definitions do not reach the code after the `try`.
   */
  private alwaysExits(handler: number): boolean {
    const rules = this.rules;
    if (!rules.exits && !rules.exitCalls) return false;
    // Named nodes other than dropped comments (leaves that are no code token).
    const significant = (id: number) => {
      const node = this.node(id);
      return node.named && (node.children.length > 0 || node.token >= 0);
    };
    const handlerNode = this.node(handler);
    const body =
      handlerNode.children.find((child) => this.node(child).field === 'body') ??
      handlerNode.children.filter(significant).at(-1);
    if (body === undefined) return false;
    let last = this.node(body).children.filter(significant).at(-1);
    if (last === undefined) return false;
    if (this.node(last).type === 'expression_statement') last = this.node(last).children.find(significant) ?? last;
    const statement = this.node(last);
    if (rules.exits?.has(statement.type)) return true;
    if (!rules.exitCalls) return false;
    const isCallee = (child: number) => ['method', 'function'].includes(this.node(child).field ?? '');
    const callee = statement.children.length === 0 ? last : statement.children.find(isCallee);
    return callee !== undefined && this.node(callee).token >= 0 && rules.exitCalls.has(this.text(callee));
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
