/**
 * Where outputs may go. {@link makeFolder} creates an output folder one level at a time (Node
 * 20's recursive `mkdir` never returns under /proc), with coded errors; {@link checkOutputPaths}
 * refuses a command whose outputs would write over one of its inputs, comparing real paths and
 * (device, inode) pairs so links and hard links are seen through.
 * @module
 */
import { mkdir, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { TokenfilterError } from '../errors.js';

/** A file a command reads or writes, with the role it plays (for messages: `--out`, `input shard`). */
export interface RolePath {
  path: string;
  role: string;
}

/** An output folder; `writes(name)` says whether the command may write a file of that name in it. */
export interface FolderOutput {
  folder: string;
  role: string;
  writes: (name: string) => boolean;
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new TokenfilterError('E_IO', `${path}: cannot be read (${code})`, { cause: error, path });
  }
}

/**
 * Creates folder `dir` and any missing parents, one level at a time, or checks that it is
 * already a folder. `role` names it in errors (e.g. '--out').
 * @throws TokenfilterError E_OUTPUT_PATH when `dir` or a parent exists and is not a folder, or a
 *   folder cannot be created there (a virtual file system such as /proc); E_IO when the file
 *   system refuses (permission, read-only, full).
 */
export async function makeFolder(dir: string, role = 'output folder'): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new TokenfilterError('E_OPTION', `${role} must be a non-empty path`);
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    const info = await statOrNull(at);
    if (info) {
      if (!info.isDirectory())
        throw new TokenfilterError('E_OUTPUT_PATH', `${role} ${dir}: ${at === resolve(dir) ? 'exists and is not a folder' : `${at} is not a folder`}`, { path: dir });
      break;
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const folder of missing.reverse()) {
    try {
      await mkdir(folder);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await statOrNull(folder))?.isDirectory()) continue;
      const place = code === 'ENOENT' || code === 'EEXIST' || code === 'ENOTDIR';
      throw new TokenfilterError(
        place ? 'E_OUTPUT_PATH' : 'E_IO',
        `${role} ${dir}: cannot create the folder ${folder} (${code})${place ? '; output cannot go there' : ''}`,
        { cause: error, path: dir },
      );
    }
  }
}

/** Where a path really is: its real path when it exists, else its real parent joined with its name. */
async function realLocation(path: string): Promise<string> {
  const full = resolve(path);
  try {
    return await realpath(full);
  } catch {
    const parent = dirname(full);
    return parent === full ? full : join(await realLocation(parent), basename(full));
  }
}

interface Identity extends RolePath {
  /** Real location, and the location of the name itself (a link's own entry). */
  real: string;
  entry: string;
  node: string | null;
}

async function identityOf(p: RolePath): Promise<Identity> {
  const info = await statOrNull(p.path);
  return {
    ...p,
    real: await realLocation(p.path),
    entry: join(await realLocation(dirname(resolve(p.path))), basename(p.path)),
    node: info && !info.isDirectory() ? `${info.dev}:${info.ino}` : null,
  };
}

function overwriteError(output: RolePath, target: string, input: RolePath): TokenfilterError {
  const where = resolve(target) === resolve(output.path) ? '' : ` (as ${target})`;
  return new TokenfilterError(
    'E_OUTPUT_PATH',
    `${output.role} ${output.path}${where} would write over ${input.role} ${input.path}; choose another output path`,
    { path: output.path },
  );
}

/**
 * Refuses outputs that would replace an input: a file output that is an input (same real path,
 * same entry, or the same device and inode: a hard link), a folder output holding an input under
 * a name the command writes there, or two outputs that are one file. An existing file given as
 * an output folder is refused too. Inputs that do not exist are ignored (their readers report them).
 * @throws TokenfilterError E_OUTPUT_PATH naming the output and the input.
 */
export async function checkOutputPaths(outputs: readonly (RolePath | FolderOutput)[], inputs: readonly RolePath[]): Promise<void> {
  const existing: Identity[] = [];
  for (const input of inputs) if (await statOrNull(input.path)) existing.push(await identityOf(input));
  const files: Identity[] = [];
  for (const output of outputs) {
    if ('folder' in output) {
      const info = await statOrNull(output.folder);
      if (info && !info.isDirectory())
        throw new TokenfilterError('E_OUTPUT_PATH', `${output.role} ${output.folder} exists and is not a folder`, { path: output.folder });
      const real = await realLocation(output.folder);
      for (const input of existing) {
        for (const location of [input.real, input.entry]) {
          if (dirname(location) === real && output.writes(basename(location)))
            throw overwriteError({ path: output.folder, role: output.role }, join(output.folder, basename(location)), input);
        }
      }
      continue;
    }
    const info = await statOrNull(output.path);
    if (info?.isDirectory()) throw new TokenfilterError('E_OUTPUT_PATH', `${output.role} ${output.path} is a folder; give a file path`, { path: output.path });
    const self = await identityOf(output);
    for (const other of [...existing, ...files]) {
      const same = self.real === other.real || self.entry === other.entry || (self.node !== null && self.node === other.node);
      if (same) throw overwriteError(output, output.path, other);
    }
    files.push(self);
  }
}

/**
 * For commands that write single files (a model, a checkpoint, a records file): refuses outputs
 * that would write over an input ({@link checkOutputPaths}) and creates their folders ({@link makeFolder}).
 */
export async function prepareFileOutputs(outputs: readonly RolePath[], inputs: readonly RolePath[]): Promise<void> {
  await checkOutputPaths(outputs, inputs);
  for (const output of outputs) await makeFolder(dirname(resolve(output.path)), `${output.role} ${output.path}: the folder`);
}
