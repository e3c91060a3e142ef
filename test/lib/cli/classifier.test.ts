import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../lib/cli/main.js';
import { broadcastLabel } from '../../../lib/classify/labels.js';
import { TokenClassifier } from '../../../lib/classify/token_classifier.js';
import { writeShard } from '../../../lib/data/shard.js';
import { SideFileKind, sideFilePathFor } from '../../../lib/data/side_file.js';
import { GENERAL, MEDICAL, tinyBiLM } from '../classify/fixtures.js';

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

describe('classifier subcommands', () => {
  it('score and eval-classifier run end to end on a tiny classifier; bad inputs exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-cli-clf-'));
    const bilm = await tinyBiLM();
    const bilmPath = join(dir, 'bilm.safetensors');
    await bilm.save(bilmPath);
    const enc = (s: string) => bilm.tokenizer.encode(s);
    const { classifier } = await TokenClassifier.train({
      bilm, bilmPath, layers: [1],
      train: [broadcastLabel(enc(MEDICAL), 1), broadcastLabel(enc(GENERAL), 0)],
      val: [broadcastLabel(enc(MEDICAL + MEDICAL), 1), broadcastLabel(enc(GENERAL + GENERAL), 0)],
    });
    const clf = join(dir, 'clf.safetensors');
    await classifier.save(clf);

    const shard = join(dir, 'a.bin');
    await writeShard(shard, Uint32Array.from([bilm.tokenizer.eotId, ...enc(MEDICAL.repeat(2) + GENERAL)]), { tokenizer: bilm.tokenizer });
    const scored = await run(['score', shard, '--classifier', clf, '--out', join(dir, 'scores'), '--json']);
    expect(scored.code).toBe(0);
    const summary = JSON.parse(scored.stdout);
    expect(summary).toMatchObject({ command: 'score', processed: 1, cutTokens: 0 });
    expect(readFileSync(sideFilePathFor(join(dir, 'scores', 'a.bin'), SideFileKind.ScoresUint8)).length).toBeGreaterThan(1024);
    const filtered = await run(['filter', shard, '--scores', join(dir, 'scores'), '--mode', 'mask', '--fraction', '0.3', '--out', join(dir, 'filtered'), '--json']);
    expect(filtered.code).toBe(0);

    const spans = join(dir, 'spliced.jsonl.gz');
    const text = `${MEDICAL}\n\n${GENERAL}`;
    writeFileSync(spans, gzipSync(JSON.stringify({ id: 'x', text, spans: [[0, MEDICAL.length, 'medical'], [MEDICAL.length + 2, text.length, 'general']] }) + '\n'));
    const evaluated = await run(['eval-classifier', '--classifier', clf, '--spans', spans, '--json']);
    expect(evaluated.code).toBe(0);
    const report = JSON.parse(evaluated.stdout);
    expect(report.kind).toBe('token');
    expect(report.items).toBe(enc(text).length);
    expect(report.maxF1.f1).toBeGreaterThan(0.6);
    expect(report.kinds.map((k: { name: string }) => k.name)).toEqual(['spliced.jsonl.gz']);
    // each spans file reported on its own; a scoring override is applied and named
    const sentence = join(dir, 'sentence.jsonl');
    const mixed = `${GENERAL}${MEDICAL}${GENERAL}`;
    writeFileSync(sentence, JSON.stringify({ id: 'y', text: mixed, spans: [[GENERAL.length, GENERAL.length + MEDICAL.length, 'medical']] }) + '\n');
    const both = await run(['eval-classifier', '--classifier', clf, '--spans', spans, sentence, '--segmentation', '4,1', '--json']);
    expect(both.code).toBe(0);
    const bothReport = JSON.parse(both.stdout);
    expect(bothReport.scoring).toBe('segment c=4 s=1 l=1 b=0');
    expect(bothReport.kinds.map((k: { name: string; items: number }) => [k.name, k.items])).toEqual([['spliced.jsonl.gz', enc(text).length], ['sentence.jsonl', enc(mixed).length]]);
    const plain = await run(['eval-classifier', '--classifier', clf, '--spans', spans, sentence, '--smoothing', '0']);
    expect(plain.stdout).toMatch(/scores: raw, probe on layer 1, window reading\n[^]*spliced\.jsonl\.gz[^]*sentence\.jsonl/);
    // --reading reads documents another way than the saved reading, and says so
    const bySentence = await run(['eval-classifier', '--classifier', clf, '--spans', spans, '--reading', 'sentence', '--json']);
    expect(bySentence.code).toBe(0);
    expect(JSON.parse(bySentence.stdout).reading).toBe('sentence');
    expect((await run(['eval-classifier', '--classifier', clf, '--spans', spans, '--reading', 'page'])).code).toBe(2);
    // a probe on a layer set evaluates like any other and says which layers it reads
    const { classifier: joined } = await TokenClassifier.train({
      bilm, bilmPath, layers: [[0, 2]],
      train: [broadcastLabel(enc(MEDICAL), 1), broadcastLabel(enc(GENERAL), 0)],
      val: [broadcastLabel(enc(MEDICAL + MEDICAL), 1), broadcastLabel(enc(GENERAL + GENERAL), 0)],
    });
    const joinedPath = join(dir, 'joined.safetensors');
    await joined.save(joinedPath);
    const joinedReport = await run(['eval-classifier', '--classifier', joinedPath, '--spans', spans, '--json']);
    expect(joinedReport.code).toBe(0);
    expect(JSON.parse(joinedReport.stdout)).toMatchObject({ layers: [0, 2], items: enc(text).length });
    expect((await run(['eval-classifier', '--classifier', joinedPath, '--spans', spans])).stdout).toMatch(/probe on layer 0\+2/);
    for (const bad of [['--sweep', '0+x'], ['--sweep', '1,,2'], ['--mixtures', '0'], ['--mixtures', '0.5,x']]) {
      const refused = await run(['train-classifier', '--bilm', bilmPath, '--train-labels', shard, '--val-labels', shard, '--out', join(dir, 'c.safetensors'), ...bad]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(bad[0]);
    }
    expect((await run(['eval-classifier', '--classifier', clf, '--spans', spans, '--segmentation', '4,x'])).code).toBe(2);
    expect((await run(['eval-classifier', '--classifier', clf, '--spans', spans, '--segmentation', '4', '--smoothing', '2'])).code).toBe(2);

    const missing = await run(['eval-classifier', '--classifier', join(dir, 'missing.safetensors'), '--spans', spans]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing.safetensors: cannot read the file (ENOENT)');
    // a classifier without a lexicon: --probe-weight is refused, --no-lexicon changes nothing
    expect((await run(['eval-classifier', '--classifier', clf, '--spans', spans, '--probe-weight', '0'])).stderr).toContain('has no lexicon');
    expect((await run(['eval-classifier', '--classifier', clf, '--spans', spans, '--no-lexicon', '--json'])).code).toBe(0);
    expect((await run(['eval-classifier', '--classifier', clf, '--spans', spans, '--no-lexicon', '--probe-weight', '0.1'])).code).toBe(2);
    expect((await run(['eval-classifier', '--classifier', clf, '--documents', spans])).code).toBe(2);
    expect((await run(['score', shard, '--classifier', join(dir, 'missing.safetensors'), '--out', join(dir, 's2')])).code).toBe(2);
    expect((await run(['score', join(dir, 'nope.bin'), '--classifier', clf, '--out', join(dir, 's2')])).code).toBe(2);
    expect((await run(['train-classifier', '--preset', 'default', '--out', join(dir, 'c.safetensors')])).code).toBe(2);
    expect((await run(['train-classifier', '--preset', 'bogus', '--out', join(dir, 'c.safetensors')])).code).toBe(2);
    for (const bad of [['--blend', 'median'], ['--lexicon-bits', '30'], ['--held-out-sentence-mixes', '0']]) {
      const refused = await run(['train-classifier', '--preset', 'default', '--data', dir, '--out', join(dir, 'refused', 'c.safetensors'), ...bad]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(bad[0]);
    }
    // a refused preset flag leaves no output folder behind
    expect(existsSync(join(dir, 'refused'))).toBe(false);
    expect((await run(['train-classifier', '--bilm', bilmPath, '--out', join(dir, 'c.safetensors')])).code).toBe(2);
  });
});
