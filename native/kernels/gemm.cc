// Packed, cache-blocked GEMM (the GotoBLAS / BLIS loop structure), row-major.
//
//   for each block of mb rows of op(A)            (mb <= mb_max)
//     for each span of the depth K                 (all of K unless mb x K is too big to pack)
//       parallel over tasks = (column block of nb, optional row chunk):
//         for each block of kc in the span          (one pass of packed panels per block)
//           pack op(B)[kc, nb] into NR-column panels -- per task, stays in L2
//           for each group of A panels (MR x kc each, stays in L1 across the B panels)
//             make sure the group is packed       -- shared: the first task to need it packs it
//             for each B panel: micro-kernel on the MR x NR tile of C
//
// So a typical GEMM (the model's: K up to a few thousand) is one parallel_for; tasks share the
// packed A and never wait for one another except on a group of A another task is packing.
// The first depth block applies beta (beta == 0 writes C without reading it), later ones add.
// Two shapes skip packing: a small GEMM with op(B) = B (at most 64^3) runs the level's unpacked
// kernel, and a C of one row or one column runs dot / axpy vector kernels.
// An optional epilogue (gemm.h) runs on each register tile of C right after its last depth
// block, while the tile is in L1; the paths without tiles run it over C afterwards.
// Every element of C gets the same arithmetic whatever the thread count or task split (the
// path and the depth blocking depend only on the shape and the SIMD level), so results are
// deterministic.
#include "kernels/gemm.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "core/aligned.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kernels/gemm_internal.h"

namespace tf {

using gemm_internal::KernelConfig;

namespace {

// Below this many flops (2 M N K) a GEMM runs on the calling thread only: waking the pool
// would cost more than it saves.
constexpr double kParallelFlops = 4.0e6;
// At most this many flops, a GEMM with op(B) = B runs the level's unpacked small kernel if it
// has one (packing would cost about as much as the arithmetic).
constexpr double kSmallFlops = 2.0 * 64 * 64 * 64;
// Most floats of packed A one call keeps (mb rows x a span of K): 16 MB.
constexpr int64_t kMaxPackedA = int64_t{1} << 22;

const KernelConfig& config_for(SimdLevel level) {
  switch (level) {
    case SimdLevel::Avx512: return gemm_internal::avx512_config();
    case SimdLevel::Avx2: return gemm_internal::avx2_config();
    default: return gemm_internal::scalar_config();
  }
}

// Pack buffers of the thread that uses them: `a` holds the shared A block of a call made on
// this thread, `b` the B block of a task run on this thread. They grow and are reused.
struct Workspace {
  AlignedArray<float> a;
  AlignedArray<float> b;
};
thread_local Workspace workspace;

float* reserve(AlignedArray<float>& buffer, size_t floats) {
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// C = beta * C (beta == 0 writes zeros without reading C).
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    float* c = C + i * ldc;
    if (beta == 0.0f)
      std::fill(c, c + N, 0.0f);
    else if (beta != 1.0f)
      for (int64_t j = 0; j < N; j++) c[j] *= beta;
  }
}

// How the work of one span is split into tasks.
struct Split {
  int64_t nb;        // columns of op(B) per task (a multiple of NR, except at the right edge)
  int64_t n_blocks;  // ceil(N / nb)
  int64_t m_chunks;  // row chunks of the A block per column block (> 1 only when N is narrow)
};

// Tasks are column blocks as wide as the L2 allows (nb_max): each task streams its rows of the
// packed A from L3 once per depth block, so wide blocks keep that traffic low. Their count is
// rounded up to a multiple of the thread count so every thread gets the same share; when N is
// too narrow for one block per thread, the rows are split instead (each chunk then packs the
// same B block, which costs less than streaming A more often).
Split plan_split(const KernelConfig& cfg, int64_t N, int64_t a_panels, int threads) {
  const int64_t n_panels = ceil_div(N, cfg.nr);
  int64_t blocks = ceil_div(N, cfg.nb_max);
  Split s;
  s.m_chunks = 1;
  if (blocks >= threads) {
    blocks = std::min(round_up(blocks, threads), n_panels);
  } else {
    s.m_chunks = std::min<int64_t>(round_up(threads, blocks) / blocks, std::max<int64_t>(1, a_panels));
  }
  s.nb = ceil_div(n_panels, blocks) * cfg.nr;
  s.n_blocks = ceil_div(N, s.nb);
  return s;
}

// The A block's panels, packed on first use in groups. A task claims an unpacked group, packs
// it and publishes it; a task that needs a group another task is packing waits for it. Packing
// never waits on anything, so this cannot deadlock, and it saves a separate packing pass (and
// its barrier) per depth block.
class SharedPanels {
 public:
  static constexpr int64_t kGroupPanels = 4;

  explicit SharedPanels(int64_t max_groups) : state_(new std::atomic<uint8_t>[max_groups]) {}

  // Marks the first `groups` groups as not packed yet.
  void reset(int64_t groups) {
    for (int64_t g = 0; g < groups; g++) state_[g].store(kUnpacked, std::memory_order_relaxed);
  }

