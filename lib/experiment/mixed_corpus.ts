/**
 * The experiment's web-like training stream (`--stream mixed`): general and biology documents
 * with medical sentences and paragraphs set inside them (web_documents.ts), tokenized into one
 * training shard whose label side file gives every token the domain of the piece it lies in
 * (gold, from exact character spans; for grading only, never for filtering).
 *
 * Beside it: the held-out streams. `val.bin` is pure text of each domain from the val splits,
 * as for the documents stream; `val_mixed.bin` is mixed documents built the same way from the
 * val splits only, so held-out loss can be split by each target token's gold span. No text of a
 * val split reaches the training stream.
 * @module
 */
import { join } from 'node:path';
import { makeFolder } from '../data/output_path.js';
import { readCorpusTexts, type CorpusSplit } from '../data/corpus_layout.js';
import { spanLabelsToTokenLabels } from '../data/span_labels.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { Random } from '../data/random.js';
import { webDocuments, type HostDocument, type WebDocument, type WebDocumentOptions } from '../classify/web_documents.js';
import { joinDocuments, writeLabelledShard } from '../stages/tokenize.js';
import { EXPERIMENT_JOIN, buildValStream, writeTrainStream, type DomainCorpus, type DomainCorpusOptions } from './domain_corpus.js';
import { DOMAINS, FORGET_LABEL } from '../data/domains.js';

/** Options of {@link buildMixedCorpus}. */
export interface MixedCorpusOptions extends DomainCorpusOptions {
  /** Tokens of held-out mixed documents (default 150,000). */
  valMixedTokens?: number;
  /** Rates and piece sizes of the mixed documents (web_documents.ts defaults). */
  mixing?: Omit<WebDocumentOptions, 'random' | 'label'>;
}

/** How the forget domain is spread over the training documents. */
export interface MixingStats {
  /** Training documents by their share of forget-domain tokens: none, under 15%, 15–50%, 50% and more. */
  documentsByShare: { none: number; under15: number; from15to50: number; atLeast50: number };
  /** Share of forget-domain tokens that sit in documents under 50% forget-domain. */
  forgetInMostlyRetain: number;
}

/** The built streams: those of a {@link DomainCorpus} plus the held-out mixed documents. */
export interface MixedCorpus extends DomainCorpus {
  /** Held-out mixed documents, labelled per token with the domain of its gold span. */
  valMixed: string;
  valMixedTokens: number;
  mixing: MixingStats;
}

/** Reads the split's documents of each domain. */
async function readSplit(data: string, split: CorpusSplit): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const name of DOMAINS) out[name] = await readCorpusTexts(data, name, split);
  return out;
}

/** A mixed document's tokens and per-token domain labels (forget where a token lies mostly in a forget span, else the host's domain). */
export function labelWebDocument(tokenizer: Tokenizer, doc: WebDocument): { ids: Uint32Array; labels: Uint8Array } {
  const { ids, offsets } = tokenizer.encodeWithOffsets(doc.text);
  const forgetName = DOMAINS[FORGET_LABEL];
  const forget = spanLabelsToTokenLabels(offsets, doc.spans, { label: forgetName });
  const host = DOMAINS.indexOf(doc.host as (typeof DOMAINS)[number]);
  const labels = Uint8Array.from(forget, (f) => (f ? FORGET_LABEL : host));
  return { ids, labels };
}

/**
 * Tokenizes mixed documents of one split until `budget` tokens (each document plus its
 * separator), with the mixing statistics of what was kept.
 */
async function mixedStream(
  tokenizer: Tokenizer, texts: Record<string, string[]>, budget: number, seed: number, mixing: MixedCorpusOptions['mixing'], signal?: AbortSignal,
): Promise<{ tokens: Uint32Array; labels: Uint8Array; documents: number; stats: MixingStats }> {
  const random = new Random(seed);
  const forgetName = DOMAINS[FORGET_LABEL];
  const hosts: HostDocument[] = random.shuffle(
    DOMAINS.filter((d) => d !== forgetName).flatMap((domain) => texts[domain].map((text) => ({ text, domain }))),
  );
  const docs: Uint32Array[] = [];
  const labels: Uint8Array[] = [];
  const byShare = { none: 0, under15: 0, from15to50: 0, atLeast50: 0 };
  let forgetTokens = 0;
  let forgetInMostlyRetain = 0;
  let total = 0;
  for (const doc of webDocuments(hosts, random.shuffle(texts[forgetName]), { ...mixing, label: forgetName, random })) {
    if (total >= budget) break;
    if (signal?.aborted) throw signal.reason;
    const { ids, labels: l } = labelWebDocument(tokenizer, doc);
    if (ids.length === 0) continue;
    const forget = l.reduce((n, x) => n + (x === FORGET_LABEL ? 1 : 0), 0);
    const share = forget / ids.length;
    if (share === 0) byShare.none++;
    else if (share < 0.15) byShare.under15++;
    else if (share < 0.5) byShare.from15to50++;
    else byShare.atLeast50++;
    forgetTokens += forget;
    if (share < 0.5) forgetInMostlyRetain += forget;
    docs.push(ids);
    labels.push(l);
    total += ids.length + 1;
  }
  const stream = joinDocuments(docs.map((ids, i) => ({ ids, labels: labels[i] })), EXPERIMENT_JOIN(tokenizer));
  return { ...stream, documents: docs.length, stats: { documentsByShare: byShare, forgetInMostlyRetain: forgetTokens > 0 ? forgetInMostlyRetain / forgetTokens : 0 } };
}

/** Builds the mixed training stream, the pure held-out stream and the held-out mixed documents. */
export async function buildMixedCorpus(tokenizer: Tokenizer, options: MixedCorpusOptions): Promise<MixedCorpus> {
  await makeFolder(options.out);
  const val = await buildValStream(tokenizer, options);
  const valTexts = await readSplit(options.data, 'val');
  const valMixed = await mixedStream(tokenizer, valTexts, options.valMixedTokens ?? 150_000, options.seed + 7919, options.mixing, options.signal);
  const valMixedPath = join(options.out, 'val_mixed.bin');
  await writeLabelledShard(valMixedPath, valMixed, tokenizer);
  const train = await mixedStream(tokenizer, await readSplit(options.data, 'train'), options.trainTokens, options.seed, options.mixing, options.signal);
  return {
    ...(await writeTrainStream('mixed', train, val, tokenizer, options.out)),
    valMixed: valMixedPath,
    valMixedTokens: valMixed.tokens.length,
    mixing: train.stats,
  };
}
