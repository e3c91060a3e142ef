/**
 * The classifier's two training stages in one call: pretrain a {@link BiLM} on token shards
 * (one or several weighted sources, e.g. the forget domain upsampled; or only its backward
 * half, given a trained forward LM), save it, then fit a
 * {@link TokenClassifier} probe on labelled token sequences with a layer sweep on validation
 * sequences. The labels can come from anywhere (gold spans, document labels, SAE weak labels;
 * see labels.ts), which is why this takes sequences rather than a corpus.
 * @module
 */
import { BatchSampler, type SamplerSource } from '../data/sampler.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { Transformer } from '../model/transformer.js';
import { BiLM } from './bilm.js';
import type { BlendObjective } from './blend_selection.js';
import type { LabelledSequence } from './labels.js';
import { layerSetName, type LayerChoice } from './layer_features.js';
import type { Reading } from './reading.js';
import type { Lexicon } from './lexicon.js';
import { TokenClassifier, type LayerResult, type ValidationSet } from './token_classifier.js';

/** One line of a layer's sweep result: F1 on the blend and on each validation kind. */
export function describeLayer(r: LayerResult): string {
  const kinds = r.kinds.map((k) => `${k.name} ${k.f1.toFixed(4)}`).join(', ');
  const raw = r.kindsUnsmoothed.map((k) => `${k.name} ${k.f1.toFixed(4)}`).join(', ');
  const mix = (r.mixtureScale !== undefined ? ` (logit mixture, scale ${r.mixtureScale})` : '') + (r.probeWeight !== undefined ? ` + lexicon (probe weight ${r.probeWeight})` : '');
  return `layer ${layerSetName(r.layers)}${mix}: blend ${r.blendObjective === 'worst' ? 'worst-kind ' : ''}F1 ${r.blendF1.toFixed(4)} (${kinds}) at ${r.maxF1.threshold.toFixed(3)} with ${r.methodName}; raw probe ${raw}; ${r.trainTokens} tokens, ${r.seconds.toFixed(1)} s`;
}

