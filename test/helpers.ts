import { join } from 'node:path';
import { CodeParser } from '../src/core/parser';

export const ROOT = join(__dirname, '..', '..');
export const EXAMPLES = join(ROOT, 'examples');
/** The bundled final model; CAL_TEST_MODEL points the tests at another exported folder. */
export const MODEL_DIR = process.env.CAL_TEST_MODEL ?? join(ROOT, 'models', 'code-attention-mini');
export const EARLY_MODEL_DIR = join(ROOT, 'models', 'code-attention-mini-early');
export const CLI = join(ROOT, 'dist', 'cli.js');

let parser: Promise<CodeParser> | undefined;
export function sharedParser(): Promise<CodeParser> {
  parser ??= CodeParser.create(join(ROOT, 'grammars'));
  return parser;
}
