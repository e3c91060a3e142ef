/**
 * End-to-end classifier training from a labelled corpus: tokenizer → token shards per class →
 * domain-upsampled biLM pretraining (BatchSampler with weighted sources) → token probe with a
 * layer sweep → document probe. Two corpus kinds:
 * - `domains`: a folder `corpus/` of `<domain>.train.jsonl.gz` / `<domain>.val.jsonl.gz` files
 *   (as in ../shared/data); every token of a paragraph (or document) of the forget domain is
 *   labelled 1, every other token 0. With `probeData: 'spliced'` (the default) the token probe
 *   trains on documents spliced from paragraphs of all domains (see spliced_documents.ts), so it
 *   learns where one domain ends and another starts; its layer sweep reads spliced documents made
 *   from training documents held out of biLM pretraining and probe training. With `'windows'` it
 *   trains on one random window of single-domain documents (document labels broadcast to tokens);
 * - `wordnet`: the built-in default corpus, token labels from its gold sentence spans.
 *
 * Outputs, from the classifier path `P.safetensors`: `P.safetensors` (token classifier),
 * `P.bilm.safetensors`, `P.document.safetensors` (document classifier), `P.report.json`, and a
 * work folder `P.work/` (tokenizer, shards).
 * @module
 */
import { makeFolder } from '../data/output_path.js';
import { writeFileAtomic } from '../data/atomic_file.js';
import { join } from 'node:path';
import { loadDefaultCorpus } from '../data/default_corpus.js';
import { FORGET_FIRST } from '../data/domains.js';
import { readCorpusTexts } from '../data/corpus_layout.js';
import { writeShard } from '../data/shard.js';
import { Tokenizer } from '../data/tokenizer.js';
import { DocumentClassifier, type DocumentLayerResult, type LabelledDocument } from './document_classifier.js';
import { broadcastLabel, labelsFromSpans, type LabelledSequence } from './labels.js';
import { Random } from '../data/random.js';
import { windowOf } from './sampling.js';
import { BiLM } from './bilm.js';
import { sentenceMixesOf } from './sentence_mixes.js';
import { paragraphsOf, spliceDocuments } from './spliced_documents.js';
import { describeScoreMethod } from './score_method.js';
import { layerSetName, type LayerSet } from './layer_features.js';
import { DEFAULT_MIXTURE_SCALES } from './logit_mixture.js';
import { TokenClassifier, type LayerResult, type ValidationSet } from './token_classifier.js';
import { describeLayer, trainBiLMProbe, type BiLMProbeOptions, type BiLMProbeResult } from './train_bilm_probe.js';
import { CodedRangeError, CodedTypeError, TokenfilterError } from '../errors.js';
import type { Reading } from './reading.js';
import { checkLexiconBits, Lexicon, type LexiconFit } from './lexicon.js';
import { checkBlendObjective, type BlendObjective } from './blend_selection.js';

/**
 * Options of {@link trainClassifierFromCorpus}. The biLM's shape and training, the probe's fit
 * (`maxTrainTokens`, `l2`, `sweepLayers`), `seed`, `onLog` and `signal` mean what they mean in
 * {@link BiLMProbeOptions} (`steps` per direction).
 */
