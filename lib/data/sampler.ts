/**
 * Deterministic random batches of B × T windows over token shards, optionally mixing several
 * sources by weight, with a serialisable position so training resumes on exactly the batches it
 * would have seen.
 *
 * How a batch is drawn:
 * - Each shard of n tokens offers ⌊(n − 1) / T⌋ non-overlapping windows (starts 0, T, 2T, …);
 *   a window needs T + 1 tokens (inputs tokens[s, s+T), targets tokens[s+1, s+T+1)). Tokens
 *   after the last whole window are not sampled in this epoch layout; use
 *   {@link sequentialBatches} to cover every target.
 * - Each source walks a permutation of all its windows (across its shards), without
 *   replacement; when it runs out, its next epoch uses a fresh permutation. The permutation of
 *   (source s, epoch e) is a pure function of (seed, s, e).
 * - Each row picks its source with probability weight / Σ weights, from a hash of (seed, row
 *   number), so resuming needs only counters: {rows drawn, per source: epoch and position}.
 * - The loss mask is the mask side file's value at the *target* position (all ones without one).
 * - At most 64 shards keep files open at once (least recently used are closed and reopened on
 *   demand), so thousands of shards do not exhaust file descriptors.
 * @module
 */
import { permutation, hashUnit, seedWords, Sfc32 } from './random.js';
import { ShardWindows, type LossMaskMode } from './shard_windows.js';
import type { Batch } from './batch.js';
import type { TokenizerContract } from './tokenizer_contract.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';

/** Shards kept open at once (each holds one or two file descriptors); others are reopened on use. */
const MAX_OPEN_SHARDS = 64;

/** A group of shards sampled together, e.g. the forget set or the general set. */
export interface SamplerSource {
  /** Token shard paths. */
  shards: readonly string[];
  /** Relative weight, > 0 (default 1). */
  weight?: number;
  /** A name for messages and statistics (default `source<i>`). */
  name?: string;
}

/** Options of a {@link BatchSampler}. */
export interface BatchSamplerOptions {
  /** Shards of a single source (shorthand for `sources: [{shards}]`). */
  shards?: readonly string[];
  /** Several sources mixed by weight. Give either `shards` or `sources`. */
  sources?: readonly SamplerSource[];
  /** B: sequences per batch, integer ≥ 1. */
  batch: number;
  /** T: positions per sequence, integer ≥ 1. */
  context: number;
  /** Seed, a non-negative safe integer (default 0). */
  seed?: number;
  /** Refuse shards (and mask files) written with another tokenizer. */
  expectTokenizer?: TokenizerContract;
  /** Loss masks from side files: 'auto' (default), 'none' or 'required'; see {@link LossMaskMode}. */
  lossMask?: LossMaskMode;
  /** Resume from a state returned by {@link BatchSampler.state}. */
  state?: SamplerState;
}

/** Where a sampler stands; plain JSON. */
export interface SamplerState {
  version: 1;
  seed: number;
  batch: number;
  context: number;
  /** Rows drawn so far (batches × batch). */
  rows: number;
  /** Per source: current epoch, next position in its permutation, and its window count. */
  sources: { epoch: number; position: number; windows: number }[];
}

interface OpenSource {
  name: string;
  weight: number;
  shards: ShardWindows[];
  /** cumulative window counts: shard k owns windows [offsets[k], offsets[k+1]) */
  offsets: number[];
  windows: number;
  epoch: number;
  position: number;
  order: Uint32Array | null;
}

/**
 * Draws random batches. Synchronous (positional reads); call {@link BatchSampler.close} when done.
 * @example
 * const sampler = new BatchSampler({ sources: [{ shards: forget, weight: 0.5 }, { shards: general, weight: 0.5 }], batch: 8, context: 256, seed: 1 });
 * const batch = sampler.next();
 * const saved = sampler.state(); // store in the checkpoint; pass as `state` to resume
 */
export class BatchSampler implements Iterable<Batch> {
  readonly batch: number;
  readonly context: number;
  readonly seed: number;
  private readonly seedLo: number;
  private readonly seedHi: number;
  private readonly sources: OpenSource[];
  private readonly cumulativeWeights: number[];
  private rows = 0;
  /** Shards with open files, least recently used first (at most {@link MAX_OPEN_SHARDS}). */
  private readonly openShards = new Set<ShardWindows>();

  /**
   * Opens every shard and mask file and validates them.
   * @throws TypeError / RangeError for bad options, Error naming a file for a bad shard or mask,
   *   a tokenizer mismatch, a source with no whole window, or a state that does not fit.
   */
  constructor(options: BatchSamplerOptions) {
    const { batch, context, seed = 0, expectTokenizer, lossMask = 'auto' } = options;
    if (!Number.isInteger(batch) || batch < 1) throw new CodedRangeError(`batch must be a positive integer, got ${batch}`);
    if (!Number.isInteger(context) || context < 1) throw new CodedRangeError(`context must be a positive integer, got ${context}`);
    if (!['auto', 'none', 'required'].includes(lossMask)) throw new CodedRangeError(`lossMask must be 'auto', 'none' or 'required', got '${lossMask}'`);
    [this.seedLo, this.seedHi] = seedWords(seed);
    if ((options.shards === undefined) === (options.sources === undefined)) throw new CodedTypeError('give either shards or sources');
    const specs = options.sources ?? [{ shards: options.shards as readonly string[] }];
    if (!Array.isArray(specs) || specs.length === 0) throw new CodedRangeError('sources must be a non-empty array');
    this.batch = batch;
    this.context = context;
    this.seed = seed;
    this.sources = [];
    try {
      specs.forEach((spec, s) => {
        const name = spec.name ?? `source${s}`;
        const weight = spec.weight ?? 1;
        if (!(Number.isFinite(weight) && weight > 0)) throw new CodedRangeError(`sources[${s}].weight must be a finite number > 0, got ${weight}`);
        if (!Array.isArray(spec.shards) || spec.shards.length === 0) throw new CodedRangeError(`sources[${s}].shards must be a non-empty array of paths`);
        const source: OpenSource = { name, weight, shards: [], offsets: [0], windows: 0, epoch: 0, position: 0, order: null };
        this.sources.push(source);
        for (const path of spec.shards) {
          const shard = new ShardWindows(path, { expectTokenizer, lossMask });
          source.shards.push(shard);
          source.windows += Math.floor(Math.max(0, shard.length - 1) / context);
          source.offsets.push(source.windows);
        }
        if (source.windows === 0)
          throw new CodedRangeError(`source '${name}' has no window of context + 1 = ${context + 1} tokens in its ${spec.shards.length} shard(s)`);
      });
    } catch (error) {
      this.close();
      throw error;
    }
    const total = this.sources.reduce((sum, s) => sum + s.weight, 0);
    let running = 0;
    this.cumulativeWeights = this.sources.map((s) => (running += s.weight / total));
    if (options.state) this.restore(options.state);
  }

