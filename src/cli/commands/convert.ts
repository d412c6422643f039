import { LoadedModel } from '../../core/model';
import { ConvertCancelledError, ConvertError } from '../../convert/errors';
import { convertFolder, type ConvertProgress } from '../../convert/convert';
import { choice, integerOption, option, parseArgs, UsageError } from '../args';
import { terminalText } from '../../presenters/escape';

export const CONVERT_USAGE = `code-attention convert HF_DIR OUT_DIR [--name NAME] [--display-name TEXT]
    [--weights float32|float16]   (float16 keeps a float16 checkpoint's weights as float16: half the file)
    [--external-data auto|always|never]   (weights in model.onnx.data; auto: above 1.8 GiB, ONNX's limit is 2 GiB)
    [--max-positions N]   (longest window in subwords; default: the config's; decoders at most 2,048
                           and what keeps one window's attention within 512 MiB)
    (a Hugging Face folder with config.json, safetensors weights and tokenizer files → our model layout, no Python;
     model_type roberta, gpt2, gpt_bigcode, llama or qwen2)`;

export async function convertCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['name', 'display-name', 'weights', 'external-data', 'max-positions'], []);
  const [source, out] = args.positional;
  if (!source || !out || args.positional.length > 2) throw new UsageError(`Usage: ${CONVERT_USAGE}`);
  const maxPositions =
    option(args, 'max-positions') === undefined ? undefined : integerOption(args, 'max-positions', 0, 3);
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  const started = Date.now();
  let lastPercent = -1;
  const progress = (update: ConvertProgress) => {
    if (update.stage === 'checking') {
      process.stderr.write(`${terminalText(update.message)}\n`);
      return;
    }
    const percent = Math.floor((100 * update.written) / Math.max(update.total, 1));
    if (percent === lastPercent || (percent % 10 !== 0 && percent !== 100)) return;
    lastPercent = percent;
    process.stderr.write(`writing model.onnx: ${percent} % of ${(update.total / 2 ** 20).toFixed(1)} MiB\n`);
  };
  try {
    const summary = await convertFolder(source, out, {
      name: option(args, 'name'),
      displayName: option(args, 'display-name'),
      precision: choice(args, 'weights', ['float32', 'float16'] as const, 'float32'),
      externalData: choice(args, 'external-data', ['auto', 'always', 'never'] as const, 'auto'),
      maxPositions,
      onProgress: progress,
      signal: controller.signal,
    });
    const external = summary.written.externalData;
    process.stderr.write(
      `wrote ${terminalText(summary.out)}: ${summary.layers} layers × ${summary.heads} heads, ` +
        `hidden ${summary.hiddenSize}, ${summary.causal ? 'causal, ' : ''}` +
        `${summary.tensors} initializers, model.onnx ${(summary.written.modelBytes / 2 ** 20).toFixed(1)} MiB` +
        (external ? ` + ${external.file} ${(external.bytes / 2 ** 20).toFixed(1)} MiB` : '') +
        (summary.tokenizerBuilt ? '; tokenizer.json built from vocab.json and merges.txt' : '') +
        ` (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
    );
    // Loading runs the folder's own checks and a probe forward pass: the output is ready for analyze.
    const model = await LoadedModel.load(summary.out, { executionProvider: 'cpu' });
    process.stderr.write(
      `loaded: ${model.info.layers} × ${model.info.heads}, windows of ${model.info.maxPositions} subwords\n`,
    );
    await model.dispose();
    return 0;
  } catch (error) {
    if (error instanceof ConvertError || error instanceof ConvertCancelledError) {
      process.stderr.write(`error: ${terminalText(error.message)}\n`);
      return 1;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', interrupt);
  }
}