export interface CorpusClassifierOptions
  extends Pick<BiLMProbeOptions, 'dModel' | 'layers' | 'heads' | 'context' | 'batch' | 'steps' | 'lr' | 'maxTrainTokens' | 'l2' | 'sweepLayers' | 'reading' | 'seed' | 'onLog' | 'signal'> {
  /** `domains` (a data folder with corpus/*.jsonl.gz) or `wordnet` (the built-in corpus). */
  corpus: 'domains' | 'wordnet';
  /** Data folder for `domains` (holding `corpus/`). */
  data?: string;
  /** The forget domain (default 'medical'). */
  forget?: string;
  /** Output path of the token classifier (`.safetensors`). */
  out: string;
  /** Characters per domain read for biLM pretraining (`domains` only). */
  charsPerDomain: number;
  vocabSize: number;
  /** Share of pretraining windows drawn from the forget domain (the rest from the others, equally). */
  forgetWeight: number;
  /** Documents per domain (train) for the probes, and tokens read per document (a random window). */
  probeDocuments: number;
  probeTokensPerDocument: number;
  /** Validation documents per domain for the layer sweep. */
  valDocuments: number;
  /**
   * `domains` only: what the token probe trains on: `spliced` documents of paragraphs from all
   * domains (default) or single-domain `windows`.
   */
  probeData?: 'spliced' | 'windows';
  /**
   * `domains` with spliced probe data: sentence-level mixes (forget-domain sentences inside other
   * domains' paragraphs, sentence_mixes.ts) per domain, as many as spliced documents, added to
   * the probe's training data and made a second validation kind beside the paragraph mixes
   * (default true). Layer, method and threshold are chosen on the blend of both kinds.
   */
  sentenceMixes?: boolean;
  /** Also try two-state segmentations of the probe's scores (default true; see segmentation.ts). */
  segmentation?: boolean;
  /** Logit-mixture scales tried for every two single layers of the sweep (default none; see logit_mixture.ts). */
  mixtures?: number[];
  /**
   * A biLM this pipeline made before with the same corpus options and seed (so the same held-out
   * split and tokenizer): reused, skipping tokenizer training and pretraining; only the probes
   * are trained. The classifier refers to this file.
   */
  bilm?: string;
  /** Smoothing radii tried with the token probe (see TokenClassifier.train; default its own). */
  smoothing?: number[];
  /**
   * Fit a lexicon (lexicon.ts: hashed words, word pairs, number shapes and punctuation, a logistic model of sentences) and try
   * it beside every probe of the sweep, chosen on the blend like any entry (default false; the
   * `default` preset turns it on). It is fitted on the training documents' labels (never the
   * held-out ones the choices are made on); with `relabel`, on the relabelled probe data instead.
   */
  lexicon?: boolean;
  /**
   * `domains`: characters per domain of the training split the lexicon reads, when more than
   * `charsPerDomain` (default: the biLM's sample); the held-out documents are left out either way.
   */
  lexiconChars?: number;
  /**
   * What the blend of held-out kinds maximises (blend_selection.ts): the mean F1 over the kinds
   * (default), or the F1 of the worst kind (the `default` preset: every kind must reach the target).
   */
  blendObjective?: BlendObjective;
  /**
   * `domains` with sentence mixes: held-out sentence-level mixes the choices are made on (default
   * `valDocuments` × domains, as many as the paragraph mixes), built from the same held-out documents.
   */
  heldOutSentenceMixes?: number;
  /** log2 of the lexicon's hashed buckets, 8 … 26 (default 20: 4 MiB of weights; the `default` preset 21: 8 MiB). */
  lexiconBits?: number;
  /** Train a document classifier too (at the token classifier's layer). */
  documentClassifier: boolean;
  /** Also sweep a forward-only probe on the same data (the unidirectional baseline), recorded in the report. */
  compareUnidirectional?: boolean;
  /**
   * Spliced probe data: replaces the gold labels of the token probe's training sequences and
   * validation kinds before the probe is fitted (e.g. with an SAE labeller's weak labels, the
   * paper's route); must return the same tokens. The probe and its choices then see only these
   * labels. The document probe keeps its document labels.
   */
  relabel?: (data: { tokenTrain: readonly LabelledSequence[]; valSets: readonly ValidationSet[] }) => Promise<{ tokenTrain: LabelledSequence[]; valSets: ValidationSet[] }>;
}

const SHARED = { forget: 'medical', lr: 3e-3, forgetWeight: 0.5, l2: 1e-3, seed: 1, documentClassifier: true, compareUnidirectional: false };

/**
 * Named presets: `default` for ../shared/data (8,000 biLM steps per direction, 16.4M tokens in
 * all; re-measured at 802 s wall, 1,194 s of user CPU on two idle cores, see docs/classifier.md; the biLM reads
 * each sentence alone for the token probe (`reading: 'sentence'`, which won the held-out blend on
 * both biLMs measured), and the probe reads layer 0, layer 2, or a logit mixture of the two; a
 * lexicon with style features (2^21 buckets) fitted on the whole training split is tried beside
 * each (lexicon.ts), the choice on the worst of the validation kinds (180 paragraph and 540
 * sentence mixes): the measured frontier), `wordnet` for the built-in corpus (≈ 2–3 min; window reading).
 */
