/**
 * Latent selection without an LLM judge: given activations of all latents and per-token domain
 * labels (source labels or gold spans), rank latents by how specifically they fire on the
 * forget domain, keep those with enough support, and remember each latent's top-activating
 * positions so a person can audit the choice.
 *
 * A latent "fires" on a token when its activation exceeds its cut (0 by default, or e.g.
 * mean + z·std from {@link LatentMoments} to match the labelling rule). Score: the log2 ratio
 * of firing rates on forget vs retain tokens, each smoothed by one pseudo-count:
 *   score = log2(((fF + 1) / (nF + 1)) / ((fR + 1) / (nR + 1)))
 * with fF, fR the firings on forget/retain tokens and nF, nR the token counts. Support = fF.
 * Alternatively rank by `auroc`: the AUROC of the latent's firing as a forget detector,
 * (1 + fF/nF − fR/nR) / 2, which also rewards coverage (a latent firing on most forget tokens
 * beats a rare but perfectly specific one).
 * @module
 */
import { CodedRangeError } from '../errors.js';

/** One latent's statistics. */
export interface LatentScore {
  latent: number;
  /** log2 firing-rate ratio, forget over retain (smoothed). */
  score: number;
  /** Firings on forget tokens (the support). */
  forgetFires: number;
  retainFires: number;
  /** Firing rates on forget and retain tokens. */
  forgetRate: number;
  retainRate: number;
  /** P(forget | fires) over the labelled tokens. */
  precision: number;
  /** AUROC of "fires" as a forget detector: (1 + forgetRate − retainRate) / 2. */
  auroc: number;
}

/** How {@link LatentSelector.rank} orders latents. */
export type LatentRanking = 'ratio' | 'auroc';

/** A top-activating position of a latent. */
export interface LatentContext {
  /** Position in the caller's numbering (the `origin` given to {@link LatentSelector.add} + row). */
  position: number;
  activation: number;
}

/** Options of {@link LatentSelector.select}. */
export interface SelectLatentsOptions {
  /** Keep the best `top` latents (default 32). */
  top?: number;
  /** Keep only latents scoring at least this (default 1, i.e. twice as frequent on forget). */
  minScore?: number;
  /** Keep only latents firing on at least this many forget tokens (default 20). */
  minSupport?: number;
  /** Order by AUROC (default) or by firing-rate ratio; minScore applies to the ratio score either way. */
  by?: LatentRanking;
}

/**
 * Defaults of latent selection, the only place they are written: {@link SelectLatentsOptions},
 * the ranking of {@link LatentSelector.rank} and the top contexts kept per latent (`contexts`,
 * the {@link LatentSelector} constructor's). `fitSaeLabeller`, `tokenfilter label --select` and
 * the label stage read them from here. AUROC ranks by coverage of the forget tokens; the ratio
 * (`by: 'ratio'`) by how much more often a latent fires on them than elsewhere.
 */
export const SELECT_DEFAULTS = Object.freeze({ top: 32, minScore: 1, minSupport: 20, by: 'auroc' as LatentRanking, contexts: 3 });

/** Accumulates per-latent firing statistics over labelled tokens. */
export class LatentSelector {
  private readonly forgetFires: Float64Array;
  private readonly retainFires: Float64Array;
  private forgetTokens = 0;
  private retainTokens = 0;
  private readonly cut: Float32Array;
  private readonly contexts: LatentContext[][];
  private readonly keep: number;

  /**
   * @param latents L, the number of latents in each activation row.
   * @param options `cut` per latent (default all 0); `contexts` top positions kept per latent (default {@link SELECT_DEFAULTS}.contexts).
   * @throws RangeError for a bad latent count or cut length.
   */
  constructor(readonly latents: number, options: { cut?: ArrayLike<number>; contexts?: number } = {}) {
    if (!Number.isInteger(latents) || latents < 1) throw new CodedRangeError(`latents must be a positive integer, got ${latents}`);
    if (options.cut && options.cut.length !== latents) throw new CodedRangeError(`cut has length ${options.cut.length}, expected ${latents}`);
    this.forgetFires = new Float64Array(latents);
    this.retainFires = new Float64Array(latents);
    this.cut = options.cut ? Float32Array.from(options.cut) : new Float32Array(latents);
    this.keep = options.contexts ?? SELECT_DEFAULTS.contexts;
    if (!Number.isInteger(this.keep) || this.keep < 0) throw new CodedRangeError(`contexts must be a non-negative integer, got ${this.keep}`);
    this.contexts = Array.from({ length: this.keep > 0 ? latents : 0 }, () => []);
  }

