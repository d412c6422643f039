import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DEFAULT_ATTENTION_BYTES, DEFAULT_MAX_POSITIONS, decoderWindow } from '../src/convert/architecture';
import { convertFolder } from '../src/convert/convert';
import { ConvertError } from '../src/convert/errors';
import { languageForFile } from '../src/core/languages';
import { LoadedModel } from '../src/core/model';
import { Analyzer } from '../src/core/pipeline';
import { DECODER_FIXTURES, loadDecoderReference } from './decoderFixtures';
import { CLI, EXAMPLES } from './helpers';

/**
 * Decoder graphs built in TypeScript against the independent plain-PyTorch reference
 * (models/tools/reference_decoders.py): each random-weight checkpoint of test/fixtures/decoders,
 * converted here, must reproduce the reference's attentions, last hidden state and value norms to
 * 1e-4 on both reference inputs, alone and as one right-padded batch.
 */

const TOLERANCE = 1e-4;
/** A padded batch runs the same arithmetic on the same rows: it may differ from the single run by rounding only. */
const BATCH_TOLERANCE = 1e-5;

async function runBatch(
  session: ort.InferenceSession,
  rows: number[][],
  padId: number,
): Promise<Record<string, ort.Tensor>> {
  const width = Math.max(...rows.map((row) => row.length));
  const ids = new BigInt64Array(rows.length * width).fill(BigInt(padId));
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((row, item) =>
    row.forEach((id, column) => {
      ids[item * width + column] = BigInt(id);
      mask[item * width + column] = 1n;
    }),
  );
  const dims = [rows.length, width];
  return session.run({
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
  });
}

/**
 * Item `item`'s values of an output whose axes are [before…, batch, after…], cropped to the first
 * `length` positions on each sequence axis, in row-major order.
 */
function crop(tensor: ort.Tensor, item: number, length: number, sequenceAxes: number[]): number[] {
  const dims = [...tensor.dims];
  const batchAxis = dims.length === 3 ? 0 : 1;
  const data = tensor.data as Float32Array;
  const result: number[] = [];
  const index = new Array<number>(dims.length).fill(0);
  const visit = (axis: number, offset: number) => {
    if (axis === dims.length) {
      result.push(data[offset]);
      return;
    }
    const stride = dims.slice(axis + 1).reduce((product, dim) => product * dim, 1);
    const extent = axis === batchAxis ? 1 : sequenceAxes.includes(axis) ? length : dims[axis];
    for (let at = 0; at < extent; at++) {
      index[axis] = axis === batchAxis ? item : at;
      visit(axis + 1, offset + index[axis] * stride);
    }
  };
  visit(0, 0);
  return result;
}

const SEQUENCE_AXES: Record<string, number[]> = {
  last_hidden_state: [1],
  attentions: [3, 4],
  value_norms: [3],
  value_gram: [2],
};

function largestDifference(actual: ArrayLike<number>, wanted: ArrayLike<number>): number {
  assert.equal(actual.length, wanted.length);
  let largest = 0;
  for (let i = 0; i < wanted.length; i++) largest = Math.max(largest, Math.abs(actual[i] - wanted[i]));
  return largest;
}

const DECODERS: Array<{
  folder: string;
  family: string;
  addBos: boolean;
  positionsKey: string;
  options?: Parameters<typeof convertFolder>[2];
}> = [
  { folder: 'qwen2.5-coder-0.5b', family: 'qwen2', addBos: false, positionsKey: 'max_position_embeddings' },
  { folder: 'deepseek-coder-1.3b-base', family: 'llama', addBos: true, positionsKey: 'max_position_embeddings' },
  { folder: 'codeparrot-small', family: 'gpt2', addBos: false, positionsKey: 'n_positions' },
  {
    folder: 'codeparrot-small',
    family: 'gpt2',
    addBos: false,
    positionsKey: 'n_positions',
    options: { precision: 'float16', maxPositions: 100 },
  },
  { folder: 'tiny_starcoder_py', family: 'gpt_bigcode', addBos: false, positionsKey: 'n_positions' },
  { folder: 'gpt_bigcode-multi-head', family: 'gpt_bigcode', addBos: false, positionsKey: 'n_positions' },
];

