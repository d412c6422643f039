import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { convertFolder, type ConvertProgress } from '../src/convert/convert';
import { ConvertCancelledError, ConvertError } from '../src/convert/errors';
import { halfToFloat, WeightStore } from '../src/convert/safetensors';
import { languageForFile } from '../src/core/languages';
import { Analyzer } from '../src/core/pipeline';
import { CLI, EXAMPLES, ROOT } from './helpers';

/**
 * The TypeScript converter against the Python exporter: a random-weight RoBERTa (fixture made by
 * models/tools/make_convert_fixture.py) converted here must give the outputs models/export_onnx.py's
 * model.onnx gives on the same weights, to 1e-5, whichever way the weights are stored.
 */

const FIXTURE = join(ROOT, 'test', 'fixtures', 'convert', 'roberta-tiny');
const TOLERANCE = 1e-5;

interface StoredOutput {
  dims: number[];
  float32Base64: string;
}
interface Expected {
  ids: number[][];
  mask: number[][];
  exporter: Record<string, StoredOutput>;
  pytorch: Record<string, StoredOutput>;
}

const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as Expected;

function decode(output: StoredOutput): Float32Array {
  const bytes = Buffer.from(output.float32Base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** A Hugging Face folder: the fixture's config and tokenizer with the given weight files. */
function hfFolder(root: string, name: string, weights: Array<[from: string, to: string]>): string {
  const folder = join(root, name);
  mkdirSync(folder, { recursive: true });
  for (const file of ['config.json', 'vocab.json', 'merges.txt']) copyFileSync(join(FIXTURE, file), join(folder, file));
  for (const [from, to] of weights) copyFileSync(join(FIXTURE, from), join(folder, to));
  return folder;
}

async function run(modelFile: string): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(modelFile, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  try {
    const shape = [expected.ids.length, expected.ids[0].length];
    const tensor = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), shape);
    return await session.run({ input_ids: tensor(expected.ids), attention_mask: tensor(expected.mask) });
  } finally {
    await session.release();
  }
}

function largestDifference(actual: ort.Tensor, reference: StoredOutput): number {
  assert.deepEqual([...actual.dims], reference.dims);
  const values = actual.data as Float32Array;
  const wanted = decode(reference);
  let largest = 0;
  for (let i = 0; i < wanted.length; i++) largest = Math.max(largest, Math.abs(values[i] - wanted[i]));
  return largest;
}

