/** Output files of a corpus run: checked before any work, written atomically. */
import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../../core/pipeline';

/** Throws an InputError unless `path` can be written (its folder exists and is writable; it is not a folder itself). */
export function checkWritable(path: string): void {
  const full = resolve(path);
  const folder = dirname(full);
  let folderStat;
  try {
    folderStat = statSync(folder);
  } catch {
    throw new InputError(
      `Cannot write ${path}: the folder ${folder} does not exist. Create it or choose another --out.`,
    );
  }
  if (!folderStat.isDirectory())
    throw new InputError(`Cannot write ${path}: ${folder} is not a folder. Choose another --out.`);
  try {
    const stat = statSync(full);
    if (!stat.isFile())
      throw new InputError(`Cannot write ${path}: it exists and is not a regular file. Choose another --out.`);
  } catch (error) {
    if (error instanceof InputError) throw error;
  }
  // access() answers for the permission bits; a probe file also catches read-only file systems.
  const probe = `${full}.probe-${process.pid}`;
  try {
    accessSync(folder, constants.W_OK);
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (error) {
    throw new InputError(
      `Cannot write ${path}: the folder ${folder} is not writable ` +
        `(${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Choose another --out.`,
    );
  }
}

/**
 * Writes `content` to a temporary file beside `path`, flushes it, and renames it over `path`: readers
 * see the old or the new file, never a part of one.
 */
export function writeAtomically(path: string, content: string | Uint8Array): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'w');
  try {
    if (typeof content === 'string') writeSync(fd, content);
    else writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

export function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
