/**
 * The demo's scoring chain, from raw token shards to per-token forget scores with no gold label
 * in the loop except a small sample for latent selection:
 *
 * 1. labeller LM: a small Transformer trained on the training shard;
 * 2. SAE labeller ({@link fitSaeLabeller}): an SAE on the LM's residual stream over a sample of
 *    training documents (seeded random ones: the corpus is laid out topic by topic), medical latents ranked on that sample's gold sentence labels (the
 *    demo's stand-in for the paper's LLM judge of latent explanations), their mean and std;
 * 3. weak labels ({@link labelShards}): the paper's rule (≥ minLatents chosen latents above
 *    mean + z·std, then spans grown to neighbours with a positive activation) on a labelled
 *    subset, one random window of `probeTokens` from each of `labelDocuments` other random
 *    training documents (written as their own shard; the probe reads exactly these windows), as
 *    the paper labels a subset of its corpus for classifier training;
 * 4. classifier ({@link trainBiLMProbe}): a biLM on the whole training shard (two new
 *    models, or the labeller LM as its forward half unless `separateBilm`) and a
 *    logistic token probe trained on the subset's SAE labels (layer and max-F1 threshold chosen
 *    on `probeValDocuments` other subset documents);
 * 5. scores ({@link scoreShards}): every training token scored by the classifier.
 *
 * Gold labels grade each stage (the SAE labels on the subset, the classifier on held-out
 * documents) and never feed stages 3–5.
 * @module
 */
import { join } from 'node:path';
import { shardDocuments, labelsFromSideFile, UNLABELLED } from '../classify/labels.js';
import { binaryMetrics, precisionRecallCurve, type BinaryMetrics } from '../classify/metrics.js';
import { Random } from '../data/random.js';
import type { TokenClassifier } from '../classify/token_classifier.js';
import { trainBiLMProbe } from '../classify/train_bilm_probe.js';
import type { Reading } from '../classify/reading.js';
import { windowOf } from '../classify/sampling.js';
import { readSideFile, SideFileKind, sideFilePathFor } from '../data/side_file.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { LabelledTokens } from '../eval/domain_loss.js';
import { fitSaeLabeller, type SaeLabeller } from '../label/sae_labeller.js';
import type { RuleCandidates } from '../label/rule_choice.js';
import type { TrainSummary } from '../model/train.js';
import type { Transformer } from '../model/transformer.js';
import { runLabel } from '../stages/label.js';
import { runScore } from '../stages/score.js';
import { joinDocuments, writeLabelledShard } from '../stages/tokenize.js';
import { runTrain } from '../stages/train.js';
import { makeFolder } from '../data/output_path.js';
import { writeFileAtomic } from '../data/atomic_file.js';
import { stageTimer, type LapListener } from './stage_timer.js';
import { CodedRangeError } from '../errors.js';
import { FORGET_LABEL } from '../data/domains.js';

/** Gold label value of the forget domain in the demo's label side files. */

/** Settings of the chain (the demo's options of the same names). */
export interface SaeChainSettings {
  /** Labeller LM shape and training (batch: windows per step; heads from the width, see `headsForWidth`). */
  labellerLayers: number;
  labellerDim: number;
  labellerContext: number;
  labellerSteps: number;
  labellerBatch: number;
  /** SAE: latents, TopK k, optimizer steps, training-sample tokens (also the selection sample). */
  saeLatents: number;
  saeK: number;
  saeSteps: number;
  saeSampleTokens: number;
  /** Latents kept (best AUROC on the sample). */
  saeTop: number;
  /**
   * The labelling rule: chosen on the SAE sample among these z × minLatents pairs (best F1
   * against the sample's gold labels, `chooseRule` in lib/label/rule_choice.ts), or, when null, `z` and `minLatents`.
   */
  ruleCandidates: RuleCandidates | null;
  z: number;
  minLatents: number;
  /**
   * The classifier's biLM: with `separateBilm` (the demo's default) both directions are new
   * models of `bilmLayers` × `bilmDim`, context `bilmContext`, trained for `bilmSteps` steps of
   * `bilmBatch` windows each, smaller than the labeller so that scoring the corpus is cheap;
   * without it the labeller LM (a causal LM of this very text) is the forward direction and only
   * a backward model of its shape is trained: better probe features, slower scoring.
   */
  separateBilm: boolean;
  bilmLayers: number;
  bilmDim: number;
  bilmContext: number;
  bilmSteps: number;
  bilmBatch: number;
  /** How the biLM reads documents for the probe, in training and in scoring: 'window' or 'sentence' (reading.ts). */
  reading: Reading;
  /**
   * Documents SAE-labelled for the probe, of which `probeValDocuments` (at most a quarter)
   * validate it; each is labelled, and read by the probe, in one random window of `probeTokens`.
   */
  labelDocuments: number;
  probeValDocuments: number;
  probeTokens: number;
  /** The probe is fitted on at most this many labelled tokens (drawn uniformly). */
  probeMaxTokens: number;
  lr: number;
  seed: number;
}

