import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readShard } from '../../../lib/data/shard.js';
import { SideFileKind, readSideFile, sideFilePathFor } from '../../../lib/data/side_file.js';
import { FORGET_LABEL } from '../../../lib/data/domains.js';
import { selectDomains } from '../../../lib/experiment/attack_stage.js';
import { runFilteringExperiment, type FilteringExperimentOptions } from '../../../lib/experiment/filtering_experiment.js';
import { parseModelSize } from '../../../lib/experiment/model_size.js';
import { streamBuildReason } from '../../../lib/experiment/stream_builds.js';
import { writeCorpus } from './corpus_fixture.js';

/** Tokens the attack's forget shard holds when built from the training stream at `path`. */
function forgetTokensOf(path: string): number {
  const tokens = Uint32Array.from(readShard(path).tokens);
  const labels = readSideFile(sideFilePathFor(path, SideFileKind.Labels), { expectKind: SideFileKind.Labels, expectTokens: tokens.length }).values as Uint8Array;
  return selectDomains({ tokens, labels }, (l) => l === FORGET_LABEL).tokens.length;
}

describe('training stream builds', () => {
  const root = mkdtempSync(join(tmpdir(), 'tf-stream-builds-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  writeCorpus(root);
  const out = join(root, 'exp');
  const options: FilteringExperimentOptions = {
    data: root, out, labels: 'domain', vocabSize: 300, sizes: [parseModelSize('1x16')], tokensPerParameter: 2, context: 32, batch: 4,
    sweepSize: -1, delayShares: [], noiseRates: [], valTokensPerDomain: 2000, valMixedTokens: 3000, checkpointEvery: 10, mcqPerDomain: 0,
    attackBudget: 0.2, attackLrs: [1e-3], rmuSteps: 2,
  };
  const larger = { ...options, sizes: [parseModelSize('1x16'), parseModelSize('1x32')] };
  const run = async (o: FilteringExperimentOptions) => {
    const lines: string[] = [];
    const results = await runFilteringExperiment({ ...o, onLog: (l) => lines.push(l) });
    return { results, log: lines.join('\n') };
  };

  it('says why it rebuilds the stream for a larger size, records it, and sets aside every run, score and attack of the old stream', async () => {
    const first = await run(options);
    expect(first.results.streamBuilds).toMatchObject([{ stream: 'mixed', reason: 'no stream built yet', superseded: null }]);
    const oldTokens = first.results.corpus!.trainTokens;
    const oldIds = Object.keys(first.results.runs).sort();
    expect(oldIds).toEqual(['baseline-1x16-s1', 'document-1x16-s1', 'mask-1x16-s1', 'remove-1x16-s1']);
    const oldForget = forgetTokensOf(first.results.corpus!.train);
    expect(readShard(join(out, 'attack', 'forget.bin')).tokens.length).toBe(oldForget);
    // a run interrupted on the old stream leaves its checkpoint behind
    writeFileSync(join(out, 'models', 'interrupted-1x16-s1.checkpoint.safetensors'), 'old');

    const second = await run(larger);
    const build = second.results.streamBuilds![1];
    expect(second.log).toMatch(new RegExp(`rebuilding the mixed stream .*: ladder size 1x32 needs \\d+ training tokens and the stream holds ${oldTokens}`));
    expect(second.log).toMatch(/the 4 runs so far, their models, checkpoints, scores and attacks came from the old stream: moved to .*superseded/);
    expect(build.reason).toMatch(/^ladder size 1x32 needs \d+ training tokens and the stream holds \d+$/);
    expect(build.trainTokens).toBeGreaterThan(oldTokens);
    expect(build.superseded!.runs).toEqual(oldIds);
    // the old record and files are kept aside, none of them where the experiment reads
    const aside = join(out, build.superseded!.folder);
    expect(JSON.parse(readFileSync(join(aside, 'results.json'), 'utf8')).corpus.trainTokens).toBe(oldTokens);
    expect(existsSync(join(aside, 'models', 'baseline-1x16-s1.safetensors'))).toBe(true);
    expect(existsSync(join(aside, 'models', 'interrupted-1x16-s1.checkpoint.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'models', 'interrupted-1x16-s1.checkpoint.safetensors'))).toBe(false);
    // every run was trained again on the new stream, and the attacks use its forget tokens and its largest size
    const newIds = Object.keys(second.results.runs).sort();
    expect(newIds).toEqual([...oldIds, 'baseline-1x32-s1', 'document-1x32-s1', 'mask-1x32-s1', 'remove-1x32-s1'].sort());
    for (const id of oldIds) expect(second.results.runs[id].seconds).not.toBe(first.results.runs[id].seconds);
    const newForget = forgetTokensOf(second.results.corpus!.train);
    expect(newForget).toBeGreaterThan(oldForget);
    expect(readShard(join(out, 'attack', 'forget.bin')).tokens.length).toBe(newForget);
    expect(Object.keys(second.results.extra.attacks as object).sort()).toEqual(['document-1x32-s1', 'mask-1x32-s1', 'remove-1x32-s1', 'rmu']);
    expect((second.results.extra.rmu as { of: string }).of).toBe('baseline-1x32-s1');
  }, 180_000);

  it('keeps the runs when a rebuild writes the very stream they trained on, and does not rebuild when nothing changed', async () => {
    const before = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    rmSync(before.corpus.train);
    const again = await run(larger);
    const builds = again.results.streamBuilds!;
    expect(builds).toHaveLength(3);
    expect(builds[2].reason).toMatch(/its files are gone/);
    expect(builds[2].sha256).toEqual(builds[1].sha256);
    expect(builds[2].superseded).toBeNull();
    expect(again.log).toMatch(/byte for byte the one the 8 runs so far trained on; they stand/);
    for (const [id, r] of Object.entries(again.results.runs)) expect(r.seconds).toBe(before.runs[id].seconds);
    const still = await run(larger);
    expect(still.results.streamBuilds).toHaveLength(3);
    expect(still.log).not.toMatch(/building/);
  }, 120_000);

  it('names the reason for each kind of build, and none while the recorded stream serves', async () => {
    const { results } = await run(larger);
    const corpus = results.corpus!;
    expect(streamBuildReason(null, 'mixed', 10, 'x')).toBe('no stream built yet');
    expect(streamBuildReason(corpus, 'documents', 10, 'x')).toBe("the folder's stream is mixed, documents was asked for");
    expect(streamBuildReason(corpus, 'mixed', corpus.trainTokens + 1, 'minTrainTokens')).toBe(`minTrainTokens needs ${corpus.trainTokens + 1} training tokens and the stream holds ${corpus.trainTokens}`);
    expect(streamBuildReason(corpus, 'mixed', corpus.trainTokens, 'x')).toBeNull();
  });
});
