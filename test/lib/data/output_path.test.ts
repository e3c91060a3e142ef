import { existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputPaths, makeFolder } from '../../../lib/data/output_path.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-output-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('makeFolder', () => {
  it('creates missing parents one level at a time and accepts an existing folder', async () => {
    const deep = join(dir, 'a', 'b', 'c');
    await makeFolder(deep);
    await makeFolder(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
  });

  it('refuses a file where a folder must go, naming it (E_OUTPUT_PATH)', async () => {
    const file = join(dir, 'plain.txt');
    writeFileSync(file, 'x');
    await expect(makeFolder(file, '--out')).rejects.toMatchObject({ code: 'E_OUTPUT_PATH', message: `--out ${file}: exists and is not a folder` });
    await expect(makeFolder(join(file, 'sub'), '--out')).rejects.toMatchObject({ code: 'E_OUTPUT_PATH', message: expect.stringContaining(`${file} is not a folder`) });
  });

  it.runIf(existsSync('/proc/self'))('fails at once under /proc, where a recursive mkdir never returns', async () => {
    const started = Date.now();
    await expect(makeFolder('/proc/tokenfilter-test/out', '--out')).rejects.toMatchObject({ code: 'E_OUTPUT_PATH', message: expect.stringContaining('cannot create the folder /proc/tokenfilter-test') });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('checkOutputPaths', () => {
  const input = join(dir, 'in', 'a.bin');
  mkdirSync(join(dir, 'in'), { recursive: true });
  writeFileSync(input, 'shard');
  const inputs = [{ path: input, role: 'input shard' }];

  it('refuses a file output that is an input: same path, a link to it, or a hard link', async () => {
    const link = join(dir, 'link.bin');
    symlinkSync(input, link);
    const hard = join(dir, 'hard.bin');
    linkSync(input, hard);
    for (const path of [input, join(dir, 'in', '..', 'in', 'a.bin'), link, hard])
      await expect(checkOutputPaths([{ path, role: '--out' }], inputs)).rejects.toMatchObject({
        code: 'E_OUTPUT_PATH',
        message: expect.stringMatching(new RegExp(`^--out .* would write over input shard ${input.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)),
      });
    await checkOutputPaths([{ path: join(dir, 'model.safetensors'), role: '--out' }], inputs);
  });

  it('refuses two outputs that are one file, and a folder given as a file output', async () => {
    const model = join(dir, 'm.safetensors');
    await expect(checkOutputPaths([{ path: model, role: '--out' }, { path: model, role: '--checkpoint' }], inputs)).rejects.toMatchObject({ code: 'E_OUTPUT_PATH', message: expect.stringContaining('--checkpoint') });
    await expect(checkOutputPaths([{ path: join(dir, 'in'), role: '--out' }], inputs)).rejects.toMatchObject({ code: 'E_OUTPUT_PATH', message: expect.stringContaining('is a folder') });
  });

  it('refuses an output folder holding an input under a name it writes, through a linked folder too', async () => {
    const writes = (name: string) => name.endsWith('.bin');
    await expect(checkOutputPaths([{ folder: join(dir, 'in'), role: '--out', writes }], inputs)).rejects.toMatchObject({ code: 'E_OUTPUT_PATH' });
    const alias = join(dir, 'alias');
    symlinkSync(join(dir, 'in'), alias);
    await expect(checkOutputPaths([{ folder: alias, role: '--out', writes }], inputs)).rejects.toMatchObject({ code: 'E_OUTPUT_PATH', message: expect.stringContaining(`${join(alias, 'a.bin')}`) });
    await checkOutputPaths([{ folder: join(dir, 'in'), role: '--out', writes: (name) => name.endsWith('.side') }], inputs);
    await checkOutputPaths([{ folder: join(dir, 'elsewhere'), role: '--out', writes }], inputs);
    const file = join(dir, 'in', 'a.bin');
    await expect(checkOutputPaths([{ folder: file, role: '--out', writes }], [])).rejects.toMatchObject({ code: 'E_OUTPUT_PATH', message: `--out ${file} exists and is not a folder` });
  });
});