/** Inputs of {@link runSaeChain}. */
export interface SaeChainInputs {
  settings: SaeChainSettings;
  /** Work folder (created): models, SAE, labels, classifier, scores. */
  out: string;
  tokenizer: Tokenizer;
  /** The training shard (with its gold label side file beside it) and its tokens and gold labels. */
  trainShard: string;
  train: LabelledTokens;
  /** Held-out tokens and gold labels, for grading the classifier. */
  val: LabelledTokens;
  onLog?: (line: string) => void;
  /** Hears each stage's name, wall and CPU seconds as it ends (before its log line). */
  onStage?: LapListener;
  signal?: AbortSignal;
}

/** Precision, recall and F1 of a labelling or classifier against reference labels (gold medical, or SAE labels). */
export interface GoldAgreement {
  precision: number;
  recall: number;
  f1: number;
  /** Share of graded tokens flagged, and share positive in the reference. */
  flaggedFraction: number;
  goldFraction: number;
  tokens: number;
}

/** What the chain did, recorded in the demo report under `chain`. */
export interface SaeChainReport {
  labellerLm: { params: number; layers: number; dModel: number; context: number; steps: number; trainTokens: number; finalLoss: number; path: string };
  sae: {
    path: string;
    latents: number;
    k: number;
    layer: number;
    steps: number;
    explainedVariance: number | null;
    deadFraction: number | null;
    /** Training tokens the SAE trained on and latents were selected on (whole documents). */
    sampleTokens: number;
    /** Chosen latents, best first, with their top contexts on the sample. */
    selected: { latent: number; auroc: number; ratioScore: number; precisionOnSample: number; contexts: string[] }[];
  };
  saeLabels: {
    /** The rule applied, and how it was set: chosen on the SAE sample (with its F1 there) or fixed. */
    rule: { z: number; minLatents: number; chosenOnSample: { f1: number; candidates: number } | null };
    /** The labelled subset (a shard) and its label side file. */
    shard: string;
    path: string;
    documents: number;
    labelledFraction: number;
    /** Against gold sentence labels on the subset (disjoint from the selection sample). */
    vsGold: GoldAgreement;
  };
  classifier: {
    path: string;
    bilmPath: string;
    bilm: { forwardIsLabeller: boolean; paramsPerDirection: number; layers: number; dModel: number; context: number; steps: number; finalLoss: { forward: number | null; backward: number } };
    layer: number;
    /** How the biLM read documents for the probe and for scoring. */
    reading: Reading;
    /** Max-F1 threshold on validation documents' SAE labels: the token threshold of the filters. */
    threshold: number;
    /** On the validation documents of the subset, against their SAE labels. */
    vsSaeLabels: GoldAgreement;
    /** On held-out documents, against gold sentence labels, at `threshold`. */
    vsGold: GoldAgreement;
    /** The same, at the threshold that maximises F1 against gold (an optimistic reference). */
    vsGoldBestThreshold: GoldAgreement & { threshold: number };
  };
  scoresPath: string;
}

/** What {@link runSaeChain} returns. */
export interface SaeChainResult {
  /** One score per training token, round(255·p) as in the score side file. */
  scores: Uint8Array;
  threshold: number;
  report: SaeChainReport;
  /** Wall and CPU seconds per stage, in order. */
  stages: Record<string, number>;
  cpu: Record<string, number>;
}

type Log = (line: string) => void;

/** The trained labeller LM and where it was saved. */
interface Labeller {
  model: Transformer;
  summary: TrainSummary;
  path: string;
}

