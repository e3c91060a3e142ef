// TF_HOST_DEVICE marks inline element math (native/kernels/*_math.h) that a CUDA backend
// shares with the CPU kernels: `__host__ __device__` under nvcc, nothing otherwise.
#pragma once

#if defined(__CUDACC__)
#define TF_HOST_DEVICE __host__ __device__
#else
#define TF_HOST_DEVICE
#endif
