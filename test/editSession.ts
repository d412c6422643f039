import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers';

export const pprint = readFileSync(join(ROOT, 'test', 'fixtures', 'pprint.py'), 'utf8');

/** `text` with `count` characters at the first occurrence of `anchor` (+ `shift`) replaced by `insert`. */
export function editAt(text: string, anchor: string, insert: string, shift = 0, count = 0): string {
  const at = text.indexOf(anchor);
  assert.ok(at >= 0, `anchor ${JSON.stringify(anchor)} found`);
  return text.slice(0, at + shift) + insert + text.slice(at + shift + count);
}

/** The edits of a session on pprint.py, each applied to the text before it; the last one restores the file. */
export const pprintSession: Array<[string, (text: string) => string]> = [
  ['insert into an identifier', (text) => editAt(text, 'self._readable = False', '_x', 'self._readable'.length)],
  ['delete a line', (text) => editAt(text, '            self._recursive = True\n', '', 0, 29)],
  [
    'insert several lines',
    (text) => editAt(text, '    def pprint(self, object):', '    def added(self):\n        return [1, 2]\n\n'),
  ],
  // An `if` around a statement: the lines below it move one level deeper in the tree.
  [
    'change the tree shape',
    (text) => editAt(text, '        self._format(object, self._stream, 0, 0, {}, 0)', '        if True:\n    '),
  ],
  ['edit inside a string', (text) => editAt(text, '"""Format a Python object', 'edited ', 3)],
  ['a syntax error', (text) => editAt(text, 'def isreadable(object):', '', 'def isreadable(object)'.length, 1)],
  ['the error fixed', (text) => text.replace('def isreadable(object)\n', 'def isreadable(object):\n')],
  ['undo back to the original', () => pprint],
];
