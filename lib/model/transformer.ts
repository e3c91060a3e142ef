/**
 * The GPT-style Transformer: token embedding (tied with the LM head by default), pre-RMSNorm
 * blocks of causal RoPE self-attention and a ReLU² MLP, no biases, final RMSNorm. Arithmetic
 * runs in the native core; every long call returns a Promise and runs off the JS thread.
 *
 * Tensor names (PyTorch-friendly, linear weights stored [out, in], row-major float32):
 * `wte` [V, C]; `blocks.{l}.attn_norm.weight` [C]; `blocks.{l}.attn.qkv.weight` [3C, C] (rows
 * q, then k, then v; RoPE rotates pairs (d, d + hs/2) of each head, angle t·base^(−2d/hs));
 * `blocks.{l}.attn.proj.weight` [C, C]; `blocks.{l}.mlp_norm.weight` [C];
 * `blocks.{l}.mlp.fc.weight` [H, C]; `blocks.{l}.mlp.proj.weight` [C, H];
 * `final_norm.weight` [C]; `lm_head.weight` [V, C] only when embeddings are untied (otherwise
 * the head is `wte`).
 * @module
 */
import { validateBatch, type Batch } from '../data/batch.js';
import { resolveDevice, resolvePrecision, type Device, type DeviceOptions, type Precision } from '../device.js';
import { TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';
import { native } from '../native.js';
import type { NativeBatch, NativeCancel, NativeKvCache, NativeStepOptions, NativeStepResult, NativeTransformer } from '../native_types.js';
import { resolveTransformerConfig, type TransformerConfig, type TransformerOptions } from './config.js';
import { checkTransformerTensors, findTensor } from './expected_tensors.js';
import { transformerParameterCount, type ParameterCount } from './parameter_count.js';
import { readSafetensors, writeSafetensors, SafetensorsError, type SafetensorsContents, type TensorToWrite } from './safetensors.js';
import { generate, type GenerateOptions } from '../steer/generate.js';

/** Format identifier written to `__metadata__.format` of model files. */
export const MODEL_FORMAT = 'tokenfilter.transformer';
/** Version of the model file layout. */
export const MODEL_FORMAT_VERSION = '1';

/** One named parameter tensor: where it lives in the flat parameter block. */
export interface TensorInfo {
  name: string;
  shape: number[];
  /** Offset in floats into the flat parameter block. */
  offset: number;
  /** Element count. */
  size: number;
  /** Whether weight decay applies (linear layers' matrices). */
  decay: boolean;
}

export type { ParameterCount };

/** Shape of a flat token array: `batch` sequences of `context` tokens. */
export interface TokenShape {
  /** Default 1. */
  batch?: number;
  /** Default tokens.length / batch. */
  context?: number;
}


/**
 * A GPT-style decoder with its AdamW state, held in native memory. Create with
 * {@link Transformer.create} (random init) or {@link Transformer.load}; train with
 * `trainMasked`. One operation at a time: a call made while another is running on the same
 * model throws (or rejects) with a "busy" Error.
 *
 * @example
 * ```ts
 * const model = await Transformer.create({ vocabSize: 256, dModel: 128, layers: 2, heads: 2, context: 128 });
 * const loss = await model.loss(batch);            // mean over unmasked targets
 * const h = await model.hiddenStates(tokens, 1);   // residual stream after block 1
 * await model.save('model.safetensors');
 * ```
 */
export class Transformer {
  /** The resolved configuration. */
  readonly config: TransformerConfig;
  /** The device holding the parameters, gradients and AdamW state ('cpu' or 'cuda'). */
  readonly device: Device;
  /** GEMM precision on the device (the CPU always computes in fp32). */
  readonly precision: Precision;
  /** @internal the native model (parameters, gradients, AdamW state). */
  readonly native: NativeTransformer;
  private readonly table: TensorInfo[];

  private constructor(config: TransformerConfig, options: DeviceOptions = {}) {
    this.config = config;
    this.device = resolveDevice(options.device);
    this.precision = resolvePrecision(options.precision);
    this.native =
      this.device === 'cuda' ? new native.CudaTransformerModel(config, this.precision) : new native.TransformerModel(config);
    this.table = this.native.tensors();
  }

  /**
   * Creates a model with GPT-2-style initialisation from `options.seed`: matrices and the
   * embedding N(0, 0.02), residual projections (`attn.proj`, `mlp.proj`) N(0, 0.02/√(2L)),
   * norm gains 1. Defaults: see {@link resolveTransformerConfig}. `device` (default
   * TOKENFILTER_DEVICE, else 'cpu') and `precision` (default 'fp32') pick where it runs; the
   * same seed gives the same parameters on every device.
   * @throws TypeError / RangeError for an invalid or misspelled option; TokenfilterError
   *   E_DEVICE when `device: 'cuda'` is not available (the message says why).
   */
  static async create(options: TransformerOptions & DeviceOptions): Promise<Transformer> {
    const { device, precision, ...config } = options;
    const model = new Transformer(resolveTransformerConfig(config), { device, precision });
    await model.native.init(model.config.seed);
    return model;
  }

  /** @internal a model with zero parameters, to be filled by a loader. */
  static uninitialized(config: TransformerConfig, options: DeviceOptions = {}): Transformer {
    return new Transformer(resolveTransformerConfig(config), options);
  }

  /**
   * Loads a model saved by {@link Transformer.save} (or the parameters of a training
   * checkpoint) onto `options.device` (files are the same whatever device wrote them).
   * @throws SafetensorsError for a malformed file, a wrong format, a missing, unexpected or
   *   misshapen tensor, a non-F32 dtype or a non-finite value (tensors are checked against the
   *   config before the model is allocated); TokenfilterError E_TOO_LARGE for a config beyond
   *   MAX_LOAD_PARAMETERS; E_DEVICE as {@link create}.
   */
  static async load(path: string, options: DeviceOptions = {}): Promise<Transformer> {
    const file = await readSafetensors(path);
    const config = configFromMetadata(file, path);
    checkTransformerTensors(file, config, path, '');
    const model = Transformer.uninitialized(config, options);
    model.setParameters(parametersFromFile(model, file, path, ''));
    return model;
  }

  /**
   * Saves the parameters and config as safetensors (atomic write). `metadata` strings are
   * added to the file's `__metadata__` (keys `format`, `format_version`, `config` are reserved).
   */
  async save(path: string, metadata: Record<string, string> = {}): Promise<void> {
    await writeSafetensors(path, this.namedTensors(this.getParameters(), ''), { ...metadata, ...this.fileMetadata() });
  }

  /** @internal the metadata identifying this model in a file. */
  fileMetadata(): Record<string, string> {
    return { format: MODEL_FORMAT, format_version: MODEL_FORMAT_VERSION, config: JSON.stringify(this.config) };
  }

  /** @internal views of `flat` (a parameter-block-shaped array) per tensor, names prefixed. */
  namedTensors(flat: Float32Array, prefix: string): [string, TensorToWrite][] {
    return this.table.map((t) => [prefix + t.name, { dtype: 'F32', shape: t.shape, data: flat.subarray(t.offset, t.offset + t.size) }]);
  }

  /** The named parameter tensors and where they live in the flat block. */
  tensorInfo(): TensorInfo[] {
    return this.table.map((t) => ({ ...t, shape: [...t.shape] }));
  }

  /** Copies of every parameter tensor by name, in module order. */
  tensors(): Map<string, { shape: number[]; data: Float32Array }> {
    const flat = this.getParameters();
    return new Map(this.table.map((t) => [t.name, { shape: [...t.shape], data: flat.slice(t.offset, t.offset + t.size) }]));
  }

  /** A copy of the flat parameter block (layout: {@link tensorInfo}). */
  getParameters(): Float32Array {
    const out = new Float32Array(this.native.paramCount());
    this.native.readParameters(out);
    return out;
  }

  /**
   * Replaces the flat parameter block.
   * @throws RangeError for a wrong length or a non-finite value (naming its index).
   */
  setParameters(parameters: Float32Array): void {
    this.native.writeParameters(parameters);
  }

  /** A copy of the gradient block (what the last training step accumulated). */
  getGradients(): Float32Array {
    const out = new Float32Array(this.native.paramCount());
    this.native.readGradients(out);
    return out;
  }

  /** Sets the gradient block to zero (before accumulating with {@link hiddenStateBackward}). */
  zeroGradients(): void {
    this.native.zeroGradients();
  }

  /** @internal copies of the AdamW moments and the optimizer step (checkpoints). */
  optimizerState(): { m: Float32Array; v: Float32Array; step: number } {
    const n = this.native.paramCount();
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const step = this.native.readOptimizer(m, v);
    return { m, v, step };
  }

  /**
   * @internal replaces the AdamW moments and step (checkpoints); with no arguments, resets them
   * to zero and step 0 (a fresh optimizer on the current parameters).
   */
  setOptimizerState(state?: { m: Float32Array; v: Float32Array; step: number }): void {
    const n = this.native.paramCount();
    if (state) this.native.writeOptimizer(state.m, state.v, state.step);
    else this.native.writeOptimizer(new Float32Array(n), new Float32Array(n), 0);
  }

  /** @internal one optimizer step over validated micro-batches (trainMasked owns the checks and the schedule). */
  trainStep(microBatches: NativeBatch[], options: NativeStepOptions, cancel?: NativeCancel): Promise<NativeStepResult> {
    return this.native.step(microBatches, options, cancel);
  }

  /** @internal sets the steering blocks the forward pass applies (lib/steer validates them); null clears. */
  setSteeringBlocks(headShift: Float32Array | null, residual: { directions: Float32Array; keep: Float32Array } | null): void {
    this.native.setHeadShift(headShift);
    if (residual) this.native.setResidualSteering(residual.directions, residual.keep);
    else this.native.setResidualSteering(null);
  }

  /** @internal a new empty KV cache for {@link decode} (CPU only). */
  newDecodeCache(): NativeKvCache {
    return this.native.newCache();
  }

  /** @internal appends `tokens` to `cache` and resolves to the last position's logits [V] (CPU only). */
  decode(cache: NativeKvCache, tokens: Uint32Array): Promise<Float32Array> {
    return this.native.decode(cache, tokens);
  }

  /**
   * Backpropagation from a hidden state: runs the forward pass up to `layer` (numbered as in
   * {@link hiddenStates}) on `tokens`, then ACCUMULATES into the gradient block (read it with
   * {@link getGradients}; clear it with {@link zeroGradients}) the gradient of
   * S = Σ dHidden ⊙ h_layer(tokens), i.e. backpropagates `dHidden` [B, T, C] = ∂S/∂h_layer down
   * to the embedding. Parameters that do not feed h_layer (blocks at or above `layer` in
   * 0-based tensor names, `final_norm` unless layer = L + 1, an untied LM head) get nothing.
   * Resolves to S (accumulated in float64). The parameters and the AdamW state are unchanged.
   * @throws TypeError / RangeError for a non-Float32Array or misshapen `dHidden`, a non-finite
   *   value in it, a layer outside [0, L + 1] and as {@link logits}.
   */
  async hiddenStateBackward(tokens: Uint32Array, layer: number, dHidden: Float32Array, shape: TokenShape = {}): Promise<number> {
    if (this.device === 'cuda')
      throw new TokenfilterError('E_DEVICE', "hiddenStateBackward runs on the CPU only: load the model with device 'cpu'");
    const [B, T] = resolveShape(tokens, shape);
    return this.native.hiddenBackward(tokens, B, T, layer, dHidden);
  }

  /** Parameter counts: total and non-embedding ({@link transformerParameterCount} of the config). */
  parameterCount(): ParameterCount {
    return transformerParameterCount(this.config);
  }

  /**
   * Training FLOPs per token at sequence length `context` (default: the config's): 6 × the
   * parameters that take part in matrix products (block matrices and the LM head, V·C) plus
   * causal attention 6·L·T·C (scores and weighted values over T/2 keys on average, forward and
   * backward). Training FLOPs = this × tokens.
   */
  flopsPerToken(context = this.config.context): number {
    const { vocabSize: V, dModel: C, layers: L, hidden: H } = this.config;
    const matmulParams = L * (4 * C * C + 2 * C * H) + V * C;
    return 6 * matmulParams + 6 * L * context * C;
  }

  /**
   * Mean cross-entropy (nats) over the unmasked targets of `batch`; 0 for a fully masked batch.
   * @throws TypeError / RangeError for a malformed batch or ids ≥ vocabSize; Error if the model
   *   is busy with another call.
   */
  async loss(batch: Batch): Promise<number> {
    validateBatch(batch, this.config.vocabSize);
    const r = await this.native.evaluate(batch);
    return r.supervised > 0 ? r.lossSum / r.supervised : 0;
  }

  /** Per-position losses (nats), 0 at masked positions; length B × T. Throws as {@link loss}. */
  async tokenLosses(batch: Batch): Promise<Float32Array> {
    validateBatch(batch, this.config.vocabSize);
    const out = new Float32Array(batch.batch * batch.context);
    await this.native.evaluate(batch, out);
    return out;
  }

  /**
   * Logits [B, T, V] for token ids [B, T].
   * @throws RangeError for ids ≥ vocabSize, a shape that does not match, or T > context.
   */
  async logits(tokens: Uint32Array, shape: TokenShape = {}): Promise<Float32Array> {
    const [B, T] = resolveShape(tokens, shape);
    const out = new Float32Array(B * T * this.config.vocabSize);
    await this.native.logits(tokens, B, T, out);
    return out;
  }

  /**
   * Hidden states [B, T, C] at `layer`: 0 = token embeddings (the residual stream entering
   * block 0); l in 1..L = the residual stream after block l; L + 1 = the final RMSNorm's output
   * (what the LM head reads).
   * @throws RangeError for a layer outside [0, L + 1] and as {@link logits}.
   */
  async hiddenStates(tokens: Uint32Array, layer: number, shape: TokenShape = {}): Promise<Float32Array> {
    const [B, T] = resolveShape(tokens, shape);
    const out = new Float32Array(B * T * this.config.dModel);
    await this.native.hiddenStates(tokens, B, T, layer, out);
    return out;
  }

  /**
   * Every head's output in block `layer` (0-based, < layers): the attention output before the
   * output projection, [B, T, heads, headSize] flattened, so head h at (b, t) is the slice
   * `((b·T + t)·dModel + h·headSize) … + headSize` (headSize = dModel / heads). Includes any head
   * shift set by steering.
   * @throws RangeError for a layer out of range or a shape mismatch.
   */
  async headOutputs(tokens: Uint32Array, layer: number, shape: TokenShape = {}): Promise<Float32Array> {
    const [B, T] = resolveShape(tokens, shape);
    return this.native.headOutputs(tokens, B, T, layer);
  }

  /**
   * Samples a continuation of `prompt` with a KV cache; see {@link generate} (lib/steer) for the
   * options (maxTokens, temperature, topK, seed, stopToken, steering, signal).
   */
  async generate(prompt: Uint32Array, options: GenerateOptions = {}): Promise<Uint32Array> {
    return generate(this, prompt, options);
  }
}

function resolveShape(tokens: Uint32Array, shape: TokenShape): [number, number] {
  if (!(tokens instanceof Uint32Array)) throw new CodedTypeError('tokens must be a Uint32Array');
  const B = shape.batch ?? 1;
  if (!Number.isInteger(B) || B < 1) throw new CodedRangeError(`batch must be a positive integer, got ${B}`);
  const T = shape.context ?? tokens.length / B;
  if (!Number.isInteger(T) || T < 1 || B * T !== tokens.length)
    throw new CodedRangeError(`tokens has length ${tokens.length}, which is not batch × context (${B} × ${shape.context ?? '?'})`);
  return [B, T];
}

/** @internal the config recorded in a model or checkpoint file. */
export function configFromMetadata(file: SafetensorsContents, source: string): TransformerConfig {
  const { format, format_version: version, config } = file.metadata;
  if (format !== MODEL_FORMAT && format !== 'tokenfilter.checkpoint')
    throw new SafetensorsError(`${source}: not a tokenfilter model (metadata format = ${JSON.stringify(format)})`);
  if (version !== MODEL_FORMAT_VERSION)
    throw new SafetensorsError(`${source}: unsupported format_version ${JSON.stringify(version)} (expected ${MODEL_FORMAT_VERSION})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(config ?? '');
  } catch {
    throw new SafetensorsError(`${source}: metadata 'config' is not valid JSON`);
  }
  try {
    return resolveTransformerConfig(parsed as TransformerOptions);
  } catch (error) {
    throw new SafetensorsError(`${source}: invalid config in metadata: ${(error as Error).message}`);
  }
}

/**
 * @internal gathers `prefix + name` tensors of `file` into a flat block shaped like `model`'s
 * parameters, checking dtype, shape and finiteness. Tensors of other prefixes are ignored only
 * when `prefix` is empty and they carry an `optimizer.` prefix (checkpoints).
 */
export function parametersFromFile(model: Transformer, file: SafetensorsContents, source: string, prefix: string): Float32Array {
  const flat = new Float32Array(model.native.paramCount());
  const expected = new Set<string>();
  for (const t of model.tensorInfo()) {
    const hit = findTensor(file, prefix, t.name, source);
    if (!hit) throw new SafetensorsError(`${source}: tensor '${prefix + t.name}' is missing`);
    const { name, tensor: found } = hit;
    expected.add(name);
    if (found.dtype !== 'F32') throw new SafetensorsError(`${source}: tensor '${name}' has dtype ${found.dtype}, expected F32`);
    if (found.shape.length !== t.shape.length || found.shape.some((d, i) => d !== t.shape[i]))
      throw new SafetensorsError(`${source}: tensor '${name}' has shape [${found.shape.join(', ')}], expected [${t.shape.join(', ')}]`);
    const data = found.data as Float32Array;
    for (let i = 0; i < data.length; i++)
      if (!Number.isFinite(data[i])) throw new SafetensorsError(`${source}: tensor '${name}' has a non-finite value at index ${i}`);
    flat.set(data, t.offset);
  }
  if (prefix === '') {
    for (const name of file.tensors.keys())
      if (!expected.has(name) && !name.startsWith('optimizer.'))
        throw new SafetensorsError(`${source}: unexpected tensor '${name}' for this config`);
  }
  return flat;
}
