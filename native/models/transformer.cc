#include "models/transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"

namespace tf {

namespace {

// Rows of logits materialised at once by the chunked LM head, so V = 50257 never needs a full
// [N, V] buffer: the chunk holds about 1/4 of the parameter count in floats (a few percent of
// the training footprint), clamped to [256K, 32M] floats and to at least 32 rows (fewer rows
// would make the head's GEMMs re-read the [V, C] weight too often).
// (Taller chunks would be free when they fit the blocks' scratch they share memory with, but
// the GEMM's per-thread pack buffers grow with them, so the rule stays tied to the model size.)
int64_t logit_chunk_rows(int64_t N, int64_t V, int64_t params) {
  const int64_t floats = std::clamp<int64_t>(params / 4, int64_t(1) << 18, int64_t(1) << 25);
  return std::min<int64_t>(N, std::max<int64_t>(32, floats / V));
}

void copy_floats(float* dst, const float* src, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

}  // namespace

const char* op_kind_name(OpKind kind) {
  static const char* const names[] = {"embedding", "rmsnorm", "matmul", "lm_head", "rope", "attention", "relu2",
                                      "cross_entropy", "adamw", "copy"};
  return names[static_cast<int>(kind)];
}

void validate(const TransformerConfig& c) {
  check(c.vocab >= 1 && c.vocab <= (int64_t(1) << 31), "vocabSize must be in [1, 2^31], got " + std::to_string(c.vocab));
  check(c.dim >= 1, "dModel must be positive, got " + std::to_string(c.dim));
  check(c.layers >= 1, "layers must be positive, got " + std::to_string(c.layers));
  check(c.heads >= 1, "heads must be positive, got " + std::to_string(c.heads));
  check(c.dim % c.heads == 0,
        "dModel (" + std::to_string(c.dim) + ") must be divisible by heads (" + std::to_string(c.heads) + ")");
  check((c.dim / c.heads) % 2 == 0, "head size dModel / heads = " + std::to_string(c.dim / c.heads) +
                                        " must be even (RoPE rotates pairs)");
  check(c.hidden >= 1, "hidden (mlpRatio × dModel) must be positive, got " + std::to_string(c.hidden));
  check(c.context >= 1, "context must be positive, got " + std::to_string(c.context));
  check(std::isfinite(c.rope_base) && c.rope_base > 1.0f, "ropeBase must be a finite number > 1");
  check(std::isfinite(c.norm_eps) && c.norm_eps > 0.0f, "normEps must be a finite number > 0");
  const double params = double(c.vocab) * c.dim * (c.tie_embeddings ? 1 : 2) +
                        double(c.layers) * (4.0 * c.dim * c.dim + 2.0 * c.dim * c.hidden + 2.0 * c.dim);
  check(params < 4e9, "model too large: " + std::to_string(params) + " parameters (limit 4e9)", ErrorKind::TooLarge);
}

Transformer::Transformer(const TransformerConfig& config) : config_(config) {
  validate(config_);
  const int64_t V = config_.vocab, C = config_.dim, H = config_.hidden, L = config_.layers;
  size_t offset = 0;
  auto place = [&](std::vector<int64_t> shape) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    size_t at = offset;
    offset += n;
    return std::make_pair(at, n);
  };
  // Decayed group first: every linear layer's matrix.
  layer_offsets_.assign(static_cast<size_t>(L) * 6, 0);
  std::vector<TensorInfo> blocks;
  for (int64_t l = 0; l < L; l++) {
    const std::string p = "blocks." + std::to_string(l) + ".";
    auto qkv = place({3 * C, C});
    auto proj = place({C, C});
    auto fc = place({H, C});
    auto mproj = place({C, H});
    layer_offsets_[l * 6 + 1] = qkv.first;
    layer_offsets_[l * 6 + 2] = proj.first;
    layer_offsets_[l * 6 + 4] = fc.first;
    layer_offsets_[l * 6 + 5] = mproj.first;
  }
  if (!config_.tie_embeddings) head_offset_ = place({V, C}).first;
  decayed_count_ = offset;
  wte_offset_ = place({V, C}).first;
  if (config_.tie_embeddings) head_offset_ = wte_offset_;
  for (int64_t l = 0; l < L; l++) {
    layer_offsets_[l * 6 + 0] = place({C}).first;
    layer_offsets_[l * 6 + 3] = place({C}).first;
  }
  final_norm_offset_ = place({C}).first;

