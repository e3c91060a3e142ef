// The device transformer behind tfc_model: the same forward and backward as
// native/models/transformer.cc, op for op, on device buffers (legend: B, T, C, NH, hs, H, V,
// N = B T, L). Parameters, gradients and both AdamW moments are flat device arrays with the
// CPU's layout (tfc_model_layout). Activations follow the last (B, T) and are reallocated
// when it changes; the LM head and cross-entropy run over row chunks of the logits.
#pragma once
#include <vector>

#include "cuda/check.cuh"

namespace tf::cuda {

// A device allocation freed on destruction.
class DeviceArray {
 public:
  DeviceArray() = default;
  ~DeviceArray() { release(); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  void resize(size_t bytes);  // contents undefined afterwards
  void release();
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

class DeviceTransformer {
 public:
  DeviceTransformer(tfc_context* ctx, const tfc_model_layout& layout);

  float* params() { return params_.as<float>(); }
  float* grads() { return grads_.as<float>(); }
  float* adam_m() { return m_.as<float>(); }
  float* adam_v() { return v_.as<float>(); }
  int64_t param_count() const { return n_; }
  tfc_context* ctx() { return ctx_; }

  double forward(const uint32_t* inputs, const uint32_t* targets, const uint8_t* mask, int64_t B, int64_t T,
                 float* losses, bool backward, float dloss_scale);
  void logits(const uint32_t* inputs, int64_t B, int64_t T, float* out);
  void hidden_states(const uint32_t* inputs, int64_t B, int64_t T, int64_t layer, float* out);
  double adamw_step(int64_t step, float lr, float beta1, float beta2, float eps, float weight_decay, float clip);

 private:
  struct LayerActs {
    float *resid, *rstd1, *qkv, *att, *lse, *mid, *rstd2, *pre;
  };
  struct LayerParams {
    float *attn_norm, *qkv, *attn_proj, *mlp_norm, *fc, *mlp_proj;
  };

  void ensure_activations(int64_t B, int64_t T);
  void upload_tokens(const uint32_t* inputs, const uint32_t* targets, const uint8_t* mask);
  LayerParams layer_params(float* base, int64_t l) const;
  float* residual_after(int64_t l) { return l < L_ ? acts_[l].resid : final_resid_; }
  void forward_blocks(int64_t upto);
  void final_norm_forward();
  double head_loss(bool masked, float* losses, bool backward, float dloss_scale);
  void final_norm_backward();
  void backward_blocks(int64_t upto);
  // C[M, N] = alpha op(A) op(B) + beta C with the model's precision
  void mm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
          int64_t ldb, float beta, float* C, int64_t ldc);
  void copy(float* dst, const float* src, int64_t n);

  tfc_context* ctx_;
  int64_t V_, C_, L_, NH_, H_, context_;
  float rope_base_, norm_eps_;
  int64_t n_, decayed_, wte_offset_, final_norm_offset_, head_offset_;
  std::vector<int64_t> layer_offsets_;
  int precision_;
  DeviceArray params_, grads_, m_, v_;

  int64_t B_ = 0, T_ = 0, chunk_rows_ = 0;
  DeviceArray acts_block_, scratch_, tokens_;
  std::vector<LayerActs> acts_;
  float *final_resid_ = nullptr, *xf_ = nullptr, *rstdf_ = nullptr, *losses_ = nullptr;
  float *dresid_ = nullptr, *dln_ = nullptr, *dqkv_ = nullptr, *h1_ = nullptr, *h2_ = nullptr, *chunk_ = nullptr,
        *dxf_ = nullptr;
  uint32_t *inputs_ = nullptr, *targets_ = nullptr;
  uint8_t* mask_ = nullptr;
};

// Throws CudaError("<what>: <message>") when a C ABI call returned an error.
inline void must(const char* error, const char* what) {
  if (error) throw CudaError(std::string(what) + ": " + error);
}

}  // namespace tf::cuda
