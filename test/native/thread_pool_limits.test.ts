// The thread pool at the machine's limits. Starting threads can fail part-way (a pids or
// address-space limit); the old pool constructor then threw, and unwinding destroyed the
// condition variable its started workers slept on and their joinable std::threads: the process
// hung in pthread_cond_destroy or died in std::terminate (the child below, asking for 8
// threads, aborted with "terminate called without an active exception" against the old
// build; the issue saw the hang). Now start-up joins what it
// started and throws E_NATIVE, the previous pool stays in use, and thread counts above the cap
// (4 per hardware thread, at most 256) are refused by setThreads (E_TOO_LARGE) and clamped,
// with a warning, when they come from TOKENFILTER_THREADS.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { backendInfo, setThreads } from '../../lib/native.js';
import { CHILD_ADDON_SOURCE } from '../helpers/child_addon.js';

// Child: limits its own address space to what it uses now plus 100 MiB (with 64 MiB thread
// stacks, set by `ulimit -s` before node starts, the second new thread cannot be mapped), asks
// for the most threads allowed, then runs a parallel kernel on the pool it is left with.
const LIMITED = `
${CHILD_ADDON_SOURCE}
const { execFileSync } = require('node:child_process');
const before = addon.backendInfo().threads;
const vm = Number(/VmSize:\\s+(\\d+) kB/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]);
execFileSync('prlimit', ['--pid', String(process.pid), '--as=' + (vm + 100 * 1024) * 1024]);
let error = null;
try { addon.setThreads(addon.backendInfo().maxThreads); } catch (e) { error = { code: e.code, message: e.message }; }
const x = new Float32Array(1 << 18).fill(3), y = new Float32Array(1 << 18);
addon._ops.relu2Forward(y, x, x.length);
console.log(JSON.stringify({ error, before, after: addon.backendInfo().threads, ok: y.every((v) => v === 9) }));
`;

const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;

describe('native thread pool limits', () => {
  it.skipIf(!hasPrlimit)('reports a failed thread start-up as E_NATIVE instead of hanging, and keeps the old pool', () => {
    const child = spawnSync('sh', ['-c', 'ulimit -s 65536 && exec "$0" -e "$1"', process.execPath, LIMITED], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.error?.message, 'the child hung (killed after 20 s)').toBeUndefined();
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout);
    expect(out.error.code).toBe('E_NATIVE');
    expect(out.error.message).toMatch(/could not start native thread \d+ of \d+ .*limit/);
    expect(out.after).toBe(out.before);
    expect(out.ok).toBe(true);
  }, 30_000);

  it('refuses more threads than the cap with E_TOO_LARGE', () => {
    const { maxThreads, hardwareThreads } = backendInfo();
    expect(maxThreads).toBe(Math.min(256, 4 * Math.max(1, hardwareThreads)));
    const error = (() => {
      try {
        setThreads(maxThreads + 1);
      } catch (e) {
        return e as RangeError & { code: string };
      }
    })();
    expect(error).toBeInstanceOf(RangeError);
    expect(error?.code).toBe('E_TOO_LARGE');
    expect(error?.message).toContain(`limit of ${maxThreads}`);
  });

  it('clamps TOKENFILTER_THREADS above the cap, with a warning', () => {
    const child = spawnSync(process.execPath, ['-e', `${CHILD_ADDON_SOURCE}\nconsole.log(JSON.stringify(addon.backendInfo()))`], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, TOKENFILTER_THREADS: '100000' },
    });
    expect(child.status, child.stderr).toBe(0);
    const info = JSON.parse(child.stdout);
    expect(info.threads).toBe(info.maxThreads);
    expect(child.stderr).toContain(`TOKENFILTER_THREADS=100000 is above the limit of ${info.maxThreads} threads`);
  });
});
