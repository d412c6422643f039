import type { DeferredBytes } from './protobuf';

/**
 * An ONNX graph under construction: inputs, outputs, nodes and initializers, with unique value
 * names. Architecture builders (one module per family) add nodes through the shared helpers in
 * `ops.ts`; `onnxFile.ts` encodes the result. Weights stay deferred (streamed from the checkpoint
 * when the file is written).
 */

export type ElementType = 'float32' | 'float16' | 'int64' | 'bool';

/** ONNX TensorProto.DataType numbers. */
export const DATA_TYPE: Record<ElementType, number> = { float32: 1, float16: 10, int64: 7, bool: 9 };

export type AttributeValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'string'; value: string };

export const int = (value: number): AttributeValue => ({ kind: 'int', value });
export const float = (value: number): AttributeValue => ({ kind: 'float', value });
export const ints = (value: number[]): AttributeValue => ({ kind: 'ints', value });

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: Record<string, AttributeValue>;
}

export interface InitializerSpec {
  name: string;
  type: ElementType;
  dims: number[];
  data: Uint8Array | DeferredBytes;
}

/** A graph input or output: a fixed size or a named dynamic dimension per axis. */
export interface ValueSpec {
  name: string;
  type: ElementType;
  dims: Array<number | string>;
}

export class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: InitializerSpec[] = [];
  readonly inputs: ValueSpec[] = [];
  readonly outputs: ValueSpec[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();

  constructor(readonly name: string) {}

  input(name: string, type: ElementType, dims: Array<number | string>): string {
    this.claim(name);
    this.inputs.push({ name, type, dims });
    return name;
  }

  /** Makes `value` a graph output called `name` (through Identity when the names differ). */
  output(value: string, name: string, type: ElementType, dims: Array<number | string>): void {
    const produced = value === name ? value : this.op('Identity', [value], {}, name);
    this.outputs.push({ name: produced, type, dims });
  }

  /** A weight initializer, kept under its checkpoint name (the loader finds embedding tables by name). */
  initializer(name: string, type: ElementType, dims: number[], data: Uint8Array | DeferredBytes): string {
    this.claim(name);
    this.initializers.push({ name, type, dims, data });
    return name;
  }

  /** An int64 constant (shapes, axes, indices); equal constants share one initializer. */
  int64s(values: readonly number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      const data = new Uint8Array(new BigInt64Array(values.map((value) => BigInt(value))).buffer);
      name = this.fresh('const');
      this.initializers.push({ name, type: 'int64', dims, data });
      this.constants.set(key, name);
    }
    return name;
  }

  /** A float32 scalar constant; equal constants share one initializer. */
  scalar(value: number): string {
    const key = `f32:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('const');
      this.initializers.push({ name, type: 'float32', dims: [], data: new Uint8Array(Float32Array.of(value).buffer) });
      this.constants.set(key, name);
    }
    return name;
  }

  /** Adds one node and returns its (single) output's name. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputName?: string): string {
    const output = outputName ?? this.fresh(opType.toLowerCase());
    if (outputName) this.claim(outputName);
    this.nodes.push({ opType, inputs, outputs: [output], name: `${opType}_${this.nodes.length}`, attributes });
    return output;
  }

  /** A name no other value has, starting with `stem`. */
  fresh(stem: string): string {
    let name = `${stem}_${this.used.size}`;
    while (this.used.has(name)) name = `${name}_`;
    this.used.add(name);
    return name;
  }

  private claim(name: string): void {
    if (this.used.has(name)) throw new Error(`graph value "${name}" is defined twice`);
    this.used.add(name);
  }
}
