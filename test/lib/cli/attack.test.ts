// `tokenfilter finetune-attack` and `tokenfilter rmu` on tiny shards and models.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../lib/cli/main.js';
import { BatchSampler } from '../../../lib/data/sampler.js';
import { writeShard } from '../../../lib/data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../../../lib/data/side_file.js';
import { trainMasked } from '../../../lib/model/train.js';
import { Transformer } from '../../../lib/model/transformer.js';

const tokenizer = { vocabSize: 64, eotId: 0, hiddenId: 1, hash: 'a7'.repeat(32), name: 'test' };
const other = { ...tokenizer, hash: 'b8'.repeat(32), name: 'other' };
const dir = mkdtempSync(join(tmpdir(), 'tf-cli-attack-'));
const path = (name: string) => join(dir, name);
const TINY = { vocabSize: 64, dModel: 16, layers: 2, heads: 2, context: 16, seed: 6 };

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

// forget text: a cycle over ids 2..31 with 10% noise; retain text: ids 32..63 at random
function text(n: number, seed: number, forget: boolean): Uint32Array {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  return Uint32Array.from({ length: n }, (_, i) => (forget ? (next() < 0.1 ? 2 + Math.floor(next() * 30) : 2 + ((i * 7) % 30)) : 32 + Math.floor(next() * 32)));
}