export const CLASSIFIER_PRESETS: Readonly<Record<'default' | 'wordnet', Readonly<Omit<CorpusClassifierOptions, 'out' | 'data' | 'onLog' | 'signal'>>>> = Object.freeze({
  default: Object.freeze({
    ...SHARED, corpus: 'domains', charsPerDomain: 12_000_000, vocabSize: 2048, dModel: 128, layers: 2, heads: 2, context: 128,
    batch: 8, steps: 8000, lr: 5e-3, probeDocuments: 150, probeTokensPerDocument: 128, valDocuments: 60, maxTrainTokens: 100_000,
    sweepLayers: [0, 2], mixtures: [...DEFAULT_MIXTURE_SCALES], reading: 'sentence', lexicon: true, lexiconChars: 100_000_000, lexiconBits: 21,
    blendObjective: 'worst', heldOutSentenceMixes: 540,
  }),
  wordnet: Object.freeze({
    ...SHARED, corpus: 'wordnet', charsPerDomain: 0, vocabSize: 2048, dModel: 64, layers: 2, heads: 2, context: 64,
    batch: 8, steps: 600, lr: 5e-3, probeDocuments: 400, probeTokensPerDocument: 64, valDocuments: 150, maxTrainTokens: 30_000,
  }),
});

/** What {@link trainClassifierFromCorpus} produced. */
export interface CorpusClassifierReport {
  /** The options, `relabel` recorded as whether one was given. */
  options: Omit<CorpusClassifierOptions, 'onLog' | 'signal' | 'relabel'> & { relabel?: boolean };
  files: { tokenClassifier: string; bilm: string; documentClassifier: string | null; report: string };
  tokenizer: { vocabSize: number; hash: string };
  /** The biLM: pretrained here (tokens per direction, final losses, seconds), or loaded from `options.bilm` (its path; nothing trained). */
  bilm:
    | { source: 'pretrained'; parametersPerDirection: number; nonEmbeddingPerDirection: number; trainTokensPerDirection: number; finalLoss: { forward: number | null; backward: number }; seconds: number }
    | { source: 'loaded'; path: string; parametersPerDirection: number; nonEmbeddingPerDirection: number };
  tokenSweep: LayerResult[];
  /** The forward-only probe's sweep on the same data, when asked for. */
  unidirectionalSweep: LayerResult[] | null;
  /** The deepest layer the token probe reads. */
  tokenLayer: number;
  /** Every layer the token probe reads (features concatenated). */
  tokenLayers: LayerSet;
  tokenThreshold: number;
  /** Smoothing radius the token classifier keeps (0 = none). */
  tokenSmoothing: number;
  /** The scoring method the token classifier keeps, and its F1 on each validation kind at its threshold. */
  tokenScoring: string;
  /** How the token classifier's biLM reads documents (reading.ts). */
  tokenReading: Reading;
  /** The lexicon fitted (null without one): what it read, and the share of the probe's logit kept beside it (null: the probe alone won). */
  tokenLexicon: { fit: LexiconFit; probeWeight: number | null } | null;
  tokenKinds: { name: string; precision: number; recall: number; f1: number }[];
  documentSweep: DocumentLayerResult[] | null;
  seconds: number;
}

interface Doc { text: string; domain: string; spans?: [number, number, string][] }

/** Every document of each domain file of a split, one list per domain (in FORGET_FIRST order). */
async function readDomainDocs(data: string, split: 'train' | 'val'): Promise<Doc[][]> {
  const out: Doc[][] = [];
  for (const domain of FORGET_FIRST) out.push((await readCorpusTexts(data, domain, split)).map((text) => ({ text, domain })));
  return out;
}

/** Up to `chars` characters of random documents of each domain. */
function sampleDomains(byDomain: readonly (readonly Doc[])[], chars: number, random: Random): Doc[] {
  const out: Doc[] = [];
  for (const docs of byDomain) {
    let total = 0;
    for (const d of random.shuffle(docs)) {
      if (total >= chars) break;
      out.push(d);
      total += d.text.length;
    }
  }
  return out;
}

