// The mixture study end to end on a tiny seeded corpus: runs, resumes, reports.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured } from '../../cli/run_captured.js';
import { resolveMixtureOptions } from '../../../../lib/experiment/mixture/run_mixture.js';
import { isTokenfilterError } from '../../../../lib/errors.js';
import { tempDir } from '../../data/helpers.js';
import { writeData } from './tiny_data.js';

const { dir, cleanup } = tempDir('tf-mixture-');
afterAll(cleanup);

const cli = (argv: string[]) => runCaptured(...argv);

describe('tokenfilter mixture', () => {
  it('trains one model per share, measures probes and steering, resumes and reports', async () => {
    const data = join(dir, 'data');
    writeData(data);
    const out = join(dir, 'out');
    const argv = ['mixture', '--data', data, '--out', out, '--shares', '0,30', '--seeds', '1', '--layers', '2', '--width', '16', '--heads', '2',
      '--context', '32', '--vocab', '300', '--steps', '12', '--batch', '4', '--ks', '1,2', '--alphas', '0,4', '--samples', '1', '--quiet', '--json'];
    const first = await cli(argv);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const results = JSON.parse(first.stdout);
    expect(Object.keys(results.runs).sort()).toEqual(['share-0-seed-1', 'share-30-seed-1']);
    const run = results.runs['share-30-seed-1'];
    expect(run.weights.medical).toBeCloseTo(0.3, 12);
    expect(results.runs['share-0-seed-1'].weights.medical).toBe(0);
    expect(run.separability.layers).toHaveLength(4);
    expect(run.separability.heads).toHaveLength(4);
    for (const l of run.separability.layers) expect(l.auroc).toBeGreaterThan(0.5);
    // 2 K × 2 α ITI points + 3 residual points (layers 0 … L); α = 0 changes nothing
    expect(run.steering.filter((p: { method: string }) => p.method === 'iti')).toHaveLength(4);
    expect(run.steering.filter((p: { method: string }) => p.method === 'residual')).toHaveLength(3);
    for (const p of run.steering.filter((q: { alpha?: number }) => q.alpha === 0)) expect(Math.abs(p.rise.medical)).toBeLessThan(1e-9);
    expect(run.samples).toHaveLength(1);
    expect(run.samples[0].prompt).toMatch(/fever/);
    for (const name of ['index.html', 'tradeoff.svg', 'tables.md', 'heads-0pct.svg', 'heads-30pct.svg']) expect(existsSync(join(out, name)), name).toBe(true);
    expect(readFileSync(join(out, 'tables.md'), 'utf8')).toMatch(/\| 30% \| 1 \|/);
    // resume: nothing is retrained, the results are the same
    const again = await cli(argv);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).runs).toEqual(results.runs);
    const report = await cli(['mixture', '--data', data, '--out', out, '--report-only']);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/alignability/);
    // a folder's runs are not mixed with runs of another model size or training length
    const before = readFileSync(join(out, 'results.json'), 'utf8');
    const other = argv.map((v, i) => (argv[i - 1] === '--steps' ? '13' : argv[i - 1] === '--width' ? '24' : v));
    const refused = await cli(other);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/holds runs made with dModel 16, steps 12; this run asks for dModel 24, steps 13/);
    expect(readFileSync(join(out, 'results.json'), 'utf8')).toBe(before);
    const moreShares = await cli(argv.map((v, i) => (argv[i - 1] === '--shares' ? '0,10,30' : v)));
    expect(moreShares.code, moreShares.stderr).toBe(0); // shares and seeds may grow
  });

  it('refuses bad options by name', async () => {
    expect(() => resolveMixtureOptions({ data: 'd', out: 'o', shares: [0, 1.2] })).toThrow(/share 1.2 is outside \[0, 1\)/);
    expect(() => resolveMixtureOptions({ data: 'd', out: 'o', alphas: [Number.NaN] })).toThrow(/alpha NaN is not finite/);
    let error: unknown;
    try {
      resolveMixtureOptions({ data: 'd', out: 'o', shars: [0.1] } as never);
    } catch (e) {
      error = e;
    }
    expect(isTokenfilterError(error, 'E_OPTION')).toBe(true);
    expect((error as Error).message).toBe("unknown option 'shars' for stage mixture; did you mean 'shares'?");
    const absent = await cli(['mixture', '--data', join(dir, 'no-data'), '--out', join(dir, 'y')]);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toMatch(/lacks .*general\.train\.jsonl\.gz/);
    expect(existsSync(join(dir, 'y'))).toBe(false); // nothing written
    const r = await cli(['mixture', '--data', 'd', '--out', join(dir, 'x'), '--shares', '10,abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--shares: 'abc' is not a number/);
  });
});
