// Every native entry point reachable from lib/native.ts, called with hostile arguments: wrong
// types, wrong lengths, NaN / Inf, out-of-range ids, zero and huge sizes, detached buffers. Each
// call returns, or throws / rejects with a coded error; the process never crashes and no call
// hangs. Calls are drawn three ways: every argument from the hostile pool; a valid call with one
// argument (or one field of an argument) spoiled, which reaches past the first type check; and a
// valid call whose arrays are detached while it runs.
//
// A crash kills the test worker, so the case about to run is written to LAST_CASE_FILE first;
// scripts/fuzz.mjs prints it when a run dies.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { Tokenizer } from '../../lib/data/tokenizer.js';
import { SparseAutoencoder } from '../../lib/label/sae.js';
import { Transformer } from '../../lib/model/transformer.js';
import type { Sfc32 } from '../../lib/data/random.js';
import { caseCount, caseLabel, caseRng, expectCodedError, withinTime } from './fuzz_kit.js';

/** Where the case about to run is written (read by scripts/fuzz.mjs after a crash). */
export const LAST_CASE_FILE = join(tmpdir(), 'tokenfilter-fuzz-native-last-case.txt');

type Call = { name: string; fn: (...args: unknown[]) => unknown; self?: object; valid?: (rng: Sfc32) => unknown[] };

/** A typed array that has been detached (its buffer transferred away). */
function detached(): Float32Array {
  const a = new Float32Array(16);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

const NUMBERS = [0, 1, -1, 0.5, 3, 8, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 31), 1e300, -0];

/** One hostile value. */
function hostile(rng: Sfc32): unknown {
  const lengths = [0, 1, 2, 3, 4, 7, 8, 16, 64, 256];
  const n = lengths[rng.below(lengths.length)];
  switch (rng.below(12)) {
    case 0: case 1: return NUMBERS[rng.below(NUMBERS.length)];
    case 2: return ['', 'cl100k', 'gpt2', 'scalar', 'x'.repeat(300), '\uD800'][rng.below(6)];
    case 3: return [null, undefined, true, {}, [], [1, 2, 3], ['ab ab', 'cd'], 5n, () => undefined][rng.below(9)];
    case 4: return detached();
    case 5: return Float32Array.from({ length: n }, () => [NaN, Infinity, -Infinity, 0, 1, -1e38][rng.below(6)]);
    case 6: return Uint32Array.from({ length: n }, () => [0, 1, 0xffffffff, 0x7fffffff, 65535, 65536][rng.below(6)]);
    case 7: return Uint16Array.from({ length: n }, () => rng.below(65536));
    case 8: return Uint8Array.from({ length: n }, () => rng.below(256));
    case 9: return new (rng.below(2) ? Float64Array : Int32Array)(n).map(() => rng.below(2000) - 1000);
    case 10: return new Float32Array(n).map(() => rng.nextUnit());
    default: return { vocabSize: NUMBERS[rng.below(NUMBERS.length)], get dModel(): number { throw new Error('getter'); } };
  }
}

/** A valid argument list with one argument replaced by a hostile value, or a typed array resized. */
function spoil(args: unknown[], rng: Sfc32): unknown[] {
  const out = [...args];
  const at = rng.below(Math.max(1, out.length));
  const value = out[at];
  if (isPlainObject(value) && rng.below(2) === 0) {
    const copy: Record<string, unknown> = { ...value };
    const keys = Object.keys(copy);
    copy[keys[rng.below(keys.length)]] = hostile(rng);
    out[at] = copy;
  } else if (Array.isArray(value) && value.length > 0 && rng.below(2) === 0) {
    out[at] = spoil(value, rng);
  } else if (ArrayBuffer.isView(value) && rng.below(2) === 0) {
    const Ctor = (value as unknown as { constructor: new (n: number) => Uint8Array }).constructor;
    const length = Math.max(0, (value as Uint8Array).length + [-1, 1, -3][rng.below(3)]);
    out[at] = new Ctor(length);
  } else out[at] = hostile(rng);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype && Object.keys(value).length > 0;
}

function functionsOf(object: Record<string, unknown>, prefix: string, self?: object): Call[] {
  const calls: Call[] = [];
  for (const [key, value] of Object.entries(object))
    if (typeof value === 'function') calls.push({ name: `${prefix}${key}`, fn: value as Call['fn'], self });
  return calls;
}

function methodsOf(instance: object, prefix: string, skip: string[] = []): Call[] {
  const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto)
    .filter((k) => k !== 'constructor' && !skip.includes(k) && typeof proto[k] === 'function')
    .map((k) => ({ name: `${prefix}${k}`, fn: proto[k] as Call['fn'], self: instance }));
}

