// The labelling stage over shards and the `tokenfilter label` CLI, on a tiny random LM and SAE:
// activation windows cover every position once with left context, side files equal a direct
// application of the rule, gold-domain fractions are reported, bad arguments exit with code 2.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectMinLatents } from '../../../lib/stages/label.js';
import { runCli } from '../../../lib/cli/main.js';
import { readShard, writeShard } from '../../../lib/data/shard.js';
import { readSideFile, SideFileKind, sideFilePathFor, writeSideFile } from '../../../lib/data/side_file.js';
import { tokenActivations } from '../../../lib/label/activations.js';
import { labelShards } from '../../../lib/label/label_shards.js';
import { summarizeRun } from '../../../lib/filter/run_summary.js';
import { labelTokensWithEot } from '../../../lib/label/label_tokens.js';
import { LatentMoments } from '../../../lib/label/latent_moments.js';
import { SparseAutoencoder } from '../../../lib/label/sae.js';
import { Transformer } from '../../../lib/model/transformer.js';
import { readNpy } from '../../../lib/label/npz.js';
import { writeActivationsNpy } from '../../../lib/label/activations.js';

const tokenizer = { vocabSize: 64, eotId: 0, hiddenId: 1, hash: 'ab'.repeat(32), name: 'test' };
let dir: string;
let model: Transformer;
let sae: SparseAutoencoder;
const shards: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tf-label-'));
  model = await Transformer.create({ vocabSize: 64, dModel: 16, layers: 2, heads: 2, context: 32, seed: 3 });
  await model.save(join(dir, 'lm.safetensors'));
  sae = SparseAutoencoder.create({ dModel: 16, dSae: 24, kind: 'jumprelu', seed: 4, initialThreshold: 0.05 });
  await sae.save(join(dir, 'sae.safetensors'));
  let state = 5;
  const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let s = 0; s < 2; s++) {
    const n = 300 + 50 * s;
    const tokens = new Uint32Array(n);
    const gold = new Uint8Array(n);
    for (let t = 0; t < n; t++) {
      const medical = Math.floor(t / 40) % 3 === 1;
      tokens[t] = t % 97 === 96 ? 0 : medical ? 40 + Math.floor(rand() * 24) : 2 + Math.floor(rand() * 38);
      gold[t] = tokens[t] === 0 ? 255 : medical ? 1 : 0;
    }
    const path = join(dir, `part_${s}.bin`);
    await writeShard(path, tokens, { tokenizer });
    await writeSideFile(sideFilePathFor(path, SideFileKind.Labels), gold, { kind: SideFileKind.Labels, tokenizer });
    shards.push(path);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

describe('tokenActivations', () => {
  it('gives every position one row, computed with at least `overlap` tokens of left context', async () => {
    const tokens = Uint32Array.from({ length: 150 }, (_, i) => 2 + ((i * 7) % 60));
    const rows = new Float32Array(150 * 16);
    let next = 0;
    for await (const b of tokenActivations(model, tokens, { layer: 1, context: 32, overlap: 8, batch: 3 })) {
      expect(b.start).toBe(next);
      rows.set(b.activations, b.start * 16);
      next = b.start + b.count;
    }
    expect(next).toBe(150);
    for (const p of [0, 5, 31, 32, 33, 60, 100, 149]) {
      let matched = false;
      for (let s = Math.max(0, p - 31); s <= Math.min(p - Math.min(p, 8), 150 - 32) && !matched; s++) {
        const h = await model.hiddenStates(tokens.subarray(s, s + 32), 1, { batch: 1, context: 32 });
        matched = rows.subarray(p * 16, p * 16 + 16).every((v, d) => Math.abs(v - h[(p - s) * 16 + d]) < 1e-4);
      }
      expect(matched, `row ${p}`).toBe(true);
    }
  });

  it('writes activations to .npy (float32 and float16)', async () => {
    const tokens = Uint32Array.from({ length: 70 }, (_, i) => 2 + (i % 60));
    for (const dtype of ['float32', 'float16'] as const) {
      const path = join(dir, `acts-${dtype}.npy`);
      expect(await writeActivationsNpy(path, tokenActivations(model, tokens, { layer: 2, context: 32 }), 16, dtype)).toBe(70);
      const back = await readNpy(path);
      expect(back.shape).toEqual([70, 16]);
      // rows 0..23 come from the first window (stride = context - overlap = 24)
      const h = await model.hiddenStates(tokens.subarray(0, 32), 2, { batch: 1, context: 32 });
      for (let i = 0; i < 24 * 16; i++) expect(Math.abs(back.data[i] as number - h[i])).toBeLessThan((dtype === 'float16' ? 2e-3 : 1e-4) * (1 + Math.abs(h[i])));
    }
  });
});

describe('labelShards', () => {
  it('writes label side files equal to the rule applied directly, with corpus statistics', async () => {
    const latents = [3, 7, 11, 19];
    const result = await labelShards({ shards, out: join(dir, 'labels'), model, layer: 1, sae, latents, z: 1, minLatents: 2, context: 32 });
    const encoder = sae.encoderFor(latents);
    const moments = new LatentMoments(4);
    const perShard: Float32Array[] = [];
    const all = shards.map((p) => Uint32Array.from(readShard(p).tokens));
    for (const tokens of all) {
      const acts = new Float32Array(tokens.length * 4);
      for await (const b of tokenActivations(model, tokens, { layer: 1, context: 32 })) acts.set(await sae.encode(b.activations, encoder), b.start * 4);
      moments.update(acts);
      perShard.push(acts);
    }
    expect(Array.from(result.mean)).toEqual(Array.from(moments.meanF32()));
    all.forEach((tokens, i) => {
      const expected = labelTokensWithEot(perShard[i], tokens, 0, { tokens: tokens.length, latents: 4, mean: result.mean, std: result.std, z: 1, minLatents: 2 });
      const written = readSideFile(result.shards[i].output).values;
      expect(Array.from(written)).toEqual(Array.from(expected));
    });
    expect(result.byGold?.['1'].tokens).toBeGreaterThan(0);
    expect(result.tokens).toBe(650);
  });
});

describe('labelShards through the shard runner', () => {
  const common = () => ({ model, layer: 1, sae, latents: [3, 7, 11, 19], z: 1, minLatents: 2, context: 32, sources: [join(dir, 'lm.safetensors'), join(dir, 'sae.safetensors')] });
  const labelsOf = (out: string, s: number) => readFileSync(join(out, `part_${s}.labels.side`));

  it('splits shards across tasks with the label files of one task, skips verified shards and redoes an altered one', async () => {
    const one = join(dir, 'split-one');
    const two = join(dir, 'split-two');
    const whole = await labelShards({ shards, out: one, ...common() });
    const a = await labelShards({ shards, out: two, ...common(), task: { index: 0, count: 2 } });
    const b = await labelShards({ shards, out: two, ...common(), task: { index: 1, count: 2 } });
    expect(a.shards.map((r) => r.shard)).toEqual([shards[0]]);
    expect(b.shards.map((r) => r.shard)).toEqual([shards[1]]);
    for (const s of [0, 1]) expect(labelsOf(two, s).equals(labelsOf(one, s))).toBe(true);
    expect(a.labelled + b.labelled).toBe(whole.labelled);
    expect(JSON.parse(readFileSync(b.manifest, 'utf8'))).toMatchObject({ task: { index: 1, count: 2 }, shards: [shards[1]], labelled: b.labelled });
    const again = await labelShards({ shards, out: two, ...common(), task: { index: 0, count: 2 } });
    expect(again.skipped).toEqual([shards[0]]);
    expect(again.labelled).toBe(a.labelled);
    // an output altered in place (same size) is redone, back to the same bytes
    const altered = labelsOf(two, 0);
    altered[altered.length - 1] ^= 1;
    writeFileSync(join(two, 'part_0.labels.side'), altered);
    const redone = await labelShards({ shards, out: two, ...common(), task: { index: 0, count: 2 } });
    expect(redone.skipped).toEqual([]);
    expect(labelsOf(two, 0).equals(labelsOf(one, 0))).toBe(true);
    const summary = await summarizeRun(two);
    expect(summary.stages.map((st) => st.stage)).toEqual(['label']);
    expect(summary.stages[0]).toMatchObject({ complete: true, taskCount: 2, tokens: 650, labelledTokens: whole.labelled });
    // other rule settings redo every shard; so does a call that names no source files
    expect((await labelShards({ shards, out: one, ...common(), z: 1.5 })).skipped).toEqual([]);
    expect((await labelShards({ shards, out: two, ...common(), sources: undefined, task: { index: 1, count: 2 } })).skipped).toEqual([]);
  });

  it('tokenfilter label --shard I/N labels its part and skips it on a rerun', async () => {
    const argv = ['label', ...shards, '--model', join(dir, 'lm.safetensors'), '--layer', '1', '--sae', join(dir, 'sae.safetensors'), '--context', '32', '--latents', '3,7', '--z', '1', '--out', join(dir, 'cli-split'), '--json'];
    const first = await run([...argv, '--shard', '1/2']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ task: { index: 1, count: 2 }, shards: 1, skipped: 0 });
    const second = await run([...argv, '--shard', '1/2']);
    expect(JSON.parse(second.stdout)).toMatchObject({ shards: 1, skipped: 1 });
    expect((await run([...argv, '--shard', '2/2'])).code).toBe(2);
  });
});

