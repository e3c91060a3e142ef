/**
 * Helpers for resolving option objects against their defaults.
 * @module
 */

/** `o` without its undefined entries, so `{ ...DEFAULTS, ...stripUndefined(options) }` keeps a default where an option is left undefined. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