/** Up to `n` sequences of each domain. */
function perDomain<T extends { domain: string }>(items: readonly T[], n: number, random: Random): T[] {
  const out: T[] = [];
  for (const domain of new Set(items.map((i) => i.domain))) out.push(...random.shuffle(items.filter((i) => i.domain === domain)).slice(0, n));
  return out;
}

/** The corpus read for a run: training documents, validation documents, and training documents held out for the probe's choices. */
async function readCorpus(
  o: CorpusClassifierOptions, probeData: 'spliced' | 'windows', random: Random,
): Promise<{ train: Doc[]; val: Doc[]; heldOut: Doc[]; allTrain: Doc[][] | null }> {
  if (o.corpus === 'wordnet') {
    const corpus = loadDefaultCorpus({ seed: o.seed });
    const asDoc = (d: Doc) => ({ text: d.text, domain: d.domain, spans: d.spans });
    return { train: corpus.train.map(asDoc), val: corpus.val.map(asDoc), heldOut: [], allTrain: null };
  }
  if (!o.data) throw new CodedTypeError('the domains corpus needs a data folder');
  const allTrain = await readDomainDocs(o.data, 'train');
  let train = sampleDomains(allTrain, o.charsPerDomain, random);
  const val = sampleDomains(await readDomainDocs(o.data, 'val'), Number.POSITIVE_INFINITY, random);
  // spliced probe data: the layer sweep reads training documents held out of everything else
  let heldOut: Doc[] = [];
  if (probeData === 'spliced') {
    heldOut = perDomain(train, o.valDocuments, random);
    const held = new Set(heldOut);
    train = train.filter((d) => !held.has(d));
  }
  return { train, val, heldOut, allTrain };
}

/** The tokenizer: trained on the training text, or the one of a given biLM (which is loaded). */
async function tokenizerFor(o: CorpusClassifierOptions, train: readonly Doc[], work: string): Promise<{ tokenizer: Tokenizer; bilm: BiLM | null }> {
  const bilm = o.bilm ? await BiLM.load(o.bilm) : null;
  const tokenizer = bilm?.tokenizer ?? (await Tokenizer.train(train.map((d) => d.text), { vocabSize: o.vocabSize, maxChars: 4_000_000, signal: o.signal }));
  await tokenizer.save(join(work, 'tokenizer.json'));
  return { tokenizer, bilm };
}

/**
 * The token probe's data with spliced paragraphs: paragraph mixes of every domain and, unless
 * `sentenceMixes` is false, sentence-level mixes, for training (from `train`) and as validation
 * kinds (from `heldOut`).
 */
function splicedProbeData(
  o: CorpusClassifierOptions, tokenizer: Tokenizer, train: readonly Doc[], heldOut: readonly Doc[], random: Random,
): { tokenTrain: LabelledSequence[]; valSets: ValidationSet[] } {
  const forget = o.forget ?? 'medical';
  const byDomain = (docs: readonly Doc[]) => {
    const out: Record<string, string[]> = {};
    for (const d of docs) (out[d.domain] ??= []).push(d.text);
    return out;
  };
  const splice = (docs: readonly Doc[], count: number) => {
    const pools: Record<string, string[]> = {};
    for (const [domain, texts] of Object.entries(byDomain(docs))) pools[domain] = random.shuffle(texts.flatMap((t) => paragraphsOf(t)));
    const weights = Object.fromEntries(Object.keys(pools).map((domain) => [domain, 1]));
    return spliceDocuments(pools, { count, weights, random }).map((d) => labelsFromSpans(tokenizer, d.text, d.spans, forget));
  };
  const domains = new Set(train.map((d) => d.domain)).size;
  const tokenTrain = splice(train, o.probeDocuments * domains);
  const valSets: ValidationSet[] = [{ name: 'paragraph', sequences: splice(heldOut, o.valDocuments * domains) }];
  if (o.sentenceMixes ?? true) {
    // a generator of its own, so the paragraph mixes are the same with and without sentence mixes
    const mixRandom = new Random(o.seed + 7919);
    const mix = (docs: readonly Doc[], count: number) =>
      sentenceMixesOf(byDomain(docs), forget, { count, random: mixRandom }).map((d) => labelsFromSpans(tokenizer, d.text, d.spans, forget));
    tokenTrain.push(...mix(train, o.probeDocuments * domains));
    valSets.push({ name: 'sentence', sequences: mix(heldOut, o.heldOutSentenceMixes ?? o.valDocuments * domains) });
  }
  return { tokenTrain, valSets };
}