/** The SAE sample (whole documents) and the labelled subset (a window of each document), drawn in a seeded random order. */
interface ChainDocuments {
  sample: LabelledTokens;
  subset: LabelledTokens;
  sampleDocs: number;
  subsetDocs: number;
  /** Subset documents that validate the probe. */
  valDocs: number;
}

/** Runs the chain; see the module comment. */
export async function runSaeChain(inputs: SaeChainInputs): Promise<SaeChainResult> {
  const { settings: s, out, tokenizer } = inputs;
  const log: Log = inputs.onLog ?? (() => {});
  const timer = stageTimer(inputs.onStage);
  await makeFolder(join(out, 'models'));
  await makeFolder(join(out, 'sae'));
  await makeFolder(join(out, 'classifier'));

  const labeller = await trainLabeller(inputs, log);
  log(`labeller LM: final loss ${labeller.summary.finalLoss.toFixed(3)} (${timer.lap('labeller_lm')})`);
  const docs = chainDocuments(s, inputs.train, tokenizer.eotId);
  const sae = await fitChainSae(inputs, labeller, docs, log);
  const { rule } = sae;
  const ruleNote = rule.chosenOnSample ? ` chosen on the sample (F1 ${rule.chosenOnSample.f1.toFixed(3)} there, best of ${rule.chosenOnSample.candidates})` : '';
  log(
    `SAE: explained variance ${sae.fit.training!.explainedVariance.toFixed(3)}; ${sae.fit.latents.length} latents chosen (best AUROC ${sae.fit.latents[0].auroc.toFixed(3)}); ` +
      `rule z ${rule.z}, ≥ ${rule.minLatents} latents${ruleNote} (${timer.lap('sae')})`,
  );
  const labels = await weakLabels(inputs, labeller.model, sae.fit, rule, docs);
  const g = labels.vsGold;
  log(
    `SAE labels: ${docs.subsetDocs} documents, ${(100 * labels.labelled / labels.tokens).toFixed(1)}% of ${labels.tokens} tokens labelled; ` +
      `against gold medical P ${g.precision.toFixed(3)} R ${g.recall.toFixed(3)} F1 ${g.f1.toFixed(3)} (${timer.lap('sae_labels')})`,
  );
  const classifier = await trainChainClassifier(inputs, labeller.model, labels, docs.valDocs, log);
  const c = classifier.report.vsGold;
  log(
    `classifier: layer ${classifier.report.layer}, threshold ${classifier.report.threshold.toFixed(3)}; held-out against gold medical ` +
      `P ${c.precision.toFixed(3)} R ${c.recall.toFixed(3)} F1 ${c.f1.toFixed(3)} (${timer.lap('classifier')})`,
  );
  const scores = await scoreTraining(inputs, classifier.report.path);
  log(`scores: ${inputs.train.tokens.length} training tokens scored → ${scores.path} (${timer.lap('scoring')})`);
  return {
    scores: scores.values,
    threshold: classifier.report.threshold,
    stages: timer.stages,
    cpu: timer.cpu,
    report: {
      labellerLm: {
        params: labeller.model.parameterCount().total, layers: s.labellerLayers, dModel: s.labellerDim, context: s.labellerContext,
        steps: labeller.summary.steps, trainTokens: labeller.summary.tokens, finalLoss: labeller.summary.finalLoss, path: labeller.path,
      },
      sae: {
        path: sae.path, latents: s.saeLatents, k: s.saeK, layer: sae.layer, steps: s.saeSteps,
        explainedVariance: sae.fit.training?.explainedVariance ?? null, deadFraction: sae.fit.training?.deadFraction ?? null,
        sampleTokens: docs.sample.tokens.length, selected: sae.selected,
      },
      saeLabels: {
        rule, shard: labels.shard, path: labels.path, documents: docs.subsetDocs,
        labelledFraction: labels.labelled / labels.tokens, vsGold: labels.vsGold,
      },
      classifier: classifier.report,
      scoresPath: scores.path,
    },
  };
}

