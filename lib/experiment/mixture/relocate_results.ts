/**
 * A study folder that was copied or moved keeps working: `results.json` records model files by
 * the path they were written to (`join(out, …)` with the `out` of that run). Reading a folder
 * under another path rewrites every recorded file path that lies under the recorded `out` to the
 * same file under the folder being read, when that file exists there; paths whose file is not in
 * the folder are left as recorded (the caller then reads them where they were written).
 * @module
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { MixtureResults } from './run_mixture.js';

/** `path` moved from under `from` to under `to`, or null when it is not under `from`. */
function moved(path: string, from: string, to: string): string | null {
  const rel = relative(resolve(from), resolve(path));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return null;
  return join(to, rel);
}

/**
 * Rewrites the file paths of `results` (runs, and the comparison's defences and RMU models)
 * recorded under `results.options.out` to the same files under `out`, where they exist.
 * Returns the number of paths rewritten; `results` is changed in place.
 */
export function relocateResults(results: MixtureResults, out: string): number {
  const from = results.options?.out;
  if (typeof from !== 'string' || resolve(from) === resolve(out)) return 0;
  let count = 0;
  const fix = (record: { modelPath?: unknown } | undefined) => {
    if (!record || typeof record.modelPath !== 'string') return;
    const to = moved(record.modelPath, from, out);
    if (to !== null && to !== record.modelPath && existsSync(to)) {
      record.modelPath = to;
      count++;
    }
  };
  for (const run of Object.values(results.runs ?? {})) fix(run);
  for (const seed of Object.values(results.comparison?.seeds ?? {})) {
    fix(seed.remove);
    fix(seed.steered);
    fix(seed.absent);
    fix(seed.rmu as { modelPath?: unknown } | undefined);
  }
  return count;
}
