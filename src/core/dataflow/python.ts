import type { SyntaxNode } from '../types';
import { LEFT_RIGHT, NAME_VALUE, type LanguageRules } from './rules';

export const PYTHON_RULES: LanguageRules = {
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
  declarations: {
    default_parameter: NAME_VALUE,
    typed_default_parameter: NAME_VALUE,
    named_expression: NAME_VALUE,
    for_in_clause: LEFT_RIGHT,
    // `with open(p) as f`, `except E as e`: the name after `as` is assigned the expression before it.
    as_pattern: { target: ['alias'], value: [''] },
  },
  updates: new Set(),
  conditionals: new Set(['if_statement']),
  flatElseIfs: new Set(['elif_clause']),
  loops: new Set(['for_statement', 'while_statement']),
  loopClauses: new Set(),
  tries: new Set(['try_statement']),
  handlers: new Set(['except_clause', 'except_group_clause']),
  finalizers: new Set(['finally_clause']),
  exits: new Set(['raise_statement', 'return_statement']),
  functions: new Set(['function_definition', 'lambda', 'class_definition']),
  hiddenScopes: new Set(['class_definition']),
  sharedDeclarations: new Set(['global_statement', 'nonlocal_statement']),
  switches: new Set(['match_statement']),
  switchArms: new Set(['case_clause']),
  defaultArms: new Set(),
  isCatchAllArm: isWildcardCase,
  comprehensions: new Set([
    'list_comprehension',
    'set_comprehension',
    'dictionary_comprehension',
    'generator_expression',
  ]),
  comprehensionEscapes: new Set(['named_expression']),
};

/** `import a.b` binds `a`; `from a.b import c` and `import a.b as m` bind only `c` and `m`. */
function isPythonModulePath(node: SyntaxNode, nodes: SyntaxNode[]): boolean {
  const path = nodes[node.parent];
  if (path.type !== 'dotted_name') return false;
  if (path.children[0] !== node.id) return true;
  const holder = nodes[path.parent];
  if (path.field === 'module_name' || holder.type === 'relative_import') return true;
  return holder.type === 'aliased_import' && path.field === 'name';
}

/** `case _:` catches every subject. */
function isWildcardCase(arm: SyntaxNode, nodes: SyntaxNode[]): boolean {
  return arm.children.some((child) => {
    const pattern = nodes[child];
    if (pattern.type !== 'case_pattern') return false;
    return pattern.children.map((grandchild) => nodes[grandchild].type).join() === '_';
  });
}
