// Rotary position embedding on the device, in place; same layout and contract as
// native/kernels/rope.cc ("rotate half": pairs (d, d + hs/2)), angle and rotation from
// kernels/rope_math.h.
#include "cuda/check.cuh"
#include "kernels/rope_math.h"

namespace tf::cuda {
namespace {

// x: element (b, t, h, d) at x[(b * T + t) * row_stride + h * hs + d]; one thread per pair
// (b, t, h, d < hs/2). sign = +1 forward, -1 backward (the inverse rotation).
// The angle is computed in double directly (the CPU builds the same angles by a rotation
// recurrence in double); both round to the same float cos/sin but for rare last-bit ties.
__global__ void rope_kernel(float* x, int64_t B, int64_t T, int64_t NH, int64_t hs, int64_t row_stride, double base,
                            float sign) {
  const int64_t half = hs / 2;
  const int64_t pairs = B * T * NH * half;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < pairs;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t d = idx % half;
    const int64_t h = idx / half % NH;
    const int64_t bt = idx / (half * NH);
    const int64_t t = bt % T;
    double s, c;
    sincos(rope_angle(t, d, hs, base), &s, &c);
    float* x0 = x + bt * row_stride + h * hs + d;
    rope_rotate(x0[0], x0[half], static_cast<float>(c), sign * static_cast<float>(s));
  }
}

}  // namespace
}  // namespace tf::cuda

using namespace tf::cuda;

extern "C" const char* tfc_rope(tfc_context* ctx, float* d_x, int64_t B, int64_t T, int64_t NH, int64_t hs,
                                int64_t row_stride, float base, int backward) {
  return guarded([&] {
    enter(ctx);
    require_dim(B, "B");
    require_dim(T, "T");
    require_dim(NH, "NH", 1);
    require(hs >= 2 && hs % 2 == 0, "hs must be even and >= 2, got " + std::to_string(hs));
    require(row_stride >= NH * hs, "row_stride must be >= NH * hs");
    require(base > 1.0f, "base must be > 1");
    const int64_t pairs = B * T * NH * (hs / 2);
    if (pairs == 0) return;
    rope_kernel<<<blocks_for(pairs, 256), 256, 0, ctx->stream>>>(d_x, B, T, NH, hs, row_stride, static_cast<double>(base),
                                                                 backward ? -1.0f : 1.0f);
    check_launch("rope_kernel");
  });
}