/** Pretraining shards of the forget domain and of the rest, documents joined by end-of-text. */
async function writeShards(tokenizer: Tokenizer, seqs: readonly { tokens: Uint32Array; domain: string }[], forget: string, work: string): Promise<[string, string]> {
  const shardOf = async (name: string, part: readonly { tokens: Uint32Array }[]) => {
    const total = part.reduce((n, s) => n + s.tokens.length + 1, 0);
    const tokens = new Uint32Array(total);
    let at = 0;
    for (const s of part) {
      tokens[at++] = tokenizer.eotId;
      tokens.set(s.tokens, at);
      at += s.tokens.length;
    }
    const path = join(work, `${name}.bin`);
    await writeShard(path, tokens, { tokenizer });
    return path;
  };
  return [await shardOf('forget', seqs.filter((s) => s.domain === forget)), await shardOf('other', seqs.filter((s) => s.domain !== forget))];
}

/** The probe data with the labels of `relabel`, checked to keep every sequence's tokens. */
async function relabelled(
  relabel: NonNullable<CorpusClassifierOptions['relabel']>, tokenTrain: LabelledSequence[], valSets: ValidationSet[],
): Promise<{ tokenTrain: LabelledSequence[]; valSets: ValidationSet[] }> {
  const out = await relabel({ tokenTrain, valSets });
  const same = (a: readonly LabelledSequence[], b: readonly LabelledSequence[]) =>
    a.length === b.length && a.every((s, i) => s.tokens.length === b[i].tokens.length && s.labels.length === s.tokens.length && s.tokens.every((t, j) => t === b[i].tokens[j]));
  if (!same(out.tokenTrain, tokenTrain) || out.valSets.length !== valSets.length || out.valSets.some((v, k) => v.name !== valSets[k].name || !same(v.sequences, valSets[k].sequences)))
    throw new TokenfilterError('E_OPTION', 'relabel must return the same sequences (tokens) and validation kinds it was given, with one label per token');
  return out;
}

/**
 * The lexicon's text: the training sample, or with `lexiconChars` above `charsPerDomain` that much
 * of the training split (`allTrain`, as read), documents with a held-out document's text left out.
 * Documents of the sample keep the sequences they were encoded to.
 */
function lexiconText(
  o: CorpusClassifierOptions, corpus: { train: readonly Doc[]; heldOut: readonly Doc[]; allTrain: readonly Doc[][] | null },
  trainSeqs: readonly LabelledSequence[], label: (d: Doc) => LabelledSequence,
): readonly LabelledSequence[] {
  if (!corpus.allTrain || !(o.lexiconChars! > o.charsPerDomain)) return trainSeqs;
  const held = new Set(corpus.heldOut.map((d) => d.text));
  const encoded = new Map(corpus.train.map((d, i) => [d, trainSeqs[i]]));
  const docs = sampleDomains(corpus.allTrain, o.lexiconChars!, new Random(o.seed + 104_729));
  return docs.filter((d) => !held.has(d.text)).map((d) => encoded.get(d) ?? label(d));
}

/** The lexicon of a run, fitted on `sequences` (lexicon.ts), with a line per pass. */
async function fitCorpusLexicon(sequences: readonly LabelledSequence[], tokenizer: Tokenizer, o: CorpusClassifierOptions, log: (line: string) => void): Promise<Lexicon> {
  const started = performance.now();
  const lexicon = await Lexicon.fit(sequences, tokenizer, {
    bits: o.lexiconBits, seed: o.seed, signal: o.signal, onEpoch: (epoch, loss) => log(`lexicon: pass ${epoch + 1}, loss ${loss.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(1)} s)`),
  });
  log(`lexicon: ${lexicon.fit!.sentences} sentences (${lexicon.fit!.positiveSentences} ${o.forget ?? 'medical'}), 2^${lexicon.bits} buckets`);
  return lexicon;
}

