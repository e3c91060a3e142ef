// byteLines splits any chunking of a byte stream into the same lines, and stops a line that
// grows past its limit before holding it whole.
import { describe, expect, it } from 'vitest';
import { byteLines, LineTooLongError, startsWithBom, stripBom } from '../../../lib/data/byte_lines.js';
import { Sfc32 } from '../../../lib/data/random.js';

async function* chunked(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    yield bytes.subarray(at, cut);
    at = cut;
  }
}

async function lines(source: AsyncIterable<Uint8Array>, max?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const line of byteLines(source, max)) out.push(Buffer.from(line).toString('latin1'));
  return out;
}

describe('byteLines', () => {
  it('gives the same lines as splitting the whole text, for random chunkings', async () => {
    const rng = new Sfc32(15);
    for (let trial = 0; trial < 200; trial++) {
      const text = Array.from({ length: rng.below(60) }, () => 'ab\n\r\nxyz'[rng.below(9)]).join('');
      const bytes = Buffer.from(text, 'latin1');
      const cuts = Array.from({ length: rng.below(6) }, () => rng.below(bytes.length + 1)).sort((a, b) => a - b);
      const pieces = text.split('\n');
      if (pieces[pieces.length - 1] === '') pieces.pop(); // text ending in \n has no line after it
      const expected = pieces.map((l) => l.replace(/\r$/, ''));
      expect(await lines(chunked(bytes, cuts))).toEqual(expected);
    }
  });

  it('throws LineTooLongError once a line passes the limit, within one chunk or across chunks', async () => {
    await expect(lines(chunked(Buffer.from('short\nmuch too long\n'), []), 8)).rejects.toThrow(LineTooLongError);
    await expect(lines(chunked(Buffer.from('aaaaaaaaaaaaaaaaaaaa'), [3, 6, 9, 12]), 8)).rejects.toThrow(/longer than 8 bytes/);
    expect(await lines(chunked(Buffer.from('12345678\n'), [4]), 8)).toEqual(['12345678']);
  });

  it('recognises and strips a byte order mark', () => {
    expect(startsWithBom(Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b))).toBe(true);
    expect(startsWithBom(Uint8Array.of(0xef, 0xbb))).toBe(false);
    expect(stripBom('\uFEFF{}')).toBe('{}');
    expect(stripBom('{}\uFEFF')).toBe('{}\uFEFF');
  });
});
