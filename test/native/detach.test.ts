// Every async binding against a caller that detaches its arrays while the promise is pending
// (structuredClone with `transfer`, as postMessage does): the freed memory must never be read or
// written. Before the fix encodeSelected, SaeModel.step and logistic.fit read their inputs from
// JS memory on a worker thread, and encodeSelected / logits / hiddenStates / evaluate wrote
// their outputs there: with buffers large enough to be unmapped when freed, the child died of
// SIGSEGV (and under AddressSanitizer any size reports a use-after-free). Now inputs are copied
// and outputs delivered on the JS thread: a detached input gives the same result as an
// attached one, a detached output rejects with E_STATE, and a cancel word that JS could detach
// (an Int32Array over an ordinary ArrayBuffer) is refused with E_OPTION. A synchronous call is
// safe only if no JS runs between taking a view and using it: the Bpe constructor read its
// spec's properties (getters) after viewing spec.kinds, and now reads them all first. The cases run in a
// child process (with --expose-gc, to free the transferred memory at once), so a crash fails
// the test instead of killing the test runner.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CHILD_ADDON_SOURCE } from '../helpers/child_addon.js';

const CHILD = `
${CHILD_ADDON_SOURCE}
let seed = 1;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
const filled = (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = rand(); return a; };
// Transfers the buffer away and collects the clone: the memory is freed while the work runs.
const detach = (array) => { structuredClone(array.buffer, { transfer: [array.buffer] }); global.gc(); global.gc(); };
const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
async function run(name, start, check) {
  console.log('start ' + name);
  let outcome;
  try {
    const value = await start();
    outcome = { name, outcome: 'resolved', correct: check ? check(value) : undefined };
  } catch (error) {
    outcome = { name, outcome: 'rejected', code: error.code, type: error.constructor.name, message: String(error.message) };
  }
  console.log(JSON.stringify(outcome));
}

(async () => {
  // encodeSelected: x [N, D] (8 MiB), encoder [D, S], output [N, S] (8 MiB)
  const N = 8192, D = 256, S = 256;
  const x = filled(N * D), w = filled(D * S), b = filled(S), th = new Float32Array(S).fill(-1);
  const ref = new Float32Array(N * S);
  await addon.sae.encodeSelected(x, D, 1, w, b, th, ref);
  for (const [arg, index] of [['x', 0], ['encoder', 3]]) {
    await run('encodeSelected ' + arg, () => {
      const args = [x.slice(), D, 1, w.slice(), b, th, new Float32Array(N * S)];
      const p = addon.sae.encodeSelected(...args);
      detach(args[index]);
      return p.then(() => args[6]);
    }, (out) => same(out, ref));
  }
  await run('encodeSelected out', () => {
    const out = new Float32Array(N * S);
    const p = addon.sae.encodeSelected(x, D, 1, w, b, th, out);
    detach(out);
    return p;
  });

  // SaeModel.step: x [N, D] read by forward and backward
  const config = { dModel: D, dSae: 1024, kind: 'topk', k: 32, l0Coefficient: 0, bandwidth: 0.001, auxCoefficient: 0, auxK: 64, deadAfter: 1000 };
  const sae = () => { const m = new addon.sae.SaeModel(config); m.init(7, 0.001); return m; };
  const rows = x.subarray(0, 4096 * D);
  const refStats = await sae().step(rows, 1e-3, 0.9, 0.999, 1e-8);
  await run('SaeModel.step x', () => {
    const copy = rows.slice();
    const p = sae().step(copy, 1e-3, 0.9, 0.999, 1e-8);
    detach(copy);
    return p;
  }, (stats) => stats.loss === refStats.loss && stats.mse === refStats.mse);

  // logistic.fit: x [n, d] (8 MiB) read on every L-BFGS iteration
  const n = 32768, d = 64;
  const fx = filled(n * d), fy = new Uint8Array(n);
  for (let i = 0; i < n; i++) fy[i] = fx[i * d] + 0.3 * fx[i * d + 1] + 0.2 * rand() > 0 ? 1 : 0;
  const options = { l2: 1e-3, maxIterations: 40, tolerance: 1e-12, memory: 8 };
  const refFit = await addon.logistic.fit(fx, fy, undefined, n, d, options);
  await run('logistic.fit x', () => {
    const copy = fx.slice();
    const p = addon.logistic.fit(copy, fy, undefined, n, d, options);
    detach(copy);
    return p;
  }, (fit) => same(fit.w, refFit.w) && fit.b === refFit.b);
  await run('logistic.fit cancel over an ArrayBuffer', async () => addon.logistic.fit(fx, fy, undefined, n, d, options, undefined, new Int32Array(1)));

  // TransformerModel: logits [B·T·V] (8 MiB), hidden states, per-position losses, inputs
  const model = new addon.TransformerModel({ vocabSize: 2048, dModel: 64, layers: 1, heads: 2, hidden: 256, context: 64, tieEmbeddings: true, ropeBase: 10000, normEps: 1e-5 });
  await model.init(3);
  const B = 16, T = 64, tokens = new Uint32Array(B * T).map((_, i) => (i * 7919) % 2048);
  const batch = () => ({ batch: B, context: T, inputs: tokens.slice(), targets: tokens.slice().reverse(), lossMask: new Uint8Array(B * T).fill(1) });
  const refEval = await model.evaluate(batch());
  await run('logits out', () => { const out = new Float32Array(B * T * 2048); const p = model.logits(tokens, B, T, out); detach(out); return p; });
  await run('hiddenStates out', () => { const out = new Float32Array(B * T * 64); const p = model.hiddenStates(tokens, B, T, 1, out); detach(out); return p; });
  await run('evaluate losses', () => { const out = new Float32Array(B * T); const p = model.evaluate(batch(), out); detach(out); return p; });
  await run('evaluate inputs', () => { const bt = batch(); const p = model.evaluate(bt); detach(bt.inputs); detach(bt.targets); return p; },
    (r) => r.lossSum === refEval.lossSum);
  await run('step cancel over an ArrayBuffer', async () => model.step([batch()], { zeroGradients: true, update: false }, new Int32Array(1)));
  // the model is usable afterwards, and an attached output still receives its result
  await run('logits attached', async () => { const out = new Float32Array(B * T * 2048); await model.logits(tokens, B, T, out); return out; },
    (out) => out.some((v) => v !== 0) && out.every(Number.isFinite));
  // a synchronous call whose argument getter detaches an array the call already looked at
  await run('Bpe spec getter detaching kinds', async () => {
    const V = 1 << 22, kinds = new Uint8Array(V).fill(1);
    const spec = { pretokenizer: 'gpt2', mode: 'ranks', kinds, tokenBytes: new Uint8Array(0), get tokenOffsets() { detach(kinds); return new Uint32Array(V + 1); } };
    return new addon.Bpe(spec);
  });
  console.log('done');
})().catch((error) => { console.log('failed ' + error.stack); process.exit(1); });
`;

