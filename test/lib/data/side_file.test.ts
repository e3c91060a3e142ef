import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  SIDE_FILE_MAGIC,
  SideFileKind,
  readSideFile,
  sideFilePathFor,
  sideFileScores,
  writeSideFile,
} from '../../../lib/data/side_file.js';
import { HEADER_BYTES } from '../../../lib/data/binary_header.js';
import { decodeFloat16, encodeFloat16, float16BitsToFloat32, float32ToFloat16Bits } from '../../../lib/data/float16.js';
import { fakeTokenizer, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const tok = fakeTokenizer(1000);

describe('float16', () => {
  it('encodes known values exactly', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
      [65520, 0x7c00], [Infinity, 0x7c00], [-Infinity, 0xfc00], [2 ** -24, 0x0001], [2 ** -14, 0x0400],
      [1 / 3, 0x3555], [0.1, 0x2e66], [2 ** -25, 0x0000], [3 * 2 ** -26, 0x0001],
    ];
    for (const [value, bits] of cases) expect(float32ToFloat16Bits(value), `${value}`).toBe(bits);
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
  });

  it('rounds to nearest even and round-trips every finite half', () => {
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    const mismatches: number[] = [];
    for (let b = 0; b < 0x10000; b++) {
      if ((b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0) continue; // NaN
      if (float32ToFloat16Bits(float16BitsToFloat32(b)) !== b) mismatches.push(b);
    }
    expect(mismatches).toEqual([]);
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10);
    const back = decodeFloat16(encodeFloat16(values));
    for (let i = 0; i < values.length; i++) expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -11);
  });
});

