/**
 * The native addon's exports as TypeScript sees them: one interface, {@link NativeAddon}, written
 * from the registrations in native/addon/*.cc (argument order as the bindings read `info[i]`).
 * Only lib/native.ts loads the addon; the wrapper classes (Transformer, SparseAutoencoder,
 * Tokenizer, LogisticModel) and a few functions (filterTokens, labelTokens, LatentMoments,
 * maxTokenId) call it. Every binding re-checks its arguments and throws a coded error
 * (js_error.h), so these types document the contract rather than enforce it.
 *
 * Letters in shapes: N rows (tokens), B batch, T positions, C model width, V vocabulary,
 * L latents of an SAE, S selected latents, D input width of an SAE.
 * @module
 */
import type { SaeConfig } from './label/sae.js';

/** A shared Int32Array word the native loop polls; 1 means stop (lib/abort.ts `nativeCancelFlag`). */
export type NativeCancel = Int32Array | undefined;

/** A micro-batch as the bindings read it (model_args.cc `read_batch`). */
export interface NativeBatch {
  batch: number;
  context: number;
  inputs: Uint32Array;
  targets: Uint32Array;
  lossMask: Uint8Array;
}

/** The transformer config the bindings read (model_args.cc `read_transformer_config`). */
export interface NativeTransformerConfig {
  vocabSize: number;
  dModel: number;
  layers: number;
  heads: number;
  hidden: number;
  context: number;
  tieEmbeddings: boolean;
  ropeBase: number;
  normEps: number;
}

/** One tensor of a model's flat parameter block (model_args.cc `tensor_table`). */
export interface NativeTensorInfo {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  /** Whether AdamW applies weight decay to it (matrices only). */
  decay: boolean;
}

/** Options of one training step (model_args.cc `read_step_options`). */
export interface NativeStepOptions {
  zeroGradients: boolean;
  update: boolean;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clip: number;
}

/** What a training step resolves to (model_args.cc `step_result`). */
export interface NativeStepResult {
  lossSum: number;
  supervised: number;
  tokens: number;
  gradNorm: number;
}

/** An opaque key/value cache for incremental decoding (transformer_binding.cc `newCache`). */
export type NativeKvCache = { readonly __kvCache: unique symbol };

/** `TransformerModel` (CPU) and `CudaTransformerModel`: a model, its gradients and AdamW state. */
export interface NativeTransformer {
  init(seed: number): Promise<void>;
  tensors(): NativeTensorInfo[];
  paramCount(): number;
  readParameters(out: Float32Array): void;
  writeParameters(parameters: Float32Array): void;
  readGradients(out: Float32Array): void;
  /** Copies the AdamW moments into `m` and `v`; returns the optimizer step. */
  readOptimizer(m: Float32Array, v: Float32Array): number;
  writeOptimizer(m: Float32Array, v: Float32Array, step: number): void;
  zeroGradients(): void;
  step(microBatches: NativeBatch[], options: NativeStepOptions, cancel?: NativeCancel): Promise<NativeStepResult>;
  /** Sum of the losses over supervised targets; per-position losses into `losses` [B·T] when given. */
  evaluate(batch: NativeBatch, losses?: Float32Array | null): Promise<{ lossSum: number; supervised: number }>;
  /** Logits [B, T, V] into `out`. */
  logits(tokens: Uint32Array, B: number, T: number, out: Float32Array): Promise<void>;
  /** The residual stream after block `layer - 1` (0 = embeddings, L + 1 = final norm) [B, T, C] into `out`. */
  hiddenStates(tokens: Uint32Array, B: number, T: number, layer: number, out: Float32Array): Promise<void>;
  /** CPU only: accumulates d(hidden)·dHidden into the gradients; resolves to S. */
  hiddenBackward(tokens: Uint32Array, B: number, T: number, layer: number, dHidden: Float32Array): Promise<number>;
  /** CPU only: per-head attention outputs of block `layer` [B, T, NH, hs]. */
  headOutputs(tokens: Uint32Array, B: number, T: number, layer: number): Promise<Float32Array>;
  /** CPU only: adds `shift` [L, C] to the attention output of each block (null clears). */
  setHeadShift(shift: Float32Array | null): void;
  /** CPU only: projects out and re-adds `directions` [L, C] scaled by `keep` [L] (null clears). */
  setResidualSteering(directions: Float32Array | null, keep?: Float32Array): void;
  /** CPU only: a new empty decoding cache. */
  newCache(): NativeKvCache;
  /** CPU only: appends `tokens` to the cache and resolves to the last position's logits [V]. */
  decode(cache: NativeKvCache, tokens: Uint32Array): Promise<Float32Array>;
}

