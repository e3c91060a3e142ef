/**
 * Cancellation, one way everywhere: long work takes an `AbortSignal`, stops at its next check
 * and rejects with a {@link TokenfilterError} of code `E_ABORTED` named 'AbortError', the shape
 * the addon gives a cancelled native call (js_error.cc); native work watches a shared word that
 * the signal sets (convert.h `cancel_flag`). Callers test {@link isAborted}, which reads the code.
 * @module
 */
import { TokenfilterError, errorCode, CodedTypeError } from './errors.js';

/** The error every aborted operation rejects with (code E_ABORTED, name 'AbortError'); `what` names the operation. */
export function abortError(what = 'operation'): TokenfilterError {
  const error = new TokenfilterError('E_ABORTED', `${what} was aborted`);
  error.name = 'AbortError';
  return error;
}

/**
 * Whether `error` is a cancellation: code E_ABORTED (from TypeScript or the addon), or the
 * platform's own DOMException 'AbortError' (a caller's callback calling `signal.throwIfAborted()`).
 */
export function isAborted(error: unknown): boolean {
  return errorCode(error) === 'E_ABORTED' || (error instanceof DOMException && error.name === 'AbortError');
}

/** Throws {@link abortError} when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw abortError(what);
}

/**
 * A cancel word for native workers (an Int32Array over a SharedArrayBuffer) that `signal` sets
 * to 1 when it fires. Call `dispose` when the work is over.
 * @throws TypeError when `signal` is not an AbortSignal; {@link abortError} when it already fired.
 */
export function nativeCancelFlag(signal: AbortSignal | undefined, what?: string): { flag: Int32Array; dispose: () => void } {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  if (signal === undefined) return { flag, dispose: () => {} };
  if (!(signal instanceof AbortSignal)) throw new CodedTypeError('signal must be an AbortSignal');
  throwIfAborted(signal, what);
  const onAbort = () => Atomics.store(flag, 0, 1);
  signal.addEventListener('abort', onAbort, { once: true });
  return { flag, dispose: () => signal.removeEventListener('abort', onAbort) };
}
