/**
 * Reading a JSON file written by a person or another tool: a leading UTF-8 byte order mark (as
 * Windows editors save it) is ignored, and bad JSON is a coded error naming the file.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { TokenfilterError } from '../errors.js';
import { stripBom } from './byte_lines.js';

/**
 * Reads and parses a JSON file.
 * @throws TokenfilterError E_FILE_FORMAT naming the file for text that is not JSON; system
 *   errors (ENOENT, EACCES, …) as node:fs throws them.
 */
export async function readJsonFile(path: string): Promise<unknown> {
  const text = stripBom(await readFile(path, 'utf8'));
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TokenfilterError('E_FILE_FORMAT', `${path}: not valid JSON (${(error as Error).message})`, { path, cause: error });
  }
}
