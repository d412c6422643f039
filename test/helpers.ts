import { join } from 'node:path';
import { extractDataFlow } from '../src/core/dataflow/dataFlow';
import { CodeParser } from '../src/core/parser';
import type { CodeToken, LanguageId } from '../src/core/types';

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

/**
 * A file's data-flow graph with edges as readable strings, "x@2 <- a@2 computedFrom" (token text @
 * 1-based line; later occurrences of the same text on one line get "#2", "#3" …), in graph order.
 */
export async function labelledDataFlowEdges(language: LanguageId, source: string): Promise<string[]> {
  const parsed = await (await sharedParser()).parse(source, language);
  const graph = extractDataFlow(parsed);
  if (!graph) throw new Error(`no data-flow rules for ${language}`);
  const label = (token: number) => {
    const { text, range } = parsed.tokens[token];
    const line = range.start.line;
    const sameOnLine = (other: CodeToken) => other.text === text && other.range.start.line === line;
    const occurrence = parsed.tokens.slice(0, token + 1).filter(sameOnLine).length;
    return `${text}@${line + 1}${occurrence > 1 ? `#${occurrence}` : ''}`;
  };
  return graph.edges.map((edge) => `${label(edge.from)} <- ${label(edge.to)} ${edge.kind}`);
}
