/** Shared tiny fixtures for the classifier tests: a small tokenizer and an untrained biLM. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BiLM } from '../../../lib/classify/bilm.js';
import { Tokenizer } from '../../../lib/data/tokenizer.js';

export const MEDICAL = 'the patient was given a dose of insulin for diabetes and the doctor checked the blood pressure. ';
export const GENERAL = 'the river runs past the old castle where the king held a feast for the town in summer. ';

let tokenizer: Tokenizer | undefined;

/** A 300-id BPE trained on the two sentences. */
export async function tinyTokenizer(): Promise<Tokenizer> {
  tokenizer ??= await Tokenizer.train([MEDICAL.repeat(20), GENERAL.repeat(20)], { vocabSize: 300 });
  return tokenizer;
}

/** An untrained biLM: width 16, 2 blocks, context 16. */
export async function tinyBiLM(seed = 3): Promise<BiLM> {
  return BiLM.create(await tinyTokenizer(), { dModel: 16, layers: 2, heads: 2, context: 16, seed });
}

/** An untrained biLM ({@link tinyBiLM}) saved in a fresh temporary folder named from `prefix`: the folder, the biLM, its tokenizer and its path. */
export async function savedTinyBiLM(prefix: string, seed = 3): Promise<{ dir: string; bilm: BiLM; tokenizer: Tokenizer; bilmPath: string }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const bilm = await tinyBiLM(seed);
  const bilmPath = join(dir, 'bilm.safetensors');
  await bilm.save(bilmPath);
  return { dir, bilm, tokenizer: bilm.tokenizer, bilmPath };
}

/** Deterministic pseudo-random ids below `vocab`. */
export function randomIds(n: number, vocab: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % vocab;
  }
  return out;
}
