// The inference paths of `tokenfilter score` on the device: a biLM loaded with device 'cuda'
// gives the CPU's features (both directions, several layers, documents longer than the context
// read in overlapping windows), and a TokenClassifier on it the CPU's scores. Fresh random
// biLMs and documents; fp32 within atol 1e-4 (hidden states of unit scale), bf16 within
// 5e-2 + 5e-2·|x| (bf16 inputs to every GEMM: about 2^-9 relative each, through two blocks and the norm).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { BiLM } from '../../lib/classify/bilm.js';
import { LogisticModel } from '../../lib/classify/logistic.js';
import { TokenClassifier } from '../../lib/classify/token_classifier.js';
import { tinyTokenizer } from '../lib/classify/fixtures.js';
import { expectClose, freshSeed, makeRng } from '../native/ops/helpers.js';
import { describeCuda } from './helpers.js';

const seed = freshSeed();
const rng = makeRng(seed);
const TOL = { fp32: { atol: 1e-4, rtol: 0 }, bf16: { atol: 5e-2, rtol: 5e-2 } } as const;

async function savedBiLM(): Promise<string> {
  const bilm = await BiLM.create(await tinyTokenizer(), { dModel: 32, layers: 2, heads: 2, context: 24, seed: rng.below(1000) });
  const path = join(mkdtempSync(join(tmpdir(), 'tf-cuda-bilm-')), 'bilm.safetensors');
  await bilm.save(path);
  return path;
}

function documents(vocab: number): Uint32Array[] {
  return [5, 24, 61, 130].map((n) => Uint32Array.from({ length: n }, () => rng.below(vocab)));
}

describeCuda(`CUDA inference: biLM features and token scores vs CPU (seed ${seed})`, () => {
  for (const precision of ['fp32', 'bf16'] as const) {
    it(`${precision}: biLM features at every layer, both directions (atol ${TOL[precision].atol}, rtol ${TOL[precision].rtol})`, async () => {
      const path = await savedBiLM();
      const cpu = await BiLM.load(path, { device: 'cpu' });
      const gpu = await BiLM.load(path, { device: 'cuda', precision });
      expect(gpu.forward.device).toBe('cuda');
      const docs = documents(cpu.forward.config.vocabSize);
      for (let layer = 0; layer < cpu.layerCount; layer++) {
        const want = await cpu.featuresOfDocuments(docs, layer, { batch: 3 });
        const got = await gpu.featuresOfDocuments(docs, layer, { batch: 3 });
        want.forEach((w, k) => expectClose(got[k], w, TOL[precision], `${precision} layer ${layer} document ${k}`));
      }
    });
  }

  it('fp32: TokenClassifier scores (smoothed probe) within 1e-4', async () => {
    const path = await savedBiLM();
    const cpu = await BiLM.load(path, { device: 'cpu' });
    const gpu = await BiLM.load(path, { device: 'cuda' });
    const d = cpu.dimension;
    const weights = Float64Array.from({ length: d }, () => rng.normal() * 0.5);
    const probe = new LogisticModel(new Float64Array(d), new Float64Array(d).fill(1), weights, 0.1, { loss: 0, gradientNorm: 0, iterations: 0, converged: true });
    const make = (b: BiLM) => new TokenClassifier(b, path, 1, probe, 0.5, null, 'both', 2);
    const docs = documents(cpu.forward.config.vocabSize);
    const want = await make(cpu).scoreDocuments(docs);
    const got = await make(gpu).scoreDocuments(docs);
    want.forEach((w, k) => expectClose(got[k], w, { atol: 1e-4, rtol: 0 }, `scores of document ${k}`));
  });
});
