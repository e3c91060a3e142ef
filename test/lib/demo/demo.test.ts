// `tokenfilter demo` at a tiny size (300 training documents, models a few steps long): the whole
// chain runs, with scores from the SAE → classifier chain by default and from gold labels on
// request, and the report has the shape the README and the issue promise.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TokenClassifier } from '../../../lib/classify/token_classifier.js';
import { runCli } from '../../../lib/cli/main.js';
import { readSideFile, SideFileKind, sideFilePathFor } from '../../../lib/data/side_file.js';

const root = mkdtempSync(join(tmpdir(), 'tf-demo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = [
  '--train-docs', '300', '--steps', '6', '--vocab', '400', '--layers', '1', '--dim', '32', '--heads', '2', '--context', '32', '--batch', '4',
  '--labeller-layers', '1', '--labeller-dim', '32', '--labeller-context', '32', '--labeller-steps', '60',
  '--sae-latents', '64', '--sae-k', '8', '--sae-steps', '60', '--sae-sample', '20000', '--sae-top', '8', '--min-latents', '1', '--z', '1',
  '--bilm-layers', '1', '--bilm-dim', '16', '--bilm-context', '32', '--bilm-steps', '20', '--label-docs', '150',
];

async function demo(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['demo', ...args], { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

type Run = { mode: string; flaggedFraction: number; steps: number; loss: Record<string, number>; modelPath: string; filteredByDomain: Record<string, { tokens: number; filtered: number }> };

function checkRuns(report: { runs: Run[]; matchedFraction: number }) {
  expect(report.runs.map((r) => r.mode)).toEqual(['baseline', 'document', 'mask', 'remove']);
  const matched = report.matchedFraction;
  for (const run of report.runs) {
    for (const domain of ['medical', 'biology', 'general']) {
      expect(Number.isFinite(run.loss[domain])).toBe(true);
      expect(run.loss[domain]).toBeGreaterThan(0);
    }
    if (run.mode === 'baseline') expect(run.flaggedFraction).toBe(0);
    else if (run.mode === 'document') expect(run.flaggedFraction).toBeGreaterThanOrEqual(matched - 1e-9);
    else expect(run.flaggedFraction).toBeCloseTo(matched, 12);
    expect(existsSync(run.modelPath)).toBe(true);
    // token modes train longer so that every run learns from as many targets as the baseline
    if (run.mode === 'mask' || run.mode === 'remove') expect(run.steps).toBe(Math.ceil(6 / (1 - run.flaggedFraction)));
    else expect(run.steps).toBe(6);
  }
}

describe('tokenfilter demo', () => {
  it('runs the SAE → classifier chain by default and reports labels, classifier, threshold and stage times', async () => {
    const out = join(root, 'sae');
    const { code, stdout, stderr } = await demo(['--out', out, ...TINY]);
    expect(code, stderr).toBe(0);
    for (const stage of ['labeller LM', 'SAE:', 'SAE labels:', 'classifier:', 'scores:', 'filters:']) expect(stderr).toContain(stage);
    expect(stdout).toMatch(/SAE labels vs gold medical \(training tokens\): +P [\d.]+ +R [\d.]+ +F1 [\d.]+/);
    expect(stdout).toMatch(/classifier vs gold medical \(held-out tokens\): +P [\d.]+ +R [\d.]+ +F1 [\d.]+ +at threshold [\d.]+/);
    expect(stdout).toMatch(/mode\s+filtered\s+steps\s+medical loss/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.labels).toBe('sae');
    checkRuns(report);
    const chain = report.chain;
    // --z and --min-latents fix the rule
    expect(chain.saeLabels.rule).toEqual({ z: 1, minLatents: 1, chosenOnSample: null });
    // by default the classifier's biLM is two new models of the --bilm-* shape
    expect(chain.classifier.bilm.forwardIsLabeller).toBe(false);
    expect([chain.classifier.bilm.layers, chain.classifier.bilm.dModel, chain.classifier.bilm.context]).toEqual([1, 16, 32]);
    // the probe reads the biLM's final norm (layer = blocks + 1)
    expect(chain.classifier.layer).toBe(2);
    expect(chain.sae.selected.length).toBeGreaterThan(0);
    expect(chain.sae.selected.length).toBeLessThanOrEqual(8);
    for (const a of [chain.saeLabels.vsGold, chain.classifier.vsGold, chain.classifier.vsSaeLabels])
      for (const k of ['precision', 'recall', 'f1']) expect(a[k]).toBeGreaterThanOrEqual(0), expect(a[k]).toBeLessThanOrEqual(1);
    // the SAE labels are a real labelling of the labelled subset: some tokens, not all, and not the gold labels
    const sae = readSideFile(chain.saeLabels.path).values as Uint8Array;
    const gold = readSideFile(sideFilePathFor(chain.saeLabels.shard, SideFileKind.Labels)).values as Uint8Array;
    expect(gold.length).toBe(sae.length);
    let flagged = 0;
    let agree = 0;
    sae.forEach((v, t) => {
      flagged += v;
      agree += (v === 1) === (gold[t] === 1) ? 1 : 0;
    });
    expect(flagged).toBeGreaterThan(0);
    expect(flagged).toBeLessThan(sae.length);
    expect(agree).toBeLessThan(sae.length);
    expect(chain.saeLabels.labelledFraction).toBeCloseTo(flagged / sae.length, 12);
    // the token modes flag at the classifier's threshold, and the scores are the classifier's
    expect(report.threshold).toBe(chain.classifier.threshold);
    const scores = readSideFile(chain.scoresPath).values as Uint8Array;
    expect(scores.length).toBe(report.corpus.trainTokens);
    expect(sae.length).toBeLessThan(scores.length);
    const atThreshold = scores.filter((s) => s >= Math.round(255 * report.threshold)).length / scores.length;
    expect(report.matchedFraction).toBeCloseTo(atThreshold, 2);
    for (const stage of ['tokenizer', 'labeller_lm', 'sae', 'sae_labels', 'classifier', 'scoring', 'train_baseline', 'train_remove']) {
      expect(report.stages[stage]).toBeGreaterThanOrEqual(0);
      expect(report.stagesCpu[stage]).toBeGreaterThanOrEqual(0);
    }
    expect(Object.keys(report.stagesCpu)).toEqual(Object.keys(report.stages));
    expect(report.cpuSeconds).toBeGreaterThan(0);
    expect(stdout).toMatch(/CPU \(s\): +tokenizer \d+, .*labeller_lm \d+, .*; total \d+/);
    // the remaining-time estimate follows each stage's line, from the first stage on, until the last
    const lines = stderr.split('\n');
    const tokenizerLine = lines.findIndex((l) => l.startsWith('tokenizer:'));
    expect(lines[tokenizerLine + 1]).toMatch(/^  about \d+(\.\d)? (s|min) left/);
    expect(lines.filter((l) => / left at this machine's pace so far$/.test(l)).length).toBe(Object.keys(report.stages).length - 1);
    expect(readFileSync(join(out, 'loss.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toMatch(/tokenfilter demo[\s\S]*SAE labels vs gold/);
  }, 300_000);

  it('with --bilm-from-labeller, the labeller LM is the biLM\'s forward half; without --z / --min-latents the rule is chosen on the SAE sample', async () => {
    const out = join(root, 'from-labeller');
    const unfixed = TINY.filter((_, i) => !['--z', '--min-latents'].includes(TINY[i]) && !['--z', '--min-latents'].includes(TINY[i - 1]));
    expect(unfixed.length).toBe(TINY.length - 4);
    const { code, stderr } = await demo(['--out', out, ...unfixed, '--bilm-from-labeller', '--reading', 'sentence', '--quiet']);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const { rule } = report.chain.saeLabels;
    expect([0.5, 1, 1.5, 2, 3]).toContain(rule.z);
    // candidates with more latents than were kept are skipped
    const kept = report.chain.sae.selected.length;
    expect([1, 2, 4, 6, 8].filter((m) => m <= kept)).toContain(rule.minLatents);
    expect(rule.chosenOnSample.candidates).toBe(5 * [1, 2, 4, 6, 8, 12, 16].filter((m) => m <= kept).length);
    expect(rule.chosenOnSample.f1).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(readFileSync(join(out, 'sae', 'latents.json'), 'utf8'))).toMatchObject({ z: rule.z, minLatents: rule.minLatents });
    const bilm = report.chain.classifier.bilm;
    expect(bilm.forwardIsLabeller).toBe(true);
    expect([bilm.layers, bilm.dModel, bilm.context]).toEqual([1, 32, 32]);
    expect(bilm.finalLoss.forward).toBeNull();
    // --reading: the probe and the scores read each sentence alone, and the classifier file says so
    expect(report.chain.classifier.reading).toBe('sentence');
    expect((await TokenClassifier.load(report.chain.classifier.path)).reading).toBe('sentence');
    checkRuns(report);
  }, 300_000);

  it('with --labels gold, the token modes flag exactly the medical tokens', async () => {
    const out = join(root, 'gold');
    const { code, stderr, stdout } = await demo(['--out', out, '--labels', 'gold', ...TINY]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('labels: gold sentence labels');
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.labels).toBe('gold');
    expect(report.chain).toBeNull();
    checkRuns(report);
    expect(report.matchedFraction).toBeGreaterThan(0.1);
    expect(report.matchedFraction).toBeLessThan(0.3);
    const mask = report.runs.find((r: Run) => r.mode === 'mask');
    expect(mask.filteredByDomain.medical.filtered).toBe(mask.filteredByDomain.medical.tokens);
    expect(mask.filteredByDomain.biology.filtered).toBe(0);
  }, 300_000);

  it('exits 2 with a clear message for bad options', async () => {
    const bad = await demo(['--out', join(root, 'bad'), '--labels', 'oracle']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--labels must be 'sae' or 'gold', got 'oracle'/);
    const k = await demo(['--out', join(root, 'bad'), '--sae-latents', '16', '--sae-k', '32']);
    expect(k.code).toBe(2);
    expect(k.stderr).toMatch(/saeK \(32\) must be at most saeLatents \(16\)/);
    const reading = await demo(['--out', join(root, 'bad'), '--reading', 'paragraph']);
    expect(reading.code).toBe(2);
    expect(reading.stderr).toMatch(/--reading must be window or sentence, got .paragraph./);
  });
});