interface Outcome {
  name: string;
  outcome: 'resolved' | 'rejected';
  correct?: boolean;
  code?: string;
  type?: string;
  message?: string;
}

describe('async bindings and detached buffers', () => {
  it('never touch freed memory: detached inputs give the same result, detached outputs reject with E_STATE', () => {
    const child = spawnSync(process.execPath, ['--expose-gc', '-e', CHILD], { encoding: 'utf8', timeout: 60_000 });
    const lines = child.stdout.trim().split('\n');
    const started = lines.filter((l) => l.startsWith('start ')).pop();
    expect(child.signal, `the child died (${child.signal}) during '${started}'\n${child.stderr}`).toBeNull();
    expect(child.status, child.stdout + child.stderr).toBe(0);
    expect(lines.at(-1)).toBe('done');
    const outcomes = new Map<string, Outcome>(
      lines.filter((l) => l.startsWith('{')).map((l) => [JSON.parse(l).name, JSON.parse(l) as Outcome]),
    );
    for (const name of ['encodeSelected x', 'encodeSelected encoder', 'SaeModel.step x', 'logistic.fit x', 'evaluate inputs', 'logits attached'])
      expect(outcomes.get(name), name).toMatchObject({ outcome: 'resolved', correct: true });
    for (const name of ['encodeSelected out', 'logits out', 'hiddenStates out', 'evaluate losses'])
      expect(outcomes.get(name), name).toMatchObject({ outcome: 'rejected', code: 'E_STATE', type: 'Error' });
    for (const name of ['logistic.fit cancel over an ArrayBuffer', 'step cancel over an ArrayBuffer'])
      expect(outcomes.get(name), name).toMatchObject({ outcome: 'rejected', code: 'E_OPTION', type: 'TypeError' });
    // every property is read before any view is taken, so the getter's detach is seen as an empty array
    // (the old order read the freed kinds; without ASan that went unnoticed here and failed later with "byte 0x00 has no token")
    expect(outcomes.get('Bpe spec getter detaching kinds')).toMatchObject({
      outcome: 'rejected',
      code: 'E_OPTION',
      type: 'RangeError',
      message: expect.stringContaining('spec.kinds must have between 1 and'),
    });
  }, 90_000);
});
