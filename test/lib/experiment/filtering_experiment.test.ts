import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseModelSize, runFilteringExperiment, type FilteringExperimentOptions } from '../../../lib/experiment/filtering_experiment.js';
import { writeExperimentReport } from '../../../lib/experiment/experiment_report.js';
import { runCli } from '../../../lib/cli/main.js';
import { writeCorpus } from './corpus_fixture.js';

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

describe('runFilteringExperiment', () => {
  const root = mkdtempSync(join(tmpdir(), 'tf-experiment-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  writeCorpus(root);
  const out = join(root, 'exp');
  const options: FilteringExperimentOptions = {
    data: root, out, labels: 'domain', vocabSize: 300, stream: 'documents', match: 'steps', delayShares: [],
    sizes: [parseModelSize('1x16'), parseModelSize('1x32')],
    tokensPerParameter: 2, context: 32, batch: 4, lr: 3e-3, sweepSize: 0, sweepFractions: [0.25], noiseRates: [0.2],
    valTokensPerDomain: 2000, checkpointEvery: 10, mcqPerDomain: 2,
    attackBudget: 0.2, attackLrs: [1e-3, 1e-2], rmuSteps: 5,
  };

  it('trains the ladder and the sweep, fits the baseline and reads slowdowns', async () => {
    const results = await runFilteringExperiment(options);
    const ids = Object.keys(results.runs).sort();
    expect(ids).toEqual([
      'baseline-1x16-s1', 'baseline-1x32-s1', 'document-1x16-s1', 'document-1x32-s1', 'mask-1x16-s1', 'mask-1x32-s1',
      'noise-remove-0.2-1x16-s1', 'remove-1x16-s1', 'remove-1x32-s1', 'sweep-document-0.25-1x16-s1', 'sweep-mask-0.25-1x16-s1', 'sweep-remove-0.25-1x16-s1',
    ]);
    const medicalShare = results.corpus!.trainDomainFraction.medical;
    for (const run of Object.values(results.runs)) {
      for (const d of ['general', 'medical', 'biology']) expect(run.loss[d]).toBeGreaterThan(0);
      if (run.mode === 'baseline') expect(run.flaggedFraction).toBe(0);
      else if (run.series === 'ladder') {
        // domain labels flag exactly the medical documents' tokens
        expect(run.filterStats!.forget!.recall).toBe(1);
        // a dropped document also drops its <|endoftext|>, which belongs to no domain
        if (run.mode === 'document') expect(run.filterStats!.forget!.precision).toBeGreaterThan(0.98);
        else expect(run.filterStats!.forget!.precision).toBe(1);
        expect(Math.abs(run.flaggedFraction - medicalShare)).toBeLessThan(0.05);
      }
    }
    // the training stream is the corpus's own mixture and larger than the biggest model needs
    expect(results.corpus!.trainTokens).toBeGreaterThanOrEqual(2 * 12 * 32 * 32);
    expect(results.fits!.medical.points).toBe(2);
    expect([...new Set(results.slowdowns.map((s) => s.id))].sort()).toEqual(['document-1x16-s1', 'document-1x32-s1', 'mask-1x16-s1', 'mask-1x32-s1', 'noise-remove-0.2-1x16-s1', 'remove-1x16-s1', 'remove-1x32-s1']);
    // moving 20% of the oracle's flags off and as many on keeps the flagged share and errs on 2 × 20% of it
    const noisy = results.runs['noise-remove-0.2-1x16-s1'];
    const clean = results.runs['remove-1x16-s1'];
    expect(noisy.flaggedFraction).toBeCloseTo(clean.flaggedFraction, 10);
    expect(Math.abs(noisy.flagErrorRate! - 0.4 * clean.flaggedFraction)).toBeLessThan(0.005);
    expect(results.runs['remove-1x16-s1'].flagErrorRate).toBe(0);
    for (const s of results.slowdowns) expect(s.slowdown !== null || typeof s.note === 'string').toBe(true);
    // masking learns from fewer tokens than the baseline at the same steps
    const base = results.runs['baseline-1x32-s1'];
    const mask = results.runs['mask-1x32-s1'];
    expect(mask.steps).toBe(base.steps);
    expect(mask.trainSupervisedTokens).toBeLessThan(base.trainSupervisedTokens);
    expect(existsSync(mask.modelPath)).toBe(true);
    expect(existsSync(join(out, 'filtered', 'mask-1x32-s1'))).toBe(false);
    const onDisk = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(Object.keys(onDisk.runs).length).toBe(12);

    // every model of the largest size answered 2 questions per domain
    const mcq = results.extra.mcq as Record<string, { cloze: { scores: Record<string, Record<string, { questions: number; accuracy: number }>> } }>;
    expect(Object.keys(mcq).sort()).toEqual(['baseline-1x32-s1', 'document-1x32-s1', 'mask-1x32-s1', 'remove-1x32-s1']);
    for (const m of Object.values(mcq))
      for (const d of ['general', 'medical', 'biology']) {
        expect(m.cloze.scores.raw[d].questions).toBe(2);
        expect(m.cloze.scores.raw[d].accuracy).toBeGreaterThanOrEqual(0);
      }

    // RMU ran on the baseline; every filtered model of the largest size and the RMU model were attacked
    const attacks = results.extra.attacks as Record<string, { reached: boolean; lr: number; curve: { tokens: number; loss: number }[]; targetLoss: number; tokensToTarget: number | null }>;
    expect(Object.keys(attacks).sort()).toEqual(['document-1x32-s1', 'mask-1x32-s1', 'remove-1x32-s1', 'rmu']);
    for (const a of Object.values(attacks)) {
      expect([1e-3, 1e-2]).toContain(a.lr);
      expect(a.curve[0].tokens).toBe(0);
      // an attack stops at the first evaluation at or below the target, or runs out its budget
      if (a.reached) expect(a.curve[a.curve.length - 1].loss).toBeLessThanOrEqual(a.targetLoss);
      else expect(a.tokensToTarget).toBeNull();
    }
    expect((results.extra.rmu as { of: string; steps: number }).of).toBe('baseline-1x32-s1');
    expect((results.extra.rmu as { steps: number }).steps).toBe(5);

    const files = await writeExperimentReport(out, results);
    for (const svg of files.svgs) expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[\s\S]*<circle[\s\S]*<\/svg>\n$/);
    expect(files.table).toContain('Label noise');
    expect(readFileSync(files.html, 'utf8')).toContain('scaling.svg');
  }, 120_000);

  it('skips finished runs when rerun', async () => {
    const before = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    const results = await runFilteringExperiment(options);
    for (const [id, run] of Object.entries(results.runs)) expect(run.seconds).toBe(before.runs[id].seconds);
  }, 60_000);

  it('redraws the report from the CLI and refuses bad arguments with exit code 2', async () => {
    const report = await cli(['experiment', '--data', root, '--out', out, '--labels', 'domain', '--report-only']);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/Ladder[\s\S]*baseline[\s\S]*report: .*index\.html/);
    const badSize = await cli(['experiment', '--data', root, '--out', out, '--labels', 'domain', '--sizes', '2by3']);
    expect(badSize.code).toBe(2);
    expect(badSize.stderr).toMatch(/--sizes/);
    const noClassifier = await cli(['experiment', '--data', root, '--out', join(root, 'other')]);
    expect(noClassifier.code).toBe(2);
    expect(noClassifier.stderr).toMatch(/--classifier is required/);
    const noResults = await cli(['experiment', '--data', root, '--out', join(root, 'empty'), '--report-only']);
    expect(noResults.code).toBe(2);
    const badLr = await cli(['experiment', '--data', root, '--out', join(root, 'other'), '--labels', 'domain', '--attack-lrs', '0.001,fast']);
    expect(badLr.code).toBe(2);
    expect(badLr.stderr).toMatch(/--attack-lrs must be a number, got 'fast'/);
    const negativeLr = await cli(['experiment', '--data', root, '--out', join(root, 'other'), '--labels', 'domain', '--attack-lrs', '-0.01']);
    expect(negativeLr.code).toBe(2);
    expect(negativeLr.stderr).toMatch(/attackLrs must list positive learning rates/);
  });

  it('refuses bad options', async () => {
    await expect(runFilteringExperiment({ ...options, stream: 'mixed' })).rejects.toThrow(/holds runs on the documents stream/);
    await expect(runFilteringExperiment({ ...options, delayShares: [1] })).rejects.toThrow(/delay shares/);
    expect(() => parseModelSize('2by128')).toThrow(/LAYERSxWIDTH/);
    expect(() => parseModelSize('2x30h4')).toThrow(/even head size/);
    expect(parseModelSize('3x160')).toEqual({ layers: 3, dModel: 160, heads: 5 });
    await expect(runFilteringExperiment({ ...options, data: join(root, 'nowhere') })).rejects.toThrow(/corpus/);
    await expect(runFilteringExperiment({ ...options, labels: 'classifier' })).rejects.toThrow(/classifier path/);
    await expect(runFilteringExperiment({ ...options, sweepFraction: [0.1] } as never)).rejects.toMatchObject({ code: 'E_OPTION', message: "unknown option 'sweepFraction' for stage experiment; did you mean 'sweepFractions'?" });
    await expect(runFilteringExperiment({ ...options, sweepSize: 5 })).rejects.toThrow(/sweepSize/);
    await expect(runFilteringExperiment({ ...options, sweepFractions: [1.5] })).rejects.toThrow(/fractions/);
  });
});

