// Sparse autoencoder forward, loss, backward and Adam step (see sae.h for shapes and maths).
#include "models/sae.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/gemm.h"
#include "kernels/sae_encode_math.h"
#include "kernels/ops.h"

namespace tf {

SaeLayout::SaeLayout(const SaeConfig& c) {
  const int64_t D = c.d_model, L = c.d_sae;
  w_enc = 0;
  b_enc = w_enc + D * L;
  threshold = b_enc + L;
  w_dec = threshold + L;
  b_dec = w_dec + L * D;
  total = b_dec + D;
}

namespace {

// Indices of the k largest values of v[0..n) among those with keep[i] (nullptr = all), written
// to idx (returns how many, <= k). Order: sae_topk_before (ties keep the lower index).
int64_t top_indices(const float* v, int64_t n, int64_t k, const uint8_t* keep, std::vector<int32_t>& scratch,
                    int32_t* idx) {
  scratch.clear();
  for (int64_t i = 0; i < n; i++)
    if (!keep || keep[i]) scratch.push_back(static_cast<int32_t>(i));
  const int64_t m = std::min<int64_t>(k, static_cast<int64_t>(scratch.size()));
  auto greater = [v](int32_t a, int32_t b) { return sae_topk_before(v[a], a, v[b], b); };
  std::partial_sort(scratch.begin(), scratch.begin() + m, scratch.end(), greater);
  std::copy(scratch.begin(), scratch.begin() + m, idx);
  return m;
}

// pre[N, L] = x[N, D] W_enc[D, L] + b_enc
void encode_pre(const SaeConfig& c, const SaeLayout& lay, const float* params, const float* x, int64_t N, float* pre) {
  const int64_t D = c.d_model, L = c.d_sae;
  const float* b = params + lay.b_enc;
  for (int64_t n = 0; n < N; n++) std::copy(b, b + L, pre + n * L);
  gemm(Trans::No, Trans::No, N, L, D, 1.0f, x, D, params + lay.w_enc, L, 1.0f, pre, L);
}

}  // namespace

void topk_activation(const float* pre, int64_t N, int64_t L, int64_t k, float* f) {
  parallel_range(static_cast<size_t>(N), 16, [&](size_t begin, size_t end) {
    std::vector<int32_t> scratch;
    std::vector<int32_t> idx(static_cast<size_t>(std::max<int64_t>(k, 1)));
    std::vector<float> kept(idx.size());
    for (size_t n = begin; n < end; n++) {
      const float* p = pre + n * L;
      float* out = f + n * L;
      // the kept values are read before the row is cleared, so f may be pre (in place)
      const int64_t m = top_indices(p, L, k, nullptr, scratch, idx.data());
      for (int64_t j = 0; j < m; j++) kept[j] = sae_topk_code(p[idx[j]]);
      std::fill(out, out + L, 0.0f);
      for (int64_t j = 0; j < m; j++) out[idx[j]] = kept[j];
    }
  });
}

void sae_forward(const SaeConfig& c, const float* params, const float* x, int64_t N, float* pre, float* f) {
  const SaeLayout lay(c);
  const int64_t L = c.d_sae;
  encode_pre(c, lay, params, x, N, pre);
  if (c.kind == SaeKind::TopK) {
    topk_activation(pre, N, L, c.k, f);
    return;
  }
  const float* th = params + lay.threshold;
  parallel_range(static_cast<size_t>(N * L), 4096, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) f[i] = pre[i] > th[i % L] ? pre[i] : 0.0f;
  });
}