/** Valid argument lists for entry points whose checks go deeper than the first argument. */
const VALID: Record<string, (rng: Sfc32) => unknown[]> = {
  'filter.tokenFilter': (rng) => [Uint32Array.from({ length: 32 }, () => rng.below(100)), new Float32Array(32).map(() => rng.nextUnit()), 0.5, 128, 99, 98, undefined],
  'filter.firstInvalidProbability': (rng) => [new Float32Array(16).map(() => rng.nextUnit())],
  maxTokenId: (rng) => [Uint32Array.from({ length: 300 }, () => rng.below(1000))],
  'sae.topkActivation': () => [new Float32Array(12).fill(1), 4, 2, new Float32Array(12)],
  'sae.latentMoments': () => [new Float32Array(12).fill(1), 4, 0, new Float64Array(4), new Float64Array(4)],
  'sae.encodeSelected': () => [new Float32Array(8).fill(1), 4, 1, new Float32Array(12), new Float32Array(3), new Float32Array(3), new Float32Array(6)],
  'logistic.predict': () => [new Float32Array(6).fill(1), 2, 3, new Float64Array(3), 0],
  pretokenize: () => ['the patient took 81 mg', 'cl100k'],
};

/** The objects whose methods are called, and valid argument lists for their deeper methods. */
interface Instances {
  tokenizer: Tokenizer;
  sae: SparseAutoencoder;
  model: Transformer;
}

function validMethodCalls({ tokenizer, model }: Instances): Record<string, (rng: Sfc32) => unknown[]> {
  const { vocabSize: V, dModel: C } = model.config;
  const ids = (rng: Sfc32, n: number) => Uint32Array.from({ length: n }, () => rng.below(V));
  const batch = (rng: Sfc32) => ({ batch: 2, context: 4, inputs: ids(rng, 8), targets: ids(rng, 8), lossMask: new Uint8Array(8).fill(1) });
  const adam = { zeroGradients: true, update: true, lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, clip: 1 };
  return {
    'TransformerModel#logits': (rng) => [ids(rng, 8), 2, 4, new Float32Array(8 * V)],
    'TransformerModel#hiddenStates': (rng) => [ids(rng, 8), 2, 4, 1, new Float32Array(8 * C)],
    'TransformerModel#evaluate': (rng) => [batch(rng), new Float32Array(8)],
    'TransformerModel#step': (rng) => [[batch(rng)], adam],
    'TransformerModel#writeParameters': () => [model.getParameters()],
    'TransformerModel#readOptimizer': () => [new Float32Array(model.native.paramCount()), new Float32Array(model.native.paramCount())],
    'Bpe#encode': () => ['the patient took aspirin'],
    'Bpe#decode': (rng) => [Uint32Array.from({ length: 6 }, () => rng.below(tokenizer.vocabSize - 2))],
    'Bpe#encodeBatch': () => [['the patient', 'aspirin daily']],
    'SaeModel#forward': () => [new Float32Array(8).fill(0.5), new Float32Array(16), new Float32Array(16)],
    'SaeModel#lossAndGrad': () => [new Float32Array(8).fill(0.5)],
  };
}

/** Transfers the buffers of every typed array in `args` away (as postMessage with transfer does). */
function detachAll(args: unknown[]): void {
  for (const a of args) {
    const views = Array.isArray(a) ? a : isPlainObject(a) ? Object.values(a) : [a];
    for (const v of views)
      if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer && v.buffer.byteLength > 0) structuredClone(v.buffer, { transfer: [v.buffer] });
  }
}

/**
 * Calls `call` with `args` and checks the contract. With `detachAfterCall`, every array argument
 * is detached as soon as the call returns, while an async binding may still be working (the
 * bindings copy inputs and own their outputs, so this must resolve or reject with a code; the
 * memory-level check, with the freed pages unmapped, is test/native/detach.test.ts).
 */
async function runCall(call: Call, args: unknown[], label: string, detachAfterCall = false): Promise<void> {
  writeFileSync(LAST_CASE_FILE, `${label}\n`);
  try {
    await withinTime(10_000, label, () => {
      const result = call.fn.apply(call.self, args);
      if (detachAfterCall) detachAll(args);
      return result;
    });
  } catch (error) {
    if ((error as Error)?.message?.startsWith(label)) throw error;
    expectCodedError(error, label);
  }
}

