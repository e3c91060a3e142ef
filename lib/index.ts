/**
 * tokenfilter: token-level data filtering for language-model pretraining. Find the tokens of a
 * domain in pretraining text and train a model that never learns from them.
 *
 * The two functions most users start from are {@link filterTokens} (per-token scores → what
 * to train on) and {@link trainMasked} (training with a per-token loss mask).
 * @module
 */

// errors
export { TokenfilterError, ERROR_CODES, isTokenfilterError, errorCode } from './errors.js';
export type { ErrorCode } from './errors.js';
export { isAborted } from './abort.js';

// steering and generation
export { setSteering, itiVector, headShiftBlock, residualBlock } from './steer/steering.js';
export type { Steering, HeadIntervention, ResidualIntervention } from './steer/steering.js';
export { generate, sampleToken } from './steer/generate.js';
export type { GenerateOptions } from './steer/generate.js';

// the mixture study (medical share in pretraining → separability, steering)
export { runMixtureExperiment, readMixtureResults, resolveMixtureOptions, MIXTURE_DEFAULTS } from './experiment/mixture/run_mixture.js';
export type { MixtureExperimentOptions, MixtureResults, MixtureRun, ResolvedMixtureOptions } from './experiment/mixture/run_mixture.js';
export { measureSeparability } from './experiment/mixture/separability.js';
export type { Separability, ProbeResult, HeadProbe, SeparabilityOptions } from './experiment/mixture/separability.js';
export { steeringSweep, alignability, itiSteering } from './experiment/mixture/steering_sweep.js';
export type { SteeringPoint, Alignability, SteeringSweepOptions, DomainLossTable } from './experiment/mixture/steering_sweep.js';
export { bestSteeredShare, checkComparisonSettings, COMPARISON_DEFAULTS } from './experiment/mixture/filtering_comparison.js';
export type { ComparisonSettings, FilteringComparison, SeedComparison, DefenceRecord } from './experiment/mixture/filtering_comparison.js';
export type { AttackRecord, AttackTarget } from './experiment/attack_stage.js';

// backend
export { backendInfo, setThreads, setSimdLevel } from './native.js';
export type { BackendInfo, SimdLevel, CudaBackend, CudaDevice } from './native.js';
export type { Device, DeviceRequest, Precision, DeviceOptions } from './device.js';

// data
export type { Batch } from './data/batch.js';
export { validateBatch } from './data/batch.js';
export { Tokenizer, EOT_TOKEN, HIDDEN_TOKEN } from './data/tokenizer.js';
export type { TrainOptions as TokenizerTrainOptions, EncodeBatchOptions } from './data/tokenizer.js';
export { readDocuments, listCorpusFiles, documentFormatOf, DocumentStream } from './data/read_documents.js';
export type { DocumentFormat } from './data/read_documents.js';
export type { Document, ReadDocumentsOptions, SkippedRecord } from './data/document.js';
export { MalformedRecordError } from './data/document.js';
export { spanLabelsToTokenLabels } from './data/span_labels.js';
export type { CharSpan, OverlapRule, SpanLabelOptions } from './data/span_labels.js';
export { transferLabels, toUtf16Offsets } from './data/transfer_labels.js';
export type { OffsetUnit, TransferRule, TransferLabelsOptions } from './data/transfer_labels.js';
export { writeRelabelledShards } from './data/relabelled_shards.js';
export type { ForeignLabelledDocument, RelabelledShardOptions, RelabelledShardSummary } from './data/relabelled_shards.js';
export { readShard, readShardHeader, writeShard, ShardFile } from './data/shard.js';
export type { Shard, ShardHeader, ReadShardOptions, ShardVersion, WritableShardVersion } from './data/shard.js';
export { exportNanoGpt, NANOGPT_MASK_CONVENTION, NANOGPT_MAX_VOCAB } from './data/nanogpt_export.js';
export type { NanoGptExport, NanoGptExportOptions, NanoGptSplit } from './data/nanogpt_export.js';
export { ShardWriter } from './data/shard_writer.js';
export type { ShardWriterOptions } from './data/shard_writer.js';
export { SideFileKind, readSideFile, readSideFileHeader, writeSideFile, sideFilePathFor, findSideFile, sideFileScores, quantizeScores } from './data/side_file.js';
export type { SideFile, SideFileHeader, ReadSideFileOptions, WriteSideFileOptions } from './data/side_file.js';
export type { TokenizerContract, RecordedContract } from './data/tokenizer_contract.js';
export { BatchSampler } from './data/sampler.js';
export type { BatchSamplerOptions, SamplerSource, SamplerState } from './data/sampler.js';
export { sequentialBatches } from './data/sequential_batches.js';
export type { SequentialBatch, SequentialBatchOptions, RowOrigin } from './data/sequential_batches.js';
export { encodeFloat16, decodeFloat16 } from './data/float16.js';
export { DOMAINS, FORGET_DOMAIN, FORGET_LABEL, FORGET_FIRST, EXPERIMENT_DOMAINS, DEMO_DOMAINS } from './data/domains.js';
export { loadDefaultCorpus, buildDefaultCorpus } from './data/default_corpus.js';
export type { CorpusDocument, DefaultCorpus, CorpusStats, DefaultCorpusOptions } from './data/default_corpus.js';
export { writeLabelledShards } from './data/labelled_shards.js';
export type { LabelledShardOptions, LabelledShardSummary } from './data/labelled_shards.js';

