#!/usr/bin/env node
// Fails when the TypeScript files under the given folders (default: src and webview) import each
// other in a cycle. Every kind of import counts, type-only ones included (`import type`,
// `import('./x').T`, `export … from`), because a cycle of types is still a cycle of modules to a
// reader. Only relative imports are followed; packages cannot be part of a cycle of ours.
// Usage: node scripts/check-cycles.mjs [folder …]   (exit 0: no cycle; 1: cycles, each named)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts'];

function isSourceFile(name) {
  return SOURCE_EXTENSIONS.some((ext) => name.endsWith(ext)) && !name.endsWith('.d.ts');
}

function sourceFiles(folder) {
  const files = [];
  const pending = [folder];
  while (pending.length) {
    const current = pending.pop();
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules') pending.push(path);
      else if (entry.isFile() && isSourceFile(entry.name)) files.push(resolve(path));
    }
  }
  return files;
}

/** The module specifiers a file imports, of every kind. */
function importedSpecifiers(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const specifiers = [];
  const pending = [source];
  while (pending.length) {
    const node = pending.pop();
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) specifiers.push(expression.text);
    } else if (ts.isImportTypeNode(node)) {
      const argument = node.argument;
      const literal = ts.isLiteralTypeNode(argument) ? argument.literal : undefined;
      if (literal && ts.isStringLiteral(literal)) specifiers.push(literal.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isDynamicImport || isRequire) specifiers.push(node.arguments[0].text);
    }
    node.forEachChild((child) => {
      pending.push(child);
    });
  }
  return specifiers;
}

/** The file a relative specifier names (`./x`, `./x.js`, `./dir` with an index), if it is one of ours. */
function resolveRelative(fromFile, specifier, known) {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(fromFile), specifier);
  const stem = base.replace(/\.(c|m)?js$/, '');
  const candidates = [
    base,
    ...SOURCE_EXTENSIONS.map((ext) => stem + ext),
    ...SOURCE_EXTENSIONS.map((ext) => join(base, 'index' + ext)),
  ];
  return candidates.find((candidate) => known.has(candidate));
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan, iterative). */
function cyclicComponents(graph) {
  const index = new Map();
  const lowLink = new Map();
  const onStack = new Set();
  const stack = [];
  const components = [];
  let counter = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work = [{ file: start, next: 0 }];
    index.set(start, counter);
    lowLink.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1];
      const targets = graph.get(frame.file);
      if (frame.next < targets.length) {
        const target = targets[frame.next++];
        if (!index.has(target)) {
          index.set(target, counter);
          lowLink.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          work.push({ file: target, next: 0 });
        } else if (onStack.has(target)) {
          lowLink.set(frame.file, Math.min(lowLink.get(frame.file), index.get(target)));
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1].file;
        lowLink.set(parent, Math.min(lowLink.get(parent), lowLink.get(frame.file)));
      }
      if (lowLink.get(frame.file) !== index.get(frame.file)) continue;
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.file);
      if (component.length > 1 || targets.includes(frame.file)) components.push(component);
    }
  }
  return components;
}

/** One concrete cycle inside a component: a shortest path back to its first file (breadth-first). */
function oneCycle(component, graph) {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const previous = new Map();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const file = queue[head];
    for (const target of graph.get(file)) {
      if (!members.has(target)) continue;
      if (target === start) {
        const path = [file];
        while (path[0] !== start) path.unshift(previous.get(path[0]));
        return [...path, start];
      }
      if (!previous.has(target)) {
        previous.set(target, file);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

export function findCycles(folders) {
  const files = folders.flatMap((folder) => sourceFiles(folder));
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const targets = new Set();
    for (const specifier of importedSpecifiers(file)) {
      const target = resolveRelative(file, specifier, known);
      if (target) targets.add(target);
    }
    graph.set(file, [...targets]);
  }
  return { fileCount: files.length, cycles: cyclicComponents(graph).map((component) => oneCycle(component, graph)) };
}

const isMain = process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const folders = process.argv.slice(2);
  const roots = (folders.length ? folders : ['src', 'webview']).map((folder) => resolve(folder));
  const missing = roots.filter((root) => !existsSync(root) || !statSync(root).isDirectory());
  if (missing.length) {
    console.error(`check-cycles: not a folder: ${missing.map((root) => relative(process.cwd(), root)).join(', ')}`);
    process.exit(2);
  }
  const { fileCount, cycles } = findCycles(roots);
  if (cycles.length === 0) {
    console.log(`check-cycles: no import cycle among ${fileCount} files`);
  } else {
    for (const cycle of cycles) {
      console.error(`import cycle: ${cycle.map((file) => relative(process.cwd(), file)).join(' -> ')}`);
    }
    console.error(`check-cycles: ${cycles.length} import cycle(s); move the shared part into a module both can import`);
    process.exit(1);
  }
}