  /**
   * Adds activations [T, latents] with labels [T]: 1 = forget, 0 = retain, anything else
   * ignored (e.g. `<|endoftext|>` or unlabelled tokens). `origin` numbers the rows for the
   * top-context positions (default 0).
   * @throws RangeError on a length mismatch.
   */
  add(activations: Float32Array, labels: Uint8Array, origin = 0): this {
    const L = this.latents;
    if (activations.length !== labels.length * L)
      throw new CodedRangeError(`activations has length ${activations.length}, expected labels.length × latents = ${labels.length} × ${L}`);
    const { forgetFires, retainFires, cut, contexts, keep } = this;
    for (let t = 0; t < labels.length; t++) {
      const label = labels[t];
      if (label !== 0 && label !== 1) continue;
      const fires = label === 1 ? forgetFires : retainFires;
      if (label === 1) this.forgetTokens++;
      else this.retainTokens++;
      const row = t * L;
      for (let l = 0; l < L; l++) {
        const a = activations[row + l];
        if (a <= cut[l]) continue;
        fires[l]++;
        if (keep === 0) continue;
        const list = contexts[l];
        if (list.length < keep || a > list[list.length - 1].activation) {
          let i = list.length < keep ? list.length : keep - 1;
          while (i > 0 && list[i - 1].activation < a) i--;
          list.splice(i, 0, { position: origin + t, activation: a });
          if (list.length > keep) list.pop();
        }
      }
    }
    return this;
  }

  /** Every latent's statistics, best first by `by` (default {@link SELECT_DEFAULTS}.by). */
  rank(by: LatentRanking = SELECT_DEFAULTS.by): LatentScore[] {
    const nF = this.forgetTokens;
    const nR = this.retainTokens;
    const out: LatentScore[] = [];
    for (let l = 0; l < this.latents; l++) {
      const fF = this.forgetFires[l];
      const fR = this.retainFires[l];
      out.push({
        latent: l,
        score: Math.log2((fF + 1) / (nF + 1) / ((fR + 1) / (nR + 1))),
        forgetFires: fF,
        retainFires: fR,
        forgetRate: nF ? fF / nF : 0,
        retainRate: nR ? fR / nR : 0,
        precision: fF + fR > 0 ? fF / (fF + fR) : 0,
        auroc: (1 + (nF ? fF / nF : 0) - (nR ? fR / nR : 0)) / 2,
      });
    }
    const key = by === 'auroc' ? (s: LatentScore) => s.auroc : (s: LatentScore) => s.score;
    return out.sort((a, b) => key(b) - key(a) || a.latent - b.latent);
  }

  /**
   * The chosen latents: the best `top` among those with score ≥ minScore and support ≥
   * minSupport (possibly fewer, possibly none).
   * @throws RangeError for a negative or non-integer top / minSupport.
   */
  select(options: SelectLatentsOptions = {}): LatentScore[] {
    const { top, minScore, minSupport, by } = { ...SELECT_DEFAULTS, ...options };
    if (!Number.isInteger(top) || top < 0) throw new CodedRangeError(`top must be a non-negative integer, got ${top}`);
    if (!Number.isInteger(minSupport) || minSupport < 0) throw new CodedRangeError(`minSupport must be a non-negative integer, got ${minSupport}`);
    return this.rank(by)
      .filter((s) => s.score >= minScore && s.forgetFires >= minSupport)
      .slice(0, top);
  }

  /** The top-activating positions of `latent`, strongest first. */
  topContexts(latent: number): LatentContext[] {
    return [...(this.contexts[latent] ?? [])];
  }
}
