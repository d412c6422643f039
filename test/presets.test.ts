import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { astDistances, sastDistances, upgradedAstDistances } from '../src/core/astDistance';
import { languageSpec } from '../src/core/languages';
import { collapseWhitespace, encodeLeafTokens } from '../src/core/leafTokens';
import { panelModel } from '../src/presenters/panel';
import { countResultTypes, FrequentTypeCounter, newCounters } from '../src/core/metrics/frequentTypes';
import { headMatrix } from '../src/core/alignment';
import { Analyzer } from '../src/core/pipeline';
import { PRESETS } from '../src/core/presets';
import type { CatDefinition } from '../src/core/metrics/catScore';
import type { AnalysisOptions, AnalysisResult, LanguageId } from '../src/core/types';
import { CLI, MODEL_DIR, ROOT, sharedParser } from './helpers';

const leavesOf = async (source: string, language: LanguageId) =>
  (await (await sharedParser()).parse(source, language, { tokens: 'leaves' })).tokens.map((t) => [t.text, t.type]);

describe('reference preset: leaf tokens', () => {
  it('Python: every childless node, f-string parts and the interpolated name apart, comments dropped', async () => {
    assert.deepEqual(await leavesOf('def greet(name):\n    # say hi\n    return f"hi {name}!" + \'x\'\n', 'python'), [
      ['def', 'def'],
      ['greet', 'identifier'],
      ['(', '('],
      ['name', 'identifier'],
      [')', ')'],
      [':', ':'],
      ['return', 'return'],
      ['f"', 'string_start'],
      ['hi ', 'string_content'],
      ['{', '{'],
      ['name', 'identifier'],
      ['}', '}'],
      ['!', 'string_content'],
      ['"', 'string_end'],
      ['+', '+'],
      ["'", 'string_start'],
      ['x', 'string_content'],
      ["'", 'string_end'],
    ]);
  });

  it('JavaScript: string_fragment and template substitutions instead of one string token', async () => {
    assert.deepEqual(await leavesOf('const s = `a${b}c` + "d e";\n', 'javascript'), [
      ['const', 'const'],
      ['s', 'identifier'],
      ['=', '='],
      ['`', '`'],
      ['a', 'string_fragment'],
      ['${', '${'],
      ['b', 'identifier'],
      ['}', '}'],
      ['c', 'string_fragment'],
      ['`', '`'],
      ['+', '+'],
      ['"', '"'],
      ['d e', 'string_fragment'],
      ['"', '"'],
      [';', ';'],
    ]);
  });

  it('Java: string_literal split into quotes and fragment; a character literal is a leaf', async () => {
    assert.deepEqual(await leavesOf('class A { String f() { return "x" + \'c\'; } }\n', 'java'), [
      ['class', 'class'],
      ['A', 'identifier'],
      ['{', '{'],
      ['String', 'type_identifier'],
      ['f', 'identifier'],
      ['(', '('],
      [')', ')'],
      ['{', '{'],
      ['return', 'return'],
      ['"', '"'],
      ['x', 'string_fragment'],
      ['"', '"'],
      ['+', '+'],
      ["'c'", 'character_literal'],
      [';', ';'],
      ['}', '}'],
      ['}', '}'],
    ]);
  });

  it('whole-string tokens stay available and are the default', async () => {
    const parsed = await (await sharedParser()).parse('x = f"a {b}"\n', 'python');
    assert.deepEqual(
      parsed.tokens.map((t) => t.text),
      ['x', '=', 'f"a {b}"'],
    );
  });
});

