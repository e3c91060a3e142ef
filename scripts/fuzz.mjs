#!/usr/bin/env node
// Runs the fuzz tests (test/fuzz) again and again with new seeds until the time is up, and
// prints every failing seed with the command that replays it.
//
//   npm run fuzz -- --minutes 10 [--scale 5] [--seed S] [--only native]
//
// --minutes: how long to keep starting rounds (default 5); --scale: cases per test, as a
// multiple of the quick set in `npm test` (default 5); --seed: first seed (default: from the
// clock); --only: run only test/fuzz files whose name contains this text.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = process.argv[at + 1];
  if (value === undefined) throw new Error(`--${name} needs a value`);
  return value;
}

function positiveNumber(name, text) {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${text}'`);
  return n;
}

const minutes = positiveNumber('minutes', option('minutes', '5'));
const scale = Math.round(positiveNumber('scale', option('scale', '5')));
const only = option('only', '');
let seed = Number(option('seed', String(Date.now() % 1_000_000_000)));
if (!Number.isSafeInteger(seed) || seed < 0) throw new Error('--seed must be a non-negative integer');

const files = readdirSync('test/fuzz').filter((f) => f.endsWith('.test.ts') && f.includes(only)).map((f) => join('test/fuzz', f));
if (files.length === 0) throw new Error(`no fuzz test matches --only '${only}'`);
const lastCase = join(tmpdir(), 'tokenfilter-fuzz-native-last-case.txt');
const deadline = Date.now() + minutes * 60_000;
const failures = [];
let rounds = 0;
console.log(`fuzz: ${files.length} files, scale ${scale}, for ${minutes} min, first seed ${seed}`);
while (Date.now() < deadline) {
  rmSync(lastCase, { force: true });
  const started = Date.now();
  const run = spawnSync('npx', ['vitest', 'run', ...files], {
    env: { ...process.env, FUZZ_SEED: String(seed), FUZZ_SCALE: String(scale) },
    encoding: 'utf8',
    // A round that hangs is a failure too: stop it at twice the time left or 10 minutes.
    timeout: Math.max(60_000, Math.min(600_000, 2 * (deadline - Date.now()))),
    maxBuffer: 64 * 1024 * 1024,
  });
  rounds++;
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (run.status === 0) console.log(`seed ${seed}: passed (${seconds} s)`);
  else {
    const output = `${run.stdout}\n${run.stderr}`;
    const found = output.match(/FUZZ_SEED=\d+ [^\n]*/g) ?? [];
    const crashed = run.signal !== null || /exited unexpectedly|Worker .*(terminated|exited)|SIGSEGV|SIGABRT/i.test(output);
    const lines = [...new Set(found)].slice(0, 5);
    if (crashed && existsSync(lastCase)) lines.push(`crashed during: ${readFileSync(lastCase, 'utf8').trim()}`);
    if (run.signal === 'SIGTERM') lines.push('the round hung and was stopped');
    if (lines.length === 0) lines.push(output.split('\n').filter((l) => /FAIL|Error/.test(l)).slice(0, 5).join('\n'));
    failures.push({ seed, lines });
    console.log(`seed ${seed}: FAILED (${seconds} s)\n  ${lines.join('\n  ')}`);
    console.log(`  replay: FUZZ_SEED=${seed} FUZZ_SCALE=${scale} npx vitest run ${files.join(' ')}`);
  }
  seed++;
}
console.log(`fuzz: ${rounds} round(s), ${failures.length} failing seed(s)${failures.length ? `: ${failures.map((f) => f.seed).join(', ')}` : ''}`);
process.exitCode = failures.length > 0 ? 1 : 0;
