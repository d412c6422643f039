import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { languageForFile } from '../src/core/languages';
import { encodeRawText } from '../src/core/rawText';
import { CodeTokenizer } from '../src/core/tokenizer';
import type { ParsedSource } from '../src/core/types';
import { DECODER_PREFIX_SHARE, planDecoderWindows, startDepths } from '../src/core/windows';
import { EXAMPLES, ROOT, sharedParser } from './helpers';

// A decoder fixture's tokenizer: the bundled model's byte-level BPE with a decoder's post-processing.
const DECODER_DIR = join(ROOT, 'test', 'fixtures', 'decoders', 'qwen2.5-coder-0.5b');
const SPECIAL = { bos: 0, pad: 1, eos: 2, unk: 3, mask: 4 };

async function examples(): Promise<Array<{ file: string; parsed: ParsedSource }>> {
  const parser = await sharedParser();
  const parsed: Array<{ file: string; parsed: ParsedSource }> = [];
  for (const file of readdirSync(EXAMPLES)) {
    const language = languageForFile(file);
    if (language)
      parsed.push({ file, parsed: await parser.parse(readFileSync(join(EXAMPLES, file), 'utf8'), language) });
  }
  assert.ok(parsed.length >= 7, 'every language has an example file');
  return parsed;
}

describe('raw-text tokenization (decoders)', () => {
  let tokenizer: CodeTokenizer;
  before(() => {
    tokenizer = CodeTokenizer.load(DECODER_DIR, SPECIAL);
  });

  it('encodes each example file as it is and gives each subword the code token its bytes overlap', async () => {
    for (const { file, parsed } of await examples()) {
      const sequence = encodeRawText(tokenizer, parsed.source, parsed.tokens);
      assert.deepEqual(sequence.ids, tokenizer.encodeText(parsed.source), `${file}: the whole text, unchanged`);
      assert.equal(sequence.approximate, false, file);
      const sourceBytes = Buffer.from(parsed.source, 'utf8');
      const byteAt = (index: number) => Buffer.byteLength(parsed.source.slice(0, index), 'utf8');
      const comments = parsed.tree.nodes
        .filter((node) => /comment/.test(node.type))
        .map((node) => [byteAt(node.startIndex), byteAt(node.endIndex)]);
      let spanning = 0;
      let checked = 0;
      let previousOwner = -1;
      const bytesOf = pieceBytes();
      let start = 0;
      for (let k = 0; k < sequence.ids.length; k++) {
        // The subword's bytes from GPT-2's byte-to-character table, built here independently of the product.
        const bytes = bytesOf(sequence.pieces[k]);
        const end = start + bytes.length;
        assert.ok(sourceBytes.subarray(start, end).equals(bytes), `${file}: subword ${k} holds the text's bytes`);
        checked++;
        const overlapping = parsed.tokens.filter((token) => token.startByte < end && token.endByte > start);
        const owner = sequence.tokenOfSubword[k];
        const text = sourceBytes.subarray(start, end).toString('utf8');
        if (overlapping.length === 0) {
          assert.equal(owner, -1, `${file}: subword ${k} overlaps no token`);
          const inComment = comments.some(([from, to]) => start < to && end > from);
          assert.ok(/^\s+$/.test(text) || inComment, `${file}: ${JSON.stringify(text)} is whitespace or comment`);
        } else {
          assert.equal(owner, overlapping[0].index, `${file}: subword ${k} belongs to the first token it overlaps`);
          assert.ok(owner >= previousOwner, `${file}: owners follow the text`);
          previousOwner = owner;
          if (overlapping.length > 1) spanning++;
        }
        if (/^\s+$/.test(text)) assert.equal(owner, -1, `${file}: whitespace-only subword ${k} has no token`);
        start = end;
      }
      assert.equal(start, sourceBytes.length, `${file}: the subwords hold the whole file`);
      assert.equal(checked, sequence.ids.length);
      assert.equal(sequence.spanningSubwords, spanning, file);
    }
  });

  it('counts subwords spanning two code tokens; newlines and indentation belong to no token', async () => {
    const parser = await sharedParser();
    const parsed = await parser.parse('def f(x):\n    return x\n', 'python');
    const sequence = encodeRawText(tokenizer, parsed.source, parsed.tokens);
    const owners = sequence.pieces.map((piece, k) => [piece, sequence.tokenOfSubword[k]] as const);
    const text = (index: number) => (index < 0 ? null : parsed.tokens[index].text);
    const named = owners.map(([piece, owner]) => [piece, text(owner)]);
    // `):` is one subword of this BPE: it spans `)` and `:` and belongs to `)`; `:` has no subword.
    assert.deepEqual(
      named.find(([piece]) => piece === '):'),
      ['):', ')'],
    );
    assert.equal(sequence.spanningSubwords, 1);
    assert.ok(named.some(([piece, owner]) => /^[\u010a\u0120]+$/.test(piece!) && owner === null));
  });
});

