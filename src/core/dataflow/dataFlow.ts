import type { DataFlowEdge, DataFlowGraph, LanguageId, ParsedSource } from '../types';
import { GO_RULES } from './go';
import { JAVA_RULES } from './java';
import { JAVASCRIPT_RULES } from './javascript';
import { PHP_RULES } from './php';
import { PYTHON_RULES } from './python';
import type { LanguageRules } from './rules';
import { RUBY_RULES } from './ruby';
import { States } from './states';
import { DataFlowWalker } from './walker';

export { compareEdges } from './walker';

/**
 * Data-flow graphs in the manner of GraphCodeBERT (Guo et al., ICLR 2021; the reference is DFG.py
 * of its code-search parser): nodes are variable occurrences (code-token indices); `comesFrom`
 * links a use to the occurrences its value may come from, `computedFrom` links an assigned
 * variable to the variables of the expression it is computed from. One walker (walker.ts) serves
 * every language; the per-language tables (python.ts, java.ts, …) only name the node types. The
 * walk keeps, for every name, the occurrences that last defined it:
 *
 * - variables are identifiers, not the names of members, methods, keyword arguments, struct
 *   literal keys, annotations, labels or module paths: in `self.count`, `obj.size()`, `f(key=v)`
 *   only `self`, `obj` and `v` are nodes (the object of a member access is a use);
 * - a use of a known name comesFrom its current definitions; an unknown name (a global, a
 *   builtin) becomes a definition;
 * - an assignment or declaration visits its value first, then every variable on the left is
 *   computedFrom every variable of the value and becomes the name's only definition (a
 *   declaration's initializer too: `int x = a + b` gives computedFrom, see below); parallel
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
 *   iterated expression's variables to its loop variables on each pass; within the second pass,
 *   nested loops and blocks are walked once (their own carried values are linked already), so a
 *   loop body at depth d is walked d + 1 times, not 2^d;
 * - a name bound by a handler is defined afresh, not read: `catch (e)`, `catch (E e)`,
 *   `catch (E $e)`, Ruby's `rescue E => e`; Python's `except E as e` and `with open(p) as f` assign
 *   the name after `as` from the expression before it (`e` computedFrom `E`, `f` from `open`, `p`);
 * - block scopes: JavaScript/TypeScript `let`, `const` and `catch` parameters, Java locals, `for`
 *   variables and `catch` parameters, Go `:=`, `var` and `const` belong to their block (in Go an
 *   `if`, `for` or `switch` header and each `case` are blocks too); after the block, a name declared
 *   in it has again the definitions it had just before that declaration (none, if it had none);
 *   `var`, Python, Ruby and PHP have no block scopes;
 * - `try`: each handler starts from the union of the states before and after the protected body;
 *   `finally` continues from the union of the body and all handlers; a handler whose body ends in
 *   `raise`, `return` or `throw` (Ruby: also a `raise`/`fail` call) does not reach the code after
 *   the `try`, so its definitions are not merged there (they still reach a `finally`, and through
 *   it the code after it: the walk does not split the `finally` by how it was entered);
 * - functions, methods, lambdas, classes and comprehensions are scopes: the name is defined where
 *   the function is (a named function or class expression binds its name inside only), the
 *   parameters are fresh definitions, the body sees the enclosing definitions, and nothing the
 *   body defines leaks out. Some scopes see no enclosing variables: PHP functions, methods and
 *   closures (a closure sees what its `use (…)` captures), Ruby `def`, `class` and `module` (they
 *   see `$globals` and constants; Ruby constants such as `MAX = 10` are variables, and in
 *   `Mod::NAME` only `Mod` is one), and a Python class body is not seen by the functions inside it. Names shared
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
 *
 * computedFrom or comesFrom: a declaration with an initializer (`var x = a`, `int x = a + b`)
 * links x computedFrom a and b here, exactly as the assignment `x = a + b` does; the reference
 * labels a declaration's initializer comesFrom (its `def_statement` rule: Java and JavaScript
 * `variable_declarator`, Go `var_spec`, parameters with defaults) and only assignments
 * computedFrom. The paper defines a single relation between variables, where the value comes from,
 * and the reference feeds GraphCodeBERT only the edges, not their labels; so the edges are the same
 * and only this label differs. To compare labelled edges with the reference, read computedFrom on
 * a declaration as its comesFrom.
 */
export function extractDataFlow(parsed: ParsedSource): DataFlowGraph | undefined {
  const rules = RULES[parsed.language];
  if (!rules) return undefined;
  const walker = new DataFlowWalker(parsed, rules);
  walker.walk(0, new States());
  return walker.graph();
}

export function supportsDataFlow(language: LanguageId): boolean {
  return RULES[language] !== undefined;
}

/** TypeScript uses the JavaScript rules: type annotations hold no variables. */
const RULES: Partial<Record<LanguageId, LanguageRules>> = {
  python: PYTHON_RULES,
  java: JAVA_RULES,
  javascript: JAVASCRIPT_RULES,
  typescript: JAVASCRIPT_RULES,
  go: GO_RULES,
  ruby: RUBY_RULES,
  php: PHP_RULES,
};

/** Adjacency by token: for each code token, its outgoing data-flow edges (for hovers and drawing). */
export function dataFlowEdgesByToken(graph: DataFlowGraph, tokenCount: number): DataFlowEdge[][] {
  const byToken: DataFlowEdge[][] = Array.from({ length: tokenCount }, () => []);
  for (const edge of graph.edges) byToken[edge.from].push(edge);
  return byToken;
}
