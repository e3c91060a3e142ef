/**
 * The file of a trained classifier (token or document): the probe's tensors and a reference to
 * its biLM. Safetensors, tensors `probe.mean`, `probe.inv_std`, `probe.weights` (F64, [d]);
 * `__metadata__`: `format` = `tokenfilter.classifier`, `kind` (`token` | `document`), `layer` (the
 * deepest layer read), `layers` (token classifiers: every layer read, a JSON array, ascending, the
 * probe's features being their features concatenated in that order; absent in older files = `[layer]`),
 * `direction` (`both` | `forward` | `backward`), `bias`, `threshold`, `smoothing` (token
 * classifiers: radius of the score smoothing, see smoothing.ts; absent = 0; 0 when the scores are
 * segmented), `scoring` (token classifiers: the scoring method as JSON, see score_method.ts;
 * absent in older files, which smooth by `smoothing`), `reading` (token classifiers: `window` | `sentence`,
 * how the biLM reads documents, see reading.ts; absent in older files = `window`), `bilm` (the biLM file's path relative to the classifier's folder) and
 * `bilm_sha256` (checked on load, so a classifier never runs on another biLM), plus a JSON
 * `report` of how it was trained. A token classifier with a lexicon (lexicon.ts) adds the tensor
 * `lexicon.weights` (F32, [2^bits]) and the metadata `lexicon` (JSON: `probeWeight`, the share of
 * the probe's logit added to the lexicon's evidence, `fit`, and `features`, the lexicon's hashed
 * features; absent in the first lexicon files, which hold words and pairs).
 * @module
 */
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileSha256 } from '../stages/shard_record.js';
import { readSafetensors, writeSafetensors, SafetensorsError, type TensorToWrite } from '../model/safetensors.js';
import { BiLM, type FeatureDirection } from './bilm.js';
import type { DeviceOptions } from '../device.js';
import { LogisticModel } from './logistic.js';
import { parseScoreMethod, type ScoreMethod } from './score_method.js';
import { parseReading, type Reading } from './reading.js';
import { checkLexiconFeatures, FIRST_LEXICON_FEATURES, type LexiconFeature, type LexiconFit } from './lexicon.js';

/** Format identifier of classifier files. */
export const CLASSIFIER_FORMAT = 'tokenfilter.classifier';

/** What a classifier file holds besides its biLM. */
export interface ProbeFile {
  kind: 'token' | 'document';
  /** The deepest layer read. */
  layer: number;
  /** Token classifiers: every layer read, ascending (features concatenated); absent = `[layer]`. */
  layers?: readonly number[];
  probe: LogisticModel;
  /** Decision threshold (the max-F1 threshold on validation data when trained here). */
  threshold: number;
  /** Absolute path of the biLM file. */
  bilmPath: string;
  /** Free-form training report (sweep, metrics). */
  report: unknown;
  /** Which directions' states the probe reads (default 'both'). */
  direction?: FeatureDirection;
  /** Token classifiers: radius of the score smoothing (default 0, none; files written before it existed have none). */
  smoothing?: number;
  /** Token classifiers: the scoring method (smoothing or segmentation); absent in older files. */
  scoring?: ScoreMethod;
  /** Token classifiers: how the biLM reads documents for the features (reading.ts); absent in older files, which read windows. */
  reading?: Reading;
  /** Token classifiers: a lexicon's weights and the share of the probe's logit added to its evidence; absent without one. */
  lexicon?: { weights: Float32Array; probeWeight: number; fit: LexiconFit | null; features: readonly LexiconFeature[] };
}

/** SHA-256 of a file as hex (re-exported: classifier files record their biLM's). */
export { fileSha256 };

