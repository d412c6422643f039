import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';

/** Why a file was refused: missing, not a regular file (FIFO, device, socket, folder), over the cap, or unreadable. */
export type FileRefusal = 'missing' | 'notRegular' | 'tooLarge' | 'unreadable';

/** A file that cannot be read as data, with a one-line message naming the file and what is wrong. */
export class FileRefusedError extends Error {
  constructor(
    message: string,
    readonly reason: FileRefusal,
  ) {
    super(message);
    this.name = 'FileRefusedError';
  }
}

export interface SafeReadOptions {
  /** Most bytes read; a larger file is refused (its size is counted while reading, not taken from `stat`). */
  maxBytes: number;
  /** How the file is named in messages (default: the path as given). */
  label?: string;
  /** What raises the limit, appended to the too-large message, e.g. "--max-bytes". */
  limitHint?: string;
}

// Opening a FIFO for reading waits for a writer; O_NONBLOCK returns at once, and fstat then tells
// what the path really is (after symlinks) without a race between a stat and the open.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** "x.py" or "x.py (a link to /dev/zero)": where a symbolic link leads, when it does. */
function described(path: string, label: string): string {
  try {
    return lstatSync(path).isSymbolicLink() ? `${label} (a link to ${realpathSync(path)})` : label;
  } catch {
    return label;
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

/** Opens `path` for reading and checks it is a regular file; the caller closes the descriptor. */
function openRegular(path: string, label: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileRefusedError(`Cannot read ${label}: no such file.`, 'missing');
    if (code === 'EISDIR') throw new FileRefusedError(`${label} is a folder, not a file.`, 'notRegular');
    if (code === 'ELOOP')
      throw new FileRefusedError(`Cannot read ${label}: too many levels of symbolic links.`, 'unreadable');
    throw new FileRefusedError(`Cannot read ${label}: ${(error as Error).message}.`, 'unreadable');
  }
  let stats: Stats;
  try {
    stats = fstatSync(fd);
  } catch (error) {
    closeSync(fd);
    throw new FileRefusedError(`Cannot read ${label}: ${(error as Error).message}.`, 'unreadable');
  }
  if (!stats.isFile()) {
    closeSync(fd);
    throw new FileRefusedError(
      `${described(path, label)} is ${kindOf(stats)}, not a regular file; give a regular file.`,
      'notRegular',
    );
  }
  return { fd, size: stats.size };
}

/** Refuses anything but a regular file (after symbolic links) without reading it: before a library opens it by path. */
export function checkRegularFile(path: string, label = path): void {
  closeSync(openRegular(path, label).fd);
}

/**
 * Reads a regular file (symbolic links followed) of at most `maxBytes` bytes. FIFOs, devices,
 * sockets and folders are refused before any read, and the byte cap holds whatever `stat` says
 * (a file that grows, or a /proc file that claims size 0). Throws {@link FileRefusedError}.
 */
export function readFileSafely(path: string, options: SafeReadOptions): Buffer {
  const label = options.label ?? path;
  const maxBytes = options.maxBytes;
  if (!(maxBytes >= 0) || !Number.isSafeInteger(maxBytes))
    throw new RangeError(`maxBytes must be a whole number of bytes, got ${maxBytes}.`);
  const tooLarge = (seen: string) =>
    new FileRefusedError(
      `${label} has ${seen}; the limit is ${megabytes(maxBytes)}${options.limitHint ? ` (${options.limitHint})` : ''}.`,
      'tooLarge',
    );
  const { fd, size } = openRegular(path, label);
  try {
    if (size > maxBytes) throw tooLarge(megabytes(size));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // One byte beyond the cap tells a file of exactly maxBytes from a larger one.
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      let read: number;
      try {
        read = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        throw new FileRefusedError(`Cannot read ${label}: ${(error as Error).message}.`, 'unreadable');
      }
      if (read === 0) break;
      total += read;
      if (total > maxBytes) throw tooLarge(`more than ${megabytes(maxBytes)}`);
      chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** {@link readFileSafely} as UTF-8 text (invalid bytes become U+FFFD; the source reader checks them itself). */
export function readTextSafely(path: string, options: SafeReadOptions): string {
  return readFileSafely(path, options).toString('utf8');
}
