import { open } from 'node:fs/promises';

/**
 * A small protobuf encoder for writing ONNX files: enough of the wire format for ModelProto
 * (varints, packed int64s, fixed32 floats, strings, nested messages). A message is a list of
 * chunks whose lengths are known before their bytes exist, so a tensor's data can be streamed
 * from a weights file while the file is written, and a multi-gigabyte model never sits in memory.
 */

/** Where streamed bytes go. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** Bytes whose length is known before they are produced (a tensor read from a weights file). */
export interface DeferredBytes {
  readonly byteLength: number;
  writeTo(sink: ByteSink): Promise<void>;
}

export type Chunk = Uint8Array | DeferredBytes;

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LENGTH = 2;

export class ProtoMessage {
  private readonly chunks: Chunk[] = [];
  private scratch: number[] = [];
  private flushedLength = 0;

  get byteLength(): number {
    return this.flushedLength + this.scratch.length;
  }

  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.scratch.push(...bytes);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** Repeated int64 in packed form. */
  packedInt64s(field: number, values: readonly number[]): this {
    const inner = new ProtoMessage();
    for (const value of values) inner.rawVarint(value);
    return this.message(field, inner);
  }

  bytes(field: number, value: Chunk): this {
    this.tag(field, WIRE_LENGTH);
    this.rawVarint(value.byteLength);
    this.append(value);
    return this;
  }

  message(field: number, value: ProtoMessage): this {
    this.tag(field, WIRE_LENGTH);
    this.rawVarint(value.byteLength);
    for (const chunk of value.finish()) this.append(chunk);
    return this;
  }

  /** The encoded message as chunks (small runs of bytes merged). */
  finish(): Chunk[] {
    this.flush();
    return this.chunks;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  private rawVarint(value: number | bigint): void {
    // Negative int64 values take ten bytes (two's complement), as protobuf requires.
    let rest = typeof value === 'bigint' || value < 0 ? BigInt.asUintN(64, BigInt(value)) : value;
    if (typeof rest === 'bigint') {
      while (rest >= 0x80n) {
        this.scratch.push(Number(rest & 0x7fn) | 0x80);
        rest >>= 7n;
      }
      this.scratch.push(Number(rest));
      return;
    }
    if (!Number.isSafeInteger(rest)) throw new Error(`protobuf varint ${rest} is not a safe integer`);
    while (rest >= 0x80) {
      this.scratch.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.scratch.push(rest);
  }

  private append(chunk: Chunk): void {
    if (chunk instanceof Uint8Array && chunk.byteLength <= 4096) {
      for (const byte of chunk) this.scratch.push(byte);
      return;
    }
    this.flush();
    this.chunks.push(chunk);
    this.flushedLength += chunk.byteLength;
  }

  private flush(): void {
    if (!this.scratch.length) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.flushedLength += this.scratch.length;
    this.scratch = [];
  }
}

export function chunksLength(chunks: readonly Chunk[]): number {
  return chunks.reduce((total, chunk) => total + chunk.byteLength, 0);
}

/**
 * Writes chunks to a file, small ones gathered into blocks of about 1 MiB; checks that each
 * deferred chunk wrote exactly the bytes it announced (a mismatch would corrupt every length
 * prefix around it). `onBytes` reports progress; `shouldStop` is asked between chunks.
 */
export async function writeChunks(
  file: string,
  chunks: readonly Chunk[],
  onBytes?: (written: number) => void,
  shouldStop?: () => void,
): Promise<number> {
  const handle = await open(file, 'w');
  let written = 0;
  const pending: Uint8Array[] = [];
  let pendingLength = 0;
  const flush = async () => {
    if (!pendingLength) return;
    await handle.write(Buffer.concat(pending, pendingLength));
    written += pendingLength;
    pending.length = 0;
    pendingLength = 0;
    onBytes?.(written);
  };
  const sink: ByteSink = {
    write: async (bytes) => {
      shouldStop?.();
      await handle.write(bytes);
      written += bytes.byteLength;
      onBytes?.(written);
    },
  };
  try {
    for (const chunk of chunks) {
      shouldStop?.();
      if (chunk instanceof Uint8Array) {
        pending.push(chunk);
        pendingLength += chunk.byteLength;
        if (pendingLength >= 2 ** 20) await flush();
        continue;
      }
      await flush();
      const before = written;
      await chunk.writeTo(sink);
      if (written - before !== chunk.byteLength)
        throw new Error(`a tensor wrote ${written - before} bytes but announced ${chunk.byteLength}`);
    }
    await flush();
  } finally {
    await handle.close();
  }
  return written;
}