/** Writes a classifier file (atomic). */
export async function writeProbeFile(path: string, p: ProbeFile): Promise<void> {
  const bilm = resolve(p.bilmPath);
  const reference = relative(dirname(resolve(path)), bilm) || bilm;
  await writeSafetensors(
    path,
    [
      ['probe.mean', { dtype: 'F64', shape: [p.probe.dimension], data: p.probe.mean }],
      ['probe.inv_std', { dtype: 'F64', shape: [p.probe.dimension], data: p.probe.invStd }],
      ['probe.weights', { dtype: 'F64', shape: [p.probe.dimension], data: p.probe.weights }],
      ...(p.lexicon ? [['lexicon.weights', { dtype: 'F32', shape: [p.lexicon.weights.length], data: p.lexicon.weights }] satisfies [string, TensorToWrite]] : []),
    ],
    {
      format: CLASSIFIER_FORMAT,
      format_version: '1',
      kind: p.kind,
      layer: String(p.layer),
      ...(p.layers ? { layers: JSON.stringify(p.layers) } : {}),
      direction: p.direction ?? 'both',
      smoothing: String(p.smoothing ?? 0),
      ...(p.scoring ? { scoring: JSON.stringify(p.scoring) } : {}),
      ...(p.reading ? { reading: p.reading } : {}),
      ...(p.lexicon ? { lexicon: JSON.stringify({ probeWeight: p.lexicon.probeWeight, fit: p.lexicon.fit, features: p.lexicon.features }) } : {}),
      bias: String(p.probe.bias),
      threshold: String(p.threshold),
      bilm: reference,
      bilm_sha256: await fileSha256(bilm),
      fit: JSON.stringify(p.probe.fit),
      report: JSON.stringify(p.report ?? null),
    },
  );
}

/**
 * Reads a classifier file and loads its biLM (its two models on `device`, see {@link BiLM.load}).
 * @throws SafetensorsError for a malformed file, another format or kind, a missing biLM, a biLM
 *   whose checksum differs from the recorded one, or a probe that does not fit the biLM.
 */
export async function readProbeFile(path: string, kind: 'token' | 'document', device: DeviceOptions = {}): Promise<{ file: ProbeFile; bilm: BiLM }> {
  const contents = await readSafetensors(path);
  const m = contents.metadata;
  if (m.format !== CLASSIFIER_FORMAT) throw new SafetensorsError(`${path}: not a tokenfilter classifier (metadata format = ${JSON.stringify(m.format)})`);
  if (m.kind !== kind) throw new SafetensorsError(`${path}: holds a ${m.kind} classifier, expected a ${kind} classifier`);
  const tensor = (name: string) => {
    const t = contents.tensors.get(name);
    if (!t || t.dtype !== 'F64' || t.shape.length !== 1) throw new SafetensorsError(`${path}: tensor '${name}' is missing or not a F64 vector`);
    return t.data as Float64Array;
  };
  const bilmPath = isAbsolute(m.bilm ?? '') ? m.bilm! : resolve(dirname(path), m.bilm ?? '');
  let sha: string;
  try {
    sha = await fileSha256(bilmPath);
  } catch {
    throw new SafetensorsError(`${path}: its biLM ${bilmPath} cannot be read`);
  }
  if (sha !== m.bilm_sha256) throw new SafetensorsError(`${path}: the biLM at ${bilmPath} is not the one this classifier was trained on (SHA-256 differs)`);
  const bilm = await BiLM.load(bilmPath, device);
  const layer = Number(m.layer);
  if (!Number.isInteger(layer) || layer < 0 || layer >= bilm.layerCount) throw new SafetensorsError(`${path}: layer ${m.layer} is not a layer of its biLM`);
  const layers = readLayers(path, m.layers, layer, kind, bilm.layerCount);
  let probe: LogisticModel;
  try {
    probe = new LogisticModel(tensor('probe.mean'), tensor('probe.inv_std'), tensor('probe.weights'), Number(m.bias), JSON.parse(m.fit ?? 'null'));
  } catch (error) {
    throw new SafetensorsError(`${path}: bad probe: ${(error as Error).message}`);
  }
  const direction = (m.direction ?? 'both') as FeatureDirection;
  if (!['both', 'forward', 'backward'].includes(direction)) throw new SafetensorsError(`${path}: unknown direction ${JSON.stringify(m.direction)}`);
  if (probe.dimension !== bilm.dimensionOf(direction) * layers.length)
    throw new SafetensorsError(`${path}: probe has ${probe.dimension} features, its biLM gives ${bilm.dimensionOf(direction) * layers.length} (${direction}, layers ${layers.join('+')})`);
  const threshold = Number(m.threshold);
  if (!(threshold >= 0 && threshold <= 1)) throw new SafetensorsError(`${path}: threshold ${m.threshold} is not in [0, 1]`);
  const smoothing = Number(m.smoothing ?? '0');
  if (!Number.isInteger(smoothing) || smoothing < 0) throw new SafetensorsError(`${path}: smoothing ${m.smoothing} is not a non-negative integer`);
  let scoring: ScoreMethod | undefined;
  if (m.scoring !== undefined) {
    try {
      scoring = parseScoreMethod(JSON.parse(m.scoring));
    } catch (error) {
      throw new SafetensorsError(`${path}: bad scoring method: ${(error as Error).message}`);
    }
  }
  let reading: Reading;
  try {
    reading = parseReading(m.reading ?? 'window');
  } catch (error) {
    throw new SafetensorsError(`${path}: ${(error as Error).message}`);
  }
  const lexicon = readLexicon(path, m.lexicon, contents.tensors.get('lexicon.weights'));
  return { file: { kind, layer, layers, probe, threshold, bilmPath, report: JSON.parse(m.report ?? 'null'), direction, smoothing, scoring, reading, ...(lexicon ? { lexicon } : {}) }, bilm };
}

