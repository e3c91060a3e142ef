// Keep-then-steer against filtering (tokenfilter mixture --compare) on a tiny seeded corpus:
// the removal model trains on the same batches with medicine hidden and masked, the steered
// model keeps its steering on during the attack's evaluations, RMU and the 0% model are
// attacked too, everything resumes and reaches the report.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured } from '../../cli/run_captured.js';
import { bestSteeredShare, checkComparisonResumable, checkComparisonSettings, COMPARISON_DEFAULTS } from '../../../../lib/experiment/mixture/filtering_comparison.js';
import { comparisonTable, rateCell } from '../../../../lib/experiment/mixture/comparison_report.js';
import type { AttackRecord } from '../../../../lib/experiment/attack_stage.js';
import { readShard } from '../../../../lib/data/shard.js';
import { SideFileKind, readSideFile, sideFilePathFor } from '../../../../lib/data/side_file.js';
import { readModelTokenizer } from '../../../../lib/model/model_tokenizer.js';
import { tempDir } from '../../data/helpers.js';
import { writeData } from './tiny_data.js';

const { dir, cleanup } = tempDir('tf-mixture-compare-');
afterAll(cleanup);

describe('tokenfilter mixture --compare', () => {
  it('compares token removal, ITI and RMU with attacks, resumes, and reports', async () => {
    const data = join(dir, 'data');
    writeData(data);
    const out = join(dir, 'out');
    const argv = ['mixture', '--data', data, '--out', out, '--shares', '0,30', '--seeds', '1', '--layers', '2', '--width', '16', '--heads', '2',
      '--context', '32', '--vocab', '300', '--steps', '12', '--batch', '4', '--ks', '1,2', '--alphas', '4,8', '--align-cost', '0.0001',
      '--samples', '0', '--compare', '--rmu-steps', '4', '--attack-budget', '2', '--attack-lrs', '1e-3,1e-2', '--quiet', '--json'];
    const first = await runCaptured(...argv);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const results = JSON.parse(first.stdout);
    const comparison = results.comparison;
    expect(comparison.share).toBe(0.3);
    const rec = comparison.seeds['1'];
    expect(rec.reference).toEqual({ id: 'share-30-seed-1', loss: results.runs['share-30-seed-1'].loss });

    // removal: every medical token but the separators hidden and masked, the same batches as the unfiltered model
    const removed = join(out, 'comparison', 'data', 'train-medical.removed.bin');
    const tokens = readShard(removed).tokens;
    const mask = readSideFile(sideFilePathFor(removed, SideFileKind.LossMask)).values as Uint8Array;
    const original = readShard(join(out, 'data', 'train-medical.bin')).tokens;
    expect(tokens.length).toBe(original.length);
    const hidden = tokens.filter((t) => t !== tokens[0]).every((t) => t === tokens[1]); // eot first, then hidden ids
    expect(hidden).toBe(true);
    expect([...mask].filter((m) => m === 1).length).toBe([...original].filter((t) => t === original[0]).length);
    expect(rec.remove.flaggedFraction).toBeGreaterThan(0.9);
    expect(rec.remove.trainTokens).toBe(results.runs['share-30-seed-1'].trainTokens);
    expect(rec.remove.supervisedTokens).toBeLessThan(rec.remove.trainTokens);
    expect(rec.remove.rise.medical).toBe(rec.remove.loss.medical - rec.reference.loss.medical);
    expect((await readModelTokenizer(rec.remove.modelPath))?.vocabSize).toBe(300);

    // steering: the alignability point of the unfiltered model, kept on while the attack evaluates
    expect(rec.steered.alpha).toBeGreaterThan(0);
    expect(rec.steered.heads).toHaveLength(rec.steered.k);
    expect(rec.absent.id).toBe('share-0-seed-1');
    expect(Object.keys(rec.attacks).sort()).toEqual(['absent', 'remove', 'rmu', 'steered']);
    const target = rec.attacks.remove.targetLoss;
    for (const attack of Object.values(rec.attacks) as { targetLoss: number; curve: unknown[] }[]) {
      expect(attack.targetLoss).toBe(target);
      expect(attack.curve.length).toBeGreaterThan(0);
    }
    // the target is the unfiltered model's own medical loss: only steering moves the steered model's start away from it
    expect(rec.attacks.steered.startLoss).not.toBe(target);
    expect(rec.attacks.steered.steered).toBe(true);
    expect(rec.rmu.loss.medical).toBeGreaterThan(0);

    // resume: nothing is redone
    const again = await runCaptured(...argv);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).comparison).toEqual(comparison);
    // a comparison is not continued with other attack or RMU settings; nothing is written
    const before = readFileSync(join(out, 'results.json'), 'utf8');
    const other = argv.map((v, i) => (argv[i - 1] === '--rmu-steps' ? '5' : argv[i - 1] === '--attack-lrs' ? '1e-3' : v));
    const refused = await runCaptured(...other);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/holds a comparison made with rmuSteps 4, attackLrs 0.001,0.01; this run asks for rmuSteps 5, attackLrs 0.001 /);
    expect(readFileSync(join(out, 'results.json'), 'utf8')).toBe(before);
    const tables = readFileSync(join(out, 'tables.md'), 'utf8');
    expect(tables).toMatch(/## Against filtering/);
    expect(tables).toMatch(/\| token removal \(filtering\) \|/);
    expect(tables).toMatch(/\| keep, then ITI \(K \d/);
    expect(tables).toMatch(/at the fastest of the rates 1e-3, 1e-2/);
    expect(tables).toMatch(/\| attack rate \|/);
    for (const name of ['remove', 'steered', 'absent', 'rmu']) expect([1e-3, 1e-2]).toContain(rec.attacks[name].lr);
    for (const name of ['comparison.svg', 'comparison-attacks.svg']) expect(existsSync(join(out, name)), name).toBe(true);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toMatch(/comparison\.svg/);
    expect(bestSteeredShare(results)).toBe(0.3);
  });

  it('refuses bad comparison settings by name, and a share without runs', async () => {
    expect(() => checkComparisonSettings({ share: 1.5 })).toThrow(/comparison share = 1.5 must be in \(0, 1\)/);
    expect(() => checkComparisonSettings({ rmuSteps: 0 })).toThrow(/rmuSteps = 0/);
    expect(() => checkComparisonSettings({ attackLrs: [] })).toThrow(/attackLrs/);
    expect(() => checkComparisonSettings({ shar: 0.1 })).toThrow(/unknown comparison setting 'shar'/);
    expect(() => bestSteeredShare({ runs: {} } as never)).toThrow(/needs a finished run at a medical share above 0/);
    const recorded = { comparison: { share: 0.2, settings: { ...COMPARISON_DEFAULTS }, seeds: { 1: {} } } } as never;
    expect(() => checkComparisonResumable(recorded, {}, 'o')).not.toThrow();
    expect(() => checkComparisonResumable(recorded, { share: 0.1, rmuSteps: 9 }, 'o')).not.toThrow(); // another share starts over
    expect(() => checkComparisonResumable(recorded, { attackBudget: 0.3 }, 'o')).toThrow(/o holds a comparison made with attackBudget 0.15; this run asks for attackBudget 0.3/);
    expect(() => checkComparisonResumable({ comparison: { share: 0.2, settings: {}, seeds: {} } } as never, { rmuSteps: 9 }, 'o')).not.toThrow(); // nothing finished yet
    const noCompare = await runCaptured('mixture', '--data', join(dir, 'data'), '--out', join(dir, 'x'), '--rmu-steps', '3');
    expect(noCompare.code).toBe(2);
    expect(noCompare.stderr).toMatch(/need --compare/);
  });
});