  // The table in logical (PyTorch module) order.
  auto add = [&](std::string name, std::vector<int64_t> shape, size_t at, bool decay) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    tensors_.push_back(TensorInfo{std::move(name), std::move(shape), at, n, decay});
  };
  add("wte.weight", {V, C}, wte_offset_, false);
  for (int64_t l = 0; l < L; l++) {
    const std::string p = "blocks." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", {C}, layer_offsets_[l * 6 + 0], false);
    add(p + "attn.qkv.weight", {3 * C, C}, layer_offsets_[l * 6 + 1], true);
    add(p + "attn.proj.weight", {C, C}, layer_offsets_[l * 6 + 2], true);
    add(p + "mlp_norm.weight", {C}, layer_offsets_[l * 6 + 3], false);
    add(p + "mlp.fc.weight", {H, C}, layer_offsets_[l * 6 + 4], true);
    add(p + "mlp.proj.weight", {C, H}, layer_offsets_[l * 6 + 5], true);
  }
  add("final_norm.weight", {C}, final_norm_offset_, false);
  if (!config_.tie_embeddings) add("lm_head.weight", {V, C}, head_offset_, true);

  params_.resize(offset);
  grads_.resize(offset);
}

void Transformer::init(uint64_t seed) {
  Rng rng(seed);
  const float std_base = 0.02f;
  const float std_resid = std_base / std::sqrt(2.0f * static_cast<float>(config_.layers));
  for (const TensorInfo& t : tensors_) {
    float* p = params_.data() + t.offset;
    if (t.shape.size() == 1) {
      std::fill(p, p + t.size, 1.0f);
      continue;
    }
    const bool residual = t.name.find("attn.proj") != std::string::npos || t.name.find("mlp.proj") != std::string::npos;
    const float s = residual ? std_resid : std_base;
    for (size_t i = 0; i < t.size; i++) p[i] = static_cast<float>(rng.normal()) * s;
  }
}

Transformer::LayerParams Transformer::layer_params(float* base, int64_t l) const {
  const size_t* o = layer_offsets_.data() + l * 6;
  return LayerParams{base + o[0], base + o[1], base + o[2], base + o[3], base + o[4], base + o[5]};
}

size_t Transformer::saved_activation_bytes_for(int64_t B, int64_t T) const {
  const int64_t N = B * T, C = config_.dim, H = config_.hidden, NH = config_.heads;
  const int64_t per_layer = N * (6 * C + 2 + NH + H);
  return static_cast<size_t>(config_.layers * per_layer + N * (2 * C + 1)) * sizeof(float);
}

size_t Transformer::activation_bytes_for(int64_t B, int64_t T) const {
  const int64_t N = B * T, C = config_.dim, H = config_.hidden, V = config_.vocab;
  const int64_t rows = logit_chunk_rows(N, V, static_cast<int64_t>(params_.size()));
  const int64_t scratch = N * 2 * C + std::max(N * (H + std::max(3 * C, H)), rows * V);
  return saved_activation_bytes_for(B, T) + static_cast<size_t>(scratch) * sizeof(float);
}

