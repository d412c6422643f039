import * as vscode from 'vscode';
import type { AnalysisResult } from '../core/types';
import { tokenAtOffset } from '../presenters/hover';

interface SourceRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

export function sourceRange(range: SourceRange): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

/** The editor range of one code token of an analysis. */
export function tokenRange(result: AnalysisResult, token: number): vscode.Range {
  return sourceRange(result.tokens[token].range);
}

/** The code token at the cursor, or the one that ends right before it (the cursor just after a name). */
export function tokenAtCursor(
  editor: vscode.TextEditor,
  result: AnalysisResult,
  position = editor.selection.active,
): number | undefined {
  const offset = editor.document.offsetAt(position);
  return tokenAtOffset(result.tokens, offset) ?? (offset > 0 ? tokenAtOffset(result.tokens, offset - 1) : undefined);
}

/** Waits for a panel to come up, but never longer than `ms` (a hidden panel may not start its script). */
export function shownWithin(ready: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void ready.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** How long a command waits for the panel it opened before it returns. */
export const PANEL_READY_MS = 15_000;