/** Step 1: the labeller LM, a causal LM of the training shard (train stage). */
async function trainLabeller(inputs: SaeChainInputs, log: Log): Promise<Labeller> {
  const { settings: s, out, tokenizer } = inputs;
  log(`labeller LM: ${s.labellerLayers} layers, width ${s.labellerDim}, context ${s.labellerContext}, ${s.labellerSteps} steps`);
  const path = join(out, 'models', 'labeller.safetensors');
  const trained = await runTrain({
    name: 'labeller', stream: { shards: [inputs.trainShard], lossMask: 'none' }, tokenizer,
    model: { layers: s.labellerLayers, dModel: s.labellerDim, heads: headsForWidth(s.labellerDim) },
    context: s.labellerContext, batch: s.labellerBatch, steps: s.labellerSteps, lr: s.lr, seed: s.seed + 100,
    save: { path, metadata: { demo_role: 'labeller' } }, logEvery: 100, onLog: log, signal: inputs.signal,
  });
  return { model: trained.model, summary: trained.summary, path };
}

/** Step 2a: the SAE sample (`saeSampleTokens` of whole documents) and the labelled subset (windows of the documents after it). */
function chainDocuments(s: SaeChainSettings, train: LabelledTokens, eotId: number): ChainDocuments {
  // documents in a seeded random order: the corpus is laid out topic by topic, so a prefix would be narrow
  const docs = shardDocuments(train.tokens, eotId);
  const order = new Random(s.seed + 7).shuffle(docs.map((_, i) => i));
  let sampleDocs = 0;
  let sampleTokens = 0;
  while (sampleDocs < order.length && sampleTokens < s.saeSampleTokens) sampleTokens += docs[order[sampleDocs++]].tokens.length + 1;
  const subsetDocs = Math.min(s.labelDocuments, docs.length - sampleDocs);
  const valDocs = Math.min(s.probeValDocuments, Math.floor(subsetDocs / 4));
  if (valDocs < 1)
    throw new CodedRangeError(
      `${docs.length} training documents leave ${Math.max(0, subsetDocs)} after the SAE sample of ${sampleDocs}: too few to train and validate a probe on ` +
        `(at least 4 are needed: lower saeSampleTokens or use more documents)`,
    );
  // each picked document (or one random window of it) followed by end-of-text, with its slice of the gold labels
  const windows = new Random(s.seed + 9);
  const gather = (pick: readonly number[], window = Infinity) =>
    joinDocuments(
      pick.map((i) => {
        const { start, tokens } = docs[i];
        const piece = windowOf({ tokens, labels: train.labels.subarray(start, start + tokens.length) }, window, windows);
        return { ids: piece.tokens, labels: piece.labels };
      }),
      { eotId, separator: 'after', separatorLabel: UNLABELLED },
    );
  // the probe reads one window of probeTokens per labelled document: only that window is labelled
  const subset = gather(order.slice(sampleDocs, sampleDocs + subsetDocs), s.probeTokens);
  return { sample: gather(order.slice(0, sampleDocs)), subset, sampleDocs, subsetDocs, valDocs };
}

/** Step 2b: an SAE on the labeller's last layer over the sample, medical latents chosen on its gold labels. */
async function fitChainSae(inputs: SaeChainInputs, labeller: Labeller, docs: ChainDocuments, log: Log) {
  const { settings: s, out, tokenizer } = inputs;
  const { sample } = docs;
  const layer = s.labellerLayers;
  log(`SAE: ${s.saeLatents} latents, k ${s.saeK}, ${s.saeSteps} steps on ${sample.tokens.length} tokens (${docs.sampleDocs} documents) at layer ${layer}`);
  const fit = await fitSaeLabeller({
    model: labeller.model, layer, tokens: sample.tokens, labels: forgetLabels(sample.labels),
    dSae: s.saeLatents, k: s.saeK, steps: s.saeSteps, seed: s.seed, select: { top: s.saeTop }, signal: inputs.signal,
    ...(s.ruleCandidates ? { rules: s.ruleCandidates, eotId: tokenizer.eotId } : {}),
    onProgress: (p) => {
      if (p.step % 250 === 0 || p.step === s.saeSteps)
        log(`  SAE step ${p.step}/${s.saeSteps} explained variance ${p.explainedVariance.toFixed(3)}, L0 ${p.l0.toFixed(1)}, dead ${p.dead}`);
    },
  });
  const chosen = fit.rule?.best;
  const rule: SaeChainReport['saeLabels']['rule'] = chosen
    ? { z: chosen.z, minLatents: chosen.minLatents, chosenOnSample: { f1: chosen.f1, candidates: fit.rule!.candidates.length } }
    : { z: s.z, minLatents: s.minLatents, chosenOnSample: null };
  const path = join(out, 'sae', 'sae.safetensors');
  await fit.sae.save(path, { layer: String(layer), model: labeller.path });
  const selected = fit.latents.map((l) => ({
    latent: l.latent,
    auroc: l.auroc,
    ratioScore: l.score,
    precisionOnSample: l.precision,
    contexts: fit.selector.topContexts(l.latent).map((c) => tokenizer.decode(sample.tokens.subarray(Math.max(0, c.position - 8), c.position + 3))),
  }));
  await writeFileAtomic(join(out, 'sae', 'latents.json'), JSON.stringify({ layer, latents: selected, mean: [...fit.mean], std: [...fit.std], z: rule.z, minLatents: rule.minLatents }, null, 1) + '\n');
  return { fit, layer, path, selected, rule };
}