describe('reference preset: leaf subwords', function () {
  this.timeout(60_000);
  let analyzer: Analyzer;
  before(async () => {
    analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
  });
  after(() => analyzer.dispose());

  it('feeds the subwords of whole-string tokens, each mapped to the leaf of its first byte', async () => {
    const source = 'def greet(name):\n    return f"hi {name}!" + "é x"\n';
    const leaves = await analyzer.parser.parse(source, 'python', { tokens: 'leaves' });
    const whole = await analyzer.parser.parse(source, 'python');
    const leafSequence = encodeLeafTokens(analyzer.model.tokenizer, leaves);
    assert.deepEqual(leafSequence.ids, analyzer.model.tokenizer.encodeTokens(whole.tokens).ids);
    assert.equal(leafSequence.approximateChunks, 0);
    // Hand-checked: each piece goes to the leaf of its first non-space byte; é is two byte pieces.
    const pairs = leafSequence.pieces.map((piece, s) => [piece, leaves.tokens[leafSequence.tokenOfSubword[s]].text]);
    assert.deepEqual(pairs.slice(8), [
      ['Ġf', 'f"'],
      ['"', 'f"'],
      ['hi', 'hi '],
      ['Ġ{', '{'],
      ['name', 'name'],
      ['}', '}'],
      ['!', '!'],
      ['"', '"'],
      ['Ġ+', '+'],
      ['Ġ"', '"'],
      ['Ã', 'é x'],
      ['©', 'é x'],
      ['Ġx', 'é x'],
      ['"', '"'],
    ]);
    // Decoded from the byte-level symbols, the pieces of each leaf spell it (the space before a chunk aside).
    const decoder = new TextDecoder();
    const byteOf = byteLevelDecoder();
    for (const token of leaves.tokens) {
      const pieces = leafSequence.pieces.filter((_, s) => leafSequence.tokenOfSubword[s] === token.index);
      const text = decoder.decode(Uint8Array.from([...pieces.join('')].map(byteOf)));
      assert.equal(text.trim(), token.text.trim(), `leaf ${token.index} ${JSON.stringify(token.text)}`);
    }
  });

  it('collapses whitespace runs in string literals as the reference, mapped back to the leaves', async () => {
    assert.deepEqual(collapseWhitespace('a \t\n b é'), { text: 'a b é', sourceByte: [0, 1, 5, 6, 7, 8] });
    const parsed = await analyzer.parser.parse('x = """doc\n    more"""\n', 'python', { tokens: 'leaves' });
    const sequence = encodeLeafTokens(analyzer.model.tokenizer, parsed, { collapseWhitespace: true });
    assert.deepEqual(sequence.ids, analyzer.model.tokenizer.encodeChunk('x = """doc more"""').ids);
    const byteOf = byteLevelDecoder();
    const decode = (index: number) => sequence.pieces.filter((_, s) => sequence.tokenOfSubword[s] === index).join('');
    const perLeaf = parsed.tokens.map((token) =>
      new TextDecoder().decode(Uint8Array.from([...decode(token.index)].map(byteOf))),
    );
    assert.deepEqual(perLeaf, ['x', ' =', ' """', 'doc more', '"""']);
  });

  it('refuses an input cut longer than the model’s positions, in one line', async () => {
    await assert.rejects(
      analyzer.analyze('x = 1\n', 'python', { maxSubwords: 100_000 }),
      /must be between 3 and the model's 512 positions/,
    );
  });

  it('cuts the input at 256 subwords like the reference, keeping the first 254 code subwords', async () => {
    const source = readFileSync(join(ROOT, 'examples', 'lru_cache.py'), 'utf8');
    const cut = await analyzer.analyze(source, 'python', { maxSubwords: 256, reports: ['catLayers'] });
    const full = await analyzer.analyze(source, 'python', { reports: [] });
    assert.equal(cut.windows.length, 1);
    assert.equal(cut.windows[0].ids.length, 256);
    assert.deepEqual(cut.windows[0].ids.slice(1, 255), full.windows.flatMap((w) => w.ids.slice(1, -1)).slice(0, 254));
    assert.ok(cut.windows[0].tokenEnd < cut.tokens.length);
    assert.ok(cut.warnings.some((w) => /Input cut at 256 subwords/.test(w)));
    assert.equal(cut.options.maxSubwords, 256);
  });

  it('analyze with the reference preset chooses types per layer from the file and says so', async () => {
    const source = readFileSync(join(ROOT, 'examples', 'lru_cache.py'), 'utf8');
    const settings = PRESETS.reference;
    const result = await analyzer.analyze(source, 'python', {
      preset: 'reference',
      tokens: settings.tokens,
      distance: settings.distance,
      maxSubwords: settings.maxSubwords,
      typeFilter: { kind: 'data', types: 'all', source: 'over this file alone' },
      reports: ['catLayers'],
    });
    const definition = result.scores.cat!.definition;
    assert.equal(definition.preset, 'reference');
    assert.equal(definition.keptTypesPerLayer!.length, result.model.layers);
    const counters = newCounters(result.model.layers);
    countResultTypes(counters, result);
    assert.deepEqual(
      definition.keptTypesPerLayer,
      counters.map((c) => c.top()),
    );
    assert.ok(definition.choices!.some((line) => /tokens: leaves/.test(line)));
    assert.ok(definition.choices!.some((line) => /`def add\(a, b\)`/.test(line)));
    assert.deepEqual(referenceRanking(result, result.model.layers - 1), counters[result.model.layers - 1].top());
    const panel = panelModel(result);
    assert.equal(panel.definition.preset, 'reference');
    assert.deepEqual(panel.definition.choices, definition.choices);
    assert.match(panel.definition.keptTypes, /^layer 0: .+; layer 1: /);
  });
});

