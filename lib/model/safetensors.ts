/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length, a JSON header mapping tensor names to
 * `{dtype, shape, data_offsets}` plus an optional `__metadata__` of string values, then the raw
 * little-endian tensor bytes. The reader checks every field before trusting a byte and fails
 * with a {@link SafetensorsError} naming the file and the problem; writes are atomic
 * (temporary file, fsync, rename), so an existing file is never left half-written.
 * @module
 */
import { open, readFile } from 'node:fs/promises';
import { writeAtomically } from '../data/atomic_file.js';
import { endianness } from 'node:os';
import { TokenfilterError, type ErrorCode } from '../errors.js';

/** Element types this module reads and writes. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U32' | 'I16' | 'U16' | 'I8' | 'U8' | 'BOOL';

/** The typed array a dtype is read into (F16 and BF16 as raw Uint16Array bits). */
export type TensorData =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/** One tensor: element type, shape and row-major data. */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
}

/** A parsed file: tensors by name (in file order) and the metadata strings. */
export interface SafetensorsContents {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/**
 * A malformed, truncated or hostile safetensors file, or an invalid tensor to write. Code
 * E_FILE_FORMAT unless another is given.
 */
export class SafetensorsError extends TokenfilterError {
  constructor(message: string, options: { code?: ErrorCode; cause?: unknown; path?: string } = {}) {
    super(options.code ?? 'E_FILE_FORMAT', message, options);
    this.name = 'SafetensorsError';
  }
}

type ArrayCtor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): TensorData; BYTES_PER_ELEMENT: number };

// A Map, not an object: a dtype read from a file ('constructor', '__proto__', 'toString') must
// never match something inherited from Object.prototype.
const DTYPES = new Map<string, ArrayCtor>([
  ['F64', Float64Array],
  ['F32', Float32Array],
  ['F16', Uint16Array],
  ['BF16', Uint16Array],
  ['I64', BigInt64Array],
  ['I32', Int32Array],
  ['U32', Uint32Array],
  ['I16', Int16Array],
  ['U16', Uint16Array],
  ['I8', Int8Array],
  ['U8', Uint8Array],
  ['BOOL', Uint8Array],
] as unknown as [string, ArrayCtor][]);

/** The array type of a dtype named in a file or by a caller, or undefined for an unknown one. */
function arrayTypeOf(dtype: unknown): ArrayCtor | undefined {
  return typeof dtype === 'string' ? DTYPES.get(dtype) : undefined;
}

/** Largest header accepted (the format's own reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new SafetensorsError('safetensors I/O needs a little-endian host');
}

function fail(source: string, message: string): never {
  throw new SafetensorsError(`${source}: ${message}`, { path: source });
}

/**
 * Parses safetensors bytes. `source` names the input in error messages.
 * @throws SafetensorsError for a truncated file, a header length out of bounds, bad JSON, an
 *   unknown dtype, a shape that disagrees with the byte range, offsets out of range, overlapping
 *   or leaving holes, or non-string metadata.
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsContents {
  assertLittleEndian();
  if (bytes.byteLength < 8) fail(source, `file is ${bytes.byteLength} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(source, `header length ${headerLength} exceeds ${MAX_HEADER_BYTES}`);
  const n = Number(headerLength);
  if (8 + n > bytes.byteLength)
    fail(source, `header length ${n} runs past the end of the file (${bytes.byteLength} bytes): truncated?`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (error) {
    fail(source, `header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(source, 'header must be a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.byteLength - dataStart;
  // Null prototype: a key such as '__proto__' or 'constructor' is stored as given, never inherited.
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(source, '__metadata__ must be an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `__metadata__.${k} must be a string (the format allows strings only)`);
        metadata[k] = v;
      }
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(source, `tensor '${name}' must be an object`);
    const { dtype, shape, data_offsets: offsets, ...rest } = value as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) fail(source, `tensor '${name}' has unknown field '${extra[0]}'`);
    const Ctor = arrayTypeOf(dtype);
    if (Ctor === undefined) fail(source, `tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(source, `tensor '${name}' shape must be an array of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      fail(source, `tensor '${name}' data_offsets must be two non-negative integers`);
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength)
      fail(source, `tensor '${name}' data_offsets [${begin}, ${end}] out of range of the ${dataLength}-byte data section`);
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = elements * Ctor.BYTES_PER_ELEMENT;
    if (end - begin !== expected)
      fail(source, `tensor '${name}' shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${expected} bytes, data_offsets give ${end - begin}`);
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of sorted) {
    if (e.begin < covered) fail(source, `tensor '${e.name}' data_offsets [${e.begin}, ${e.end}] overlap another tensor`);
    if (e.begin > covered) fail(source, `data bytes [${covered}, ${e.begin}) belong to no tensor`);
    covered = e.end;
  }
  if (covered !== dataLength) fail(source, `data bytes [${covered}, ${dataLength}) belong to no tensor`);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    const Ctor = DTYPES.get(e.dtype)!;
    const at = bytes.byteOffset + dataStart + e.begin;
    const count = (e.end - e.begin) / Ctor.BYTES_PER_ELEMENT;
    // Typed arrays need aligned offsets: view in place when aligned, copy otherwise.
    const data =
      at % Ctor.BYTES_PER_ELEMENT === 0
        ? new Ctor(bytes.buffer, at, count)
        : new Ctor(bytes.slice(dataStart + e.begin, dataStart + e.end).buffer, 0, count);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** Reads and parses a safetensors file (see {@link parseSafetensors} for what throws). */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  const bytes = await readFile(path);
  return parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/**
 * The `__metadata__` strings of a safetensors file, reading its header only (not the tensors).
 * @throws SafetensorsError for a header that is truncated, too long, not JSON or with non-string
 *   metadata; file-system errors as thrown by node:fs.
 */
