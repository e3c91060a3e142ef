/**
 * tokenfilter: token-level data filtering for language-model pretraining.
 * @module
 */
export { backendInfo, setThreads, setSimdLevel } from './native.js';
export type { BackendInfo, SimdLevel } from './native.js';
export { filterTokens } from './filter/filter_tokens.js';
export type { FilterMode, FilterOptions, FilterResult, FilterStats, LabelStats } from './filter/filter_tokens.js';
export { thresholdForFraction } from './filter/threshold.js';
export type { TokenScores } from './filter/threshold.js';
export type { Batch } from './data/batch.js';
export { validateBatch } from './data/batch.js';
export { fitPowerLaw, predictLoss, computeForLoss, relativeComputeSlowdown } from './eval/scaling.js';
export type { ComputeLossPoint, PowerLawFit, Slowdown, SlowdownOptions } from './eval/scaling.js';
