import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenizerContract } from '../../../lib/data/tokenizer_contract.js';

/** A fresh temporary folder and a function removing it. */
export function tempDir(prefix = 'tf-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A tokenizer contract without a tokenizer behind it. */
export function fakeTokenizer(vocabSize: number, hashSeed = 'a'): TokenizerContract {
  return { vocabSize, eotId: vocabSize - 1, hiddenId: vocabSize - 2, hash: hashSeed.repeat(64).slice(0, 64).replace(/[^0-9a-f]/g, 'c'), name: `fake-${vocabSize}-${hashSeed}` };
}