/** The CPU model's extras (transformer_binding.cc). */
export interface NativeCpuTransformer extends NativeTransformer {
  activationBytesFor(batch: number, context: number): number;
  savedActivationBytesFor(batch: number, context: number): number;
  setProfiling(enabled: boolean): void;
  resetProfile(): void;
  /** Milliseconds per step spent in each op kind over `steps` steps. */
  profile(steps: number): Record<string, number>;
}

/** The CUDA model's extras (cuda_transformer_binding.cc). */
export interface NativeCudaTransformer extends NativeTransformer {
  device(): 'cuda';
}

/** Losses of one SAE step (sae_binding.cc `stats_object`). */
export interface NativeSaeStats {
  mse: number;
  variance: number;
  l0: number;
  aux: number;
  loss: number;
  dead: number;
}

/** `sae.SaeModel`: an SAE under training (parameters, gradients, Adam state). */
export interface NativeSaeModel {
  init(seed: number, initialThreshold: number): void;
  /** Sets the decoder bias from rows `x` [N, D] (the geometric median estimate). */
  initDecoderBias(x: Float32Array): void;
  paramCount(): number;
  readParameters(out: Float32Array): void;
  writeParameters(parameters: Float32Array): void;
  readGradients(out: Float32Array): void;
  /** Steps since each latent last fired [L]. */
  sinceFired(): Float64Array;
  forward(x: Float32Array, pre: Float32Array, f: Float32Array): void;
  lossAndGrad(x: Float32Array): NativeSaeStats;
  step(x: Float32Array, lr: number, beta1: number, beta2: number, eps: number): Promise<NativeSaeStats>;
}

/** The `sae` namespace (sae_binding.cc). */
export interface NativeSae {
  /** Reads every field of the resolved config as is (sae_binding.cc `construct`). */
  SaeModel: new (config: SaeConfig) => NativeSaeModel;
  /** JumpReLU codes of the selected latents: x [N, D] · encoder [D, S] → out [N, S]; rejects E_NOT_FINITE. */
  encodeSelected(x: Float32Array, dModel: number, scale: number, encoder: Float32Array, bias: Float32Array, threshold: Float32Array, out: Float32Array): Promise<void>;
  /** Keeps the k largest of each row of pre [N, L] into out (may be `pre`). */
  topkActivation(pre: Float32Array, latents: number, k: number, out: Float32Array): void;
  /** Welford update of per-latent mean and m2 over activations [N, S]; returns the new count. */
  latentMoments(activations: Float32Array, latents: number, count: number, mean: Float64Array, m2: Float64Array): number;
  /** Span labels from latent activations [T, S] into out [T]. */
  labelTokens(
    activations: Float32Array, latents: number, mean: Float32Array, std: Float32Array, z: number, minLatents: number,
    breakBefore: Uint8Array | undefined, blocked: Uint8Array | undefined, out: Uint8Array,
  ): { seeds: number; labelled: number };
}

/** The result of `filter.tokenFilter` (filter_binding.cc). */
export interface NativeFilterPass {
  lossMask: Uint8Array;
  /** Present when a hidden id was given (removal mode). */
  tokens?: Uint32Array;
  flagged: number;
  documents: number;
  emptied: number;
  /** Tokens per label value [256]. */
  labelTokens: Float64Array;
  /** Flagged tokens per label value [256]. */
  labelFlagged: Float64Array;
}

/** The `filter` namespace (filter_binding.cc). */
export interface NativeFilter {
  tokenFilter(
    tokens: Uint32Array, scores: Float32Array | Uint8Array, level: number, levelU8: number, eot: number, hidden: number,
    labels: Uint8Array | undefined, flagSeparators: boolean,
  ): NativeFilterPass;
  /** Index of the first score outside [0, 1] (or NaN), else -1. */
  firstInvalidProbability(scores: Float32Array): number;
}

/** A fitted logistic regression (logistic_binding.cc `FitWorker::Result`). */
export interface NativeLogisticFit {
  mean: Float64Array;
  invStd: Float64Array;
  w: Float64Array;
  b: number;
  loss: number;
  gradientNorm: number;
  iterations: number;
  converged: boolean;
}

/** The `logistic` namespace (logistic_binding.cc). */
export interface NativeLogistic {
  fit(
    x: Float32Array, y: Uint8Array, weight: Float32Array | undefined, n: number, d: number,
    options: { l2: number; maxIterations: number; tolerance: number; memory: number },
    onProgress?: (p: { iteration: number; loss: number; gradientNorm: number }) => void, cancel?: NativeCancel,
  ): Promise<NativeLogisticFit>;
  objective(
    x: Float32Array, y: Uint8Array, weight: Float32Array | undefined, n: number, d: number,
    mean: Float64Array, invStd: Float64Array, w: Float64Array, b: number, l2: number,
  ): { loss: number; gradient: Float64Array };
  /** Probabilities for x [n, d]. */
  predict(x: Float32Array, n: number, d: number, w: Float64Array, b: number): Float32Array;
}

