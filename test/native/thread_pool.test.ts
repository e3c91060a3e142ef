// The native thread pool under contention. A parallel_for whose worker woke late (preempted on a
// busy machine) used to be able to take a task of the *next* call, run it twice and leave that
// call waiting forever for a task count it had overshot; CI hung on it. Here a child process
// runs back-to-back kernels of varying task counts on more pool threads than there are cores,
// beside processes that keep every core busy, and must finish with correct results. The race
// needs an unlucky preemption, so this short test rarely catches the old code (0 of 6 runs
// here; a 60k-call run of the same loop beside two `yes > /dev/null` hung it in 2 of 8). What
// it guarantees is that a hang fails by timeout instead of blocking the suite.
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CHILD_ADDON_SOURCE } from '../helpers/child_addon.js';

// Child: relu2 on 1..24 chunks of 2^15 (the kernel's grain), alternating sizes, checking a
// sample of outputs each call. Prints "ok <calls>" or exits 1 naming the bad element.
const STRESS = `
${CHILD_ADDON_SOURCE}
const calls = Number(process.argv[1]);
const max = 24 << 15;
const x = new Float32Array(max), y = new Float32Array(max);
for (let i = 0; i < max; i++) x[i] = ((i * 7919) % 2001 - 1000) / 250;
let s = 12345;
for (let c = 0; c < calls; c++) {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  const n = (1 + (s >>> 16) % 24) << 15;
  y.fill(-1, 0, n);
  addon._ops.relu2Forward(y.subarray(0, n), x.subarray(0, n), n);
  for (let i = c % 97; i < n; i += 4099) {
    const want = x[i] > 0 ? Math.fround(x[i] * x[i]) : 0;
    if (y[i] !== want) { console.log('bad', c, i, y[i], want); process.exit(1); }
  }
}
console.log('ok', calls);
`;

// A busy process that also enters the kernel constantly (small writes), as `yes > /dev/null`
// does: that preempts the pool's threads at awkward moments far more often than a pure spin.
const HOG = `
const fs = require('node:fs');
const fd = fs.openSync('/dev/null', 'w');
const buf = Buffer.alloc(64, 121);
const end = Date.now() + Number(process.argv[1]);
while (Date.now() < end) for (let i = 0; i < 1000; i++) fs.writeSync(fd, buf);
`;

function run(code: string, arg: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; timedOut: boolean }>((resolve) => {
    const child = spawn(process.execPath, ['-e', code, arg], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, timedOut });
    });
  });
}

describe('native thread pool', () => {
  it('finishes back-to-back parallel calls of varying sizes on an oversubscribed machine, with correct results', async () => {
    const hogs = Array.from({ length: Math.max(2, cpus().length) }, () => run(HOG, '6000', {}, 20_000));
    // ~6 s of calls on an idle 2-core machine: a hang shows up as a timeout far beyond that
    const stress = await run(STRESS, '20000', { TOKENFILTER_THREADS: '6' }, 60_000);
    await Promise.all(hogs);
    expect(stress.timedOut, 'the child hung in the thread pool').toBe(false);
    expect(stress.stdout.trim()).toBe('ok 20000');
    expect(stress.code).toBe(0);
  }, 90_000);
});
