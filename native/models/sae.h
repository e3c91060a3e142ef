// Sparse autoencoder on a language model's residual stream: TopK or JumpReLU, encoder and
// decoder with biases, decoder rows (the decoder's "columns" in x = W_dec^T f) at unit norm.
//
// Shape legend: N rows (tokens) in a batch, D = d_model, L = d_sae (latents), S selected latents.
//
// Parameters live in one contiguous float block, laid out as Gemma Scope stores them:
//   W_enc     [D, L]   pre[n, l] = sum_d x[n, d] W_enc[d, l] + b_enc[l]
//   b_enc     [L]
//   threshold [L]      JumpReLU only (kept >= min_threshold); zeros for TopK
//   W_dec     [L, D]   xhat[n, :] = sum_l f[n, l] W_dec[l, :] + b_dec
//   b_dec     [D]
// Inputs are multiplied by `input_scale` before encoding (chosen at training start so that
// E||x * scale||^2 = D); external SAEs use scale 1.
//
// Activations:
//   JumpReLU  f = pre * H(pre - threshold)
//   TopK      f = relu(pre) on the k largest pre-activations of the row, 0 elsewhere
//
// Loss (per batch, means over rows):
//   mse      = (1/N) sum_n ||x_n - xhat_n||^2
//   sparsity = l0_coefficient * (1/N) sum_{n,l} H(pre - threshold)        JumpReLU only
//   aux      = aux_coefficient * (1/N) sum_n ||e_n - ehat_n||^2             when dead latents exist
// where e = x - xhat (held constant) and ehat = topk_{aux_k}(relu(pre) over dead latents) W_dec:
// the auxiliary loss ("AuxK") lets dead latents learn to explain the residual.
// JumpReLU's threshold gets straight-through gradients with a rectangle kernel of width
// `bandwidth`: d f/d threshold ~ -(threshold/eps) K((pre - threshold)/eps) and
// d H/d threshold ~ -(1/eps) K((pre - threshold)/eps), K(u) = 1 for |u| < 1/2.
#pragma once
#include <cstdint>
#include <vector>

#include "core/aligned.h"

namespace tf {

enum class SaeKind : int { TopK = 0, JumpReLU = 1 };

struct SaeConfig {
  int64_t d_model = 0;
  int64_t d_sae = 0;
  SaeKind kind = SaeKind::TopK;
  int64_t k = 32;                 // TopK: active latents per token
  float l0_coefficient = 1.0f;     // JumpReLU sparsity weight
  float bandwidth = 0.1f;          // JumpReLU straight-through kernel width
  float aux_coefficient = 1.0f / 32;
  int64_t aux_k = 256;            // latents in the auxiliary reconstruction
  int64_t dead_after = 1000000;   // a latent that has not fired for this many tokens is dead
};

// Offsets of each tensor in the flat parameter block.
struct SaeLayout {
  int64_t w_enc, b_enc, threshold, w_dec, b_dec, total;
  explicit SaeLayout(const SaeConfig& c);
};

// Per-batch results of a training step.
struct SaeStepStats {
  double mse = 0;           // mean over rows of ||x - xhat||^2 (scaled inputs)
  double variance = 0;      // mean over rows of ||x - mean(x)||^2 (for explained variance)
  double l0 = 0;            // mean active latents per row
  double aux = 0;           // auxiliary loss (before its coefficient)
  double loss = 0;          // total loss
  int64_t dead = 0;         // dead latents after this step
};

// Encodes x [N, D] (already scaled) into pre [N, L] and f [N, L].
void sae_forward(const SaeConfig& c, const float* params, const float* x, int64_t N, float* pre, float* f);

// Encodes x [N, D] (multiplied by `scale` on the fly) with a dense gathered encoder
// W [D, S], b [S], threshold [S] (JumpReLU form; threshold 0 gives ReLU, -inf the pre-activation) into
// out [N, S] (written). One tf::gemm with the bias and threshold fused into its epilogue.
// Returns false if any pre-activation was not finite (non-finite x, encoder or bias, or an
// overflow); out then holds garbage and the caller reports the cause.
bool sae_encode_selected(const float* x, int64_t N, int64_t D, float scale, const float* w, const float* b,
                         const float* threshold, int64_t S, float* out);

// Keeps each row's k largest entries of relu(pre [N, L]) in f (the rest 0); f may be pre.
void topk_activation(const float* pre, int64_t N, int64_t L, int64_t k, float* f);

// The training state: parameters, gradients, Adam moments, dead-latent counters.
class Sae {
 public:
  explicit Sae(const SaeConfig& config);
  const SaeConfig& config() const { return config_; }
  const SaeLayout& layout() const { return layout_; }
  float* params() { return params_.data(); }
  float* grads() { return grads_.data(); }
  int64_t param_count() const { return layout_.total; }
  // Tokens since each latent last fired [L].
  const std::vector<int64_t>& since_fired() const { return since_fired_; }
  int64_t dead_count() const;

  // Random init: W_dec rows uniform on the sphere, W_enc = W_dec^T, biases 0, threshold t0.
  void init(uint64_t seed, float initial_threshold);
  // Sets b_dec to the mean of x [N, D] (a good start for the decoder bias).
  void init_decoder_bias(const float* x, int64_t N);
  // Rescales every W_dec row to unit norm.
  void normalize_decoder();

  // Forward + loss + backward on x [N, D] (scaled). Gradients written (not accumulated).
  SaeStepStats loss_and_grad(const float* x, int64_t N);
  // loss_and_grad, then Adam (no weight decay), then decoder renormalisation and threshold clamp.
  SaeStepStats step(const float* x, int64_t N, float lr, float beta1, float beta2, float eps);

 private:
  SaeConfig config_;
  SaeLayout layout_;
  AlignedArray<float> params_, grads_, m_, v_;
  std::vector<int64_t> since_fired_;
  int64_t adam_step_ = 0;
};

}  // namespace tf
