/**
 * The token streams of the mixture study: one training shard per domain (sampled at the share
 * each run asks for), held-out text per domain for losses, and held-out sentence-level mixed
 * documents (medical sentences inside general and biology paragraphs, gold spans) for the probes.
 * Every held-out stream comes from the val splits; nothing of them is trained on.
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { throwIfAborted } from '../../abort.js';
import { Random } from '../../data/random.js';
import { sentenceMixesOf } from '../../classify/sentence_mixes.js';
import { makeFolder } from '../../data/output_path.js';
import { readCorpusTexts } from '../../data/corpus_layout.js';
import { readShard, writeShard } from '../../data/shard.js';
import type { Tokenizer } from '../../data/tokenizer.js';
import type { LabelledTokens } from '../../eval/domain_loss.js';
import { joinDocuments, spanTokenLabels, type DocumentTokens } from '../../stages/tokenize.js';
import { CodedRangeError } from '../../errors.js';
import { DOMAINS, UNLABELLED } from '../../data/domains.js';

/** A domain of the study (label value = index in {@link DOMAINS}). */
export type Domain = (typeof DOMAINS)[number];

/** Options of {@link buildMixtureCorpus}. */
export interface MixtureCorpusOptions {
  /** Data folder holding `corpus/<domain>.{train,val}.jsonl.gz`. */
  data: string;
  /** Folder for the training shards. */
  out: string;
  /** Training tokens per domain at most (whole documents; the sampler draws from these). */
  trainTokensPerDomain: number;
  /** Held-out tokens per domain for the losses. */
  valTokensPerDomain: number;
  /** Held-out mixed documents for the probes. */
  probeDocuments: number;
  seed: number;
  signal?: AbortSignal;
}

/** The streams. */
export interface MixtureCorpus {
  /** One shard per domain holding all its training documents. */
  trainShards: Record<Domain, string>;
  trainTokens: Record<Domain, number>;
  /** Held-out text of every domain, labelled by domain (separators {@link UNLABELLED}). */
  val: LabelledTokens;
  /** Held-out mixed documents: label 1 = inside a medical sentence, 0 = not, UNLABELLED = separator. */
  probe: LabelledTokens;
}

/** Documents → one stream, `<|endoftext|>` before each, every token labelled `label`; stops at the first document past `limit` tokens. */
async function encodeAll(tokenizer: Tokenizer, docs: readonly string[], label: number, limit: number): Promise<LabelledTokens> {
  const parts: DocumentTokens[] = [];
  let total = 0;
  for (let start = 0; start < docs.length && total < limit; start += 1024) {
    for (const ids of await tokenizer.encodeBatch(docs.slice(start, start + 1024))) {
      if (total >= limit) break;
      parts.push({ ids, labels: label });
      total += ids.length + 1;
    }
  }
  return joinDocuments(parts, { eotId: tokenizer.eotId, separator: 'before', separatorLabel: UNLABELLED });
}

/** Sentence-level mixes of the val splits, tokenized, labelled 1 inside medical sentences. */
async function probeStream(tokenizer: Tokenizer, val: Record<Domain, string[]>, count: number, seed: number): Promise<LabelledTokens> {
  const docs = sentenceMixesOf(val, 'medical', { count, random: new Random(seed) });
  return joinDocuments(docs.map((doc) => spanTokenLabels(tokenizer, doc, ['other', 'medical'])), { eotId: tokenizer.eotId, separator: 'before', separatorLabel: UNLABELLED });
}

/**
 * Builds (or reuses, when the shards exist) the training shards and builds the held-out streams.
 * @throws as the corpus readers for missing or malformed files; AbortError.
 */
export async function buildMixtureCorpus(tokenizer: Tokenizer, options: MixtureCorpusOptions): Promise<MixtureCorpus> {
  await makeFolder(options.out, 'corpus folder');
  const trainShards = {} as Record<Domain, string>;
  const trainTokens = {} as Record<Domain, number>;
  const val = {} as Record<Domain, string[]>;
  const valParts: { tokens: Uint32Array; labels: Uint8Array }[] = [];
  for (const [label, domain] of DOMAINS.entries()) {
    throwIfAborted(options.signal, 'mixture corpus');
    const path = join(options.out, `train-${domain}.bin`);
    if (!existsSync(path)) {
      const { tokens } = await encodeAll(tokenizer, await readCorpusTexts(options.data, domain, 'train', options.signal), label, options.trainTokensPerDomain);
      await writeShard(path, tokens, { tokenizer });
    }
    trainShards[domain] = path;
    trainTokens[domain] = readShard(path).tokens.length;
    val[domain] = await readCorpusTexts(options.data, domain, 'val', options.signal);
    const held = await encodeAll(tokenizer, val[domain], label, options.valTokensPerDomain);
    valParts.push(held);
  }
  const probe = await probeStream(tokenizer, val, options.probeDocuments, options.seed);
  const valStream = { tokens: new Uint32Array(valParts.reduce((n, p) => n + p.tokens.length, 0)), labels: new Uint8Array(0) };
  valStream.labels = new Uint8Array(valStream.tokens.length);
  let at = 0;
  for (const part of valParts) {
    valStream.tokens.set(part.tokens, at);
    valStream.labels.set(part.labels, at);
    at += part.tokens.length;
  }
  return { trainShards, trainTokens, val: valStream, probe };
}

/**
 * Sampler source weights for a medical share: medical gets `share`, general and biology split
 * the rest in the proportion of their training tokens (the same between every share).
 * @throws RangeError unless 0 ≤ share < 1.
 */
export function shareWeights(share: number, trainTokens: Record<Domain, number>): Record<Domain, number> {
  if (!(share >= 0 && share < 1)) throw new CodedRangeError(`share must be in [0, 1), got ${share}`);
  const retain = trainTokens.general + trainTokens.biology;
  return {
    general: ((1 - share) * trainTokens.general) / retain,
    biology: ((1 - share) * trainTokens.biology) / retain,
    medical: share,
  };
}
