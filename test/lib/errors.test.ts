import { describe, expect, it } from 'vitest';
import { CodedRangeError, CodedTypeError, errorCode, isTokenfilterError } from '../../lib/errors.js';
import { seedWords } from '../../lib/data/random.js';
import { native } from '../../lib/native.js';

describe('argument errors carry a code', () => {
  it('CodedTypeError / CodedRangeError stay TypeError / RangeError, with code E_OPTION unless given another', () => {
    const t = new CodedTypeError('x must be a string');
    const r = new CodedRangeError('n too big', 'E_TOO_LARGE');
    expect(t).toBeInstanceOf(TypeError);
    expect(r).toBeInstanceOf(RangeError);
    expect([t.name, errorCode(t)]).toEqual(['TypeError', 'E_OPTION']);
    expect([r.name, errorCode(r)]).toEqual(['RangeError', 'E_TOO_LARGE']);
    expect(isTokenfilterError(t)).toBe(false);
  });

  it('a TypeScript check and a native check of a bad argument both answer errorCode', () => {
    let ts: unknown;
    try {
      seedWords(-1);
    } catch (error) {
      ts = error;
    }
    expect(ts).toBeInstanceOf(RangeError);
    expect(errorCode(ts)).toBe('E_OPTION');
    let fromAddon: unknown;
    try {
      native.maxTokenId([1, 2] as unknown as Uint32Array);
    } catch (error) {
      fromAddon = error;
    }
    expect(fromAddon).toBeInstanceOf(TypeError);
    expect(errorCode(fromAddon)).toBe('E_OPTION');
  });
});