describe('tokenfilter label', () => {
  it('refuses to write labels over the gold labels beside the shards (output folder = shard folder)', async () => {
    const gold = readFileSync(sideFilePathFor(shards[0], SideFileKind.Labels));
    await expect(labelShards({ shards, out: dir, model, layer: 1, sae, latents: [3, 7], z: 1, minLatents: 2, context: 32 })).rejects.toMatchObject({
      code: 'E_OUTPUT_PATH',
      message: expect.stringContaining(`would write over gold labels ${sideFilePathFor(shards[0], SideFileKind.Labels)}`),
    });
    expect(readFileSync(sideFilePathFor(shards[0], SideFileKind.Labels)).equals(gold)).toBe(true);
  });

  it('labels with --latents and with --select, printing per-domain fractions', async () => {
    const base = ['label', ...shards, '--model', join(dir, 'lm.safetensors'), '--layer', '1', '--sae', join(dir, 'sae.safetensors'), '--context', '32'];
    const a = await run([...base, '--latents', '1,2,5', '--out', join(dir, 'cli-a'), '--z', '1', '--json']);
    expect(a.code, a.stderr).toBe(0);
    const summary = JSON.parse(a.stdout);
    expect(summary.tokens).toBe(650);
    expect(Object.keys(summary.byGold)).toEqual(expect.arrayContaining(['0', '1', '255']));
    expect(summary.byGold['255'].labelledFraction).toBe(0); // <|endoftext|> is never labelled
    const b = await run([...base, '--select', '3', '--out', join(dir, 'cli-b'), '--z', '1']);
    if (b.code !== 0) expect(b.stderr).toMatch(/no latent fires specifically/);
    else expect(b.stdout).toMatch(/gold label 1: [\d.]+% of/);
    // both rankings choose from the same statistics: the chosen latents are the first of each order
    for (const rank of ['auroc', 'ratio'] as const) {
      const r = await run([...base, '--select', '3', '--rank', rank, '--out', join(dir, `cli-${rank}`), '--z', '1', '--json']);
      if (r.code !== 0) {
        expect(r.stderr).toMatch(/no latent fires specifically/);
        continue;
      }
      // no --min-latents: max(2, round(2·log2 K) − 6) = 2 for K = 3
      expect(JSON.parse(readFileSync(join(dir, `cli-${rank}`, 'latents.json'), 'utf8')).minLatents).toBe(2);
      const audit = JSON.parse(r.stdout).audit as { auroc: number; score: number }[];
      const key = rank === 'auroc' ? (s: { auroc: number }) => s.auroc : (s: { score: number }) => s.score;
      for (let i = 1; i < audit.length; i++) expect(key(audit[i - 1])).toBeGreaterThanOrEqual(key(audit[i]));
    }
  });

  it('labels from activations computed elsewhere (.npy per shard) exactly as from the model', async () => {
    const acts = join(dir, 'external');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(acts, { recursive: true });
    for (const path of shards) {
      const tokens = Uint32Array.from(readShard(path).tokens);
      const stem = path.split('/').pop()!.replace(/\.bin$/, '');
      await writeActivationsNpy(join(acts, `${stem}.npy`), tokenActivations(model, tokens, { layer: 1, context: 32 }), 16);
    }
    const common = ['--sae', join(dir, 'sae.safetensors'), '--latents', '3,7,11,19', '--z', '1'];
    const viaModel = await run(['label', ...shards, '--model', join(dir, 'lm.safetensors'), '--layer', '1', '--context', '32', ...common, '--out', join(dir, 'm')]);
    const viaFiles = await run(['label', ...shards, '--activations', acts, ...common, '--out', join(dir, 'f')]);
    expect(viaModel.code, viaModel.stderr).toBe(0);
    expect(viaFiles.code, viaFiles.stderr).toBe(0);
    for (const s of ['part_0', 'part_1'])
      expect(Array.from(readSideFile(join(dir, 'f', `${s}.labels.side`)).values)).toEqual(Array.from(readSideFile(join(dir, 'm', `${s}.labels.side`)).values));
    const bad = await run(['label', shards[1], '--activations', join(dir, 'nowhere'), ...common, '--out', join(dir, 'w')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/nowhere/);
  });

  it('defaults minLatents to max(2, round(2·log2 K) − 6) for --select K, capped by k / 3 for TopK, and honours --min-latents', async () => {
    const ks = [1, 3, 8, 16, 24, 32, 40, 64, 128, 200, 256, 512, 1024, 4096];
    expect(ks.map((k) => selectMinLatents(k))).toEqual([2, 2, 2, 2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 18]);
    expect(ks.map((k) => selectMinLatents(k, 32))).toEqual([2, 2, 2, 2, 3, 4, 5, 6, 8, 9, 10, 11, 11, 11]);
    expect(selectMinLatents(512, 4)).toBe(2);
    const base = ['label', ...shards, '--model', join(dir, 'lm.safetensors'), '--layer', '1', '--sae', join(dir, 'sae.safetensors'), '--context', '32', '--z', '1'];
    const given = await run([...base, '--latents', '1,2,5', '--min-latents', '3', '--out', join(dir, 'cli-m3')]);
    expect(given.code, given.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'cli-m3', 'latents.json'), 'utf8')).minLatents).toBe(3);
    // a TopK SAE with k = 4: --select 32 gets min(4, max(2, round(4 / 3))) = 2, not the log rule's 4
    await SparseAutoencoder.create({ dModel: 16, dSae: 24, kind: 'topk', k: 4, seed: 4 }).save(join(dir, 'sae-topk.safetensors'));
    const topkBase = base.map((a) => (a === join(dir, 'sae.safetensors') ? join(dir, 'sae-topk.safetensors') : a));
    const capped = await run([...topkBase, '--select', '32', '--out', join(dir, 'cli-topk')]);
    expect(capped.code, capped.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'cli-topk', 'latents.json'), 'utf8')).minLatents).toBe(2);
  });

  it('exits 2 on bad arguments and files', async () => {
    const base = ['label', ...shards, '--model', join(dir, 'lm.safetensors'), '--layer', '1', '--out', join(dir, 'x')];
    expect((await run([...base, '--sae', join(dir, 'sae.safetensors')])).code).toBe(2); // neither --latents nor --select
    expect((await run([...base, '--sae', join(dir, 'missing.safetensors'), '--latents', '1'])).code).toBe(2);
    const r = await run([...base, '--sae', join(dir, 'sae.safetensors'), '--latents', '99']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/latent 99 is outside/);
    expect((await run([...base, '--sae', join(dir, 'sae.safetensors'), '--latents', '1', '--layer', '9'])).code).toBe(2);
    const rank = await run([...base, '--sae', join(dir, 'sae.safetensors'), '--select', '2', '--rank', 'median']);
    expect(rank.code).toBe(2);
    expect(rank.stderr).toMatch(/--rank must be auroc or ratio, got median/);
  });
});
