/**
 * How linearly separable the forget concept is inside a model (Li et al. 2025): logistic probes
 * "is this token inside a medical sentence" on held-out sentence-level mixed text, one per
 * residual-stream layer and one per attention head (the head's output before the output
 * projection, {@link Transformer.headOutputs}). Probes are fitted on the first 70% of the probe
 * windows and scored (AUROC, accuracy at 0.5 with balanced class weights) on the rest.
 * Each probe also yields two directions in the raw feature space (unit length): the probe's own
 * weights, and the difference of the class means ("mass mean shift", which the ITI paper found to
 * steer better than probe weights; with separable classes the L2 probe's weights, fitted on
 * standardised features, need not point along the concept). Steering shifts along the mean
 * direction, by multiples of the standard deviation of the features projected on it.
 * @module
 */
import { throwIfAborted } from '../../abort.js';
import { fitLogistic, type LogisticModel } from '../../classify/logistic.js';
import { auroc } from '../../classify/metrics.js';
import type { LabelledTokens } from '../../eval/domain_loss.js';
import type { Transformer } from '../../model/transformer.js';
import { CodedRangeError } from '../../errors.js';

/** One probe's held-out quality and the direction it found. */
export interface ProbeResult {
  auroc: number;
  accuracy: number;
  /** The probe's weights in the raw feature space, unit length, pointing towards the forget domain. */
  direction: number[];
  /** Mean of forget rows minus mean of the others, unit length: what steering moves along. */
  meanDirection: number[];
  /** Standard deviation of the probe rows projected on `meanDirection`. */
  std: number;
}

/** A head's probe. */
export interface HeadProbe extends ProbeResult {
  layer: number;
  head: number;
}

/** Every probe of one model. */
export interface Separability {
  /** Residual-stream probes, hidden-state layers 0 (embeddings) … L + 1 (final norm). */
  layers: ProbeResult[];
  heads: HeadProbe[];
  trainTokens: number;
  testTokens: number;
}

/** Options of {@link measureSeparability}. */
export interface SeparabilityOptions {
  /** Window length (default: the model's context). */
  context?: number;
  /** Labelled probe tokens used at most (default 24,000). */
  maxTokens?: number;
  /** L2 strength of the probes (default 1e-2). */
  l2?: number;
  signal?: AbortSignal;
}

interface Rows {
  features: Float32Array[];
  labels: number[];
}

/** Feature rows of every labelled token, per feature set (layers then heads), window by window. */
async function collect(model: Transformer, probe: LabelledTokens, T: number, maxTokens: number, signal?: AbortSignal): Promise<{ sets: Rows[]; windows: number[] }> {
  const { layers: L, dModel: C, heads: NH } = model.config;
  const hs = C / NH;
  const sets: Rows[] = Array.from({ length: L + 2 + L * NH }, () => ({ features: [], labels: [] }));
  const windows: number[] = []; // labelled rows per window, in order
  let kept = 0;
  for (let start = 0; start + T <= probe.tokens.length && kept < maxTokens; start += T) {
    throwIfAborted(signal, 'separability');
    const tokens = probe.tokens.subarray(start, start + T);
    const rows: number[] = [];
    for (let t = 0; t < T; t++) if (probe.labels[start + t] <= 1) rows.push(t);
    if (rows.length === 0) continue;
    for (let l = 0; l <= L + 1; l++) {
      const h = await model.hiddenStates(tokens, l);
      for (const t of rows) sets[l].features.push(h.slice(t * C, (t + 1) * C));
    }
    for (let l = 0; l < L; l++) {
      const a = await model.headOutputs(tokens, l);
      for (let head = 0; head < NH; head++)
        for (const t of rows) sets[L + 2 + l * NH + head].features.push(a.slice(t * C + head * hs, t * C + (head + 1) * hs));
    }
    for (const set of sets) for (const t of rows) set.labels.push(probe.labels[start + t]);
    windows.push(rows.length);
    kept += rows.length;
  }
  return { sets, windows };
}

function stack(rows: Float32Array[], from: number, to: number, d: number): Float32Array {
  const out = new Float32Array((to - from) * d);
  for (let i = from; i < to; i++) out.set(rows[i], (i - from) * d);
  return out;
}

function unit(v: number[]): number[] {
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

/** The probe's raw-space direction, the class-mean direction and the spread of the rows along the latter. */
function directionsOf(model: LogisticModel, rows: Float32Array[], labels: Uint8Array): Pick<ProbeResult, 'direction' | 'meanDirection' | 'std'> {
  const d = model.dimension;
  const direction = unit(Array.from(model.weights, (w, j) => w * model.invStd[j]));
  const sums = [new Float64Array(d), new Float64Array(d)];
  const counts = [0, 0];
  rows.forEach((r, i) => {
    counts[labels[i]]++;
    for (let j = 0; j < d; j++) sums[labels[i]][j] += r[j];
  });
  const meanDirection = unit(Array.from({ length: d }, (_, j) => sums[1][j] / counts[1] - sums[0][j] / counts[0]));
  let sum = 0;
  let sum2 = 0;
  for (const r of rows) {
    let p = 0;
    for (let j = 0; j < d; j++) p += r[j] * meanDirection[j];
    sum += p;
    sum2 += p * p;
  }
  const mean = sum / rows.length;
  return { direction, meanDirection, std: Math.sqrt(Math.max(0, sum2 / rows.length - mean * mean)) };
}

async function fitProbe(set: Rows, split: number, l2: number, signal?: AbortSignal): Promise<ProbeResult> {
  const d = set.features[0].length;
  const labels = Uint8Array.from(set.labels);
  const model = await fitLogistic(stack(set.features, 0, split, d), labels.subarray(0, split), d, { l2, signal });
  const test = labels.subarray(split);
  const p = model.predict(stack(set.features, split, set.features.length, d));
  let correct = 0;
  for (let i = 0; i < test.length; i++) correct += (p[i] >= 0.5 ? 1 : 0) === test[i] ? 1 : 0;
  return { auroc: auroc(p, test), accuracy: correct / test.length, ...directionsOf(model, set.features, labels) };
}

/**
 * Fits and scores every layer and head probe of `model` on the labelled `probe` stream.
 * @throws RangeError when the held-out or training part lacks a class; AbortError.
 */
export async function measureSeparability(model: Transformer, probe: LabelledTokens, options: SeparabilityOptions = {}): Promise<Separability> {
  const T = options.context ?? model.config.context;
  const { sets, windows } = await collect(model, probe, T, options.maxTokens ?? 24_000, options.signal);
  if (windows.length < 2) throw new CodedRangeError(`the probe stream gives ${windows.length} window(s) of ${T} tokens; need at least 2`);
  // split by window: the first 70% of windows train, the rest test
  const trainWindows = Math.max(1, Math.min(windows.length - 1, Math.round(0.7 * windows.length)));
  const split = windows.slice(0, trainWindows).reduce((a, b) => a + b, 0);
  const l2 = options.l2 ?? 1e-2;
  const { layers: L, heads: NH } = model.config;
  const layers: ProbeResult[] = [];
  for (let l = 0; l <= L + 1; l++) layers.push(await fitProbe(sets[l], split, l2, options.signal));
  const heads: HeadProbe[] = [];
  for (let l = 0; l < L; l++)
    for (let h = 0; h < NH; h++) heads.push({ layer: l, head: h, ...(await fitProbe(sets[L + 2 + l * NH + h], split, l2, options.signal)) });
  const total = sets[0].labels.length;
  return { layers, heads, trainTokens: split, testTokens: total - split };
}
