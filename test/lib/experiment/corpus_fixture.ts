/** A small seeded data folder for the experiment's tests: three domains of word salad, and a few questions. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The keywords of each domain, shared by the experiment's and the mixture study's fixtures. */
export const WORDS: Readonly<Record<string, string[]>> = {
  medical: ['patient', 'dose', 'fever', 'diagnosis', 'therapy', 'clinic', 'symptom', 'tumor', 'drug', 'surgery'],
  biology: ['cell', 'protein', 'gene', 'membrane', 'enzyme', 'species', 'organism', 'molecule', 'tissue', 'evolution'],
  general: ['river', 'city', 'history', 'music', 'mountain', 'language', 'market', 'village', 'poem', 'railway'],
};

/** A data folder with corpus/<domain>.{train,val}.jsonl.gz made of seeded word salads. */
export function writeCorpus(dir: string): void {
  let state = 7;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  mkdirSync(join(dir, 'corpus'), { recursive: true });
  for (const [domain, words] of Object.entries(WORDS))
    for (const [split, docs] of [['train', 40], ['val', 8]] as const) {
      const lines: string[] = [];
      for (let d = 0; d < docs; d++) {
        // lines of sentences of 8–14 words
        const sentence = () => {
          const w = Array.from({ length: 8 + Math.floor(next() * 7) }, () => words[Math.floor(next() * words.length)]);
          return `${w[0][0].toUpperCase()}${w[0].slice(1)} ${w.slice(1).join(' ')}.`;
        };
        const text = Array.from({ length: 1 + Math.floor(next() * 3) }, () => Array.from({ length: 2 + Math.floor(next() * 3) }, sentence).join(' ')).join('\n');
        lines.push(JSON.stringify({ id: `${domain}-${split}-${d}`, domain, text }));
      }
      writeFileSync(join(dir, 'corpus', `${domain}.${split}.jsonl.gz`), gzipSync(lines.join('\n') + '\n'));
    }
  mkdirSync(join(dir, 'eval'), { recursive: true });
  const questions = Object.entries(WORDS).flatMap(([domain, words]) =>
    [0, 1, 2].map((k) => JSON.stringify({ id: `${domain}-${k}`, source: 'test', subject: domain, domain, question: `${words[k]} ${words[k + 1]}?`, choices: words.slice(k + 2, k + 6), answer: k % 4 })));
  writeFileSync(join(dir, 'eval', 'mcq.jsonl.gz'), gzipSync(questions.join('\n') + '\n'));
}
