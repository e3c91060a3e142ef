/**
 * Per-shard completion records for resumable stages (label, score, filter; written by the
 * shard runner, lib/stages/shard_runner.ts): "verify or redo".
 *
 * A stage that finishes a shard writes its outputs atomically, then a record (JSON, atomically,
 * last) holding the SHA-256 of every input, the settings that shaped the outputs, and the size
 * and SHA-256 of every output. On a rerun a shard is skipped only when its record matches all
 * three: the inputs hash the same now, the settings are equal, and every output is present with
 * its recorded size and hash. Anything else (an input changed, other settings, an output
 * replaced by a run killed before its record, a truncated or missing output) redoes the shard:
 * the stale record, the outputs it described and any temporary files a killed run left for them
 * are removed first, so no stale output survives a redo that fails.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { removeTemporaries } from '../data/atomic_file.js';

/** A file's identity: its path (outputs: relative to the record's folder), size and SHA-256. */
export interface FileDigest {
  path: string;
  bytes: number;
  sha256: string;
}

/** What every per-shard record holds; stages add their own fields (statistics, names). */
export interface ShardRecordCore<S> {
  /** Every input file the outputs were computed from, hashed when the work began. */
  inputs: FileDigest[];
  /** The options that shape the outputs. */
  settings: S;
  /** The outputs, by file name in the record's folder. */
  outputs: FileDigest[];
}

/** SHA-256 of a file, streamed, as hex. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The digest of `path`, recorded under `name` (default: the path itself). */
export async function digestFile(path: string, name = path): Promise<FileDigest> {
  return { path: name, bytes: (await stat(path)).size, sha256: await fileSha256(path) };
}

/** Digests of outputs written into the record's folder, named by file name. */
export async function digestOutputs(paths: readonly string[]): Promise<FileDigest[]> {
  return Promise.all(paths.map((path) => digestFile(path, basename(path))));
}

function sameDigests(a: readonly FileDigest[] | undefined, b: readonly FileDigest[]): boolean {
  return (
    Array.isArray(a) &&
    a.length === b.length &&
    a.every((d, i) => d?.path === b[i].path && d.bytes === b[i].bytes && d.sha256 === b[i].sha256)
  );
}

async function outputMatches(dir: string, digest: FileDigest): Promise<boolean> {
  if (typeof digest?.path !== 'string' || basename(digest.path) !== digest.path) return false;
  const path = join(dir, digest.path);
  try {
    if ((await stat(path)).size !== digest.bytes) return false;
  } catch {
    return false;
  }
  return (await fileSha256(path)) === digest.sha256;
}

/**
 * The record at `recordPath` when it shows the shard done with these `inputs` and `settings`
 * and every recorded output is intact (size and SHA-256 rechecked), else null. An unreadable
 * or malformed record is null too.
 */
export async function verifiedRecord<R extends ShardRecordCore<unknown>>(
  recordPath: string,
  expected: { inputs: readonly FileDigest[]; settings: unknown },
): Promise<R | null> {
  let record: R;
  try {
    record = JSON.parse(await readFile(recordPath, 'utf8')) as R;
  } catch {
    return null;
  }
  if (record === null || typeof record !== 'object') return null;
  if (!sameDigests(record.inputs, expected.inputs)) return null;
  if (JSON.stringify(record.settings) !== JSON.stringify(expected.settings)) return null;
  if (!Array.isArray(record.outputs) || record.outputs.length === 0) return null;
  for (const output of record.outputs) if (!(await outputMatches(dirname(recordPath), output))) return null;
  return record;
}

/** Removes `path`; a file that is not there is fine. */
export async function removeIfPresent(path: string): Promise<void> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/**
 * Clears the way to redo a shard: removes its stale record first (so a kill before the new one
 * is written cannot leave an old record over new outputs), then its stale `outputs` (so a redo
 * that fails leaves nothing stale under a final name) and the temporary files a killed run left
 * for the record and for `outputs`.
 */
export async function prepareRedo(recordPath: string, outputs: readonly string[]): Promise<void> {
  await removeIfPresent(recordPath);
  for (const path of outputs) await removeIfPresent(path);
  for (const path of [recordPath, ...outputs]) await removeTemporaries(path);
}