bool sae_encode_selected(const float* x, int64_t N, int64_t D, float scale, const float* w, const float* b,
                         const float* threshold, int64_t S, float* out) {
  // bias, threshold and the finiteness check applied to each tile of the GEMM as it is
  // finished (no second pass over out, no separate pass over x)
  std::atomic<bool> finite{true};
  gemm(Trans::No, Trans::No, N, S, D, scale, x, D, w, S, 0.0f, out, S,
       [&](float* c, int64_t ldc, int64_t, int64_t j0, int rows, int cols) {
         const float* bias = b + j0;
         const float* theta = threshold + j0;
         // Written to vectorize: the GEMM spends only a few ns per element of out, so a scalar
         // epilogue would cost as much as the GEMM. A value is not finite when its exponent
         // bits are all ones; OR-ing those tests is an integer reduction the compiler can vectorize.
         uint32_t nonfinite = 0;
         for (int r = 0; r < rows; r++) {
           float* row = c + r * ldc;
           for (int s = 0; s < cols; s++) {
             const float v = row[s] + bias[s];
             uint32_t bits;
             std::memcpy(&bits, &v, sizeof bits);
             nonfinite |= (bits & 0x7f800000u) == 0x7f800000u;
             row[s] = sae_jumprelu(v, theta[s]);
           }
         }
         if (nonfinite) finite.store(false, std::memory_order_relaxed);
       });
  return finite.load();
}

Sae::Sae(const SaeConfig& config) : config_(config), layout_(config) {
  check(config.d_model >= 1 && config.d_sae >= 1, "SAE dimensions must be positive");
  check(config.kind != SaeKind::TopK || (config.k >= 1 && config.k <= config.d_sae), "TopK k must be in [1, d_sae]");
  params_.resize(layout_.total);
  grads_.resize(layout_.total);
  m_.resize(layout_.total);
  v_.resize(layout_.total);
  since_fired_.assign(static_cast<size_t>(config.d_sae), 0);
}

int64_t Sae::dead_count() const {
  int64_t dead = 0;
  for (int64_t s : since_fired_) dead += s >= config_.dead_after;
  return dead;
}

void Sae::init(uint64_t seed, float initial_threshold) {
  const int64_t D = config_.d_model, L = config_.d_sae;
  Rng rng(seed);
  float* p = params_.data();
  std::fill(p, p + layout_.total, 0.0f);
  float* wd = p + layout_.w_dec;
  for (int64_t i = 0; i < L * D; i++) wd[i] = static_cast<float>(rng.normal());
  normalize_decoder();
  float* we = p + layout_.w_enc;
  for (int64_t l = 0; l < L; l++)
    for (int64_t d = 0; d < D; d++) we[d * L + l] = wd[l * D + d];
  if (config_.kind == SaeKind::JumpReLU)
    std::fill(p + layout_.threshold, p + layout_.threshold + L, initial_threshold);
  m_.zero();
  v_.zero();
  adam_step_ = 0;
  std::fill(since_fired_.begin(), since_fired_.end(), 0);
}

void Sae::init_decoder_bias(const float* x, int64_t N) {
  const int64_t D = config_.d_model;
  std::vector<double> mean(static_cast<size_t>(D), 0.0);
  for (int64_t n = 0; n < N; n++)
    for (int64_t d = 0; d < D; d++) mean[d] += x[n * D + d];
  float* bd = params_.data() + layout_.b_dec;
  for (int64_t d = 0; d < D; d++) bd[d] = static_cast<float>(mean[d] / std::max<int64_t>(N, 1));
}

void Sae::normalize_decoder() {
  const int64_t D = config_.d_model;
  float* wd = params_.data() + layout_.w_dec;
  parallel_range(static_cast<size_t>(config_.d_sae), 64, [&](size_t begin, size_t end) {
    for (size_t l = begin; l < end; l++) {
      double ss = 0;
      for (int64_t d = 0; d < D; d++) ss += static_cast<double>(wd[l * D + d]) * wd[l * D + d];
      const float inv = ss > 0 ? static_cast<float>(1.0 / std::sqrt(ss)) : 0.0f;
      for (int64_t d = 0; d < D; d++) wd[l * D + d] *= inv;
    }
  });
}

