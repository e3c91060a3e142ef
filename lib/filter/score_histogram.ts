/**
 * A streaming, mergeable histogram of token scores, for thresholds given as a flagged fraction
 * over a whole corpus: feed it shard by shard (or per worker and merge), then ask which
 * threshold flags a fraction. Exact for the side-file encodings (uint8 levels and float16), and
 * within one bfloat16 bucket (relative 2^-8) for float32 scores, always erring towards
 * flagging slightly more.
 * @module
 */
import { float16BitsToFloat32 } from '../data/float16.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';

const BINS = 65536;
/** Largest key of a non-negative value (the sign bit is the top bit in both encodings). */
const TOP_KEY = 0x7fff;

/** Score encodings the histogram accepts. */
export type HistogramScores = Uint8Array | Float32Array | { float16Bits: Uint16Array };

export class ScoreHistogram {
  /** counts[b]: tokens whose score's 16-bit key is b (see {@link ScoreHistogram.keyToScore}). */
  readonly counts = new Float64Array(BINS);
  total = 0;

  /**
   * Adds scores: probabilities as float32, round(255·p) levels as uint8, or raw float16 bit
   * patterns (side files of kind 4) as `{ float16Bits }`.
   * @throws RangeError for a float32 score outside [0, 1] or NaN.
   */
  add(scores: HistogramScores): this {
    this.setKeyKind(scores instanceof Float32Array ? 'bfloat16' : scores instanceof Uint8Array ? 'uint8' : 'float16');
    if (scores instanceof Uint8Array) {
      for (let i = 0; i < scores.length; i++) this.counts[scores[i]]++;
    } else if (scores instanceof Float32Array) {
      const bits = new Uint32Array(scores.buffer, scores.byteOffset, scores.length);
      for (let i = 0; i < scores.length; i++) {
        const s = scores[i];
        if (!(s >= 0 && s <= 1)) throw new CodedRangeError(`scores[${i}] = ${s} is not a probability in [0, 1]`);
        this.counts[bits[i] >>> 16]++;
      }
    } else {
      const { float16Bits } = scores;
      for (let i = 0; i < float16Bits.length; i++) this.counts[float16Bits[i]]++;
    }
    this.total += scores instanceof Uint8Array || scores instanceof Float32Array ? scores.length : scores.float16Bits.length;
    return this;
  }

  /**
   * Adds one probability with a weight (e.g. a document's mean score weighted by its token
   * count, for document-level fraction thresholds); keyed like float32 scores.
   * @throws RangeError for a value outside [0, 1] or a negative weight.
   */
  addWeighted(value: number, weight: number): this {
    if (!(value >= 0 && value <= 1)) throw new CodedRangeError(`value ${value} is not a probability in [0, 1]`);
    if (!(weight >= 0)) throw new CodedRangeError(`weight must be >= 0, got ${weight}`);
    this.setKeyKind('bfloat16');
    scratch[0] = value;
    this.counts[scratchBits[0] >>> 16] += weight;
    this.total += weight;
    return this;
  }

  /** Adds another histogram's counts (workers or shards merged in any order). */
  merge(other: ScoreHistogram): this {
    if (other.keyKind) this.setKeyKind(other.keyKind);
    for (let b = 0; b < BINS; b++) this.counts[b] += other.counts[b];
    this.total += other.total;
    return this;
  }

  /**
   * How scores are keyed: the uint8 level, the float16 bit pattern, or the top 16 bits of
   * float32 (bfloat16); fixed by the first scores added.
   */
  keyKind: 'uint8' | 'float16' | 'bfloat16' | undefined;

  private setKeyKind(kind: 'uint8' | 'float16' | 'bfloat16'): void {
    if (this.keyKind && this.keyKind !== kind)
      throw new CodedTypeError(`this histogram holds ${this.keyKind} scores, not ${kind}: add scores of one encoding per histogram`);
    this.keyKind = kind;
  }

  /** The lowest score a key stands for. */
  keyToScore(key: number): number {
    if (this.keyKind === 'uint8') return key / 255;
    return this.keyKind === 'bfloat16' ? bfloat16ToNumber(key) : float16BitsToFloat32(key);
  }

  /**
   * The threshold that flags at least `fraction` of all tokens (or weight) added (score >= threshold),
   * chosen as high as possible; Infinity for fraction 0.
   * @throws RangeError unless 0 <= fraction <= 1.
   */
  thresholdForFraction(fraction: number): number {
    if (!(fraction >= 0 && fraction <= 1)) throw new CodedRangeError(`fraction must be in [0, 1], got ${fraction}`);
    const k = Math.round(fraction * this.total);
    if (k === 0) return Number.POSITIVE_INFINITY;
    // Non-negative float16 / bfloat16 values order like their bit patterns.
    let seen = 0;
    for (let key = TOP_KEY; key >= 0; key--) {
      seen += this.counts[key];
      if (seen >= k) return this.keyToScore(key);
    }
    return 0;
  }

  /** Fraction of tokens with score >= threshold. */
  fractionAtOrAbove(threshold: number): number {
    if (this.total === 0) return 0;
    let seen = 0;
    for (let key = TOP_KEY; key >= 0; key--) {
      if (this.keyToScore(key) < threshold) break;
      seen += this.counts[key];
    }
    return seen / this.total;
  }
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

function bfloat16ToNumber(key: number): number {
  return new Float32Array(new Uint32Array([key << 16 >>> 0]).buffer)[0];
}
