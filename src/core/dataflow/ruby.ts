import { LEFT_RIGHT, NAME_VALUE, type LanguageRules } from './rules';

/** Ruby constants (`MAX = 10`) are variables, seen inside `def`, `class` and `module` like `$globals`. */

export const RUBY_RULES: LanguageRules = {
  variables: new Set(['identifier', 'constant', 'instance_variable', 'class_variable', 'global_variable']),
  memberNames: new Map([
    ['call', ['method']],
    ['scope_resolution', ['name']],
  ]),
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
  exits: new Set(['return']),
  exitCalls: new Set(['raise', 'fail']),
  bindings: new Map([['rescue', ['variable']]]),
  functions: new Set(['method', 'singleton_method', 'lambda', 'class', 'module', 'singleton_class']),
  isolatedScopes: new Set(['method', 'singleton_method', 'class', 'module', 'singleton_class']),
  isGlobalName: (name) => name.startsWith('$') || /^[A-Z]/.test(name),
  blocks: new Set(['block', 'do_block']),
  switches: new Set(['case', 'case_match']),
  switchArms: new Set(['when', 'in_clause', 'else']),
  defaultArms: new Set(['else']),
};
