// Host model of sae_topk_kernel (see sae_topk_emulate.h): one row at a time, the kernel's
// passes run sequentially with the shared math of kernels/sae_encode_math.h.
#include "kernels/sae_topk_emulate.h"

#include <vector>

#include "kernels/sae_encode_math.h"

namespace tf {

void sae_topk_radix_emulate(float* codes, int64_t N, int64_t L, int64_t k) {
  constexpr int kThreads = 256, kWarps = kThreads / 32;
  for (int64_t row = 0; row < N; row++) {
    float* v = codes + row * L;
    uint32_t prefix = 0, mask = 0;
    int64_t need = k;
    for (int shift = 24; shift >= 0; shift -= 8) {
      uint32_t hist[256] = {};
      for (int64_t i = 0; i < L; i++) {
        const uint32_t key = sae_topk_key(v[i]);
        if ((key & mask) == prefix) hist[(key >> shift) & 0xffu]++;
      }
      need = sae_topk_radix_step(hist, shift, need, &prefix);
      mask |= 0xffu << shift;
    }
    int64_t taken = 0;
    for (int64_t base = 0; base < L; base += kThreads) {
      int warp_equal[kWarps] = {};
      std::vector<int> lane_rank(kThreads, 0);  // equal keys before this lane within its warp
      for (int t = 0; t < kThreads; t++) {
        const int64_t i = base + t;
        const bool equal = i < L && sae_topk_key(v[i]) == prefix;
        lane_rank[t] = warp_equal[t / 32];
        warp_equal[t / 32] += equal;
      }
      int chunk = 0;
      for (int q = 0; q < kWarps; q++) chunk += warp_equal[q];
      for (int t = 0; t < kThreads && base + t < L; t++) {
        int64_t rank = taken + lane_rank[t];
        for (int q = 0; q < t / 32; q++) rank += warp_equal[q];
        const float x = v[base + t];
        v[base + t] = sae_topk_kept(sae_topk_key(x), prefix, rank, need) ? sae_topk_code(x) : 0.0f;
      }
      taken += chunk;
    }
  }
}

}  // namespace tf