describe('convert: Hugging Face folder → model layout', function () {
  this.timeout(120_000);
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'cal-convert-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const variants: Array<{
    name: string;
    weights: Array<[string, string]>;
    options?: Parameters<typeof convertFolder>[2];
  }> = [
    { name: 'float32 single file', weights: [['model.safetensors', 'model.safetensors']] },
    {
      name: 'float16 shards with their index',
      weights: [
        ['variants/f16-shards/model.safetensors.index.json', 'model.safetensors.index.json'],
        ['variants/f16-shards/model-00001-of-00002.safetensors', 'model-00001-of-00002.safetensors'],
        ['variants/f16-shards/model-00002-of-00002.safetensors', 'model-00002-of-00002.safetensors'],
      ],
    },
    {
      name: 'float16 shards kept as float16 in the file',
      weights: [
        ['variants/f16-shards/model.safetensors.index.json', 'model.safetensors.index.json'],
        ['variants/f16-shards/model-00001-of-00002.safetensors', 'model-00001-of-00002.safetensors'],
        ['variants/f16-shards/model-00002-of-00002.safetensors', 'model-00002-of-00002.safetensors'],
      ],
      options: { precision: 'float16' },
    },
    { name: 'bfloat16 single file', weights: [['variants/bf16.safetensors', 'model.safetensors']] },
    {
      name: 'float32 with external data',
      weights: [['model.safetensors', 'model.safetensors']],
      options: { externalData: 'always' },
    },
  ];

  for (const [index, variant] of variants.entries()) {
    it(`matches models/export_onnx.py to 1e-5: ${variant.name}`, async () => {
      const source = hfFolder(scratch, `hf-${index}`, variant.weights);
      const out = join(scratch, `out-${index}`);
      const summary = await convertFolder(source, out, variant.options);
      assert.equal(existsSync(join(out, 'model.onnx.data')), variant.options?.externalData === 'always');
      assert.equal(summary.tokenizerBuilt, true);
      const outputs = await run(join(out, 'model.onnx'));
      for (const name of ['last_hidden_state', 'attentions', 'value_norms']) {
        const fromExporter = largestDifference(outputs[name], expected.exporter[name]);
        assert.ok(fromExporter <= TOLERANCE, `${name}: max |TypeScript − export_onnx.py| = ${fromExporter}`);
        const fromPyTorch = largestDifference(outputs[name], expected.pytorch[name]);
        assert.ok(fromPyTorch <= TOLERANCE, `${name}: max |TypeScript − PyTorch| = ${fromPyTorch}`);
      }
    });
  }

  it('keeps float16 weights as float16 only when asked (half the file)', () => {
    const whole = readFileSync(join(scratch, 'out-1', 'model.onnx')).byteLength;
    const half = readFileSync(join(scratch, 'out-2', 'model.onnx')).byteLength;
    assert.ok(half < whole * 0.6, `float16 file ${half} bytes, float32 file ${whole} bytes`);
  });

  it('writes a manifest the loader accepts, and the converted model analyses every example file', async () => {
    const out = join(scratch, 'out-0');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    const config = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')) as Record<string, number>;
    assert.equal(manifest.family, 'roberta');
    assert.equal(manifest.maxPositions, config.max_position_embeddings - config.pad_token_id - 1);
    const vocab = JSON.parse(readFileSync(join(FIXTURE, 'vocab.json'), 'utf8')) as Record<string, number>;
    assert.deepEqual(manifest.specialTokens, {
      bos: vocab['<s>'],
      pad: vocab['<pad>'],
      eos: vocab['</s>'],
      unk: vocab['<unk>'],
      mask: vocab['<mask>'],
    });
    const analyzer = await Analyzer.create({ modelDir: out, executionProvider: 'cpu' });
    try {
      assert.equal(analyzer.model.info.layers, config.num_hidden_layers);
      assert.equal(analyzer.model.info.hasValueNorms, true);
      const examples = readdirSync(EXAMPLES).filter((file) => languageForFile(file));
      assert.equal(examples.length, 7);
      for (const file of examples) {
        const language = languageForFile(file)!;
        const result = await analyzer.analyze(readFileSync(join(EXAMPLES, file), 'utf8'), language, { path: file });
        const layerScores = result.scores.cat?.score.perLayer ?? [];
        assert.equal(layerScores.length, config.num_hidden_layers, file);
        assert.ok(layerScores.every(Number.isFinite), `${file}: CAT-score per layer ${layerScores.join(', ')}`);
      }
    } finally {
      await analyzer.dispose();
    }
  });

  describe('one clear message per problem, nothing written', () => {
    const refused = async (folder: string, pattern: RegExp) => {
      const out = join(folder, '..', `${folder.split('/').pop()}-out`);
      await assert.rejects(convertFolder(folder, out), (error: Error) => {
        assert.ok(error instanceof ConvertError, String(error));
        assert.match(error.message, pattern);
        return true;
      });
      assert.equal(existsSync(join(out, 'model.onnx')), false);
    };

    it('an unknown model_type lists the supported ones', async () => {
      const folder = hfFolder(scratch, 'unknown-type', [['model.safetensors', 'model.safetensors']]);
      writeFileSync(join(folder, 'config.json'), JSON.stringify({ model_type: 'mamba', hidden_size: 32 }));
      await refused(folder, /model_type "mamba"; the converter supports roberta \(CodeBERT, GraphCodeBERT, UniXcoder/);
    });

    it('a folder with only pytorch_model.bin gets the one-line conversion', async () => {
      const folder = hfFolder(scratch, 'pickle-only', []);
      writeFileSync(join(folder, 'pytorch_model.bin'), 'not read');
      await refused(folder, /has only pytorch_model\.bin.*python3 -c ".*save_file\(.*'model\.safetensors'\)"/);
    });

    it('a missing tokenizer is named with what to copy', async () => {
      const folder = hfFolder(scratch, 'no-tokenizer', [['model.safetensors', 'model.safetensors']]);
      rmSync(join(folder, 'merges.txt'));
      await refused(folder, /has no tokenizer: it needs tokenizer\.json, or vocab\.json and merges\.txt/);
    });

    it('shapes disagreeing with config.json name the tensor and the config key', async () => {
      const folder = hfFolder(scratch, 'wrong-shape', [['model.safetensors', 'model.safetensors']]);
      const config = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(
        join(folder, 'config.json'),
        JSON.stringify({ ...config, intermediate_size: 48, num_hidden_layers: 3 }),
      );
      await refused(
        folder,
        new RegExp(
          'config\\.json num_hidden_layers is 3 but the weights hold 2 layers; .*' +
            'roberta\\.encoder\\.layer\\.0\\.intermediate\\.dense\\.weight is \\[64, 32\\] ' +
            'but config\\.json intermediate_size × hidden_size means \\[48, 32\\]',
        ),
      );
    });

    it('a truncated safetensors file is refused before anything is written', async () => {
      const folder = hfFolder(scratch, 'truncated', []);
      const whole = readFileSync(join(FIXTURE, 'model.safetensors'));
      writeFileSync(join(folder, 'model.safetensors'), whole.subarray(0, whole.byteLength - 100));
      await refused(folder, /offsets .* run past the end of the file/);
    });
  });

  it('a cancelled conversion leaves no model file behind', async () => {
    const folder = hfFolder(scratch, 'cancel', [['model.safetensors', 'model.safetensors']]);
    const out = join(scratch, 'cancel-out');
    const controller = new AbortController();
    const stages: ConvertProgress['stage'][] = [];
    const onProgress = (progress: ConvertProgress) => {
      stages.push(progress.stage);
      if (progress.stage === 'writing') controller.abort();
    };
    await assert.rejects(convertFolder(folder, out, { signal: controller.signal, onProgress }), ConvertCancelledError);
    assert.ok(stages.includes('checking') && stages.includes('writing'));
    assert.equal(existsSync(join(out, 'model.onnx')), false);
    assert.equal(existsSync(join(out, 'model.onnx.partial')), false);
  });

  it('reads float16 as IEEE half precision (normal, largest, subnormal, infinite)', () => {
    // Bit patterns from IEEE 754 binary16: 0x3c00 = 1, 0xc000 = −2, 0x7bff = 65504, 0x0001 = 2^−24.
    assert.deepEqual([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00].map(halfToFloat), [1, -2, 65504, 2 ** -24, Infinity]);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  });

  it('reads the same values from float32, float16 shards and bfloat16 files', () => {
    const stores = [
      WeightStore.open(hfFolder(scratch, 'read-f32', [['model.safetensors', 'model.safetensors']])),
      WeightStore.open(join(scratch, 'hf-1')),
      WeightStore.open(join(scratch, 'hf-3')),
    ];
    try {
      const name = 'roberta.encoder.layer.1.attention.self.query.weight';
      const [f32, f16, bf16] = stores.map((store) => store.readFloat32(store.require(name)));
      assert.deepEqual(
        stores.map((store) => store.require(name).dtype),
        ['F32', 'F16', 'BF16'],
      );
      assert.deepEqual(Array.from(f16), Array.from(f32));
      assert.deepEqual(Array.from(bf16), Array.from(f32));
      assert.ok(f32.some((value) => value !== 0));
    } finally {
      for (const store of stores) store.close();
    }
  });

  it('code-attention convert prints progress on stderr and the loaded model, then analyze runs on it', () => {
    const folder = hfFolder(scratch, 'cli', [['model.safetensors', 'model.safetensors']]);
    const out = join(scratch, 'cli-out');
    const convert = spawnSync(process.execPath, [CLI, 'convert', folder, out, '--name', 'tiny'], { encoding: 'utf8' });
    assert.equal(convert.status, 0, convert.stderr);
    assert.match(convert.stderr, /writing model\.onnx: 100 %/);
    assert.match(convert.stderr, /loaded: 2 × 4, windows of 128 subwords/);
    const analyze = spawnSync(
      process.execPath,
      [CLI, 'analyze', join(EXAMPLES, 'lru_cache.py'), '--model', out, '--json'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(analyze.status, 0, analyze.stderr);
    assert.equal((JSON.parse(analyze.stdout) as { model: { name: string } }).model.name, 'tiny');
    const unknownType = hfFolder(scratch, 'cli-unknown-type', [['model.safetensors', 'model.safetensors']]);
    writeFileSync(join(unknownType, 'config.json'), JSON.stringify({ model_type: 'mamba' }));
    const unknown = spawnSync(process.execPath, [CLI, 'convert', unknownType, join(scratch, 'x')], {
      encoding: 'utf8',
    });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^error: .*model_type "mamba"; the converter supports roberta/);
  });
});