void Transformer::ensure_activations(int64_t B, int64_t T) {
  check(B >= 1 && T >= 1, "batch and context must be positive");
  check(T <= config_.context, "context " + std::to_string(T) + " exceeds the model's context " +
                                  std::to_string(config_.context));
  if (B == B_ && T == T_) return;
  const int64_t N = B * T, C = config_.dim, H = config_.hidden, NH = config_.heads, V = config_.vocab;
  const int64_t L = config_.layers;
  const int64_t per_layer = N * (6 * C + 2 + NH + H);
  B_ = T_ = 0;
  acts_.resize(0);
  scratch_.resize(0);
  acts_.resize(static_cast<size_t>(L * per_layer + N * (2 * C + 1)));
  float* a = acts_.data();
  auto take = [&](int64_t n) { float* p = a; a += n; return p; };
  layer_acts_.resize(static_cast<size_t>(L));
  for (int64_t l = 0; l < L; l++) {
    LayerActs& la = layer_acts_[l];
    la.resid = take(N * C);
    la.rstd1 = take(N);
    la.qkv = take(N * 3 * C);
    la.att = take(N * C);
    la.lse = take(N * NH);
    la.mid = take(N * C);
    la.rstd2 = take(N);
    la.pre = take(N * H);
  }
  final_resid_ = take(N * C);
  xf_ = take(N * C);
  rstdf_ = take(N);

  chunk_rows_ = logit_chunk_rows(N, V, static_cast<int64_t>(params_.size()));
  scratch_.resize(static_cast<size_t>(N * 2 * C + std::max(N * (H + std::max(3 * C, H)), chunk_rows_ * V)));
  a = scratch_.data();
  dresid_ = take(N * C);
  dln_ = take(N * C);
  // The logits chunk (LM head, between the blocks' forward and backward) shares memory with
  // h1, h2 and dqkv (used inside blocks only); dqkv (attention half of a block's backward) and
  // h2 (MLP half) are never live together either.
  chunk_ = a;
  h1_ = a;
  dqkv_ = h2_ = a + N * H;
  dxf_ = dln_;
  B_ = B;
  T_ = T;
}

float* Transformer::residual_after(int64_t l) {
  return l < config_.layers ? layer_acts_[l].resid : final_resid_;
}

void Transformer::forward_blocks(const uint32_t* inputs, int64_t upto) {
  const int64_t B = B_, T = T_, N = B * T, C = config_.dim, H = config_.hidden, NH = config_.heads;
  const int64_t hs = C / NH;
  const float eps = config_.norm_eps, base = config_.rope_base;
  timed(OpKind::Embedding, [&] { embedding_forward(residual_after(0), inputs, params_.data() + wte_offset_, N, C); });
  steer_residual(0, residual_after(0), N);
  for (int64_t l = 0; l < upto; l++) {
    LayerActs& a = layer_acts_[l];
    LayerParams p = layer_params(params_.data(), l);
    // attention branch: mid = resid + proj(attn(rope(qkv(rmsnorm(resid)))))
    timed(OpKind::RmsNorm, [&] { rmsnorm_forward(dln_, a.rstd1, a.resid, p.attn_norm, N, C, eps); });
    timed(OpKind::Matmul, [&] { gemm(Trans::No, Trans::Yes, N, 3 * C, C, 1.0f, dln_, C, p.qkv, C, 0.0f, a.qkv, 3 * C); });
    timed(OpKind::Rope, [&] { rope_forward(a.qkv, B, T, NH, hs, 3 * C, base); });
    timed(OpKind::Rope, [&] { rope_forward(a.qkv + C, B, T, NH, hs, 3 * C, base); });
    timed(OpKind::Attention, [&] { attention_forward(a.att, a.lse, a.qkv, B, T, C, NH, head_shift(l)); });
    timed(OpKind::Copy, [&] { copy_floats(a.mid, a.resid, N * C); });
    timed(OpKind::Matmul, [&] { gemm(Trans::No, Trans::Yes, N, C, C, 1.0f, a.att, C, p.attn_proj, C, 1.0f, a.mid, C); });
    // MLP branch: next = mid + proj(relu²(fc(rmsnorm(mid))))
    timed(OpKind::RmsNorm, [&] { rmsnorm_forward(dln_, a.rstd2, a.mid, p.mlp_norm, N, C, eps); });
    timed(OpKind::Matmul, [&] { gemm(Trans::No, Trans::Yes, N, H, C, 1.0f, dln_, C, p.fc, C, 0.0f, a.pre, H); });
    timed(OpKind::Relu2, [&] { relu2_forward(h1_, a.pre, N * H); });
    float* next = residual_after(l + 1);
    timed(OpKind::Copy, [&] { copy_floats(next, a.mid, N * C); });
    timed(OpKind::Matmul, [&] { gemm(Trans::No, Trans::Yes, N, C, H, 1.0f, h1_, H, p.mlp_proj, H, 1.0f, next, C); });
    steer_residual(l + 1, next, N);
  }
}

