/**
 * Fitting an SAE labeller on a labeller LM: residual activations of a sample of the corpus at
 * one layer → a TopK (or JumpReLU) SAE trained on them → latents ranked by how specifically
 * they fire on the forget domain of the sample ({@link LatentSelector}) → per-latent mean and
 * standard deviation of the chosen latents over the sample. The result is everything the
 * labelling rule needs ({@link labelShards} or {@link labelTokensWithEot}) to label a whole
 * corpus.
 *
 * The paper picks medical latents by reading their explanations with an LLM; here a sample of
 * labelled tokens (gold sentence spans, source labels, a hand-labelled set) stands in for that
 * judge. Selection, mean and std all read exact codes (as {@link SparseAutoencoder.selectedCodes}:
 * for TopK a selected latent is 0 where it lost the top-k competition), the codes the labelling
 * stage reads, so the rule's mean + z·std compares like with like. For TopK the sample is
 * encoded once: its sparse codes are kept for the moments of the chosen latents.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { Random } from '../data/random.js';
import type { Transformer } from '../model/transformer.js';
import { tokenActivations } from './activations.js';
import { LatentMoments } from './latent_moments.js';
import { SparseAutoencoder, type SaeKind } from './sae.js';
import { LatentSelector, SELECT_DEFAULTS, type LatentScore, type SelectLatentsOptions } from './select_latents.js';
import { trainSae, type TrainSaeProgress, type TrainSaeSummary } from './train_sae.js';
import { chooseRule, type RuleCandidates, type RuleChoice } from './rule_choice.js';
import { stripUndefined } from '../options.js';
import { TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';

/** Options of {@link fitSaeLabeller}. */
export interface FitSaeLabellerOptions {
  /** The labeller LM and the residual stream the SAE reads (0 = embeddings, l = after block l). */
  model: Transformer;
  layer: number;
  /** The sample: token ids (documents separated by end-of-text) … */
  tokens: Uint32Array;
  /** … and one label per token for latent selection: 1 forget, 0 retain, anything else ignored. */
  labels: Uint8Array;
  /** Continue from this SAE instead of training a new one (its dModel must match the model's). */
  sae?: SparseAutoencoder;
  /**
   * Fit the input scale and the decoder bias on the first batch (default: true for a new SAE,
   * false for a given one, which is continued as it is). Set it for a freshly created SAE passed
   * as `sae`, e.g. one with a non-default JumpReLU l0Coefficient.
   */
  fitInputScale?: boolean;
  /** Latents of a new SAE (default 1024). */
  dSae?: number;
  /** 'topk' (default) or 'jumprelu'. */
  kind?: SaeKind;
  /** TopK: active latents per token (default 32). */
  k?: number;
  /** SAE optimizer steps (default 1500; 0 with `sae` given skips training). */
  steps?: number;
  /** Activation rows per SAE step, drawn at random from the sample (default 1024). */
  batchRows?: number;
  /** SAE learning rate (default 1e-3). */
  lr?: number;
  /** Seed of the SAE's initialisation and of the row draws (default 1). */
  seed?: number;
  /** Which latents to keep (defaults: {@link SELECT_DEFAULTS}). */
  select?: SelectLatentsOptions;
  /** Top-activating positions kept per latent for the audit (default {@link SELECT_DEFAULTS}.contexts). */
  contexts?: number;
  /** Window length and windows per forward pass of the LM (defaults: the model's context, 16). */
  context?: number;
  batch?: number;
  /**
   * Choose the labelling rule on the sample too ({@link chooseRule}): the z and minLatents among
   * these whose labels of the sample agree best with its labels. Needs `eotId`.
   */
  rules?: RuleCandidates;
  /** End-of-text id of `tokens` (documents are labelled apart); required with `rules`. */
  eotId?: number;
  /** Called after every SAE step. */
  onProgress?: (p: TrainSaeProgress) => void;
  signal?: AbortSignal;
}

