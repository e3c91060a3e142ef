/**
 * The experiment's training and held-out streams: built once into `out/data` (mixed web-like
 * documents or the corpus's own), rebuilt when a larger ladder needs more training tokens, and
 * read back with their label side files.
 * @module
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DOMAINS, FORGET_LABEL, UNLABELLED } from '../data/domains.js';
import { readShard } from '../data/shard.js';
import { SideFileKind, readSideFile, sideFilePathFor } from '../data/side_file.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { LabelledTokens } from '../eval/domain_loss.js';
import { TokenfilterError } from '../errors.js';
import { buildDomainCorpus } from './domain_corpus.js';
import type { ResolvedOptions } from './experiment_options.js';
import type { FilteringExperimentResults } from './experiment_results.js';
import { buildMixedCorpus } from './mixed_corpus.js';
import { sizeName, trainTokensFor } from './model_size.js';
import { hasStreamWork, streamBuildReason, streamDigest, supersedeStreamWork, type StreamBuild } from './stream_builds.js';

/**
 * The training and held-out streams (`o.stream`: mixed or single-domain documents): enough
 * training tokens for the largest size, built once and reused, rebuilt (and the build recorded,
 * stream_builds.ts) when more are needed; a folder keeps one stream kind.
 */
export async function experimentStreams(o: ResolvedOptions, results: FilteringExperimentResults, tokenizer: Tokenizer, save: () => Promise<void>, log: (line: string) => void) {
  const built = results.corpus ? (results.corpus.stream ?? 'documents') : null;
  if (built !== null && built !== o.stream && Object.keys(results.runs).length > 0)
    throw new TokenfilterError('E_OPTION', `${o.out} holds runs on the ${built} stream; use another --out for --stream ${o.stream}`);
  const needs = [...o.sizes.map((s) => ({ tokens: trainTokensFor(s, o, tokenizer.vocabSize), by: `ladder size ${sizeName(s)}` })), { tokens: o.minTrainTokens, by: 'minTrainTokens' }]
    .reduce((a, b) => (b.tokens > a.tokens ? b : a));
  const reason = streamBuildReason(results.corpus, o.stream, needs.tokens, needs.by);
  if (reason !== null) {
    await buildStream(o, results, tokenizer, needs.tokens, reason, log);
    await save();
  }
  const corpus = results.corpus!;
  const train = readLabelledShard(corpus.train);
  // held-out mixed documents: 0 = a retain-domain token, 1 = a medical token (by its gold span)
  const valMixed = 'valMixed' in corpus ? readLabelledShard(corpus.valMixed) : null;
  if (valMixed) valMixed.labels = Uint8Array.from(valMixed.labels, (l) => (l === UNLABELLED ? UNLABELLED : l === FORGET_LABEL ? 1 : 0));
  log(`corpus: ${corpus.trainTokens} training tokens (${fractionText(corpus.trainDomainFraction)}), ${corpus.valTokens} held-out${valMixed ? `, ${valMixed.tokens.length} held-out mixed` : ''}`);
  return {
    train: { ...train, shard: corpus.train, labelNames: DOMAINS, forgetLabel: FORGET_LABEL },
    val: readLabelledShard(corpus.val),
    valMixed,
  };
}

/**
 * Builds the stream (enough for `maxTokens`, with a 5% margin) and records the build; work done
 * on a different earlier stream is moved aside (stream_builds.ts).
 */
async function buildStream(o: ResolvedOptions, results: FilteringExperimentResults, tokenizer: Tokenizer, maxTokens: number, reason: string, log: (line: string) => void): Promise<void> {
  const dataDir = join(o.out, 'data');
  const at = new Date().toISOString();
  const before = JSON.stringify(results, null, 2) + '\n';
  const trained = Object.keys(results.runs).length;
  log(`corpus: ${results.corpus ? 'rebuilding' : 'building'} the ${o.stream} stream from ${o.data}/corpus into ${dataDir} (${(maxTokens / 1e6).toFixed(1)}M training tokens): ${reason}`);
  await rm(join(dataDir, 'train.scores8.side'), { force: true });
  const requestedTokens = Math.ceil(maxTokens * 1.05);
  const corpusOptions = { data: o.data, out: dataDir, trainTokens: requestedTokens, valTokensPerDomain: o.valTokensPerDomain, seed: o.seeds[0], signal: o.signal };
  results.corpus = o.stream === 'mixed'
    ? await buildMixedCorpus(tokenizer, { ...corpusOptions, valMixedTokens: o.valMixedTokens })
    : await buildDomainCorpus(tokenizer, corpusOptions);
  const sha256 = await streamDigest(results.corpus);
  const last = results.streamBuilds?.at(-1);
  const same = last !== undefined && last.sha256.train === sha256.train && last.sha256.val === sha256.val;
  let superseded: StreamBuild['superseded'] = null;
  if (hasStreamWork(results) && same) log(`corpus: the rebuilt stream is byte for byte the one the ${trained} runs so far trained on; they stand`);
  else if (hasStreamWork(results)) {
    superseded = await supersedeStreamWork(o.out, results, before, at);
    log(`corpus: the ${superseded.runs.length} runs so far, their models, checkpoints, scores and attacks came from the old stream: moved to ${join(o.out, superseded.folder)}; they are trained again`);
  }
  (results.streamBuilds ??= []).push({ at, stream: o.stream, reason, requestedTokens, trainTokens: results.corpus.trainTokens, sha256, superseded });
}

/** A shard's tokens and its label side file. */
function readLabelledShard(path: string): LabelledTokens {
  const shard = readShard(path);
  const tokens = Uint32Array.from(shard.tokens);
  const side = readSideFile(sideFilePathFor(path, SideFileKind.Labels), { expectKind: SideFileKind.Labels, expectTokens: tokens.length, shard: { path, tokenizer: shard.header.tokenizer } });
  return { tokens, labels: side.values as Uint8Array };
}

function fractionText(f: Record<string, number>): string {
  return Object.entries(f).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(', ');
}
