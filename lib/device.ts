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

const REQUESTS: readonly DeviceRequest[] = ['cpu', 'cuda', 'auto'];

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
