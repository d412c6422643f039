import type { SyntaxNode } from '../types';
import { fieldChildren, LEFT_RIGHT, NAME_VALUE, type LanguageRules } from './rules';

export const JAVASCRIPT_RULES: LanguageRules = {
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
  exits: new Set(['throw_statement', 'return_statement']),
  bindings: new Map([['catch_clause', ['parameter']]]),
  blockScopes: new Set(['statement_block', 'for_statement', 'for_in_statement', 'catch_clause']),
  blockDeclared: lexicallyDeclared,
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

/** `import { a as b }` binds `b` only; `export { b as e }` exports `b` under a name that is no variable. */
function isJavaScriptModuleName(node: SyntaxNode, nodes: SyntaxNode[]): boolean {
  const specifier = nodes[node.parent];
  if (specifier.type === 'import_specifier') {
    return node.field === 'name' && specifier.children.some((child) => nodes[child].field === 'alias');
  }
  return specifier.type === 'export_specifier' && node.field === 'alias';
}

/** `let` and `const` (also in a `for` header) and a `catch` parameter are scoped to their block; `var` is not. */
function lexicallyDeclared(node: SyntaxNode, nodes: SyntaxNode[]): number[] | undefined {
  if (node.type === 'variable_declarator' && nodes[node.parent].type === 'lexical_declaration') {
    return fieldChildren(node, nodes, 'name');
  }
  if (node.type === 'catch_clause') return fieldChildren(node, nodes, 'parameter');
  if (node.type === 'for_in_statement') {
    const kind = fieldChildren(node, nodes, 'kind').map((child) => nodes[child].type);
    if (kind.includes('let') || kind.includes('const')) return fieldChildren(node, nodes, 'left');
  }
  return undefined;
}
