import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from './types';

/**
 * The per-window data an analysis keeps for every window: each layer's head-mean code-token
 * attention ([layers, 1, m, m]), which the default view and the per-layer scores read. Kept
 * compact — float16 by default (half the bytes of float32; every value within 2⁻¹¹ of itself
 * relative, see docs/benchmarks.md for what that does to each score) — and bounded: past
 * `memoryBytes` of compact data, the least recently read windows are written to a temporary file
 * and read back (synchronously, one window at a time) when they are read again, so the memory of
 * an analysis does not grow with the file. Reads decode into float32 through a small cache of
 * recently read windows.
 */
export type LayerMeanPrecision = 'float16' | 'float32';

export interface LayerMeanStoreOptions {
  /** `float16` (default) or `float32` (exact: what the alignment computed). */
  precision?: LayerMeanPrecision;
  /** Bytes of compact data kept in memory before windows are written to the temporary file (default 16 MiB). */
  memoryBytes?: number;
  /** Bytes of decoded float32 copies kept for reading (default 8 MiB; the last window read is always kept). */
  decodedBytes?: number;
  /** Where the temporary file is made (default the system's temporary folder). */
  spillDirectory?: string;
}

export const DEFAULT_LAYER_MEAN_MEMORY_BYTES = 16 * 2 ** 20;
export const DEFAULT_DECODED_LAYER_MEAN_BYTES = 8 * 2 ** 20;

export interface LayerMeanStoreStats {
  precision: LayerMeanPrecision;
  /** Windows alive (held by some result), and how many of them are in memory. */
  entries: number;
  residentEntries: number;
  /** Compact bytes in memory, and the limit. */
  memoryBytes: number;
  maxMemoryBytes: number;
  /** Compact bytes in the temporary file (alive windows), and the file's size. */
  spilledBytes: number;
  fileBytes: number;
  /** Windows written to the file, and reads back from it, since the store was made. */
  spills: number;
  spillReads: number;
  decodedBytes: number;
}

/** What the store knows about one window's data, also after the window itself was collected. */
interface Slot {
  id: number;
  bytes: number;
  resident: boolean;
  /** Where the data is in the temporary file, once written there. */
  fileOffset?: number;
}

/** One window's layer means in a {@link LayerMeanStore}; `tensor` decodes them (float32). */
export class LayerMeans {
  /** The compact data while in memory; undefined once written to the temporary file. */
  compact?: Uint16Array | Float32Array;

  constructor(
    readonly store: LayerMeanStore,
    readonly shape: readonly number[],
    readonly slot: Slot,
    compact: Uint16Array | Float32Array,
  ) {
    this.compact = compact;
  }

  /** [layers, 1, m, m], float32. Do not write into it: it may be the stored copy. */
  get tensor(): Tensor {
    return this.store.read(this);
  }
}

export class LayerMeanStore {
  readonly precision: LayerMeanPrecision;
  readonly maxMemoryBytes: number;
  private readonly maxDecodedBytes: number;
  private readonly spillDirectory: string;
  /** Windows whose compact data is in memory, least recently read first. */
  private readonly resident = new Map<number, WeakRef<LayerMeans>>();
  private readonly decoded = new Map<number, Tensor>();
  private readonly alive = new Map<number, Slot>();
  private readonly finalizer = new FinalizationRegistry<Slot>((slot) => this.release(slot));
  private nextId = 0;
  private inMemory = 0;
  private decodedHeld = 0;
  private counts = { spills: 0, spillReads: 0 };
  private file?: SpillFile;
  private disposed = false;

  constructor(options: LayerMeanStoreOptions = {}) {
    this.precision = options.precision ?? 'float16';
    if (this.precision !== 'float16' && this.precision !== 'float32')
      throw new Error(`The layer-mean precision must be float16 or float32, got ${String(options.precision)}.`);
    this.maxMemoryBytes = options.memoryBytes ?? DEFAULT_LAYER_MEAN_MEMORY_BYTES;
    if (!(this.maxMemoryBytes >= 0))
      throw new Error(`The layer-mean memory limit must be a number of bytes ≥ 0, got ${this.maxMemoryBytes}.`);
    this.maxDecodedBytes = options.decodedBytes ?? DEFAULT_DECODED_LAYER_MEAN_BYTES;
    this.spillDirectory = options.spillDirectory ?? tmpdir();
  }

