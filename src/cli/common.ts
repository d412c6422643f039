import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { findModels } from '../core/model';
import { InputError } from '../core/pipeline';

export const BUNDLED_MODEL = 'code-attention-mini';

/** The bundled models folder, searched upward from the CLI's own location. */
export function bundledModelsDir(start = __dirname): string | undefined {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'models', BUNDLED_MODEL, 'manifest.json')) || existsSync(join(dir, 'models', 'known-models.json'))) return join(dir, 'models');
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function defaultModelDir(): string {
  const modelsDir = bundledModelsDir();
  const models = modelsDir ? findModels(modelsDir) : [];
  if (!models.length) throw new InputError('No bundled model found (models/code-attention-mini). Pass --model DIR with an exported model folder.');
  return models[0].path;
}

/** Reads a source file as UTF-8 text, with one-line messages for unreadable, binary and non-UTF-8 files. */
export function readSourceFile(file: string, maxBytes: number): string {
  const path = resolve(file);
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new InputError(`${file} is a folder; give a source file.`);
    size = stat.size;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}.`);
  }
  if (size > maxBytes) throw new InputError(`${file} has ${(size / 1e6).toFixed(2)} MB; the limit is ${(maxBytes / 1e6).toFixed(2)} MB (--max-bytes). Analyse a smaller file.`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new InputError(`Cannot read ${file}: ${(error as Error).message}.`);
  }
  if (bytes.includes(0)) throw new InputError(`${file} looks binary (it contains NUL bytes); give a source file.`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${file} is not valid UTF-8 text; save it as UTF-8 first.`);
  }
}
