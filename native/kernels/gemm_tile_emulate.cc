// Host model of the CUDA tiled GEMM (see gemm_tile_emulate.h): block by block and stage by
// stage, each of the 256 "threads" loads its 4 float4 of each operand tile into an emulated
// shared tile (NaN where nothing was written), then each of the 8 "warps" multiplies its 4 x 2
// fragments reading the tiles as load_matrix_sync would, and the epilogue writes C.
#include "kernels/gemm_tile_emulate.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/gemm_tile_math.h"

namespace tf {
namespace {

using namespace gemm_tile;

// One emulated shared tile with checked indexing.
struct SharedTile {
  Tile tile;
  std::vector<float> data;
  explicit SharedTile(Tile t) : tile(t), data(static_cast<size_t>(tile_elements(t)), std::numeric_limits<float>::quiet_NaN()) {}
  float& at(int64_t offset) {
    if (offset < 0 || offset >= static_cast<int64_t>(data.size()))
      throw Error("tiled GEMM index math left a shared tile: offset " + std::to_string(offset) + " of " +
                      std::to_string(data.size()),
                  ErrorKind::Native);
    return data[static_cast<size_t>(offset)];
  }
};

// Every thread's float4 loads of one stage (load_tile + store_tile of the kernel).
void load_stage(SharedTile& s, const float* P, int64_t ld, Origin o) {
  for (int thread = 0; thread < kThreads; thread++)
    for (int q = 0; q < kVectorsPerThread; q++) {
      const int line = vector_line(s.tile, thread, q), col = vector_col(s.tile, thread, q);
      for (int e = 0; e < 4; e++) {
        const int64_t gl = o.line0 + line, gc = o.col0 + col + e;
        s.at(int64_t(line) * tile_ld(s.tile) + col + e) = gl < o.lines && gc < o.cols ? P[gl * ld + gc] : 0.0f;
      }
    }
}

// Element (x, y) of a fragment whose first element is at `base`, as load_matrix_sync reads it.
float fragment_element(SharedTile& s, int base, bool col_major, int x, int y) {
  const int ld = tile_ld(s.tile);
  return s.at(int64_t(base) + (col_major ? int64_t(y) * ld + x : int64_t(x) * ld + y));
}

}  // namespace

void gemm_tiled_emulate(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                        const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  for (int64_t i0 = 0; i0 < M; i0 += kBlock)
    for (int64_t j0 = 0; j0 < N; j0 += kBlock) {
      // acc[warp][i][j][r][c]: each warp's 4 x 2 fragments of 16 x 16
      std::vector<float> acc(static_cast<size_t>(kThreads / 32) * 8 * kFrag * kFrag, 0.0f);
      for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
        SharedTile As(a_tile(ta)), Bs(b_tile(tb));
        load_stage(As, A, lda, a_origin(ta, i0, k0, M, K));
        load_stage(Bs, B, ldb, b_origin(tb, j0, k0, K, N));
        for (int w = 0; w < kThreads / 32; w++)
          for (int i = 0; i < 4; i++)
            for (int j = 0; j < 2; j++)
              for (int kk = 0; kk < kDepth; kk += kFrag) {  // bf16's k-step: fragments 16 x 16
                const int a_base = a_at(ta, warp_row(w) + i * kFrag, kk), b_base = b_at(tb, kk, warp_col(w) + j * kFrag);
                float* f = &acc[(size_t(w) * 8 + i * 2 + j) * kFrag * kFrag];
                for (int r = 0; r < kFrag; r++)
                  for (int y = 0; y < kFrag; y++) {
                    const float a = fragment_element(As, a_base, a_col_major(ta), r, y);
                    for (int c = 0; c < kFrag; c++) f[r * kFrag + c] += a * fragment_element(Bs, b_base, b_col_major(tb), y, c);
                  }
              }
      }
      for (int w = 0; w < kThreads / 32; w++)
        for (int i = 0; i < 4; i++)
          for (int j = 0; j < 2; j++)
            for (int r = 0; r < kFrag; r++)
              for (int c = 0; c < kFrag; c++) {
                const int64_t gi = i0 + warp_row(w) + i * kFrag + r, gj = j0 + warp_col(w) + j * kFrag + c;
                if (gi >= M || gj >= N) continue;
                const float v = acc[((size_t(w) * 8 + i * 2 + j) * kFrag + r) * kFrag + c];
                float* out = C + gi * ldc + gj;
                *out = beta == 0.0f ? alpha * v : alpha * v + beta * *out;
              }
    }
}

}  // namespace tf
