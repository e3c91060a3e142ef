// Index math of the CUDA tiled GEMM (native/cuda/gemm_tiled.cu): the block and warp tiling,
// which global elements each thread loads, where they sit in shared memory, and how the WMMA
// fragments read them back, for every transpose. Shared with a host model of the kernel's
// data movement (native/kernels/gemm_tile_emulate.cc, test hook `_gemmTiledEmulate`), so the
// CPU suite checks the tiling, the transposes and the fragment layouts that no GPU here runs.
//
// C[M, N] = alpha op(A)[M, K] · op(B)[K, N] + beta C. Block tile 128 (rows i) x 128 (cols j),
// depth stage 32 (k); 256 threads = 8 warps, warp w owning C rows [64 (w / 4), + 64) x cols
// [32 (w % 4), + 32) of the block tile as 4 x 2 fragments of 16 x 16.
// A shared tile keeps the operand's orientation in global memory: `lines` lines of `width`
// contiguous elements, each line padded to ld = width + 8:
//   A [M, K] (not transposed): 128 lines (i) of 32 (k)    A [K, M] (transposed): 32 lines (k) of 128 (i)
//   B [K, N] (not transposed): 32 lines (k) of 128 (j)    B [N, K] (transposed): 128 lines (j) of 32 (k)
#pragma once
#include <cstdint>

#include "core/host_device.h"

namespace tf::gemm_tile {

constexpr int kBlock = 128, kDepth = 32, kPad = 8, kThreads = 256;
constexpr int kWarpRows = 64, kWarpCols = 32, kFrag = 16;
constexpr int kVectorsPerThread = 4;  // float4 loads per thread per operand per stage

struct Tile {
  int lines, width;
};
TF_HOST_DEVICE constexpr Tile a_tile(bool trans) { return trans ? Tile{kDepth, kBlock} : Tile{kBlock, kDepth}; }
TF_HOST_DEVICE constexpr Tile b_tile(bool trans) { return trans ? Tile{kBlock, kDepth} : Tile{kDepth, kBlock}; }
TF_HOST_DEVICE constexpr int tile_ld(Tile t) { return t.width + kPad; }
TF_HOST_DEVICE constexpr int tile_elements(Tile t) { return t.lines * tile_ld(t); }

// The q-th float4 (q < 4) of `thread`: its line and first column in the tile (1024 float4 =
// 4096 elements = one tile, whichever the orientation).
TF_HOST_DEVICE constexpr int vector_line(Tile t, int thread, int q) { return (thread + kThreads * q) / (t.width / 4); }
TF_HOST_DEVICE constexpr int vector_col(Tile t, int thread, int q) { return (thread + kThreads * q) % (t.width / 4) * 4; }

// Where the tile at depth k0 of the block at rows i0 / cols j0 starts in the stored operand
// (line, column), and the stored operand's extents (lines, columns).
struct Origin {
  int64_t line0, col0, lines, cols;
};
TF_HOST_DEVICE constexpr Origin a_origin(bool trans, int64_t i0, int64_t k0, int64_t M, int64_t K) {
  return trans ? Origin{k0, i0, K, M} : Origin{i0, k0, M, K};
}
TF_HOST_DEVICE constexpr Origin b_origin(bool trans, int64_t j0, int64_t k0, int64_t K, int64_t N) {
  return trans ? Origin{j0, k0, N, K} : Origin{k0, j0, K, N};
}

// Offset in the shared tile of op(A)[r, k] and op(B)[k, c] (tile-local indices).
TF_HOST_DEVICE constexpr int a_at(bool trans, int r, int k) {
  return trans ? k * tile_ld(a_tile(true)) + r : r * tile_ld(a_tile(false)) + k;
}
TF_HOST_DEVICE constexpr int b_at(bool trans, int k, int c) {
  return trans ? c * tile_ld(b_tile(true)) + k : k * tile_ld(b_tile(false)) + c;
}

// Fragment layouts (WMMA's convention: row-major element (x, y) at p[x·ld + y], column-major
// at p[y·ld + x]): op(A) (x = r, y = k) is column-major exactly when A is stored transposed,
// op(B) (x = k, y = c) when B is; the fragment's ld is the tile's.
TF_HOST_DEVICE constexpr bool a_col_major(bool trans) { return trans; }
TF_HOST_DEVICE constexpr bool b_col_major(bool trans) { return trans; }

// Warp w's first C row and column in the block tile.
TF_HOST_DEVICE constexpr int warp_row(int w) { return w / 4 * kWarpRows; }
TF_HOST_DEVICE constexpr int warp_col(int w) { return w % 4 * kWarpCols; }

}  // namespace tf::gemm_tile