/** Step 3: the rule's weak labels on the subset (label stage), graded against its gold labels. */
async function weakLabels(inputs: SaeChainInputs, labeller: Transformer, fit: SaeLabeller, rule: { z: number; minLatents: number }, docs: ChainDocuments) {
  const { settings: s, out, tokenizer } = inputs;
  const shard = join(out, 'data', 'labelled_000000.bin');
  await writeLabelledShard(shard, docs.subset, tokenizer);
  const labelled = await runLabel({
    shards: [shard], out: join(out, 'sae-labels'), model: labeller, layer: s.labellerLayers, sae: fit.sae, latents: fit.latents.map((l) => l.latent),
    mean: fit.mean, std: fit.std, z: rule.z, minLatents: rule.minLatents, context: s.labellerContext, batch: 16, signal: inputs.signal,
  });
  if (labelled.labelled === 0 || labelled.labelled >= labelled.tokens - docs.subsetDocs)
    throw new CodedRangeError(
      `the SAE labels flag ${labelled.labelled} of ${labelled.tokens} tokens: the probe needs both classes (adjust z, minLatents, or train the labeller LM and SAE longer)`,
    );
  const path = labelled.shards[0].output;
  const values = readSideFile(path, { expectKind: SideFileKind.Labels, expectTokens: docs.subset.tokens.length }).values as Uint8Array;
  const vsGold = agreement(binaryMetrics(values, forgetLabels(docs.subset.labels), 0.5));
  return { shard, path, labelled: labelled.labelled, tokens: labelled.tokens, vsGold };
}

/** Step 4: a biLM on the whole training shard and a token probe on the subset's SAE labels, graded on held-out gold. */
async function trainChainClassifier(
  inputs: SaeChainInputs, labeller: Transformer, labels: { shard: string; path: string }, valDocs: number, log: Log,
): Promise<{ report: SaeChainReport['classifier'] }> {
  const { settings: s, out, tokenizer } = inputs;
  const random = new Random(s.seed);
  const documents = random.shuffle(labelsFromSideFile(labels.shard, { labelsPath: labels.path }));
  // the subset's documents are already one window of probeTokens each (chainDocuments)
  const probeVal = documents.slice(0, valDocs);
  const probeTrain = documents.slice(valDocs);
  const bilmPath = join(out, 'classifier', 'bilm.safetensors');
  const path = join(out, 'classifier', 'token.safetensors');
  log(
    s.separateBilm
      ? `classifier: biLM ${s.bilmLayers} layers, width ${s.bilmDim}, ${s.bilmSteps} steps per direction; probe on ${probeTrain.length} documents' SAE labels`
      : `classifier: biLM = labeller LM + a backward model of its shape, ${s.bilmSteps} steps; probe on ${probeTrain.length} documents' SAE labels`,
  );
  const bilmDepth = s.separateBilm ? s.bilmLayers : s.labellerLayers;
  const trained = await trainBiLMProbe({
    tokenizer, sources: [{ shards: [inputs.trainShard], weight: 1, name: 'train' }], bilmPath, forward: s.separateBilm ? undefined : labeller,
    dModel: s.bilmDim, layers: s.bilmLayers, heads: headsForWidth(s.bilmDim), context: s.bilmContext, batch: s.bilmBatch, steps: s.bilmSteps, lr: s.lr,
    probeTrain, probeVal, maxTrainTokens: s.probeMaxTokens, l2: 1e-3, seed: s.seed,
    // the final norm only: of the last block's output and the final norm, the norm won in every
    // demo run measured (docs/classifier.md), and each layer tried costs a probe fit (issue 21)
    sweepLayers: [bilmDepth + 1], reading: s.reading, onLog: (line) => log(`  ${line}`), signal: inputs.signal,
  });
  const { classifier } = trained;
  await classifier.save(path);
  const best = trained.sweep.find((r) => r.layer === classifier.layer)!;
  const heldOut = await scoreHeldOut(classifier, inputs.val, tokenizer.eotId, inputs.signal);
  const bestGold = precisionRecallCurve(heldOut.scores, heldOut.labels).maxF1;
  const forward = trained.bilm.forward.config;
  return {
    report: {
      path,
      bilmPath: bilmPath,
      bilm: {
        forwardIsLabeller: !s.separateBilm, paramsPerDirection: trained.bilmSummary.parametersPerDirection,
        layers: forward.layers, dModel: forward.dModel, context: forward.context, steps: s.bilmSteps, finalLoss: trained.bilmSummary.finalLoss,
      },
      layer: classifier.layer,
      reading: classifier.reading,
      threshold: classifier.threshold,
      vsSaeLabels: agreement(best.maxF1),
      vsGold: agreement(binaryMetrics(heldOut.scores, heldOut.labels, classifier.threshold)),
      vsGoldBestThreshold: { ...agreement(bestGold), threshold: bestGold.threshold },
    },
  };
}

