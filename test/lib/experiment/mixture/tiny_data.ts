// A tiny seeded corpus for the mixture study's tests: three domains of keyword sentences.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { WORDS } from '../corpus_fixture.js';

/** corpus/<domain>.{train,val}.jsonl.gz of seeded sentences, and eval/healthsearchqa.jsonl.gz. */
export function writeData(root: string): void {
  let state = 11;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const sentence = (words: string[]) => {
    const w = Array.from({ length: 7 + Math.floor(next() * 5) }, () => words[Math.floor(next() * words.length)]);
    return `${w[0][0].toUpperCase()}${w[0].slice(1)} ${w.slice(1).join(' ')}.`;
  };
  mkdirSync(join(root, 'corpus'), { recursive: true });
  mkdirSync(join(root, 'eval'), { recursive: true });
  for (const [domain, words] of Object.entries(WORDS))
    for (const [split, docs] of [['train', 60], ['val', 25]] as const) {
      const lines = Array.from({ length: docs }, () => JSON.stringify({ text: Array.from({ length: 2 }, () => Array.from({ length: 4 }, () => sentence(words)).join(' ')).join('\n\n') }));
      writeFileSync(join(root, 'corpus', `${domain}.${split}.jsonl.gz`), gzipSync(`${lines.join('\n')}\n`));
    }
  writeFileSync(join(root, 'eval', 'healthsearchqa.jsonl.gz'), gzipSync(`${JSON.stringify({ question: 'Is a fever after surgery serious?' })}\n`));
}
