/**
 * The one way tokenfilter writes a final output: into a temporary file in the same folder
 * (unique name), flushed to disk, renamed over the final path, then the folder flushed so the
 * rename itself survives a crash. Readers see the old file or the complete new one, never a
 * mix; a failure removes the temporary file and leaves the final path untouched.
 *
 * {@link writeFileAtomic} writes a whole buffer (or a sequence of chunks); {@link AtomicFile}
 * is the streaming form, for writers that append as they go and may patch a header at the end
 * (shard writers, activation dumps, checkpoints). Temporary files are named
 * `.<final name>.<pid>.<random>.tmp`, so a killed run's leftovers can be found and removed
 * ({@link removeTemporaries}).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TokenfilterError } from '../errors.js';

/** Largest single write (huge tensors are written in slices of this size). */
const WRITE_SLICE = 1 << 28;

/** A fresh temporary path next to `path` (same folder, so the final rename is atomic). */
export function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Whether `name` (a bare file name) is a temporary file of the final file named `finalName`. */
export function isTemporaryOf(name: string, finalName: string): boolean {
  const prefix = `.${finalName}.`;
  return name.startsWith(prefix) && /^\d+\.[0-9a-f]+\.tmp$/.test(name.slice(prefix.length));
}

/**
 * Removes the temporary files a killed run left for the final file `path` (see the module
 * comment for their names).
 * @returns the paths removed.
 */
export async function removeTemporaries(path: string): Promise<string[]> {
  const dir = dirname(path);
  const name = basename(path);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!isTemporaryOf(entry, name)) continue;
    await unlink(join(dir, entry)).catch(() => undefined);
    removed.push(join(dir, entry));
  }
  return removed;
}

/**
 * Flushes a folder's entry table, so a rename into it is on disk. Platforms that cannot open a
 * folder for syncing (Windows) are skipped silently: the rename is still atomic there.
 */
export async function syncFolder(dir: string): Promise<void> {
  let handle: FileHandle | null = null;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw error;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Moves an existing file or folder to `to`, which must not exist yet (outputs set aside, e.g. the
 * runs of a superseded stream), and flushes both parent folders. The one other rename in lib/
 * besides {@link AtomicFile.commit}: it never replaces anything.
 * @throws TokenfilterError E_OUTPUT_PATH when `to` already exists.
 */
export async function moveAside(from: string, to: string): Promise<void> {
  if (existsSync(to)) throw new TokenfilterError('E_OUTPUT_PATH', `cannot move ${from} aside: ${to} already exists`);
  await rename(from, to);
  await syncFolder(dirname(to));
  if (dirname(from) !== dirname(to)) await syncFolder(dirname(from));
}

/**
 * A file written into a temporary path and moved over its final path by {@link AtomicFile.commit}.
 * Writes append in order unless given a position (for headers patched at the end).
 * Not safe for concurrent writes: await each.
 */
export class AtomicFile {
  /** The final path. */
  readonly path: string;
  /** The temporary path written until commit. */
  readonly temp: string;
  private handle: FileHandle | null;
  private position = 0;

  private constructor(path: string, temp: string, handle: FileHandle) {
    this.path = path;
    this.temp = temp;
    this.handle = handle;
  }

  /** Opens a new temporary file for `path` (its folder must exist). */
  static async create(path: string): Promise<AtomicFile> {
    const temp = temporaryPath(path);
    return new AtomicFile(path, temp, await open(temp, 'wx'));
  }

  /** Whether the file is still being written (neither committed nor discarded). */
  get open(): boolean {
    return this.handle !== null;
  }

  /**
   * Writes `bytes` at `position`, or after the furthest byte written so far when omitted.
   * @throws Error after commit or discard.
   */
  async write(bytes: Uint8Array | string, position?: number): Promise<void> {
    if (!this.handle) throw new TokenfilterError('E_STATE', `${this.path}: write after the atomic file was committed or discarded`);
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    let at = position ?? this.position;
    let done = 0;
    while (done < data.length) {
      const length = Math.min(WRITE_SLICE, data.length - done);
      const { bytesWritten } = await this.handle.write(data, done, length, at);
      done += bytesWritten;
      at += bytesWritten;
    }
    this.position = Math.max(this.position, at);
  }

  /** Flushes, closes, renames over the final path and flushes the folder. Idempotent. */
  async commit(): Promise<void> {
    if (!this.handle) return;
    const handle = this.handle;
    this.handle = null;
    try {
      await handle.sync();
      await handle.close();
      await rename(this.temp, this.path);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(this.temp).catch(() => undefined);
      throw error;
    }
    await syncFolder(dirname(this.path));
  }

  /** Closes and deletes the temporary file; the final path is untouched. Idempotent. */
  async discard(): Promise<void> {
    if (!this.handle) return;
    const handle = this.handle;
    this.handle = null;
    await handle.close().catch(() => undefined);
    await unlink(this.temp).catch(() => undefined);
  }
}

/**
 * Writes `data` (text as UTF-8, bytes, or chunks in order) to `path` atomically; see the module
 * comment. The folder must exist.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | Iterable<Uint8Array>): Promise<void> {
  await writeAtomically(path, async (file) => {
    if (typeof data === 'string' || data instanceof Uint8Array) await file.write(data);
    else for (const chunk of data) await file.write(chunk);
  });
}

/**
 * Runs `produce` on a new {@link AtomicFile} for `path` and commits it, or discards it when
 * `produce` throws (rethrowing).
 * @returns what `produce` returned.
 */
export async function writeAtomically<T>(path: string, produce: (file: AtomicFile) => Promise<T>): Promise<T> {
  const file = await AtomicFile.create(path);
  try {
    const result = await produce(file);
    await file.commit();
    return result;
  } catch (error) {
    await file.discard();
    throw error;
  }
}
