/**
 * Unknown-option checks shared by every stage's `resolve()`: an option object may hold only the
 * stage's own keys, and a misspelled one is refused with the nearest valid name, so a typo
 * (`z_score`, `minlatents`) never falls back silently to a default.
 * @module
 */
import { TokenfilterError } from '../errors.js';

/** A name compared case-insensitively with `_` and `-` ignored. */
const normal = (name: string) => name.toLowerCase().replace(/[_-]/g, '');

/** Edit distance between two names, compared case-insensitively with `_` and `-` ignored. */
function distance(a: string, b: string): number {
  const x = normal(a);
  const y = normal(b);
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[y.length];
}

/**
 * The valid name closest to `name`: the fewest edits when within a third of its length (at least
 * 2), else the longest valid name that begins it or that it begins (`z_score` → `z`), else undefined.
 */
export function nearestName(name: string, valid: Iterable<string>): string | undefined {
  const names = [...valid];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of names) {
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  if (bestDistance <= Math.max(2, Math.floor(name.length / 3))) return best;
  const n = normal(name);
  const prefixes = names.filter((c) => normal(c) !== '' && (n.startsWith(normal(c)) || normal(c).startsWith(n)));
  return prefixes.sort((a, b) => b.length - a.length)[0];
}

/**
 * Refuses any key of `options` that is not in `valid`.
 * @throws TokenfilterError E_OPTION naming the stage, the key and the nearest valid name, e.g.
 *   `unknown option 'z_score' for stage label; did you mean 'zScore'?`.
 */
export function checkOptionKeys(stage: string, options: object, valid: Iterable<string>): void {
  const names = new Set(valid);
  for (const key of Object.keys(options)) {
    if (names.has(key)) continue;
    const near = nearestName(key, names);
    throw new TokenfilterError('E_OPTION', `unknown option '${key}' for stage ${stage}${near ? `; did you mean '${near}'?` : ''}`);
  }
}

/**
 * `{ ...defaults, ...options }` with undefined options left at their default, after
 * {@link checkOptionKeys} against the defaults' keys and `extra` (options without a default).
 */
export function withDefaults<D extends object, O extends object>(stage: string, defaults: D, options: O, extra: readonly string[] = []): D & O {
  if (options === null || typeof options !== 'object') throw new TokenfilterError('E_OPTION', `options of stage ${stage} must be an object`);
  checkOptionKeys(stage, options, [...Object.keys(defaults), ...extra]);
  const set = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...defaults, ...set } as D & O;
}
