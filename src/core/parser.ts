import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Language, Parser, type Edit, type Point, type Tree, type TreeCursor } from 'web-tree-sitter';
import { languageSpec, type LanguageSpec } from './languages';
import { runStepsSliced, Slicer, type Steps } from './slices';
import { LineIndex } from './text';
import type { CodeToken, LanguageId, ParsedSource, SourceRange, SyntaxNode, TokenMode } from './types';

export interface ParseOptions {
  /** Keep comments as code tokens (they are excluded from model input by default). */
  keepComments?: boolean;
  /**
   * `whole-strings` (default): a string literal (the language's `atomicTypes`) is one code token.
   * `leaves`: every childless node is a token, as the CAT-probing reference takes them.
   */
  tokens?: TokenMode;
}

export type { TokenMode } from './types';
export const TOKEN_MODES: readonly TokenMode[] = ['whole-strings', 'leaves'];

/** Finds the folder holding `tree-sitter.wasm` and the grammar files, from a start folder upward. */
export function findGrammarsDir(startDir: string = __dirname): string {
  let dir = startDir;
  for (;;) {
    const candidate = join(dir, 'grammars');
    if (existsSync(join(candidate, 'tree-sitter.wasm'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `Cannot find the grammars folder (grammars/tree-sitter.wasm) above ${startDir}. Run "npm run ` +
          `build" to copy the grammar files.`,
      );
    }
    dir = parent;
  }
}

let runtimeReady: Promise<void> | undefined;

/**
 * Parses source files with web-tree-sitter and the grammar wasm files VS Code ships, and copies
 * each tree into a plain `SyntaxTree` so nothing downstream holds wasm memory. The parser itself keeps
 * the last {@link MAX_KEPT_TREES} trees, so that parsing an edited text reuses the unchanged subtrees.
 */
export class CodeParser {
  private readonly languages = new Map<LanguageId, Promise<Language>>();
  private readonly parser: Parser;
  /** The parse in progress: a paused tree-sitter parse resumes on the next call, so parses take turns. */
  private turn: Promise<unknown> = Promise.resolve();
  /** The latest trees, newest last, each with the text it parsed: a re-parse after an edit starts from one. */
  private readonly kept: KeptTree[] = [];

  private constructor(private readonly grammarsDir: string) {
    this.parser = new Parser();
  }

  static async create(grammarsDir: string = findGrammarsDir()): Promise<CodeParser> {
    runtimeReady ??= Parser.init({ locateFile: () => join(grammarsDir, 'tree-sitter.wasm') });
    await runtimeReady;
    return new CodeParser(grammarsDir);
  }

  private language(id: LanguageId): Promise<Language> {
    let loading = this.languages.get(id);
    if (!loading) {
      const file = join(this.grammarsDir, `tree-sitter-${languageSpec(id).grammar}.wasm`);
      loading = Language.load(file);
      this.languages.set(id, loading);
    }
    return loading;
  }

  /**
   * Parses and copies the tree. Both give the event loop a turn every {@link Slicer} slice: tree-sitter
   * pauses when its progress callback says so and resumes where it stopped on the next call.
   */
  parse(source: string, language: LanguageId, options: ParseOptions = {}): Promise<ParsedSource> {
    const parsed = this.turn.then(() => this.parseNow(source, language, options));
    this.turn = parsed.catch(() => undefined);
    return parsed;
  }

  private async parseNow(source: string, language: LanguageId, options: ParseOptions): Promise<ParsedSource> {
    const spec = languageSpec(language);
    this.parser.setLanguage(await this.language(language));
    const slicer = new Slicer();
    const earlier = this.takeEditedTree(source, language);
    const first = await this.parseTree(source, earlier, spec, slicer);
    let tree = first.tree;
    if ((earlier || first.paused) && tree.rootNode.hasError) {
      // Error recovery may settle differently when the parse starts from an old tree or was paused and
      // resumed: such a file is parsed afresh in one go, so that its tree never depends on timing.
      tree.delete();
      ({ tree } = await this.parseTree(source, null, spec, null));
    }
    try {
      const keepComments = options.keepComments ?? false;
      const copy = copyTree(tree.walk(), source, spec, keepComments, options.tokens ?? 'whole-strings');
      return await runStepsSliced(copy, slicer);
    } finally {
      this.keepTree({ language, source, tree });
    }
  }

  /**
   * Parses `source`, reusing `earlier` (already edited to match it) when given, which it then deletes;
   * pauses for the event loop when `slicer` says so (never without one), and tells whether it did.
   */
  private async parseTree(
    source: string,
    earlier: Tree | null,
    spec: LanguageSpec,
    slicer: Slicer | null,
  ): Promise<{ tree: Tree; paused: boolean }> {
    let tree: Tree | null = null;
    let pausing = false;
    let paused = false;
    const progressCallback = () => (pausing = slicer?.due() ?? false);
    try {
      while (!(tree = this.parser.parse(source, earlier, { progressCallback }))) {
        if (!pausing || !slicer) throw new Error(`tree-sitter returned no tree for this ${spec.displayName} source.`);
        paused = true;
        await slicer.yield();
      }
      return { tree, paused };
    } finally {
      if (!tree) this.parser.reset();
      earlier?.delete();
    }
  }

  /**
   * The kept tree whose text is closest to `source` (one changed span, found by the common prefix and
   * suffix), removed from the kept ones and edited to match it; none when no kept tree is close enough
   * for an incremental parse to pay (or the closest holds syntax errors, see {@link parseNow}).
   */
  private takeEditedTree(source: string, language: LanguageId): Tree | null {
    let best: { at: number; edit: Edit } | undefined;
    for (const [at, kept] of this.kept.entries()) {
      if (kept.language !== language) continue;
      const edit = textEdit(kept.source, source);
      const changed = edit.oldEndIndex + edit.newEndIndex - 2 * edit.startIndex;
      if (changed > source.length / 2) continue;
      if (!best || changed < best.edit.oldEndIndex + best.edit.newEndIndex - 2 * best.edit.startIndex)
        best = { at, edit };
    }
    if (!best) return null;
    const [{ tree }] = this.kept.splice(best.at, 1);
    if (tree.rootNode.hasError) {
      tree.delete();
      return null;
    }
    tree.edit(best.edit);
    return tree;
  }

  /** Keeps `entry`'s tree for the next parse of an edited text; the least recently kept ones are deleted. */
  private keepTree(entry: KeptTree): void {
    this.kept.push(entry);
    while (this.kept.length > MAX_KEPT_TREES) this.kept.shift()!.tree.delete();
  }

  /** How many syntax trees (wasm memory) the parser holds for incremental parsing; at most {@link MAX_KEPT_TREES}. */
  get keptTrees(): number {
    return this.kept.length;
  }

  dispose(): void {
    for (const { tree } of this.kept.splice(0)) tree.delete();
    this.parser.delete();
  }
}

/** Trees kept for incremental parsing: one per recently analysed document (the editor re-analyses a few). */
export const MAX_KEPT_TREES = 4;

interface KeptTree {
  language: LanguageId;
  source: string;
  tree: Tree;
}

/**
 * The edit that turns `before` into `after` as one replaced span: the common prefix and suffix are kept.
 * Indices and columns count UTF-16 code units, as web-tree-sitter does for string input; rows count `\n`.
 */
export function textEdit(before: string, after: string): Edit {
  const shorter = Math.min(before.length, after.length);
  let start = 0;
  while (start < shorter && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let tail = 0;
  while (
    tail < shorter - start &&
    before.charCodeAt(before.length - 1 - tail) === after.charCodeAt(after.length - 1 - tail)
  )
    tail++;
  // Never between the two halves of a surrogate pair: the edit covers whole characters.
  if (start > 0 && isHighSurrogate(after.charCodeAt(start - 1))) start--;
  if (tail > 0 && isLowSurrogate(after.charCodeAt(after.length - tail))) tail--;
  return {
    startIndex: start,
    oldEndIndex: before.length - tail,
    newEndIndex: after.length - tail,
    startPosition: pointAt(before, start),
    oldEndPosition: pointAt(before, before.length - tail),
    newEndPosition: pointAt(after, after.length - tail),
  };
}

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

function pointAt(text: string, index: number): Point {
  let row = 0;
  for (let at = text.indexOf('\n'); at >= 0 && at < index; at = text.indexOf('\n', at + 1)) row++;
  return { row, column: index - (text.lastIndexOf('\n', index - 1) + 1) };
}

/** Nodes copied between two points where the copy may pause. */
const NODES_PER_STEP = 2048;

/** The tree under `cursor` as a plain `SyntaxTree` with its tokens; a step every {@link NODES_PER_STEP} nodes. */
function* copyTree(
  cursor: TreeCursor,
  source: string,
  spec: LanguageSpec,
  keepComments: boolean,
  mode: TokenMode,
): Steps<ParsedSource> {
  const lines = new LineIndex(source);
  const nodes: SyntaxNode[] = [];
  const tokens: CodeToken[] = [];
  const errors: SourceRange[] = [];
  const comments = new Set(spec.commentTypes);
  const atomic = new Set(mode === 'leaves' ? [] : spec.atomicTypes);
  /** The inner nodes from the root down to the cursor's parent; the walk is iterative (no depth limit). */
  const stack: number[] = [];
  let errorDepth = 0;

  walk: for (;;) {
    const id = nodes.length;
    if (id % NODES_PER_STEP === NODES_PER_STEP - 1) yield;
    const parent = stack.length ? stack[stack.length - 1] : -1;
    const type = cursor.nodeType;
    const isError = type === 'ERROR';
    const isMissing = cursor.nodeIsMissing;
    const node: SyntaxNode = {
      id,
      type,
      field: cursor.currentFieldName ?? null,
      named: cursor.nodeIsNamed,
      parent,
      children: [],
      depth: stack.length,
      startIndex: cursor.startIndex,
      endIndex: cursor.endIndex,
      isError,
      isMissing,
      token: -1,
    };
    nodes.push(node);
    if (parent >= 0) nodes[parent].children.push(id);
    if (isError || isMissing) errors.push(lines.range(node.startIndex, node.endIndex));

    const isComment = comments.has(type);
    if (!atomic.has(type) && !isComment && cursor.gotoFirstChild()) {
      stack.push(id);
      if (isError) errorDepth++;
      continue;
    }
    // A leaf of the copy: a real leaf, an atomic literal or a comment. Zero-width leaves
    // (MISSING nodes, implicit tokens) carry no text and are not code tokens.
    if (node.endIndex > node.startIndex && (keepComments || !isComment)) {
      node.token = tokens.length;
      tokens.push({
        index: tokens.length,
        text: source.slice(node.startIndex, node.endIndex),
        type,
        parentTypes: nearestAncestorTypes(stack, nodes),
        node: id,
        range: lines.range(node.startIndex, node.endIndex),
        startIndex: node.startIndex,
        endIndex: node.endIndex,
        startByte: lines.byteOffset(node.startIndex),
        endByte: lines.byteOffset(node.endIndex),
        isComment,
        inError: errorDepth > 0 || isError || isMissing,
      });
    }
    // On to the next sibling, climbing out of finished parents; the walk ends back at the root.
    while (!cursor.gotoNextSibling()) {
      const finished = stack.pop();
      if (finished === undefined) break walk;
      if (nodes[finished].isError) errorDepth--;
      cursor.gotoParent();
      if (stack.length === 0) break walk;
    }
  }
  return { language: spec.id, source, tree: { nodes }, tokens, errors, keptComments: keepComments };
}

/** How many ancestors a token's `parentTypes` lists: deeper ones are left out, so deep nesting stays linear. */
export const MAX_PARENT_TYPES = 64;

function nearestAncestorTypes(stack: readonly number[], nodes: readonly SyntaxNode[]): string[] {
  const types: string[] = [];
  for (let at = stack.length - 1; at >= 0 && types.length < MAX_PARENT_TYPES; at--) types.push(nodes[stack[at]].type);
  return types;
}
