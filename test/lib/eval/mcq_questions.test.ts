// Reading multiple-choice questions: validation with file:line errors, filters, seeded sample,
// and the shared MCQ file scored by a tiny model (skipped when ../shared/data is absent).
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MalformedRecordError } from '../../../lib/data/document.js';
import { Tokenizer } from '../../../lib/data/tokenizer.js';
import { clozePrompt, scoreMcq } from '../../../lib/eval/mcq.js';
import { readMcq, toMcqQuestion } from '../../../lib/eval/mcq_questions.js';
import { Transformer } from '../../../lib/model/transformer.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-mcq-'));
const SHARED = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data', 'eval', 'mcq.jsonl.gz');

function record(i: number, domain: string, subject: string) {
  return { id: `r${i}`, source: 'S', subject, domain, question: `Question number ${i}?`, choices: ['a', 'b', 'c', 'd'], answer: i % 4 };
}

function writeLines(name: string, lines: string[], gzip = false): string {
  const path = join(dir, name);
  const text = `${lines.join('\n')}\n`;
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
}

describe('readMcq', () => {
  const good = Array.from({ length: 40 }, (_, i) => JSON.stringify(record(i, i % 2 ? 'medical' : 'general', `s${i % 5}`)));

  it('reads, filters by domain and subject, and samples with a seed in file order', async () => {
    const path = writeLines('good.jsonl.gz', [good[0], '', ...good.slice(1)], true);
    const all = await readMcq(path);
    expect(all).toHaveLength(40);
    expect(all[3]).toEqual(record(3, 'medical', 's3'));
    const medical = await readMcq(path, { domains: ['medical'], subjects: ['s1', 's3'] });
    expect(medical.map((q) => q.id)).toEqual(['r1', 'r3', 'r11', 'r13', 'r21', 'r23', 'r31', 'r33']);
    const a = await readMcq(path, { limit: 10, seed: 1 });
    const b = await readMcq(path, { limit: 10, seed: 1 });
    const c = await readMcq(path, { limit: 10, seed: 2 });
    expect(a).toEqual(b);
    expect(a).toHaveLength(10);
    expect(a.map((q) => q.id)).not.toEqual(c.map((q) => q.id));
    const positions = a.map((q) => Number(q.id.slice(1)));
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(await readMcq(path, { limit: 100 })).toHaveLength(40);
  });

  it('names file and line of a malformed record', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...record(1, 'd', 's'), choices: undefined }, /no 'choices' field/],
      [{ ...record(1, 'd', 's'), answer: 4 }, /'answer' must be an integer in \[0, 3\]/],
      [{ ...record(1, 'd', 's'), answer: -1 }, /'answer' must be an integer/],
      [{ ...record(1, 'd', 's'), choices: ['only one'] }, /'choices' must be an array of 2 to 26 strings/],
      [{ ...record(1, 'd', 's'), choices: ['a', '', 'c'] }, /choices\[1\] must be a non-empty string/],
      [{ ...record(1, 'd', 's'), question: 7 }, /'question' must be a non-empty string/],
      [{ ...record(1, 'd', 's'), domain: 3 }, /'domain' must be a non-empty string/],
      [[1, 2], /record is not a JSON object/],
    ];
    for (const [bad, reason] of cases) {
      const path = writeLines('bad.jsonl', [good[0], '', JSON.stringify(bad)]);
      const error = await readMcq(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MalformedRecordError);
      expect((error as Error).message).toMatch(new RegExp(`bad\\.jsonl:3: ${reason.source}`));
    }
    const path = writeLines('json.jsonl', [good[0], '{"question": ']);
    await expect(readMcq(path)).rejects.toThrow(/json\.jsonl:2: invalid JSON/);
    await expect(readMcq(join(dir, 'absent.jsonl'))).rejects.toThrow(/absent\.jsonl/);
    const notGzip = writeLines('plain.jsonl.gz', good);
    await expect(readMcq(notGzip)).rejects.toThrow(/plain\.jsonl\.gz/);
  });

  it('skips a UTF-8 byte order mark before the first question', async () => {
    const path = writeLines('bom.jsonl', [`\uFEFF${good[0]}`, good[1]]);
    expect((await readMcq(path)).map((q) => q.question)).toEqual([record(0, 'general', 's0').question, record(1, 'medical', 's1').question]);
  });

  it('refuses bad options and fills absent labels', async () => {
    const path = writeLines('opts.jsonl', good);
    await expect(readMcq(path, { limit: 0 })).rejects.toThrow(RangeError);
    await expect(readMcq(path, { seed: -1 })).rejects.toThrow(RangeError);
    await expect(readMcq(path, { domains: 'medical' as unknown as string[] })).rejects.toThrow(/options.domains/);
    await expect(readMcq(path, { domain: ['x'] } as unknown as object)).rejects.toThrow(/unknown option 'domain'/);
    const controller = new AbortController();
    controller.abort();
    await expect(readMcq(path, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(toMcqQuestion({ question: 'q', choices: ['x', 'y'], answer: 1, id: 4 }, 'f:1')).toEqual({
      id: '4', question: 'q', choices: ['x', 'y'], answer: 1, domain: 'unknown', subject: 'unknown', source: 'unknown',
    });
    expect(toMcqQuestion({ question: 'q', choices: ['x', 'y'], answer: 0 }, 'f:1')).toMatchObject({ id: 'f:1' });
  });
});

describe('the shared MCQ file', () => {
  it('reads every record and scores a few medical questions with truncation counted', async (context) => {
    if (!existsSync(SHARED)) {
      console.log(`skipping: ${SHARED} is absent`);
      context.skip();
    }
    const all = await readMcq(SHARED);
    expect(all.length).toBe(8709);
    expect(new Set(all.map((q) => q.domain))).toEqual(new Set(['medical', 'biology', 'general']));
    const sample = await readMcq(SHARED, { domains: ['medical'], limit: 3, seed: 7 });
    expect(sample.every((q) => q.domain === 'medical')).toBe(true);
    const tokenizer = await Tokenizer.train(
      sample.map((q) => `${clozePrompt(q)} ${q.choices.join(' ')}`),
      { vocabSize: 300 },
    );
    const model = await Transformer.create({ vocabSize: tokenizer.vocabSize, dModel: 16, layers: 1, heads: 2, context: 48, seed: 1 });
    const result = await scoreMcq(model, tokenizer, sample, { format: 'cloze', records: true });
    const cloze = result.formats.cloze!;
    expect(cloze.questions + cloze.skipped).toBe(3);
    // prompt (with <|endoftext|>) + continuation may hold context + 1 = 49 ids
    const expectedTruncated = sample
      .filter((q) => !cloze.skippedIds.includes(q.id))
      .filter((q) => q.choices.some((c) => 1 + tokenizer.encode(clozePrompt(q)).length + tokenizer.encode(` ${c}`).length > 49)).length;
    expect(cloze.truncated).toBe(expectedTruncated);
    console.log(`shared MCQ: ${cloze.questions} scored, ${cloze.truncated} truncated, ${cloze.skipped} skipped at context 48`);
  });
});
