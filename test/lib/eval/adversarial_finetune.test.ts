// Adversarial fine-tuning: stops at the first evaluation at or below the target, interpolates
// tokens-to-target, runs the budget out otherwise, keeps the learning rate constant, continues
// one AdamW state (equal to a plain constant-LR trainMasked run), and the LR sweep.
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../../lib/data/batch.js';
import { adversarialFinetune, forgetLoss, lrSweepFinetune, type AdversarialFinetuneOptions } from '../../../lib/eval/adversarial_finetune.js';
import { trainMasked, type TrainProgress } from '../../../lib/model/train.js';
import { Transformer } from '../../../lib/model/transformer.js';
import { setSteering } from '../../../lib/steer/steering.js';

const TINY = { vocabSize: 64, dModel: 16, layers: 2, heads: 2, context: 16, seed: 5 };
const B = 4;
const T = 16;

// A learnable stream: a cycle of 30 ids with 10% noise (seeded LCG).
function stream(n: number, seed: number): Uint32Array {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  return Uint32Array.from({ length: n }, (_, i) => (next() < 0.1 ? 2 + Math.floor(next() * 62) : 2 + ((i * 7) % 30)));
}

const train = stream(8192, 1);
const held = stream(2048, 2);

/** Consecutive-window batches over `train` (endless, deterministic). */
function* batches(limit = Infinity): Generator<Batch> {
  const windows = Math.floor((train.length - 1) / T);
  for (let k = 0; k < limit; k++) {
    const inputs = new Uint32Array(B * T);
    const targets = new Uint32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = ((k * B + b) % windows) * T;
      inputs.set(train.subarray(start, start + T), b * T);
      targets.set(train.subarray(start + 1, start + T + 1), b * T);
    }
    yield { inputs, targets, lossMask: new Uint8Array(B * T).fill(1), batch: B, context: T };
  }
}

const base = (extra: Partial<AdversarialFinetuneOptions> = {}): AdversarialFinetuneOptions => ({
  targetLoss: -1,
  evalStream: { tokens: held },
  maxTokens: 20 * B * T,
  evalEvery: 2,
  lr: 1e-2,
  maxEvalWindows: 32,
  ...extra,
});

