/**
 * What every fuzz test shares: the seeds to run, byte mutations, the error contract and a time
 * limit per case. Seeds come from the environment so `npm run fuzz` (scripts/fuzz.mjs) can run
 * the same generators on new seeds:
 * - `FUZZ_SEED`: first seed (default 1, the quick set in `npm test`);
 * - `FUZZ_SCALE`: multiplies each test's quick case count (default 1);
 * - `FUZZ_CASES`: mutated inputs per reader and seed, overriding both.
 * A failure message always carries the seed and case, so `FUZZ_SEED=S npx vitest run FILE`
 * replays it.
 */
import { expect } from 'vitest';
import { ERROR_CODES } from '../../lib/errors.js';
import { Sfc32 } from '../../lib/data/random.js';

/** The first seed of this run. */
export const FUZZ_SEED = envInteger('FUZZ_SEED', 1);

function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${text}'`);
  return n;
}

/** Cases to run for a test whose quick count is `quick` (scaled by FUZZ_SCALE; FUZZ_CASES overrides it). */
export function caseCount(quick: number): number {
  return envInteger('FUZZ_CASES', quick * envInteger('FUZZ_SCALE', 1));
}

/** A generator for case `index` of a reader, reproducible from (FUZZ_SEED, stream, index). */
export function caseRng(stream: string, index: number): Sfc32 {
  let h = 0;
  for (let i = 0; i < stream.length; i++) h = (Math.imul(h, 31) + stream.charCodeAt(i)) >>> 0;
  return new Sfc32(FUZZ_SEED, Math.floor(FUZZ_SEED / 2 ** 32), h, index);
}

/** Where a failing case came from, for messages. */
export function caseLabel(stream: string, index: number, how: string): string {
  return `FUZZ_SEED=${FUZZ_SEED} ${stream} case ${index} (${how})`;
}

/** Values that sit on boundaries (as little-endian 32-bit words). */
const BOUNDARY_WORDS = [0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 1024, 1023];

/**
 * Mutates a copy of `bytes` with 1–4 random edits: flip a bit, set a byte, write a boundary
 * word, truncate, append junk, duplicate or delete a run. `focus` (a byte range, e.g. a header)
 * receives most edits. Returns the bytes and a description of the edits.
 */
export function mutate(bytes: Uint8Array, rng: Sfc32, focus?: [number, number]): { bytes: Uint8Array; how: string } {
  let out = Uint8Array.from(bytes);
  const edits: string[] = [];
  const pick = (n: number) => {
    if (n <= 0) return 0;
    if (focus && rng.nextUnit() < 0.7) return Math.min(n - 1, focus[0] + rng.below(Math.max(1, focus[1] - focus[0])));
    return rng.below(n);
  };
  const count = 1 + rng.below(4);
  for (let e = 0; e < count; e++) {
    const kind = rng.below(7);
    if (kind === 0 && out.length > 0) {
      const at = pick(out.length);
      const bit = rng.below(8);
      out[at] ^= 1 << bit;
      edits.push(`flip bit ${bit} of byte ${at}`);
    } else if (kind === 1 && out.length > 0) {
      const at = pick(out.length);
      const value = rng.below(256);
      out[at] = value;
      edits.push(`byte ${at} = ${value}`);
    } else if (kind === 2 && out.length >= 4) {
      const at = pick(out.length - 3) & ~3;
      const value = BOUNDARY_WORDS[rng.below(BOUNDARY_WORDS.length)];
      new DataView(out.buffer).setUint32(at, value, true);
      edits.push(`word at ${at} = ${value}`);
    } else if (kind === 3) {
      const length = rng.below(out.length + 1);
      out = out.slice(0, length);
      edits.push(`truncate to ${length}`);
    } else if (kind === 4) {
      const extra = Uint8Array.from({ length: 1 + rng.below(64) }, () => rng.below(256));
      const grown = new Uint8Array(out.length + extra.length);
      grown.set(out);
      grown.set(extra, out.length);
      out = grown;
      edits.push(`append ${extra.length} bytes`);
    } else if (kind === 5 && out.length > 0) {
      const at = pick(out.length);
      const length = 1 + rng.below(Math.min(64, out.length - at));
      const grown = new Uint8Array(out.length + length);
      grown.set(out.subarray(0, at + length));
      grown.set(out.subarray(at), at + length);
      out = grown;
      edits.push(`duplicate ${length} bytes at ${at}`);
    } else if (out.length > 0) {
      const at = pick(out.length);
      const length = 1 + rng.below(Math.min(64, out.length - at));
      const shrunk = new Uint8Array(out.length - length);
      shrunk.set(out.subarray(0, at));
      shrunk.set(out.subarray(at + length), at);
      out = shrunk;
      edits.push(`delete ${length} bytes at ${at}`);
    }
  }
  return { bytes: out, how: edits.join(', ') };
}

/** Whether `error` carries one of the package's stable codes. */
export function hasPackageCode(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * Asserts that `error` is a deliberate, explained refusal: an Error carrying one of the
 * package's codes (TokenfilterError and its subclasses, or a native addon error, which carries
 * `code` too). Anything else (a TypeError from deep inside a parser, a plain Error without a
 * code) fails with `label`.
 */
export function expectCodedError(error: unknown, label: string): void {
  expect(error, `${label}: threw a non-Error ${String(error)}`).toBeInstanceOf(Error);
  if (hasPackageCode(error)) return;
  expect.fail(`${label}: uncoded ${(error as Error).name}: ${(error as Error).message}\n${(error as Error).stack ?? ''}`);
}

/** Runs `fn`, failing with `label` when it takes longer than `ms` (a hang or a quadratic blow-up). */
export async function withinTime<T>(ms: number, label: string, fn: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(fn), timeout]);
  } finally {
    clearTimeout(timer);
    const took = performance.now() - started;
    if (took > ms) expect.fail(`${label}: took ${took.toFixed(0)} ms, over the ${ms} ms limit`);
  }
}

/**
 * The contract for one input: `parse` either returns a value (then `roundTrip` must accept it)
 * or throws a coded error; never anything else, and never slower than `ms`.
 */
export async function checkInput<T>(
  label: string,
  parse: () => Promise<T> | T,
  roundTrip: (value: T) => Promise<void> | void,
  ms = 2000,
): Promise<'parsed' | 'refused'> {
  let value: T;
  try {
    value = await withinTime(ms, label, parse);
  } catch (error) {
    if ((error as Error).message?.startsWith(label)) throw error;
    expectCodedError(error, label);
    return 'refused';
  }
  await roundTrip(value);
  return 'parsed';
}
