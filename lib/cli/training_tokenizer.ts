/**
 * Which tokenizer a model trained on shards records (CLI `train`): `--tokenizer PATH|cl100k`
 * when given, else the `tokenizer.json` that `tokenfilter tokenize` saved beside the first shard,
 * else the built-in cl100k when the shards were written with it. It must be the shards'
 * tokenizer (E_TOKENIZER_MISMATCH otherwise). With none found, the model records the shards'
 * contract only and a note says so.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Tokenizer } from '../data/tokenizer.js';
import { checkContract, tokenizerHashPrefix, type RecordedContract } from '../data/tokenizer_contract.js';
import { UsageError, type CliIO } from './output.js';

/** The vocabulary size of the built-in cl100k (with `<|hidden|>`), to skip hashing it for other shards. */
const CL100K_VOCAB = 100_278;

/**
 * The `tokenizer.json` beside `shard`, or beside the input shard named by the `.filter.json`
 * record `tokenfilter filter` wrote next to it (its `input` field); null when there is none.
 */
export function tokenizerBeside(shard: string): string | null {
  const beside = join(dirname(shard), 'tokenizer.json');
  if (existsSync(beside)) return beside;
  const record = join(dirname(shard), `${basename(shard).replace(/\.bin$/, '')}.filter.json`);
  if (!existsSync(record)) return null;
  try {
    const input: unknown = (JSON.parse(readFileSync(record, 'utf8')) as { input?: unknown }).input;
    if (typeof input !== 'string') return null;
    const original = join(dirname(resolve(input)), 'tokenizer.json');
    return existsSync(original) ? original : null;
  } catch {
    return null; // an unreadable record: no tokenizer found (filter's own readers judge records)
  }
}

async function loadTokenizer(spec: string, option: string): Promise<Tokenizer> {
  if (spec === 'cl100k') return Tokenizer.cl100k();
  try {
    return await Tokenizer.load(spec);
  } catch (error) {
    throw new UsageError(`${option} ${spec}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The tokenizer to record for `shards` (whose first file records `contract`), or the contract
 * alone when no tokenizer is found or `embed` is false and none was given.
 * @throws UsageError for an unreadable `--tokenizer`; TokenfilterError E_TOKENIZER_MISMATCH when
 *   the tokenizer found is not the one the shards were written with.
 */
export async function trainingTokenizer(
  shards: readonly string[],
  contract: RecordedContract,
  options: { tokenizer?: string; embedTokenizer?: boolean },
  io: CliIO,
): Promise<Tokenizer | RecordedContract> {
  let tokenizer: Tokenizer | undefined;
  if (options.tokenizer !== undefined) tokenizer = await loadTokenizer(options.tokenizer, '--tokenizer');
  else if (options.embedTokenizer !== false) {
    const beside = tokenizerBeside(shards[0]);
    if (beside !== null) {
      tokenizer = await loadTokenizer(beside, 'tokenizer beside the shards:');
    } else if (contract.vocabSize === CL100K_VOCAB && contract.hashPrefix === tokenizerHashPrefix(Tokenizer.cl100k().hash)) {
      tokenizer = Tokenizer.cl100k();
    }
  }
  if (tokenizer === undefined) {
    if (options.embedTokenizer !== false)
      io.stderr.write(
        `note: the model records the shards' tokenizer contract only: no tokenizer.json beside ${shards[0]} ` +
          '(give --tokenizer PATH to embed it, or --no-embed-tokenizer)\n',
      );
    return contract;
  }
  checkContract(contract, tokenizer, shards[0]);
  return tokenizer;
}
