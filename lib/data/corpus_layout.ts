/**
 * The layout of a domain data folder: `corpus/<domain>.<split>.jsonl.gz`, one file per domain
 * and split (`../shared/data` is one). This file is the only place the layout is written; the
 * filtering experiment, the mixture study and the classifier trainer read it through here.
 * @module
 */
import { existsSync, readdirSync } from 'node:fs';
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

/**
 * Every domain's texts of one split, by domain name: each `corpus/<domain>.<split>.jsonl` or
 * `.jsonl.gz` in the folder, whatever domains it holds (the sentence-level mixes are built from
 * these), in file order.
 */
export async function readSplitByDomain(data: string, split: CorpusSplit, signal?: AbortSignal): Promise<Record<string, string[]>> {
  const pattern = new RegExp(`^(.+)\\.${split}\\.jsonl(\\.gz)?$`);
  const texts: Record<string, string[]> = {};
  for (const name of readdirSync(join(data, 'corpus')).sort()) {
    const match = pattern.exec(name);
    if (!match) continue;
    const domain = (texts[match[1]] = [] as string[]);
    for await (const d of readDocuments(join(data, 'corpus', name), { signal })) domain.push(d.text);
  }
  return texts;
}