// model
export { Transformer } from './model/transformer.js';
export type { ParameterCount, TensorInfo, TokenShape } from './model/transformer.js';
export { transformerParameterCount } from './model/parameter_count.js';
export { resolveTransformerConfig, ladderConfig, TRANSFORMER_DEFAULTS } from './model/config.js';
export type { TransformerConfig, TransformerOptions, LadderOptions } from './model/config.js';
export { trainMasked, TRAIN_DEFAULTS } from './model/train.js';
export type { TrainOptions, TrainProgress, TrainSummary } from './model/train.js';
export { loadCheckpoint, saveCheckpoint, restoreCheckpoint } from './model/checkpoint.js';
export type { TrainingState, RestoreOptions } from './model/checkpoint.js';
export { readSafetensors, readSafetensorsMetadata, writeSafetensors, parseSafetensors, SafetensorsError } from './model/safetensors.js';
export { readModelTokenizer, tokenizerMetadata, tokenizerFromMetadata, TOKENIZER_JSON_METADATA_KEY } from './model/model_tokenizer.js';
export type { EmbedTokenizerOptions } from './model/model_tokenizer.js';
export { readModelContract, TOKENIZER_METADATA_KEY } from './model/model_contract.js';
export type { SafetensorsContents, SafetensorsTensor, SafetensorsDtype, TensorToWrite } from './model/safetensors.js';
export { cosineSchedule } from './model/schedule.js';
export type { CosineScheduleOptions } from './model/schedule.js';

// filter
export { filterTokens } from './filter/filter_tokens.js';
export type { FilterMode, FilterOptions, FilterResult, FilterStats, LabelStats } from './filter/filter_tokens.js';
export { thresholdForFraction } from './filter/threshold.js';
export type { TokenScores } from './filter/threshold.js';
export { ScoreHistogram } from './filter/score_histogram.js';
export { filterShards } from './filter/filter_shards.js';
export { summarizeRun } from './filter/run_summary.js';
export type { RunStage, RunSummary, StageSummary, TaskSummary } from './filter/run_summary.js';
export type { FilterSettings, FilterShardsOptions, FilterShardsProgress, FilterShardsResult, ShardFilterRecord } from './filter/filter_shards.js';
export type { FileDigest, ShardRecordCore } from './stages/shard_record.js';
export { runShards, shardStem } from './stages/shard_runner.js';
export type { RolePath } from './data/output_path.js';
export type { ShardEvent, ShardRunOptions, ShardRunResult, ShardStage, ShardTask, StageRecord, TaskShard } from './stages/shard_runner.js';

