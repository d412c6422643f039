import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FileRefusedError, readFileSafely } from '../core/files';
import { findModels } from '../core/model';
import { InputError } from '../core/pipeline';

export const BUNDLED_MODEL = 'code-attention-mini';

/** The bundled models folder, searched upward from the CLI's own location. */
export function bundledModelsDir(start = __dirname): string | undefined {
  let dir = start;
  for (;;) {
    if (
      existsSync(join(dir, 'models', BUNDLED_MODEL, 'manifest.json')) ||
      existsSync(join(dir, 'models', 'known-models.json'))
    )
      return join(dir, 'models');
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function defaultModelDir(): string {
  const modelsDir = bundledModelsDir();
  const models = modelsDir ? findModels(modelsDir) : [];
  if (!models.length)
    throw new InputError(
      'No bundled model found (models/code-attention-mini). Pass --model DIR with an exported model folder.',
    );
  return models[0].path;
}

/** The most --max-bytes allows: larger text is beyond what the analysis (and a JavaScript string) holds. */
export const MAX_SOURCE_BYTES = 256 * 2 ** 20;

/**
 * Reads a source file as UTF-8 text, with one-line messages for missing, special (FIFO, device,
 * folder), oversized, binary and non-UTF-8 files. At most `maxBytes` bytes are ever read.
 */
export function readSourceFile(file: string, maxBytes: number, limitHint = '--max-bytes'): string {
  let bytes: Buffer;
  try {
    bytes = readFileSafely(resolve(file), { maxBytes, label: file, limitHint });
  } catch (error) {
    if (error instanceof FileRefusedError) throw new InputError(error.message);
    throw error;
  }
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
  if (utf16) throw new InputError(`${file} is UTF-16 text; save it as UTF-8 first.`);
  if (bytes.includes(0)) throw new InputError(`${file} looks binary (it contains NUL bytes); give a source file.`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${file} is not valid UTF-8 text; save it as UTF-8 first.`);
  }
}
