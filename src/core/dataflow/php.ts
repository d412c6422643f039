import { LEFT_RIGHT, type LanguageRules } from './rules';

export const PHP_RULES: LanguageRules = {
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
  assignments: {
    assignment_expression: LEFT_RIGHT,
    augmented_assignment_expression: LEFT_RIGHT,
    reference_assignment_expression: LEFT_RIGHT,
  },
  augmentedAssignments: new Set(['augmented_assignment_expression']),
  declarations: { simple_parameter: { target: ['name'], value: ['default_value'] } },
  updates: new Set(['update_expression']),
  conditionals: new Set(['if_statement']),
  flatElseIfs: new Set(['else_if_clause']),
  loops: new Set(['for_statement', 'foreach_statement', 'while_statement', 'do_statement']),
  positionalForEach: new Set(['foreach_statement']),
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
  switchArms: new Set([
    'case_statement',
    'default_statement',
    'match_conditional_expression',
    'match_default_expression',
  ]),
  defaultArms: new Set(['default_statement', 'match_default_expression']),
};
