// Rotary position embedding, in place on the q or k part of a fused qkv buffer.
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ops.h"
#include "kernels/rope_math.h"
#include "kernels/simd.h"

namespace tf {

namespace {

// Rows [begin, end) of x (row = one (b, t) position, rows row_stride apart): every head's
// pairs (d, d + hs/2) rotated by the angle table of its position. The d loop vectorises.
struct RopeRows {
  template <int W>
  TF_SIMD_INLINE static void run(float* x, const float* cos_table, const float* sin_table, int64_t T, int64_t NH,
                                 int64_t hs, int64_t row_stride, size_t begin, size_t end) {
    const int64_t half = hs / 2;
    for (size_t bt = begin; bt < end; bt++) {
      const int64_t t = static_cast<int64_t>(bt) % T;
      const float* c = cos_table + t * half;
      const float* s = sin_table + t * half;
      for (int64_t h = 0; h < NH; h++) {
        float* x0 = x + static_cast<int64_t>(bt) * row_stride + h * hs;
        float* x1 = x0 + half;
        for (int64_t d = 0; d < half; d++) rope_rotate(x0[d], x1[d], c[d], s[d]);
      }
    }
  }
};

// x: element (b, t, h, d) at x[(b * T + t) * row_stride + h * hs + d]; pairs (d, d + hs/2).
// sign = +1 rotates by the angle (forward), -1 by its negative (backward).
void rope_apply(float* x, int64_t B, int64_t T, int64_t NH, int64_t hs, int64_t row_stride, float base, float sign,
                int64_t t0) {
  const int64_t half = hs / 2;
  // cos / sin table [T, half] for positions t0 .. t0 + T - 1: per pair d, the rotation by
  // angle(1, d) applied t times in double (the rounding error grows like t * 1e-16, far below
  // float precision); the same recurrence from 0 whatever t0, so decoding matches the full pass
  std::vector<float> cos_table(static_cast<size_t>(T * half)), sin_table(static_cast<size_t>(T * half));
  for (int64_t d = 0; d < half; d++) {
    const double step = rope_angle(1, d, hs, base);
    const double cs = std::cos(step), sn = std::sin(step);
    double c = 1.0, s = 0.0;
    for (int64_t p = 0; p < t0 + T; p++) {
      const int64_t t = p - t0;
      if (t >= 0) {
        cos_table[t * half + d] = static_cast<float>(c);
        sin_table[t * half + d] = sign * static_cast<float>(s);
      }
      const double next_c = c * cs - s * sn;
      s = c * sn + s * cs;
      c = next_c;
    }
  }
  parallel_range(static_cast<size_t>(B * T), 8, [&](size_t begin, size_t end) {
    simd::dispatch<RopeRows>(x, static_cast<const float*>(cos_table.data()), static_cast<const float*>(sin_table.data()),
                             T, NH, hs, row_stride, begin, end);
  });
}

}  // namespace

// x [B, T, NH, hs] (rows row_stride apart) at positions t0 .. t0 + T - 1, rotated in place
void rope_forward(float* x, int64_t B, int64_t T, int64_t NH, int64_t hs, int64_t row_stride, float base, int64_t t0) {
  rope_apply(x, B, T, NH, hs, row_stride, base, 1.0f, t0);
}

// dx [B, T, NH, hs] (rows row_stride apart), rotated back in place (the transpose of forward)
void rope_backward(float* dx, int64_t B, int64_t T, int64_t NH, int64_t hs, int64_t row_stride, float base) {
  rope_apply(dx, B, T, NH, hs, row_stride, base, -1.0f, 0);
}

}  // namespace tf
