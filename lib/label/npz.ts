/**
 * Readers for NumPy's `.npy` arrays and `.npz` archives (a zip of `.npy` files, stored or
 * deflated), enough to load a public SAE or activations saved by PyTorch/NumPy. Every field is
 * checked before a byte is trusted: a truncated, hostile or unsupported file fails with an
 * {@link NpyError} naming the file and the problem. Only little-endian float32, float16,
 * float64, int32, int64 and uint8 arrays in C order are read.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { decodeFloat16 } from '../data/float16.js';
import { TokenfilterError, CodedRangeError } from '../errors.js';
import { crc32 } from './crc32.js';

/** A malformed, truncated, hostile or unsupported `.npy` / `.npz` file (code E_FILE_FORMAT). */
export class NpyError extends TokenfilterError {
  constructor(message: string, options: { cause?: unknown; path?: string } = {}) {
    super('E_FILE_FORMAT', message, options);
    this.name = 'NpyError';
  }
}

/** One array: shape and data (float types are returned as Float32Array or Float64Array). */
export interface NpyArray {
  dtype: 'f4' | 'f2' | 'f8' | 'i4' | 'i8' | 'u1';
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
}

/** Largest uncompressed entry accepted from an archive (4 GiB). */
export const MAX_ENTRY_BYTES = 2 ** 32;

function fail(source: string, message: string): never {
  throw new NpyError(`${source}: ${message}`, { path: source });
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Parses `.npy` bytes. float16 data is widened to Float32Array.
 * @throws NpyError for a bad magic, version, header, dtype, Fortran order or a size mismatch.
 */
export function parseNpy(bytes: Uint8Array, source = 'npy'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail(source, 'not a .npy file (bad magic)');
  const major = bytes[6];
  if (major !== 1 && major !== 2 && major !== 3) fail(source, `unsupported .npy version ${major}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : -1;
  const start = major === 1 ? 10 : 12;
  if (headerLength < 0 || start + headerLength > bytes.length) fail(source, 'header runs past the end of the file: truncated?');
  const header = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    fail(source, 'header lacks descr, fortran_order or shape');
  if (fortran === 'True') fail(source, 'Fortran-order arrays are not supported (save with C order)');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (/^\d+L?$/.test(s) ? Number.parseInt(s, 10) : Number.NaN));
  if (shape.some((d) => !Number.isSafeInteger(d))) fail(source, `bad shape (${shapeText})`);
  const kinds: Record<string, [NpyArray['dtype'], number]> = {
    '<f4': ['f4', 4], '<f2': ['f2', 2], '<f8': ['f8', 8], '<i4': ['i4', 4], '<i8': ['i8', 8], '|u1': ['u1', 1], '<u1': ['u1', 1],
  };
  const kind = kinds[descr];
  if (!kind) fail(source, `unsupported dtype '${descr}' (little-endian f4, f2, f8, i4, i8 or u1 only)`);
  const [dtype, size] = kind;
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLength;
  if (bytes.length - dataStart !== count * size)
    fail(source, `shape (${shape.join(', ')}) of ${descr} needs ${count * size} data bytes, the file has ${bytes.length - dataStart}`);
  const body = new Uint8Array(bytes.subarray(dataStart)); // an aligned copy (Buffer.slice would be a view)
  let data: NpyArray['data'];
  if (dtype === 'f4') data = new Float32Array(body.buffer, 0, count);
  else if (dtype === 'f2') data = decodeFloat16(new Uint16Array(body.buffer, 0, count));
  else if (dtype === 'f8') data = new Float64Array(body.buffer, 0, count);
  else if (dtype === 'i4') data = new Int32Array(body.buffer, 0, count);
  else if (dtype === 'i8') data = new BigInt64Array(body.buffer, 0, count);
  else data = body;
  return { dtype, shape, data };
}

/**
 * Encodes a float32 array as `.npy` (version 1.0) bytes.
 * @throws RangeError when the shape does not match the data length.
 */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new CodedRangeError(`shape (${shape.join(', ')}) holds ${count} values, data has ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/**
 * Parses a zip archive of `.npy` files (as numpy.savez / savez_compressed write). Reads the
 * central directory, checks each local header against it, inflates deflated entries with a
 * size cap, and verifies sizes and each entry's CRC-32. Names lose their `.npy` suffix.
 * @throws NpyError for a bad or truncated archive, an unsupported compression method,
 *   encryption, zip64, a size mismatch, a CRC-32 mismatch or a bad array.
 */
export function parseNpz(bytes: Uint8Array, source = 'npz'): Map<string, NpyArray> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // end of central directory: signature 0x06054b50, within the last 65557 bytes
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65557); i--)
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) fail(source, 'not a zip archive (no end-of-central-directory record)');
  const entries = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || entries === 0xffff) fail(source, 'zip64 archives are not supported');
  if (cdOffset + cdSize > eocd) fail(source, 'central directory out of range: truncated?');
  const arrays = new Map<string, NpyArray>();
  let at = cdOffset;
  for (let e = 0; e < entries; e++) {
    if (at + 46 > eocd || view.getUint32(at, true) !== 0x02014b50) fail(source, `central directory entry ${e} is malformed`);
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const compressed = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    if (at + 46 + nameLength > eocd) fail(source, `central directory entry ${e} name runs out of range`);
    const name = new TextDecoder('utf-8').decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
    if (flags & 1) fail(source, `entry '${name}' is encrypted`);
    if (compressed === 0xffffffff || size === 0xffffffff) fail(source, `entry '${name}' needs zip64, which is not supported`);
    if (size > MAX_ENTRY_BYTES) fail(source, `entry '${name}' is ${size} bytes, over the ${MAX_ENTRY_BYTES}-byte limit`);
    if (local + 30 > bytes.length || view.getUint32(local, true) !== 0x04034b50) fail(source, `entry '${name}' local header is missing`);
    const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (dataStart + compressed > bytes.length) fail(source, `entry '${name}' data runs past the end of the archive: truncated?`);
    const raw = bytes.subarray(dataStart, dataStart + compressed);
    let content: Uint8Array;
    if (method === 0) content = raw;
    else if (method === 8) {
      try {
        content = inflateRawSync(raw, { maxOutputLength: Math.max(size, 1) });
      } catch (error) {
        fail(source, `entry '${name}' does not inflate (${(error as Error).message})`);
      }
    } else fail(source, `entry '${name}' uses compression method ${method} (only stored and deflated are supported)`);
    if (content.length !== size) fail(source, `entry '${name}' is ${content.length} bytes, the directory says ${size}`);
    const actual = crc32(content);
    if (actual !== crc)
      fail(source, `entry '${name}' fails its CRC-32 check (stored ${hex32(crc)}, computed ${hex32(actual)}): the archive is corrupt`);
    if (!name.endsWith('.npy')) continue;
    arrays.set(name.slice(0, -4), parseNpy(content, `${source}:${name}`));
  }
  return arrays;
}