describe('adversarialFinetune', () => {
  it('stops at the first evaluation at or below the target, else at the budget, at a constant LR', async () => {
    const model = await Transformer.create(TINY);
    const original = model.getParameters();
    const lrs: number[] = [];
    const probe = await adversarialFinetune(model, batches(), base({ onProgress: (p: TrainProgress) => lrs.push(p.lr) }));
    // unreachable target: the whole budget, evaluations at 0, 2, …, 20
    expect(probe.reached).toBe(false);
    expect(probe.stoppedBy).toBe('budget');
    expect([probe.steps, probe.tokens, probe.batchTokens]).toEqual([20, 20 * B * T, B * T]);
    expect(probe.tokensToTarget).toBeNull();
    expect(probe.curve.map((p) => p.step)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(lrs).toHaveLength(20);
    expect(lrs.every((lr) => lr === 1e-2)).toBe(true);
    expect(probe.curve[10].loss).toBeLessThan(probe.curve[0].loss - 0.5);
    expect(model.getParameters()).toEqual(original);
    console.log(`recovery curve: ${probe.curve.map((p) => `${p.step}:${p.loss.toFixed(3)}`).join(' ')}`);

    // a target between two consecutive evaluations: the rerun must stop at the later one exactly
    const k = probe.curve.findIndex((p, i) => i >= 2 && p.loss < probe.curve[i - 1].loss);
    const target = (probe.curve[k - 1].loss + probe.curve[k].loss) / 2;
    expect(probe.curve.slice(0, k).every((p) => p.loss > target)).toBe(true);
    const hit = await adversarialFinetune(model, batches(), base({ targetLoss: target }));
    expect(hit.reached).toBe(true);
    expect(hit.stoppedBy).toBe('target');
    expect(hit.stepsToTarget).toBe(probe.curve[k].step);
    expect(hit.steps).toBe(probe.curve[k].step);
    expect(hit.curve).toEqual(probe.curve.slice(0, k + 1));
    const [a, b] = [probe.curve[k - 1], probe.curve[k]];
    expect(hit.tokensToTarget).toBeCloseTo(a.tokens + ((a.loss - target) / (a.loss - b.loss)) * (b.tokens - a.tokens), 6);
    expect(hit.tokensToTarget!).toBeGreaterThan(a.tokens);
    expect(hit.tokensToTarget!).toBeLessThan(b.tokens);

    // one continuous AdamW state, no partial step: the stopped copy equals a plain constant-LR run
    const plain = await Transformer.create(TINY);
    await trainMasked(plain, batches(hit.steps), { lr: 1e-2, warmupSteps: 0, minLrRatio: 1 });
    expect(Buffer.from(hit.model.getParameters().buffer).equals(Buffer.from(plain.getParameters().buffer))).toBe(true);
  });

  it('reports a start already at the target, batches that run out, fractions, and in-place fine-tuning', async () => {
    const model = await Transformer.create(TINY);
    const start = await forgetLoss(model, { tokens: held }, { maxEvalWindows: 32 });
    const already = await adversarialFinetune(model, batches(), base({ targetLoss: start, pretrainingTokens: 1e6 }));
    expect([already.reached, already.steps, already.tokensToTarget, already.fractionOfPretraining]).toEqual([true, 0, 0, 0]);

    const short = await adversarialFinetune(model, batches(3), base({ maxTokens: 1e6 }));
    expect(short.stoppedBy).toBe('data');
    expect(short.curve.map((p) => p.step)).toEqual([0, 2, 3]);

    const hit = await adversarialFinetune(model, batches(), base({ targetLoss: start - 0.05, pretrainingTokens: 1e6 }));
    expect(hit.reached).toBe(true);
    expect(hit.fractionOfPretraining).toBeCloseTo(hit.tokensToTarget! / 1e6, 12);

    const before = model.getParameters();
    const inPlace = await adversarialFinetune(model, batches(), base({ maxTokens: 2 * B * T, inPlace: true }));
    expect(inPlace.model).toBe(model);
    expect(model.getParameters()).not.toEqual(before);
  });

  it('scores only the forget label when the eval stream has labels', async () => {
    const model = await Transformer.create(TINY);
    const labels = Uint8Array.from(held, (t) => (t < 20 ? 1 : 0));
    const forget = await forgetLoss(model, { tokens: held, labels }, { maxEvalWindows: 32 });
    const other = await forgetLoss(model, { tokens: held, labels }, { maxEvalWindows: 32, forgetLabel: 0 });
    const all = await forgetLoss(model, { tokens: held }, { maxEvalWindows: 32 });
    expect(forget).not.toBe(other);
    expect(Math.min(forget, other)).toBeLessThanOrEqual(all);
    expect(Math.max(forget, other)).toBeGreaterThanOrEqual(all);
    await expect(forgetLoss(model, { tokens: held, labels }, { forgetLabel: 7 })).rejects.toThrow(/no target labelled 7/);
  });

  it('aborts and rejects bad options with clear errors', async () => {
    const model = await Transformer.create(TINY);
    const run = (o: Partial<AdversarialFinetuneOptions>, source: Iterable<Batch> = batches(40)) => adversarialFinetune(model, source, { ...base(), ...o });
    await expect(run({ targetLoss: NaN })).rejects.toThrow(/targetLoss must be a finite number/);
    await expect(run({ targetLoss: undefined as never })).rejects.toThrow(/targetLoss/);
    await expect(run({ maxTokens: 0 })).rejects.toThrow(/maxTokens must be a positive integer/);
    await expect(run({ maxTokens: B * T - 1 })).rejects.toThrow(/smaller than one batch/);
    await expect(run({ lr: 0 })).rejects.toThrow(/lr must be a finite number > 0/);
    await expect(run({ evalEvery: 0 })).rejects.toThrow(/evalEvery/);
    await expect(run({ learningRate: 1 } as never)).rejects.toThrow(/unknown fine-tuning option 'learningRate'/);
    await expect(run({ evalStream: { tokens: new Int32Array(10) as never } })).rejects.toThrow(/evalStream.tokens/);
    const mixed = [...batches(1), { ...[...batches(1)][0], batch: 2, inputs: new Uint32Array(2 * T), targets: new Uint32Array(2 * T), lossMask: new Uint8Array(2 * T) }];
    await expect(run({}, mixed)).rejects.toThrow(/same batch × context/);
    const controller = new AbortController();
    await expect(run({ signal: controller.signal, onProgress: (p) => p.step === 3 && controller.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    const early = new AbortController();
    await expect(run({ signal: early.signal, onEvaluation: () => early.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(lrSweepFinetune(model, batches() as never, base())).rejects.toThrow(/function/);
    await expect(lrSweepFinetune(model, () => batches(), { ...base(), lrs: [] })).rejects.toThrow(/lrs/);
    await expect(lrSweepFinetune(model, () => batches(), { ...base(), lrs: [1e-3, -1] })).rejects.toThrow(/every lr/);
  });
});

describe('adversarialFinetune with steering kept on during evaluation', () => {
  it('evaluates every point under the steering, trains without it, and leaves no steering behind', async () => {
    const model = await Transformer.create(TINY);
    const hs = TINY.dModel / TINY.heads;
    const steering = { heads: [{ layer: 1, head: 0, vector: Float32Array.from({ length: hs }, (_, i) => (i % 2 ? 3 : -3)) }] };
    const options = base({ maxTokens: 6 * B * T, evalEvery: 3 });
    const plain = await adversarialFinetune(model, batches(), options);
    const steered = await adversarialFinetune(model, batches(), { ...options, evalSteering: steering });
    // the start is the steered model's loss, not the plain one's
    setSteering(model, steering);
    const steeredStart = await forgetLoss(model, options.evalStream, { maxEvalWindows: 32 });
    setSteering(model, null);
    expect(steered.startLoss).toBe(steeredStart);
    expect(steered.startLoss).not.toBe(plain.startLoss);
    // the same training (steering does not touch the weights' updates): equal parameters, and
    // the last point is the fine-tuned copy's loss with the steering on
    expect(steered.model.getParameters()).toEqual(plain.model.getParameters());
    setSteering(steered.model, steering);
    expect(steered.finalLoss).toBe(await forgetLoss(steered.model, options.evalStream, { maxEvalWindows: 32 }));
    setSteering(steered.model, null);
    expect(await forgetLoss(steered.model, options.evalStream, { maxEvalWindows: 32 })).toBe(plain.finalLoss);
    // a steering that does not fit the model is refused before anything runs
    const bad = { heads: [{ layer: 9, head: 0, vector: new Float32Array(hs) }] };
    await expect(adversarialFinetune(model, batches(), { ...options, evalSteering: bad })).rejects.toMatchObject({ code: 'E_OPTION' });
  });
});

describe('lrSweepFinetune', () => {
  it('runs every rate from the same start on the same batches and picks the fastest', async () => {
    const model = await Transformer.create(TINY);
    const original = model.getParameters();
    const lrs = [1e-4, 3e-3, 3e-2];
    const sweep = await lrSweepFinetune(model, () => batches(), { ...base({ maxTokens: 8 * B * T, evalEvery: 4 }), lrs });
    expect(sweep.runs.map((r) => r.lr)).toEqual(lrs);
    expect(model.getParameters()).toEqual(original);
    // every run starts from the same loss
    const starts = sweep.runs.map((r) => r.result!.startLoss);
    expect(new Set(starts).size).toBe(1);
    const finals = sweep.runs.map((r) => r.result!.finalLoss);
    expect(sweep.bestLr).toBe(lrs[finals.indexOf(Math.min(...finals))]);
    expect(sweep.best.lr).toBe(sweep.bestLr);
    expect(sweep.runs.every((r) => !r.diverged && r.result!.curve.length === 3 && !('model' in r.result!))).toBe(true);
    console.log(`sweep final losses: ${lrs.map((lr, i) => `${lr}: ${finals[i].toFixed(3)}`).join(', ')}; best ${sweep.bestLr}`);

    // with a target that two rates reach, the one needing fewer tokens wins
    const target = Math.max(...finals.filter((f) => f < starts[0]).slice(-2)) + 1e-6;
    const timed = await lrSweepFinetune(model, () => batches(), { ...base({ targetLoss: target, maxTokens: 8 * B * T, evalEvery: 1 }), lrs });
    const reached = timed.runs.filter((r) => r.result!.reached);
    expect(reached.length).toBeGreaterThanOrEqual(1);
    const fastest = reached.reduce((x, y) => (y.result!.tokensToTarget! < x.result!.tokensToTarget! ? y : x));
    expect(timed.bestLr).toBe(fastest.lr);
  });

  it('marks a rate whose gradient or loss goes non-finite as diverged and never picks it', async () => {
    const model = await Transformer.create(TINY);
    const sweep = await lrSweepFinetune(model, () => batches(), { ...base({ maxTokens: 6 * B * T, evalEvery: 2 }), lrs: [1e-2, 1e6] });
    expect(sweep.runs[1].diverged).toBe(true);
    expect(sweep.bestLr).toBe(1e-2);
  });
});
