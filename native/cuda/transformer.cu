// DeviceTransformer: layout, buffers, token upload and the optimizer step (the passes are in
// transformer_passes.cu, the C ABI in model_api.cu).
#include <algorithm>
#include <cmath>

#include "cuda/transformer.cuh"

namespace tf::cuda {

void DeviceArray::resize(size_t bytes) {
  if (bytes == bytes_ && ptr_) return;
  release();
  check_cuda(cudaMalloc(&ptr_, bytes == 0 ? 1 : bytes), ("cudaMalloc(" + std::to_string(bytes) + " bytes)").c_str());
  bytes_ = bytes;
}

void DeviceArray::release() {
  if (ptr_) cudaFree(ptr_);  // cudaFree waits for queued work; an error here has no one to report to
  ptr_ = nullptr;
  bytes_ = 0;
}

DeviceTransformer::DeviceTransformer(tfc_context* ctx, const tfc_model_layout& k)
    : ctx_(ctx), V_(k.vocab), C_(k.dim), L_(k.layers), NH_(k.heads), H_(k.hidden), context_(k.context),
      rope_base_(k.rope_base), norm_eps_(k.norm_eps), n_(k.param_count), decayed_(k.decayed_count),
      wte_offset_(k.wte_offset), final_norm_offset_(k.final_norm_offset), head_offset_(k.head_offset),
      precision_(k.precision) {
  require(V_ >= 1 && C_ >= 1 && L_ >= 1 && NH_ >= 1 && H_ >= 1 && context_ >= 1, "model dimensions must be positive");
  require(C_ % NH_ == 0 && (C_ / NH_) % 2 == 0, "dim must be a multiple of heads with an even head size");
  require(precision_ == TFC_FP32 || precision_ == TFC_TF32 || precision_ == TFC_BF16, "unknown precision");
  require(k.layer_offsets != nullptr, "layer_offsets is null");
  layer_offsets_.assign(k.layer_offsets, k.layer_offsets + L_ * 6);
  // every tensor must lie inside the block (the host computed the layout; a bug must not write outside)
  auto inside = [&](int64_t offset, int64_t size) { return offset >= 0 && size >= 0 && offset + size <= n_; };
  bool ok = inside(wte_offset_, V_ * C_) && inside(head_offset_, V_ * C_) && inside(final_norm_offset_, C_) &&
            decayed_ >= 0 && decayed_ <= n_;
  const int64_t sizes[6] = {C_, 3 * C_ * C_, C_ * C_, C_, H_ * C_, C_ * H_};
  for (int64_t l = 0; l < L_; l++)
    for (int j = 0; j < 6; j++) ok = ok && inside(layer_offsets_[l * 6 + j], sizes[j]);
  require(ok, "the parameter layout does not fit the parameter block");
  const size_t bytes = static_cast<size_t>(n_) * sizeof(float);
  for (DeviceArray* a : {&params_, &grads_, &m_, &v_}) {
    a->resize(bytes);
    check_cuda(cudaMemsetAsync(a->as<void>(), 0, bytes, ctx_->stream), "cudaMemset (model)");
  }
  check_cuda(cudaStreamSynchronize(ctx_->stream), "cudaStreamSynchronize (model)");
}

DeviceTransformer::LayerParams DeviceTransformer::layer_params(float* base, int64_t l) const {
  const int64_t* o = layer_offsets_.data() + l * 6;
  return LayerParams{base + o[0], base + o[1], base + o[2], base + o[3], base + o[4], base + o[5]};
}

// Saved activations per layer as on the CPU (resid, rstd1, qkv, att, lse, mid, rstd2, pre),
// then final_resid, xf, rstdf and the per-position losses; scratch holds dresid, dln and a
// region shared by h1 | h2 / dqkv and the logits chunk (never live together, as on the CPU).
void DeviceTransformer::ensure_activations(int64_t B, int64_t T) {
  require(B >= 1 && T >= 1, "batch and context must be positive");
  require(T <= context_, "context " + std::to_string(T) + " exceeds the model's context " + std::to_string(context_));
  if (B == B_ && T == T_) return;
  B_ = T_ = 0;
  const int64_t N = B * T, C = C_, H = H_;
  const int64_t per_layer = N * (6 * C + 2 + NH_ + H);
  acts_block_.resize(static_cast<size_t>(L_ * per_layer + N * (2 * C + 2)) * sizeof(float));
  float* a = acts_block_.as<float>();
  auto take = [&](int64_t n) { float* p = a; a += n; return p; };
  acts_.resize(static_cast<size_t>(L_));
  for (LayerActs& la : acts_) {
    la.resid = take(N * C);
    la.rstd1 = take(N);
    la.qkv = take(N * 3 * C);
    la.att = take(N * C);
    la.lse = take(N * NH_);
    la.mid = take(N * C);
    la.rstd2 = take(N);
    la.pre = take(N * H);
  }
  final_resid_ = take(N * C);
  xf_ = take(N * C);
  rstdf_ = take(N);
  losses_ = take(N);
  // logits chunk: up to 2^26 floats (256 MB), at least 32 rows, at most N
  chunk_rows_ = std::min<int64_t>(N, std::max<int64_t>(32, (int64_t(1) << 26) / V_));
  const int64_t shared = std::max(N * (H + std::max(3 * C, H)), chunk_rows_ * V_);
  scratch_.resize(static_cast<size_t>(2 * N * C + shared) * sizeof(float));
  float* s = scratch_.as<float>();
  dresid_ = s;
  dln_ = s + N * C;
  chunk_ = h1_ = s + 2 * N * C;
  dqkv_ = h2_ = h1_ + N * H;
  dxf_ = dln_;
  tokens_.resize(static_cast<size_t>(N) * (2 * sizeof(uint32_t) + sizeof(uint8_t)));
  inputs_ = tokens_.as<uint32_t>();
  targets_ = inputs_ + N;
  mask_ = reinterpret_cast<uint8_t*>(targets_ + N);
  B_ = B;
  T_ = T;
}

// Copies the host token arrays of the current (B, T) to the device (targets, mask optional).
void DeviceTransformer::upload_tokens(const uint32_t* inputs, const uint32_t* targets, const uint8_t* mask) {
  const size_t N = static_cast<size_t>(B_ * T_);
  check_cuda(cudaMemcpyAsync(inputs_, inputs, N * sizeof(uint32_t), cudaMemcpyHostToDevice, ctx_->stream), "upload inputs");
  if (targets)
    check_cuda(cudaMemcpyAsync(targets_, targets, N * sizeof(uint32_t), cudaMemcpyHostToDevice, ctx_->stream), "upload targets");
  if (mask) check_cuda(cudaMemcpyAsync(mask_, mask, N, cudaMemcpyHostToDevice, ctx_->stream), "upload mask");
  check_cuda(cudaStreamSynchronize(ctx_->stream), "cudaStreamSynchronize (upload)");
}

void DeviceTransformer::mm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  must(tfc_gemm(ctx_, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, precision_), "gemm");
}

