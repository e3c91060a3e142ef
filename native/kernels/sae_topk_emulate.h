// A host model of the CUDA TopK kernel (native/cuda/sae_encode.cu, sae_topk_kernel), for the CPU
// test suite: per row, the same 4 radix passes (sae_topk_radix_step over 256-bin histograms of
// sae_topk_key) and the same index-ordered rank scan in chunks of 256 "threads" and warps of 32
// (sae_topk_kept), sequentially. Its result must equal tf::topk_activation bit for bit.
#pragma once
#include <cstdint>

namespace tf {

// codes [N, L] in place: the k largest of each row keep sae_topk_code(value), the rest 0. 1 <= k <= L.
void sae_topk_radix_emulate(float* codes, int64_t N, int64_t L, int64_t k);

}  // namespace tf
