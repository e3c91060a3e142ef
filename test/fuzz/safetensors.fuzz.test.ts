// Mutated safetensors files (bytes and header JSON): parsed to tensors that write back and parse
// again identically, or refused with a coded error.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSafetensors, writeSafetensors, type SafetensorsContents, type SafetensorsTensor } from '../../lib/model/safetensors.js';
import { caseCount, caseLabel, caseRng, checkInput, mutate } from './fuzz_kit.js';
import type { Sfc32 } from '../../lib/data/random.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-fuzz-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function roundTrip(file: SafetensorsContents, label: string): Promise<void> {
  const path = join(dir, 'again.safetensors');
  const tensors: [string, SafetensorsTensor][] = [...file.tensors];
  await writeSafetensors(path, tensors, { ...file.metadata });
  const again = parseSafetensors(readFileSync(path), path);
  expect([...again.tensors.keys()], label).toEqual([...file.tensors.keys()]);
  for (const [name, t] of file.tensors) {
    const u = again.tensors.get(name)!;
    expect({ dtype: u.dtype, shape: u.shape }, `${label}: ${name}`).toEqual({ dtype: t.dtype, shape: t.shape });
    expect(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), `${label}: ${name}`).toBe(true);
  }
  expect({ ...again.metadata }, label).toEqual({ ...file.metadata });
}

/** Header edits that keep it JSON: names, dtypes, shapes and offsets swapped for hostile values. */
function mutateHeader(header: Record<string, any>, rng: Sfc32): string {
  const hostile: unknown[] = ['constructor', '__proto__', 'toString', 'F32', 'BF16', 'Q4', '', null, -1, 1.5, 2 ** 53, 1e308, [], {}, [0], [-1, 2], [2 ** 40, 2 ** 40 + 4]];
  const any = () => hostile[rng.below(hostile.length)];
  const names = Object.keys(header);
  const name = names[rng.below(names.length)];
  const field = ['dtype', 'shape', 'data_offsets', 'extra'][rng.below(4)];
  const copy = JSON.parse(JSON.stringify(header));
  if (rng.below(5) === 0) copy[String(any())] = { dtype: any(), shape: any(), data_offsets: any() };
  else if (name === '__metadata__') copy.__metadata__[String(any())] = any();
  else copy[name][field] = any();
  return JSON.stringify(copy);
}

describe('fuzz: safetensors', () => {
  it('parses or refuses (coded) every mutated file', async () => {
    const path = join(dir, 'good.safetensors');
    await writeSafetensors(path, [
      ['a', { shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ['b', { shape: [2], data: BigInt64Array.from([7n, -8n]) }],
      ['h', { dtype: 'BF16', shape: [3], data: Uint16Array.from([1, 2, 3]) }],
      ['c', { shape: [0], data: new Uint8Array(0) }],
    ], { format: 'fuzz', note: 'x' });
    const good = readFileSync(path);
    const headerLength = Number(good.readBigUInt64LE(0));
    const header = JSON.parse(good.subarray(8, 8 + headerLength).toString('utf8'));
    const outcomes = { parsed: 0, refused: 0 };
    for (let i = 0; i < caseCount(150); i++) {
      const rng = caseRng('safetensors', i);
      let bytes: Uint8Array;
      let how: string;
      if (rng.below(2) === 0) ({ bytes, how } = mutate(good, rng, [0, 8 + headerLength]));
      else {
        const json = Buffer.from(mutateHeader(header, rng));
        const prefix = Buffer.alloc(8);
        prefix.writeBigUInt64LE(BigInt(json.length));
        bytes = Buffer.concat([prefix, json, good.subarray(8 + headerLength)]);
        how = `header ${json.toString().slice(0, 160)}`;
      }
      const label = caseLabel('safetensors', i, how);
      outcomes[await checkInput(label, () => parseSafetensors(bytes, 'case.safetensors'), (f) => roundTrip(f, label))]++;
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.parsed).toBeGreaterThan(0);
  });
});
