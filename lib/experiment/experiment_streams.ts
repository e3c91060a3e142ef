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
import { trainTokensFor } from './model_size.js';

/**
 * The training and held-out streams (`o.stream`: mixed or single-domain documents): enough
 * training tokens for the largest size, built once and reused; a folder keeps one stream kind.
 */
export async function experimentStreams(o: ResolvedOptions, results: FilteringExperimentResults, tokenizer: Tokenizer, save: () => Promise<void>, log: (line: string) => void) {
  const maxTokens = Math.max(o.minTrainTokens, ...o.sizes.map((s) => trainTokensFor(s, o, tokenizer.vocabSize)));
  const dataDir = join(o.out, 'data');
  const built = results.corpus ? (results.corpus.stream ?? 'documents') : null;
  if (built !== null && built !== o.stream && Object.keys(results.runs).length > 0)
    throw new TokenfilterError('E_OPTION', `${o.out} holds runs on the ${built} stream; use another --out for --stream ${o.stream}`);
  if (!results.corpus || built !== o.stream || results.corpus.trainTokens < maxTokens || !existsSync(results.corpus.train)) {
    log(`corpus: building the ${o.stream} stream from ${o.data}/corpus into ${dataDir} (${(maxTokens / 1e6).toFixed(1)}M training tokens)`);
    await rm(join(dataDir, 'train.scores8.side'), { force: true });
    const corpusOptions = { data: o.data, out: dataDir, trainTokens: Math.ceil(maxTokens * 1.05), valTokensPerDomain: o.valTokensPerDomain, seed: o.seeds[0], signal: o.signal };
    results.corpus = o.stream === 'mixed'
      ? await buildMixedCorpus(tokenizer, { ...corpusOptions, valMixedTokens: o.valMixedTokens })
      : await buildDomainCorpus(tokenizer, corpusOptions);
    await save();
  }
  const corpus = results.corpus;
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