describe('reference preset: upgraded AST', () => {
  it('links same-text leaves of type exactly `identifier` only; our variant links across types', async () => {
    const parsed = await (await sharedParser()).parse('o.n = n;\nString a; String b;\n', 'javascript');
    const texts = parsed.tokens.map((t) => `${t.text}:${t.type}`);
    assert.deepEqual(texts.slice(0, 5), ['o:identifier', '.:.', 'n:property_identifier', '=:=', 'n:identifier']);
    const comments = languageSpec('javascript').commentTypes;
    const m = parsed.tokens.length;
    const reference = sastDistances(parsed.tree, parsed.source, comments, parsed.tokens);
    const ours = upgradedAstDistances(parsed.tree, parsed.tokens, parsed.tokens);
    assert.equal(reference[2 * m + 4], 2); // property n → = → n: the consecutive-leaf chain, no same-name edge
    assert.equal(ours[2 * m + 4], 1); // ours links property_identifier n to identifier n
    const strings = parsed.tokens.filter((t) => t.text === 'String').map((t) => t.index);
    assert.equal(reference[strings[0] * m + strings[1]], 1); // both `String` are identifiers here: linked
  });

  it('Java: type_identifier repeats are not linked by the reference, are by ours', async () => {
    const parsed = await (
      await sharedParser()
    ).parse('class A { void f() { String a = x; int k = 0; String b = x; } }\n', 'java');
    const m = parsed.tokens.length;
    const index = (text: string, nth = 0) => parsed.tokens.filter((t) => t.text === text)[nth].index;
    const reference = sastDistances(parsed.tree, parsed.source, languageSpec('java').commentTypes, parsed.tokens);
    const ours = upgradedAstDistances(parsed.tree, parsed.tokens, parsed.tokens);
    const plain = astDistances(parsed.tree, parsed.tokens);
    assert.equal(ours[index('String') * m + index('String', 1)], 1);
    assert.ok(reference[index('String') * m + index('String', 1)] > 1);
    assert.equal(reference[index('x') * m + index('x', 1)], 1); // identifiers: linked
    for (let x = 0; x < m * m; x++) assert.ok(reference[x] <= plain[x]);
  });

  it('a comment is no link of the consecutive-leaf chain', async () => {
    const parsed = await (await sharedParser()).parse('a = 1 # note\nb = 2\n', 'python');
    const m = parsed.tokens.length;
    const d = sastDistances(parsed.tree, parsed.source, ['comment'], parsed.tokens);
    assert.equal(d[2 * m + 3], 1); // `1` and `b` are consecutive leaves once the comment is dropped
  });
});