/** Options of {@link trainBiLMProbe}. */
export interface BiLMProbeOptions {
  tokenizer: Tokenizer;
  /** Pretraining text: token shards, mixed by weight. */
  sources: readonly SamplerSource[];
  /** Where the biLM is saved (the classifier file refers to it). */
  bilmPath: string;
  /**
   * A causal LM already trained on this text with this tokenizer: it becomes the forward
   * direction and only the backward one is trained, with its shape (`dModel`, `layers`,
   * `heads`, `context` are then ignored). See {@link BiLM.withForward}.
   */
  forward?: Transformer;
  /** A biLM already trained with this tokenizer and saved at `bilmPath`: no pretraining, only the probe (shape and training options are ignored). */
  bilm?: BiLM;
  /** Shape of each direction's Transformer. */
  dModel: number;
  layers: number;
  heads: number;
  context: number;
  /** Windows per step and optimizer steps per direction. */
  batch: number;
  steps: number;
  lr: number;
  /** Probe training and validation sequences (labels 0, 1 or UNLABELLED). */
  probeTrain: readonly LabelledSequence[];
  probeVal: readonly LabelledSequence[];
  /** Validation kinds to choose on (their blend; see blend_selection.ts); replaces `probeVal` when given. */
  probeValSets?: readonly ValidationSet[];
  /** Layers to sweep (default all). */
  sweepLayers?: LayerChoice[];
  /** Fit the probe on at most this many labelled tokens. */
  maxTrainTokens: number;
  /** L2 strength of the logistic probe. */
  l2: number;
  /** Score smoothing radii tried on validation (default TokenClassifier.train's). */
  smoothing?: readonly number[];
  /** Also try two-state segmentations of the probe's scores (default false; see segmentation.ts). */
  segmentation?: boolean;
  /** Logit-mixture scales tried for every two single layers of the sweep (default none; see logit_mixture.ts). */
  mixtures?: readonly number[];
  /** How the biLM reads documents for the probe's features (default 'window'; see reading.ts). */
  reading?: Reading;
  /** A lexicon tried beside every entry of the sweep (lexicon.ts; TokenClassifier.train's `lexicon`), at the shares of the probe's logit in `probeWeights`. */
  lexicon?: Lexicon;
  probeWeights?: readonly number[];
  /** What the blend of validation kinds maximises (TokenClassifier.train's `blendObjective`; default 'mean'). */
  blendObjective?: BlendObjective;
  seed: number;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

/** What {@link trainBiLMProbe} returns. */
export interface BiLMProbeResult {
  bilm: BiLM;
  classifier: TokenClassifier;
  sweep: LayerResult[];
  /** Pretraining: parameters and tokens per direction, final losses, seconds (both directions). */
  bilmSummary: {
    /** False when a trained `bilm` was given: nothing was pretrained, and the token count and losses below mean nothing. */
    pretrained: boolean;
    parametersPerDirection: number;
    nonEmbeddingPerDirection: number;
    trainTokensPerDirection: number;
    /** Forward: null when a `forward` model was given; null / NaN when a trained `bilm` was given. */
    finalLoss: { forward: number | null; backward: number };
    seconds: number;
  };
}

/**
 * Pretrains and saves a biLM, then trains a token probe on it; see the module comment.
 * @throws as {@link BatchSampler}, {@link BiLM.train} and {@link TokenClassifier.train} (bad
 *   shards or shapes, a class absent from the probe data); AbortError when `signal` fires.
 */
export async function trainBiLMProbe(o: BiLMProbeOptions): Promise<BiLMProbeResult> {
  const log = o.onLog ?? (() => {});
  const started = performance.now();
  const pretrained = o.bilm ? null : await pretrain(o, log);
  const bilm = o.bilm ?? pretrained!.bilm;
  const seconds = (performance.now() - started) / 1000;
  const { classifier, sweep } = await TokenClassifier.train({
    bilm, bilmPath: o.bilmPath, train: o.probeTrain, val: o.probeVal, valSets: o.probeValSets, layers: o.sweepLayers, maxTrainTokens: o.maxTrainTokens,
    seed: o.seed, logistic: { l2: o.l2 }, smoothing: o.smoothing, segmentation: o.segmentation, mixtures: o.mixtures, reading: o.reading, signal: o.signal,
    lexicon: o.lexicon, probeWeights: o.probeWeights, blendObjective: o.blendObjective,
    onLayer: (r) => log(`token probe ${describeLayer(r)}`),
  });
  const counts = bilm.forward.parameterCount();
  return {
    bilm,
    classifier,
    sweep,
    bilmSummary: {
      pretrained: pretrained !== null,
      parametersPerDirection: counts.total,
      nonEmbeddingPerDirection: counts.nonEmbedding,
      trainTokensPerDirection: pretrained?.backward.tokens ?? 0,
      finalLoss: { forward: pretrained?.forward?.finalLoss ?? null, backward: pretrained?.backward.finalLoss ?? Number.NaN },
      seconds,
    },
  };
}

/** Pretrains both directions (or the backward one, given a forward LM) and saves the biLM. */
async function pretrain(o: BiLMProbeOptions, log: (line: string) => void) {
  const bilm = o.forward
    ? await BiLM.withForward(o.forward, o.tokenizer)
    : await BiLM.create(o.tokenizer, { dModel: o.dModel, layers: o.layers, heads: o.heads, context: o.context, seed: o.seed });
  const context = bilm.forward.config.context;
  const batches = function* () {
    const s = new BatchSampler({ sources: o.sources, batch: o.batch, context, seed: o.seed, lossMask: 'none', expectTokenizer: o.tokenizer });
    try {
      for (;;) yield s.next();
    } finally {
      s.close();
    }
  };
  const trainOptions = {
    steps: o.steps,
    lr: o.lr,
    signal: o.signal,
    onProgress: (direction: string, p: { step: number; totalSteps?: number; loss: number; tokensPerSecond: number }) => {
      if (p.step % 50 === 0 || p.step === p.totalSteps) log(`biLM ${direction}: step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} (${p.tokensPerSecond.toFixed(0)} tokens/s)`);
    },
  };
  const forward = o.forward ? null : await bilm.trainDirection('forward', batches(), trainOptions);
  const backward = await bilm.trainDirection('backward', batches(), trainOptions);
  await bilm.save(o.bilmPath);
  return { bilm, forward, backward };
}
