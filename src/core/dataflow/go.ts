import type { SyntaxNode } from '../types';
import { fieldChildren, LEFT_RIGHT, NAME_VALUE, type LanguageRules } from './rules';

export const GO_RULES: LanguageRules = {
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
  blockScopes: new Set([
    'block',
    'if_statement',
    'for_statement',
    'expression_switch_statement',
    'type_switch_statement',
    'expression_case',
    'type_case',
    'default_case',
    'communication_case',
  ]),
  blockDeclared: declaredInGoBlock,
  functions: new Set(['function_declaration', 'method_declaration', 'func_literal']),
  switches: new Set(['expression_switch_statement', 'type_switch_statement', 'select_statement']),
  switchArms: new Set(['expression_case', 'type_case', 'communication_case', 'default_case']),
  defaultArms: new Set(['default_case']),
};

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

/**
 * `:=`, `var` and `const` declare in the innermost block; an `if`, `for` or `switch` header and
 * each `case` are blocks of their own (so `if v, ok := m[k]; ok {…}` does not outlive the `if`).
 */
function declaredInGoBlock(node: SyntaxNode, nodes: SyntaxNode[]): number[] | undefined {
  if (node.type === 'short_var_declaration') return fieldChildren(node, nodes, 'left');
  if (node.type === 'var_spec' || node.type === 'const_spec') return fieldChildren(node, nodes, 'name');
  if (node.type === 'range_clause' && node.children.some((child) => nodes[child].type === ':=')) {
    return fieldChildren(node, nodes, 'left');
  }
  return undefined;
}