/** What `Bpe` is built from (tokenizer.cc `construct`). */
export interface NativeBpeSpec {
  pretokenizer: string;
  mode: 'merges' | 'ranks';
  tokenBytes: Uint8Array;
  tokenOffsets: Uint32Array;
  /** Per id: 0 absent, 1 regular, 2 special. */
  kinds: Uint8Array;
  /** Merge pairs (mode 'merges'); absent for tiktoken ranks. */
  merges?: Uint32Array;
  wholePieceFirst?: boolean;
}

/** `Bpe`: a byte-level BPE encoder (tokenizer.cc). */
export interface NativeBpe {
  encode(text: string): Uint32Array;
  /** ids and the UTF-16 span [offsets[2i], offsets[2i + 1]) of each token. */
  encodeWithOffsets(text: string): { ids: Uint32Array; offsets: Uint32Array };
  encodeBatch(texts: string[], cancel?: NativeCancel, onProgress?: (p: { done: number; total: number }) => void): Promise<Uint32Array[]>;
  decode(ids: Uint32Array): string;
  /** Merges as flat (left, right) id pairs. */
  merges(): Uint32Array;
  clearCaches(): void;
  vocabSize(): number;
}

/** What `bpeTrain` resolves to (tokenizer.cc `TrainWorker::Result`). */
export interface NativeBpeTrained {
  tokenBytes: Uint8Array;
  tokenOffsets: Uint32Array;
  merges: Uint32Array;
}

/** The CPU part of `backendInfo` (backend.cc). */
export interface NativeBackendInfo {
  simd: 'scalar' | 'avx2' | 'avx512';
  detectedSimd: 'scalar' | 'avx2' | 'avx512';
  threads: number;
  hardwareThreads: number;
  maxThreads: number;
}

/** `CudaSaeEncoder`: an SAE encoder resident on the CUDA device (cuda_sae_binding.cc). */
export interface NativeCudaSaeEncoder {
  /** Codes [N, S] of x [N, dModel] × scale into `out`; rejects E_NOT_FINITE or E_DEVICE. */
  encode(x: Float32Array, scale: number, out: Float32Array): Promise<void>;
  /** Frees the device memory now. */
  dispose(): void;
}

/** What `cudaLoad` reports (cuda_binding.cc). */
export interface NativeCudaStatus {
  available: boolean;
  reason: string;
  path: string;
  devices: { name: string; memory: number; capability: string; multiprocessors: number; clockKhz: number }[];
}

/** GEMM precision on the device. */
export type NativeGemmPrecision = 'fp32' | 'tf32' | 'bf16';

/**
 * The kernel test hooks `_ops` (ops_binding.cc): one entry per op, forward and backward, over
 * caller-owned arrays (outputs first). Shapes: embedding out [N, C], wte [V, C]; rmsnorm rows
 * [N, C], rstd [N]; rope x rows of `rowStride` floats holding NH heads of hs; attention qkv
 * [B, T, 3C], out [B, T, C], lse [B, NH, T]; cross-entropy logits [N, V].
 */
export interface NativeOps {
  embeddingForward(out: Float32Array, tokens: Uint32Array, wte: Float32Array, N: number, C: number, V: number): void;
  /** Accumulates into dwte. */
  embeddingBackward(dwte: Float32Array, dout: Float32Array, tokens: Uint32Array, N: number, C: number, V: number): void;
  rmsnormForward(out: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number): void;
  /** Accumulates into dinp and dweight. */
  rmsnormBackward(dinp: Float32Array, dweight: Float32Array, dout: Float32Array, inp: Float32Array, weight: Float32Array, rstd: Float32Array, N: number, C: number): void;
  /** In place on x. */
  ropeForward(x: Float32Array, B: number, T: number, NH: number, hs: number, rowStride: number, base: number): void;
  ropeBackward(x: Float32Array, B: number, T: number, NH: number, hs: number, rowStride: number, base: number): void;
  attentionForward(out: Float32Array, lse: Float32Array, qkv: Float32Array, B: number, T: number, C: number, NH: number): void;
  attentionBackward(dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, out: Float32Array, lse: Float32Array, B: number, T: number, C: number, NH: number): void;
  relu2Forward(out: Float32Array, inp: Float32Array, n: number): void;
  relu2Backward(dinp: Float32Array, dout: Float32Array, inp: Float32Array, n: number): void;
  /** Sum of the masked per-row losses (written into `losses` when given). */
  crossEntropyForward(losses: Float32Array | null, logits: Float32Array, targets: Uint32Array, mask: Uint8Array | null, N: number, V: number): number;
  /** Like crossEntropyForward; overwrites `logits` with dloss/dlogits × dlossScale. */
  crossEntropyForwardBackward(logits: Float32Array, losses: Float32Array | null, targets: Uint32Array, mask: Uint8Array | null, N: number, V: number, dlossScale: number): number;
  adamwUpdate(
    params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number, gradScale: number,
  ): void;
  sumOfSquares(x: Float32Array): number;
}

