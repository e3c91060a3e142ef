// Rotary position embedding, in place on the q or k part of a fused qkv buffer.
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ops.h"
#include "kernels/rope_math.h"

namespace tf {

namespace {

// x: element (b, t, h, d) at x[(b * T + t) * row_stride + h * hs + d]; pairs (d, d + hs/2).
// sign = +1 rotates by the angle (forward), -1 by its negative (backward).
void rope_apply(float* x, int64_t B, int64_t T, int64_t NH, int64_t hs, int64_t row_stride, float base, float sign) {
  const int64_t half = hs / 2;
  // cos / sin table [T, half], computed in double
  std::vector<float> cos_table(static_cast<size_t>(T * half)), sin_table(static_cast<size_t>(T * half));
  for (int64_t t = 0; t < T; t++)
    for (int64_t d = 0; d < half; d++) {
      double a = rope_angle(t, d, hs, base);
      cos_table[t * half + d] = static_cast<float>(std::cos(a));
      sin_table[t * half + d] = sign * static_cast<float>(std::sin(a));
    }
  parallel_range(static_cast<size_t>(B * T), 4, [&](size_t begin, size_t end) {
    for (size_t bt = begin; bt < end; bt++) {
      int64_t t = static_cast<int64_t>(bt) % T;
      const float* c = cos_table.data() + t * half;
      const float* s = sin_table.data() + t * half;
      for (int64_t h = 0; h < NH; h++) {
        float* head = x + static_cast<int64_t>(bt) * row_stride + h * hs;
        for (int64_t d = 0; d < half; d++) rope_rotate(head[d], head[d + half], c[d], s[d]);
      }
    }
  });
}

}  // namespace

// x [B, T, NH, hs] (rows row_stride apart), rotated in place
void rope_forward(float* x, int64_t B, int64_t T, int64_t NH, int64_t hs, int64_t row_stride, float base) {
  rope_apply(x, B, T, NH, hs, row_stride, base, 1.0f);
}

// dx [B, T, NH, hs] (rows row_stride apart), rotated back in place (the transpose of forward)
void rope_backward(float* dx, int64_t B, int64_t T, int64_t NH, int64_t hs, int64_t row_stride, float base) {
  rope_apply(dx, B, T, NH, hs, row_stride, base, -1.0f);
}

}  // namespace tf
