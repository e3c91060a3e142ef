/**
 * `tokenfilter train-classifier`: trains the biLM token and document classifiers.
 * - `--preset default --data DIR --out P`: biLM + probes from DIR/corpus (the token probe on
 *   documents spliced from paragraphs of every domain, labelled by each paragraph's domain); `--preset wordnet --out P`: from the built-in corpus's gold sentence
 *   spans. Every preset field can be overridden by its option.
 * - `--bilm B --train-labels SHARDS... --val-labels SHARDS... --out P`: a token probe on an
 *   existing biLM from token-label side files (e.g. the SAE labeller's).
 * - `--preset default --data DIR --bilm B --out P`: the preset's probes on a biLM the same preset
 *   (same seed and corpus options) made before, without pretraining.
 * Token probes try smoothing radii and two-state segmentations (`--no-segmentation` for
 * smoothing alone) and are chosen on the blend of the validation kinds.
 * Validation metrics print as each layer of the sweep finishes.
 * @module
 */
import type { Command } from 'commander';
import { prepareFileOutputs } from '../data/output_path.js';
import { SideFileKind, sideFilePathFor } from '../data/side_file.js';
import { BiLM } from '../classify/bilm.js';
import { labelsFromSideFile } from '../classify/labels.js';
import { describeScoreMethod } from '../classify/score_method.js';
import { TokenClassifier } from '../classify/token_classifier.js';
import { describeLayer } from '../classify/train_bilm_probe.js';
import { checkBlendObjective } from '../classify/blend_selection.js';
import { layerSetName, parseLayerChoices, type LayerChoice } from '../classify/layer_features.js';
import { CLASSIFIER_PRESETS, trainClassifierFromCorpus, type CorpusClassifierOptions, type CorpusClassifierReport } from '../classify/train_from_corpus.js';
import { parseReading, READINGS, type Reading } from '../classify/reading.js';
import { UsageError, numberOption, parseIntegerOption, writeJson, type CliIO } from './output.js';
import { stripUndefined } from '../options.js';

/** Options of `tokenfilter train-classifier`, as the CLI parses them. */
export interface TrainClassifierCommandOptions {
  out: string;
  preset?: string;
  data?: string;
  bilm?: string;
  trainLabels?: string[];
  valLabels?: string[];
  positive: number[];
  steps?: number;
  dim?: number;
  layers?: number;
  heads?: number;
  context?: number;
  batch?: number;
  vocabSize?: number;
  lr?: number;
  forgetWeight?: number;
  probeDocuments?: number;
  probeData?: string;
  charsPerDomain?: number;
  smoothing?: number[];
  segmentation: boolean;
  sentenceMixes: boolean;
  maxTrainTokens?: number;
  sweep?: LayerChoice[];
  mixtures?: number[];
  lexicon?: boolean;
  lexiconChars?: number;
  lexiconBits?: number;
  blend?: string;
  heldOutSentenceMixes?: number;
  reading?: Reading;
  l2?: number;
  document: boolean;
  compareUnidirectional?: boolean;
  seed?: number;
  json?: boolean;
}

const intList = (name: string) => (value: string) =>
  value.split(',').map((v) => parseIntegerOption(name, v.trim(), 0));

/** `--sweep`: layers and `+`-joined layer sets. */
const layerChoices = (value: string): LayerChoice[] => {
  try {
    return parseLayerChoices(value);
  } catch (error) {
    throw new UsageError(`--sweep: ${(error as Error).message}`, { cause: error });
  }
};

