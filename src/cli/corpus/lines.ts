/** Reading a CodeSearchNet-style JSONL corpus: its lines, their code, and how a run selects them. */
import { createHash } from 'node:crypto';
import { FileRefusedError, readFileSafely } from '../../core/files';
import { InputError } from '../../core/pipeline';

/**
 * The largest JSONL corpus read at once (well below the longest string V8 holds, about 512 MiB); shard larger ones by
 * file.
 */
export const MAX_CORPUS_BYTES = 256 * 2 ** 20;

export interface CorpusLines {
  /** The non-blank lines, in file order. */
  lines: string[];
  /** SHA-256 of the file's bytes: runs, states and shards of the same input agree on it. */
  sha256: string;
}

export function readCorpusLines(file: string): CorpusLines {
  let bytes: Buffer;
  try {
    // Refuses FIFOs, devices and folders, and reads at most the cap whatever stat says.
    bytes = readFileSafely(file, {
      maxBytes: MAX_CORPUS_BYTES,
      label: file,
      limitHint: 'split the corpus into smaller files',
    });
  } catch (error) {
    if (error instanceof FileRefusedError) throw new InputError(error.message);
    throw new InputError(`Cannot read ${file}: ${(error as Error).message}.`);
  }
  // A UTF-8 byte order mark belongs to the file, not to the first line's JSON.
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  return {
    lines: text.split(/\r?\n/).filter((line) => line.trim()),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** The code of one JSONL line (`code`, else `original_string`), or why it has none. */
export function codeOfLine(line: string): { code: string } | { skipped: string } {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return { skipped: 'invalid JSON' };
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return { skipped: `not a JSON object (a line is {"code": "…"} or {"original_string": "…"})` };
  }
  const code = (record as { code?: unknown }).code ?? (record as { original_string?: unknown }).original_string;
  return typeof code === 'string' ? { code } : { skipped: 'no code or original_string field' };
}

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const match = /^([1-9]\d*)\/([1-9]\d*)$/.exec(text);
  const shard = match ? { index: Number(match[1]), count: Number(match[2]) } : undefined;
  if (!shard || shard.index > shard.count)
    throw new InputError(`--shard must be K/N with 1 ≤ K ≤ N, e.g. 2/8 (got "${text}").`);
  return shard;
}

/** Positions of the lines a shard scores: every N-th line, starting at the K-th (all lines without a shard). */
export function shardPositions(total: number, shard?: Shard): number[] {
  const positions: number[] = [];
  for (let position = shard ? shard.index - 1 : 0; position < total; position += shard ? shard.count : 1)
    positions.push(position);
  return positions;
}
