/**
 * What the stages of a running experiment share (resolved options, the record, the tokenizer,
 * the scored training stream, the held-out sets), and the description of one model to train.
 * @module
 */
import type { Tokenizer } from '../data/tokenizer.js';
import type { LabelledTokens } from '../eval/domain_loss.js';
import type { FilterMode } from '../filter/filter_tokens.js';
import type { ScoredStream } from '../stages/filtered_run.js';
import type { ResolvedOptions } from './experiment_options.js';
import type { ExperimentRun, FilteringExperimentResults } from './experiment_results.js';
import type { ModelSize } from './model_size.js';

/** What every step of a running experiment shares. */
export interface ExperimentContext {
  o: ResolvedOptions;
  results: FilteringExperimentResults;
  save: () => Promise<void>;
  log: (line: string) => void;
  tokenizer: Tokenizer;
  /** The ladder's flagging threshold. */
  threshold: number;
  /** The training stream every model of the experiment filters and trains on (a plain value). */
  train: ScoredStream;
  val: LabelledTokens;
  /** Held-out mixed documents, labelled 0 (retain) / 1 (medical) by gold span (mixed stream only). */
  valMixed: LabelledTokens | null;
  /** The document classifier's score of every training document (undefined: mean token scores). */
  documentScores: Float32Array | undefined;
  /** The share of training tokens every ladder mode flags (the token flags' share at the threshold). */
  ladderFraction: number;
  /** 1 where a token may carry a flag (not a document separator). */
  eligible: Uint8Array;
}

/** One model to train: its id, series, mode, size, seed and filter. */
export interface RunSpec {
  id: string;
  series: ExperimentRun['series'];
  mode: 'baseline' | FilterMode;
  size: ModelSize;
  seed: number;
  filter: ExperimentRun['filter'];
}
