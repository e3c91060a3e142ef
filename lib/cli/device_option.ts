/**
 * `--device cpu|cuda|auto` and `--precision fp32|tf32|bf16`, shared by the commands that run a
 * model (`score`, `label`): parsed once into {@link DeviceOptions}; the device itself is
 * resolved when the model is loaded (a missing GPU is then an E_DEVICE error naming the reason).
 * @module
 */
import type { Command } from 'commander';
import { deviceRequest, resolvePrecision, type DeviceOptions, type DeviceRequest, type Precision } from '../device.js';
import { UsageError } from './output.js';

/** The two options as commander parses them (both may be absent). */
export interface DeviceCommandOptions {
  device?: string;
  precision?: string;
}

/** Adds `--device` and `--precision` to `command`. */
export function addDeviceOptions(command: Command): Command {
  return command
    .option('--device <device>', 'where the model runs: cpu, cuda or auto (default: TOKENFILTER_DEVICE, else cpu)')
    .option('--precision <p>', 'GEMM precision on cuda: fp32 (default), tf32 or bf16 (the CPU computes in fp32)');
}

/**
 * The parsed options as {@link DeviceOptions}.
 * @throws UsageError (E_OPTION) for an unknown device or precision.
 */
export function deviceOptionsOf(options: DeviceCommandOptions): DeviceOptions {
  try {
    const device: DeviceRequest = deviceRequest(options.device);
    const precision: Precision = resolvePrecision(options.precision);
    return { device, precision };
  } catch (error) {
    // the message names the option (or TOKENFILTER_DEVICE) and the value
    throw new UsageError((error as Error).message, { cause: error });
  }
}