describe('side files', () => {
  it('round-trips a loss mask and labels, with the header words', async () => {
    const mask = Uint8Array.from({ length: 777 }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const path = sideFilePathFor(join(dir, 'train_000000.bin'), SideFileKind.LossMask);
    expect(path).toBe(join(dir, 'train_000000.mask.side'));
    await writeSideFile(path, mask, { kind: SideFileKind.LossMask, tokenizer: tok });
    const raw = readFileSync(path);
    expect([0, 1, 2, 3].map((i) => raw.readInt32LE(4 * i))).toEqual([SIDE_FILE_MAGIC, 1, 777, 1]);
    expect(raw.readInt32LE(32)).toBe(1000);
    const back = readSideFile(path, { expectKind: SideFileKind.LossMask, expectTokens: 777, expectTokenizer: tok });
    expect(back.values).toEqual(mask);
    const labels = Uint8Array.from([0, 1, 2, 255]);
    const lpath = join(dir, 'labels.side');
    await writeSideFile(lpath, labels, { kind: SideFileKind.Labels, tokenizer: tok });
    expect(readSideFile(lpath).values).toEqual(labels);
    await expect(writeSideFile(path, Uint8Array.from([0, 2]), { kind: SideFileKind.LossMask, tokenizer: tok })).rejects.toThrow(/0 or 1, got 2 at index 1/);
  });

  it('round-trips uint8 and float16 scores', async () => {
    const p = Float32Array.from([0, 0.001, 0.5, 0.2, 1, 0.999]);
    const p8 = join(dir, 's8.side');
    await writeSideFile(p8, p, { kind: SideFileKind.ScoresUint8, tokenizer: tok });
    const r8 = readSideFile(p8, { expectKind: SideFileKind.ScoresUint8 });
    expect(Array.from(r8.values)).toEqual([0, 0, 128, 51, 255, 255]);
    expect(sideFileScores(r8)[3]).toBeCloseTo(51 / 255, 6);
    const p16 = join(dir, 's16.side');
    await writeSideFile(p16, p, { kind: SideFileKind.ScoresFloat16, tokenizer: tok });
    expect(statSync(p16).size).toBe(HEADER_BYTES + 12);
    const s16 = sideFileScores(readSideFile(p16));
    for (let i = 0; i < p.length; i++) expect(Math.abs(s16[i] - p[i])).toBeLessThanOrEqual(2 ** -11);
    await expect(writeSideFile(p8, [0.5, 1.5], { kind: SideFileKind.ScoresUint8, tokenizer: tok })).rejects.toThrow(/scores\[1\] = 1.5/);
    await expect(writeSideFile(p16, [NaN], { kind: SideFileKind.ScoresFloat16, tokenizer: tok })).rejects.toThrow(/NaN/);
  });

  it('rejects wrong kind, count, tokenizer, magic, version, sizes and hostile values', async () => {
    const path = join(dir, 'bad.side');
    const write = () => writeSideFile(path, new Uint8Array(50).fill(1), { kind: SideFileKind.LossMask, tokenizer: tok });
    const patch = (word: number, value: number) => {
      const b = readFileSync(path);
      b.writeInt32LE(value, 4 * word);
      writeFileSync(path, b);
    };
    await write();
    expect(() => readSideFile(path, { expectKind: SideFileKind.Labels })).toThrow(/holds mask \(kind 1\), expected labels \(kind 2\)/);
    expect(() => readSideFile(path, { expectTokens: 51 })).toThrow(/covers 50 tokens, its shard has 51/);
    expect(() => readSideFile(path, { expectTokenizer: fakeTokenizer(1000, 'd') })).toThrow(/tokenizer mismatch/);
    appendFileSync(path, Buffer.alloc(1));
    expect(() => readSideFile(path)).toThrow(`${path}: oversized side file: the header records 50 tokens (1074 bytes), the file has 1075 bytes`);
    await write();
    writeFileSync(path, readFileSync(path).subarray(0, HEADER_BYTES + 10));
    expect(() => readSideFile(path)).toThrow(/truncated side file/);
    await write();
    patch(0, 20240520);
    expect(() => readSideFile(path)).toThrow(/not a side file: magic 20240520, expected 20261122/);
    await write();
    patch(1, 2);
    expect(() => readSideFile(path)).toThrow(/unsupported side-file version 2/);
    await write();
    patch(3, 9);
    expect(() => readSideFile(path)).toThrow(/unknown side-file kind 9/);
    await write();
    patch(2, -1);
    expect(() => readSideFile(path)).toThrow(/negative token count/);
    await write();
    const b = readFileSync(path);
    b[HEADER_BYTES + 5] = 7;
    writeFileSync(path, b);
    expect(() => readSideFile(path)).toThrow(/loss mask value 7 at token 5/);
  });

  it('refuses a NaN in a float16 score file, naming the file and token (E_NOT_FINITE); infinities are kept', async () => {
    const path = join(dir, 'nan.scores16.side');
    await writeSideFile(path, Float32Array.of(0.25, Infinity, 0.5, -Infinity), { kind: SideFileKind.ScoresFloat16, tokenizer: tok });
    expect(Array.from(sideFileScores(readSideFile(path)))).toEqual([0.25, Infinity, 0.5, -Infinity]);
    for (const bits of [0x7e00, 0x7c01, 0xfe00, 0xffff]) {
      const b = readFileSync(path);
      b.writeUInt16LE(bits, HEADER_BYTES + 2 * 2);
      writeFileSync(path, b);
      expect(() => readSideFile(path)).toThrow(expect.objectContaining({ code: 'E_NOT_FINITE', path, message: `${path}: float16 score at token 2 is NaN` }));
    }
  });

  it('codes header problems E_FILE_FORMAT and unexpected kinds or counts E_MISMATCH', async () => {
    const path = join(dir, 'coded.mask.side');
    await writeSideFile(path, Uint8Array.of(1, 0, 1), { kind: SideFileKind.LossMask, tokenizer: tok });
    expect(() => readSideFile(path, { expectKind: SideFileKind.Labels })).toThrow(expect.objectContaining({ code: 'E_MISMATCH', path }));
    expect(() => readSideFile(path, { expectTokens: 4 })).toThrow(expect.objectContaining({ code: 'E_MISMATCH', path }));
    appendFileSync(path, Buffer.of(0));
    expect(() => readSideFile(path)).toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT', path }));
  });
});