  /** Stores `tensor` ([layers, 1, m, m], float32) compactly; the store keeps no reference to `tensor`. */
  put(tensor: Tensor): LayerMeans {
    const compact = this.precision === 'float16' ? toFloat16(tensor.data) : Float32Array.from(tensor.data);
    const slot: Slot = { id: this.nextId++, bytes: compact.byteLength, resident: true };
    const means = new LayerMeans(this, [...tensor.shape], slot, compact);
    this.alive.set(slot.id, slot);
    this.finalizer.register(means, slot);
    this.resident.set(slot.id, new WeakRef(means));
    this.inMemory += slot.bytes;
    this.spillOver();
    return means;
  }

  read(means: LayerMeans): Tensor {
    const { slot } = means;
    if (means.compact && this.resident.has(slot.id)) {
      // Most recently read last: the first to stay in memory.
      this.resident.delete(slot.id);
      this.resident.set(slot.id, new WeakRef(means));
    }
    if (means.compact instanceof Float32Array) return { data: means.compact, shape: [...means.shape] };
    const held = this.decoded.get(slot.id);
    if (held) {
      this.decoded.delete(slot.id);
      this.decoded.set(slot.id, held);
      return held;
    }
    const compact = means.compact ?? this.readBack(slot);
    const data = compact instanceof Float32Array ? compact : fromFloat16(compact);
    const tensor = { data, shape: [...means.shape] };
    this.decoded.set(slot.id, tensor);
    this.decodedHeld += data.byteLength;
    for (const [id, entry] of this.decoded) {
      if (this.decodedHeld <= this.maxDecodedBytes || this.decoded.size <= 1) break;
      this.decoded.delete(id);
      this.decodedHeld -= entry.data.byteLength;
    }
    return tensor;
  }

  stats(): LayerMeanStoreStats {
    let spilledBytes = 0;
    for (const slot of this.alive.values()) if (!slot.resident) spilledBytes += slot.bytes;
    return {
      precision: this.precision,
      entries: this.alive.size,
      residentEntries: this.resident.size,
      memoryBytes: this.inMemory,
      maxMemoryBytes: this.maxMemoryBytes,
      spilledBytes,
      fileBytes: this.file?.size ?? 0,
      ...this.counts,
      decodedBytes: this.decodedHeld,
    };
  }

  /**
   * No more windows are stored. The temporary file goes once no result holds a window written
   * there (or when the process exits); on POSIX systems its name is removed as soon as it is made.
   */
  dispose(): void {
    this.disposed = true;
    this.decoded.clear();
    this.decodedHeld = 0;
    this.closeFileIfUnused();
  }

  /** Writes the least recently read windows to the temporary file until the memory limit holds. */
  private spillOver(): void {
    for (const [id, ref] of this.resident) {
      if (this.inMemory <= this.maxMemoryBytes) break;
      this.resident.delete(id);
      const means = ref.deref();
      const slot = this.alive.get(id);
      if (!means?.compact || !slot) continue;
      this.file ??= new SpillFile(this.spillDirectory);
      const compact = means.compact;
      slot.fileOffset = this.file.write(new Uint8Array(compact.buffer, compact.byteOffset, compact.byteLength));
      slot.resident = false;
      means.compact = undefined;
      this.inMemory -= slot.bytes;
      this.counts.spills++;
    }
  }

  private readBack(slot: Slot): Uint16Array | Float32Array {
    if (!this.file || slot.fileOffset === undefined)
      throw new Error('Internal error: layer means neither in memory nor on disk.');
    const bytes = this.file.read(slot.fileOffset, slot.bytes);
    this.counts.spillReads++;
    return this.precision === 'float16'
      ? new Uint16Array(bytes.buffer, bytes.byteOffset, slot.bytes / 2)
      : new Float32Array(bytes.buffer, bytes.byteOffset, slot.bytes / 4);
  }

  /** A window's data no result holds any more: its memory or its place in the file is free. */
  private release(slot: Slot): void {
    this.alive.delete(slot.id);
    const decoded = this.decoded.get(slot.id);
    if (decoded) {
      this.decoded.delete(slot.id);
      this.decodedHeld -= decoded.data.byteLength;
    }
    if (slot.resident) {
      this.resident.delete(slot.id);
      this.inMemory -= slot.bytes;
    } else if (slot.fileOffset !== undefined) this.file?.free(slot.fileOffset, slot.bytes);
    this.closeFileIfUnused();
  }

