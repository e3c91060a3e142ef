// Declarations of the transformer's ops (one implementation file each: embedding.cc,
// rmsnorm.cc, rope.cc, attention.cc, relu2.cc, cross_entropy.cc, adamw.cc, norm.cc).
// Legend in README.md. "writes" = output overwritten; "accumulates" = output +=.
// All ops are multi-threaded over tf::pool() where it pays and deterministic for a fixed
// thread count (reductions across rows use a fixed partition, never atomics on floats).
#pragma once
#include <cstdint>

namespace tf {

// ---- token embedding (no positional table: positions come from RoPE) ------------------------
// forward  out[N, C] = wte[tokens[i], :]                                   writes out
// backward dwte[tokens[i], :] += dout[i, :]                                accumulates dwte
void embedding_forward(float* out, const uint32_t* tokens, const float* wte, int64_t N, int64_t C);
void embedding_backward(float* dwte, const float* dout, const uint32_t* tokens, int64_t N, int64_t C);

// ---- RMSNorm with a learned gain, no bias ---------------------------------------------------
// forward  rstd[i] = 1 / sqrt(mean_j inp[i, j]^2 + eps); out[i, j] = inp[i, j] * rstd[i] * weight[j]
//          writes out[N, C] and rstd[N] (saved for backward)
// backward accumulates dinp[N, C] and dweight[C]
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C, float eps);
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t N, int64_t C);

// ---- rotary position embedding, in place --------------------------------------------------
// x points at the first head of position (b, t) = (0, 0); element (b, t, h, d) is at
// x[(b * T + t) * row_stride + h * hs + d] (row_stride = 3C when x is the q or k part of a fused
// qkv buffer). Pairs are (d, d + hs/2) for d < hs/2 ("rotate half" order); the angle at position
// t is t * base^(-2d / hs). backward applies the inverse rotation to the gradient (in place).
// t0 offsets every position (row t of a sequence sits at position t0 + t): incremental decoding.
void rope_forward(float* x, int64_t B, int64_t T, int64_t NH, int64_t hs, int64_t row_stride, float base,
                  int64_t t0 = 0);
void rope_backward(float* dx, int64_t B, int64_t T, int64_t NH, int64_t hs, int64_t row_stride, float base);

// ---- causal multi-head self-attention (streaming softmax, no [T, T] matrix kept) --------------
// qkv [B, T, 3C]: q = qkv[..., 0:C], k = qkv[..., C:2C], v = qkv[..., 2C:3C], head h uses the
// slice [h*hs, (h+1)*hs) of each; scale = 1/sqrt(hs); position t attends to positions <= t.
// forward  writes out[B, T, C] and lse[B, NH, T] (log-sum-exp of the scaled scores, saved);
//          head_shift[C] (optional, inference-time intervention) is added to every row of out:
//          head h's output moves by head_shift[h*hs .. (h+1)*hs) (backward assumes no shift)
// backward writes dqkv[B, T, 3C] (recomputes scores from q, k and lse)
// decode   one sequence against a cache: q[n, C] (rows q_stride apart; query i sits at position
//          p0 + i), k_cache, v_cache [>= p0 + n, C] (k after RoPE); query i attends to cache
//          positions <= p0 + i. Writes out[n, C] (head_shift added as in forward).
void attention_forward(float* out, float* lse, const float* qkv, int64_t B, int64_t T, int64_t C, int64_t NH,
                       const float* head_shift = nullptr);
void attention_decode(float* out, const float* q, int64_t q_stride, const float* k_cache, const float* v_cache,
                      int64_t p0, int64_t n, int64_t C, int64_t NH, const float* head_shift = nullptr);
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                        int64_t B, int64_t T, int64_t C, int64_t NH);

// ---- ReLU² activation ---------------------------------------------------------------------
// forward  out[n] = max(inp, 0)^2                                          writes out
// backward dinp[n] = dout * 2 * max(inp, 0)                                writes dinp
void relu2_forward(float* out, const float* inp, int64_t n);
void relu2_backward(float* dinp, const float* dout, const float* inp, int64_t n);

// ---- fused softmax + cross-entropy with a per-position loss mask -----------------------------
// logits [N, V]; targets [N]; mask [N] (1 = counts, 0 = ignored; nullptr = all count).
// The target of a masked row is never read (it may hold any value, e.g. a padding sentinel).
// forward: losses[i] = -log softmax(logits[i])[targets[i]] for unmasked rows, 0 for masked rows
// (losses may be nullptr). Returns the sum of unmasked losses (double).
// forward_backward additionally overwrites logits in place with
//   dlogits[i, :] = dloss_scale * (softmax(logits[i]) - onehot(targets[i]))   for unmasked rows
//   dlogits[i, :] = 0                                                         for masked rows
// so a masked target contributes exactly nothing. Callers pass dloss_scale = 1 / (unmasked count).
double cross_entropy_forward(float* losses, const float* logits, const uint32_t* targets, const uint8_t* mask,
                             int64_t N, int64_t V);
double cross_entropy_forward_backward(float* logits_to_dlogits, float* losses, const uint32_t* targets,
                                      const uint8_t* mask, int64_t N, int64_t V, float dloss_scale);

// ---- AdamW (decoupled weight decay), one flat parameter range ---------------------------------
// grads are multiplied by grad_scale first (global-norm clipping); step >= 1 (bias correction).
// m, v updated in place; params -= lr * (mhat / (sqrt(vhat) + eps) + weight_decay * params).
// The model calls it once for matrices (weight_decay > 0) and once for gains/embeddings.
void adamw_update(float* params, const float* grads, float* m, float* v, int64_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, int64_t step, float grad_scale);

// ---- reductions ---------------------------------------------------------------------------
// Sum of squares in double (for the global gradient norm); deterministic for a fixed thread count.
double sum_of_squares(const float* x, int64_t n);

}  // namespace tf
