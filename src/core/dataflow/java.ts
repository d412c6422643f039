import type { SyntaxNode } from '../types';
import { fieldChildren, LEFT_RIGHT, NAME_ONLY, NAME_VALUE, type LanguageRules } from './rules';

export const JAVA_RULES: LanguageRules = {
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
  declarations: { variable_declarator: NAME_VALUE, catch_formal_parameter: NAME_ONLY },
  updates: new Set(['update_expression']),
  conditionals: new Set(['if_statement']),
  flatElseIfs: new Set(),
  loops: new Set(['for_statement', 'enhanced_for_statement', 'while_statement', 'do_statement']),
  loopClauses: new Set(),
  tries: new Set(['try_statement', 'try_with_resources_statement']),
  handlers: new Set(['catch_clause']),
  finalizers: new Set(['finally_clause']),
  exits: new Set(['throw_statement', 'return_statement']),
  blockScopes: new Set(['block', 'for_statement', 'enhanced_for_statement', 'catch_clause']),
  blockDeclared: locallyDeclared,
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
  isCatchAllArm: hasDefaultLabel,
};

/** Statement labels, and the method of `Type::method` / `this::method`. */
function isJavaLabelOrMethodReference(node: SyntaxNode, nodes: SyntaxNode[]): boolean {
  const parent = nodes[node.parent];
  if (parent.type === 'method_reference') return parent.children[0] !== node.id;
  return ['labeled_statement', 'break_statement', 'continue_statement'].includes(parent.type);
}

/** An arm of an old-style switch whose `switch_label` is `default`. */
function hasDefaultLabel(arm: SyntaxNode, nodes: SyntaxNode[]): boolean {
  return arm.children.some((child) => {
    const label = nodes[child];
    return label.type === 'switch_label' && label.children.some((grandchild) => nodes[grandchild].type === 'default');
  });
}

/** Local variables, `for` variables and `catch` parameters are scoped to their block. */
function locallyDeclared(node: SyntaxNode, nodes: SyntaxNode[]): number[] | undefined {
  if (node.type === 'variable_declarator' && nodes[node.parent].type === 'local_variable_declaration') {
    return fieldChildren(node, nodes, 'name');
  }
  if (node.type === 'catch_formal_parameter' || node.type === 'enhanced_for_statement') {
    return fieldChildren(node, nodes, 'name');
  }
  return undefined;
}