  // Returns once group g is packed, calling pack() if no other task has claimed it.
  template <typename PackGroup>
  void ensure(int64_t g, const PackGroup& pack) {
    std::atomic<uint8_t>& state = state_[g];
    uint8_t seen = state.load(std::memory_order_acquire);
    if (seen == kReady) return;
    if (seen == kUnpacked && state.compare_exchange_strong(seen, kPacking, std::memory_order_acq_rel)) {
      pack();
      state.store(kReady, std::memory_order_release);
      return;
    }
    for (int spins = 0; state.load(std::memory_order_acquire) != kReady; spins++) {
      if (spins < 4096) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      } else {
        std::this_thread::yield();
      }
    }
  }

 private:
  static constexpr uint8_t kUnpacked = 0, kPacking = 1, kReady = 2;
  std::unique_ptr<std::atomic<uint8_t>[]> state_;
};

// Runs fn(i) for i in [0, n): on the pool when `parallel`, else inline.
void run_tasks(bool parallel, size_t n, const std::function<void(size_t)>& fn) {
  if (parallel && n > 1) {
    pool()->parallel_for(n, fn);
  } else {
    for (size_t i = 0; i < n; i++) fn(i);
  }
}

// A GEMM whose C is one column (N == 1) or one row (M == 1), where register tiles would be
// mostly padding: y[L] (stride inc_y) = alpha * X v + beta * y, with v[K] (stride inc_v) the
// column of op(B) (or row of op(A)) and X the other operand. In dot form X holds L rows of K
// contiguous values (row stride ldx); in axpy form K rows of L contiguous values.
void gemv(const KernelConfig& cfg, int threads, bool dot_form, int64_t L, int64_t K, float alpha, const float* X,
          int64_t ldx, const float* v, int64_t inc_v, float beta, float* y, int64_t inc_y) {
  float* vec = reserve(workspace.a, static_cast<size_t>(K));
  for (int64_t k = 0; k < K; k++) vec[k] = v[k * inc_v];
  const auto store = [&](int64_t i, float sum) {
    float& out = y[i * inc_y];
    out = beta == 0.0f ? alpha * sum : alpha * sum + beta * out;
  };
  // Axpy chunks stay at least 64 floats wide so each row segment fills whole vectors.
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(4 * threads, dot_form ? L : L / 64));
  run_tasks(threads > 1, static_cast<size_t>(chunks), [&](size_t c) {
    const int64_t i0 = L * static_cast<int64_t>(c) / chunks;
    const int64_t i1 = L * static_cast<int64_t>(c + 1) / chunks;
    if (dot_form) {
      for (int64_t i = i0; i < i1; i++) store(i, cfg.dot(X + i * ldx, vec, K));
      return;
    }
    float* acc = reserve(workspace.b, static_cast<size_t>(i1 - i0));
    std::fill(acc, acc + (i1 - i0), 0.0f);
    for (int64_t k = 0; k < K; k++) cfg.axpy(vec[k], X + k * ldx + i0, acc, i1 - i0);
    for (int64_t i = i0; i < i1; i++) store(i, acc[i - i0]);
  });
}

}  // namespace

void gemm(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, GemmEpilogue());
}

