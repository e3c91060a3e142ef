// The device transformer against the CPU one: same parameters from the same seed, logits and
// hidden states within fp32 tolerance, a 50-step training run whose loss curves agree, masked
// targets that contribute exactly zero gradient, checkpoints that move between devices, and
// bf16 autocast within a looser tolerance.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Batch } from '../../lib/data/batch.js';
import { trainMasked } from '../../lib/model/train.js';
import { Transformer } from '../../lib/model/transformer.js';
import { expectClose, freshSeed, makeRng } from '../native/ops/helpers.js';
import { describeCuda } from './helpers.js';

const seed = freshSeed();
const rng = makeRng(seed);
const CONFIG = { vocabSize: 97, dModel: 64, layers: 2, heads: 4, context: 48, seed: 5 };
const dir = mkdtempSync(join(tmpdir(), 'tf-cuda-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function batch(B: number, T: number, maskEvery = 0): Batch {
  const inputs = Uint32Array.from({ length: B * T }, () => rng.below(CONFIG.vocabSize));
  const targets = Uint32Array.from({ length: B * T }, (_, i) => (inputs[i] * 7 + 3) % CONFIG.vocabSize);
  const lossMask = Uint8Array.from({ length: B * T }, (_, i) => (maskEvery > 0 && i % maskEvery === 0 ? 0 : 1));
  return { inputs, targets, lossMask, batch: B, context: T };
}

describeCuda(`CUDA transformer vs CPU (seed ${seed})`, () => {
  it('starts from identical parameters; logits, hidden states and loss agree (fp32: atol 1e-4, rtol 1e-3)', async () => {
    const cpu = await Transformer.create({ ...CONFIG, device: 'cpu' });
    const gpu = await Transformer.create({ ...CONFIG, device: 'cuda' });
    expect(gpu.device).toBe('cuda');
    expect(Array.from(gpu.getParameters())).toEqual(Array.from(cpu.getParameters()));
    const b = batch(3, 41);
    expectClose(await gpu.logits(b.inputs, { batch: 3, context: 41 }), await cpu.logits(b.inputs, { batch: 3, context: 41 }),
      { atol: 1e-4, rtol: 1e-3 }, 'logits');
    for (const layer of [0, 1, CONFIG.layers + 1])
      expectClose(await gpu.hiddenStates(b.inputs, layer, { batch: 3, context: 41 }),
        await cpu.hiddenStates(b.inputs, layer, { batch: 3, context: 41 }), { atol: 1e-4, rtol: 1e-3 }, `hidden ${layer}`);
    expect(Math.abs((await gpu.loss(b)) - (await cpu.loss(b)))).toBeLessThan(1e-4);
  });

  it('one step gives the CPU gradients (atol 1e-5, rtol 1e-2) and masked targets add exactly nothing', async () => {
    const cpu = await Transformer.create({ ...CONFIG, device: 'cpu' });
    const gpu = await Transformer.create({ ...CONFIG, device: 'cuda' });
    const b = batch(2, 48, 3);
    const opts = { zeroGradients: true, update: false };
    const rc = await cpu.native.step([b], opts), rg = await gpu.native.step([b], opts);
    expect(Math.abs(rg.lossSum - rc.lossSum)).toBeLessThan(1e-3);
    expectClose(gpu.getGradients(), cpu.getGradients(), { atol: 1e-5, rtol: 1e-2 }, 'gradients');
    // change every masked target: the gradient must not move by a single bit
    const before = gpu.getGradients();
    const changed = { ...b, targets: Uint32Array.from(b.targets, (t, i) => (b.lossMask[i] ? t : (t + 1) % CONFIG.vocabSize)) };
    await gpu.native.step([changed], opts);
    expect(Buffer.from(gpu.getGradients().buffer).equals(Buffer.from(before.buffer))).toBe(true);
    // all targets masked: zero gradient exactly
    await gpu.native.step([{ ...b, lossMask: new Uint8Array(b.lossMask.length) }], opts);
    expect(gpu.getGradients().every((g) => g === 0)).toBe(true);
  });

  it('50 training steps: the loss curves agree (fp32: every step within 5e-3 relative)', async () => {
    const batches = Array.from({ length: 50 }, () => batch(4, 48, 5));
    const run = async (device: 'cpu' | 'cuda') => {
      const model = await Transformer.create({ ...CONFIG, device });
      const summary = await trainMasked(model, batches, { steps: 50, lr: 3e-3, warmupSteps: 5 });
      return { model, losses: summary.lossHistory ?? [] };
    };
    const cpu = await run('cpu'), gpu = await run('cuda');
    expect(gpu.losses.length).toBe(50);
    expectClose(gpu.losses, cpu.losses, { atol: 0, rtol: 5e-3 }, 'loss curve');
    expect(gpu.losses[49]).toBeLessThan(gpu.losses[0] * 0.8);
  });

  it('saves on one device and loads on the other with the same logits (exact parameters)', async () => {
    const gpu = await Transformer.create({ ...CONFIG, seed: 11, device: 'cuda' });
    await trainMasked(gpu, [batch(2, 16), batch(2, 16)], { steps: 2 });
    const path = join(dir, 'gpu.safetensors');
    await gpu.save(path);
    const onCpu = await Transformer.load(path, { device: 'cpu' });
    expect(Array.from(onCpu.getParameters())).toEqual(Array.from(gpu.getParameters()));
    const back = join(dir, 'cpu.safetensors');
    await onCpu.save(back);
    const again = await Transformer.load(back, { device: 'cuda' });
    const b = batch(2, 16);
    const shape = { batch: 2, context: 16 };
    expectClose(await again.logits(b.inputs, shape), await onCpu.logits(b.inputs, shape), { atol: 1e-4, rtol: 1e-3 }, 'logits');
  });

  it('bf16 autocast: logits within 5e-2 of fp32 and training still learns', async () => {
    const fp32 = await Transformer.create({ ...CONFIG, device: 'cuda' });
    const bf16 = await Transformer.create({ ...CONFIG, device: 'cuda', precision: 'bf16' });
    const b = batch(2, 32);
    const shape = { batch: 2, context: 32 };
    expectClose(await bf16.logits(b.inputs, shape), await fp32.logits(b.inputs, shape), { atol: 5e-2, rtol: 5e-2 }, 'bf16 logits');
    const summary = await trainMasked(bf16, Array.from({ length: 30 }, () => batch(4, 48)), { steps: 30, lr: 3e-3 });
    const h = summary.lossHistory ?? [];
    expect(h[h.length - 1]).toBeLessThan(h[0] * 0.8);
  });
});