SaeStepStats Sae::loss_and_grad(const float* x, int64_t N) {
  const SaeConfig& c = config_;
  const int64_t D = c.d_model, L = c.d_sae;
  const float* p = params_.data();
  float* g = grads_.data();
  grads_.zero();
  AlignedArray<float> pre(N * L), f(N * L), xhat(N * D), dxhat(N * D), df(N * L);
  SaeStepStats st;

  sae_forward(c, p, x, N, pre.data(), f.data());
  // xhat[N, D] = f W_dec + b_dec
  for (int64_t n = 0; n < N; n++) std::copy(p + layout_.b_dec, p + layout_.b_dec + D, xhat.data() + n * D);
  gemm(Trans::No, Trans::No, N, D, L, 1.0f, f.data(), L, p + layout_.w_dec, D, 1.0f, xhat.data(), D);

  // mse and dxhat = 2 (xhat - x) / N; variance for explained variance
  std::vector<double> mean(static_cast<size_t>(D), 0.0);
  double mse = 0, var = 0, l0 = 0;
  for (int64_t n = 0; n < N; n++)
    for (int64_t d = 0; d < D; d++) {
      const float e = xhat[n * D + d] - x[n * D + d];
      mse += static_cast<double>(e) * e;
      dxhat[n * D + d] = 2.0f * e / static_cast<float>(N);
      mean[d] += x[n * D + d];
    }
  for (int64_t d = 0; d < D; d++) mean[d] /= static_cast<double>(N);
  for (int64_t n = 0; n < N; n++)
    for (int64_t d = 0; d < D; d++) var += (x[n * D + d] - mean[d]) * (x[n * D + d] - mean[d]);
  st.mse = mse / N;
  st.variance = var / N;

  // firing statistics and dead latents
  std::vector<int64_t> fired(static_cast<size_t>(L), 0);
  for (int64_t n = 0; n < N; n++)
    for (int64_t l = 0; l < L; l++) fired[l] += f[n * L + l] != 0.0f;
  for (int64_t l = 0; l < L; l++) {
    l0 += static_cast<double>(fired[l]);
    since_fired_[l] = fired[l] > 0 ? 0 : since_fired_[l] + N;
  }
  st.l0 = l0 / N;
  std::vector<uint8_t> dead(static_cast<size_t>(L), 0);
  int64_t dead_n = 0;
  for (int64_t l = 0; l < L; l++) dead_n += dead[l] = since_fired_[l] >= c.dead_after;
  st.dead = dead_n;

  // decoder gradients: db_dec = sum_n dxhat; dW_dec[L, D] = f^T dxhat; df = dxhat W_dec^T
  for (int64_t n = 0; n < N; n++)
    for (int64_t d = 0; d < D; d++) g[layout_.b_dec + d] += dxhat[n * D + d];
  gemm(Trans::Yes, Trans::No, L, D, N, 1.0f, f.data(), L, dxhat.data(), D, 1.0f, g + layout_.w_dec, D);
  gemm(Trans::No, Trans::Yes, N, L, D, 1.0f, dxhat.data(), D, p + layout_.w_dec, D, 0.0f, df.data(), L);

  // activation backward: dpre (reusing df's buffer)
  double sparsity = 0;
  float* dpre = df.data();
  if (c.kind == SaeKind::TopK) {
    for (int64_t i = 0; i < N * L; i++) dpre[i] = f[i] > 0.0f ? dpre[i] : 0.0f;
  } else {
    const float* th = p + layout_.threshold;
    float* gth = g + layout_.threshold;
    const float eps = c.bandwidth;
    const float l0c = c.l0_coefficient / static_cast<float>(N);
    for (int64_t n = 0; n < N; n++)
      for (int64_t l = 0; l < L; l++) {
        const int64_t i = n * L + l;
        const float u = (pre[i] - th[l]) / eps;
        const bool in_kernel = std::fabs(u) < 0.5f;
        if (in_kernel) gth[l] += -(th[l] / eps) * dpre[i] - l0c / eps;
        dpre[i] = pre[i] > th[l] ? dpre[i] : 0.0f;
      }
    sparsity = c.l0_coefficient * st.l0;
  }

  // auxiliary loss on dead latents: ehat = a W_dec, e = x - xhat (constant)
  double aux = 0;
  if (dead_n > 0 && c.aux_coefficient > 0) {
    const int64_t k = std::min<int64_t>(c.aux_k, dead_n);
    AlignedArray<float> a(N * L), ehat(N * D), dehat(N * D);
    parallel_range(static_cast<size_t>(N), 16, [&](size_t begin, size_t end) {
      std::vector<int32_t> scratch, idx(static_cast<size_t>(k));
      for (size_t n = begin; n < end; n++) {
        const int64_t m = top_indices(pre.data() + n * L, L, k, dead.data(), scratch, idx.data());
        for (int64_t j = 0; j < m; j++) a[n * L + idx[j]] = std::max(pre[n * L + idx[j]], 0.0f);
      }
    });
    gemm(Trans::No, Trans::No, N, D, L, 1.0f, a.data(), L, p + layout_.w_dec, D, 0.0f, ehat.data(), D);
    const float scale = 2.0f * c.aux_coefficient / static_cast<float>(N);
    for (int64_t i = 0; i < N * D; i++) {
      const float r = ehat[i] - (x[i] - xhat[i]);
      aux += static_cast<double>(r) * r;
      dehat[i] = scale * r;
    }
    aux /= N;
    gemm(Trans::Yes, Trans::No, L, D, N, 1.0f, a.data(), L, dehat.data(), D, 1.0f, g + layout_.w_dec, D);
    // da = dehat W_dec^T, flowing into dpre where a > 0
    AlignedArray<float> da(N * L);
    gemm(Trans::No, Trans::Yes, N, L, D, 1.0f, dehat.data(), D, p + layout_.w_dec, D, 0.0f, da.data(), L);
    for (int64_t i = 0; i < N * L; i++)
      if (a[i] > 0.0f) dpre[i] += da[i];
  }
  st.aux = aux;
  st.loss = st.mse + sparsity + c.aux_coefficient * aux;

  // encoder gradients: db_enc = sum_n dpre; dW_enc[D, L] = x^T dpre
  for (int64_t n = 0; n < N; n++)
    for (int64_t l = 0; l < L; l++) g[layout_.b_enc + l] += dpre[n * L + l];
  gemm(Trans::Yes, Trans::No, D, L, N, 1.0f, x, D, dpre, L, 1.0f, g + layout_.w_enc, L);
  return st;
}