describe('decoder windows', () => {
  let tokenizer: CodeTokenizer;
  before(() => {
    tokenizer = CodeTokenizer.load(DECODER_DIR, SPECIAL);
  });

  for (const addBos of [true, false]) {
    it(`scores every code token in exactly one window, after a prefix of context (addBos ${addBos})`, async () => {
      for (const { file, parsed } of await examples()) {
        const sequence = encodeRawText(tokenizer, parsed.source, parsed.tokens);
        const size = 96;
        const plan = planDecoderWindows(sequence, parsed.tokens, size, SPECIAL, addBos, parsed.tree);
        assert.ok(plan.windows.length > 2, `${file}: ${sequence.ids.length} subwords make several windows`);
        assert.deepEqual(plan.splitTokens, []);
        let scoredUpTo = 0;
        let covered = 0;
        for (const [w, window] of plan.windows.entries()) {
          assert.ok(window.ids.length <= size, `${file}: window ${w} fits`);
          assert.equal(window.ids[0] === SPECIAL.bos && window.tokenOfSubword[0] === -1, addBos, 'bos first');
          assert.notEqual(window.ids[window.ids.length - 1], SPECIAL.eos, 'a decoder window has no end token');
          assert.equal(window.scoredStart, scoredUpTo, `${file}: window ${w} scores from where the last stopped`);
          scoredUpTo = window.tokenEnd;
          const owners = Array.from(window.tokenOfSubword).filter((owner) => owner >= 0);
          assert.ok(owners.every((owner) => owner >= window.tokenStart && owner < window.tokenEnd));
          const prefix = owners.filter((owner) => owner < window.scoredStart!).length;
          if (w === 0) assert.equal(prefix, 0);
          else {
            assert.ok(prefix > 0, `${file}: window ${w} has a prefix`);
            assert.ok(prefix <= Math.floor(size * DECODER_PREFIX_SHARE), `${file}: its prefix is at most a quarter`);
            assert.equal(window.tokenStart, owners[0], 'the prefix starts with a whole token');
          }
          // The scored subwords, in order, are the file's next ones.
          const body = window.ids.slice(addBos ? 1 : 0);
          const scoredFrom = Array.from(window.tokenOfSubword.subarray(addBos ? 1 : 0)).findIndex(
            (owner) => owner >= window.scoredStart!,
          );
          const firstScored = w === 0 ? 0 : scoredFrom - precedingBlank(window.tokenOfSubword, addBos, scoredFrom);
          assert.deepEqual(
            body.slice(firstScored),
            sequence.ids.slice(covered, covered + body.length - firstScored),
            `${file}: window ${w} continues the file`,
          );
          covered += body.length - firstScored;
        }
        assert.equal(covered, sequence.ids.length, `${file}: every subword is scored once`);
        assert.equal(scoredUpTo, parsed.tokens.length);
      }
    });
  }

  it('ends windows at top-level cut points where one lies in the second half', async () => {
    const parser = await sharedParser();
    const parsed = await parser.parse(readFileSync(join(EXAMPLES, 'lru_cache.py'), 'utf8'), 'python');
    const sequence = encodeRawText(tokenizer, parsed.source, parsed.tokens);
    const depth = startDepths(parsed.tree, parsed.tokens);
    const withTree = planDecoderWindows(sequence, parsed.tokens, 128, SPECIAL, true, parsed.tree);
    const greedy = planDecoderWindows(sequence, parsed.tokens, 128, SPECIAL, true);
    const shallowCuts = (plan: typeof greedy) =>
      plan.windows.slice(1).filter((window) => depth[window.scoredStart!] <= 2).length;
    assert.ok(shallowCuts(withTree) > shallowCuts(greedy), `${shallowCuts(withTree)} vs ${shallowCuts(greedy)}`);
    // Anchored starts are kept: planning again from the plan's own starts gives the same windows.
    const starts = new Set(withTree.windows.map((window) => window.scoredStart!));
    const again = planDecoderWindows(sequence, parsed.tokens, 128, SPECIAL, true, parsed.tree, starts);
    assert.deepEqual(
      again.windows.map((window) => window.ids),
      withTree.windows.map((window) => window.ids),
    );
  });
});

/** GPT-2's byte-level table inverted: each character of a piece stands for one byte. */
function pieceBytes(): (piece: string) => Buffer {
  const printable = [
    ...Array.from({ length: 94 }, (_, i) => 33 + i),
    ...Array.from({ length: 12 }, (_, i) => 161 + i),
    ...Array.from({ length: 82 }, (_, i) => 174 + i),
  ];
  const byteOf = new Map<number, number>();
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) byteOf.set(printable.includes(byte) ? byte : 256 + extra++, byte);
  return (piece) => Buffer.from([...piece].map((char) => byteOf.get(char.codePointAt(0)!)!));
}

/** Subwords of no token just before position `at` of a window (they go with the token after them). */
function precedingBlank(owners: Int32Array, addBos: boolean, at: number): number {
  const offset = addBos ? 1 : 0;
  let blank = 0;
  while (at - blank - 1 >= 0 && owners[offset + at - blank - 1] === -1) blank++;
  return blank;
}
