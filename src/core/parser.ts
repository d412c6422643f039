import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Language, Parser, type Tree, type TreeCursor } from 'web-tree-sitter';
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
 * each tree into a plain `SyntaxTree` so nothing downstream holds wasm memory.
 */
export class CodeParser {
  private readonly languages = new Map<LanguageId, Promise<Language>>();
  private readonly parser: Parser;
  /** The parse in progress: a paused tree-sitter parse resumes on the next call, so parses take turns. */
  private turn: Promise<unknown> = Promise.resolve();

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
    let tree: Tree | null = null;
    let paused = false;
    const progressCallback = () => (paused = slicer.due());
    try {
      while (!(tree = this.parser.parse(source, null, { progressCallback }))) {
        if (!paused) throw new Error(`tree-sitter returned no tree for this ${spec.displayName} source.`);
        await slicer.yield();
      }
    } finally {
      if (!tree) this.parser.reset();
    }
    try {
      const keepComments = options.keepComments ?? false;
      const copy = copyTree(tree.walk(), source, spec, keepComments, options.tokens ?? 'whole-strings');
      return await runStepsSliced(copy, slicer);
    } finally {
      tree.delete();
    }
  }

  dispose(): void {
    this.parser.delete();
  }
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
