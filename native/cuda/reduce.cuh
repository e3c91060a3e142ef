// Block-wide reductions for the row kernels (rmsnorm, cross-entropy, sum of squares). The
// order of additions is fixed by the thread layout, so results repeat bit for bit for a fixed
// launch configuration. blockDim.x must be a multiple of 32 and at most 1024.
#pragma once
#include <cuda_runtime.h>

namespace tf::cuda {

template <typename T>
__device__ inline T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

__device__ inline float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, offset));
  return v;
}

// Sum of v over the block, returned to every thread. `shared` holds >= 32 elements; the
// function synchronises before returning, so it may be called again with the same buffer.
template <typename T>
__device__ inline T block_sum(T v, T* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  T total = T(0);
  for (int w = 0; w < warps; w++) total += shared[w];
  __syncthreads();
  return total;
}

// Max of v over the block, returned to every thread (same contract as block_sum).
__device__ inline float block_max(float v, float* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float m = shared[0];
  for (int w = 1; w < warps; w++) m = fmaxf(m, shared[w]);
  __syncthreads();
  return m;
}

}  // namespace tf::cuda
