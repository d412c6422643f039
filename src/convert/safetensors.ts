import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ConvertError } from './errors';
import type { ByteSink, DeferredBytes } from './protobuf';

/**
 * Reads Hugging Face safetensors weights — one `model.safetensors` or shards listed in
 * `model.safetensors.index.json` — by offsets: only the JSON headers are read up front, and each
 * tensor's bytes are read in blocks when it is written out, so a multi-gigabyte checkpoint is never
 * held in memory. Format: 8-byte little-endian header length, a JSON header mapping each tensor
 * name to {dtype, shape, data_offsets} (relative to the end of the header), then the raw data.
 */

export type StoredDtype = 'F32' | 'F16' | 'BF16';
/** What the ONNX file stores: float32, or float16 where the checkpoint holds float16 already. */
export type WeightPrecision = 'float32' | 'float16';

const BYTES_PER_ELEMENT: Record<StoredDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** The safetensors format caps its header at 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;
/** Source bytes converted per read while streaming a tensor. */
const BLOCK_BYTES = 8 * 2 ** 20;

export interface StoredTensor {
  name: string;
  dtype: StoredDtype;
  shape: number[];
  file: string;
  /** Absolute byte offset of the data in `file`. */
  offset: number;
  byteLength: number;
}

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

export class WeightStore {
  private readonly tensors = new Map<string, StoredTensor>();
  private readonly descriptors = new Map<string, number>();

  private constructor(readonly folder: string) {}

  /** Opens the folder's safetensors weights (sharded when the index is present). */
  static open(folder: string): WeightStore {
    const store = new WeightStore(resolve(folder));
    const index = join(store.folder, INDEX_FILE);
    try {
      if (existsSync(index)) {
        for (const file of shardFiles(index)) store.readHeader(join(store.folder, file));
      } else if (existsSync(join(store.folder, SINGLE_FILE))) {
        store.readHeader(join(store.folder, SINGLE_FILE));
      } else {
        throw new ConvertError(missingWeightsMessage(store.folder));
      }
    } catch (error) {
      store.close();
      throw error;
    }
    return store;
  }

  get names(): string[] {
    return [...this.tensors.keys()];
  }

  get(name: string): StoredTensor | undefined {
    return this.tensors.get(name);
  }

  /** The tensor, or a ConvertError naming what is missing. */
  require(name: string): StoredTensor {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new ConvertError(`The weights in ${this.folder} have no tensor "${name}".`);
    return tensor;
  }

  /** A whole tensor as float32 (for small tensors such as biases and norms). */
  readFloat32(tensor: StoredTensor): Float32Array {
    const raw = this.readBytes(tensor.file, tensor.offset, tensor.byteLength);
    return toFloat32(raw, tensor.dtype);
  }

  /** The tensor's bytes in the precision the ONNX file stores, streamed block by block. */
  stream(tensor: StoredTensor, precision: WeightPrecision): DeferredBytes {
    const keepHalf = precision === 'float16' && tensor.dtype === 'F16';
    const elements = tensor.byteLength / BYTES_PER_ELEMENT[tensor.dtype];
    const byteLength = keepHalf ? tensor.byteLength : elements * 4;
    return {
      byteLength,
      writeTo: async (sink: ByteSink) => {
        const block = BLOCK_BYTES - (BLOCK_BYTES % BYTES_PER_ELEMENT[tensor.dtype]);
        for (let at = 0; at < tensor.byteLength; at += block) {
          const length = Math.min(block, tensor.byteLength - at);
          const raw = this.readBytes(tensor.file, tensor.offset + at, length);
          await sink.write(keepHalf ? raw : new Uint8Array(toFloat32(raw, tensor.dtype).buffer));
        }
      },
    };
  }

  /** The element type a tensor has in the ONNX file. */
  storedAs(tensor: StoredTensor, precision: WeightPrecision): WeightPrecision {
    return precision === 'float16' && tensor.dtype === 'F16' ? 'float16' : 'float32';
  }

  close(): void {
    for (const descriptor of this.descriptors.values()) closeSync(descriptor);
    this.descriptors.clear();
  }

  private descriptor(file: string): number {
    let descriptor = this.descriptors.get(file);
    if (descriptor === undefined) {
      descriptor = openSync(file, 'r');
      this.descriptors.set(file, descriptor);
    }
    return descriptor;
  }