// evaluation
export { domainLosses } from './eval/domain_loss.js';
export type { DomainLoss, DomainLossOptions, LabelledTokens } from './eval/domain_loss.js';
export { fitPowerLaw, predictLoss, computeForLoss, relativeComputeSlowdown } from './eval/scaling.js';
export type { ComputeLossPoint, PowerLawFit, Slowdown, SlowdownOptions } from './eval/scaling.js';

export { flipFlags, flipFlagsAtFraction, flagErrorRate } from './eval/label_noise.js';
export { adversarialFinetune, lrSweepFinetune, forgetLoss, FINETUNE_DEFAULT_LR, SWEEP_DEFAULT_LRS } from './eval/adversarial_finetune.js';
export type { AdversarialFinetuneOptions, AdversarialFinetuneResult, ForgetEvalStream, ForgetLossOptions, RecoveryPoint, BatchSource, LrSweepOptions, LrSweepResult, SweepRun } from './eval/adversarial_finetune.js';
export { rmu, rmuDirection, RMU_DEFAULTS } from './eval/rmu.js';
export type { RmuOptions, RmuPoint, RmuResult } from './eval/rmu.js';
export { readMcq, toMcqQuestion, MAX_CHOICES } from './eval/mcq_questions.js';
export type { McqQuestion, ReadMcqOptions } from './eval/mcq_questions.js';
export { scoreMcq, mcqTemplate, clozePrompt, letterPrompt, letterTokenIds, MCQ_DEFAULTS } from './eval/mcq.js';
export type { McqFormat, McqTemplate, ScoreMcqOptions, McqProgress, McqRecord, McqFormatResult, McqResult } from './eval/mcq.js';
export { summariseMcq, normalisedScores } from './eval/mcq_summary.js';
export type { McqNormalisation, McqGroupScore, McqBreakdown, McqScoredQuestion } from './eval/mcq_summary.js';

// experiments
export { runFilteringExperiment } from './experiment/filtering_experiment.js';
export { EXPERIMENT_DEFAULTS } from './experiment/experiment_options.js';
export type { FilteringExperimentOptions } from './experiment/experiment_options.js';
export { readExperimentResults } from './experiment/experiment_results.js';
export type { FilteringExperimentResults, ExperimentRun, SlowdownRecord, ValidationF1 } from './experiment/experiment_results.js';
export type { StreamBuild } from './experiment/stream_builds.js';
export { parseModelSize, sizeName } from './experiment/model_size.js';
export type { ModelSize } from './experiment/model_size.js';
export { buildDomainCorpus } from './experiment/domain_corpus.js';
export type { DomainCorpus, DomainCorpusOptions } from './experiment/domain_corpus.js';
export { buildMixedCorpus, labelWebDocument } from './experiment/mixed_corpus.js';
export type { MixedCorpus, MixedCorpusOptions, MixingStats } from './experiment/mixed_corpus.js';
export { stepsForSupervisedTokens, delayedBatches, supervisedIn } from './experiment/training_schedule.js';
export type { ComputeMatch } from './experiment/training_schedule.js';
export { documentClassifierScores, documentClassifierPathFor } from './experiment/document_scores.js';
export type { DocumentScorer } from './experiment/document_scores.js';
export { seedGroups, spreadOf, spreadText } from './experiment/seed_summary.js';
export type { SeedGroup, Spread } from './experiment/seed_summary.js';

