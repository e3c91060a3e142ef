/**
 * tokenfilter: token-level data filtering for language-model pretraining.
 * @module
 */
export { backendInfo, setThreads, setSimdLevel } from './native.js';
export type { BackendInfo, SimdLevel } from './native.js';