/** Trains a biLM, a token classifier and a document classifier; see the module comment. */
export async function trainClassifierFromCorpus(options: CorpusClassifierOptions): Promise<CorpusClassifierReport> {
  const o = options;
  if (o.lexiconBits !== undefined) checkLexiconBits(o.lexiconBits, 'lexiconBits');
  if (o.heldOutSentenceMixes !== undefined && !(Number.isInteger(o.heldOutSentenceMixes) && o.heldOutSentenceMixes >= 1))
    throw new CodedRangeError(`heldOutSentenceMixes must be a positive integer, got ${o.heldOutSentenceMixes}`);
  checkBlendObjective(o.blendObjective ?? 'mean');
  const log = o.onLog ?? (() => {});
  const started = performance.now();
  const forget = o.forget ?? 'medical';
  const stemPath = o.out.endsWith('.safetensors') ? o.out.slice(0, -'.safetensors'.length) : o.out;
  const work = `${stemPath}.work`;
  await makeFolder(work);
  const random = new Random(o.seed);
  const probeData = o.corpus === 'domains' ? o.probeData ?? 'spliced' : 'windows';
  const corpus = await readCorpus(o, probeData, random);
  const { train, val, heldOut } = corpus;
  log(`corpus: ${train.length} train / ${val.length} val documents`);
  const { tokenizer, bilm: given } = await tokenizerFor(o, train, work);
  log(`tokenizer: ${tokenizer.vocabSize} tokens${given ? ` (of ${o.bilm})` : ''}`);

  const label = (d: Doc): LabelledSequence =>
    d.spans ? labelsFromSpans(tokenizer, d.text, d.spans, forget) : broadcastLabel(tokenizer.encode(d.text), d.domain === forget ? 1 : 0);
  const trainSeqs = train.map((d) => ({ ...label(d), domain: d.domain }));
  const valSeqs = val.map((d) => ({ ...label(d), domain: d.domain }));
  const [forgetShard, otherShard] = given ? ['', ''] : await writeShards(tokenizer, trainSeqs, forget, work);
  const bilmPath = o.bilm ?? `${stemPath}.bilm.safetensors`;
  const probeTrain = perDomain(trainSeqs, o.probeDocuments, random).map((s) => windowOf(s, o.probeTokensPerDocument, random));
  const probeVal = perDomain(valSeqs, o.valDocuments, random).map((s) => windowOf(s, o.probeTokensPerDocument, random));
  let tokenTrain: LabelledSequence[] = probeTrain;
  let valSets: ValidationSet[] = [{ name: 'validation', sequences: probeVal }];
  if (probeData === 'spliced') {
    ({ tokenTrain, valSets } = splicedProbeData(o, tokenizer, train, heldOut, random));
    log(`probe data: ${tokenTrain.length} training documents; validation ${valSets.map((v) => `${v.sequences.length} ${v.name}`).join(', ')} (held out)`);
    if (o.relabel) ({ tokenTrain, valSets } = await relabelled(o.relabel, tokenTrain, valSets));
  }
  const lexicon = o.lexicon ? await fitCorpusLexicon(o.relabel ? tokenTrain : lexiconText(o, corpus, trainSeqs, label), tokenizer, o, log) : undefined;
  const { bilm, classifier, sweep, bilmSummary } = await trainBiLMProbe({
    tokenizer, bilm: given ?? undefined,
    sources: [{ shards: [forgetShard], weight: o.forgetWeight, name: forget }, { shards: [otherShard], weight: 1 - o.forgetWeight, name: 'other' }],
    bilmPath, dModel: o.dModel, layers: o.layers, heads: o.heads, context: o.context, batch: o.batch, steps: o.steps, lr: o.lr,
    probeTrain: tokenTrain, probeVal: [], probeValSets: valSets, sweepLayers: o.sweepLayers, maxTrainTokens: o.maxTrainTokens, l2: o.l2,
    smoothing: o.smoothing, segmentation: o.segmentation ?? true, mixtures: o.mixtures, reading: o.reading, seed: o.seed, onLog: log, signal: o.signal, lexicon, blendObjective: o.blendObjective,
  });
  await classifier.save(o.out);
  log(`token classifier: layer ${layerSetName(classifier.layers)}, ${classifier.reading} reading, threshold ${classifier.threshold.toFixed(3)}, ${describeScoreMethod(classifier.method)} → ${o.out}`);

  let unidirectionalSweep: LayerResult[] | null = null;
  if (o.compareUnidirectional) {
    ({ sweep: unidirectionalSweep } = await TokenClassifier.train({
      bilm, bilmPath, train: tokenTrain, valSets, layers: o.sweepLayers, maxTrainTokens: o.maxTrainTokens, seed: o.seed,
      logistic: { l2: o.l2 }, smoothing: o.smoothing, segmentation: o.segmentation ?? true, reading: o.reading, signal: o.signal, direction: 'forward',
      onLayer: (r) => log(`forward-only probe ${describeLayer(r)}`),
    }));
  }
  const document = o.documentClassifier ? await trainDocumentProbe(o, bilm, bilmPath, classifier.layer, probeTrain, probeVal, stemPath, log) : null;
  const reportPath = `${stemPath}.report.json`;
  const { onLog: _l, signal: _s, relabel, ...recorded } = o;
  const chosen = (classifier.report as { chosen: { kinds: CorpusClassifierReport['tokenKinds'] } }).chosen;
  const report: CorpusClassifierReport = {
    options: { ...recorded, ...(relabel ? { relabel: true } : {}) },
    files: { tokenClassifier: o.out, bilm: bilmPath, documentClassifier: document?.path ?? null, report: reportPath },
    tokenizer: { vocabSize: tokenizer.vocabSize, hash: tokenizer.hash },
    bilm: bilmReport(bilmSummary, bilmPath),
    tokenSweep: sweep,
    unidirectionalSweep,
    tokenLayer: classifier.layer,
    tokenLayers: classifier.layers,
    tokenThreshold: classifier.threshold,
    tokenSmoothing: classifier.smoothing,
    tokenScoring: describeScoreMethod(classifier.method),
    tokenReading: classifier.reading,
    tokenLexicon: lexicon ? { fit: lexicon.fit!, probeWeight: classifier.lexicon?.probeWeight ?? null } : null,
    tokenKinds: chosen.kinds.map((k) => ({ name: k.name, precision: k.precision, recall: k.recall, f1: k.f1 })),
    documentSweep: document?.sweep ?? null,
    seconds: (performance.now() - started) / 1000,
  };
  await writeFileAtomic(reportPath, JSON.stringify(report, null, 2) + '\n');
  return report;
}

