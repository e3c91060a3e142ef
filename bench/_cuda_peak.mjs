// Peak FLOP/s of a CUDA device from what the driver reports: SMs × SM clock × the dense
// per-SM rate of its architecture (NVIDIA's published rates; Ampere sm_80 and Hopper sm_90).
// The reported clock is the maximum boost, so the peak is an upper bound (NVIDIA's H100 SXM
// datasheet figure, 989 TFLOP/s bf16, uses 1.83 GHz; the formula gives it at that clock).
const PER_SM_PER_CLOCK = {
  // FLOPs per SM per clock: [fp32 CUDA cores, tf32 tensor, bf16 tensor] (dense)
  '8.0': { fp32: 128, tf32: 1024, bf16: 2048 },
  '9.0': { fp32: 256, tf32: 2048, bf16: 4096 },
};

/** Peak TFLOP/s of `device` ({capability, multiprocessors, clockKhz}) at `precision`, or null. */
export function cudaPeakTflops(device, precision) {
  const rates = PER_SM_PER_CLOCK[device.capability];
  if (!rates || !device.clockKhz) return null;
  return (device.multiprocessors * device.clockKhz * 1e3 * rates[precision]) / 1e12;
}