void gemm(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const GemmEpilogue& epilogue) {
  if (M <= 0 || N <= 0) return;
  // The paths without register tiles run the epilogue afterwards, over row blocks of C.
  const auto epilogue_after = [&] {
    if (!epilogue) return;
    const int64_t rows_per_block = std::max<int64_t>(1, 4096 / N);
    parallel_range(static_cast<size_t>(ceil_div(M, rows_per_block)), 1, [&](size_t b0, size_t b1) {
      for (size_t b = b0; b < b1; b++) {
        const int64_t i0 = static_cast<int64_t>(b) * rows_per_block;
        const int rows = static_cast<int>(std::min(rows_per_block, M - i0));
        epilogue(C + i0 * ldc, ldc, i0, 0, rows, static_cast<int>(N));
      }
    });
  };
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    epilogue_after();
    return;
  }
  const KernelConfig& cfg = config_for(simd_level());
  const int64_t mr = cfg.mr, nr = cfg.nr;
  // op(A) element (i, k) is A[i * a_rs + k * a_ks]; op(B) element (k, j) is B[j * b_rs + k * b_ks].
  const int64_t a_rs = trans_a == Trans::No ? lda : 1, a_ks = trans_a == Trans::No ? 1 : lda;
  const int64_t b_rs = trans_b == Trans::No ? 1 : ldb, b_ks = trans_b == Trans::No ? ldb : 1;

  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int threads = flops < kParallelFlops ? 1 : num_threads();
  const bool parallel = threads > 1;

  if (cfg.small && trans_b == Trans::No && flops <= kSmallFlops) {
    cfg.small(trans_a == Trans::Yes, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    epilogue_after();
    return;
  }
  if (N == 1) {  // C[M, 1] = op(A) · op(B)[:, 0]
    const bool a_rows = trans_a == Trans::No;
    gemv(cfg, threads, a_rows, M, K, alpha, A, lda, B, trans_b == Trans::No ? ldb : 1, beta, C, ldc);
    epilogue_after();
    return;
  }
  if (M == 1) {  // C[1, N] = op(A)[0, :] · op(B)
    const bool b_rows = trans_b == Trans::Yes;
    gemv(cfg, threads, b_rows, N, K, alpha, B, ldb, A, trans_a == Trans::No ? 1 : lda, beta, C, 1);
    epilogue_after();
    return;
  }

  const int64_t kc = ceil_div(K, ceil_div(K, cfg.kc));
  const int64_t k_blocks = ceil_div(K, kc);
  const int64_t mb = round_up(ceil_div(M, ceil_div(M, cfg.mb_max)), mr);
  const int64_t span_blocks = std::clamp<int64_t>(kMaxPackedA / (mb * kc), 1, k_blocks);
  const int64_t groups_per_block = ceil_div(mb / mr, SharedPanels::kGroupPanels);
  const Split split = plan_split(cfg, N, mb / mr, threads);
  // Packed A for a span: k-block b of the span starts at b * mb * kc, its panels at p * mr * klen.
  float* a_pack = reserve(workspace.a, static_cast<size_t>(mb * kc * span_blocks));
  const size_t b_pack_floats = static_cast<size_t>(round_up(split.nb, nr) * kc);
  SharedPanels shared(groups_per_block * span_blocks);

  for (int64_t m0 = 0; m0 < M; m0 += mb) {
    const int64_t mlen = std::min(mb, M - m0);
    const int64_t a_panels = ceil_div(mlen, mr);
    for (int64_t span0 = 0; span0 < k_blocks; span0 += span_blocks) {
      const int64_t span_end = std::min(k_blocks, span0 + span_blocks);
      shared.reset(groups_per_block * (span_end - span0));

      const size_t tasks = static_cast<size_t>(split.n_blocks * split.m_chunks);
      run_tasks(parallel, tasks, [&](size_t t) {
        const int64_t block = static_cast<int64_t>(t) / split.m_chunks;
        const int64_t chunk = static_cast<int64_t>(t) % split.m_chunks;
        const int64_t n0 = block * split.nb;
        const int64_t nlen = std::min(split.nb, N - n0);
        const int64_t b_panels = ceil_div(nlen, nr);
        const int64_t p0 = a_panels * chunk / split.m_chunks;
        const int64_t p1 = a_panels * (chunk + 1) / split.m_chunks;
        if (p0 == p1) return;
        float* b_pack = reserve(workspace.b, b_pack_floats);
        // Walk this chunk's groups starting at a different one on each thread, so the first
        // tasks pack disjoint groups side by side instead of waiting on each other.
        const int64_t g_first = p0 / SharedPanels::kGroupPanels;
        const int64_t g_count = (p1 - 1) / SharedPanels::kGroupPanels - g_first + 1;
        const int64_t g_start = g_count * static_cast<int64_t>(t % threads) / threads;
        for (int64_t kb = span0; kb < span_end; kb++) {
          const int64_t k0 = kb * kc;
          const int64_t klen = std::min(kc, K - k0);
          const float beta_k = kb == 0 ? beta : 1.0f;
          const bool last_block = kb == k_blocks - 1;
          float* a_block = a_pack + (kb - span0) * mb * kc;
          cfg.pack_b(B + n0 * b_rs + k0 * b_ks, b_rs, b_ks, nlen, klen, b_pack);
          for (int64_t gi = 0; gi < g_count; gi++) {
            const int64_t g = g_first + (g_start + gi) % g_count;
            const int64_t q0 = std::max(p0, g * SharedPanels::kGroupPanels);
            const int64_t q1 = std::min(p1, (g + 1) * SharedPanels::kGroupPanels);
            shared.ensure((kb - span0) * groups_per_block + g, [&] {
              const int64_t first = g * SharedPanels::kGroupPanels;
              const int64_t rows = std::min(mlen, (first + SharedPanels::kGroupPanels) * mr) - first * mr;
              cfg.pack_a(A + (m0 + first * mr) * a_rs + k0 * a_ks, a_rs, a_ks, rows, klen,
                         a_block + first * mr * klen);
            });
            for (int64_t p = q0; p < q1; p++) {
              const int64_t i0 = m0 + p * mr;
              const int rows = static_cast<int>(std::min(mr, m0 + mlen - i0));
              const float* ap = a_block + p * mr * klen;
              for (int64_t q = 0; q < b_panels; q++) {
                const int64_t j0 = n0 + q * nr;
                const int cols = static_cast<int>(std::min(nr, n0 + nlen - j0));
                float* c = C + i0 * ldc + j0;
                cfg.kernel(klen, ap, b_pack + q * nr * klen, c, ldc, alpha, beta_k, rows, cols);
                if (last_block && epilogue) epilogue(c, ldc, i0, j0, rows, cols);
              }
            }
          }
        }
      });
    }
  }
}

}  // namespace tf