/** Reads a `.npz` file. @throws NpyError as {@link parseNpz}. */
export async function readNpz(path: string): Promise<Map<string, NpyArray>> {
  return parseNpz(await readFile(path), path);
}

/** Reads a `.npy` file. @throws NpyError as {@link parseNpy}. */
export async function readNpy(path: string): Promise<NpyArray> {
  return parseNpy(await readFile(path), path);
}

/**
 * Builds a zip of `.npy` entries: stored, as `numpy.savez` writes, or deflated with
 * `{ compress: true }`, as `numpy.savez_compressed` writes. Used to write activations and SAEs
 * for NumPy users.
 */
export function encodeNpz(arrays: ReadonlyMap<string, Uint8Array>, options: { compress?: boolean } = {}): Uint8Array {
  const method = options.compress ? 8 : 0;
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [key, content] of arrays) {
    const name = new TextEncoder().encode(`${key}.npy`);
    const crc = crc32(content);
    const packed = options.compress ? deflateRawSync(content) : content;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, packed.length, true);
    lv.setUint32(22, content.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, packed.length, true);
    cv.setUint32(24, content.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    cd.set(name, 46);
    parts.push(local, packed);
    central.push(cd);
    offset += local.length + packed.length;
  }
  const cdSize = central.reduce((a, b) => a + b.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, arrays.size, true);
  ev.setUint16(10, arrays.size, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let at = 0;
  for (const p of [...parts, ...central, end]) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