void Transformer::final_norm_forward() {
  timed(OpKind::RmsNorm, [&] { rmsnorm_forward(xf_, rstdf_, final_resid_, params_.data() + final_norm_offset_, B_ * T_, config_.dim,
                  config_.norm_eps); });
}

double Transformer::head_loss(const uint32_t* targets, const uint8_t* mask, float* losses, bool backward,
                              float dloss_scale) {
  const int64_t N = B_ * T_, C = config_.dim, V = config_.vocab;
  const float* W = params_.data() + head_offset_;
  float* dW = grads_.data() + head_offset_;
  const int64_t chunks = (N + chunk_rows_ - 1) / chunk_rows_;
  const int64_t rows_per = (N + chunks - 1) / chunks;  // balanced chunks
  double sum = 0.0;
  for (int64_t r0 = 0; r0 < N; r0 += rows_per) {
    const int64_t R = std::min(rows_per, N - r0);
    const float* x = xf_ + r0 * C;
    timed(OpKind::LmHead, [&] { gemm(Trans::No, Trans::Yes, R, V, C, 1.0f, x, C, W, C, 0.0f, chunk_, V); });
    float* chunk_losses = losses ? losses + r0 : nullptr;
    const uint8_t* chunk_mask = mask ? mask + r0 : nullptr;
    if (!backward) {
      timed(OpKind::CrossEntropy, [&] { sum += cross_entropy_forward(chunk_losses, chunk_, targets + r0, chunk_mask, R, V); });
      continue;
    }
    timed(OpKind::CrossEntropy, [&] { sum += cross_entropy_forward_backward(chunk_, chunk_losses, targets + r0, chunk_mask, R, V, dloss_scale); });
    timed(OpKind::LmHead, [&] { gemm(Trans::No, Trans::No, R, C, V, 1.0f, chunk_, V, W, C, 0.0f, dxf_ + r0 * C, C); });
    timed(OpKind::LmHead, [&] { gemm(Trans::Yes, Trans::No, V, C, R, 1.0f, chunk_, V, x, C, 1.0f, dW, C); });
  }
  return sum;
}

void Transformer::final_norm_backward() {
  const int64_t N = B_ * T_, C = config_.dim;
  // dresid = d final_resid (rmsnorm_backward accumulates, so into a zeroed buffer)
  std::memset(dresid_, 0, static_cast<size_t>(N * C) * sizeof(float));
  timed(OpKind::RmsNorm, [&] { rmsnorm_backward(dresid_, grads_.data() + final_norm_offset_, dxf_, final_resid_,
                   params_.data() + final_norm_offset_, rstdf_, N, C); });
}