// labelling with sparse autoencoders
export { SparseAutoencoder, SAE_DEFAULTS, SAE_FORMAT, resolveSaeConfig } from './label/sae.js';
export type { SaeConfig, SaeKind, SaeOptions, SaeLayout, SelectedEncoder } from './label/sae.js';
export { trainSae } from './label/train_sae.js';
export type { TrainSaeOptions, TrainSaeProgress, TrainSaeSummary } from './label/train_sae.js';
export { LatentMoments } from './label/latent_moments.js';
export { LatentSelector, SELECT_DEFAULTS } from './label/select_latents.js';
export type { LatentScore, LatentContext, LatentRanking, SelectLatentsOptions } from './label/select_latents.js';
export { labelTokens, labelTokensWithEot, LABEL_DEFAULTS } from './label/label_tokens.js';
export type { LabelTokensOptions } from './label/label_tokens.js';
export { labelShards } from './label/label_shards.js';
export { fitSaeLabeller, SAE_LABELLER_DEFAULTS } from './label/sae_labeller.js';
export type { FitSaeLabellerOptions, SaeLabeller } from './label/sae_labeller.js';
export { chooseRule } from './label/rule_choice.js';
export type { RuleCandidates, RuleChoice, RuleScore, RuleSample } from './label/rule_choice.js';
export type { LabelSettings, LabelShardsOptions, LabelShardsProgress, LabelShardsResult, ShardLabelRecord } from './label/label_shards.js';
export { tokenActivations, shardActivations, writeActivationsNpy, readActivations } from './label/activations.js';
export type { ActivationOptions, ActivationBlock } from './label/activations.js';
export { readNpy, readNpz, parseNpy, parseNpz, encodeNpy, encodeNpz, NpyError } from './label/npz.js';
export type { NpyArray } from './label/npz.js';

// classifiers
export { BiLM, reverseBatch, BILM_FORMAT } from './classify/bilm.js';
export type { BiLMOptions, FeatureOptions, FeatureDirection } from './classify/bilm.js';
export { fitLogistic, LogisticModel, LOGISTIC_DEFAULTS } from './classify/logistic.js';
export type { LogisticOptions, ClassWeighting } from './classify/logistic.js';
export { TokenClassifier } from './classify/token_classifier.js';
export type { TrainTokenClassifierOptions, LayerResult, ValidationSet, KindMetrics, LexiconUse } from './classify/token_classifier.js';
export { LEXICON_PROBE_WEIGHTS } from './classify/token_classifier.js';
export { Lexicon, LEXICON_DEFAULTS, LEXICON_FEATURES, FIRST_LEXICON_FEATURES, checkLexiconBits, checkLexiconFeatures, combineWithLexicon, tokenWords, wordShape } from './classify/lexicon.js';
export type { LexiconOptions, LexiconFit, LexiconFeature, TokenWords } from './classify/lexicon.js';
export type { Reading } from './classify/reading.js';
export { featuresOfLayers, layerSetOf, layerSetName, layerSetDimension, parseLayerChoices } from './classify/layer_features.js';
export type { LayerSet, LayerChoice } from './classify/layer_features.js';
export { mixProbes, probeLogits, mixedProbabilities, checkMixtureScales, DEFAULT_MIXTURE_SCALES } from './classify/logit_mixture.js';
export { segmentScores, boundaryIds, boundariesOf, Boundary } from './classify/segmentation.js';
export type { SegmentationParams } from './classify/segmentation.js';
export { applyScoreMethod, describeScoreMethod, parseScoreMethod, candidateMethods, DEFAULT_SEGMENTATION_GRID, LEXICON_SEGMENTATION_GRID } from './classify/score_method.js';
export type { ScoreMethod, SegmentationGrid } from './classify/score_method.js';
export { blendThreshold, checkBlendObjective, selectOnBlend } from './classify/blend_selection.js';
export type { BlendObjective, BlendResult, KindScores } from './classify/blend_selection.js';
export { mixSentences, sentenceMixesOf, sentencesOf, insertableSentences, DEFAULT_SENTENCE_RATES } from './classify/sentence_mixes.js';
export type { SentenceMixDocument, SentenceMixOptions } from './classify/sentence_mixes.js';
export { webDocuments, hostChunks, DEFAULT_WEB_RATES, WEB_DOCUMENT_DEFAULTS } from './classify/web_documents.js';
export type { WebDocument, WebDocumentOptions, HostDocument } from './classify/web_documents.js';
export { renderPieces } from './classify/mixed_text.js';
export type { TextPiece, RenderedText } from './classify/mixed_text.js';
export { DocumentClassifier } from './classify/document_classifier.js';
export type { LabelledDocument, TrainDocumentClassifierOptions, DocumentLayerResult } from './classify/document_classifier.js';
export { UNLABELLED, broadcastLabel, labelsFromSpans, labelsFromSideFile, labelsFromScores } from './classify/labels.js';
export type { LabelledSequence } from './classify/labels.js';
export { binaryMetrics, precisionRecallCurve, auroc, precisionRecallF1 } from './classify/metrics.js';
export type { BinaryMetrics, PrPoint, PrecisionRecallF1 } from './classify/metrics.js';
export { scoreShards } from './classify/score_shards.js';
export type { ScoreSettings, ScoreShardsOptions, ScoreShardsProgress, ScoreShardsResult, ShardScoreRecord, ShardScoreStats } from './classify/score_shards.js';
export { trainBiLMProbe } from './classify/train_bilm_probe.js';
export type { BiLMProbeOptions, BiLMProbeResult } from './classify/train_bilm_probe.js';
export { trainClassifierFromCorpus, CLASSIFIER_PRESETS } from './classify/train_from_corpus.js';
export type { CorpusClassifierOptions, CorpusClassifierReport } from './classify/train_from_corpus.js';
export { evaluateTokenClassifier, evaluateTokenClassifierOn, evaluateDocumentClassifier } from './classify/evaluate.js';
export type { Evaluation, EvaluateOptions, SpannedText } from './classify/evaluate.js';