/** The lexicon of a token classifier file: both the metadata and the tensor, or neither. */
function readLexicon(path: string, text: string | undefined, tensor: { dtype: string; shape: number[]; data: unknown } | undefined): ProbeFile['lexicon'] {
  if (text === undefined && tensor === undefined) return undefined;
  if (text === undefined || tensor === undefined) throw new SafetensorsError(`${path}: a lexicon needs both the 'lexicon' metadata and the 'lexicon.weights' tensor`);
  const length = tensor.shape[0];
  if (tensor.dtype !== 'F32' || tensor.shape.length !== 1 || !(length >= 256 && (length & (length - 1)) === 0))
    throw new SafetensorsError(`${path}: tensor 'lexicon.weights' must be a F32 vector of 2^bits entries (bits ≥ 8)`);
  let meta: { probeWeight?: unknown; fit?: unknown; features?: unknown };
  try {
    meta = JSON.parse(text);
  } catch {
    throw new SafetensorsError(`${path}: lexicon ${text} is not JSON`);
  }
  const probeWeight = Number(meta?.probeWeight);
  if (!(Number.isFinite(probeWeight) && probeWeight >= 0)) throw new SafetensorsError(`${path}: lexicon probeWeight ${String(meta?.probeWeight)} is not a finite non-negative number`);
  const features = meta.features ?? FIRST_LEXICON_FEATURES;
  try {
    checkLexiconFeatures(features);
  } catch (error) {
    throw new SafetensorsError(`${path}: lexicon features ${JSON.stringify(meta.features)}: ${(error as Error).message}`);
  }
  return { weights: tensor.data as Float32Array, probeWeight, fit: (meta.fit ?? null) as LexiconFit | null, features };
}

/** The `layers` metadata: ascending distinct layers of the biLM ending at `layer`; `[layer]` when absent. */
function readLayers(path: string, text: string | undefined, layer: number, kind: 'token' | 'document', layerCount: number): number[] {
  if (text === undefined) return [layer];
  let layers: unknown;
  try {
    layers = JSON.parse(text);
  } catch {
    throw new SafetensorsError(`${path}: layers ${text} is not JSON`);
  }
  if (!Array.isArray(layers) || layers.length === 0 || layers.some((l, i) => !Number.isInteger(l) || l < 0 || l >= layerCount || (i > 0 && l <= layers[i - 1])))
    throw new SafetensorsError(`${path}: layers ${text} is not an ascending list of distinct layers of its biLM`);
  if (layers[layers.length - 1] !== layer) throw new SafetensorsError(`${path}: layers ${text} does not end at layer ${layer}`);
  if (kind === 'document' && layers.length > 1) throw new SafetensorsError(`${path}: a document classifier reads one layer, the file names ${text}`);
  return layers as number[];
}