describe('the comparison report', () => {
  const attack = (lr: number) => ({ lr }) as AttackRecord;
  it('names each seed\'s attack rate and marks winners at the top of the swept grid', () => {
    const grid = [3e-4, 1e-3, 3e-3, 1e-2];
    expect(rateCell([attack(3e-3), attack(1e-3)], grid)).toBe('3e-3 / 1e-3');
    expect(rateCell([attack(1e-2), attack(1e-2)], grid)).toBe('1e-2 / 1e-2 (top of the grid)');
    expect(rateCell([attack(1e-2), attack(3e-3)], grid)).toBe('1e-2 / 3e-3 (1 of 2 at the top of the grid)');
    expect(rateCell([attack(2.5e-3)], [2.5e-3])).toBe('2.5e-3 (top of the grid)');
    expect(rateCell([undefined], grid)).toBe('–');
  });

  it('sweeps up to 1e-2 by default', () => {
    expect(COMPARISON_DEFAULTS.attackLrs).toEqual([3e-4, 1e-3, 3e-3, 1e-2]);
  });

  it('puts the swept rates and the winning rate of each attack in the table', () => {
    const loss = { general: 4, medical: 3, biology: 3.5 };
    const seed = (s: number, lr: number) => ({
      seed: s, reference: { id: `share-20-seed-${s}`, loss }, attacks: { remove: { ...attack(lr), reached: true, tokensToTarget: 1000 * s, fractionOfPretraining: 0.01 * s, budgetTokens: 9000 } },
      remove: { loss: { general: 4.1, medical: 4, biology: 3.5 }, rise: {}, modelPath: '' },
    });
    const table = comparisonTable({ share: 0.2, settings: { ...COMPARISON_DEFAULTS, attackLrs: [1e-3, 1e-2] }, seeds: { 1: seed(1, 1e-2), 2: seed(2, 1e-3) } } as never);
    expect(table).toMatch(/at the fastest of the rates 1e-3, 1e-2/);
    expect(table).toMatch(/\| token removal \(filtering\) \| 1\.000 ± 0\.000 \| 0\.000 ± 0\.000 \| 0\.100 ± 0\.000 \| 1\.5 ± 0\.5k \(1\.50 ± 0\.50% of pretraining\) \| 1e-2 \/ 1e-3 \(1 of 2 at the top of the grid\) \|/);
  });
});