describe('reference preset: frequent types', () => {
  it('ranks by the share of pair memberships above the quantile, among types counted > rows (by hand)', () => {
    const counter = new FrequentTypeCounter();
    // 9 values, 0.75-quantile 0.1: high pairs (0,0) and (2,2), both type a → a: 4 of 2·2·3 = 12.
    counter.add([0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.8], ['a', 'b', 'a']);
    // 0.75-quantile of 0.5 0.2 0.3 0.1 is 0.35: high (0,0), type b → b: 2 of 6 + 4 = 10; c never high.
    counter.add([0.5, 0.2, 0.3, 0.1], ['b', 'c']);
    counter.add([0, 0, 0, 0], ['c', 'c']); // all zero: skipped, as the reference does
    assert.equal(counter.rows, 5);
    assert.deepEqual(counter.ranking(), [
      { type: 'a', high: 4, total: 12, rate: 4 / 12 },
      { type: 'b', high: 2, total: 10, rate: 2 / 10 },
    ]);
  });

  it('breaks ties by the order in which types first appear in a high pair', () => {
    const rowFirst = new FrequentTypeCounter();
    rowFirst.add([0.1, 0.9, 0.1, 0.1], ['x', 'y']);
    assert.deepEqual(rowFirst.top(), ['x', 'y']);
    const columnFirst = new FrequentTypeCounter();
    columnFirst.add([0.1, 0.1, 0.9, 0.1], ['x', 'y']);
    assert.deepEqual(columnFirst.top(), ['y', 'x']);
  });

  it('types seen no more than once per token row do not compete', () => {
    const counter = new FrequentTypeCounter();
    // 4 rows; rare is 1 of the 4 tokens: total 2·4 = 8 > 4, it competes (c is never in a high pair).
    counter.add(
      [0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
      ['rare', 'c', 'c', 'c'],
    );
    assert.deepEqual(counter.top(), ['rare']);
    counter.add(
      new Array(100).fill(0).map((_, x) => (x === 11 ? 1 : 0.01)),
      ['c', 'c', 'c', 'c', 'c', 'c', 'c', 'c', 'c', 'c'],
    );
    assert.equal(counter.rows, 14);
    // Now 14 rows: rare's total 8 is no longer above them and it drops out; c (2·3·4 + 2·10·10 = 224) is high once.
    assert.deepEqual(
      counter.ranking().map((r) => r.type),
      ['c'],
    );
  });

  it('on a small real corpus agrees with a literal pair-by-pair count', async function () {
    this.timeout(60_000);
    const analyzer = await Analyzer.create({
      modelDir: MODEL_DIR,
      executionProvider: 'cpu',
      grammarsDir: join(ROOT, 'grammars'),
    });
    try {
      const counters = newCounters(analyzer.model.info.layers);
      const results: AnalysisResult[] = [];
      for (const line of readFileSync(join(ROOT, 'examples', 'corpus.jsonl'), 'utf8')
        .split('\n')
        .slice(0, 6)) {
        let code: unknown;
        try {
          const record = JSON.parse(line) as { code?: unknown; original_string?: unknown };
          code = record.code ?? record.original_string;
        } catch {
          continue;
        }
        if (typeof code !== 'string') continue;
        const result = await analyzer.analyze(code, 'python', { tokens: 'leaves', maxSubwords: 256, reports: [] });
        countResultTypes(counters, result);
        results.push(result);
      }
      assert.ok(results.length >= 4);
      for (let layer = 0; layer < analyzer.model.info.layers; layer++)
        assert.deepEqual(counters[layer].top(), referenceRanking(results, layer));
    } finally {
      await analyzer.dispose();
    }
  });
});

describe('reference preset: CLI', function () {
  this.timeout(240_000);
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'cal-preset-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('corpus --preset reference chooses types per layer over the corpus, prints them and every choice', () => {
    const out = join(scratch, 'ref');
    const run = spawnSync(
      process.execPath,
      [
        CLI,
        'corpus',
        'examples/corpus.jsonl',
        '--language',
        'python',
        '--model',
        MODEL_DIR,
        '--preset',
        'reference',
        '--out',
        out,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 200_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /preset: reference/);
    assert.match(run.stdout, /kept types per layer/);
    assert.match(run.stdout, /layer 3: \S+ \d\.\d{3}/);
    const json = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as {
      definition: CatDefinition;
      perLayer: Array<{ mean: number; baselineMean: number }>;
    };
    assert.equal(json.definition.preset, 'reference');
    assert.equal(json.definition.distance, 'upgraded');
    assert.equal(json.definition.keptTypesPerLayer!.length, 4);
    assert.match(json.definition.typeSource, /over the corpus \(\d+ snippets\)/);
    for (const entry of json.perLayer) assert.ok(Number.isFinite(entry.mean) && Number.isFinite(entry.baselineMean));
  });

  it('analyze --preset reference --json records the preset, leaf tokens and the cut', () => {
    const run = spawnSync(
      process.execPath,
      [CLI, 'analyze', 'examples/debounce.js', '--model', MODEL_DIR, '--preset', 'reference', '--json'],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    const json = JSON.parse(run.stdout) as { options: AnalysisOptions; scores: { cat: { definition: CatDefinition } } };
    assert.equal(json.options.preset, 'reference');
    assert.equal(json.options.tokens, 'leaves');
    assert.equal(json.options.maxSubwords, 256);
    assert.ok(json.scores.cat.definition.choices!.some((line) => /^input: cut at 256/.test(line)));
  });

  it('an unknown preset gets one line', () => {
    const run = spawnSync(process.execPath, [CLI, 'analyze', 'examples/debounce.js', '--preset', 'paper'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /--preset must be one of lens, reference/);
  });
});

/** The reference's `get_freq_type_list` loop written out literally (counts per pair), for one layer. */
function referenceRanking(results: AnalysisResult | AnalysisResult[], layer: number): string[] {
  const high = new Map<string, number>();
  const total = new Map<string, number>();
  let rows = 0;
  for (const result of Array.isArray(results) ? results : [results]) {
    for (const window of result.windows) {
      const m = window.tokenEnd - window.tokenStart;
      const local = [...new Set(Array.from(window.tokenOfSubword).filter((t) => t >= 0))].map(
        (t) => t - window.tokenStart,
      );
      const matrix = headMatrix(window.layerAttention, layer, 0);
      const values = local.flatMap((a) => local.map((b) => matrix[a * m + b]));
      if (values.every((v) => v === 0)) continue;
      const sorted = [...values].sort((a, b) => a - b);
      const position = 0.75 * (sorted.length - 1);
      const low = Math.floor(position);
      const threshold = sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (position - low);
      rows += local.length;
      const type = (t: number) => result.tokens[window.tokenStart + t].type;
      local.forEach((a, i) =>
        local.forEach((b, j) => {
          if (values[i * local.length + j] > threshold) {
            high.set(type(a), (high.get(type(a)) ?? 0) + 1);
            high.set(type(b), (high.get(type(b)) ?? 0) + 1);
          }
          total.set(type(a), (total.get(type(a)) ?? 0) + 1);
          total.set(type(b), (total.get(type(b)) ?? 0) + 1);
        }),
      );
    }
  }
  const rates = [...high].filter(([t]) => total.get(t)! > rows).map(([t, h]) => ({ t, rate: h / total.get(t)! }));
  const chosen: string[] = [];
  while (rates.length && chosen.length < 8) {
    let best = 0;
    for (let i = 1; i < rates.length; i++) if (rates[i].rate > rates[best].rate) best = i;
    chosen.push(rates.splice(best, 1)[0].t);
  }
  return chosen;
}

/** GPT-2 byte-level alphabet: symbol → byte. */
function byteLevelDecoder(): (symbol: string) => number {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const symbols = bytes.map((b) => String.fromCharCode(b));
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      symbols.push(String.fromCharCode(256 + extra++));
    }
  }
  const map = new Map(symbols.map((s, i) => [s, bytes[i]]));
  return (symbol) => map.get(symbol)!;
}
