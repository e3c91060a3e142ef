import { describe, expect, it } from 'vitest';
import { abortError, isAborted, nativeCancelFlag, throwIfAborted } from '../../lib/abort.js';
import { TokenfilterError } from '../../lib/errors.js';

describe('cancellation has one shape', () => {
  it('abortError is a TokenfilterError with code E_ABORTED named AbortError', () => {
    const error = abortError('training');
    expect(error).toBeInstanceOf(TokenfilterError);
    expect([error.name, error.code, error.message]).toEqual(['AbortError', 'E_ABORTED', 'training was aborted']);
  });

  it('throwIfAborted throws it only once the signal fired', () => {
    const controller = new AbortController();
    expect(() => throwIfAborted(controller.signal, 'x')).not.toThrow();
    controller.abort();
    expect(() => throwIfAborted(controller.signal, 'x')).toThrow(expect.objectContaining({ code: 'E_ABORTED', name: 'AbortError' }));
  });

  it('isAborted reads the code: ours, the addon’s, and the platform’s DOMException', () => {
    expect(isAborted(abortError())).toBe(true);
    expect(isAborted(new DOMException('stop', 'AbortError'))).toBe(true);
    expect(isAborted(new TokenfilterError('E_NOT_FINITE', 'was aborted'))).toBe(false);
    expect(isAborted(new Error('aborted'))).toBe(false);
    // the addon's shape (js_error.cc): a plain Error carrying the code
    const fromAddon = Object.assign(new Error('step cancelled'), { code: 'E_ABORTED', name: 'AbortError' });
    expect(isAborted(fromAddon)).toBe(true);
    expect(isAborted(Object.assign(new Error('x'), { name: 'AbortError' }))).toBe(false);
  });

  it('nativeCancelFlag sets its word when the signal fires, and refuses a fired signal', () => {
    const controller = new AbortController();
    const { flag, dispose } = nativeCancelFlag(controller.signal);
    expect(flag[0]).toBe(0);
    controller.abort();
    expect(flag[0]).toBe(1);
    dispose();
    expect(() => nativeCancelFlag(controller.signal, 'x')).toThrow(expect.objectContaining({ code: 'E_ABORTED' }));
  });
});
