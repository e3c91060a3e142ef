/**
 * The experiment's token streams: documents of a data folder's domain files
 * (`corpus/<domain>.<split>.jsonl.gz`, see corpus_layout.ts), tokenized into one training shard and one held-out
 * shard, each with a label side file that gives every token its document's domain.
 *
 * Training documents of all domains are shuffled together (seeded) and taken in that order
 * until the stream holds `trainTokens` tokens, so the mixture is the corpus's own. Held-out
 * documents are taken per domain up to `valTokensPerDomain` tokens each. Every document ends
 * with `<|endoftext|>`, whose label is {@link UNLABELLED} (scored by no domain).
 * @module
 */
import { makeFolder } from '../data/output_path.js';
import { join } from 'node:path';
import { readCorpusTexts } from '../data/corpus_layout.js';
import { Sfc32, permutation } from '../data/random.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { joinDocuments, writeLabelledShard, type DocumentTokens, type JoinOptions } from '../stages/tokenize.js';
import { DOMAINS, UNLABELLED } from '../data/domains.js';
import type { LabelledTokens } from '../eval/domain_loss.js';

/** Options of {@link buildDomainCorpus}. */
export interface DomainCorpusOptions {
  /** Data folder holding `corpus/`. */
  data: string;
  /** Output folder for the shards. */
  out: string;
  /** Training tokens to keep (the stream stops at the first document boundary past it). */
  trainTokens: number;
  /** Held-out tokens per domain. */
  valTokensPerDomain: number;
  seed: number;
  signal?: AbortSignal;
}

/** Paths and counts of the built streams. */
export interface DomainCorpus {
  train: string;
  val: string;
  trainTokens: number;
  valTokens: number;
  trainDocuments: number;
  /** Share of training tokens per domain. */
  trainDomainFraction: Record<string, number>;
  /** Which stream this is (absent in results written before the mixed stream existed: documents). */
  stream?: 'documents' | 'mixed';
}

/** Tokenizes the data folder's domain files into a training and a held-out labelled shard. */
export async function buildDomainCorpus(tokenizer: Tokenizer, options: DomainCorpusOptions): Promise<DomainCorpus> {
  await makeFolder(options.out);
  const trainDocs: { text: string; domain: number }[] = [];
  for (const [domain, name] of DOMAINS.entries())
    for (const text of await readCorpusTexts(options.data, name, 'train')) trainDocs.push({ text, domain });
  const val = await buildValStream(tokenizer, options);

  const order = permutation(trainDocs.length, new Sfc32(options.seed, 0x636f7270));
  const chosen: Uint32Array[] = [];
  const chosenDomains: number[] = [];
  let total = 0;
  // encode in chunks in shuffled order until the budget is met
  for (let at = 0; at < order.length && total < options.trainTokens; at += 256) {
    const slice = Array.from(order.subarray(at, at + 256), (i) => trainDocs[i]);
    const ids = await tokenizer.encodeBatch(slice.map((d) => d.text), { signal: options.signal });
    for (let k = 0; k < ids.length && total < options.trainTokens; k++) {
      chosen.push(ids[k]);
      chosenDomains.push(slice[k].domain);
      total += ids[k].length + 1;
    }
  }
  const train = joinDocuments(chosen.map((ids, i) => ({ ids, labels: chosenDomains[i] })), EXPERIMENT_JOIN(tokenizer));
  return writeTrainStream('documents', { ...train, documents: chosen.length }, val, tokenizer, options.out);
}

/**
 * Writes a training stream to `out/train.bin` (with its label side file) and returns the record
 * of it and the held-out stream `val`: what both stream kinds share.
 */
export async function writeTrainStream(
  stream: 'documents' | 'mixed', train: LabelledTokens & { documents: number }, val: { path: string; tokens: number }, tokenizer: Tokenizer, out: string,
): Promise<DomainCorpus> {
  const trainPath = join(out, 'train.bin');
  await writeLabelledShard(trainPath, train, tokenizer);
  return {
    stream,
    train: trainPath,
    val: val.path,
    trainTokens: train.tokens.length,
    valTokens: val.tokens,
    trainDocuments: train.documents,
    trainDomainFraction: domainFractions(train.labels),
  };
}

/** How the experiment joins documents: `<|endoftext|>` after each, labelled {@link UNLABELLED}. */
export function EXPERIMENT_JOIN(tokenizer: Tokenizer): JoinOptions {
  return { eotId: tokenizer.eotId, separator: 'after', separatorLabel: UNLABELLED };
}

/**
 * The held-out stream: per domain, documents of the domain's val file up to `valTokensPerDomain`
 * tokens, each token labelled with its domain; written to `out/val.bin`.
 */
export async function buildValStream(tokenizer: Tokenizer, options: DomainCorpusOptions): Promise<{ path: string; tokens: number }> {
  const docs: DocumentTokens[] = [];
  for (const [domain, name] of DOMAINS.entries()) {
    const ids = await tokenizer.encodeBatch(await readCorpusTexts(options.data, name, 'val'), { signal: options.signal });
    let total = 0;
    for (const doc of ids) {
      if (total >= options.valTokensPerDomain) break;
      const take = doc.subarray(0, options.valTokensPerDomain - total);
      docs.push({ ids: take, labels: domain });
      total += take.length;
    }
  }
  const stream = joinDocuments(docs, EXPERIMENT_JOIN(tokenizer));
  const path = join(options.out, 'val.bin');
  await writeLabelledShard(path, stream, tokenizer);
  return { path, tokens: stream.tokens.length };
}

/** Share of labelled tokens (label ≠ {@link UNLABELLED}) per domain name. */
export function domainFractions(labels: Uint8Array): Record<string, number> {
  const counts = new Array<number>(DOMAINS.length).fill(0);
  for (const l of labels) if (l !== UNLABELLED) counts[l]++;
  const labelled = counts.reduce((a, b) => a + b, 0);
  return Object.fromEntries(DOMAINS.map((n, i) => [n, labelled > 0 ? counts[i] / labelled : 0]));
}