SaeStepStats Sae::step(const float* x, int64_t N, float lr, float beta1, float beta2, float eps) {
  SaeStepStats st = loss_and_grad(x, N);
  adam_step_++;
  // Keep updates tangent to the unit sphere: drop each decoder row's gradient component along the row.
  const int64_t D = config_.d_model;
  float* wd = params_.data() + layout_.w_dec;
  float* gd = grads_.data() + layout_.w_dec;
  for (int64_t l = 0; l < config_.d_sae; l++) {
    double dot = 0;
    for (int64_t d = 0; d < D; d++) dot += static_cast<double>(wd[l * D + d]) * gd[l * D + d];
    for (int64_t d = 0; d < D; d++) gd[l * D + d] -= static_cast<float>(dot) * wd[l * D + d];
  }
  if (config_.kind == SaeKind::TopK)
    std::fill(grads_.data() + layout_.threshold, grads_.data() + layout_.threshold + config_.d_sae, 0.0f);
  adamw_update(params_.data(), grads_.data(), m_.data(), v_.data(), layout_.total, lr, beta1, beta2, eps, 0.0f,
               adam_step_, 1.0f);
  normalize_decoder();
  if (config_.kind == SaeKind::JumpReLU) {
    float* th = params_.data() + layout_.threshold;
    for (int64_t l = 0; l < config_.d_sae; l++) th[l] = std::max(th[l], 1e-6f);
  }
  return st;
}

}  // namespace tf