void Transformer::backward_blocks(const uint32_t* inputs, int64_t upto) {
  const int64_t B = B_, T = T_, N = B * T, C = config_.dim, H = config_.hidden, NH = config_.heads;
  const int64_t hs = C / NH;
  const float base = config_.rope_base, eps = config_.norm_eps;
  for (int64_t l = upto - 1; l >= 0; l--) {
    LayerActs& a = layer_acts_[l];
    LayerParams p = layer_params(params_.data(), l);
    LayerParams g = layer_params(grads_.data(), l);
    // MLP branch; dresid is d(next) and becomes d(mid)
    timed(OpKind::Relu2, [&] { relu2_forward(h1_, a.pre, N * H); });
    timed(OpKind::Matmul, [&] { gemm(Trans::Yes, Trans::No, C, H, N, 1.0f, dresid_, C, h1_, H, 1.0f, g.mlp_proj, H); });
    timed(OpKind::Matmul, [&] { gemm(Trans::No, Trans::No, N, H, C, 1.0f, dresid_, C, p.mlp_proj, H, 0.0f, h2_, H); });
    timed(OpKind::Relu2, [&] { relu2_backward(h1_, h2_, a.pre, N * H); });
    // ln2 is recomputed (same kernel, same values as forward) into dln_ rather than saved
    timed(OpKind::RmsNorm, [&] { rmsnorm_forward(dln_, a.rstd2, a.mid, p.mlp_norm, N, C, eps); });
    timed(OpKind::Matmul, [&] { gemm(Trans::Yes, Trans::No, H, C, N, 1.0f, h1_, H, dln_, C, 1.0f, g.fc, C); });
    timed(OpKind::Matmul, [&] { gemm(Trans::No, Trans::No, N, C, H, 1.0f, h1_, H, p.fc, C, 0.0f, dln_, C); });
    timed(OpKind::RmsNorm, [&] { rmsnorm_backward(dresid_, g.mlp_norm, dln_, a.mid, p.mlp_norm, a.rstd2, N, C); });
    // attention branch; dresid is d(mid) and becomes d(resid)
    timed(OpKind::Matmul, [&] { gemm(Trans::Yes, Trans::No, C, C, N, 1.0f, dresid_, C, a.att, C, 1.0f, g.attn_proj, C); });
    timed(OpKind::Matmul, [&] { gemm(Trans::No, Trans::No, N, C, C, 1.0f, dresid_, C, p.attn_proj, C, 0.0f, dln_, C); });
    timed(OpKind::Attention, [&] { attention_backward(dqkv_, dln_, a.qkv, a.att, a.lse, B, T, C, NH); });
    timed(OpKind::Rope, [&] { rope_backward(dqkv_, B, T, NH, hs, 3 * C, base); });
    timed(OpKind::Rope, [&] { rope_backward(dqkv_ + C, B, T, NH, hs, 3 * C, base); });
    timed(OpKind::RmsNorm, [&] { rmsnorm_forward(dln_, a.rstd1, a.resid, p.attn_norm, N, C, eps); });
    timed(OpKind::Matmul, [&] { gemm(Trans::Yes, Trans::No, 3 * C, C, N, 1.0f, dqkv_, 3 * C, dln_, C, 1.0f, g.qkv, C); });
    timed(OpKind::Matmul, [&] { gemm(Trans::No, Trans::No, N, C, 3 * C, 1.0f, dqkv_, 3 * C, p.qkv, C, 0.0f, dln_, C); });
    timed(OpKind::RmsNorm, [&] { rmsnorm_backward(dresid_, g.attn_norm, dln_, a.resid, p.attn_norm, a.rstd1, N, C); });
  }
  timed(OpKind::Embedding, [&] { embedding_backward(grads_.data() + wte_offset_, dresid_, inputs, N, C); });
}

double Transformer::forward(const uint32_t* inputs, const uint32_t* targets, const uint8_t* mask, int64_t B,
                            int64_t T, float* losses, bool backward, float dloss_scale) {
  check(!(backward && steering()), "steering is set: clear it before training (it is inference-only)", ErrorKind::State);
  ensure_activations(B, T);
  forward_blocks(inputs, config_.layers);
  final_norm_forward();
  const double sum = head_loss(targets, mask, losses, backward, dloss_scale);
  if (backward) {
    final_norm_backward();
    backward_blocks(inputs, config_.layers);
  }
  return sum;
}

void Transformer::logits(const uint32_t* inputs, int64_t B, int64_t T, float* out) {
  ensure_activations(B, T);
  forward_blocks(inputs, config_.layers);
  final_norm_forward();
  const int64_t N = B * T, C = config_.dim, V = config_.vocab;
  timed(OpKind::LmHead, [&] { gemm(Trans::No, Trans::Yes, N, V, C, 1.0f, xf_, C, params_.data() + head_offset_, C, 0.0f, out, V); });
}

void Transformer::hidden_states(const uint32_t* inputs, int64_t B, int64_t T, int64_t layer, float* out) {
  const int64_t L = config_.layers;
  check(layer >= 0 && layer <= L + 1, "layer must be in [0, " + std::to_string(L + 1) + "], got " +
                                          std::to_string(layer));
  ensure_activations(B, T);
  const int64_t n = B * T * config_.dim;
  if (layer <= L) {
    forward_blocks(inputs, layer);
    timed(OpKind::Copy, [&] { copy_floats(out, residual_after(layer), n); });
    return;
  }
  forward_blocks(inputs, L);
  final_norm_forward();
  timed(OpKind::Copy, [&] { copy_floats(out, xf_, n); });
}

