import { rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { DATA_TYPE, type AttributeValue, type GraphBuilder, type InitializerSpec, type ValueSpec } from './graph';
import { type Chunk, chunksLength, ProtoMessage, writeChunks } from './protobuf';

/**
 * Encodes a GraphBuilder as an ONNX ModelProto (IR version 8, opset 17) and writes it. Field
 * numbers are those of onnx.proto. Protobuf messages cannot exceed 2 GiB, so when the weights are
 * larger (or when asked) every initializer above 1 KiB goes to `<model>.data` next to the model
 * ("external data": location, offset and length in the TensorProto, offsets 4 KiB-aligned so the
 * runtime can map them), and model.onnx keeps the graph and the small constants.
 */

export const IR_VERSION = 8;
export const OPSET = 17;
/** Above this many bytes of weights the model is written with external data. */
export const EXTERNAL_DATA_THRESHOLD = 1.8 * 2 ** 30;
const EXTERNAL_MIN_BYTES = 1024;
const EXTERNAL_ALIGNMENT = 4096;

export type ExternalDataChoice = 'auto' | 'always' | 'never';

export interface WrittenModel {
  modelBytes: number;
  /** The external data file's name and size, when one was written. */
  externalData?: { file: string; bytes: number };
}

export interface WriteOptions {
  externalData?: ExternalDataChoice;
  producer?: string;
  onBytes?: (written: number, total: number) => void;
  shouldStop?: () => void;
}

/** Writes `<file>.partial` (and its data file) and renames them at the end, so a failure leaves no half model. */
export async function writeOnnxModel(
  graph: GraphBuilder,
  file: string,
  options: WriteOptions = {},
): Promise<WrittenModel> {
  const weightBytes = graph.initializers.reduce((total, init) => total + init.data.byteLength, 0);
  const choice = options.externalData ?? 'auto';
  const external = choice === 'always' || (choice === 'auto' && weightBytes > EXTERNAL_DATA_THRESHOLD);
  const dataName = `${basename(file)}.data`;
  const dataChunks: Chunk[] = [];
  let dataLength = 0;
  const placeExternally = (init: InitializerSpec): { offset: number; length: number } | undefined => {
    if (!external || init.data.byteLength < EXTERNAL_MIN_BYTES) return undefined;
    const padding = (EXTERNAL_ALIGNMENT - (dataLength % EXTERNAL_ALIGNMENT)) % EXTERNAL_ALIGNMENT;
    if (padding) dataChunks.push(new Uint8Array(padding));
    const offset = dataLength + padding;
    dataChunks.push(init.data);
    dataLength = offset + init.data.byteLength;
    return { offset, length: init.data.byteLength };
  };
  const model = encodeModel(graph, dataName, placeExternally, options.producer ?? 'code-attention-lens convert');
  const modelChunks = model.finish();
  const total = chunksLength(modelChunks) + dataLength;
  const partial = `${file}.partial`;
  const dataPartial = `${file}.data.partial`;
  try {
    let modelWritten = 0;
    const modelBytes = await writeChunks(
      partial,
      modelChunks,
      (written) => {
        modelWritten = written;
        options.onBytes?.(written, total);
      },
      options.shouldStop,
    );
    if (external) {
      await writeChunks(
        dataPartial,
        dataChunks,
        (written) => options.onBytes?.(modelWritten + written, total),
        options.shouldStop,
      );
      await rename(dataPartial, `${file}.data`);
    } else {
      await rm(`${file}.data`, { force: true });
    }
    await rename(partial, file);
    return { modelBytes, externalData: external ? { file: dataName, bytes: dataLength } : undefined };
  } catch (error) {
    await rm(partial, { force: true });
    await rm(dataPartial, { force: true });
    throw error;
  }
}

function encodeModel(
  graph: GraphBuilder,
  dataName: string,
  placeExternally: (init: InitializerSpec) => { offset: number; length: number } | undefined,
  producer: string,
): ProtoMessage {
  const body = new ProtoMessage();
  for (const node of graph.nodes) {
    const message = new ProtoMessage();
    for (const input of node.inputs) message.string(1, input);
    for (const output of node.outputs) message.string(2, output);
    message.string(3, node.name).string(4, node.opType);
    for (const [name, value] of Object.entries(node.attributes)) message.message(5, attribute(name, value));
    body.message(1, message);
  }
  body.string(2, graph.name);
  for (const init of graph.initializers) body.message(5, tensor(init, dataName, placeExternally(init)));
  for (const input of graph.inputs) body.message(11, valueInfo(input));
  for (const output of graph.outputs) body.message(12, valueInfo(output));
  const opset = new ProtoMessage().string(1, '').varint(2, OPSET);
  return new ProtoMessage().varint(1, IR_VERSION).string(2, producer).message(7, body).message(8, opset);
}

function attribute(name: string, value: AttributeValue): ProtoMessage {
  const message = new ProtoMessage().string(1, name);
  // AttributeProto.type: FLOAT 1, INT 2, STRING 3, INTS 7.
  if (value.kind === 'float') return message.float(2, value.value).varint(20, 1);
  if (value.kind === 'int') return message.varint(3, value.value).varint(20, 2);
  if (value.kind === 'string') return message.string(4, value.value).varint(20, 3);
  for (const item of value.value) message.varint(8, item);
  return message.varint(20, 7);
}

function tensor(
  init: InitializerSpec,
  dataName: string,
  place: { offset: number; length: number } | undefined,
): ProtoMessage {
  const message = new ProtoMessage().packedInt64s(1, init.dims).varint(2, DATA_TYPE[init.type]).string(8, init.name);
  if (!place) return message.bytes(9, init.data);
  for (const [key, value] of [
    ['location', dataName],
    ['offset', String(place.offset)],
    ['length', String(place.length)],
  ])
    message.message(13, new ProtoMessage().string(1, key).string(2, value));
  return message.varint(14, 1);
}

function valueInfo(value: ValueSpec): ProtoMessage {
  const shape = new ProtoMessage();
  for (const dim of value.dims) {
    const dimension = new ProtoMessage();
    if (typeof dim === 'number') dimension.varint(1, dim);
    else dimension.string(2, dim);
    shape.message(1, dimension);
  }
  const tensorType = new ProtoMessage().varint(1, DATA_TYPE[value.type]).message(2, shape);
  return new ProtoMessage().string(1, value.name).message(2, new ProtoMessage().message(1, tensorType));
}