describe('fuzz: native entry points', () => {
  it('every entry point returns or throws an Error for hostile arguments, never crashes', async () => {
    const tokenizer = await Tokenizer.train(['the patient was given aspirin, 81 mg daily. '.repeat(8)], { vocabSize: 300 });
    const sae = SparseAutoencoder.create({ dModel: 4, dSae: 8, kind: 'topk', k: 2 });
    const model = await Transformer.create({ vocabSize: 64, dModel: 16, layers: 1, heads: 2, context: 8, seed: 2 });
    const calls: Call[] = [
      ...functionsOf(native.filter, 'filter.'),
      ...functionsOf(native._ops, '_ops.'),
      ...functionsOf(native.logistic, 'logistic.'),
      ...functionsOf(native.sae, 'sae.').filter((c) => c.name !== 'sae.SaeModel'),
      { name: '_gemm', fn: native._gemm },
      { name: '_gemmTiledEmulate', fn: native._gemmTiledEmulate },
      { name: '_saeTopkEmulate', fn: native._saeTopkEmulate },
      { name: 'CudaSaeEncoder', fn: (...a: unknown[]) => new native.CudaSaeEncoder(...a) },
      { name: 'maxTokenId', fn: native.maxTokenId },
      { name: 'pretokenize', fn: native.pretokenize },
      { name: 'bpeTrain', fn: native.bpeTrain },
      { name: 'Bpe', fn: (...a: unknown[]) => new native.Bpe(...a) },
      ...methodsOf((tokenizer as unknown as { bpe: object }).bpe, 'Bpe#'),
      ...methodsOf((sae.trainingModel() as unknown as { model: object }).model, 'SaeModel#'),
      ...methodsOf(model.native as object, 'TransformerModel#', ['setProfiling']),
    ];
    // Not called here: setThreads and setSimd change process-wide state other tests rely on (their
    // argument checks are tested in test/native/thread_pool.test.ts and backend.test.ts); the
    // TransformerModel and SaeModel constructors allocate what a valid config asks for, so hostile
    // sizes could take the machine's memory (the loaders cap configs with MAX_LOAD_PARAMETERS
    // before constructing; lib/model/expected_tensors.ts).
    const methods = validMethodCalls({ tokenizer, sae, model });
    const perCall = caseCount(12);
    for (const call of calls) {
      for (let i = 0; i < perCall; i++) {
        const rng = caseRng(`native-${call.name}`, i);
        const valid: ((rng: Sfc32) => unknown[]) | undefined = VALID[call.name] ?? methods[call.name];
        const mode = valid ? rng.below(3) : 0;
        const args = valid && mode === 1 ? spoil(valid(rng), rng) : valid && mode === 2 ? valid(rng) : Array.from({ length: rng.below(8) }, () => hostile(rng));
        const how = `${mode === 2 ? 'valid, detached after the call: ' : ''}${describeArgs(args)}`;
        await runCall(call, args, caseLabel(`native-${call.name}`, i, how), mode === 2);
      }
    }
    // The model still works after all of that.
    expect(model.native.paramCount()).toBeGreaterThan(0);
    expect(Array.from(tokenizer.encode('aspirin'))).toEqual(Array.from(tokenizer.encode('aspirin')));
  });

  it('valid calls of the spoiled entry points succeed (the spoiling is what is refused)', async () => {
    const rng = caseRng('native-valid', 0);
    for (const [name, valid] of Object.entries(VALID)) {
      const fn = name.split('.').reduce<any>((o, k) => o[k], native);
      await expect(Promise.resolve().then(() => fn(...valid(rng))), name).resolves.not.toThrow();
    }
    const tokenizer = await Tokenizer.train(['the patient was given aspirin, 81 mg daily. '.repeat(8)], { vocabSize: 300 });
    const sae = SparseAutoencoder.create({ dModel: 4, dSae: 8, kind: 'topk', k: 2 });
    const model = await Transformer.create({ vocabSize: 64, dModel: 16, layers: 1, heads: 2, context: 8, seed: 2 });
    const owners: Record<string, object> = {
      TransformerModel: model.native as object,
      Bpe: (tokenizer as unknown as { bpe: object }).bpe,
      SaeModel: (sae.trainingModel() as unknown as { model: object }).model,
    };
    for (const [name, valid] of Object.entries(validMethodCalls({ tokenizer, sae, model }))) {
      const [owner, method] = name.split('#');
      const self = owners[owner] as Record<string, (...a: unknown[]) => unknown>;
      await expect(Promise.resolve().then(() => self[method](...valid(rng))), name).resolves.not.toThrow();
    }
  });

});

function describeArgs(args: unknown[]): string {
  return args
    .map((a) => {
      if (ArrayBuffer.isView(a)) return `${a.constructor.name}(${(a as Uint8Array).length}${(a as Uint8Array).buffer.byteLength === 0 && (a as Uint8Array).length === 0 ? ', detached?' : ''})`;
      if (typeof a === 'string') return JSON.stringify(a.length > 20 ? `${a.slice(0, 20)}…` : a);
      if (typeof a === 'bigint') return `${a}n`;
      if (typeof a === 'function') return 'function';
      if (a !== null && typeof a === 'object') return Array.isArray(a) ? `[${a.length}]` : 'object';
      return String(a);
    })
    .join(', ');
}
