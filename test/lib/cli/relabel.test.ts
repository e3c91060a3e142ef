import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured } from './run_captured.js';
import { readShard } from '../../../lib/data/shard.js';
import { readSideFile } from '../../../lib/data/side_file.js';
import { Tokenizer } from '../../../lib/data/tokenizer.js';
import { transferLabels } from '../../../lib/data/transfer_labels.js';
import { tempDir } from '../data/helpers.js';

const { dir, cleanup } = tempDir('tf-relabel-');
afterAll(cleanup);

const run = runCaptured;

const texts = [
  'The patient took 5 µg of digoxin 💊 daily for atrial fibrillation.',
  'A robin is a small songbird; naïve cells divide by mitosis.',
  'Café owners treat hypertension with lisinopril, the doctor said.',
];

/** UTF-16 offsets → code-point offsets, as Python would report them. */
function toCodePoints(text: string, offsets: Uint32Array): number[][] {
  const cpIndex = new Uint32Array(text.length + 1);
  let cp = 0;
  for (let u = 0; u < text.length; u++) {
    cpIndex[u] = cp;
    const code = text.charCodeAt(u);
    if (!(code >= 0xd800 && code <= 0xdbff)) cp++;
  }
  cpIndex[text.length] = cp;
  const pairs: number[][] = [];
  for (let t = 0; t < offsets.length / 2; t++) pairs.push([cpIndex[offsets[2 * t]], cpIndex[offsets[2 * t + 1]]]);
  return pairs;
}

describe('tokenfilter relabel', () => {
  it("writes shards identical to tokenize's, with labels moved from another tokenizer", async () => {
    const ours = await Tokenizer.train(texts, { vocabSize: 320 });
    const theirs = await Tokenizer.train(texts, { vocabSize: 270 });
    const tokPath = join(dir, 'tokenizer.json');
    await ours.save(tokPath);
    const medical = /patient|digoxin|hypertension|lisinopril|doctor/;
    const records = texts.map((text, i) => {
      const { offsets } = theirs.encodeWithOffsets(text);
      const labels: number[] = [];
      for (let t = 0; t < offsets.length / 2; t++) {
        const word = text.slice(offsets[2 * t], offsets[2 * t + 1]);
        labels.push(medical.test(text.slice(Math.max(0, offsets[2 * t] - 12), offsets[2 * t + 1] + 12)) && word.trim() !== '' ? 1 : 0);
      }
      return { id: `d${i}`, text, offsets: toCodePoints(text, offsets), labels };
    });
    const input = join(dir, 'foreign.jsonl');
    writeFileSync(input, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const docsPath = join(dir, 'docs.jsonl');
    writeFileSync(docsPath, texts.map((text) => JSON.stringify({ text })).join('\n') + '\n');

    const out = join(dir, 'relabelled');
    const r = await run('relabel', input, '--tokenizer', tokPath, '--out', out, '--shard-tokens', '40', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ command: 'relabel', kind: 'labels', documents: 3 });
    const t = await run('tokenize', docsPath, '--out', join(dir, 'plain'), '--tokenizer', tokPath, '--shard-tokens', '40');
    expect(t.code).toBe(0);
    expect(summary.paths.length).toBeGreaterThan(1);
    const tokens: number[] = [];
    const labels: number[] = [];
    for (const path of summary.paths as string[]) {
      const shard = readShard(path);
      const plain = readShard(join(dir, 'plain', path.split('/').pop()!));
      expect(Array.from(shard.tokens)).toEqual(Array.from(plain.tokens));
      tokens.push(...shard.tokens);
      labels.push(...readSideFile(`${path.slice(0, -4)}.labels.side`).values);
    }
    // expected: separator 0, then each document's labels moved directly
    const expected: number[] = [];
    records.forEach((rec, i) => {
      const { offsets } = ours.encodeWithOffsets(texts[i]);
      const theirsOffsets = theirs.encodeWithOffsets(texts[i]).offsets;
      expected.push(0, ...transferLabels(texts[i], theirsOffsets, Uint8Array.from(rec.labels), offsets));
    });
    expect(labels).toEqual(expected);
    expect(expected.filter((v) => v === 1).length).toBe(summary.flagged);
    expect(JSON.parse(readFileSync(join(out, 'relabel.json'), 'utf8'))).toMatchObject({ offsetUnit: 'codepoint', rule: 'any' });
  });

  it('refuses a malformed record by index and id, a bad unit, and a non-empty output', async () => {
    const ours = await Tokenizer.train(texts, { vocabSize: 280 });
    const tokPath = join(dir, 'tok2.json');
    await ours.save(tokPath);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify({ id: 'x', text: 'abc', offsets: [[0, 3]], labels: [1] })}\n${JSON.stringify({ id: 'y', text: 'abc', offsets: [[0, 9]], labels: [1] })}\n`);
    const r = await run('relabel', bad, '--tokenizer', tokPath, '--out', join(dir, 'bad-out'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/record 1 \(id y\).*\[0, 9\)/);
    const mixed = join(dir, 'mixed.jsonl');
    writeFileSync(mixed, `${JSON.stringify({ text: 'abc', offsets: [0, 3], labels: [1] })}\n${JSON.stringify({ text: 'abc', offsets: [0, 3], scores: [0.5] })}\n`);
    expect((await run('relabel', mixed, '--tokenizer', tokPath, '--out', join(dir, 'mixed-out'))).stderr).toMatch(/has scores, but the first record had labels/);
    expect((await run('relabel', mixed, '--tokenizer', tokPath, '--out', join(dir, 'u'), '--offset-unit', 'bytes')).stderr).toMatch(/--offset-unit must be one of/);
    const scores = join(dir, 'scores.jsonl');
    writeFileSync(scores, `${JSON.stringify({ text: 'abc', offsets: [0, 3], scores: [0.5] })}\n`);
    const ok = await run('relabel', scores, '--tokenizer', tokPath, '--out', join(dir, 'scores-out'), '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).kind).toBe('scores');
    const again = await run('relabel', scores, '--tokenizer', tokPath, '--out', join(dir, 'scores-out'));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds shards/);
  });
});
