import { describe, expect, it } from 'vitest';
import { isTokenfilterError } from '../../../lib/errors.js';
import { autoTaskIndex, parseTask } from '../../../lib/cli/task_index.js';

/** The E_OPTION error `fn` throws; fails the test when it throws nothing or another code. */
function optionError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    expect(isTokenfilterError(error, 'E_OPTION')).toBe(true);
    return error as Error;
  }
  throw new Error('expected an E_OPTION error');
}

describe('parseTask (--shard I/N | auto/N)', () => {
  it('reads an explicit I/N and refuses malformed or out-of-range values', () => {
    expect(parseTask('3/8', {})).toEqual({ index: 3, count: 8 });
    expect(parseTask(' 0/1 ', {})).toEqual({ index: 0, count: 1 });
    expect(optionError(() => parseTask('4/4', {})).message).toMatch(/0 <= I < N/);
    expect(optionError(() => parseTask('0/0', {})).message).toMatch(/N must be an integer >= 1/);
    expect(optionError(() => parseTask('x', {})).message).toMatch(/I\/N/);
    expect(optionError(() => parseTask('-1/4', {})).message).toMatch(/I\/N/);
  });

  it('takes a 0-based Slurm array id as is', () => {
    expect(parseTask('auto/4', { SLURM_ARRAY_TASK_ID: '2' })).toEqual({ index: 2, count: 4 });
    expect(parseTask('auto/3', { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '0' })).toEqual({ index: 2, count: 3 });
  });

  it('maps a 1-based Slurm array (--array=1-3) to tasks 0, 1, 2 through SLURM_ARRAY_TASK_MIN', () => {
    const tasks = ['1', '2', '3'].map((id) => parseTask('auto/3', { SLURM_ARRAY_TASK_ID: id, SLURM_ARRAY_TASK_MIN: '1' }).index);
    expect(tasks).toEqual([0, 1, 2]);
    // Without the minimum, id 3 of a 1-based array is out of range, and the message says where it came from.
    const message = optionError(() => parseTask('auto/3', { SLURM_ARRAY_TASK_ID: '3' })).message;
    expect(message).toContain('task index 3 (from SLURM_ARRAY_TASK_ID=3) is not below N = 3');
    expect(message).toContain('--array=1-3');
    const withMin = optionError(() => parseTask('auto/3', { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '1' })).message;
    expect(withMin).toContain('SLURM_ARRAY_TASK_ID=5 − SLURM_ARRAY_TASK_MIN=1');
    expect(optionError(() => parseTask('auto/3', { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '1' })).message).toMatch(/below SLURM_ARRAY_TASK_MIN=1/);
  });

  it('refuses a Slurm array that is not N consecutive ids, such as a resubmitted subset', () => {
    const full = { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_STEP: '1' };
    expect(parseTask('auto/3', full)).toEqual({ index: 1, count: 3 });
    // --array=1,4 resubmitted for auto/5 would run as tasks 0 and 3
    const subset = optionError(() => parseTask('auto/5', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '2' })).message;
    expect(subset).toContain('exactly 5 consecutive ids, but SLURM_ARRAY_TASK_COUNT=2');
    expect(subset).toContain('--shard $SLURM_ARRAY_TASK_ID/5');
    expect(optionError(() => parseTask('auto/3', { ...full, SLURM_ARRAY_TASK_STEP: '2' })).message).toContain('SLURM_ARRAY_TASK_STEP=2');
    // the explicit form is not checked against the array
    expect(parseTask('4/5', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '2' })).toEqual({ index: 4, count: 5 });
  });

  it('reads a Kubernetes Indexed Job index, with Slurm taking precedence when both are set', () => {
    expect(parseTask('auto/4', { JOB_COMPLETION_INDEX: '1' })).toEqual({ index: 1, count: 4 });
    expect(autoTaskIndex({ JOB_COMPLETION_INDEX: '1', SLURM_ARRAY_TASK_ID: '3' })).toEqual({ index: 3, source: 'SLURM_ARRAY_TASK_ID=3' });
    expect(optionError(() => parseTask('auto/4', { JOB_COMPLETION_INDEX: '4' })).message).toContain('JOB_COMPLETION_INDEX=4');
  });

  it('refuses a missing, empty or non-integer variable, naming it and its value', () => {
    expect(optionError(() => parseTask('auto/4', {})).message).toMatch(/needs SLURM_ARRAY_TASK_ID .* or JOB_COMPLETION_INDEX .*neither is set/);
    expect(optionError(() => parseTask('auto/4', { SLURM_ARRAY_TASK_ID: '' })).message).toMatch(/SLURM_ARRAY_TASK_ID is empty/);
    expect(optionError(() => parseTask('auto/4', { JOB_COMPLETION_INDEX: ' ' })).message).toMatch(/JOB_COMPLETION_INDEX is empty/);
    expect(optionError(() => parseTask('auto/4', { SLURM_ARRAY_TASK_ID: '1.5' })).message).toContain("SLURM_ARRAY_TASK_ID='1.5' is not a non-negative integer");
    expect(optionError(() => parseTask('auto/4', { SLURM_ARRAY_TASK_ID: '-1' })).message).toContain("SLURM_ARRAY_TASK_ID='-1'");
    expect(optionError(() => parseTask('auto/4', { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: 'one' })).message).toContain("SLURM_ARRAY_TASK_MIN='one'");
    expect(optionError(() => parseTask('auto/4', { JOB_COMPLETION_INDEX: '0x1' })).message).toContain("JOB_COMPLETION_INDEX='0x1'");
  });
});
