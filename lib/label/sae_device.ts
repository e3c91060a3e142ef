/**
 * SAE encoding on a CUDA device: the encoder weights (all latents, or a gathered subset)
 * resident on the GPU, each block of activations encoded there (one GEMM + bias + JumpReLU
 * threshold, then the TopK competition for a TopK SAE) and the codes copied back. Used by
 * {@link SparseAutoencoder.encode} after {@link SparseAutoencoder.toDevice}; the same formulas
 * as the CPU encoder (native/kernels/sae_encode_math.h), so codes agree within the GEMM's
 * rounding.
 * @module
 */
import type { Precision } from '../device.js';
import { native } from '../native.js';
import type { NativeCudaSaeEncoder } from '../native_types.js';

/** What the device encodes: encoder [D, S], bias [S], threshold [S], and k (0 = no TopK competition). */
export interface DeviceSaeWeights {
  dModel: number;
  /** [dModel, S] */
  weight: Float32Array;
  bias: Float32Array;
  threshold: Float32Array;
  /** TopK over the S latents when >= 1; 0 keeps every code past its threshold. */
  k: number;
}

/**
 * An SAE encoder on the CUDA device. One encode at a time (another call while one runs throws
 * E_STATE); {@link DeviceSaeEncoder.dispose} frees the device memory at once (else it goes with
 * the object).
 */
export class DeviceSaeEncoder {
  private readonly handle: NativeCudaSaeEncoder;
  /** Latents per code row. */
  readonly latents: number;

  /**
   * Uploads the weights.
   * @throws TokenfilterError E_DEVICE when CUDA is not available or an upload fails; RangeError
   *   for inconsistent lengths or non-finite weights.
   */
  constructor(weights: DeviceSaeWeights, precision: Precision) {
    this.handle = new native.CudaSaeEncoder(weights.weight, weights.bias, weights.threshold, weights.dModel, precision, weights.k);
    this.latents = weights.bias.length;
  }

  /**
   * Codes [N, S] of x [N, dModel] × scale into `out` (lengths checked by the caller and again natively).
   * @throws TokenfilterError E_NOT_FINITE for a non-finite pre-activation (naming the element of
   *   x when one is not finite), E_DEVICE for a failing device call.
   */
  encode(x: Float32Array, scale: number, out: Float32Array): Promise<void> {
    return this.handle.encode(x, scale, out);
  }

  /** Frees the device memory now; the encoder is unusable afterwards. */
  dispose(): void {
    this.handle.dispose();
  }
}
