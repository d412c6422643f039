import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Shape of an initializer of the ONNX graph: rows × columns of a 2-D table. */
export interface TableShape {
  name: string;
  rows: number;
  columns: number;
}

/** The embedding tables of an exported encoder, found by their (Hugging Face) initializer names. */
export interface EmbeddingTables {
  words?: TableShape;
  positions?: TableShape;
}

/**
 * Reads only the protobuf headers of `model.onnx` (ModelProto.graph → GraphProto.initializer →
 * TensorProto dims and name) and skips the weights themselves, so even a large model costs a few
 * thousand small reads. onnxruntime does not expose initializer shapes; these are what the model
 * folder's config must agree with (vocabulary and position table sizes).
 */
export function embeddingTables(file: string): EmbeddingTables {
  const reader = new ProtobufFile(file);
  try {
    const tables: EmbeddingTables = {};
    const graph = reader.findField(0, reader.size, 7);
    if (!graph) return tables;
    for (let at = graph.start; at < graph.end;) {
      const field = reader.field(at);
      if (field.number === 5 && field.wire === 2) {
        const tensor = reader.tensorHeader(field.start, field.end);
        if (tensor.dims.length === 2) {
          const shape = { name: tensor.name, rows: tensor.dims[0], columns: tensor.dims[1] };
          if (/word_embeddings\.weight$/.test(tensor.name)) tables.words = shape;
          else if (/position_embeddings\.weight$/.test(tensor.name)) tables.positions = shape;
        }
      }
      at = field.next;
    }
    return tables;
  } finally {
    reader.close();
  }
}

interface Field {
  number: number;
  wire: number;
  /** For length-delimited fields: where the payload starts and ends; for varints the value. */
  start: number;
  end: number;
  value: number;
  next: number;
}

class ProtobufFile {
  private readonly fd: number;
  readonly size: number;
  private readonly buffer = Buffer.alloc(64);

  constructor(file: string) {
    this.fd = openSync(file, 'r');
    this.size = fstatSync(this.fd).size;
  }

  close(): void {
    closeSync(this.fd);
  }

  private varint(at: number): { value: number; next: number } {
    const read = readSync(this.fd, this.buffer, 0, 10, at);
    let value = 0;
    let scale = 1;
    for (let i = 0; i < read; i++) {
      const byte = this.buffer[i];
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) return { value, next: at + i + 1 };
    }
    throw new Error(`model.onnx: malformed protobuf varint at byte ${at}.`);
  }

  field(at: number): Field {
    const tag = this.varint(at);
    const number = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (wire === 0) {
      const value = this.varint(tag.next);
      return { number, wire, start: tag.next, end: value.next, value: value.value, next: value.next };
    }
    if (wire === 1) return { number, wire, start: tag.next, end: tag.next + 8, value: 0, next: tag.next + 8 };
    if (wire === 5) return { number, wire, start: tag.next, end: tag.next + 4, value: 0, next: tag.next + 4 };
    if (wire === 2) {
      const length = this.varint(tag.next);
      const end = length.next + length.value;
      if (end > this.size) throw new Error(`model.onnx: a protobuf field at byte ${at} runs past the end of the file.`);
      return { number, wire, start: length.next, end, value: length.value, next: end };
    }
    throw new Error(`model.onnx: unsupported protobuf wire type ${wire} at byte ${at}.`);
  }

  findField(start: number, end: number, number: number): Field | undefined {
    for (let at = start; at < end;) {
      const field = this.field(at);
      if (field.number === number && field.wire === 2) return field;
      at = field.next;
    }
    return undefined;
  }

  /** TensorProto fields 1 (dims, packed or not) and 8 (name). */
  tensorHeader(start: number, end: number): { dims: number[]; name: string } {
    const dims: number[] = [];
    let name = '';
    for (let at = start; at < end;) {
      const field = this.field(at);
      if (field.number === 1 && field.wire === 0) dims.push(field.value);
      else if (field.number === 1 && field.wire === 2) {
        for (let inner = field.start; inner < field.end;) {
          const dim = this.varint(inner);
          dims.push(dim.value);
          inner = dim.next;
        }
      } else if (field.number === 8 && field.wire === 2 && field.value <= 1024) {
        const bytes = Buffer.alloc(field.value);
        readSync(this.fd, bytes, 0, field.value, field.start);
        name = bytes.toString('utf8');
      }
      at = field.next;
    }
    return { dims, name };
  }
}