  /** Source names, weights and window counts. */
  describe(): { name: string; weight: number; shards: number; windows: number; epoch: number }[] {
    return this.sources.map((s) => ({ name: s.name, weight: s.weight, shards: s.shards.length, windows: s.windows, epoch: s.epoch }));
  }

  /** The current position, to store in a checkpoint. */
  state(): SamplerState {
    return {
      version: 1,
      seed: this.seed,
      batch: this.batch,
      context: this.context,
      rows: this.rows,
      sources: this.sources.map((s) => ({ epoch: s.epoch, position: s.position, windows: s.windows })),
    };
  }

  private restore(state: SamplerState): void {
    const fail = (why: string) => {
      throw new CodedRangeError(`cannot resume the batch sampler: ${why}`);
    };
    if (state === null || typeof state !== 'object' || state.version !== 1) fail('state.version must be 1');
    if (state.seed !== this.seed) fail(`the state was saved with seed ${state.seed}, the sampler has seed ${this.seed}`);
    if (state.batch !== this.batch || state.context !== this.context)
      fail(`the state was saved for batch × context ${state.batch} × ${state.context}, the sampler has ${this.batch} × ${this.context}`);
    if (!Number.isSafeInteger(state.rows) || state.rows < 0) fail(`state.rows must be a non-negative integer, got ${state.rows}`);
    if (!Array.isArray(state.sources) || state.sources.length !== this.sources.length)
      fail(`the state has ${state.sources?.length} sources, the sampler ${this.sources.length}`);
    state.sources.forEach((saved, s) => {
      const source = this.sources[s];
      if (saved.windows !== source.windows)
        fail(`source '${source.name}' had ${saved.windows} windows when saved and has ${source.windows} now (different shards?)`);
      if (!Number.isSafeInteger(saved.epoch) || saved.epoch < 0) fail(`sources[${s}].epoch must be a non-negative integer`);
      if (!Number.isInteger(saved.position) || saved.position < 0 || saved.position > source.windows)
        fail(`sources[${s}].position must be an integer in [0, ${source.windows}]`);
      source.epoch = saved.epoch;
      source.position = saved.position;
      source.order = null;
    });
    this.rows = state.rows;
  }

  /** The next window of source `s`: [shard, start]. */
  private nextWindow(s: number): [ShardWindows, number] {
    const source = this.sources[s];
    if (source.position >= source.windows) {
      source.epoch++;
      source.position = 0;
      source.order = null;
    }
    if (!source.order) source.order = permutation(source.windows, new Sfc32(this.seedLo, this.seedHi, s, source.epoch));
    const w = source.order[source.position++];
    let lo = 0;
    let hi = source.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (source.offsets[mid] <= w) lo = mid;
      else hi = mid - 1;
    }
    const shard = source.shards[lo];
    this.openShards.delete(shard);
    this.openShards.add(shard);
    if (this.openShards.size > MAX_OPEN_SHARDS) {
      const oldest = this.openShards.values().next().value as ShardWindows;
      oldest.close();
      this.openShards.delete(oldest);
    }
    return [shard, (w - source.offsets[lo]) * this.context];
  }

  /** The source row `row` draws from. */
  private sourceOf(row: number): number {
    if (this.sources.length === 1) return 0;
    const u = hashUnit(this.seedLo, this.seedHi, row % 2 ** 32, Math.floor(row / 2 ** 32));
    const s = this.cumulativeWeights.findIndex((c) => u < c);
    return s < 0 ? this.sources.length - 1 : s;
  }

  /** Draws the next batch. The returned arrays are fresh (safe to keep). */
  next(): Batch {
    const B = this.batch;
    const T = this.context;
    const inputs = new Uint32Array(B * T);
    const targets = new Uint32Array(B * T);
    const lossMask = new Uint8Array(B * T);
    for (let b = 0; b < B; b++) {
      const [shard, start] = this.nextWindow(this.sourceOf(this.rows));
      shard.fill(start, T, inputs, targets, lossMask, b * T);
      this.rows++;
    }
    return { inputs, targets, lossMask, batch: B, context: T };
  }

  /** An endless iterator of batches. */
  *[Symbol.iterator](): Iterator<Batch> {
    for (;;) yield this.next();
  }

  /** Closes every file (a later `next` reopens what it needs). */
  close(): void {
    for (const source of this.sources) for (const shard of source.shards) shard.close();
    this.openShards.clear();
  }
}