/** Step 5: every training token scored by the classifier (score stage). */
async function scoreTraining(inputs: SaeChainInputs, classifierPath: string): Promise<{ values: Uint8Array; path: string }> {
  const scoresDir = join(inputs.out, 'scores');
  await runScore({ shards: [inputs.trainShard], classifier: classifierPath, out: scoresDir, signal: inputs.signal });
  const path = sideFilePathFor(join(scoresDir, 'train_000000.bin'), SideFileKind.ScoresUint8);
  const values = readSideFile(path, { expectKind: SideFileKind.ScoresUint8, expectTokens: inputs.train.tokens.length }).values as Uint8Array;
  return { values, path };
}

/** Classifier scores of every held-out document token and the gold medical label of each. */
async function scoreHeldOut(
  classifier: TokenClassifier, val: LabelledTokens, eotId: number, signal?: AbortSignal,
): Promise<{ scores: Float32Array; labels: Uint8Array }> {
  const docs = shardDocuments(val.tokens, eotId);
  const total = docs.reduce((a, d) => a + d.tokens.length, 0);
  const scores = new Float32Array(total);
  const labels = new Uint8Array(total);
  let at = 0;
  for (let first = 0; first < docs.length; first += 64) {
    const part = docs.slice(first, first + 64);
    const probabilities = await classifier.scoreDocuments(part.map((d) => d.tokens), { signal });
    part.forEach((d, k) => {
      scores.set(probabilities[k], at);
      for (let t = 0; t < d.tokens.length; t++) labels[at + t] = val.labels[d.start + t] === FORGET_LABEL ? 1 : 0;
      at += d.tokens.length;
    });
  }
  return { scores, labels };
}

/** Gold domain labels → 1 medical (forget), UNLABELLED kept, 0 otherwise. */
function forgetLabels(labels: Uint8Array): Uint8Array {
  return Uint8Array.from(labels, (l) => (l === FORGET_LABEL ? 1 : l === UNLABELLED ? UNLABELLED : 0));
}

/** Attention heads for a width: one per 32 channels, at most 4, and always a divisor of the width. */
export function headsForWidth(width: number): number {
  const heads = Math.min(4, Math.max(1, Math.floor(width / 32)));
  return width % heads === 0 ? heads : 1;
}

function agreement(m: BinaryMetrics): GoldAgreement {
  const tokens = m.truePositives + m.falsePositives + m.falseNegatives + m.trueNegatives;
  return {
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    flaggedFraction: m.flaggedFraction,
    goldFraction: tokens ? (m.truePositives + m.falseNegatives) / tokens : 0,
    tokens,
  };
}
