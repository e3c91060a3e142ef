import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtomicFile, isTemporaryOf, moveAside, removeTemporaries, temporaryPath, writeAtomically, writeFileAtomic } from '../../../lib/data/atomic_file.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function listing(folder: string): string[] {
  return readdirSync(folder).sort();
}

describe('writeFileAtomic', () => {
  it('writes text, bytes and chunks, replaces an existing file, and leaves no temporary file', async () => {
    const folder = mkdtempSync(join(dir, 'basic-'));
    const path = join(folder, 'out.json');
    await writeFileAtomic(path, '{"a":1}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    await writeFileAtomic(path, Uint8Array.of(1, 2, 3));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    await writeFileAtomic(path, [Uint8Array.of(4), new Uint8Array(0), Uint8Array.of(5, 6)]);
    expect([...readFileSync(path)]).toEqual([4, 5, 6]);
    expect(listing(folder)).toEqual(['out.json']);
  });

  it('gives every write its own temporary name, so concurrent writes of one path from one process all succeed', async () => {
    const folder = mkdtempSync(join(dir, 'concurrent-'));
    const path = join(folder, 'record.json');
    const texts = Array.from({ length: 8 }, (_, i) => `${i}\n`.repeat(10_000));
    await Promise.all(texts.map((t) => writeFileAtomic(path, t)));
    expect(texts).toContain(readFileSync(path, 'utf8'));
    expect(listing(folder)).toEqual(['record.json']);
  });

  it('leaves the old file untouched and removes the temporary file when writing fails', async () => {
    const folder = mkdtempSync(join(dir, 'fail-'));
    const path = join(folder, 'model.safetensors');
    writeFileSync(path, 'old');
    const failing = (function* () {
      yield Uint8Array.of(1, 2);
      throw new Error('producer failed');
    })();
    await expect(writeFileAtomic(path, failing)).rejects.toThrow('producer failed');
    await expect(writeAtomically(path, async (file) => {
      await file.write('partial');
      throw new Error('stream failed');
    })).rejects.toThrow('stream failed');
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(listing(folder)).toEqual(['model.safetensors']);
    await expect(writeFileAtomic(join(folder, 'missing', 'x.bin'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('AtomicFile', () => {
  it('appends, patches a header at a position, and appears only on commit', async () => {
    const folder = mkdtempSync(join(dir, 'stream-'));
    const path = join(folder, 'shard.bin');
    const file = await AtomicFile.create(path);
    await file.write(new Uint8Array(4));
    await file.write(Uint8Array.of(9, 9));
    expect(existsSync(path)).toBe(false);
    await file.write(Uint8Array.of(1, 2, 3, 4), 0);
    await file.write(Uint8Array.of(7));
    await file.commit();
    await file.commit();
    expect([...readFileSync(path)]).toEqual([1, 2, 3, 4, 9, 9, 7]);
    await expect(file.write(Uint8Array.of(1))).rejects.toThrow(/after the atomic file was committed/);
    const dropped = await AtomicFile.create(join(folder, 'other.bin'));
    await dropped.write('abc');
    await dropped.discard();
    expect(listing(folder)).toEqual(['shard.bin']);
  });
});

describe('removeTemporaries', () => {
  it("removes a killed run's temporary files of one output and nothing else", async () => {
    const folder = mkdtempSync(join(dir, 'leftovers-'));
    const path = join(folder, 'a.bin');
    const leftover = temporaryPath(path);
    writeFileSync(leftover, 'half');
    writeFileSync(temporaryPath(join(folder, 'b.bin')), 'other output');
    writeFileSync(join(folder, '.a.bin.notes.tmp'), 'not ours');
    writeFileSync(path, 'final');
    expect(isTemporaryOf(leftover.slice(folder.length + 1), 'a.bin')).toBe(true);
    expect(await removeTemporaries(path)).toEqual([leftover]);
    expect(listing(folder)).toEqual(['.a.bin.notes.tmp', expect.stringMatching(/^\.b\.bin\.\d+\.[0-9a-f]+\.tmp$/), 'a.bin']);
  });
});

describe('moveAside', () => {
  it('moves a folder with its files into a new place, and never over an existing one', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'tf-aside-'));
    mkdirSync(join(folder, 'runs'));
    writeFileSync(join(folder, 'runs', 'a.bin'), 'a');
    mkdirSync(join(folder, 'old'));
    await moveAside(join(folder, 'runs'), join(folder, 'old', 'runs'));
    expect(existsSync(join(folder, 'runs'))).toBe(false);
    expect(readFileSync(join(folder, 'old', 'runs', 'a.bin'), 'utf8')).toBe('a');
    mkdirSync(join(folder, 'runs'));
    writeFileSync(join(folder, 'runs', 'b.bin'), 'b');
    await expect(moveAside(join(folder, 'runs'), join(folder, 'old', 'runs'))).rejects.toMatchObject({ code: 'E_OUTPUT_PATH' });
    // nothing moved, nothing replaced
    expect(readFileSync(join(folder, 'runs', 'b.bin'), 'utf8')).toBe('b');
    expect(readdirSync(join(folder, 'old', 'runs'))).toEqual(['a.bin']);
    rmSync(folder, { recursive: true, force: true });
  });
});

describe('one writer of final outputs', () => {
  it('no module in lib/ renames files or writes them with writeFile except lib/data/atomic_file.ts', () => {
    const lib = join(import.meta.dirname, '..', '..', '..', 'lib');
    const offenders: string[] = [];
    const visit = (folder: string) => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const path = join(folder, entry.name);
        if (entry.isDirectory()) visit(path);
        else if (entry.name.endsWith('.ts') && entry.name !== 'atomic_file.ts') {
          const code = readFileSync(path, 'utf8').replace(/^\s*(\/\/|\*|\/\*\*).*$/gm, '');
          if (/\b(rename|renameSync|writeFile|writeFileSync|createWriteStream|appendFile)\s*\(/.test(code)) offenders.push(path);
        }
      }
    };
    visit(lib);
    expect(offenders).toEqual([]);
  });
});