double Transformer::hidden_backward(const uint32_t* inputs, int64_t B, int64_t T, int64_t layer, const float* d_hidden) {
  const int64_t L = config_.layers;
  check(layer >= 0 && layer <= L + 1, "layer must be in [0, " + std::to_string(L + 1) + "], got " +
                                          std::to_string(layer));
  check(!steering(), "steering is set: clear it before hidden_backward (it is inference-only)", ErrorKind::State);
  ensure_activations(B, T);
  const int64_t n = B * T * config_.dim;
  const int64_t upto = std::min(layer, L);
  forward_blocks(inputs, upto);
  const float* h = residual_after(upto);
  if (layer == L + 1) {
    final_norm_forward();
    h = xf_;
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++) sum += static_cast<double>(d_hidden[i]) * h[i];
  if (layer == L + 1) {
    timed(OpKind::Copy, [&] { copy_floats(dxf_, d_hidden, n); });
    final_norm_backward();
  } else {
    timed(OpKind::Copy, [&] { copy_floats(dresid_, d_hidden, n); });
  }
  backward_blocks(inputs, upto);
  return sum;
}

void Transformer::set_head_shift(const float* shift) {
  const size_t n = static_cast<size_t>(config_.layers * config_.dim);
  if (shift == nullptr) {
    head_shift_.resize(0);
    return;
  }
  head_shift_.resize(n);
  std::copy(shift, shift + n, head_shift_.data());
}

void Transformer::set_residual_steering(const float* directions, const float* keep) {
  const int64_t layers = config_.layers + 1;
  if (directions == nullptr) {
    resid_dir_.resize(0);
    resid_keep_.clear();
    return;
  }
  resid_dir_.resize(static_cast<size_t>(layers * config_.dim));
  std::copy(directions, directions + layers * config_.dim, resid_dir_.data());
  resid_keep_.assign(keep, keep + layers);
}

// x[r] -= (1 - keep) (x[r] · u) u for every row r, u = the direction at layer l (skipped when zero)
void Transformer::steer_residual(int64_t l, float* x, int64_t rows) {
  if (resid_dir_.size() == 0) return;
  const int64_t C = config_.dim;
  const float* u = resid_dir_.data() + l * C;
  const float remove = 1.0f - resid_keep_[static_cast<size_t>(l)];
  bool any = false;
  for (int64_t c = 0; c < C && !any; c++) any = u[c] != 0.0f;
  if (!any || remove == 0.0f) return;
  timed(OpKind::Copy, [&] {
    parallel_range(static_cast<size_t>(rows), 64, [&](size_t begin, size_t end) {
      for (size_t r = begin; r < end; r++) {
        float* row = x + static_cast<int64_t>(r) * C;
        double dot = 0.0;
        for (int64_t c = 0; c < C; c++) dot += static_cast<double>(row[c]) * u[c];
        const float f = static_cast<float>(remove * dot);
        for (int64_t c = 0; c < C; c++) row[c] -= f * u[c];
      }
    });
  });
}

void Transformer::head_outputs(const uint32_t* inputs, int64_t B, int64_t T, int64_t layer, float* out) {
  check(layer >= 0 && layer < config_.layers, "layer must be in [0, " + std::to_string(config_.layers - 1) +
                                                  "], got " + std::to_string(layer));
  ensure_activations(B, T);
  forward_blocks(inputs, layer + 1);
  timed(OpKind::Copy, [&] { copy_floats(out, layer_acts_[static_cast<size_t>(layer)].att, B * T * config_.dim); });
}

