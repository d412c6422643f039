import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

const workspace = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
const extensionPath = () =>
  vscode.extensions.all.find((candidate) => candidate.packageJSON.name === 'code-attention-lens')!.extensionPath;
/** The bundled models present, final checkpoint first (the extension's default is the first). */
const bundledModels = () =>
  ['code-attention-mini', 'code-attention-mini-early'].filter((name) =>
    existsSync(path.join(extensionPath(), 'models', name, 'model.onnx')),
  );

/** Tab and panel state reaches the extension host asynchronously: poll for it, bounded. */
async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const webviewTab = (viewType: RegExp) =>
  vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .find((tab) => tab.input instanceof vscode.TabInputWebview && viewType.test(tab.input.viewType));

async function open(file: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(path.join(workspace(), file));
  return vscode.window.showTextDocument(document);
}

describe('Code Attention Lens in a real VS Code', () => {
  it('activates and registers its commands', async () => {
    await open('lru_cache.py');
    const extension = vscode.extensions.all.find((candidate) => candidate.packageJSON.name === 'code-attention-lens');
    assert.ok(extension, 'extension is installed');
    await extension!.activate();
    const commands = await vscode.commands.getCommands(true);
    for (const id of [
      'codeAttention.analyzeFile',
      'codeAttention.selectView',
      'codeAttention.selectModel',
      'codeAttention.flipDirection',
      'codeAttention.toggleDataFlow',
      'codeAttention.checkFaithfulness',
    ])
      assert.ok(commands.includes(id), id);
  });

  it('analyses the open file with the bundled model', async () => {
    await open('lru_cache.py');
    const summary = (await vscode.commands.executeCommand('codeAttention.analyzeFile')) as {
      tokens: number;
      layers: number;
      device: string;
      model: string;
      catPerLayer: number[];
    };
    assert.ok(summary, 'analysis returned a summary');
    assert.ok(summary.tokens > 100);
    assert.equal(summary.device, 'cpu');
    assert.equal(summary.model, bundledModels()[0]);
    assert.equal(summary.catPerLayer.length, summary.layers);
    assert.ok(
      summary.catPerLayer.every((score) => score >= 0 && score <= 1),
      summary.catPerLayer.join(', '),
    );
    const last = (await vscode.commands.executeCommand('codeAttention._lastResultSummary')) as typeof summary;
    assert.deepEqual(last, summary);
  });

  it('hovering a token lists the tokens it attends to with weights', async () => {
    const editor = await open('lru_cache.py');
    const offset = editor.document.getText().indexOf('capacity');
    const hovers = (await vscode.commands.executeCommand(
      'vscode.executeHoverProvider',
      editor.document.uri,
      editor.document.positionAt(offset + 2),
    )) as vscode.Hover[];
    const text = hovers
      .flatMap((hover) =>
        hover.contents.map((content) =>
          typeof content === 'string' ? content : (content as vscode.MarkdownString).value,
        ),
      )
      .join('\n');
    assert.match(text, /\| token \| line \| weight \|/);
    assert.match(text, /attends to/);
    assert.match(text, /\| \d\.\d{3} \|/);
  });

  it('flipping the direction changes the hover to "attended by"', async () => {
    const editor = await open('lru_cache.py');
    await vscode.commands.executeCommand('codeAttention.flipDirection');
    const offset = editor.document.getText().indexOf('capacity');
    const hovers = (await vscode.commands.executeCommand(
      'vscode.executeHoverProvider',
      editor.document.uri,
      editor.document.positionAt(offset + 2),
    )) as vscode.Hover[];
    const text = hovers
      .flatMap((hover) => hover.contents.map((content) => (content as vscode.MarkdownString).value))
      .join('\n');
    assert.match(text, /attended by/);
    await vscode.commands.executeCommand('codeAttention.flipDirection');
  });

  it('the punctuation filter shows in the hover card and renormalises; the row link moves the cursor', async () => {
    const editor = await open('lru_cache.py');
    const position = editor.document.positionAt(editor.document.getText().indexOf('capacity') + 2);
    const card = async () =>
      (
        (await vscode.commands.executeCommand(
          'vscode.executeHoverProvider',
          editor.document.uri,
          position,
        )) as vscode.Hover[]
      )
        .flatMap((hover) => hover.contents.map((content) => (content as vscode.MarkdownString).value))
        .join('\n');
    assert.match(await card(), /× uniform/);
    assert.equal(await vscode.commands.executeCommand('codeAttention.togglePunctuation'), 'hidden');
    try {
      assert.match(await card(), /Filter on: \d+ punctuation\/operator token\(s\) hidden; weights renormalised/);
    } finally {
      assert.equal(await vscode.commands.executeCommand('codeAttention.togglePunctuation'), 'shown');
    }
    const row = /\(command:codeAttention\.revealToken\?([^)]+)\)/.exec(await card());
    assert.ok(row, 'the rows link to their tokens');
    const [line, character] = JSON.parse(decodeURIComponent(row[1])) as [number, number];
    await vscode.commands.executeCommand('codeAttention.revealToken', line, character);
    assert.deepEqual([editor.selection.start.line, editor.selection.start.character], [line, character]);
    // Source text is never an argument: anything but a position is ignored.
    await vscode.commands.executeCommand('codeAttention.revealToken', 'capacity', {});
    assert.deepEqual([editor.selection.start.line, editor.selection.start.character], [line, character]);
  });

  it('an edit invalidates the result; the new version is analysed, never the old one shown', async () => {
    const editor = await open('wordcount.go');
    await vscode.commands.executeCommand('codeAttention.analyzeFile');
    const before = editor.document.version;
    await editor.edit((edit) => edit.insert(new vscode.Position(0, 0), '// edited\n'));
    assert.ok(editor.document.version > before);
    const summary = (await vscode.commands.executeCommand('codeAttention.analyzeFile')) as { version: number };
    assert.equal(summary.version, editor.document.version);
    await vscode.commands.executeCommand('undo');
  });

  it('the score command analyses the file and opens the panel', async () => {
    await open('BinarySearch.java');
    const summary = (await vscode.commands.executeCommand('codeAttention.scoreFile')) as {
      tokens: number;
      layers: number;
    };
    assert.ok(summary.tokens > 100);
    const panel = await waitFor('the Structure Attention panel for BinarySearch.java', () => {
      const tab = webviewTab(/scorePanel/);
      return tab && /Structure Attention: BinarySearch\.java/.test(tab.label) ? tab : undefined;
    });
    assert.match(panel.label, /Structure Attention: BinarySearch\.java/);
  });

  it('shows a CodeLens with the CAT-score above each function', async () => {
    const editor = await open('lru_cache.py');
    await vscode.commands.executeCommand('codeAttention.analyzeFile');
    const lenses = (await vscode.commands.executeCommand(
      'vscode.executeCodeLensProvider',
      editor.document.uri,
    )) as vscode.CodeLens[];
    const titles = lenses.map((lens) => lens.command?.title ?? '');
    assert.ok(
      titles.filter((title) => /^CAT \d\.\d{3} \(baseline \d\.\d{3}\)/.test(title)).length >= 5,
      titles.join('; '),
    );
  });

  it('exports the scores as JSON to a file', async () => {
    await open('wordcount.go');
    const target = vscode.Uri.file(path.join(workspace(), 'wordcount-scores.json'));
    await vscode.commands.executeCommand('codeAttention.exportResult', target);
    const saved = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(target)).toString('utf8'));
    assert.equal(saved.file, 'wordcount.go');
    assert.equal(saved.layers.length, saved.model.layers);
    assert.ok(saved.layers.every((row: { cat: number }) => row.cat >= 0 && row.cat <= 1));
  });

  it('compares the bundled final and early checkpoints side by side', async () => {
    await open('debounce.js');
    const models = path.join(extensionPath(), 'models');
    const [a, b] = [bundledModels()[0], 'code-attention-mini-early'];
    const summary = (await vscode.commands.executeCommand(
      'codeAttention.compareModels',
      path.join(models, a),
      path.join(models, b),
    )) as { a: string; b: string; layers: number[] } | undefined;
    assert.ok(summary, 'the comparison ran (a warning notification says why when it does not)');
    assert.deepEqual([summary.a, summary.b], [a, b]);
    assert.equal(summary.layers.length, 2);
    const tab = await waitFor('the compare panel', () => webviewTab(/comparePanel/));
    assert.match(tab.label, new RegExp(`Compare: ${a} vs ${b}`));
  });

  it('the data-flow command marks the variables and names where `total` on line 34 comes from', async () => {
    const editor = await open('lru_cache.py');
    await vscode.commands.executeCommand('codeAttention.analyzeFile');
    // `return self.hits / total if total else 0.0`: the cursor inside the first `total`.
    const line = 33;
    const character = editor.document.lineAt(line).text.indexOf('/ total') + 4;
    editor.selection = new vscode.Selection(line, character, line, character);
    type Edge = { text: string; line: number; attention: number };
    const shown = (await vscode.commands.executeCommand('codeAttention.toggleDataFlow')) as {
      enabled: boolean;
      nodes: number;
      edges: number;
      focus?: { text: string; line: number; comesFrom: Edge[]; computedFrom: Edge[]; readBy: Edge[]; hint: string };
    };
    try {
      assert.equal(shown.enabled, true);
      assert.ok(shown.nodes > 50 && shown.edges > 50, `${shown.nodes} nodes, ${shown.edges} edges`);
      assert.ok(shown.focus, 'the variable at the cursor has data-flow edges');
      assert.deepEqual([shown.focus.text, shown.focus.line], ['total', 34]);
      assert.deepEqual(
        shown.focus.comesFrom.map((edge) => [edge.text, edge.line]),
        [['total', 33]],
      );
      assert.ok(
        shown.focus.comesFrom[0].attention > 0 && shown.focus.comesFrom[0].attention < 1,
        String(shown.focus.comesFrom[0].attention),
      );
      const hint = new RegExp(
        /^`total`: value comes from `total` line 33 \(attention 0\.\d{3}\) · /.source +
          /file: 0\.\d{3} on data flow vs 0\.\d{3} baseline \(L\d (mean|H\d)\)$/.source,
      );
      assert.match(shown.focus.hint, hint);
      // The hover card of the same token names the edge too.
      const hovers = (await vscode.commands.executeCommand(
        'vscode.executeHoverProvider',
        editor.document.uri,
        new vscode.Position(line, character),
      )) as vscode.Hover[];
      const text = hovers
        .flatMap((hover) => hover.contents.map((content) => (content as vscode.MarkdownString).value))
        .join('\n');
      assert.match(text, /\*\*Data flow of total\*\*/);
      assert.match(text, /\| value comes from \| total \| 33 \| 0\.\d{3} \|/);
    } finally {
      const off = await vscode.commands.executeCommand('codeAttention.toggleDataFlow');
      assert.deepEqual(off, { enabled: false });
    }
  });

  it('checks view faithfulness at the cursor: one Spearman ρ per view, shown in the score panel', async () => {
    // A small file keeps the check short (one forward pass per token); it is saved, so nothing is left to restore.
    const file = vscode.Uri.file(path.join(workspace(), 'area.py'));
    await vscode.workspace.fs.writeFile(
      file,
      Buffer.from('def area(width, height):\n    size = width * height\n    return size\n', 'utf8'),
    );
    const editor = await open('area.py');
    editor.selection = new vscode.Selection(2, 13, 2, 13); // inside `size` of `return size`
    type Shown = {
      focus: { text: string; line: number };
      views: Array<{ mode: string; spearman: number }>;
      skipped: Array<{ mode: string; reason: string }>;
      verdict: string;
    };
    const shown = (await vscode.commands.executeCommand('codeAttention.checkFaithfulness')) as Shown | undefined;
    try {
      assert.ok(shown, 'the check ran (a warning notification says why when it does not)');
      assert.deepEqual([shown.focus.text, shown.focus.line], ['size', 3]);
      // Raw last layer, rollout, flow and value-weighted: each has a ρ or a reason it was skipped.
      const modes = [...shown.views.map((view) => view.mode), ...shown.skipped.map((view) => view.mode)].sort();
      assert.deepEqual(modes, ['flow', 'meanHeads', 'rollout', 'valueWeighted']);
      assert.ok(shown.views.length >= 2);
      for (const view of shown.views)
        assert.ok(
          Number.isNaN(view.spearman) || (view.spearman >= -1 && view.spearman <= 1),
          `${view.mode} ρ ${view.spearman}`,
        );
      for (const skipped of shown.skipped) assert.ok(skipped.reason.length > 10, skipped.reason);
      assert.match(shown.verdict, /`size` \(line 3\)/);
      for (const view of shown.views as Array<{ spearman: number; low?: number; high?: number }>)
        if (Number.isFinite(view.spearman)) assert.ok(view.low! <= view.spearman && view.spearman <= view.high!);
      await waitFor('the score panel', () => webviewTab(/scorePanel/));
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await vscode.workspace.fs.delete(file);
    }
  });

  it('a 3,000-line file: visible code’s highlights come before the rest; peak extension-host RSS', async function () {
    this.timeout(900_000);
    // pprint.py five times, its functions renamed per copy: about 3,300 lines and 60–70 windows.
    const pprint = readFileSync(path.join(extensionPath(), 'test', 'fixtures', 'pprint.py'), 'utf8');
    const text = [0, 1, 2, 3, 4]
      .map((copy) => pprint.replace(/^(\s*)(def|class) (\w+)/gm, `$1$2 $3_${copy}`))
      .join('\n');
    assert.ok(text.split('\n').length >= 3000);
    const file = vscode.Uri.file(path.join(workspace(), 'long_module.py'));
    await vscode.workspace.fs.writeFile(file, Buffer.from(text, 'utf8'));
    type State = { complete: boolean; running: boolean; windowsDone?: number; windowsTotal?: number };
    const state = async () => (await vscode.commands.executeCommand('codeAttention._analysisState')) as State;
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    try {
      const editor = await open('long_module.py');
      // Scroll to the fourth copy and put the cursor on a name there, as a user would.
      const line = text.split('\n').findIndex((row) => row.startsWith('class PrettyPrinter_3'));
      const character = 'class '.length + 2;
      editor.selection = new vscode.Selection(line, character, line, character);
      editor.revealRange(new vscode.Range(line, 0, line + 30, 0), vscode.TextEditorRevealType.AtTop);
      const started = Date.now();
      const hovers = (await vscode.commands.executeCommand(
        'vscode.executeHoverProvider',
        editor.document.uri,
        new vscode.Position(line, character),
      )) as vscode.Hover[];
      const hoverMs = Date.now() - started;
      const card = hovers
        .flatMap((hover) => hover.contents.map((content) => (content as vscode.MarkdownString).value))
        .join('\n');
      const atHover = await state();
      assert.match(card, /\| token \| line \| weight \|/);
      assert.ok(
        atHover.running && !atHover.complete && atHover.windowsDone! < atHover.windowsTotal!,
        `the hover came before the whole file was analysed: ${JSON.stringify(atHover)}`,
      );
      // The whole file follows in the background, without refusal.
      const until = Date.now() + 840_000;
      let last = atHover;
      while (!last.complete) {
        assert.ok(Date.now() < until, `not finished: ${JSON.stringify(last)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        last = await state();
        assert.ok(last.running || last.complete, `the analysis stopped without a result: ${JSON.stringify(last)}`);
      }
      const wholeMs = Date.now() - started;
      const summary = (await vscode.commands.executeCommand('codeAttention.analyzeFile')) as { tokens: number };
      assert.ok(summary.tokens > 10_000, String(summary.tokens));
      console.log(
        `  measured: ${text.split('\n').length} lines, ${last.windowsTotal} windows; hover after ${hoverMs} ms ` +
          `(${atHover.windowsDone}/${atHover.windowsTotal} windows done), whole file after ${wholeMs} ms; ` +
          `extension host peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
      );
    } finally {
      clearInterval(sampler);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await vscode.workspace.fs.delete(file);
    }
  });

  it('an edit keeps the CodeLens of every function until the new analysis lands', async () => {
    const editor = await open('lru_cache.py');
    await vscode.commands.executeCommand('codeAttention.analyzeFile');
    const lensTitles = async () =>
      (
        (await vscode.commands.executeCommand(
          'vscode.executeCodeLensProvider',
          editor.document.uri,
        )) as vscode.CodeLens[]
      ).map((lens) => `${lens.range.start.line}: ${lens.command?.title ?? ''}`);
    const before = await lensTitles();
    const original = editor.document.getText();
    assert.ok(before.length >= 5, before.join('; '));
    // A line added inside the body of `get`: later functions move down one line, none loses its lens.
    const line = editor.document
      .getText()
      .split('\n')
      .findIndex((row) => row.includes('self.entries[key] = value'));
    try {
      await editor.edit((edit) => edit.insert(new vscode.Position(line, 0), '        self.writes = 1\n'));
      const during = await lensTitles();
      const state = (await vscode.commands.executeCommand('codeAttention._analysisState')) as { complete: boolean };
      assert.equal(state.complete, false, 'queried before the new version was analysed');
      assert.equal(during.length, before.length, during.join('; '));
      const moved = before.map((entry) => {
        const [at, title] = entry.split(': ');
        return `${Number(at) > line ? Number(at) + 1 : Number(at)}: ${title}`;
      });
      // Same lines (re-anchored), same numbers; the edited function's lens says its number is from before the edit.
      assert.deepEqual(
        during.map((entry) => entry.replace(' · before the edit', '')),
        moved,
      );
      assert.equal(during.filter((entry) => entry.endsWith(' · before the edit')).length, 1, during.join('; '));
      await vscode.commands.executeCommand('codeAttention.analyzeFile');
      const after = await lensTitles();
      assert.equal(after.length, before.length);
      assert.ok(after.every((entry) => !entry.includes('before the edit')));
    } finally {
      // The inserted line removed and the file saved as it was (undo or revert can act on another focused widget).
      if (editor.document.getText() !== original) {
        await editor.edit((edit) => edit.delete(new vscode.Range(line, 0, line + 1, 0)));
        await editor.document.save();
      }
      assert.equal(editor.document.getText(), original);
      assert.equal(editor.document.isDirty, false);
    }
  });

  it('an edit keeps the highlights outside it, moved with the text, until the new analysis redraws them', async () => {
    const editor = await open('lru_cache.py');
    await vscode.commands.executeCommand('codeAttention.analyzeFile');
    type Shown = { file: string; focus: { start: number; end: number }; highlights: number; carried: boolean };
    const shown = async (): Promise<Shown | undefined> =>
      await vscode.commands.executeCommand('codeAttention._highlights');
    const original = editor.document.getText();
    const offset = original.lastIndexOf('capacity');
    await vscode.commands.executeCommand(
      'vscode.executeHoverProvider',
      editor.document.uri,
      editor.document.positionAt(offset + 2),
    );
    const drawn = await shown();
    assert.ok(drawn && !drawn.carried && drawn.highlights > 0, JSON.stringify(drawn));
    assert.deepEqual(drawn.focus, { start: offset, end: offset + 'capacity'.length });
    const inserted = '# a line above every token\n';
    try {
      await editor.edit((edit) => edit.insert(new vscode.Position(0, 0), inserted));
      const carried = await shown();
      assert.ok(carried?.carried, `carried through the edit: ${JSON.stringify(carried)}`);
      assert.deepEqual(carried.focus, { start: offset + inserted.length, end: offset + inserted.length + 8 });
      assert.ok(carried.highlights > 0 && carried.highlights <= drawn.highlights, JSON.stringify(carried));
      await vscode.commands.executeCommand('codeAttention.analyzeFile');
      let redrawn: Shown | undefined;
      const until = Date.now() + 15_000;
      while (Date.now() < until) {
        redrawn = await shown();
        if (!redrawn?.carried) break;
        await new Promise((done) => setTimeout(done, 200));
      }
      assert.ok(redrawn && !redrawn.carried, `drawn again from the new result: ${JSON.stringify(redrawn)}`);
      assert.deepEqual(redrawn.focus, carried.focus);
      // Typing inside the focused token: its row of attention is gone, and so are the highlights.
      await editor.edit((edit) => edit.insert(editor.document.positionAt(redrawn.focus.start + 3), 'x'));
      assert.equal(await shown(), undefined);
    } finally {
      if (editor.document.getText() !== original) {
        const whole = new vscode.Range(
          editor.document.positionAt(0),
          editor.document.positionAt(editor.document.getText().length),
        );
        await editor.edit((edit) => edit.replace(whole, original));
        await editor.document.save();
      }
      assert.equal(editor.document.getText(), original);
      assert.equal(editor.document.isDirty, false);
    }
  });

  it('converts a Hugging Face folder from the command, selects the result and analyses with it', async () => {
    await open('lru_cache.py');
    const out = path.join(os.tmpdir(), `cal-converted-${process.pid}-${Date.now()}`);
    const converted = await vscode.commands.executeCommand(
      'codeAttention.convertFolder',
      path.join(workspace(), 'hf-roberta-tiny'),
      out,
    );
    try {
      assert.equal(converted, out, 'the command returns the converted folder (an error notification says why not)');
      assert.ok(existsSync(path.join(out, 'model.onnx')));
      const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { family: string };
      assert.equal(manifest.family, 'roberta');
      const offered = vscode.workspace.getConfiguration('codeAttention').inspect<string[]>('models')?.globalValue;
      assert.ok(offered?.includes(out), 'the converted folder is offered in codeAttention.models');
      const summary = (await vscode.commands.executeCommand('codeAttention.analyzeFile')) as {
        model: string;
        tokens: number;
      };
      assert.equal(summary.model, path.basename(out));
      assert.ok(summary.tokens > 100);
    } finally {
      const bundled = path.join(extensionPath(), 'models', bundledModels()[0]);
      await vscode.commands.executeCommand('codeAttention.selectModel', bundled);
      await vscode.workspace
        .getConfiguration('codeAttention')
        .update('models', undefined, vscode.ConfigurationTarget.Global);
    }
    const back = (await vscode.commands.executeCommand('codeAttention.analyzeFile')) as { model: string };
    assert.equal(back.model, bundledModels()[0]);
  });

  it('a decoder: hover, causal CAT and sinks, hiding the first-token sink, panel, compare', async function () {
    // The bundled decoder when it is there, else a converted decoder offered through codeAttention.models.
    const bundled = path.join(extensionPath(), 'models', 'code-attention-mini-decoder');
    const offered = vscode.workspace.getConfiguration('codeAttention').get<string[]>('models') ?? [];
    const decoder = [bundled, ...offered].find((folder) => {
      const manifest = path.join(folder, 'manifest.json');
      return existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { causal?: boolean }).causal;
    });
    if (!decoder) this.skip();
    const encoder = path.join(extensionPath(), 'models', bundledModels()[0]);
    const editor = await open('lru_cache.py');
    await vscode.commands.executeCommand('codeAttention.selectModel', decoder);
    try {
      const summary = (await vscode.commands.executeCommand('codeAttention.analyzeFile')) as {
        model: string;
        layers: number;
        catPerLayer: number[];
        causal?: { catBaselinePerLayer: number[]; sinkPerLayer: number[]; sinkChance: number };
      };
      assert.equal(summary.model, path.basename(decoder));
      assert.ok(summary.causal, 'the result is causal');
      assert.equal(summary.catPerLayer.length, summary.layers);
      assert.equal(summary.causal.catBaselinePerLayer.length, summary.layers);
      assert.equal(summary.causal.sinkPerLayer.length, summary.layers);
      assert.ok(summary.causal.sinkChance > 0 && summary.causal.sinkChance < 1);

      const position = editor.document.positionAt(editor.document.getText().indexOf('capacity') + 2);
      const card = async () =>
        (
          (await vscode.commands.executeCommand(
            'vscode.executeHoverProvider',
            editor.document.uri,
            position,
          )) as vscode.Hover[]
        )
          .flatMap((hover) => hover.contents.map((content) => (content as vscode.MarkdownString).value))
          .join('\n');
      assert.match(await card(), /causal model \(decoder\): each token attends to itself and earlier tokens only/);
      assert.equal(await vscode.commands.executeCommand('codeAttention.toggleSinks'), 'hidden');
      try {
        assert.match(await card(), /sinks hidden: .*first position of the window/);
      } finally {
        assert.equal(await vscode.commands.executeCommand('codeAttention.toggleSinks'), 'shown');
      }

      await vscode.commands.executeCommand('codeAttention.scoreFile');
      await waitFor('the Structure Attention panel for lru_cache.py', () => {
        const tab = webviewTab(/scorePanel/);
        return tab && /Structure Attention: lru_cache\.py/.test(tab.label) ? tab : undefined;
      });

      const compared = (await vscode.commands.executeCommand('codeAttention.compareModels', encoder, decoder)) as
        { a: string; b: string; layers: number[] } | undefined;
      assert.ok(compared, 'the comparison ran (a warning notification says why when it does not)');
      assert.deepEqual([compared.a, compared.b], [path.basename(encoder), path.basename(decoder)]);
      await waitFor('the compare panel', () => webviewTab(/comparePanel/));
    } finally {
      await vscode.commands.executeCommand('codeAttention.selectModel', encoder);
    }
  });

  it('an unsupported file gets no analysis', async () => {
    await open('notes.txt');
    const summary = await vscode.commands.executeCommand('codeAttention.analyzeFile');
    assert.equal(summary, undefined);
  });
});
