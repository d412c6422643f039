import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { languageForFile } from '../src/core/languages';
import { CodeTokenizer } from '../src/core/tokenizer';
import { planWindows } from '../src/core/windows';
import { EXAMPLES, MODEL_DIR, ROOT, sharedParser } from './helpers';

const SPECIAL = { bos: 0, pad: 1, eos: 2, unk: 3, mask: 4 };

interface ParityCase {
  language: string;
  text: string;
  ids: number[];
  words: string[];
  wordIds: number[][];
}

describe('tokenizer', () => {
  let tokenizer: CodeTokenizer;
  before(() => {
    tokenizer = CodeTokenizer.load(MODEL_DIR, SPECIAL);
  });

  it('reproduces the Python BPE encoding of held-out code in every language', () => {
    const fixture = JSON.parse(
      readFileSync(join(ROOT, 'test', 'fixtures', 'model', 'tokenizer-parity.json'), 'utf8'),
    ) as { cases: ParityCase[] };
    const languages = new Set(fixture.cases.map((c) => c.language));
    for (const language of ['python', 'java', 'javascript', 'go', 'ruby', 'php', 'typescript'])
      assert.ok(languages.has(language), `fixture has ${language}`);
    for (const parityCase of fixture.cases) {
      assert.deepEqual(
        tokenizer.encodeText(parityCase.text),
        parityCase.ids,
        `${parityCase.language}: ${parityCase.text.slice(0, 40)}`,
      );
      parityCase.words.forEach((word, index) =>
        assert.deepEqual(tokenizer.encodeText(index === 0 ? word : ' ' + word), parityCase.wordIds[index]),
      );
    }
  });

  it('maps every subword to exactly one code token, in order, with a leading space after the first', async () => {
    const parser = await sharedParser();
    for (const file of readdirSync(EXAMPLES)) {
      const language = languageForFile(file);
      if (!language) continue;
      const parsed = await parser.parse(readFileSync(join(EXAMPLES, file), 'utf8'), language);
      const sequence = tokenizer.encodeTokens(parsed.tokens);
      assert.equal(sequence.ids.length, sequence.tokenOfSubword.length);
      const counts = new Array(parsed.tokens.length).fill(0);
      let previous = 0;
      for (const owner of sequence.tokenOfSubword) {
        assert.ok(owner >= previous, 'subwords follow token order');
        previous = owner;
        counts[owner]++;
      }
      assert.ok(
        counts.every((count) => count >= 1),
        `${file}: every code token has a subword`,
      );
      const secondTokenPieces = sequence.pieces.filter((_, s) => sequence.tokenOfSubword[s] === 1);
      assert.ok(secondTokenPieces[0].startsWith('Ġ'), 'tokens after the first carry the leading space (Ġ)');
    }
  });

  it('splits long files into windows of whole code tokens that together cover every subword once', async () => {
    const parser = await sharedParser();
    const source = readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8');
    const parsed = await parser.parse(source, 'python');
    const sequence = tokenizer.encodeTokens(parsed.tokens);
    const plan = planWindows(sequence, parsed.tokens, 64, SPECIAL);
    assert.ok(plan.windows.length > 3);
    const seen: number[] = [];
    for (const window of plan.windows) {
      assert.ok(window.ids.length <= 64);
      assert.equal(window.ids[0], SPECIAL.bos);
      assert.equal(window.ids[window.ids.length - 1], SPECIAL.eos);
      const owners = Array.from(window.tokenOfSubword.subarray(1, -1));
      assert.ok(owners.every((owner) => owner >= window.tokenStart && owner < window.tokenEnd));
      seen.push(...window.ids.slice(1, -1));
    }
    assert.deepEqual(seen, sequence.ids);
    assert.equal(plan.splitTokens.length, 0);
    for (let w = 1; w < plan.windows.length; w++)
      assert.equal(plan.windows[w].tokenStart, plan.windows[w - 1].tokenEnd);
  });

  it('splits a single code token longer than a window across windows and reports it', async () => {
    const parser = await sharedParser();
    const parsed = await parser.parse(`x = "${'long words '.repeat(40)}"\nx = 2\n`, 'python');
    const sequence = tokenizer.encodeTokens(parsed.tokens);
    const plan = planWindows(sequence, parsed.tokens, 16, SPECIAL);
    assert.deepEqual(plan.splitTokens, [2]); // x, =, then the string literal
    const literalSubwords = sequence.tokenOfSubword.filter((owner) => owner === 2).length;
    // A window holds 14 subwords. x and = take two; the literal's first 14-subword piece does not fit
    // beside them, so window 0 is [x, =]; the literal then takes ⌈L / 14⌉ windows, the last of
    // which it shares with the tokens after it.
    assert.ok(literalSubwords > 14);
    assert.deepEqual(plan.windows[0].tokenStart, 0);
    assert.deepEqual(plan.windows[0].tokenEnd, 2);
    const holdingLiteral = plan.windows.filter((window) => window.tokenStart <= 2 && window.tokenEnd > 2);
    assert.equal(holdingLiteral.length, Math.ceil(literalSubwords / 14));
    assert.ok(plan.windows.every((window) => window.ids.length <= 16));
    assert.deepEqual(
      plan.windows.flatMap((window) => window.ids.slice(1, -1)),
      sequence.ids,
      'every subword once, in order',
    );
  });

  it('has a model folder to test against', () => {
    assert.ok(existsSync(join(MODEL_DIR, 'tokenizer.json')), `${MODEL_DIR} must hold the bundled model`);
  });
});
