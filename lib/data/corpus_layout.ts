/**
 * The layout of a domain data folder: `corpus/<domain>.<split>.jsonl.gz`, one file per domain
 * and split (`../shared/data` is one). This file is the only place the layout is written; the
 * filtering experiment, the mixture study and the classifier trainer read it through here.
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readDocuments } from './read_documents.js';

/** A split of a domain data folder. */
export type CorpusSplit = 'train' | 'val';

/** Path of one domain's split in a data folder. */
export function corpusFile(data: string, domain: string, split: CorpusSplit): string {
  return join(data, 'corpus', `${domain}.${split}.jsonl.gz`);
}

/** The files of `domains` × train and val that the data folder lacks (empty when complete). */
export function missingCorpusFiles(data: string, domains: readonly string[]): string[] {
  return domains.flatMap((d) => (['train', 'val'] as const).map((split) => corpusFile(data, d, split))).filter((f) => !existsSync(f));
}

/** Every document text of one domain's split, in file order. */
export async function readCorpusTexts(data: string, domain: string, split: CorpusSplit, signal?: AbortSignal): Promise<string[]> {
  const texts: string[] = [];
  for await (const d of readDocuments(corpusFile(data, domain, split), { signal })) texts.push(d.text);
  return texts;
}
