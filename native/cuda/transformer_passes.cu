// DeviceTransformer forward and backward: native/models/transformer.cc op for op (same
// order, same buffers, same written/accumulated contracts), on the device.
#include <algorithm>

#include "cuda/transformer.cuh"

namespace tf::cuda {

void DeviceTransformer::forward_blocks(int64_t upto) {
  const int64_t B = B_, T = T_, N = B * T, C = C_, H = H_, NH = NH_, hs = C / NH;
  const float eps = norm_eps_, base = rope_base_;
  must(tfc_embedding_forward(ctx_, residual_after(0), inputs_, params() + wte_offset_, N, C, V_), "embedding");
  for (int64_t l = 0; l < upto; l++) {
    LayerActs& a = acts_[l];
    const LayerParams p = layer_params(params(), l);
    // attention branch: mid = resid + proj(attn(rope(qkv(rmsnorm(resid)))))
    must(tfc_rmsnorm_forward(ctx_, dln_, a.rstd1, a.resid, p.attn_norm, N, C, eps), "rmsnorm");
    mm(false, true, N, 3 * C, C, 1.0f, dln_, C, p.qkv, C, 0.0f, a.qkv, 3 * C);
    must(tfc_rope(ctx_, a.qkv, B, T, NH, hs, 3 * C, base, 0), "rope q");
    must(tfc_rope(ctx_, a.qkv + C, B, T, NH, hs, 3 * C, base, 0), "rope k");
    must(tfc_attention_forward(ctx_, a.att, a.lse, a.qkv, B, T, C, NH), "attention");
    copy(a.mid, a.resid, N * C);
    mm(false, true, N, C, C, 1.0f, a.att, C, p.attn_proj, C, 1.0f, a.mid, C);
    // MLP branch: next = mid + proj(relu²(fc(rmsnorm(mid))))
    must(tfc_rmsnorm_forward(ctx_, dln_, a.rstd2, a.mid, p.mlp_norm, N, C, eps), "rmsnorm");
    mm(false, true, N, H, C, 1.0f, dln_, C, p.fc, C, 0.0f, a.pre, H);
    must(tfc_relu2_forward(ctx_, h1_, a.pre, N * H), "relu2");
    float* next = residual_after(l + 1);
    copy(next, a.mid, N * C);
    mm(false, true, N, C, H, 1.0f, h1_, H, p.mlp_proj, H, 1.0f, next, C);
  }
}

void DeviceTransformer::final_norm_forward() {
  must(tfc_rmsnorm_forward(ctx_, xf_, rstdf_, final_resid_, params() + final_norm_offset_, B_ * T_, C_, norm_eps_),
       "final rmsnorm");
}

// LM head + cross-entropy over balanced row chunks (as the CPU); losses_ gets every row's loss.
double DeviceTransformer::head_loss(bool masked, float* losses, bool backward, float dloss_scale) {
  const int64_t N = B_ * T_, C = C_, V = V_;
  const float* W = params() + head_offset_;
  float* dW = grads() + head_offset_;
  const int64_t chunks = (N + chunk_rows_ - 1) / chunk_rows_;
  const int64_t rows_per = (N + chunks - 1) / chunks;
  double sum = 0.0;
  for (int64_t r0 = 0; r0 < N; r0 += rows_per) {
    const int64_t R = std::min(rows_per, N - r0);
    const float* x = xf_ + r0 * C;
    mm(false, true, R, V, C, 1.0f, x, C, W, C, 0.0f, chunk_, V);
    double chunk_sum = 0.0;
    must(tfc_cross_entropy(ctx_, chunk_, losses_ + r0, targets_ + r0, masked ? mask_ + r0 : nullptr, R, V,
                           backward ? 1 : 0, dloss_scale, &chunk_sum),
         "cross_entropy");
    sum += chunk_sum;
    if (!backward) continue;
    mm(false, false, R, C, V, 1.0f, chunk_, V, W, C, 0.0f, dxf_ + r0 * C, C);
    mm(true, false, V, C, R, 1.0f, chunk_, V, x, C, 1.0f, dW, C);
  }
  if (losses)
    check_cuda(cudaMemcpyAsync(losses, losses_, static_cast<size_t>(N) * sizeof(float), cudaMemcpyDeviceToHost, ctx_->stream),
               "download losses");
  return sum;
}

void DeviceTransformer::final_norm_backward() {
  const int64_t N = B_ * T_, C = C_;
  check_cuda(cudaMemsetAsync(dresid_, 0, static_cast<size_t>(N * C) * sizeof(float), ctx_->stream), "cudaMemset (dresid)");
  must(tfc_rmsnorm_backward(ctx_, dresid_, grads() + final_norm_offset_, dxf_, final_resid_, params() + final_norm_offset_,
                            rstdf_, N, C),
       "final rmsnorm backward");
}

void DeviceTransformer::backward_blocks(int64_t upto) {
  const int64_t B = B_, T = T_, N = B * T, C = C_, H = H_, NH = NH_, hs = C / NH;
  const float base = rope_base_, eps = norm_eps_;
  for (int64_t l = upto - 1; l >= 0; l--) {
    LayerActs& a = acts_[l];
    const LayerParams p = layer_params(params(), l);
    const LayerParams g = layer_params(grads(), l);
    // MLP branch; dresid is d(next) and becomes d(mid)
    must(tfc_relu2_forward(ctx_, h1_, a.pre, N * H), "relu2");
    mm(true, false, C, H, N, 1.0f, dresid_, C, h1_, H, 1.0f, g.mlp_proj, H);
    mm(false, false, N, H, C, 1.0f, dresid_, C, p.mlp_proj, H, 0.0f, h2_, H);
    must(tfc_relu2_backward(ctx_, h1_, h2_, a.pre, N * H), "relu2 backward");
    must(tfc_rmsnorm_forward(ctx_, dln_, a.rstd2, a.mid, p.mlp_norm, N, C, eps), "rmsnorm (recompute)");
    mm(true, false, H, C, N, 1.0f, h1_, H, dln_, C, 1.0f, g.fc, C);
    mm(false, false, N, C, H, 1.0f, h1_, H, p.fc, C, 0.0f, dln_, C);
    must(tfc_rmsnorm_backward(ctx_, dresid_, g.mlp_norm, dln_, a.mid, p.mlp_norm, a.rstd2, N, C), "rmsnorm backward");
    // attention branch; dresid is d(mid) and becomes d(resid)
    mm(true, false, C, C, N, 1.0f, dresid_, C, a.att, C, 1.0f, g.attn_proj, C);
    mm(false, false, N, C, C, 1.0f, dresid_, C, p.attn_proj, C, 0.0f, dln_, C);
    must(tfc_attention_backward(ctx_, dqkv_, dln_, a.qkv, a.att, a.lse, B, T, C, NH), "attention backward");
    must(tfc_rope(ctx_, dqkv_, B, T, NH, hs, 3 * C, base, 1), "rope q backward");
    must(tfc_rope(ctx_, dqkv_ + C, B, T, NH, hs, 3 * C, base, 1), "rope k backward");
    must(tfc_rmsnorm_forward(ctx_, dln_, a.rstd1, a.resid, p.attn_norm, N, C, eps), "rmsnorm (recompute)");
    mm(true, false, 3 * C, C, N, 1.0f, dqkv_, 3 * C, dln_, C, 1.0f, g.qkv, C);
    mm(false, false, N, C, 3 * C, 1.0f, dqkv_, 3 * C, p.qkv, C, 0.0f, dln_, C);
    must(tfc_rmsnorm_backward(ctx_, dresid_, g.attn_norm, dln_, a.resid, p.attn_norm, a.rstd1, N, C), "rmsnorm backward");
  }
  must(tfc_embedding_backward(ctx_, grads() + wte_offset_, dresid_, inputs_, N, C, V_), "embedding backward");
}

double DeviceTransformer::forward(const uint32_t* inputs, const uint32_t* targets, const uint8_t* mask, int64_t B,
                                  int64_t T, float* losses, bool backward, float dloss_scale) {
  ensure_activations(B, T);
  upload_tokens(inputs, targets, mask);
  forward_blocks(L_);
  final_norm_forward();
  const double sum = head_loss(mask != nullptr, losses, backward, dloss_scale);
  if (backward) {
    final_norm_backward();
    backward_blocks(L_);
  }
  check_cuda(cudaStreamSynchronize(ctx_->stream), "cudaStreamSynchronize (forward)");
  return sum;
}

void DeviceTransformer::logits(const uint32_t* inputs, int64_t B, int64_t T, float* out) {
  ensure_activations(B, T);
  upload_tokens(inputs, nullptr, nullptr);
  forward_blocks(L_);
  final_norm_forward();
  const int64_t N = B * T, C = C_, V = V_;
  for (int64_t r0 = 0; r0 < N; r0 += chunk_rows_) {
    const int64_t R = std::min(chunk_rows_, N - r0);
    mm(false, true, R, V, C, 1.0f, xf_ + r0 * C, C, params() + head_offset_, C, 0.0f, chunk_, V);
    check_cuda(cudaMemcpyAsync(out + r0 * V, chunk_, static_cast<size_t>(R * V) * sizeof(float), cudaMemcpyDeviceToHost,
                               ctx_->stream),
               "download logits");
    check_cuda(cudaStreamSynchronize(ctx_->stream), "cudaStreamSynchronize (logits)");
  }
}

void DeviceTransformer::hidden_states(const uint32_t* inputs, int64_t B, int64_t T, int64_t layer, float* out) {
  require(layer >= 0 && layer <= L_ + 1, "layer must be in [0, " + std::to_string(L_ + 1) + "], got " + std::to_string(layer));
  ensure_activations(B, T);
  upload_tokens(inputs, nullptr, nullptr);
  const float* h = nullptr;
  if (layer <= L_) {
    forward_blocks(layer);
    h = residual_after(layer);
  } else {
    forward_blocks(L_);
    final_norm_forward();
    h = xf_;
  }
  check_cuda(cudaMemcpyAsync(out, h, static_cast<size_t>(B * T * C_) * sizeof(float), cudaMemcpyDeviceToHost, ctx_->stream),
             "download hidden states");
  check_cuda(cudaStreamSynchronize(ctx_->stream), "cudaStreamSynchronize (hidden states)");
}

}  // namespace tf::cuda
