import { describe, expect, it } from 'vitest';
import { DEFAULT_COLUMNS, ProgressLine, UsageError, formatCount, formatDuration, parseEnvInteger, parseIntegerOption, parseNumberOption, type CliIO } from '../../../lib/cli/output.js';

function capture(isTTY: boolean, columns = 120): { io: CliIO; err: () => string } {
  let err = '';
  return { io: { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s), isTTY, columns } }, err: () => err };
}

/** A clock the test moves by hand. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('CLI output helpers', () => {
  it('prints plain progress lines off a terminal, at most one per interval, and a last line only after a long stage', () => {
    const clock = fakeClock();
    const log = capture(false);
    const progress = new ProgressLine(log.io, 'tokenize', { clock: clock.now });
    expect(progress.mode).toBe('lines');
    for (let second = 1; second <= 25; second++) {
      clock.advance(1000);
      progress.update(second * 4, 100, 'MB', `${second} docs`, true);
    }
    // 25 s of updates every second: lines at 10 s and 20 s only, then the latest state at finish
    progress.finish();
    const lines = log.err().split('\n').filter(Boolean);
    expect(lines).toEqual([
      'tokenize  40% 40/100 MB · ETA 00:15 · 4 MB/s · 00:10 · 10 docs',
      'tokenize  80% 80/100 MB · ETA 00:05 · 4 MB/s · 00:20 · 20 docs',
      'tokenize 100% 100/100 MB · 4 MB/s · 00:25 · 25 docs',
    ]);
    expect(log.err()).not.toContain('\r');
    // a stage shorter than the interval prints nothing, even at finish
    const short = capture(false);
    const quick = new ProgressLine(short.io, 'filter', { clock: clock.now });
    clock.advance(9_999);
    quick.update(1, 2, 'shards', '', true);
    quick.finish();
    expect(short.err()).toBe('');
    // a small interval option, as a long-running job could use
    const fast = capture(false);
    const often = new ProgressLine(fast.io, 'score', { clock: clock.now, lineInterval: 10 });
    for (let i = 1; i <= 5; i++) {
      clock.advance(5);
      often.update(i, null, 'shards');
    }
    expect(fast.err().split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('follows the --progress mode, and gives a 0-column terminal the default width', () => {
    const clock = fakeClock();
    for (const [mode, isTTY, expected] of [['bar', false, 'bar'], ['lines', true, 'lines'], ['none', true, 'none'], ['auto', true, 'bar'], ['auto', false, 'lines']] as const) {
      const out = capture(isTTY);
      expect(new ProgressLine({ ...out.io, progress: mode }, 'x', { clock: clock.now }).mode).toBe(expected);
    }
    const silent = capture(true);
    const none = new ProgressLine({ ...silent.io, progress: 'none' }, 'x');
    none.update(1, 2, 'docs', '', true);
    none.finish();
    expect(silent.err()).toBe('');
    const zero = capture(true, 0);
    new ProgressLine(zero.io, 'train').update(1, 10, 'steps', '', true);
    expect(zero.err()).toHaveLength(1 + DEFAULT_COLUMNS - 1);
    expect(zero.err()).toMatch(/^\rtrain \[/);
  });

  it('draws a progress bar on a terminal, and nothing off one within the first interval', () => {
    const tty = capture(true);
    const line = new ProgressLine(tty.io, 'tokenize');
    line.update(50, 200, 'docs', '1.2M tokens', true);
    line.finish();
    expect(tty.err()).toMatch(/^\rtokenize \[######\.{18}\]  25% 50\/200 docs .*· 1\.2M tokens\s*\n$/);
    const pipe = capture(false);
    const quiet = new ProgressLine(pipe.io, 'tokenize', { mode: 'auto' });
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