  private closeFileIfUnused(): void {
    if (!this.disposed || !this.file) return;
    for (const slot of this.alive.values()) if (!slot.resident) return;
    this.file.close();
    this.file = undefined;
  }
}

/**
 * The temporary file: windows' bytes at offsets, freed places reused first-fit (neighbours merged).
 * On POSIX the name is removed right after opening, so the file cannot outlive the process even
 * when it is killed; elsewhere it is deleted on close and at exit.
 */
class SpillFile {
  private readonly fd: number;
  private readonly path?: string;
  private readonly folder?: string;
  size = 0;
  private readonly holes: Array<{ offset: number; length: number }> = [];
  private readonly onExit = () => this.close();

  constructor(directory: string) {
    const folder = mkdtempSync(join(directory, 'code-attention-'));
    const path = join(folder, 'layer-means.bin');
    this.fd = openSync(path, 'w+', 0o600);
    if (process.platform === 'win32') {
      this.path = path;
      this.folder = folder;
      process.once('exit', this.onExit);
    } else {
      unlinkSync(path);
      rmdirSync(folder);
    }
  }

  write(bytes: Uint8Array): number {
    const hole = this.holes.findIndex((candidate) => candidate.length >= bytes.byteLength);
    let offset: number;
    if (hole >= 0) {
      offset = this.holes[hole].offset;
      this.holes[hole].offset += bytes.byteLength;
      this.holes[hole].length -= bytes.byteLength;
      if (this.holes[hole].length === 0) this.holes.splice(hole, 1);
    } else {
      offset = this.size;
      this.size += bytes.byteLength;
    }
    for (let done = 0; done < bytes.byteLength;)
      done += writeSync(this.fd, bytes, done, bytes.byteLength - done, offset + done);
    return offset;
  }

  read(offset: number, length: number): Buffer {
    // A fresh buffer (not Node's shared pool), aligned for a Float32Array view.
    const bytes = Buffer.from(new ArrayBuffer(length));
    for (let done = 0; done < length;) {
      const got = readSync(this.fd, bytes, done, length - done, offset + done);
      if (got === 0) throw new Error('The layer-mean file ended early: it was changed outside this process.');
      done += got;
    }
    return bytes;
  }

  free(offset: number, length: number): void {
    let at = this.holes.findIndex((hole) => hole.offset > offset);
    if (at < 0) at = this.holes.length;
    this.holes.splice(at, 0, { offset, length });
    const next = this.holes[at + 1];
    if (next && offset + length === next.offset) {
      this.holes[at].length += next.length;
      this.holes.splice(at + 1, 1);
    }
    const previous = this.holes[at - 1];
    if (previous && previous.offset + previous.length === offset) {
      previous.length += this.holes[at].length;
      this.holes.splice(at, 1);
    }
  }

  close(): void {
    process.removeListener('exit', this.onExit);
    try {
      closeSync(this.fd);
    } catch {
      // Already closed (exit after dispose).
    }
    if (this.path) {
      try {
        unlinkSync(this.path);
        rmdirSync(this.folder!);
      } catch {
        // Already gone.
      }
    }
  }
}

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

/** float32 → IEEE 754 binary16 bits, rounded to nearest, ties to even (as a hardware conversion does). */
export function float16Bits(value: number): number {
  asFloat[0] = value;
  const x = bits[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 112;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (half + (rest > halfway || (rest === halfway && half & 1) ? 1 : 0));
  }
  const half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly moves to the next exponent (and to infinity past the largest).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

let float16Table: Float32Array | undefined;

/** The float32 value of every binary16 bit pattern (256 KiB, made on first use). */
function float16Values(): Float32Array {
  if (float16Table) return float16Table;
  const table = new Float32Array(65536);
  for (let pattern = 0; pattern < 65536; pattern++) {
    const sign = pattern & 0x8000 ? -1 : 1;
    const exponent = (pattern >>> 10) & 0x1f;
    const mantissa = pattern & 0x3ff;
    table[pattern] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 0x1f
          ? mantissa
            ? NaN
            : sign * Infinity
          : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return (float16Table = table);
}

export function toFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float16Bits(values[i]);
  return out;
}

export function fromFloat16(patterns: Uint16Array): Float32Array {
  const table = float16Values();
  const out = new Float32Array(patterns.length);
  for (let i = 0; i < patterns.length; i++) out[i] = table[patterns[i]];
  return out;
}