export async function readSafetensorsMetadata(path: string): Promise<Record<string, string>> {
  const handle = await open(path, 'r');
  try {
    const prefix = Buffer.alloc(8);
    if ((await handle.read(prefix, 0, 8, 0)).bytesRead !== 8) fail(path, 'file is too short for the 8-byte header length');
    const length = prefix.readBigUInt64LE(0);
    if (length > BigInt(MAX_HEADER_BYTES)) fail(path, `header length ${length} exceeds ${MAX_HEADER_BYTES}`);
    const header = Buffer.alloc(Number(length));
    if ((await handle.read(header, 0, header.length, 8)).bytesRead !== header.length)
      fail(path, `header length ${length} runs past the end of the file: truncated?`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(header));
    } catch (error) {
      fail(path, `header is not valid UTF-8 JSON (${(error as Error).message})`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) fail(path, 'header must be a JSON object');
    const raw = (parsed as Record<string, unknown>).__metadata__ ?? {};
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(path, '__metadata__ must be an object');
    const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(path, `__metadata__.${k} must be a string (the format allows strings only)`);
      metadata[k] = v;
    }
    return metadata;
  } finally {
    await handle.close();
  }
}

function dtypeOf(data: TensorData, dtype: SafetensorsDtype | undefined, name: string): SafetensorsDtype {
  if (dtype !== undefined) {
    const Ctor = arrayTypeOf(dtype);
    if (Ctor === undefined) throw new SafetensorsError(`tensor '${name}': unsupported dtype ${String(dtype)}`, { code: 'E_OPTION' });
    if (!(data instanceof (Ctor as unknown as Function)))
      throw new SafetensorsError(`tensor '${name}': dtype ${dtype} does not match a ${data.constructor.name}`, { code: 'E_OPTION' });
    return dtype;
  }
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Uint32Array) return 'U32';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof Int16Array) return 'I16';
  if (data instanceof Uint16Array) return 'U16';
  if (data instanceof Int8Array) return 'I8';
  if (data instanceof Uint8Array) return 'U8';
  throw new SafetensorsError(`tensor '${name}': unsupported data type`, { code: 'E_OPTION' });
}

/** A tensor to write; `dtype` defaults from the array type (Uint16Array → U16: pass 'F16'/'BF16' explicitly). */
export interface TensorToWrite {
  dtype?: SafetensorsDtype;
  shape: readonly number[];
  data: TensorData;
}

/**
 * Writes tensors (in the given order) and metadata strings to `path` atomically: a temporary
 * file next to it is written, fsynced and renamed over `path`, so readers see the old file or
 * the complete new one, never a mix.
 * @throws SafetensorsError with code E_OPTION if a shape disagrees with its data length, a name
 *   is `__metadata__` or given twice, or a metadata value is not a string; file-system errors as
 *   thrown by node:fs.
 */
export async function writeSafetensors(
  path: string,
  tensors: Iterable<[string, TensorToWrite]>,
  metadata: Record<string, string> = {},
): Promise<void> {
  assertLittleEndian();
  // Null prototype: tensor names such as 'constructor' or '__proto__' are plain keys here.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new SafetensorsError(`metadata '${k}' must be a string`, { code: 'E_OPTION' });
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new SafetensorsError(`'__metadata__' is not a valid tensor name`, { code: 'E_OPTION' });
    if (Object.hasOwn(header, name)) throw new SafetensorsError(`tensor '${name}' is given twice`, { code: 'E_OPTION' });
    const dtype = dtypeOf(t.data, t.dtype, name);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new SafetensorsError(`tensor '${name}': shape must hold non-negative integers`, { code: 'E_OPTION' });
    const elements = t.shape.reduce((a, b) => a * b, 1);
    if (elements !== t.data.length)
      throw new SafetensorsError(`tensor '${name}': shape [${t.shape.join(', ')}] has ${elements} elements, data has ${t.data.length}`, { code: 'E_OPTION' });
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf-8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));

  await writeAtomically(path, async (file) => {
    await file.write(prefix);
    await file.write(headerBytes);
    for (const part of parts) await file.write(part);
  });
}