void DeviceTransformer::copy(float* dst, const float* src, int64_t n) {
  check_cuda(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToDevice, ctx_->stream),
             "cudaMemcpy (device to device)");
}

double DeviceTransformer::adamw_step(int64_t step, float lr, float beta1, float beta2, float eps, float weight_decay,
                                     float clip) {
  double sum = 0.0;
  must(tfc_sum_of_squares(ctx_, grads(), n_, &sum), "gradient norm");
  const double norm = std::sqrt(sum);
  require(std::isfinite(norm), "the gradient is not finite (norm " + std::to_string(norm) +
                                   "); parameters were left unchanged");
  const float scale = (clip > 0.0f && norm > clip) ? static_cast<float>(clip / norm) : 1.0f;
  must(tfc_adamw(ctx_, params(), grads(), adam_m(), adam_v(), decayed_, lr, beta1, beta2, eps, weight_decay, step, scale),
       "adamw (decayed)");
  must(tfc_adamw(ctx_, params() + decayed_, grads() + decayed_, adam_m() + decayed_, adam_v() + decayed_, n_ - decayed_,
                 lr, beta1, beta2, eps, 0.0f, step, scale),
       "adamw");
  check_cuda(cudaStreamSynchronize(ctx_->stream), "cudaStreamSynchronize (adamw)");
  return norm;
}

}  // namespace tf::cuda
