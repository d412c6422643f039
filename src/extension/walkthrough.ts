import * as path from 'node:path';
import * as vscode from 'vscode';

/** The Getting Started walkthrough's hooks: the example it opens, and the context key of its hover step. */
export class Walkthrough implements vscode.Disposable {
  private hovered = false;
  private readonly registration: vscode.Disposable;

  constructor(private readonly extensionPath: string) {
    this.registration = vscode.commands.registerCommand('codeAttention.openExample', () => this.openExample());
  }

  /** Called by the hover provider when it shows a card: completes the walkthrough's "Hover a token" step. */
  noteHover(): void {
    if (this.hovered) return;
    this.hovered = true;
    void vscode.commands.executeCommand('setContext', 'codeAttention.hovered', true);
  }

  private async openExample(): Promise<void> {
    const example = vscode.Uri.file(path.join(this.extensionPath, 'examples', 'lru_cache.py'));
    await vscode.window.showTextDocument(example, { preview: false });
  }

  dispose(): void {
    this.registration.dispose();
  }
}