describe('convert: decoder graphs equal the plain-PyTorch reference', function () {
  this.timeout(120_000);
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'cal-convert-decoders-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  for (const [index, decoder] of DECODERS.entries()) {
    const variant = decoder.options ? ` (${JSON.stringify(decoder.options)})` : '';
    describe(decoder.folder + variant, () => {
      const source = join(DECODER_FIXTURES, decoder.folder);
      const { inputs, tensors: reference } = loadDecoderReference(decoder.folder);
      let out: string;
      let session: ort.InferenceSession;
      let singles: Array<Record<string, ort.Tensor>>;
      before(async () => {
        out = join(scratch, `${decoder.folder}-${index}`);
        await convertFolder(source, out, decoder.options);
        session = await ort.InferenceSession.create(join(out, 'model.onnx'), {
          executionProviders: ['cpu'],
          intraOpNumThreads: 1,
        });
        singles = [];
        for (const input of inputs) singles.push(await runBatch(session, [input.ids], 0));
      });
      after(async () => session?.release());

      it('attentions, last_hidden_state and value_norms equal the reference to 1e-4 on both inputs', () => {
        for (const [k, input] of inputs.entries()) {
          for (const name of ['attentions', 'last_hidden_state', 'value_norms']) {
            const wanted = reference.get(`input${k}.${name}`)!;
            const actual = singles[k][name];
            assert.deepEqual(
              [...actual.dims].filter((_, axis) => axis !== (name === 'last_hidden_state' ? 0 : 1)),
              wanted.shape,
              `${name} shape`,
            );
            const difference = largestDifference(actual.data as Float32Array, wanted.data);
            assert.ok(
              difference <= TOLERANCE,
              `${input.language} ${name}: max |TypeScript − reference| = ${difference}`,
            );
          }
        }
      });

      it('puts exactly zero probability on later positions, and each row sums to 1', () => {
        const attentions = singles[0].attentions;
        const [layers, , heads, n] = attentions.dims;
        const data = attentions.data as Float32Array;
        for (let matrix = 0; matrix < layers * heads; matrix++) {
          for (let i = 0; i < n; i++) {
            const row = data.subarray((matrix * n + i) * n, (matrix * n + i + 1) * n);
            assert.ok(
              row.subarray(i + 1).every((value) => value === 0),
              `row ${i} attends to a later position`,
            );
            const sum = row.reduce((total, value) => total + value, 0);
            assert.ok(Math.abs(sum - 1) < 1e-5, `row ${i} sums to ${sum}`);
          }
        }
      });

      it('value_gram holds ⟨f_h(x_j), f_h′(x_j)⟩: symmetric, the squared value norms on its diagonal', () => {
        for (const single of singles) {
          const [layers, , heads, n] = single.value_norms.dims;
          assert.deepEqual([...single.value_gram.dims], [layers, 1, n, heads, heads]);
          const gram = single.value_gram.data as Float32Array;
          const norms = single.value_norms.data as Float32Array;
          let largest = 0;
          for (let layer = 0; layer < layers; layer++)
            for (let j = 0; j < n; j++)
              for (let h = 0; h < heads; h++) {
                const at = ((layer * n + j) * heads + h) * heads;
                const squared = norms[(layer * heads + h) * n + j] ** 2;
                largest = Math.max(largest, Math.abs(gram[at + h] - squared) / Math.max(squared, 1));
                for (let other = 0; other < heads; other++)
                  assert.equal(gram[at + other], gram[((layer * n + j) * heads + other) * heads + h]);
              }
          assert.ok(largest <= 1e-5, `max relative |diagonal − norm²| = ${largest}`);
        }
      });

      it('a right-padded batch of both inputs equals the single runs', async () => {
        const batch = await runBatch(
          session,
          inputs.map((input) => input.ids),
          2,
        );
        for (const [k, input] of inputs.entries()) {
          for (const name of ['attentions', 'last_hidden_state', 'value_norms', 'value_gram']) {
            const n = input.ids.length;
            const difference = largestDifference(
              crop(batch[name], k, n, SEQUENCE_AXES[name]),
              crop(singles[k][name], 0, n, SEQUENCE_AXES[name]),
            );
            const what = `${input.language} ${name}: max |batch − single| = ${difference}`;
            assert.ok(difference <= BATCH_TOLERANCE, what);
          }
        }
      });

      it('writes the decoder manifest fields, and the product loads the folder', async () => {
        const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
        const config = JSON.parse(readFileSync(join(source, 'config.json'), 'utf8')) as Record<string, number>;
        assert.equal(manifest.family, decoder.family);
        assert.equal(manifest.causal, true);
        assert.equal(manifest.tokenization, 'raw-text');
        assert.equal(manifest.addBos, decoder.addBos);
        const cap = decoder.options?.maxPositions ?? 2048;
        assert.equal(manifest.maxPositions, Math.min(config[decoder.positionsKey], cap));
        const model = await LoadedModel.load(out, { executionProvider: 'cpu' });
        try {
          assert.equal(model.info.layers, config.num_hidden_layers ?? config.n_layer);
          assert.equal(model.info.heads, config.num_attention_heads ?? config.n_head);
          assert.equal(model.info.maxPositions, manifest.maxPositions);
          assert.equal(model.info.hasValueNorms, true);
          assert.equal(model.info.hasValueGram, true);
        } finally {
          await model.dispose();
        }
      });

      it('the converted model analyses every example file with the causal reports', async () => {
        const analyzer = await Analyzer.create({ modelDir: out, executionProvider: 'cpu' });
        try {
          const { layers, heads } = analyzer.model.info;
          const examples = readdirSync(EXAMPLES).filter((file) => languageForFile(file));
          assert.equal(examples.length, 7);
          for (const file of examples) {
            const text = readFileSync(join(EXAMPLES, file), 'utf8');
            const result = await analyzer.analyze(text, languageForFile(file)!, { path: file });
            assert.equal(result.causal, true, file);
            const perLayer = result.scores.cat?.score.perLayer ?? [];
            assert.equal(perLayer.length, layers, file);
            assert.ok(perLayer.every(Number.isFinite), `${file}: causal CAT per layer ${perLayer.join(', ')}`);
            const sinks = result.scores.sinks;
            assert.ok(sinks, `${file}: a sink report`);
            assert.equal(sinks.perHead.length, layers, file);
            assert.ok(
              sinks.perHead.every((row) => row.length === heads && row.every((share) => share >= 0 && share <= 1)),
              `${file}: sink shares ${JSON.stringify(sinks.perHead)}`,
            );
            assert.ok(sinks.chance > 0 && sinks.chance < 1, `${file}: chance ${sinks.chance}`);
          }
        } finally {
          await analyzer.dispose();
        }
      });
    });
  }

  /** A copy of a fixture folder whose config.json (and optionally tokenizer.json) is changed. */
  const changedCopy = (name: string, changes: Record<string, unknown>, tokenizerFrom?: string): string => {
    const folder = join(scratch, `changed-${name}-${Object.keys(changes).join('-') || 'tokenizer'}`);
    cpSync(join(DECODER_FIXTURES, name), folder, { recursive: true });
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...config, ...changes }));
    if (tokenizerFrom) cpSync(join(DECODER_FIXTURES, tokenizerFrom, 'tokenizer.json'), join(folder, 'tokenizer.json'));
    return folder;
  };
  const refused = async (folder: string, pattern: RegExp) => {
    const out = `${folder}-out`;
    await assert.rejects(convertFolder(folder, out), (error: Error) => {
      assert.ok(error instanceof ConvertError, String(error));
      assert.match(error.message, pattern);
      return true;
    });
    assert.equal(existsSync(join(out, 'model.onnx')), false);
  };

  it('a Qwen2 tokenizer whose post-processor puts <s> first makes windows start with bos', async () => {
    const folder = changedCopy('qwen2.5-coder-0.5b', {}, 'deepseek-coder-1.3b-base');
    await convertFolder(folder, `${folder}-out`);
    const manifest = JSON.parse(readFileSync(join(`${folder}-out`, 'manifest.json'), 'utf8')) as {
      addBos: boolean;
      specialTokens: Record<string, number>;
    };
    assert.equal(manifest.addBos, true);
    assert.equal(manifest.specialTokens.bos, 0);
    assert.equal(manifest.specialTokens.mask, undefined);
  });

  it("a decoder's default window keeps one window's attention within 512 MiB, at most 2,048 subwords", () => {
    const window = (layers: number, heads: number, positions: number) =>
      decoderWindow(positions, { layers, heads }, undefined);
    // The published shapes: Qwen2.5-Coder-0.5B, deepseek-coder-1.3b, tiny_starcoder_py, codeparrot-small.
    assert.deepEqual(
      [window(24, 14, 32768), window(24, 16, 16384), window(20, 12, 8192), window(12, 12, 1024)],
      [576, 576, 704, 960],
    );
    for (const [layers, heads] of [
      [24, 14],
      [24, 16],
      [20, 12],
    ])
      assert.ok(layers * heads * window(layers, heads, 1e6) ** 2 * 4 <= DEFAULT_ATTENTION_BYTES);
    assert.equal(window(2, 4, 1e6), DEFAULT_MAX_POSITIONS);
    assert.equal(window(2, 4, 256), 256);
    assert.equal(decoderWindow(32768, { layers: 24, heads: 14 }, { maxPositions: 2048 }), 2048);
  });

  it('an unknown model_type lists all five supported ones', async () => {
    const folder = changedCopy('tiny_starcoder_py', { model_type: 'mamba' });
    await refused(folder, /model_type "mamba"; the converter supports roberta .*gpt2, gpt_bigcode .*llama, qwen2 /);
  });

  it('key/value heads disagreeing with the weights name the tensor and the config keys', async () => {
    const folder = changedCopy('qwen2.5-coder-0.5b', { num_key_value_heads: 7 });
    await refused(
      folder,
      new RegExp(
        'model\\.layers\\.0\\.self_attn\\.k_proj\\.weight is \\[8, 56\\] ' +
          'but config\\.json num_key_value_heads × head size, hidden_size means \\[28, 56\\]',
      ),
    );
  });

  it('an unsupported rotary scaling or activation is refused with what is supported', async () => {
    await refused(
      changedCopy('deepseek-coder-1.3b-base', { rope_scaling: { type: 'yarn', factor: 4 } }),
      /rope_scaling type "yarn" is not supported \(linear and default are\)/,
    );
    await refused(
      changedCopy('codeparrot-small', { activation_function: 'relu' }),
      /activation_function is "relu"; supported: gelu_new, gelu_pytorch_tanh, gelu/,
    );
  });

  it("code-attention convert --max-positions caps a decoder's window, and the model loads with it", () => {
    const out = join(scratch, 'cli-qwen2');
    const source = join(DECODER_FIXTURES, 'qwen2.5-coder-0.5b');
    const convert = spawnSync(process.execPath, [CLI, 'convert', source, out, '--max-positions', '64'], {
      encoding: 'utf8',
    });
    assert.equal(convert.status, 0, convert.stderr);
    assert.match(convert.stderr, /2 layers × 14 heads, hidden 56, causal,/);
    assert.match(convert.stderr, /loaded: 2 × 14, windows of 64 subwords/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { maxPositions: number };
    assert.equal(manifest.maxPositions, 64);
    const tooShort = spawnSync(process.execPath, [CLI, 'convert', source, join(scratch, 'x'), '--max-positions', '2'], {
      encoding: 'utf8',
    });
    assert.notEqual(tooShort.status, 0);
    assert.match(tooShort.stderr, /--max-positions must be a whole number ≥ 3 \(got "2"\)/);
  });
});
