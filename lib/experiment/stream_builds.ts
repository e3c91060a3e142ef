/**
 * Builds of the experiment's training stream, and what a rebuild does to the work already done.
 *
 * The stream is built once, for the largest size asked for. A later invocation that asks for
 * more training tokens (a larger ladder size, a larger `minTrainTokens`), or finds the stream's
 * files gone, builds it again. Every batch a run drew is a window of a permutation over the
 * whole shard (lib/data/sampler.ts), so a run trained before a rebuild saw another stream, and the
 * ladder's flagged share, the attack shards and the cached scores came from it too. Each build
 * is therefore logged with its reason and recorded in `results.streamBuilds` with the SHA-256 of
 * the shards it wrote; when work exists and the rebuilt shards differ from those it was done on,
 * that work (results.json as it was, `models/` with any checkpoints, `attack/`, `scores/`,
 * `filtered/`) is moved to `superseded/<time>/` and its runs are trained again. A rebuild that
 * writes the same bytes the runs trained on (files deleted, same request) keeps them.
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { moveAside, writeFileAtomic } from '../data/atomic_file.js';
import { makeFolder } from '../data/output_path.js';
import { digestFile } from '../stages/shard_record.js';
import type { DomainCorpus } from './domain_corpus.js';
import type { FilteringExperimentResults } from './experiment_results.js';

/** One build of the training stream, as `results.streamBuilds` records it. */
export interface StreamBuild {
  /** When it was built (ISO time). */
  at: string;
  stream: 'documents' | 'mixed';
  /** Why it was built, in words (e.g. the size that needs more tokens than the stream held). */
  reason: string;
  /** Training tokens asked for (with the 5% margin) and written. */
  requestedTokens: number;
  trainTokens: number;
  /** SHA-256 of the training and held-out shards written. */
  sha256: { train: string; val: string };
  /** Work done on the stream before, moved aside (`folder`, relative to the experiment folder) because the new stream differs; null when there was none or the bytes are the same. */
  superseded: { runs: string[]; folder: string } | null;
}

/** Folders of an experiment that hold work derived from one training stream. */
export const STREAM_DERIVED_FOLDERS = Object.freeze(['models', 'attack', 'scores', 'filtered']);

/**
 * Why the stream must be (re)built, in words, or null when the recorded one serves: none yet,
 * its files gone, or fewer tokens than `needed` (`neededBy` names what needs them).
 */
export function streamBuildReason(corpus: FilteringExperimentResults['corpus'], stream: 'documents' | 'mixed', needed: number, neededBy: string): string | null {
  if (!corpus) return 'no stream built yet';
  if ((corpus.stream ?? 'documents') !== stream) return `the folder's stream is ${corpus.stream ?? 'documents'}, ${stream} was asked for`;
  if (!existsSync(corpus.train) || !existsSync(corpus.val)) return `its files are gone (${corpus.train})`;
  if (corpus.trainTokens < needed) return `${neededBy} needs ${needed} training tokens and the stream holds ${corpus.trainTokens}`;
  return null;
}

/** SHA-256 of a built stream's training and held-out shards. */
export async function streamDigest(corpus: DomainCorpus): Promise<StreamBuild['sha256']> {
  const [train, val] = await Promise.all([digestFile(corpus.train), digestFile(corpus.val)]);
  return { train: train.sha256, val: val.sha256 };
}

/** True when the results hold work done on a stream: runs, attacks, multiple choice. */
export function hasStreamWork(results: FilteringExperimentResults): boolean {
  return Object.keys(results.runs).length > 0 || Object.keys(results.extra).some((k) => k !== 'ladder_fraction');
}

/**
 * Moves the work done on the old stream aside: `before` (results.json as it stood before the
 * rebuild) and the stream-derived folders go to `out/superseded/<time>/`; the runs, fits,
 * slowdowns and extra records are cleared so every run is trained again on the new stream.
 * @returns what was moved, for the build record.
 */
export async function supersedeStreamWork(out: string, results: FilteringExperimentResults, before: string, at: string): Promise<NonNullable<StreamBuild['superseded']>> {
  const folder = join('superseded', at.replace(/[:.]/g, '-'));
  await makeFolder(join(out, folder));
  await writeFileAtomic(join(out, folder, 'results.json'), before);
  for (const name of STREAM_DERIVED_FOLDERS) if (existsSync(join(out, name))) await moveAside(join(out, name), join(out, folder, name));
  const runs = Object.keys(results.runs).sort();
  results.runs = {};
  results.fits = null;
  results.slowdowns = [];
  results.extra = {};
  return { runs, folder };
}