describe('runFilteringExperiment on the mixed stream', () => {
  const root = mkdtempSync(join(tmpdir(), 'tf-experiment-mixed-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  writeCorpus(root);
  const out = join(root, 'exp');
  const B = 4;
  const T = 32;

  it('trains on mixed documents by default, matches supervised tokens, flags one share in every mode, splits mixed held-out loss', async () => {
    const results = await runFilteringExperiment({
      data: root, out, labels: 'domain', vocabSize: 300, sizes: [parseModelSize('1x16'), parseModelSize('1x32')],
      tokensPerParameter: 2, context: T, batch: B, sweepSize: 0, sweepFractions: [0.1], noiseRates: [0.2], delayShares: [0.5],
      valTokensPerDomain: 2000, valMixedTokens: 3000, checkpointEvery: 10, mcqPerDomain: 0, attack: false,
    });
    expect(results.corpus!.stream).toBe('mixed');
    expect(results.corpus!.trainDomainFraction.medical).toBeGreaterThan(0.05);
    const ladderFraction = results.extra.ladder_fraction as number;
    for (const size of ['1x16', '1x32']) {
      const base = results.runs[`baseline-${size}-s1`];
      expect(base.trainSupervisedTokens).toBe(base.steps * B * T);
      for (const mode of ['document', 'mask', 'remove']) {
        const run = results.runs[`${mode}-${size}-s1`];
        expect(run.match).toBe('supervised');
        // every mode flags the share the token flags take (a document filter to within its last document)
        expect(Math.abs(run.flaggedFraction - ladderFraction)).toBeLessThan(mode === 'document' ? 0.05 : 1e-9);
        // the filtered run learned from as many supervised tokens as the baseline, within one batch
        expect(run.trainSupervisedTokens).toBeGreaterThanOrEqual(base.trainSupervisedTokens);
        expect(run.trainSupervisedTokens - base.trainSupervisedTokens).toBeLessThan(B * T);
        if (mode !== 'document') expect(run.steps).toBeGreaterThan(base.steps);
        for (const d of ['mixed_medical', 'mixed_retain', 'medical', 'biology', 'general']) expect(run.loss[d]).toBeGreaterThan(0);
      }
    }
    // delayed filtering: half the baseline's steps unfiltered, then filtered until the supervised tokens match
    const delayed = results.runs['delay-remove-0.5-1x16-s1'];
    const removed = results.runs['remove-1x16-s1'];
    expect(delayed.series).toBe('delay');
    expect(delayed.steps).toBeGreaterThan(results.runs['baseline-1x16-s1'].steps);
    expect(delayed.steps).toBeLessThan(removed.steps);
    // slowdowns on retain domains and on the mixed documents' parts too
    const domains = new Set(results.slowdowns.filter((s) => s.id === 'remove-1x32-s1').map((s) => s.domain));
    expect([...domains].sort()).toEqual(['biology', 'general', 'medical', 'mixed_medical', 'mixed_retain']);
    const files = await writeExperimentReport(out, results);
    expect(files.table).toMatch(/Stream: mixed; compute matched on the baseline's supervised tokens/);
    expect(files.table).toMatch(/Δ mixed_medical/);
    expect(files.table).toMatch(/Seed means/);
    expect(readFileSync(join(out, 'pareto-mixed.svg'), 'utf8')).toMatch(/mixed_medical \(forget\) loss[\s\S]*<circle/);
  }, 180_000);
});
