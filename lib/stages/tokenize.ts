/**
 * Stage **tokenize**: a tokenizer (trained on a corpus, or loaded when one is already saved),
 * then documents → one token stream with `<|endoftext|>` between documents and a label per token
 * → a shard with its label side file. {@link joinDocuments} and {@link spanTokenLabels} are the
 * only places documents are joined and span labels attached; the demo, the experiment's domain
 * corpus, the mixture study and the SAE chain all build their streams with them.
 * @module
 */
import { existsSync } from 'node:fs';
import { readCorpusTexts } from '../data/corpus_layout.js';
import { writeShard } from '../data/shard.js';
import { SHARD_WRITER_DEFAULTS } from '../data/shard_writer.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../data/side_file.js';
import { spanLabelsToTokenLabels, type CharSpan } from '../data/span_labels.js';
import { Tokenizer } from '../data/tokenizer.js';
import type { LabelledTokens } from '../eval/domain_loss.js';
import { TokenfilterError } from '../errors.js';
import { withDefaults } from './option_keys.js';

/** Defaults of the tokenize stage: the only place its numbers are written. */
export const TOKENIZE_STAGE_DEFAULTS = Object.freeze({
  /** BPE vocabulary size, specials included. */
  vocabSize: 2048,
  /** Characters of the corpus the BPE is trained on at most. */
  maxChars: 4_000_000,
  /** Shard file prefix and tokens per shard (`tokenfilter tokenize`, `relabel`). */
  prefix: SHARD_WRITER_DEFAULTS.prefix,
  shardTokens: SHARD_WRITER_DEFAULTS.shardTokens,
});

/** Options of {@link corpusTokenizer}. */
export interface TokenizerStageOptions {
  /** Where the tokenizer is saved; loaded from there instead when the file exists. */
  path: string;
  /** The texts to train on (an array, or a function that reads them only when training is needed). */
  texts: readonly string[] | (() => Promise<readonly string[]>);
  vocabSize?: number;
  maxChars?: number;
  signal?: AbortSignal;
}

/**
 * The tokenizer at `path`, or one trained on `texts` and saved there.
 * @throws TokenfilterError E_OPTION for an unknown key (naming the nearest valid one).
 */
export async function corpusTokenizer(options: TokenizerStageOptions): Promise<Tokenizer> {
  const { prefix: _p, shardTokens: _s, ...defaults } = TOKENIZE_STAGE_DEFAULTS;
  const o = withDefaults('tokenize', defaults, options, ['path', 'texts', 'signal']);
  if (existsSync(o.path)) return Tokenizer.load(o.path);
  const texts = typeof o.texts === 'function' ? await o.texts() : o.texts;
  const tokenizer = await Tokenizer.train(texts, { vocabSize: o.vocabSize, maxChars: o.maxChars, signal: o.signal });
  await tokenizer.save(o.path);
  return tokenizer;
}

/** The training texts of every domain of a data folder, domain by domain (for {@link corpusTokenizer}). */
export async function domainTrainTexts(data: string, domains: readonly string[], signal?: AbortSignal): Promise<string[]> {
  const texts: string[] = [];
  for (const domain of domains) texts.push(...(await readCorpusTexts(data, domain, 'train', signal)));
  return texts;
}

/** One document's token ids and a label per token (or one label for all of them). */
export interface DocumentTokens {
  ids: Uint32Array;
  labels: Uint8Array | number;
}

/** Where the end-of-text token goes, and the label it gets. */
export interface JoinOptions {
  eotId: number;
  /** `'after'` each document (the demo, the experiment) or `'before'` it (the mixture study). */
  separator: 'after' | 'before';
  separatorLabel: number;
}

/** Documents joined into one stream with an end-of-text token beside each, and their labels. */
export function joinDocuments(docs: readonly DocumentTokens[], options: JoinOptions): LabelledTokens {
  const total = docs.reduce((n, d) => n + d.ids.length + 1, 0);
  const tokens = new Uint32Array(total);
  const labels = new Uint8Array(total);
  const before = options.separator === 'before';
  let at = 0;
  const separator = () => {
    tokens[at] = options.eotId;
    labels[at++] = options.separatorLabel;
  };
  for (const doc of docs) {
    if (before) separator();
    tokens.set(doc.ids, at);
    if (typeof doc.labels === 'number') labels.fill(doc.labels, at, at + doc.ids.length);
    else labels.set(doc.labels, at);
    at += doc.ids.length;
    if (!before) separator();
  }
  return { tokens, labels };
}

/**
 * A document's token ids and span labels: each token gets the index in `names` of the first name
 * (from index 1) whose span covers it, else 0.
 */
export function spanTokenLabels(tokenizer: Tokenizer, doc: { text: string; spans: readonly CharSpan[] }, names: readonly string[]): DocumentTokens {
  const { ids, offsets } = tokenizer.encodeWithOffsets(doc.text);
  const labels = new Uint8Array(ids.length);
  for (let k = names.length - 1; k >= 1; k--) {
    const inside = spanLabelsToTokenLabels(offsets, doc.spans, { label: names[k] });
    for (let i = 0; i < ids.length; i++) if (inside[i]) labels[i] = k;
  }
  return { ids, labels };
}

/** Writes a stream as a shard with its label side file beside it. */
export async function writeLabelledShard(path: string, stream: LabelledTokens, tokenizer: Tokenizer): Promise<void> {
  if (stream.labels.length !== stream.tokens.length) throw new TokenfilterError('E_MISMATCH', `a stream of ${stream.tokens.length} tokens has ${stream.labels.length} labels`);
  await writeShard(path, stream.tokens, { tokenizer });
  await writeSideFile(sideFilePathFor(path, SideFileKind.Labels), stream.labels, { kind: SideFileKind.Labels, tokenizer });
}