/** The device kernel hooks `_cudaOps` (cuda_ops_binding.cc): the CPU set's arguments, plus GEMMs and the SAE encoder. */
export interface NativeCudaOps extends NativeOps {
  /** C = alpha·op(A)·op(B) + beta·C on the device. */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number,
    B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number, precision: NativeGemmPrecision,
  ): void;
  /** Seconds per device-resident GEMM of the given shape over `reps` runs. */
  gemmTime(transA: boolean, transB: boolean, M: number, N: number, K: number, precision: NativeGemmPrecision, reps: number): number;
  /** `sae.encodeSelected` on the device; returns whether every code is finite. */
  saeEncodeSelected(
    x: Float32Array, dModel: number, scale: number, encoder: Float32Array, bias: Float32Array, threshold: Float32Array,
    out: Float32Array, precision: NativeGemmPrecision,
  ): boolean;
}

/** Every export of the addon. */
export interface NativeAddon {
  backendInfo(): NativeBackendInfo;
  setThreads(threads: number): void;
  setSimd(level: 'scalar' | 'avx2' | 'avx512'): void;
  cudaLoad(path: string): NativeCudaStatus;
  maxTokenId(ids: Uint16Array | Uint32Array): number;
  TransformerModel: new (config: NativeTransformerConfig) => NativeCpuTransformer;
  CudaTransformerModel: new (config: NativeTransformerConfig, precision: string) => NativeCudaTransformer;
  /** An encoder [dModel, S] with bias [S] and threshold [S] on the device; k ≥ 1 adds TopK over the S latents. */
  CudaSaeEncoder: new (
    weight: Float32Array, bias: Float32Array, threshold: Float32Array, dModel: number, precision: NativeGemmPrecision, k: number,
  ) => NativeCudaSaeEncoder;
  Bpe: new (spec: NativeBpeSpec) => NativeBpe;
  bpeTrain(
    texts: string[], merges: number, pretokenizer: string, cancel?: NativeCancel,
    onProgress?: (p: { phase: number; done: number; total: number }) => void,
  ): Promise<NativeBpeTrained>;
  /** The pre-tokenizer's pieces as flat UTF-16 [start, end) pairs. */
  pretokenize(text: string, pretokenizer: string): Uint32Array;
  sae: NativeSae;
  filter: NativeFilter;
  logistic: NativeLogistic;
  /** Test hook: C = alpha·op(A)·op(B) + beta·C on the CPU; `visits` [M, N] counts each element's epilogue calls. */
  _gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number,
    B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number, visits?: Uint32Array,
  ): void;
  /** Test hook: the host model of the CUDA tiled GEMM (same arguments as `_gemm`, no `visits`), C updated in place. */
  _gemmTiledEmulate(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number,
    B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
  ): void;
  /** Test hook: the host model of the CUDA TopK kernel, in place on codes [N, L]. */
  _saeTopkEmulate(codes: Float32Array, L: number, k: number): void;
  _ops: NativeOps;
  /** Present when the build includes CUDA. */
  _cudaOps?: NativeCudaOps;
  /** Test hooks: a C++ exception thrown synchronously, and in a worker. */
  _throwNative(message: string): never;
  _rejectNative(message: string): Promise<never>;
}

/**
 * The names of {@link NativeAddon}'s members, checked both ways: the compiler refuses a list that
 * misses or invents a member, and test/lib/native_types.test.ts compares it with the loaded addon.
 */
export const NATIVE_EXPORT_NAMES = [
  'backendInfo', 'setThreads', 'setSimd', 'cudaLoad', 'maxTokenId', 'TransformerModel', 'CudaTransformerModel', 'CudaSaeEncoder', 'Bpe',
  'bpeTrain', 'pretokenize', 'sae', 'filter', 'logistic', '_gemm', '_gemmTiledEmulate', '_saeTopkEmulate', '_ops', '_cudaOps',
  '_throwNative', '_rejectNative',
] as const satisfies readonly (keyof NativeAddon)[];

type Missing = Exclude<keyof NativeAddon, (typeof NATIVE_EXPORT_NAMES)[number]>;
/** Compiles only while {@link NATIVE_EXPORT_NAMES} lists every member. */
export const NATIVE_EXPORTS_COMPLETE: [Missing] extends [never] ? true : Missing = true;
