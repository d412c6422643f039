import type { SyntaxNode } from '../types';

/** The fields of an assignment or declaration that hold its target and its value. */
export interface Fields {
  target: string[];
  value: string[];
}

/**
 * What the shared walker (walker.ts) needs to know about one language: which node types are
 * variables, assignments, declarations, branches, loops, handlers and scopes. Each language's
 * table is in its own file beside this one.
 */
export interface LanguageRules {
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
  /**
   * Statements after which a handler never reaches the code after its `try` (`raise`, `return`,
   * `throw`), and calls that never return (Ruby's `raise`), when they end the handler's body.
   */
  exits?: Set<string>;
  exitCalls?: Set<string>;
  /** Fields whose variables the node binds afresh, as parameters: `catch (e)`, Ruby's `rescue => e`. */
  bindings?: Map<string, string[]>;
  /** Nodes that open a block scope: a name declared in one does not outlive it. */
  blockScopes?: Set<string>;
  /** If `node` declares names in its block scope (`let`, `int x`, `:=`), the nodes that hold them. */
  blockDeclared?: (node: SyntaxNode, nodes: SyntaxNode[]) => number[] | undefined;
  /** Functions, methods, lambdas and classes: a scope whose parameters are fresh definitions. */
  functions: Set<string>;
  /** Scopes whose body does not see the enclosing variables (PHP functions, Ruby `def` and `class`). */
  isolatedScopes?: Set<string>;
  /** Scopes whose definitions the functions directly inside them do not see (Python's class bodies). */
  hiddenScopes?: Set<string>;
  /** Names that an isolated scope still sees (Ruby's `$globals` and constants). */
  isGlobalName?: (name: string) => boolean;
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
  /** Arms that catch every case although their type does not say so (Java's `default:` label, `case _:`). */
  isCatchAllArm?: (arm: SyntaxNode, nodes: SyntaxNode[]) => boolean;
  /** For-each loops without fields, whose named children are (iterated value, [key =>] target, body): PHP's. */
  positionalForEach?: Set<string>;
  /** Comprehensions: scopes whose `for`/`if` clauses run before the element expression (field `body`). */
  comprehensions?: Set<string>;
  /** Declarations inside a comprehension that bind in the enclosing scope (Python's walrus). */
  comprehensionEscapes?: Set<string>;
}

export const LEFT_RIGHT: Fields = { target: ['left'], value: ['right'] };
export const NAME_VALUE: Fields = { target: ['name'], value: ['value'] };
/** A declaration without a value: its target is a fresh definition (Java's `catch (E e)`). */
export const NAME_ONLY: Fields = { target: ['name'], value: [] };

/** The children of `node` in the given field. */
export function fieldChildren(node: SyntaxNode, nodes: SyntaxNode[], field: string): number[] {
  return node.children.filter((child) => nodes[child].field === field);
}
