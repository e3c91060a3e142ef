// Tests that run the compiled library (dist/) in a child process first make sure it is current.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The package root. */
export const root = join(import.meta.dirname, '..', '..');

/** The newest modification time of the files under `folder`. */
function newestSource(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Recompiles lib/ into dist/ when `built` (a file under dist/) is missing or older than a source. */
export function ensureCurrentDist(built: string): void {
  if (!existsSync(built) || statSync(built).mtimeMs < newestSource(join(root, 'lib')))
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')]);
}