/** The report's biLM entry: what pretraining did, or only the file loaded when nothing was trained. */
function bilmReport(s: BiLMProbeResult['bilmSummary'], path: string): CorpusClassifierReport['bilm'] {
  const { pretrained, ...rest } = s;
  if (pretrained) return { source: 'pretrained', ...rest };
  return { source: 'loaded', path, parametersPerDirection: s.parametersPerDirection, nonEmbeddingPerDirection: s.nonEmbeddingPerDirection };
}

/** The document probe at the token classifier's layer, saved beside it. */
async function trainDocumentProbe(
  o: CorpusClassifierOptions, bilm: BiLM, bilmPath: string, layer: number, probeTrain: readonly (LabelledSequence & { domain: string })[],
  probeVal: readonly (LabelledSequence & { domain: string })[], stemPath: string, log: (line: string) => void,
): Promise<{ path: string; sweep: DocumentLayerResult[] }> {
  const forget = o.forget ?? 'medical';
  const asDocument = (s: { tokens: Uint32Array; domain: string }): LabelledDocument => ({ tokens: s.tokens, label: s.domain === forget ? 1 : 0 });
  const trained = await DocumentClassifier.train({
    bilm, bilmPath, train: probeTrain.map(asDocument), val: probeVal.map(asDocument), layers: [layer], logistic: { l2: o.l2 }, signal: o.signal,
    onLayer: (r) => log(`document probe layer ${r.layer}: val F1 ${r.maxF1.f1.toFixed(4)} (F1 ${r.atHalf.f1.toFixed(4)} at 0.5)`),
  });
  const path = `${stemPath}.document.safetensors`;
  await trained.classifier.save(path);
  return { path, sweep: trained.sweep };
}
