/**
 * A token shard with its optional loss-mask side file, opened for reading (input, target, mask)
 * windows with positional reads; shared by the random and the sequential batch samplers.
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import { HEADER_BYTES, namingFile, readExactly } from './binary_header.js';
import { ShardFile, readShardHeader, type ShardHeader } from './shard.js';
import { SideFileKind, findSideFile, readSideFileHeader } from './side_file.js';
import type { TokenizerContract } from './tokenizer_contract.js';
import { TokenfilterError } from '../errors.js';

/**
 * Where loss masks come from: `'auto'` (default) uses the `x.mask.side` file next to shard `x.bin`
 * when it exists; `'none'` ignores side files (all ones); `'required'` refuses a shard without one.
 */
export type LossMaskMode = 'auto' | 'none' | 'required';

/**
 * One shard (and its mask), validated when constructed; its files are opened on first use and
 * can be closed and reopened, so a sampler over thousands of shards keeps only a few open.
 */
export class ShardWindows {
  readonly path: string;
  readonly header: ShardHeader;
  readonly maskPath: string | null;
  private readonly expectTokenizer: TokenizerContract | undefined;
  private shard: ShardFile | null = null;
  private maskFd = -1;
  private tokens = new Uint32Array(0);
  private maskBytes = new Uint8Array(0);

  /**
   * @throws as {@link readShardHeader}, or when the mask side file does not match the shard
   *   (kind, count, tokenizer) or is required and missing.
   */
  constructor(path: string, options: { expectTokenizer?: TokenizerContract; lossMask?: LossMaskMode }) {
    this.path = path;
    this.expectTokenizer = options.expectTokenizer;
    this.header = readShardHeader(path, { expectTokenizer: options.expectTokenizer });
    const mode = options.lossMask ?? 'auto';
    this.maskPath = mode === 'none' ? null : findSideFile(path, SideFileKind.LossMask);
    if (mode === 'required' && !this.maskPath)
      throw new TokenfilterError('E_MISMATCH', `${path}: no loss-mask side file (expected ${path.replace(/\.bin$/, '')}.mask.side)`, { path });
    if (this.maskPath) {
      readSideFileHeader(this.maskPath, {
        expectKind: SideFileKind.LossMask,
        expectTokens: this.header.tokenCount,
        expectTokenizer: options.expectTokenizer,
        shard: { path, tokenizer: this.header.tokenizer },
      });
    }
  }

  /** Tokens in the shard. */
  get length(): number {
    return this.header.tokenCount;
  }

  /** Whether the files are open now. */
  get isOpen(): boolean {
    return this.shard !== null;
  }

  private open(): ShardFile {
    if (this.shard) return this.shard;
    const shard = new ShardFile(this.path, { expectTokenizer: this.expectTokenizer });
    if (shard.length !== this.header.tokenCount) {
      shard.close();
      throw new TokenfilterError('E_STATE', `${this.path}: the shard changed while in use (${this.header.tokenCount} tokens, now ${shard.length})`);
    }
    if (this.maskPath) {
      try {
        this.maskFd = openSync(this.maskPath, 'r');
      } catch (error) {
        shard.close();
        throw namingFile(error, this.maskPath);
      }
    }
    this.shard = shard;
    return shard;
  }

  /**
   * Fills row `row` of a batch with the window starting at `start`: inputs = tokens[start,
   * start+T), targets = tokens[start+1, start+T+1), lossMask = mask[start+1, start+T+1) (ones
   * without a mask file). `count` ≤ T positions are read; the rest of the row is left as is.
   */
  fill(start: number, count: number, inputs: Uint32Array, targets: Uint32Array, lossMask: Uint8Array, rowOffset: number): void {
    if (this.tokens.length < count + 1) this.tokens = new Uint32Array(count + 1);
    const window = this.tokens.subarray(0, count + 1);
    this.open().read(start, window);
    inputs.set(window.subarray(0, count), rowOffset);
    targets.set(window.subarray(1, count + 1), rowOffset);
    if (this.maskFd < 0) {
      lossMask.fill(1, rowOffset, rowOffset + count);
      return;
    }
    if (this.maskBytes.length < count) this.maskBytes = new Uint8Array(count);
    const mask = this.maskBytes.subarray(0, count);
    readExactly(this.maskFd, mask, HEADER_BYTES + start + 1, this.maskPath as string);
    for (let i = 0; i < count; i++) {
      if (mask[i] > 1) throw new TokenfilterError('E_FILE_FORMAT', `${this.maskPath}: loss mask value ${mask[i]} at token ${start + 1 + i} (expected 0 or 1)`, { path: this.maskPath ?? undefined });
    }
    lossMask.set(mask, rowOffset);
  }

  /** Closes both files (a later fill reopens them). */
  close(): void {
    this.shard?.close();
    this.shard = null;
    if (this.maskFd >= 0) closeSync(this.maskFd);
    this.maskFd = -1;
  }
}
