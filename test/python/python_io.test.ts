/**
 * python/tokenfilter_io.py against the TypeScript API: fixtures written here (shards, side files,
 * corrupted copies, sampler batches, models and their logits), then
 * `python3 python/test_tokenfilter_io.py DIR` checks that Python reads the same values, refuses
 * the same broken files, draws the same windows and computes the same logits. The PyTorch part
 * runs where an interpreter imports torch (TOKENFILTER_PYTHON, python3, /usr/bin/python3 are
 * tried in order) and is reported as skipped, with the reason, where none does.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readShard } from '../../lib/data/shard.js';
import { readSideFile } from '../../lib/data/side_file.js';
import { Transformer } from '../../lib/model/transformer.js';
import { tempDir } from '../lib/data/helpers.js';
import { writeFixtures } from './fixtures.js';

const SCRIPT = join(import.meta.dirname, '../../python/test_tokenfilter_io.py');

/** The first interpreter that imports every module in `modules`, or null. */
function findPython(modules: string): string | null {
  const candidates = [process.env.TOKENFILTER_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const python of new Set(candidates)) {
    const r = spawnSync(python, ['-c', `import ${modules}`], { encoding: 'utf-8', timeout: 60_000 });
    if (r.status === 0) return python;
  }
  return null;
}

const numpyPython = findPython('numpy');
const torchPython = findPython('numpy, torch');
if (!numpyPython) console.warn('SKIPPED python/tokenfilter_io.py tests: no python3 with numpy (set TOKENFILTER_PYTHON)');
if (!torchPython) console.warn('SKIPPED python/tokenfilter_io.py PyTorch tests: no python3 that imports torch (set TOKENFILTER_PYTHON)');

function runPython(python: string, ...args: string[]): string {
  const r = spawnSync(python, [SCRIPT, ...args], { encoding: 'utf-8', timeout: 300_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${python} ${SCRIPT} ${args.join(' ')} exited ${r.status}:\n${output}`);
  const summary = output.match(/^Ran \d+ tests?.*$/m)?.[0] ?? '';
  console.log(`${python} ${SCRIPT} ${args.slice(1).join(' ')}: ${summary}`);
  return output;
}

const { dir, cleanup } = tempDir('tf-python-');
let expected: Awaited<ReturnType<typeof writeFixtures>>;
beforeAll(async () => {
  expected = await writeFixtures(dir);
});
afterAll(cleanup);

describe('python/tokenfilter_io.py', () => {
  it('every corrupted fixture is refused by the TypeScript readers too (the strictness Python must match)', () => {
    for (const bad of expected.bad) {
      const read = bad.reader === 'shard' ? () => readShard(bad.path) : () => readSideFile(bad.path);
      expect(read, bad.what).toThrow();
    }
  });

  it.skipIf(!numpyPython)('numpy: headers, values, strict errors, sampler windows and logits equal the TypeScript results', () => {
    const output = runPython(numpyPython as string, dir);
    expect(output).toMatch(/^OK/m);
    expect(output).not.toMatch(/skipped/);
  });

  it.skipIf(!torchPython)('torch: the module and dataset match, and a module trained in PyTorch loads in TypeScript', async () => {
    const output = runPython(torchPython as string, dir, '--torch');
    expect(output).toMatch(/^OK/m);
    expect(output).not.toMatch(/skipped/);
    // the Python side trained the tied model one step and saved it with its logits on expected.tokens
    const model = await Transformer.load(join(dir, 'from_torch.safetensors'));
    const { shape, values } = expected.tokens;
    const logits = await model.logits(Uint32Array.from(values), { batch: shape[0], context: shape[1] });
    const fromTorch = new Float32Array(readFileSync(join(dir, 'from_torch.logits.f32')).buffer.slice(0));
    expect(fromTorch.length).toBe(logits.length);
    let worst = 0;
    for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i] - fromTorch[i]));
    expect(worst).toBeLessThan(1e-4);
  });
});
