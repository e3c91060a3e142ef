// GPT-style decoder: token embedding, `layers` pre-RMSNorm blocks (causal self-attention with
// RoPE, then a ReLU² MLP), final RMSNorm, LM head (tied to the embedding unless configured
// otherwise); no biases anywhere. Plain C++: parameters, forward, backward, no I/O.
//
// Legend (native/kernels/README.md): B batch, T positions, C = dim, NH heads, hs = C / NH,
// H = hidden (MLP width), V = vocab, N = B * T, L = layers.
//
// Parameters live in ONE contiguous float block; `tensors()` names every slice (PyTorch-style
// names, row-major, linear weights stored [out, in]):
//   wte                          [V, C]    token embedding (also the LM head when tied)
//   blocks.{l}.attn_norm.weight  [C]       RMSNorm gain before attention
//   blocks.{l}.attn.qkv.weight   [3C, C]   rows 0..C-1 = q, C..2C-1 = k, 2C..3C-1 = v
//   blocks.{l}.attn.proj.weight  [C, C]
//   blocks.{l}.mlp_norm.weight   [C]
//   blocks.{l}.mlp.fc.weight     [H, C]
//   blocks.{l}.mlp.proj.weight   [C, H]
//   final_norm.weight            [C]
//   lm_head.weight               [V, C]    only when embeddings are untied
// In the block, all weight-decayed tensors (the linear layers' matrices) come first and the
// rest (embedding, norm gains) after them, so AdamW runs one loop per decay group. Gradients
// and both AdamW moments are flat arrays with the same layout.
//
// Hidden states (hidden_states): layer 0 = token embeddings (the residual stream entering block
// 0); layer l in 1..L = the residual stream after block l; layer L + 1 = the output of the final
// RMSNorm (what the LM head reads).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/aligned.h"

namespace tf {

struct TransformerConfig {
  int64_t vocab = 0;    // V
  int64_t dim = 0;      // C
  int64_t layers = 0;   // L
  int64_t heads = 0;    // NH; C % NH == 0 and hs even (RoPE pairs)
  int64_t hidden = 0;   // H
  int64_t context = 0;  // maximum T
  bool tie_embeddings = true;
  float rope_base = 10000.0f;
  float norm_eps = 1e-5f;
};

// Op kinds timed by the optional profiler (wall time per kind; Matmul = the blocks' linear
// layers, LmHead = the output projection and its gradients, AdamW includes the gradient norm).
enum class OpKind { Embedding, RmsNorm, Matmul, LmHead, Rope, Attention, Relu2, CrossEntropy, AdamW, Copy, Count };
const char* op_kind_name(OpKind kind);

// Throws tf::Error naming the field unless the config is usable.
void validate(const TransformerConfig& config);

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  size_t offset = 0;  // in floats, into the parameter block
  size_t size = 0;    // element count
  bool decay = false; // weight decay applies (linear layers' matrices)
};

// AdamW state: first and second moments over the whole parameter block, and the number of
// updates applied so far.
struct AdamState {
  AlignedArray<float> m;
  AlignedArray<float> v;
  int64_t step = 0;
};

struct AdamHyper {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-7f;
  float weight_decay = 0.0f;
  float clip = 1.0f;  // global gradient-norm clip; <= 0 disables clipping
};

class Transformer {
 public:
  explicit Transformer(const TransformerConfig& config);  // parameters zero; call init()

