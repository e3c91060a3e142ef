import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../lib/cli/main.js';

const out = mkdtempSync(join(tmpdir(), 'tf-demo-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('tokenfilter demo', () => {
  it('runs the whole chain at a tiny size and writes report.json, loss.svg and index.html', async () => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(
      ['demo', '--out', out, '--steps', '6', '--vocab', '400', '--layers', '1', '--dim', '32', '--heads', '2', '--context', '32', '--batch', '4'],
      { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/mode\s+filtered\s+steps\s+medical loss/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.runs.map((r: { mode: string }) => r.mode)).toEqual(['baseline', 'document', 'mask', 'remove']);
    const matched = report.matched_fraction;
    expect(matched).toBeGreaterThan(0.1);
    expect(matched).toBeLessThan(0.3);
    for (const run of report.runs) {
      for (const domain of ['medical', 'biology', 'general']) {
        expect(Number.isFinite(run.loss[domain])).toBe(true);
        expect(run.loss[domain]).toBeGreaterThan(0);
      }
      if (run.mode === 'baseline') expect(run.flagged_fraction).toBe(0);
      else expect(run.flagged_fraction).toBeGreaterThanOrEqual(matched - 1e-9);
      expect(existsSync(run.model_path)).toBe(true);
      // token modes train longer so that every run learns from as many targets as the baseline
      if (run.mode === 'mask' || run.mode === 'remove') expect(run.steps).toBe(Math.ceil(6 / (1 - run.flagged_fraction)));
      else expect(run.steps).toBe(6);
    }
    // token modes at threshold 0.5 on gold labels flag exactly the medical tokens
    const mask = report.runs.find((r: { mode: string }) => r.mode === 'mask');
    expect(mask.filtered_by_domain.medical.filtered).toBe(mask.filtered_by_domain.medical.tokens);
    expect(mask.filtered_by_domain.biology.filtered).toBe(0);
    expect(readFileSync(join(out, 'loss.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toMatch(/tokenfilter demo/);
  }, 300_000);
});
