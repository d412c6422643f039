/**
 * Builds a CodeSearchNet-shaped JSONL of real functions from a folder of Python files (by default
 * the Python standard library of this machine), with the project's own parser: one line per
 * `def` that is not nested in another function, dedented, in file and source order.
 *
 *   node dist/stdlib-corpus.js [--from /usr/lib/python3.11] [--recursive] [--limit N] [--max-chars 4000] OUT.jsonl
 *
 * `--recursive` also reads the packages below the folder (not site-packages or dist-packages).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CodeParser } from '../core/parser';
import type { SyntaxTree } from '../core/types';

export interface FunctionRecord {
  repo: string;
  path: string;
  func_name: string;
  language: 'python';
  code: string;
}

/** Top-level and method `def`s of one file (functions nested in functions are part of their parent). */
export function functionsOf(source: string, tree: SyntaxTree, path: string, maxChars: number): FunctionRecord[] {
  const records: FunctionRecord[] = [];
  for (const node of tree.nodes) {
    if (node.type !== 'function_definition' || node.isError) continue;
    let insideFunction = false;
    for (let parent = node.parent; parent >= 0; parent = tree.nodes[parent].parent) {
      if (tree.nodes[parent].type === 'function_definition') insideFunction = true;
    }
    if (insideFunction) continue;
    const lineStart = source.lastIndexOf('\n', node.startIndex - 1) + 1;
    const indent = source.slice(lineStart, node.startIndex);
    if (indent.trim()) continue;
    const text = source.slice(node.startIndex, node.endIndex);
    if (text.length > maxChars) continue;
    const code = text
      .split('\n')
      .map((line, index) => (index > 0 && line.startsWith(indent) ? line.slice(indent.length) : line))
      .join('\n');
    const name = /^(?:async\s+)?def\s+([A-Za-z_]\w*)/.exec(code)?.[1] ?? 'function';
    records.push({ repo: 'python3-stdlib', path, func_name: name, language: 'python', code });
  }
  return records;
}

/** The .py files of `dir` (and below it when `recursive`), as paths relative to `dir`, sorted. */
export function pythonFiles(dir: string, recursive: boolean, prefix = ''): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isFile() && entry.name.endsWith('.py')) files.push(relative);
    else if (recursive && entry.isDirectory() && !/^(site|dist)-packages$|^__pycache__$/.test(entry.name))
      files.push(...pythonFiles(dir, true, relative));
  }
  return files;
}

async function main(argv: string[]): Promise<void> {
  let from = '/usr/lib/python3.11';
  let limit = Infinity;
  let maxChars = 4000;
  let out: string | undefined;
  let recursive = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--from') from = argv[++i];
    else if (argv[i] === '--limit') limit = Number(argv[++i]);
    else if (argv[i] === '--max-chars') maxChars = Number(argv[++i]);
    else if (argv[i] === '--recursive') recursive = true;
    else out = argv[i];
  }
  if (!out || !(limit >= 1) || !(maxChars >= 1))
    throw new Error('Usage: stdlib-corpus [--from DIR] [--limit N] [--max-chars N] OUT.jsonl');
  const parser = await CodeParser.create(join(__dirname, '..', 'grammars'));
  const lines: string[] = [];
  for (const name of pythonFiles(from, recursive)) {
    if (lines.length >= limit) break;
    const source = readFileSync(join(from, name), 'utf8');
    const parsed = await parser.parse(source, 'python');
    for (const record of functionsOf(source, parsed.tree, name, maxChars)) {
      if (lines.length >= limit) break;
      lines.push(JSON.stringify(record));
    }
  }
  parser.dispose();
  writeFileSync(out, lines.join('\n') + '\n');
  process.stdout.write(`wrote ${lines.length} functions from ${from} to ${out}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}
