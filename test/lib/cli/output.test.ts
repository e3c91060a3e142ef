import { describe, expect, it } from 'vitest';
import { ProgressLine, UsageError, formatCount, formatDuration, parseEnvInteger, parseIntegerOption, parseNumberOption, type CliIO } from '../../../lib/cli/output.js';

function capture(isTTY: boolean): { io: CliIO; err: () => string } {
  let err = '';
  return { io: { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s), isTTY, columns: 120 } }, err: () => err };
}

describe('CLI output helpers', () => {
  it('draws a progress bar on a terminal and nothing otherwise', () => {
    const tty = capture(true);
    const line = new ProgressLine(tty.io, 'tokenize');
    line.update(50, 200, 'docs', '1.2M tokens', true);
    line.finish();
    expect(tty.err()).toMatch(/^\rtokenize \[######\.{18}\]  25% 50\/200 docs .*· 1\.2M tokens\s*\n$/);
    const pipe = capture(false);
    const quiet = new ProgressLine(pipe.io, 'tokenize');
    quiet.update(50, 200, 'docs', '', true);
    quiet.finish();
    expect(pipe.err()).toBe('');
    const unknown = capture(true);
    new ProgressLine(unknown.io, 'read').update(12_345, null, 'docs', '', true);
    expect(unknown.err()).toMatch(/^\rread 12\.3k docs · /);
  });

  it('formats counts and durations, and parses integer options', () => {
    expect([formatCount(999), formatCount(12_345), formatCount(2_500_000), formatCount(3e9)]).toEqual(['999', '12.3k', '2.50M', '3.00G']);
    expect([formatDuration(5), formatDuration(125), formatDuration(3725)]).toEqual(['00:05', '02:05', '1:02:05']);
    expect(parseIntegerOption('--n', '1_000', 1)).toBe(1000);
    expect(parseIntegerOption('--n', '1e6', 1)).toBe(1_000_000);
    expect(() => parseIntegerOption('--n', '0', 1)).toThrow(UsageError);
    expect(() => parseIntegerOption('--n', '2.5', 1)).toThrow(/--n must be an integer in \[1, /);
  });

  it('refuses empty and whitespace-only numbers and environment variables instead of reading them as 0', () => {
    for (const empty of ['', '  ', '\t']) {
      expect(() => parseNumberOption('--threshold', empty, 0, 1)).toThrow(/--threshold is empty/);
      expect(() => parseIntegerOption('--steps', empty, 0)).toThrow(/--steps is empty/);
      expect(() => parseEnvInteger({ SLURM_ARRAY_TASK_ID: empty }, 'SLURM_ARRAY_TASK_ID', 0)).toThrow(/SLURM_ARRAY_TASK_ID is empty/);
    }
    try {
      parseNumberOption('--lr', ' ', 0, 10);
    } catch (error) {
      expect((error as UsageError).code).toBe('E_OPTION');
    }
    expect(parseNumberOption('--lr', ' 0.5 ', 0, 10)).toBe(0.5);
    expect(parseEnvInteger({}, 'SLURM_ARRAY_TASK_ID', 0)).toBeUndefined();
    expect(parseEnvInteger({ SLURM_ARRAY_TASK_ID: '3' }, 'SLURM_ARRAY_TASK_ID', 0)).toBe(3);
  });
});