// the demo
export { runDemo, DEMO_DEFAULTS } from './demo/run_demo.js';
export type { DemoOptions, DemoReport, DemoRun, DemoLabels, ResolvedDemoOptions } from './demo/run_demo.js';
export type { SaeChainSettings, SaeChainReport, GoldAgreement } from './demo/sae_chain.js';

// pipeline stages (docs/stages.md): one file each, with its defaults, resolve() and run()
export { checkOptionKeys, nearestName } from './stages/option_keys.js';
export { corpusTokenizer, domainTrainTexts, joinDocuments, spanTokenLabels, writeLabelledShard, TOKENIZE_STAGE_DEFAULTS } from './stages/tokenize.js';
export type { TokenizerStageOptions, DocumentTokens, JoinOptions } from './stages/tokenize.js';
export { runLabel, resolveLabel, selectMinLatents, LABEL_STAGE_DEFAULTS } from './stages/label.js';
export type { LabelStageOptions, ResolvedLabelOptions } from './stages/label.js';
export { runScore, resolveScore, SCORE_STAGE_DEFAULTS } from './stages/score.js';
export { runFilter, resolveFilter, filterToShard, FILTER_STAGE_DEFAULTS, BINARY_SCORE_THRESHOLD } from './stages/filter.js';
export type { FilterJob, FlagRule } from './stages/filter.js';
export { runTrain, resolveTrain, openStream, TRAIN_STAGE_DEFAULTS } from './stages/train.js';
export type { TrainStageOptions, TrainStageResult, ResolvedTrainOptions, TrainingStream, ModelShape, BatchSettings, OpenedBatches } from './stages/train.js';
export { runEvaluate, resolveEvaluate, EVALUATE_STAGE_DEFAULTS } from './stages/evaluate.js';
export type { EvaluateStageOptions, DomainLossRows } from './stages/evaluate.js';
export { runFilteredModel } from './stages/filtered_run.js';
export type { FilteredRunJob, FilteredRunResult, ScoredStream } from './stages/filtered_run.js';
export { corpusFile, missingCorpusFiles, readCorpusTexts, readSplitByDomain } from './data/corpus_layout.js';
export type { CorpusSplit } from './data/corpus_layout.js';

// types (and constants) that appear in the signatures above, exported so that users can name them
// and the API reference resolves every link
export type { LossMaskMode } from './data/shard_windows.js';
export type { Domain } from './data/wordnet_domains.js';
export type { SplitStats } from './data/default_corpus.js';
export type { OffsetTokenizer, SpannedDocument } from './data/labelled_shards.js';
export type { TensorData } from './model/safetensors.js';
export type { HistogramScores } from './filter/score_histogram.js';
export { DEFAULT_SMOOTHING_RADII } from './classify/token_classifier.js';
export { smoothScores, lineBreakIds } from './classify/smoothing.js';
export { insertedCount } from './classify/sentence_mixes.js';
export { Random, Sfc32 } from './data/random.js';