  private readBytes(file: string, offset: number, length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const read = readSync(this.descriptor(file), bytes, done, length - done, offset + done);
      if (read === 0) throw new ConvertError(`${file} ends before byte ${offset + length}: the file is truncated.`);
      done += read;
    }
    return bytes;
  }

  private readHeader(file: string): void {
    if (!existsSync(file)) throw new ConvertError(`${file} is listed in ${INDEX_FILE} but missing.`);
    const descriptor = this.descriptor(file);
    const size = fstatSync(descriptor).size;
    const where = basename(file);
    if (size < 8) throw new ConvertError(`${where} is ${size} bytes long: not a safetensors file.`);
    const headerLength = Number(new DataView(this.readBytes(file, 0, 8).buffer).getBigUint64(0, true));
    if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size)
      throw new ConvertError(
        `${where} announces a ${headerLength}-byte header in a ${size}-byte file: not a safetensors file.`,
      );
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(this.readBytes(file, 8, headerLength))) as Record<string, unknown>;
    } catch (error) {
      throw new ConvertError(`${where} has a header that is not JSON (${(error as Error).message}).`);
    }
    const dataStart = 8 + headerLength;
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      this.tensors.set(name, parseEntry(where, name, entry, file, dataStart, size));
    }
  }
}

function parseEntry(where: string, name: string, entry: unknown, file: string, dataStart: number, size: number) {
  const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16')
    throw new ConvertError(`${where}: tensor "${name}" has dtype ${String(dtype)}; F32, F16 and BF16 are supported.`);
  const validShape = Array.isArray(shape) && shape.every((dim) => Number.isSafeInteger(dim) && (dim as number) >= 0);
  const validOffsets =
    Array.isArray(offsets) && offsets.length === 2 && offsets.every((value) => Number.isSafeInteger(value));
  if (!validShape || !validOffsets) throw new ConvertError(`${where}: tensor "${name}" has a malformed header entry.`);
  const [begin, end] = offsets as number[];
  const dims = shape as number[];
  const expected = dims.reduce((product, dim) => product * dim, 1) * BYTES_PER_ELEMENT[dtype];
  if (end - begin !== expected || begin < 0 || dataStart + end > size)
    throw new ConvertError(
      `${where}: tensor "${name}" [${dims.join(', ')}] ${dtype} needs ${expected} bytes ` +
        `but its offsets ${begin}–${end} ${dataStart + end > size ? 'run past the end of the file' : 'disagree'}.`,
    );
  return { name, dtype, shape: dims, file, offset: dataStart + begin, byteLength: expected } satisfies StoredTensor;
}

function shardFiles(index: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(readWhole(index)));
  } catch (error) {
    throw new ConvertError(`${index} is not valid JSON (${(error as Error).message}).`);
  }
  const map = (parsed as { weight_map?: unknown })?.weight_map;
  if (typeof map !== 'object' || map === null || Object.values(map).some((file) => typeof file !== 'string'))
    throw new ConvertError(`${index} has no "weight_map" of tensor names to shard files.`);
  const files = [...new Set(Object.values(map as Record<string, string>))];
  for (const file of files) {
    if (basename(file) !== file) throw new ConvertError(`${index} names a shard outside its folder: "${file}".`);
  }
  return files;
}

function readWhole(file: string): Uint8Array {
  const descriptor = openSync(file, 'r');
  try {
    const size = fstatSync(descriptor).size;
    if (size > 64 * 2 ** 20) throw new ConvertError(`${file} is ${size} bytes; an index is at most 64 MiB.`);
    const bytes = new Uint8Array(size);
    readSync(descriptor, bytes, 0, size, 0);
    return bytes;
  } finally {
    closeSync(descriptor);
  }
}

/** The one-line conversion a folder with only PyTorch weights needs, or a plain "no weights" message. */
export function missingWeightsMessage(folder: string): string {
  if (existsSync(join(folder, 'pytorch_model.bin'))) {
    const script =
      "import torch; from safetensors.torch import save_file; s = torch.load('pytorch_model.bin', " +
      "map_location='cpu'); save_file({k: v.clone().contiguous() for k, v in s.items()}, 'model.safetensors')";
    return (
      `${folder} has only pytorch_model.bin; the converter reads safetensors (it never runs Python pickles). ` +
      `Convert it once in that folder with: python3 -c "${script}"`
    );
  }
  return `${folder} has no ${SINGLE_FILE} and no ${INDEX_FILE}: copy the model's safetensors weights there.`;
}

/** IEEE half-precision bits → float32 (subnormals, infinities and NaN included). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function toFloat32(raw: Uint8Array, dtype: StoredDtype): Float32Array {
  if (dtype === 'F32') return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const halves = new Uint16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const out = new Float32Array(halves.length);
  if (dtype === 'BF16') {
    // bfloat16 is the upper half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
    return out;
  }
  for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]);
  return out;
}