/** Defaults of {@link FitSaeLabellerOptions}. */
export const SAE_LABELLER_DEFAULTS = Object.freeze({ dSae: 1024, kind: 'topk' as SaeKind, k: 32, steps: 1500, batchRows: 1024, lr: 1e-3, seed: 1, batch: 16 });

/** What {@link fitSaeLabeller} returns. */
export interface SaeLabeller {
  sae: SparseAutoencoder;
  layer: number;
  /** The chosen latents with their statistics, best first. */
  latents: LatentScore[];
  /** Mean and population std of each chosen latent over the sample (labelling-path codes). */
  mean: Float32Array;
  std: Float32Array;
  /** The selector, for ranking under other settings and top-context audits (positions index the sample). */
  selector: LatentSelector;
  /** The last SAE step's statistics (null when an SAE was given and not trained). */
  training: TrainSaeSummary | null;
  /** The rule chosen on the sample, with every candidate's score (null without `rules`). */
  rule: RuleChoice | null;
  /** Sample rows read. */
  sampleTokens: number;
}

/**
 * Trains (or continues) an SAE on the sample's activations and picks forget-domain latents;
 * see the module comment.
 * @throws RangeError for mismatched lengths, an empty sample, a layer outside the model, an SAE
 *   of another width, or no latent passing the selection; AbortError when `signal` fires.
 */
export async function fitSaeLabeller(options: FitSaeLabellerOptions): Promise<SaeLabeller> {
  const o = { ...SAE_LABELLER_DEFAULTS, ...stripUndefined(options) };
  const { model, layer, tokens, labels, signal } = options;
  const D = model.config.dModel;
  if (!(tokens instanceof Uint32Array)) throw new CodedTypeError('tokens must be a Uint32Array');
  if (!(labels instanceof Uint8Array)) throw new CodedTypeError('labels must be a Uint8Array');
  if (labels.length !== tokens.length) throw new CodedRangeError(`labels has length ${labels.length}, tokens ${tokens.length}`);
  if (tokens.length === 0) throw new CodedRangeError('the sample holds no tokens');
  if (options.sae && options.sae.config.dModel !== D)
    throw new CodedRangeError(`the SAE reads ${options.sae.config.dModel}-wide activations, the model is ${D} wide`);
  if (!Number.isInteger(o.steps) || o.steps < 0 || (o.steps === 0 && !options.sae)) throw new CodedRangeError(`steps must be a positive integer, got ${o.steps}`);
  if (!Number.isInteger(o.batchRows) || o.batchRows < 1) throw new CodedRangeError(`batchRows must be a positive integer, got ${o.batchRows}`);

  const n = tokens.length;
  const acts = new Float32Array(n * D);
  for await (const block of tokenActivations(model, tokens, { layer, context: o.context, batch: o.batch })) {
    throwIfAborted(signal, 'SAE labeller');
    acts.set(block.activations, block.start * D);
  }

  const sae = options.sae ?? SparseAutoencoder.create({ dModel: D, dSae: o.dSae, kind: o.kind, k: o.k, seed: o.seed + 1 });
  let training: TrainSaeSummary | null = null;
  if (o.steps > 0) {
    const random = new Random(o.seed);
    const rows = o.batchRows;
    const batches = function* () {
      for (;;) {
        const x = new Float32Array(rows * D);
        for (let r = 0; r < rows; r++) {
          const row = Math.floor(random.next() * n);
          x.set(acts.subarray(row * D, (row + 1) * D), r * D);
        }
        yield x;
      }
    };
    training = await trainSae(sae, batches(), { lr: o.lr, steps: o.steps, onProgress: options.onProgress, signal, fitInputScale: options.fitInputScale ?? !options.sae });
  }

  const L = sae.config.dSae;
  const selector = new LatentSelector(L, { contexts: o.contexts ?? SELECT_DEFAULTS.contexts });
  const block = 8192;
  const encodeAll = sae.codesReusing();
  // TopK codes are sparse (k per row): keep them from this pass, so the moments of the chosen
  // latents below need no second encode.
  const topk = sae.config.kind === 'topk';
  const sparse = topk ? { rowEnd: new Uint32Array(n), latent: new Uint32Array(n * sae.config.k), value: new Float32Array(n * sae.config.k) } : null;
  let nonzeros = 0;
  for (let start = 0; start < n; start += block) {
    throwIfAborted(signal, 'SAE labeller');
    const end = Math.min(n, start + block);
    const codes = await encodeAll(acts.subarray(start * D, end * D));
    selector.add(codes, labels.subarray(start, end), start);
    if (sparse) {
      for (let t = 0; t < end - start; t++) {
        for (let l = 0, row = t * L; l < L; l++) {
          if (codes[row + l] === 0) continue;
          if (nonzeros === sparse.latent.length) throw new TokenfilterError('E_NATIVE', `a TopK code has more than k = ${sae.config.k} active latents`);
          sparse.latent[nonzeros] = l;
          sparse.value[nonzeros++] = codes[row + l];
        }
        sparse.rowEnd[start + t] = nonzeros;
      }
    }
  }
  const latents = selector.select(options.select);
  if (latents.length === 0)
    throw new CodedRangeError('no SAE latent fires specifically on the forget label of the sample (see SelectLatentsOptions): a larger sample, more SAE steps or another layer?');

  const chosen = await chosenCodes(sae, acts, latents.map((l) => l.latent), sparse, options.rules !== undefined);
  const { mean, std } = chosen;
  let rule: RuleChoice | null = null;
  if (options.rules) {
    if (options.eotId === undefined) throw new CodedRangeError('rules need eotId (documents are labelled apart)');
    rule = chooseRule({ codes: chosen.codes!, tokens, labels, eotId: options.eotId, mean, std }, options.rules);
  }
  return { sae, layer, latents, mean, std, selector, training, rule, sampleTokens: n };
}

