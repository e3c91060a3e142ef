import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, readSafetensors, readSafetensorsMetadata, SafetensorsError, writeSafetensors } from '../../../lib/model/safetensors.js';
import { TokenfilterError } from '../../../lib/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-safetensors-'));

// Builds a file by hand: header object + raw data bytes.
function build(header: unknown, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLength ?? BigInt(json.length));
  return new Uint8Array(Buffer.concat([prefix, json, data]));
}

describe('safetensors', () => {
  it('round-trips tensors of several dtypes and metadata strings', async () => {
    const path = join(dir, 'a.safetensors');
    const a = Float32Array.from([1.5, -2, 3, 4, 5, 6]);
    const b = Int32Array.from([7, -8]);
    const c = Uint8Array.from([1, 2, 3]);
    const d = BigInt64Array.from([1n, -2n]);
    await writeSafetensors(path, [
      ['a', { shape: [2, 3], data: a }],
      ['b', { shape: [2], data: b }],
      ['c', { shape: [3], data: c }],
      ['d', { shape: [2], data: d }],
      ['h', { dtype: 'F16', shape: [1], data: Uint16Array.from([0x3c00]) }],
    ], { config: '{"x":1}', note: 'hello' });
    const file = await readSafetensors(path);
    expect(file.metadata).toEqual({ config: '{"x":1}', note: 'hello' });
    expect([...file.tensors.keys()]).toEqual(['a', 'b', 'c', 'd', 'h']);
    expect(file.tensors.get('a')).toEqual({ dtype: 'F32', shape: [2, 3], data: a });
    expect(file.tensors.get('b')!.data).toEqual(b);
    expect(file.tensors.get('c')!.data).toEqual(c);
    expect(file.tensors.get('d')!.data).toEqual(d);
    expect(file.tensors.get('h')!.dtype).toBe('F16');
    // header padded to 8 bytes so F32/I64 data are aligned
    expect(Number(Buffer.from(readFileSync(path)).readBigUInt64LE(0)) % 8).toBe(0);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('rejects malformed and hostile files with clear errors', () => {
    const four = new Uint8Array(16);
    const good = { t: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } };
    expect(() => parseSafetensors(build(good, four))).not.toThrow();
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(5), /too short/],
      [build(good, four, 1000n), /runs past the end/],
      [build(good, four, 1n << 60n), /exceeds/],
      [build('{"t": [', four), /not valid UTF-8 JSON/],
      [build('[1,2]', new Uint8Array(0)), /must be a JSON object/],
      [build({ t: { dtype: 'Q4', shape: [4], data_offsets: [0, 16] } }, four), /unsupported dtype "Q4"/],
      [build({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, four), /needs 12 bytes, data_offsets give 16/],
      [build({ t: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, four), /out of range/],
      [build({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 16] } }, four), /non-negative integers/],
      [build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, b: { dtype: 'F32', shape: [3], data_offsets: [4, 16] } }, four), /overlap/],
      [build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, four), /belong to no tensor/],
      [build({ __metadata__: { n: 1 }, ...good }, four), /must be a string/],
      [build({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16], extra: 1 } }, four), /unknown field/],
      [build({ t: { dtype: 'F32', shape: [4], data_offsets: [16, 0] } }, four), /out of range/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => parseSafetensors(bytes, 'case')).toThrow(SafetensorsError);
      expect(() => parseSafetensors(bytes, 'case')).toThrow(message);
    }
  });

  it('reports a truncated file on disk and refuses inconsistent tensors to write', async () => {
    const path = join(dir, 'b.safetensors');
    await writeSafetensors(path, [['x', { shape: [4], data: new Float32Array(4) }]]);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 3));
    await expect(readSafetensors(path)).rejects.toThrow(/out of range/);
    await expect(writeSafetensors(path, [['x', { shape: [5], data: new Float32Array(4) }]])).rejects.toThrow(/5 elements, data has 4/);
    await expect(writeSafetensors(path, [['x', { dtype: 'F64', shape: [4], data: new Float32Array(4) }]])).rejects.toThrow(/does not match/);
    await expect(writeSafetensors(path, [], { n: 1 as never })).rejects.toThrow(/must be a string/);
  });

  it('refuses Object.prototype names as dtypes (E_FILE_FORMAT, file named) and keeps them as tensor and metadata names', async () => {
    const four = new Uint8Array(16);
    for (const dtype of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const bytes = build(`{"t": {"dtype": "${dtype}", "shape": [4], "data_offsets": [0, 16]}}`, four);
      let caught: unknown;
      try {
        parseSafetensors(bytes, 'proto.safetensors');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SafetensorsError);
      expect(caught).toBeInstanceOf(TokenfilterError);
      expect(caught).toMatchObject({ code: 'E_FILE_FORMAT', path: 'proto.safetensors' });
      expect((caught as Error).message).toBe(`proto.safetensors: tensor 't' has unsupported dtype "${dtype}"`);
    }
    const path = join(dir, 'names.safetensors');
    const names = ['constructor', 'toString', '__proto__', 'valueOf'];
    await writeSafetensors(path, names.map((name, i) => [name, { shape: [1], data: Float32Array.of(i) }]), { constructor: 'c' } as never);
    const file = await readSafetensors(path);
    expect([...file.tensors.keys()]).toEqual(names);
    names.forEach((name, i) => expect(file.tensors.get(name)!.data).toEqual(Float32Array.of(i)));
    expect(Object.hasOwn(file.metadata, 'constructor') && file.metadata.constructor).toBe('c');
    await expect(writeSafetensors(path, [['toString', { shape: [1], data: new Float32Array(1) }], ['toString', { shape: [1], data: new Float32Array(1) }]]))
      .rejects.toMatchObject({ code: 'E_OPTION', message: "tensor 'toString' is given twice" });
    await expect(writeSafetensors(path, [['t', { dtype: 'constructor' as never, shape: [1], data: new Float32Array(1) }]]))
      .rejects.toThrow(/unsupported dtype constructor/);
  });
});

describe('readSafetensorsMetadata', () => {
  it('reads the metadata from the header alone and refuses a bad header by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-st-meta-'));
    const path = join(dir, 'a.safetensors');
    await writeSafetensors(path, [['x', { shape: [2], data: new Float32Array([1, 2]) }]], { format: 'f', note: 'n' });
    expect({ ...(await readSafetensorsMetadata(path)) }).toEqual({ format: 'f', note: 'n' });
    const bytes = readFileSync(path);
    writeFileSync(join(dir, 'cut.safetensors'), bytes.subarray(0, 20));
    await expect(readSafetensorsMetadata(join(dir, 'cut.safetensors'))).rejects.toMatchObject({ code: 'E_FILE_FORMAT', message: expect.stringContaining('truncated') });
    const header = Buffer.from('{"__metadata__":{"k":1}}');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(join(dir, 'bad.safetensors'), Buffer.concat([prefix, header]));
    await expect(readSafetensorsMetadata(join(dir, 'bad.safetensors'))).rejects.toThrow(/__metadata__\.k must be a string/);
    await writeSafetensors(join(dir, 'none.safetensors'), [['x', { shape: [1], data: new Float32Array([1]) }]]);
    expect({ ...(await readSafetensorsMetadata(join(dir, 'none.safetensors'))) }).toEqual({});
  });
});