/** `--reading`: window or sentence (a UsageError naming the flag otherwise); eval-classifier's too. */
export const readingOption = (value: string): Reading => {
  try {
    return parseReading(value, '--reading');
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
};

/** The preset a `--preset` run starts from, its flags checked (before any output folder is made). */
function presetOf(options: TrainClassifierCommandOptions): (typeof CLASSIFIER_PRESETS)[keyof typeof CLASSIFIER_PRESETS] {
  const presetName = options.preset ?? 'default';
  if (!(presetName in CLASSIFIER_PRESETS)) throw new UsageError(`--preset must be ${Object.keys(CLASSIFIER_PRESETS).join(' or ')}, got '${presetName}'`);
  const preset = CLASSIFIER_PRESETS[presetName as keyof typeof CLASSIFIER_PRESETS];
  if (preset.corpus === 'domains' && !options.data) throw new UsageError(`--preset ${presetName} needs --data DIR (a folder holding corpus/*.jsonl.gz)`);
  if (options.blend !== undefined) {
    try {
      checkBlendObjective(options.blend);
    } catch (error) {
      throw new UsageError(`--blend: ${(error as Error).message}`);
    }
  }
  if (options.probeData !== undefined && options.probeData !== 'spliced' && options.probeData !== 'windows')
    throw new UsageError(`--probe-data must be spliced or windows, got '${options.probeData}'`);
  return preset;
}

/** Runs `train-classifier` and returns its report. */
export async function trainClassifierCommand(options: TrainClassifierCommandOptions, io: CliIO): Promise<unknown> {
  const log = (line: string) => io.stderr.write(`${line}\n`);
  const labelled = [...(options.trainLabels ?? []), ...(options.valLabels ?? [])];
  const fromLabels = options.bilm !== undefined && (options.trainLabels !== undefined || options.valLabels !== undefined || options.preset === undefined);
  const preset = fromLabels ? null : presetOf(options);
  await prepareFileOutputs([{ path: options.out, role: '--out' }], [
    ...(options.bilm !== undefined ? [{ path: options.bilm, role: '--bilm' }] : []),
    ...labelled.flatMap((path) => [{ path, role: 'input shard' }, { path: sideFilePathFor(path, SideFileKind.Labels), role: 'labels' }]),
  ]);
  if (!preset) {
    const bilmPath = options.bilm!; // fromLabels
    if (!options.trainLabels?.length || !options.valLabels?.length)
      throw new UsageError('--bilm needs --train-labels SHARDS... and --val-labels SHARDS... (token shards with .labels.side files)');
    const read = (shards: string[]) => {
      try {
        return shards.flatMap((s) => labelsFromSideFile(s, { positive: options.positive }));
      } catch (error) {
        throw new UsageError((error as Error).message, { cause: error });
      }
    };
    const bilm = await BiLM.load(bilmPath);
    const { classifier, sweep } = await TokenClassifier.train({
      bilm, bilmPath, train: read(options.trainLabels), val: read(options.valLabels), layers: options.sweep,
      maxTrainTokens: options.maxTrainTokens, seed: options.seed, logistic: { l2: options.l2 }, smoothing: options.smoothing,
      segmentation: options.segmentation, mixtures: options.mixtures, reading: options.reading, onLayer: (r) => log(describeLayer(r)),
    });
    await classifier.save(options.out);
    const summary = {
      command: 'train-classifier', out: options.out, layer: classifier.layer, layers: classifier.layers, threshold: classifier.threshold, smoothing: classifier.smoothing,
      scoring: describeScoreMethod(classifier.method), reading: classifier.reading, sweep,
    };
    if (options.json) writeJson(io, summary);
    else io.stdout.write(`token classifier at layer ${layerSetName(classifier.layers)} (threshold ${classifier.threshold.toFixed(3)}) → ${options.out}\n`);
    return summary;
  }
  const overrides: Partial<CorpusClassifierOptions> = {
    steps: options.steps, dModel: options.dim, layers: options.layers, heads: options.heads, context: options.context, batch: options.batch,
    vocabSize: options.vocabSize, lr: options.lr, forgetWeight: options.forgetWeight, probeDocuments: options.probeDocuments,
    maxTrainTokens: options.maxTrainTokens, sweepLayers: options.sweep, l2: options.l2, seed: options.seed,
    documentClassifier: options.document, compareUnidirectional: options.compareUnidirectional,
    probeData: options.probeData as CorpusClassifierOptions['probeData'], charsPerDomain: options.charsPerDomain, smoothing: options.smoothing,
    segmentation: options.segmentation, mixtures: options.mixtures, sentenceMixes: options.sentenceMixes, bilm: options.bilm, reading: options.reading,
    lexicon: options.lexicon, lexiconChars: options.lexiconChars, lexiconBits: options.lexiconBits,
    blendObjective: options.blend as CorpusClassifierOptions['blendObjective'], heldOutSentenceMixes: options.heldOutSentenceMixes,
  };
  const settings = { ...preset, ...stripUndefined(overrides) } as CorpusClassifierOptions;
  const report = await trainClassifierFromCorpus({ ...settings, data: options.data, out: options.out, onLog: log });
  if (options.json) writeJson(io, { command: 'train-classifier', ...report });
  else
    io.stdout.write(
      `${report.bilm.source === 'loaded' ? `biLM loaded from ${report.bilm.path} (not trained); ` : `biLM pretrained on ${report.bilm.trainTokensPerDirection} tokens per direction; `}` +
      `token classifier (layer ${layerSetName(report.tokenLayers)}, ${report.tokenReading} reading, ${report.tokenScoring}${lexiconNote(report)}, held-out F1 ${report.tokenKinds.map((k) => `${k.name} ${k.f1.toFixed(4)}`).join(', ')}) → ${report.files.tokenClassifier}; ` +
        `report ${report.files.report} (${report.seconds.toFixed(0)} s)\n`,
    );
  return report;
}

/** Adds `train-classifier` to the program. */
/** ', lexicon beside 0.02 x the probe' (or alone, or fitted and not kept) for the summary line; '' without a lexicon. */
function lexiconNote(report: CorpusClassifierReport): string {
  const l = report.tokenLexicon;
  if (!l) return '';
  if (l.probeWeight === null) return ', lexicon fitted but the probe alone won';
  return l.probeWeight === 0 ? ', lexicon alone (no biLM run when scoring)' : `, lexicon beside ${l.probeWeight} x the probe's logit`;
}

export function registerTrainClassifier(program: Command, io: CliIO): void {
  program
    .command('train-classifier')
    .description('train the biLM token / document classifiers (from a preset corpus, or a probe from token-label side files)')
    .requiredOption('--out <path>', 'token classifier file (.safetensors); the biLM, document classifier and report go beside it')
    .option('--preset <name>', 'default (needs --data) or wordnet (the built-in corpus)')
    .option('--data <dir>', 'data folder holding corpus/<domain>.{train,val}.jsonl.gz')
    .option('--bilm <path>', 'train only a token probe on this biLM, from --train-labels / --val-labels (or, with --preset, the preset\'s probes)')
    .option('--train-labels <shards...>', 'token shards with .labels.side files (training)')
    .option('--val-labels <shards...>', 'token shards with .labels.side files (layer sweep)')
    .option('--positive <ids>', 'label values that count as the forget class (comma-separated)', intList('--positive'), [1])
    .option('--steps <n>', 'biLM optimizer steps per direction', (v) => parseIntegerOption('--steps', v, 1))
    .option('--dim <n>', 'biLM width', (v) => parseIntegerOption('--dim', v, 2))
    .option('--layers <n>', 'biLM blocks', (v) => parseIntegerOption('--layers', v, 1))
    .option('--heads <n>', 'biLM attention heads', (v) => parseIntegerOption('--heads', v, 1))
    .option('--context <n>', 'biLM context', (v) => parseIntegerOption('--context', v, 2))
    .option('--batch <n>', 'biLM batch rows', (v) => parseIntegerOption('--batch', v, 1))
    .option('--vocab-size <n>', 'BPE vocabulary size', (v) => parseIntegerOption('--vocab-size', v, 260))
    .option('--lr <x>', 'biLM peak learning rate', numberOption('--lr', 0, 10))
    .option('--forget-weight <x>', 'share of biLM pretraining windows from the forget domain', numberOption('--forget-weight', 0.01, 0.99))
    .option('--probe-documents <n>', 'training documents per domain for the probes', (v) => parseIntegerOption('--probe-documents', v, 1))
    .option('--probe-data <kind>', "what the token probe trains on (--preset default): 'spliced' paragraphs of all domains or single-domain 'windows'")
    .option('--chars-per-domain <n>', 'characters read per domain for biLM pretraining (--preset default)', (v) => parseIntegerOption('--chars-per-domain', v, 1000))
    .option('--smoothing <radii>', 'score smoothing radii tried on validation data, comma-separated (0 = none; default 0,2,4,8,16,32,64,128)', intList('--smoothing'))
    .option('--no-segmentation', 'try smoothing radii only, not two-state segmentations of the probe scores')
    .option('--no-sentence-mixes', '--preset default: no sentence-level mixes in the probe data and validation')
    .option('--max-train-tokens <n>', 'fit the token probe on at most this many tokens', (v) => parseIntegerOption('--max-train-tokens', v, 2))
    .option('--sweep <layers>', "layers to sweep, comma-separated (default: the preset's; all with --train-labels); '+' joins layers read together (0,3,0+3)", layerChoices)
    .option('--mixtures <scales>', 'logit mixtures tried for every two single layers of the sweep: probe a + scale x probe b, comma-separated scales > 0 (default: the preset\'s; none with --train-labels)', (v) =>
      v.split(',').map((x) => numberOption('--mixtures', Number.MIN_VALUE, 1e6)(x.trim())))
    .option('--lexicon', "--preset: fit a lexicon of hashed words, word pairs, number shapes and punctuation and try it beside every probe of the sweep (the default preset's)")
    .option('--no-lexicon', '--preset: no lexicon')
    .option('--lexicon-chars <n>', "characters per domain of the training split the lexicon reads (default: the preset's)", (v) => parseIntegerOption('--lexicon-chars', v, 1000))
    .option('--blend <objective>', "what the choices on the held-out kinds maximise: mean (F1 over the kinds) or worst (the worst kind's F1; the default preset's)")
    .option('--held-out-sentence-mixes <n>', 'held-out sentence-level mixes the choices are made on (default: the preset\'s, else as many as the paragraph mixes)', (v) => parseIntegerOption('--held-out-sentence-mixes', v, 1))
    .option('--lexicon-bits <n>', "log2 of the lexicon's hashed buckets, 8 … 26 (default: the preset's, else 20)", (v) => parseIntegerOption('--lexicon-bits', v, 8, 26))
    .option('--reading <kind>', `how the biLM reads documents for the token probe: ${READINGS.join(' or ')} (each sentence alone; default: the preset's)`, readingOption)
    .option('--l2 <x>', 'L2 penalty of the probes', numberOption('--l2', 0, 1e6))
    .option('--no-document', 'skip the document classifier')
    .option('--compare-unidirectional', 'also sweep a forward-only probe on the same data (reported, not saved)')
    .option('--seed <n>', 'seed', (v) => parseIntegerOption('--seed', v, 0))
    .option('--json', 'print a JSON report on stdout')
    .action(async (options: TrainClassifierCommandOptions) => {
      await trainClassifierCommand(options, io);
    });
}