/** TopK codes of the sample, kept sparse: per row its end in `latent` / `value`. */
interface SparseCodes {
  rowEnd: Uint32Array;
  latent: Uint32Array;
  value: Float32Array;
}

/**
 * Mean and std of the chosen latents' codes over the sample (from the kept sparse codes for
 * TopK, else by encoding again), and with `keep` the codes themselves [tokens × chosen].
 */
async function chosenCodes(
  sae: SparseAutoencoder, acts: Float32Array, chosen: readonly number[], sparse: SparseCodes | null, keep: boolean,
): Promise<{ mean: Float32Array; std: Float32Array; codes?: Float32Array }> {
  const D = sae.config.dModel;
  const L = sae.config.dSae;
  const n = acts.length / D;
  const S = chosen.length;
  const block = 8192;
  const moments = new LatentMoments(S);
  const codesOf = sae.codesReusing(sae.encoderFor(chosen));
  const column = new Int32Array(L).fill(-1);
  chosen.forEach((latent, s) => (column[latent] = s));
  const codes = keep ? new Float32Array(n * S) : null;
  const scratch = new Float32Array(block * S);
  for (let start = 0; start < n; start += block) {
    const end = Math.min(n, start + block);
    let rows: Float32Array;
    if (!sparse) rows = await codesOf(acts.subarray(start * D, end * D));
    else {
      rows = (codes ? codes.subarray(start * S, end * S) : scratch.subarray(0, (end - start) * S)).fill(0);
      for (let t = start, i = start === 0 ? 0 : sparse.rowEnd[start - 1]; t < end; t++) {
        for (; i < sparse.rowEnd[t]; i++) {
          const s = column[sparse.latent[i]];
          if (s >= 0) rows[(t - start) * S + s] = sparse.value[i];
        }
      }
    }
    if (codes && !sparse) codes.set(rows, start * S);
    moments.update(rows);
  }
  return { mean: moments.meanF32(), std: moments.std(), ...(codes ? { codes } : {}) };
}
