/**
 * Sparse autoencoders over a language model's residual stream: TopK or JumpReLU, trained here
 * or loaded from a public release in the Gemma Scope layout. Parameters use that layout
 * (`W_enc [d_model, d_sae]`, `b_enc [d_sae]`, `threshold [d_sae]`, `W_dec [d_sae, d_model]`,
 * `b_dec [d_model]`), so a file saved here loads in PyTorch with the same names.
 * @module
 */
import { extname } from 'node:path';
import { decodeFloat16 } from '../data/float16.js';
import { readSafetensors, SafetensorsError, writeSafetensors, type SafetensorsTensor } from '../model/safetensors.js';
import { native } from '../native.js';
import type { NativeSaeModel, NativeSaeStats } from '../native_types.js';
import { resolveDevice, resolvePrecision, type Device, type DeviceOptions, type Precision } from '../device.js';
import { DeviceSaeEncoder } from './sae_device.js';
import { readNpz, type NpyArray } from './npz.js';
import { TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';

/** SAE file format name in safetensors metadata. */
export const SAE_FORMAT = 'tokenfilter.sae';

/** Activation function of an SAE. */
export type SaeKind = 'topk' | 'jumprelu';

/** An SAE's shape and training hyper-parameters. */
export interface SaeConfig {
  /** D: width of the activations it reads. */
  dModel: number;
  /** L: number of latents. */
  dSae: number;
  /** 'topk' (exactly k latents per token) or 'jumprelu' (a threshold per latent). */
  kind: SaeKind;
  /** TopK: active latents per token (default 32, at most dSae). */
  k: number;
  /** JumpReLU: weight of the L0 penalty (default 1; the MSE is a sum over dModel of inputs scaled to E‖x‖² = dModel). */
  l0Coefficient: number;
  /** JumpReLU: width of the straight-through kernel (default 0.1). */
  bandwidth: number;
  /** Weight of the auxiliary loss that revives dead latents (default 1/32; 0 = off). */
  auxCoefficient: number;
  /** Latents in the auxiliary reconstruction (default 256, capped at dSae). */
  auxK: number;
  /** A latent silent for this many training tokens counts as dead (default 200,000). */
  deadAfter: number;
}

/** Options of {@link SparseAutoencoder.create}: dModel and dSae required, the rest defaulted. */
export type SaeOptions = Pick<SaeConfig, 'dModel' | 'dSae'> & Partial<SaeConfig> & {
  /** Random seed of the initialisation (default 0). */
  seed?: number;
  /** JumpReLU: initial threshold (default 0.5, on inputs scaled to E‖x‖² = D). */
  initialThreshold?: number;
};

/** Defaults of {@link SaeOptions}. */
export const SAE_DEFAULTS = { kind: 'topk', k: 32, l0Coefficient: 1, bandwidth: 0.1, auxCoefficient: 1 / 32, auxK: 256, deadAfter: 200_000 } as const;

/** Encoder columns gathered for a subset of latents (see {@link SparseAutoencoder.encoderFor}). */
export interface SelectedEncoder {
  latents: Uint32Array;
  /** [D, S] */
  weight: Float32Array;
  bias: Float32Array;
  threshold: Float32Array;
}

/** A sparse autoencoder: configuration, parameters, input scale and provenance. */
export class SparseAutoencoder {
  /** Flat parameters: W_enc, b_enc, threshold, W_dec, b_dec (offsets from {@link layout}). */
  readonly parameters: Float32Array;
  /** Where {@link encode} runs: 'cpu' (the default) or 'cuda' (see {@link toDevice}). Training always runs on the CPU. */
  private encodeDevice: Device = 'cpu';
  private encodePrecision: Precision = 'fp32';
  /** Device encoders: every latent (built at the first encode), and one per {@link SelectedEncoder}. */
  private deviceFull: DeviceSaeEncoder | undefined;
  private deviceSelected = new WeakMap<SelectedEncoder, DeviceSaeEncoder>();

  private constructor(
    readonly config: SaeConfig,
    /** Inputs are multiplied by this before encoding (E‖x·scale‖² ≈ D for SAEs trained here). */
    public inputScale: number,
    /** Free-form strings saved with the SAE (e.g. `layer`, `model`). */
    readonly metadata: Record<string, string> = {},
  ) {
    this.parameters = new Float32Array(layoutOf(config).total);
  }

  /**
   * A new SAE with random unit-norm decoder rows and W_enc = W_decᵀ.
   * @throws RangeError for non-positive sizes, k outside [1, dSae], an unknown kind.
   */
  static create(options: SaeOptions): SparseAutoencoder {
    const config = resolveSaeConfig(options);
    const sae = new SparseAutoencoder(config, 1);
    const model = new native.sae.SaeModel(config);
    model.init(options.seed ?? 0, options.initialThreshold ?? 0.5);
    model.readParameters(sae.parameters);
    return sae;
  }

  /**
   * Loads an SAE: a file saved by {@link save}, a Gemma Scope `params.npz`, or a safetensors file
   * with the Gemma Scope tensor names (kind JumpReLU unless the metadata says otherwise).
   * `options.device` (default TOKENFILTER_DEVICE, else 'cpu') says where {@link encode} runs
   * (see {@link toDevice}).
   * @throws SafetensorsError / NpyError for a bad file; TokenfilterError E_FILE_FORMAT for missing
   *   tensors, shapes that disagree, or non-finite values (naming the tensor); E_DEVICE when
   *   `device: 'cuda'` is not available.
   */
  static async load(path: string, options: DeviceOptions = {}): Promise<SparseAutoencoder> {
    const device = resolveDevice(options.device);
    const precision = resolvePrecision(options.precision);
    let tensors: Map<string, { shape: number[]; data: Float32Array }>;
    let metadata: Record<string, string> = {};
    if (extname(path) === '.npz') {
      tensors = new Map([...(await readNpz(path))].map(([k, v]) => [k, npyAsFloat32(v, `${path}:${k}`)]));
    } else {
      const file = await readSafetensors(path);
      metadata = file.metadata;
      tensors = new Map([...file.tensors].map(([k, v]) => [k, safetensorAsFloat32(v, `${path}:${k}`)]));
    }
    const get = (name: string, rank: number) => {
      const t = tensors.get(name);
      if (!t) throw new TokenfilterError('E_FILE_FORMAT', `${path}: tensor '${name}' is missing (expected the Gemma Scope layout W_enc, b_enc, threshold, W_dec, b_dec)`, { path });
      if (t.shape.length !== rank) throw new TokenfilterError('E_FILE_FORMAT', `${path}: tensor '${name}' has rank ${t.shape.length}, expected ${rank}`, { path });
      return t;
    };
    const wEnc = get('W_enc', 2);
    const [D, L] = wEnc.shape;
    let saved: Partial<SaeConfig> = {};
    if (metadata.format === SAE_FORMAT && metadata.config) {
      try {
        saved = JSON.parse(metadata.config) as Partial<SaeConfig>;
      } catch (error) {
        throw new TokenfilterError('E_FILE_FORMAT', `${path}: metadata config is not valid JSON (${(error as Error).message})`, { path });
      }
    }
    const config = resolveSaeConfig({ ...saved, dModel: D, dSae: L, kind: saved.kind ?? 'jumprelu', k: Math.min(saved.k ?? SAE_DEFAULTS.k, L) });
    const scale = metadata.input_scale === undefined ? 1 : Number(metadata.input_scale);
    if (!(scale > 0 && Number.isFinite(scale))) throw new TokenfilterError('E_FILE_FORMAT', `${path}: metadata input_scale must be a positive number, got '${metadata.input_scale}'`, { path });
    const { input_scale: _s, config: _c, format: _f, ...rest } = metadata;
    const lay = layoutOf(config);
    const wanted: [string, number[], number, boolean][] = [
      ['W_enc', [D, L], lay.wEnc, false],
      ['b_enc', [L], lay.bEnc, false],
      ['threshold', [L], lay.threshold, config.kind === 'topk'],
      ['W_dec', [L, D], lay.wDec, false],
      ['b_dec', [D], lay.bDec, false],
    ];
    // Every tensor is checked (presence, shape, finiteness) before the SAE is allocated.
    const found: [Float32Array, number][] = [];
    for (const [name, shape, offset, optional] of wanted) {
      if (!tensors.get(name) && optional) continue;
      const tensor = get(name, shape.length);
      if (tensor.shape.some((d, i) => d !== shape[i]))
        throw new TokenfilterError('E_FILE_FORMAT', `${path}: tensor '${name}' has shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}] (W_enc is [${D}, ${L}])`, { path });
      const bad = tensor.data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new TokenfilterError('E_FILE_FORMAT', `${path}: tensor '${name}' holds a non-finite value at index ${bad}`, { path });
      found.push([tensor.data, offset]);
    }
    const sae = new SparseAutoencoder(config, scale, rest);
    for (const [data, offset] of found) sae.parameters.set(data, offset);
    sae.encodeDevice = device;
    sae.encodePrecision = precision;
    return sae;
  }

  /** Where {@link encode} runs ('cpu' or 'cuda'). */
  get device(): Device {
    return this.encodeDevice;
  }

  /**
   * Moves encoding to `options.device` ('cpu', 'cuda' or 'auto'; default TOKENFILTER_DEVICE,
   * else 'cpu') with the GEMM at `options.precision` (default 'fp32'). On 'cuda' the encoder
   * weights are uploaded at the next {@link encode} and stay on the device; codes then agree
   * with the CPU's within the GEMM's rounding (a pre-activation within rounding of its
   * threshold, or of the k-th largest for TopK, may fall on either side). Returns this.
   * @throws TokenfilterError E_DEVICE when `device: 'cuda'` is not available; E_OPTION for an
   *   unknown device or precision.
   */
  toDevice(options: DeviceOptions = {}): this {
    const device = resolveDevice(options.device);
    const precision = resolvePrecision(options.precision);
    this.parametersChanged();
    this.encodeDevice = device;
    this.encodePrecision = precision;
    return this;
  }

  /**
   * Drops the device's copy of the encoder (rebuilt from {@link parameters} at the next encode).
   * Call after writing {@link parameters} (training does); encoders from {@link encoderFor}
   * are snapshots on either device.
   */
  parametersChanged(): void {
    this.deviceFull?.dispose();
    this.deviceFull = undefined;
    this.deviceSelected = new WeakMap();
  }

  /** The device encoder of `encoder`'s latents, or of every latent (built on first use). */
  private deviceEncoder(encoder?: SelectedEncoder): DeviceSaeEncoder {
    const { dModel: D, dSae: L } = this.config;
    if (encoder) {
      let found = this.deviceSelected.get(encoder);
      if (!found) {
        found = new DeviceSaeEncoder({ dModel: D, weight: encoder.weight, bias: encoder.bias, threshold: encoder.threshold, k: 0 }, this.encodePrecision);
        this.deviceSelected.set(encoder, found);
      }
      return found;
    }
    if (!this.deviceFull) {
      const lay = this.layout;
      const p = this.parameters;
      const topk = this.config.kind === 'topk';
      this.deviceFull = new DeviceSaeEncoder({
        dModel: D,
        weight: p.subarray(lay.wEnc, lay.wEnc + D * L),
        bias: p.subarray(lay.bEnc, lay.bEnc + L),
        threshold: topk ? new Float32Array(L).fill(-Infinity) : p.subarray(lay.threshold, lay.threshold + L),
        k: topk ? this.config.k : 0,
      }, this.encodePrecision);
    }
    return this.deviceFull;
  }

  /** Tensor offsets within {@link parameters}. */
  get layout(): SaeLayout {
    return layoutOf(this.config);
  }

  /**
   * Saves as safetensors with the Gemma Scope tensor names and metadata `format`, `config`
   * (JSON), `input_scale` plus {@link metadata} and `extra`.
   */
  async save(path: string, extra: Record<string, string> = {}): Promise<void> {
    const { dModel: D, dSae: L } = this.config;
    const lay = this.layout;
    const p = this.parameters;
    await writeSafetensors(
      path,
      [
        ['W_enc', { shape: [D, L], data: p.subarray(lay.wEnc, lay.wEnc + D * L) }],
        ['b_enc', { shape: [L], data: p.subarray(lay.bEnc, lay.bEnc + L) }],
        ['threshold', { shape: [L], data: p.subarray(lay.threshold, lay.threshold + L) }],
        ['W_dec', { shape: [L, D], data: p.subarray(lay.wDec, lay.wDec + L * D) }],
        ['b_dec', { shape: [D], data: p.subarray(lay.bDec, lay.bDec + D) }],
      ],
      { ...this.metadata, ...extra, format: SAE_FORMAT, config: JSON.stringify(this.config), input_scale: String(this.inputScale) },
    );
  }

  /**
   * @internal a training copy of the parameters in native memory (train_sae.ts); its `finish()`
   * writes the trained parameters back into this SAE.
   */
  trainingModel(): SaeTrainingModel {
    return new SaeTrainingModel(this);
  }

  /**
   * Gathers the encoder columns of `latents` once, for {@link encode} on a subset.
   * @throws RangeError for a latent id outside [0, dSae) or an empty list.
   */
  encoderFor(latents: ArrayLike<number>): SelectedEncoder {
    const { dModel: D, dSae: L } = this.config;
    const ids = Uint32Array.from(latents as ArrayLike<number>);
    if (ids.length === 0) throw new CodedRangeError('latents must not be empty');
    for (const id of ids) if (id >= L) throw new CodedRangeError(`latent ${id} is outside [0, ${L})`);
    const S = ids.length;
    const lay = this.layout;
    const weight = new Float32Array(D * S);
    for (let d = 0; d < D; d++) {
      const row = lay.wEnc + d * L;
      for (let s = 0; s < S; s++) weight[d * S + s] = this.parameters[row + ids[s]];
    }
    const bias = new Float32Array(S);
    const threshold = new Float32Array(S);
    for (let s = 0; s < S; s++) {
      bias[s] = this.parameters[lay.bEnc + ids[s]];
      threshold[s] = this.config.kind === 'jumprelu' ? this.parameters[lay.threshold + ids[s]] : 0;
    }
    return { latents: ids, weight, bias, threshold };
  }

  /**
   * Exact codes [T, S] of the `encoder`'s latents (from {@link encoderFor}) for activations
   * x [T, dModel]: what the labelling rule reads. JumpReLU takes the one-GEMM subset path; TopK
   * encodes every latent (the top-k competition needs them all) and keeps the selected columns,
   * so a selected latent is 0 wherever it lost the competition. When streaming blocks of one
   * size, pass `out` ([T, S]) and, for TopK, `scratch` ([T, dSae], the full codes) to reuse them.
   * @throws as {@link encode}, and RangeError for a `scratch` of the wrong length.
   */
  async selectedCodes(x: Float32Array, encoder: SelectedEncoder, out?: Float32Array, scratch?: Float32Array): Promise<Float32Array> {
    if (this.config.kind !== 'topk') return this.encode(x, encoder, out);
    const L = this.config.dSae;
    const S = encoder.latents.length;
    const T = this.tokensOf(x);
    if (out !== undefined && (!(out instanceof Float32Array) || out.length !== T * S))
      throw new CodedRangeError(`out must be a Float32Array of tokens × latents = ${T} × ${S}`);
    if (scratch !== undefined && (!(scratch instanceof Float32Array) || scratch.length !== T * L))
      throw new CodedRangeError(`scratch must be a Float32Array of tokens × dSae = ${T} × ${L}`);
    const full = await this.encode(x, undefined, scratch);
    const codes = out ?? new Float32Array(T * S);
    for (let t = 0; t < T; t++) {
      const row = t * L;
      for (let s = 0; s < S; s++) codes[t * S + s] = full[row + encoder.latents[s]];
    }
    return codes;
  }

  /**
   * Exact codes for a stream of blocks, reusing one output buffer (and, for a TopK subset, one
   * scratch buffer of full codes) grown to the largest block seen: {@link selectedCodes} of
   * `encoder`'s latents, or with no encoder every latent's codes ({@link encode}). Each result is
   * a view valid only until the next call.
   */
  codesReusing(encoder?: SelectedEncoder): (x: Float32Array) => Promise<Float32Array> {
    const L = this.config.dSae;
    const S = encoder ? encoder.latents.length : L;
    const needsScratch = encoder !== undefined && this.config.kind === 'topk';
    let out = new Float32Array(0);
    let scratch = new Float32Array(0);
    return async (x) => {
      const T = this.tokensOf(x);
      if (out.length < T * S) {
        out = new Float32Array(T * S);
        if (needsScratch) scratch = new Float32Array(T * L);
      }
      const codes = out.subarray(0, T * S);
      if (!encoder) return this.encode(x, undefined, codes);
      return this.selectedCodes(x, encoder, codes, needsScratch ? scratch.subarray(0, T * L) : undefined);
    };
  }

  /** Rows T of activations x [T, dModel], checked once for every encode path. */
  private tokensOf(x: Float32Array): number {
    const D = this.config.dModel;
    if (!(x instanceof Float32Array)) throw new CodedTypeError('x must be a Float32Array');
    if (x.length % D !== 0) throw new CodedRangeError(`x has length ${x.length}, not a multiple of dModel = ${D}`);
    return x.length / D;
  }

  /**
   * Latent activations [T, S] of activations x [T, dModel] (raw, unscaled: the input scale is
   * applied here). With `encoder` (from {@link encoderFor}) only those latents are computed,
   * as one GEMM: exact for JumpReLU; for TopK the subset path gives relu(pre) of the selected
   * latents without the top-k competition, so pass no encoder to get exact TopK codes.
   * Runs on {@link device} (see {@link toDevice}).
   * `out` ([T, S], S = the encoder's latent count or dSae) receives the codes and is returned;
   * reuse one buffer when streaming blocks of the same size: a fresh [T, dSae] array costs
   * page faults and zeroing comparable to the GEMM itself.
   * @throws RangeError for a length that is not a multiple of dModel, a non-finite input, or an
   *   `out` of the wrong length.
   */
  async encode(x: Float32Array, encoder?: SelectedEncoder, out?: Float32Array): Promise<Float32Array> {
    const D = this.config.dModel;
    const T = this.tokensOf(x);
    const S = encoder ? encoder.latents.length : this.config.dSae;
    if (out !== undefined) {
      if (!(out instanceof Float32Array)) throw new CodedTypeError('out must be a Float32Array');
      if (out.length !== T * S) throw new CodedRangeError(`out has length ${out.length}, expected tokens × latents = ${T} × ${S}`);
      if (out.buffer === x.buffer && out.byteOffset < x.byteOffset + x.byteLength && x.byteOffset < out.byteOffset + out.byteLength)
        throw new CodedRangeError('out must not overlap x');
    }
    const codes = out ?? new Float32Array(T * S);
    if (this.encodeDevice === 'cuda') {
      await this.deviceEncoder(encoder).encode(x, this.inputScale, codes);
      return codes;
    }
    if (encoder) {
      await native.sae.encodeSelected(x, D, this.inputScale, encoder.weight, encoder.bias, encoder.threshold, codes);
      return codes;
    }
    const L = this.config.dSae;
    const lay = this.layout;
    const p = this.parameters;
    const topk = this.config.kind === 'topk';
    const threshold = topk ? new Float32Array(L).fill(-Infinity) : p.subarray(lay.threshold, lay.threshold + L);
    await native.sae.encodeSelected(x, D, this.inputScale, p.subarray(lay.wEnc, lay.wEnc + D * L), p.subarray(lay.bEnc, lay.bEnc + L), threshold, codes);
    if (topk) native.sae.topkActivation(codes, L, this.config.k, codes); // in place
    return codes;
  }
}

/** Offsets of each tensor in the flat parameter block. */
export interface SaeLayout {
  wEnc: number;
  bEnc: number;
  threshold: number;
  wDec: number;
  bDec: number;
  total: number;
}

function layoutOf(c: Pick<SaeConfig, 'dModel' | 'dSae'>): SaeLayout {
  const D = c.dModel;
  const L = c.dSae;
  const wEnc = 0;
  const bEnc = wEnc + D * L;
  const threshold = bEnc + L;
  const wDec = threshold + L;
  const bDec = wDec + L * D;
  return { wEnc, bEnc, threshold, wDec, bDec, total: bDec + D };
}

/**
 * Applies {@link SAE_DEFAULTS} and checks every field.
 * @throws RangeError naming the bad field.
 */
export function resolveSaeConfig(options: SaeOptions): SaeConfig {
  const c: SaeConfig = {
    dModel: options.dModel,
    dSae: options.dSae,
    kind: options.kind ?? SAE_DEFAULTS.kind,
    k: options.k ?? Math.min(SAE_DEFAULTS.k, options.dSae),
    l0Coefficient: options.l0Coefficient ?? SAE_DEFAULTS.l0Coefficient,
    bandwidth: options.bandwidth ?? SAE_DEFAULTS.bandwidth,
    auxCoefficient: options.auxCoefficient ?? SAE_DEFAULTS.auxCoefficient,
    auxK: Math.min(options.auxK ?? SAE_DEFAULTS.auxK, options.dSae),
    deadAfter: options.deadAfter ?? SAE_DEFAULTS.deadAfter,
  };
  const positive = (name: keyof SaeConfig, max: number) => {
    const v = c[name] as number;
    if (!Number.isInteger(v) || v < 1 || v > max) throw new CodedRangeError(`${name} must be an integer in [1, ${max}], got ${v}`);
  };
  positive('dModel', 1 << 20);
  positive('dSae', 1 << 24);
  positive('k', c.dSae);
  positive('auxK', c.dSae);
  positive('deadAfter', Number.MAX_SAFE_INTEGER);
  if (c.kind !== 'topk' && c.kind !== 'jumprelu') throw new CodedRangeError(`kind must be 'topk' or 'jumprelu', got '${c.kind}'`);
  for (const name of ['l0Coefficient', 'auxCoefficient'] as const)
    if (!(c[name] >= 0 && Number.isFinite(c[name]))) throw new CodedRangeError(`${name} must be a finite number >= 0, got ${c[name]}`);
  if (!(c.bandwidth > 0 && Number.isFinite(c.bandwidth))) throw new CodedRangeError(`bandwidth must be > 0, got ${c.bandwidth}`);
  return c;
}

function npyAsFloat32(a: NpyArray, source: string): { shape: number[]; data: Float32Array } {
  if (a.data instanceof Float32Array) return { shape: a.shape, data: a.data };
  if (a.data instanceof Float64Array) return { shape: a.shape, data: Float32Array.from(a.data) };
  throw new TokenfilterError('E_FILE_FORMAT', `${source}: expected a float array, got dtype ${a.dtype}`, { path: source });
}

function safetensorAsFloat32(t: SafetensorsTensor, source: string): { shape: number[]; data: Float32Array } {
  if (t.dtype === 'F32') return { shape: t.shape, data: t.data as Float32Array };
  if (t.dtype === 'F64') return { shape: t.shape, data: Float32Array.from(t.data as Float64Array) };
  if (t.dtype === 'F16') return { shape: t.shape, data: decodeFloat16(t.data as Uint16Array) };
  if (t.dtype === 'BF16') {
    const bits = t.data as Uint16Array;
    const words = new Uint32Array(bits.length);
    for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
    return { shape: t.shape, data: new Float32Array(words.buffer) };
  }
  throw new SafetensorsError(`${source}: expected a float tensor, got dtype ${t.dtype}`);
}

/**
 * @internal the native SAE under training (parameters, gradients, Adam state) for
 * {@link SparseAutoencoder.trainingModel}: the one holder of the native handle.
 */
export class SaeTrainingModel {
  private readonly model: NativeSaeModel;

  constructor(private readonly sae: SparseAutoencoder) {
    this.model = new native.sae.SaeModel(sae.config);
    if (sae.parameters.some((v) => v !== 0)) this.model.writeParameters(sae.parameters);
  }

  /** Sets the decoder bias from the (scaled) rows `x` [N, dModel]. */
  initDecoderBias(x: Float32Array): void {
    this.model.initDecoderBias(x);
  }

  /** One Adam step on the (scaled) rows `x` [N, dModel]. */
  step(x: Float32Array, lr: number, beta1: number, beta2: number, eps: number): Promise<NativeSaeStats> {
    return this.model.step(x, lr, beta1, beta2, eps);
  }

  /** Copies the trained parameters into the SAE (dropping any device copy of the old ones). */
  finish(): void {
    this.model.readParameters(this.sae.parameters);
    this.sae.parametersChanged();
  }
}
