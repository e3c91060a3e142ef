/**
 * Cancellation, one way everywhere: long work takes an `AbortSignal`, stops at its next check
 * and rejects with a DOMException named 'AbortError'; native work watches a shared word that the
 * signal sets (convert.h `cancel_flag`).
 * @module
 */

/** The error every aborted operation rejects with; `what` names the operation. */
export function abortError(what = 'operation'): DOMException {
  return new DOMException(`${what} was aborted`, 'AbortError');
}

/** Throws {@link abortError} when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw abortError(what);
}

/**
 * A cancel word for native workers (an Int32Array over a SharedArrayBuffer) that `signal` sets
 * to 1 when it fires. Call `dispose` when the work is over.
 * @throws TypeError when `signal` is not an AbortSignal; the AbortError when it already fired.
 */
export function nativeCancelFlag(signal: AbortSignal | undefined, what?: string): { flag: Int32Array; dispose: () => void } {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  if (signal === undefined) return { flag, dispose: () => {} };
  if (!(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  throwIfAborted(signal, what);
  const onAbort = () => Atomics.store(flag, 0, 1);
  signal.addEventListener('abort', onAbort, { once: true });
  return { flag, dispose: () => signal.removeEventListener('abort', onAbort) };
}