beforeAll(async () => {
  await writeShard(path('forget.bin'), text(8000, 1, true), { tokenizer });
  await writeShard(path('retain.bin'), text(8000, 2, false), { tokenizer });
  // held-out: forget and retain text interleaved in blocks, labelled 1 and 0
  const held = new Uint32Array(4000);
  const labels = new Uint8Array(4000);
  const f = text(2000, 3, true);
  const r = text(2000, 4, false);
  for (let i = 0; i < 4000; i++) {
    const forget = Math.floor(i / 100) % 2 === 0;
    held[i] = forget ? f[i >> 1] : r[i >> 1];
    labels[i] = forget ? 1 : 0;
  }
  await writeShard(path('eval.bin'), held, { tokenizer });
  await writeSideFile(sideFilePathFor(path('eval.bin'), SideFileKind.Labels), labels, { kind: SideFileKind.Labels, tokenizer });
  await writeShard(path('foreign.bin'), text(1000, 5, true), { tokenizer: other });
  const model = await Transformer.create(TINY);
  await model.save(path('model.safetensors'));
  // the "unfiltered baseline": the same start trained on the forget text
  const baseline = await Transformer.create(TINY);
  const sampler = new BatchSampler({ shards: [path('forget.bin')], batch: 8, context: 16, seed: 9 });
  await trainMasked(baseline, sampler, { steps: 25, lr: 1e-2 });
  sampler.close();
  await baseline.save(path('baseline.safetensors'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const attack = ['finetune-attack', '--model', path('model.safetensors'), '--forget', path('forget.bin'), '--eval', path('eval.bin'), '--batch', '8', '--eval-every', '5', '--max-eval-windows', '64'];

describe('tokenfilter finetune-attack', () => {
  it('fine-tunes until the target loss and reports tokens, curve and fraction', async () => {
    const r = await run([...attack, '--target-loss', '3.5', '--lr', '0.01', '--max-tokens', String(200 * 128), '--pretraining-tokens', '1000000', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.reached).toBe(true);
    expect(out.targetLoss).toBe(3.5);
    expect(out.curve[0].loss).toBeGreaterThan(3.5);
    expect(out.curve[out.curve.length - 1].loss).toBeLessThanOrEqual(3.5);
    expect(out.tokensToTarget).toBeGreaterThan(out.curve[out.curve.length - 2].tokens);
    expect(out.tokensToTarget).toBeLessThanOrEqual(out.tokensAtTarget);
    expect(out.fractionOfPretraining).toBeCloseTo(out.tokensToTarget / 1e6, 12);
    expect(out.batchTokens).toBe(128);
    expect(r.stderr).toMatch(/target forget loss 3\.5000/);
  });

  it("sweeps learning rates and recovers to the baseline model's forget loss", async () => {
    const r = await run([...attack, '--baseline-model', path('baseline.safetensors'), '--lr-sweep', '--lrs', '0.0001,0.01', '--max-tokens', String(200 * 128), '--sweep-tokens', String(100 * 128), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.sweep.runs.map((x: { lr: number }) => x.lr)).toEqual([0.0001, 0.01]);
    expect(out.sweep.bestLr).toBe(0.01);
    expect(out.lr).toBe(0.01);
    expect(out.reached).toBe(true);
    expect(out.targetLoss).toBeLessThan(out.startLoss);
    expect(r.stderr).toMatch(/sweep: fastest lr 0\.01/);
  });

  it('--eval-steering keeps a steering file applied at every evaluation of --model, and only there', async () => {
    const fixed = [...attack, '--target-loss', '0.01', '--lr', '0.01', '--max-tokens', String(20 * 128), '--json']; // a target no run reaches: every curve is the whole budget
    const plain = JSON.parse((await run(fixed)).stdout);
    // head size 8: a zero shift leaves every evaluation bit-identical; a large one moves them all
    const steer = (name: string, value: number) => {
      writeFileSync(path(name), JSON.stringify({ heads: [{ layer: 1, head: 0, vector: Array(8).fill(value) }, { layer: 0, head: 1, vector: Array(8).fill(value) }] }));
      return path(name);
    };
    const zero = await run([...fixed, '--eval-steering', steer('zero.json', 0)]);
    expect(zero.code, zero.stderr).toBe(0);
    const zeroOut = JSON.parse(zero.stdout);
    expect(zeroOut.evalSteering).toBe(path('zero.json'));
    expect(zeroOut.curve).toEqual(plain.curve);
    const strong = await run([...fixed, '--eval-steering', steer('strong.json', 4)]);
    expect(strong.code, strong.stderr).toBe(0);
    expect(strong.stderr).toMatch(/under steering from .*strong\.json \(2 heads, 0 residual layers/);
    const strongOut = JSON.parse(strong.stdout);
    expect(strongOut.curve).toHaveLength(plain.curve.length);
    for (const [i, p] of strongOut.curve.entries()) {
      expect(p.tokens).toBe(plain.curve[i].tokens);
      expect(Math.abs(p.loss - plain.curve[i].loss), `evaluation ${i}`).toBeGreaterThan(1e-3);
    }
    // the target from --baseline-model is the baseline's unsteered loss
    const withBase = [...attack, '--baseline-model', path('baseline.safetensors'), '--lr', '0.01', '--max-tokens', String(10 * 128), '--json'];
    expect(JSON.parse((await run([...withBase, '--eval-steering', path('strong.json')])).stdout).targetLoss).toBe(JSON.parse((await run(withBase)).stdout).targetLoss);
  });

  it('refuses a bad --eval-steering file by name, writing nothing', async () => {
    const base = [...attack, '--target-loss', '3', '--lr', '0.01', '--max-tokens', String(10 * 128), '--out', path('steered-out.safetensors'), '--eval-steering'];
    const bad = async (name: string, content: string, message: RegExp) => {
      writeFileSync(path(name), content);
      const r = await run([...base, path(name)]);
      expect([r.code, r.stderr], name).toEqual([2, expect.stringMatching(message)]);
      expect(existsSync(path('steered-out.safetensors'))).toBe(false);
    };
    await bad('head.json', JSON.stringify({ heads: [{ layer: 0, head: 2, vector: Array(8).fill(1) }] }), /--eval-steering .*head\.json: heads\[0\]\.head = 2 is out of range \[0, 1\]/);
    await bad('layer.json', JSON.stringify({ heads: [{ layer: 2, head: 0, vector: Array(8).fill(1) }] }), /heads\[0\]\.layer = 2 is out of range \[0, 1\]/);
    await bad('width.json', JSON.stringify({ heads: [{ layer: 0, head: 0, vector: Array(7).fill(1) }] }), /heads\[0\]\.vector has length 7, expected 8/);
    await bad('nan.json', JSON.stringify({ residual: [{ layer: 0, direction: [...Array(15).fill(1), 'x'] }] }), /residual\[0\]\.direction\[15\] = x is not finite/);
    await bad('keep.json', JSON.stringify({ residual: [{ layer: 0, direction: Array(16).fill(1), keep: 2 }] }), /residual\[0\]\.keep = 2 must be in \[0, 1\]/);
    await bad('key.json', JSON.stringify({ head: [] }), /unknown steering option 'head'/);
    await bad('empty.json', JSON.stringify({ heads: [] }), /steers nothing/);
    await bad('list.json', '[1, 2]', /one object with 'heads' and\/or 'residual'/);
    await bad('text.json', 'heads: 1', /text\.json: not valid JSON/);
    const missing = await run([...base, path('absent.json')]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/absent\.json/)]);
  });

  it('exits 2 for bad arguments and files', async () => {
    const neither = await run([...attack]);
    expect([neither.code, neither.stderr]).toEqual([2, expect.stringMatching(/exactly one of --target-loss/)]);
    const both = await run([...attack, '--target-loss', '3', '--baseline-model', path('baseline.safetensors')]);
    expect(both.code).toBe(2);
    const lr = await run([...attack, '--target-loss', '3', '--lr', '0.01', '--lr-sweep']);
    expect([lr.code, lr.stderr]).toEqual([2, expect.stringMatching(/either --lr or --lr-sweep/)]);
    const missing = await run(['finetune-attack', '--model', path('none.safetensors'), '--forget', path('forget.bin'), '--eval', path('eval.bin'), '--target-loss', '3']);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/none\.safetensors/)]);
    const foreign = await run([...attack, '--forget', path('foreign.bin'), '--target-loss', '3']);
    expect([foreign.code, foreign.stderr]).toEqual([2, expect.stringMatching(/tokenizer mismatch/)]);
    const label = await run([...attack, '--target-loss', '3', '--forget-label', '5']);
    expect([label.code, label.stderr]).toEqual([2, expect.stringMatching(/no token labelled 5/)]);
    const budget = await run([...attack, '--target-loss', '3', '--max-tokens', '100']);
    expect([budget.code, budget.stderr]).toEqual([2, expect.stringMatching(/smaller than one batch/)]);
  });
});

describe('tokenfilter rmu', () => {
  it('unlearns with RMU, saving a model that differs only in the selected MLPs', async () => {
    const out = path('rmu.safetensors');
    const r = await run(['rmu', '--model', path('baseline.safetensors'), '--forget', path('forget.bin'), '--retain', path('retain.bin'), '--out', out, '--steps', '30', '--lr', '0.003', '--steering', '5', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect([summary.layer, summary.blocks, summary.steps]).toEqual([1, [0], 30]);
    expect(summary.updatedTensors).toEqual(['blocks.0.mlp.fc.weight', 'blocks.0.mlp.proj.weight']);
    expect(summary.curve[29].forgetLoss).toBeLessThan(summary.curve[0].forgetLoss);
    const before = (await Transformer.load(path('baseline.safetensors'))).tensors();
    const after = (await Transformer.load(out)).tensors();
    for (const [name, t] of before) expect(Buffer.from(after.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(!summary.updatedTensors.includes(name));
  });

  it('exits 2 for bad arguments and files', async () => {
    const base = ['rmu', '--model', path('model.safetensors'), '--forget', path('forget.bin'), '--retain', path('retain.bin'), '--out', path('x.safetensors'), '--steps', '1'];
    const layer = await run([...base, '--layer', '3']);
    expect([layer.code, layer.stderr]).toEqual([2, expect.stringMatching(/--layer must be in \[1, 2\]/)]);
    const retain = await run([...base.slice(0, 5), '--retain', path('nothing.bin'), '--out', path('x.safetensors')]);
    expect([retain.code, retain.stderr]).toEqual([2, expect.stringMatching(/nothing\.bin/)]);
    const foreign = await run([...base.slice(0, 5), '--retain', path('foreign.bin'), '--out', path('x.safetensors')]);
    expect([foreign.code, foreign.stderr]).toEqual([2, expect.stringMatching(/tokenizer mismatch/)]);
    const noOut = await run(base.slice(0, 7));
    expect(noOut.code).toBe(2);
    const model = readFileSync(path('model.safetensors'));
    const overModel = await run([...base.slice(0, 7), '--out', path('model.safetensors'), '--steps', '1']);
    expect([overModel.code, overModel.stderr]).toEqual([2, expect.stringMatching(/--out .*model\.safetensors would write over --model/)]);
    expect(readFileSync(path('model.safetensors')).equals(model)).toBe(true);
  });
});
