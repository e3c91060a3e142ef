// JSON files written by people: a byte order mark is ignored; bad JSON names the file (E_FILE_FORMAT).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readJsonFile } from '../../../lib/data/json_file.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('tf-json-');
afterAll(cleanup);

describe('readJsonFile', () => {
  it('reads JSON with or without a byte order mark', async () => {
    writeFileSync(join(dir, 'plain.json'), '{"latents": [3, 1]}');
    writeFileSync(join(dir, 'bom.json'), Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), Buffer.from('{"latents": [3, 1]}')]));
    expect(await readJsonFile(join(dir, 'plain.json'))).toEqual({ latents: [3, 1] });
    expect(await readJsonFile(join(dir, 'bom.json'))).toEqual({ latents: [3, 1] });
  });

  it('refuses text that is not JSON with E_FILE_FORMAT naming the file; missing files keep their system code', async () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{"latents": [3,');
    await expect(readJsonFile(path)).rejects.toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT', path, message: expect.stringMatching(/bad\.json: not valid JSON/) }));
    await expect(readJsonFile(join(dir, 'absent.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