  const TransformerConfig& config() const { return config_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  size_t decayed_count() const { return decayed_count_; }  // floats in the decayed group (first)

  float* params() { return params_.data(); }
  float* grads() { return grads_.data(); }
  size_t param_count() const { return params_.size(); }
  // Bytes held by activation buffers now (they follow the last (B, T) used).
  size_t activation_bytes() const { return acts_.size() * sizeof(float) + scratch_.size() * sizeof(float); }
  // Bytes the activation buffers need for a (B, T) batch (without allocating).
  size_t activation_bytes_for(int64_t B, int64_t T) const;
  // Of those, the bytes of the activations backward reads (the rest is reusable scratch).
  size_t saved_activation_bytes_for(int64_t B, int64_t T) const;

  // Profiler: when enabled, every op call adds its wall time to its kind's total.
  void set_profiling(bool enabled) { profiling_ = enabled; }
  void reset_profile() { for (double& s : profile_seconds_) s = 0.0; }
  double profile_seconds(OpKind kind) const { return profile_seconds_[static_cast<int>(kind)]; }

  // GPT-2-style init from a seed: matrices and embedding N(0, 0.02), residual projections
  // (attn.proj, mlp.proj) N(0, 0.02 / sqrt(2L)), norm gains 1.
  void init(uint64_t seed);

  void zero_grads() { grads_.zero(); }

  // Forward over tokens[B, T] with targets and mask (nullptr = every target counts). Writes
  // per-position losses (0 at masked positions) to `losses` when not nullptr. Returns the sum of
  // unmasked losses. When `backward` is set, also backpropagates dloss_scale * (that sum) and
  // ACCUMULATES into the gradient block (zero_grads() is a separate step).
  double forward(const uint32_t* inputs, const uint32_t* targets, const uint8_t* mask, int64_t B, int64_t T,
                 float* losses, bool backward, float dloss_scale);

  // logits[B, T, V] (written).
  void logits(const uint32_t* inputs, int64_t B, int64_t T, float* out);
  // out[B, T, C] = hidden state at `layer` in [0, L + 1] (see the header comment).
  void hidden_states(const uint32_t* inputs, int64_t B, int64_t T, int64_t layer, float* out);
  // Backpropagation from a hidden state: runs the forward pass up to `layer` (in [0, L + 1], as
  // hidden_states), then backpropagates d_hidden[B, T, C] = dS/d(hidden state at `layer`) down
  // to the embedding, ACCUMULATING into the gradient block (as forward with backward does).
  // Parameters that do not feed that hidden state (blocks at or above `layer`, the final norm
  // unless layer == L + 1, an untied LM head) receive nothing. Returns S = Σ d_hidden ⊙ h, the
  // linear functional whose gradient was accumulated (double accumulation).
  double hidden_backward(const uint32_t* inputs, int64_t B, int64_t T, int64_t layer, const float* d_hidden);

  // ---- inference-time steering (off by default) ------------------------------------------------
  // head_shift [L, C]: row l is added to block l's attention output before the output projection
  //   (ITI: head h's slice h*hs .. (h+1)*hs - 1; zeros leave a head alone). nullptr clears it.
  // directions [L + 1, C] and keep [L + 1]: the residual stream at hidden-state layer l (0 = the
  //   embeddings, l = after block l) becomes h - (1 - keep[l]) (h · u_l) u_l, u_l = row l (unit
  //   length, or all zero for none; keep 0 removes the component). nullptr clears it.
  // Steering applies to logits, hidden_states, head_outputs, decode and loss-only forward; forward
  // with backward and hidden_backward throw while it is set (training never sees it).
  void set_head_shift(const float* head_shift);
  void set_residual_steering(const float* directions, const float* keep);
  bool steering() const { return head_shift_.size() > 0 || resid_dir_.size() > 0; }

  // out[B, T, C] = block `layer`'s attention output before the output projection, layer in
  // [0, L): head h's output at (b, t) is out[(b * T + t) * C + h * hs .. + hs) (written; includes
  // the head shift when one is set).
  void head_outputs(const uint32_t* inputs, int64_t B, int64_t T, int64_t layer, float* out);

  // Incremental decoding of one sequence. k and v hold every layer's keys (after RoPE) and values
  // for positions 0 .. length - 1: [L, context, C] each.
  struct KvCache {
    int64_t length = 0;
    AlignedArray<float> k, v;
  };
  // Appends tokens[n] at positions cache.length .. cache.length + n - 1 (steering applied as in
  // the full forward) and writes the logits of the last of them to logits[V]. Throws unless
  // n >= 1 and cache.length + n <= context.
  void decode(KvCache& cache, const uint32_t* tokens, int64_t n, float* logits);

  // Global L2 norm of the gradient block (double accumulation, deterministic per thread count).
  double grad_norm();
  // One AdamW update with global-norm clipping; increments state.step first. Returns the
  // gradient norm before clipping.
  double adamw_step(AdamState& state, const AdamHyper& hyper);

 private:
  // What backward reads, per block. The normalised inputs of the two linear layers (ln1, ln2)
  // are not kept: backward recomputes them from resid / mid (cheap, bit-identical).
  struct LayerActs {
    float* resid;  // [N, C] input of the block
    float* rstd1;  // [N]
    float* qkv;    // [N, 3C] after RoPE on q and k
    float* att;    // [N, C] attention output before the projection
    float* lse;    // [B, NH, T]
    float* mid;    // [N, C] residual after attention
    float* rstd2;  // [N]
    float* pre;    // [N, H] MLP pre-activation (relu² is recomputed in backward)
  };
  struct LayerParams {
    float *attn_norm, *qkv, *attn_proj, *mlp_norm, *fc, *mlp_proj;
  };

  template <typename F>
  void timed(OpKind kind, F&& f) {
    if (!profiling_) {
      f();
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    f();
    profile_seconds_[static_cast<int>(kind)] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  void ensure_activations(int64_t B, int64_t T);
  LayerParams layer_params(float* base, int64_t l) const;
  // Runs embedding and all blocks up to `upto` blocks; the residual after block `upto` is in
  // residual_after(upto).
  void forward_blocks(const uint32_t* inputs, int64_t upto);
  float* residual_after(int64_t l);  // l in [0, L]; l == L is the final residual
  void final_norm_forward();
  // LM head + cross-entropy over rows in chunks; fills dxf (when backward) and accumulates
  // the head's weight gradient.
  double head_loss(const uint32_t* targets, const uint8_t* mask, float* losses, bool backward, float dloss_scale);
  // d(final residual) from dxf_ through the final RMSNorm: writes dresid_ (zeroed first) and
  // accumulates the final norm's gain gradient.
  void final_norm_backward();
  // Backward through blocks upto - 1 .. 0 and the embedding, starting from dresid_ = d(residual
  // after block `upto`) (overwritten); needs forward_blocks(inputs, >= upto) on the same inputs.
  void backward_blocks(const uint32_t* inputs, int64_t upto);

  TransformerConfig config_;
  std::vector<TensorInfo> tensors_;
  size_t decayed_count_ = 0;
  size_t wte_offset_ = 0, final_norm_offset_ = 0, head_offset_ = 0;
  std::vector<size_t> layer_offsets_;  // per layer: attn_norm, qkv, attn_proj, mlp_norm, fc, mlp_proj
  AlignedArray<float> params_;
  AlignedArray<float> grads_;

  int64_t B_ = 0, T_ = 0;
  AlignedArray<float> acts_;     // saved activations for (B_, T_)
  AlignedArray<float> scratch_;  // backward buffers and the logits chunk
  std::vector<LayerActs> layer_acts_;
  float *final_resid_ = nullptr, *xf_ = nullptr, *rstdf_ = nullptr;
  float *dresid_ = nullptr, *dln_ = nullptr, *dqkv_ = nullptr, *h1_ = nullptr, *h2_ = nullptr, *chunk_ = nullptr,
        *dxf_ = nullptr;
  int64_t chunk_rows_ = 0;

  // residual stream rows x[rows, C] at hidden-state layer l, steered when a direction is set there
  void steer_residual(int64_t l, float* x, int64_t rows);
  const float* head_shift(int64_t l) const { return head_shift_.size() ? head_shift_.data() + l * config_.dim : nullptr; }

  AlignedArray<float> head_shift_;  // [L, C] or empty
  AlignedArray<float> resid_dir_;   // [L + 1, C] or empty
  std::vector<float> resid_keep_;   // [L + 1]

  bool profiling_ = false;
  double profile_seconds_[static_cast<int>(OpKind::Count)] = {};
};

}  // namespace tf
