/**
 * Which device a model runs on: `'cpu'`, `'cuda'` or `'auto'` (CUDA when a device answers,
 * else the CPU). The default comes from the `TOKENFILTER_DEVICE` environment variable, else
 * `'cpu'`.
 * @module
 */
import { TokenfilterError } from './errors.js';
import { cudaBackend, recordAutoDevice } from './native.js';

/** A device request. */
export type DeviceRequest = 'cpu' | 'cuda' | 'auto';
/** The device a model actually uses. */
export type Device = 'cpu' | 'cuda';

/** Precision of the GEMMs on a CUDA device: fp32 master weights always; 'bf16' / 'tf32' round
 * the matmul inputs (tensor cores) and accumulate in fp32. The CPU computes in fp32. */
export type Precision = 'fp32' | 'tf32' | 'bf16';

/** Where a model runs: accepted by `Transformer.create` and `Transformer.load`. */
export interface DeviceOptions {
  /** 'cpu', 'cuda' or 'auto' (default: TOKENFILTER_DEVICE, else 'cpu'). */
  device?: DeviceRequest;
  /** GEMM precision on CUDA (default 'fp32'). */
  precision?: Precision;
}

const REQUESTS: readonly DeviceRequest[] = ['cpu', 'cuda', 'auto'];
const PRECISIONS: readonly Precision[] = ['fp32', 'tf32', 'bf16'];

/**
 * `precision` checked, default 'fp32'.
 * @throws TokenfilterError E_OPTION for any other value.
 */
export function resolvePrecision(precision?: string): Precision {
  const value = precision ?? 'fp32';
  if (!(PRECISIONS as readonly string[]).includes(value))
    throw new TokenfilterError('E_OPTION', `precision must be 'fp32', 'tf32' or 'bf16', got ${JSON.stringify(value)}`);
  return value as Precision;
}

/**
 * The request `device` stands for: itself when given, else TOKENFILTER_DEVICE, else `'cpu'`.
 * @throws TokenfilterError E_OPTION for any other value (from the option or the variable).
 */
export function deviceRequest(device?: string): DeviceRequest {
  const fromEnv = process.env.TOKENFILTER_DEVICE;
  const value = device ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : 'cpu');
  if (!(REQUESTS as readonly string[]).includes(value)) {
    const where = device === undefined ? 'TOKENFILTER_DEVICE' : 'device';
    throw new TokenfilterError('E_OPTION', `${where} must be 'cpu', 'cuda' or 'auto', got ${JSON.stringify(value)}`);
  }
  return value as DeviceRequest;
}

/**
 * Resolves a request to the device to use.
 * - `'cuda'` where CUDA is not available throws, naming the reason.
 * - `'auto'` gives `'cuda'` when available, else `'cpu'`; the choice and its reason are
 *   reported by `backendInfo().auto`.
 * @throws TokenfilterError E_DEVICE (cuda unavailable), E_OPTION (unknown request)
 */
export function resolveDevice(device?: string): Device {
  const request = deviceRequest(device);
  if (request === 'cpu') return 'cpu';
  const cuda = cudaBackend();
  if (request === 'cuda') {
    if (!cuda.available) throw new TokenfilterError('E_DEVICE', `device 'cuda' is not available: ${cuda.reason}`);
    return 'cuda';
  }
  const chosen: Device = cuda.available ? 'cuda' : 'cpu';
  recordAutoDevice({
    device: chosen,
    reason: cuda.available ? `CUDA device ${cuda.devices[0]?.name ?? '0'}` : `fell back to the CPU: ${cuda.reason}`,
  });
  return chosen;
}
