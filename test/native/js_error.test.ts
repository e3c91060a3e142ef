// Errors from the addon carry the stable codes of lib/errors.ts (native/addon/js_error.h), for
// argument checks, core exceptions thrown synchronously and in workers, cancellation, a busy
// model and allocation failure, keeping their classes (TypeError / RangeError) and messages.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';

function thrown(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

async function rejected(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

const tiny = { vocabSize: 64, dModel: 8, layers: 1, heads: 2, hidden: 16, context: 8, tieEmbeddings: true, ropeBase: 10000, normEps: 1e-5 };
const tokens = new Uint32Array(8).fill(3);
const batch = () => ({ batch: 1, context: 8, inputs: tokens, targets: tokens, lossMask: new Uint8Array(8).fill(1) });

describe('coded native errors', () => {
  it('argument checks: E_OPTION on TypeError and RangeError, E_NOT_FINITE for NaN data', () => {
    const type = thrown(() => native.setThreads(1.5));
    expect([type.constructor, type.code]).toEqual([TypeError, 'E_OPTION']);
    const range = thrown(() => native.setThreads(0));
    expect([range.constructor, range.code]).toEqual([RangeError, 'E_OPTION']);
    const nan = thrown(() => native.sae.latentMoments(new Float32Array([1, NaN]), 2, 0, new Float64Array(2), new Float64Array(2)));
    expect([nan.constructor, nan.code, nan.message]).toEqual([RangeError, 'E_NOT_FINITE', expect.stringContaining('activations')]);
  });

  it('core exceptions by kind: E_OPTION, E_TOO_LARGE, E_NATIVE for out of memory, in sync calls and workers', async () => {
    expect(thrown(() => native.pretokenize('x', 'bogus'))).toMatchObject({ code: 'E_OPTION', message: expect.stringContaining('bogus') });
    expect(thrown(() => native._throwNative('boom'))).toMatchObject({ code: 'E_OPTION', message: 'boom' });
    expect(await rejected(native._rejectNative('async boom'))).toMatchObject({ code: 'E_OPTION', message: 'async boom' });
    const large = thrown(() => new native.TransformerModel({ ...tiny, vocabSize: 2 ** 31, dModel: 65536 }));
    expect([large.constructor, large.code]).toEqual([RangeError, 'E_TOO_LARGE']);
    const sae = { dModel: 1 << 20, dSae: 1 << 24, kind: 'topk', k: 4, l0Coefficient: 0, bandwidth: 0.1, auxCoefficient: 0, auxK: 4, deadAfter: 10 };
    expect(thrown(() => new native.sae.SaeModel(sae))).toMatchObject({ code: 'E_NATIVE', message: 'out of memory' });
  });

  it('a non-finite gradient (E_NOT_FINITE), a cancelled step (AbortError, E_ABORTED), a busy model (E_STATE)', async () => {
    const model = new native.TransformerModel(tiny);
    await model.init(1);
    model.writeParameters(new Float32Array(model.paramCount()).fill(1e30));
    const update = { zeroGradients: true, update: true, lr: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, clip: 1 };
    expect(await rejected(model.step([batch()], update))).toMatchObject({ code: 'E_NOT_FINITE', message: expect.stringContaining('not finite') });
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    cancel[0] = 1;
    const aborted = await rejected(model.step([batch()], { zeroGradients: true, update: false }, cancel));
    expect([aborted.name, aborted.code]).toEqual(['AbortError', 'E_ABORTED']);
    const pending = model.init(2);
    expect(thrown(() => model.zeroGradients())).toMatchObject({ code: 'E_STATE', message: expect.stringContaining('busy') });
    await pending;
    const sae = new native.sae.SaeModel({ dModel: 4, dSae: 8, kind: 'topk', k: 2, l0Coefficient: 0, bandwidth: 0.1, auxCoefficient: 0, auxK: 2, deadAfter: 10 });
    const step = sae.step(new Float32Array(8).fill(0.5), 1e-3, 0.9, 0.999, 1e-8);
    expect(thrown(() => sae.init(1, 0.1))).toMatchObject({ code: 'E_STATE', message: expect.stringContaining('busy') });
    await step;
    const encode = native.sae.encodeSelected(new Float32Array([NaN, 1]), 2, 1, new Float32Array(2), new Float32Array(1), new Float32Array(1), new Float32Array(1));
    expect(await rejected(encode)).toMatchObject({ code: 'E_NOT_FINITE' });
  });
});
