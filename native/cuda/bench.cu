// tfc_gemm_time: device-resident GEMM timing for bench/gemm.mjs (no host transfer is timed).
#include "cuda/check.cuh"

namespace tf::cuda {
namespace {

// x[i] = a value in [-1, 1) from a hash of (i, salt): reproducible, no RNG state
__global__ void fill_kernel(float* x, int64_t n, uint32_t salt) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ salt;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    x[i] = static_cast<float>(h >> 8) * (1.0f / 8388608.0f) - 1.0f;
  }
}

// Events destroyed on every path.
struct Events {
  cudaEvent_t start = nullptr, stop = nullptr;
  ~Events() {
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
  }
};

// Device buffers freed on every path.
struct Buffers {
  float* p[3] = {nullptr, nullptr, nullptr};
  ~Buffers() {
    for (float* x : p)
      if (x) cudaFree(x);
  }
};

}  // namespace
}  // namespace tf::cuda

using namespace tf::cuda;

extern "C" const char* tfc_gemm_time(tfc_context* ctx, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                     int precision, int kernel, int reps, double* seconds) {
  *seconds = 0.0;
  return guarded([&] {
    enter(ctx);
    require(M >= 1 && N >= 1 && K >= 1, "M, N and K must be >= 1");
    require(reps >= 1 && reps <= 100000, "reps must be in [1, 100000]");
    Buffers b;
    const int64_t sizes[3] = {M * K, K * N, M * N};
    for (int i = 0; i < 3; i++) {
      check_cuda(cudaMalloc(&b.p[i], static_cast<size_t>(sizes[i]) * sizeof(float)), "cudaMalloc (gemm bench)");
      fill_kernel<<<blocks_for(sizes[i], 256), 256, 0, ctx->stream>>>(b.p[i], sizes[i], 0x9e3779b9u * (i + 1));
      check_launch("fill_kernel");
    }
    const int64_t lda = trans_a ? M : K, ldb = trans_b ? K : N;
    auto call = [&] {
      const char* e = tfc_gemm_with(ctx, trans_a, trans_b, M, N, K, 1.0f, b.p[0], lda, b.p[1], ldb, 0.0f, b.p[2], N, precision, kernel);
      if (e) throw CudaError(std::string("gemm: ") + e);
    };
    call();
    Events ev;
    check_cuda(cudaEventCreate(&ev.start), "cudaEventCreate");
    check_cuda(cudaEventCreate(&ev.stop), "cudaEventCreate");
    check_cuda(cudaEventRecord(ev.start, ctx->stream), "cudaEventRecord");
    for (int r = 0; r < reps; r++) call();
    check_cuda(cudaEventRecord(ev.stop, ctx->stream), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(ev.stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check_cuda(cudaEventElapsedTime(&ms, ev.start, ev.stop), "cudaEventElapsedTime");
    *seconds = static_cast<double>(ms) / 1000.0 / reps;
  });
}