// The forward pass of forward_blocks + final norm + LM head for n new rows of one sequence at
// positions p0 .. p0 + n - 1, reading earlier keys and values from the cache and appending the
// new ones. Same ops as the full pass (attention through attention_decode).
void Transformer::decode(KvCache& cache, const uint32_t* tokens, int64_t n, float* logits) {
  const int64_t L = config_.layers, C = config_.dim, H = config_.hidden, NH = config_.heads, V = config_.vocab;
  const int64_t ctx = config_.context, hs = C / NH, p0 = cache.length;
  check(n >= 1 && p0 + n <= ctx, "decode: " + std::to_string(p0) + " cached + " + std::to_string(n) +
                                     " new positions exceed the context of " + std::to_string(ctx));
  if (cache.k.size() != static_cast<size_t>(L * ctx * C)) {
    check(p0 == 0, "decode: the cache does not belong to this model");
    cache.k.resize(static_cast<size_t>(L * ctx * C));
    cache.v.resize(static_cast<size_t>(L * ctx * C));
  }
  const float eps = config_.norm_eps, base = config_.rope_base;
  AlignedArray<float> x(static_cast<size_t>(n * C)), ln(static_cast<size_t>(n * C)), rstd(static_cast<size_t>(n)),
      qkv(static_cast<size_t>(n * 3 * C)), att(static_cast<size_t>(n * C)), pre(static_cast<size_t>(n * H)),
      act(static_cast<size_t>(n * H));
  embedding_forward(x.data(), tokens, params_.data() + wte_offset_, n, C);
  steer_residual(0, x.data(), n);
  for (int64_t l = 0; l < L; l++) {
    LayerParams p = layer_params(params_.data(), l);
    float* kc = cache.k.data() + l * ctx * C;
    float* vc = cache.v.data() + l * ctx * C;
    rmsnorm_forward(ln.data(), rstd.data(), x.data(), p.attn_norm, n, C, eps);
    gemm(Trans::No, Trans::Yes, n, 3 * C, C, 1.0f, ln.data(), C, p.qkv, C, 0.0f, qkv.data(), 3 * C);
    rope_forward(qkv.data(), 1, n, NH, hs, 3 * C, base, p0);
    rope_forward(qkv.data() + C, 1, n, NH, hs, 3 * C, base, p0);
    for (int64_t i = 0; i < n; i++) {
      copy_floats(kc + (p0 + i) * C, qkv.data() + i * 3 * C + C, C);
      copy_floats(vc + (p0 + i) * C, qkv.data() + i * 3 * C + 2 * C, C);
    }
    attention_decode(att.data(), qkv.data(), 3 * C, kc, vc, p0, n, C, NH, head_shift(l));
    gemm(Trans::No, Trans::Yes, n, C, C, 1.0f, att.data(), C, p.attn_proj, C, 1.0f, x.data(), C);
    rmsnorm_forward(ln.data(), rstd.data(), x.data(), p.mlp_norm, n, C, eps);
    gemm(Trans::No, Trans::Yes, n, H, C, 1.0f, ln.data(), C, p.fc, C, 0.0f, pre.data(), H);
    relu2_forward(act.data(), pre.data(), n * H);
    gemm(Trans::No, Trans::Yes, n, C, H, 1.0f, act.data(), H, p.mlp_proj, H, 1.0f, x.data(), C);
    steer_residual(l + 1, x.data(), n);
  }
  const float* last = x.data() + (n - 1) * C;
  rmsnorm_forward(ln.data(), rstd.data(), last, params_.data() + final_norm_offset_, 1, C, eps);
  gemm(Trans::No, Trans::Yes, 1, V, C, 1.0f, ln.data(), C, params_.data() + head_offset_, C, 0.0f, logits, V);
  cache.length = p0 + n;
}

double Transformer::grad_norm() {
  double sum = 0.0;
  timed(OpKind::AdamW, [&] { sum = sum_of_squares(grads_.data(), static_cast<int64_t>(grads_.size())); });
  return std::sqrt(sum);
}

double Transformer::adamw_step(AdamState& state, const AdamHyper& h) {
  const size_t n = params_.size();
  if (state.m.size() != n) {
    state.m.resize(n);
    state.v.resize(n);
  }
  const double norm = grad_norm();
  check(std::isfinite(norm), "the gradient is not finite (norm " + std::to_string(norm) +
                                 "); parameters were left unchanged",
        ErrorKind::NotFinite);
  const float scale = (h.clip > 0.0f && norm > h.clip) ? static_cast<float>(h.clip / norm) : 1.0f;
  state.step += 1;
  const size_t d = decayed_count_;
  timed(OpKind::AdamW, [&] { adamw_update(params_.data(), grads_.data(), state.m.data(), state.v.data(), static_cast<int64_t>(d), h.lr,
               h.beta1, h.beta2, h.eps, h.weight_decay, state.step, scale); });
  timed(OpKind::AdamW, [&] { adamw_update(params_.data() + d, grads_.data() + d, state.m.data() + d, state.v.data() + d,
               static_cast<int64_t>(n - d), h.lr, h.beta1, h.beta2, h.eps, 0.0f, state.step, scale); });
  return norm;
}

}  // namespace tf
