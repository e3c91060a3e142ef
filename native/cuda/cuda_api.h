/* The C ABI of the CUDA backend (tokenfilter_cuda.so), loaded on demand by the addon with
 * dlopen (native/addon/cuda_loader.cc). Plain C types only, so the addon compiles without any
 * CUDA header and loads on machines without a driver, toolkit or this library.
 *
 * Conventions:
 * - Every function that can fail returns NULL on success, or an error message (a pointer into
 *   a thread-local buffer, valid until the next failing call on the same thread). CUDA errors
 *   are reported with the failing call and cudaGetErrorString's text; an out-of-range
 *   argument is reported before any kernel is launched.
 * - Pointers named d_* are device pointers (from tfc_malloc); the rest are host pointers.
 * - Ops run in the context's stream, asynchronously; tfc_download and tfc_synchronize wait.
 *   A failure of an asynchronous kernel surfaces at the next call that synchronises.
 * - Shapes use the legend of native/kernels/README.md (B, T, C, NH, hs, H, V, N). Every op has
 *   the same meaning, layout and written/accumulated contract as its CPU twin in
 *   native/kernels/ops.h and native/kernels/gemm.h.
 */
#ifndef TOKENFILTER_CUDA_API_H
#define TOKENFILTER_CUDA_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; only these functions are exported. */
#if defined(TFC_BUILDING_LIBRARY) && defined(__GNUC__)
#define TFC_EXPORT __attribute__((visibility("default")))
#else
#define TFC_EXPORT
#endif

/* Bumped whenever a signature below changes; the addon refuses a library of another version. */
#define TFC_ABI_VERSION 4

/* tfc_probe's classification of why no device can be used. */
#define TFC_PROBE_OK 0
#define TFC_PROBE_NO_DRIVER 1
#define TFC_PROBE_NO_DEVICE 2
#define TFC_PROBE_ERROR 3

/* GEMM precisions: inputs rounded to the format inside the kernel, fp32 accumulation always. */
#define TFC_FP32 0
#define TFC_TF32 1
#define TFC_BF16 2

/* GEMM kernels (tfc_gemm_with): AUTO picks TILED for bf16 / tf32 when M and N are both >= 128
 * and the 128 x 128 blocks are at least as many as the SMs, else SIMPLE. SIMPLE: 64 x 64 tiles (fp32 FFMA, or 4 warps of WMMA for bf16 / tf32). TILED:
 * 128 x 128 x 32 tensor-core tiles, 8 warps (bf16 / tf32 only). Every kernel takes any shape. */
#define TFC_GEMM_AUTO 0
#define TFC_GEMM_SIMPLE 1
#define TFC_GEMM_TILED 2

typedef struct tfc_context tfc_context;

typedef struct tfc_device_info {
  char name[256];
  uint64_t memory;          /* bytes of global memory */
  int major, minor;         /* compute capability */
  int multiprocessors;
  int clock_khz;            /* SM clock (0 when the runtime does not report it) */
} tfc_device_info;

TFC_EXPORT int tfc_abi_version(void);
/* Counts devices. *kind is one of TFC_PROBE_*; on anything but OK the message says why. */
TFC_EXPORT const char* tfc_probe(int* count, int* kind);
TFC_EXPORT const char* tfc_device_info_get(int device, tfc_device_info* out);

/* A context owns one device's stream. */
TFC_EXPORT const char* tfc_context_create(int device, tfc_context** out);
TFC_EXPORT void tfc_context_destroy(tfc_context* ctx);
TFC_EXPORT const char* tfc_synchronize(tfc_context* ctx);

/* Device memory. */
TFC_EXPORT const char* tfc_malloc(tfc_context* ctx, void** d_ptr, size_t bytes);
TFC_EXPORT const char* tfc_free(tfc_context* ctx, void* d_ptr);
TFC_EXPORT const char* tfc_upload(tfc_context* ctx, void* d_dst, const void* src, size_t bytes);
TFC_EXPORT const char* tfc_download(tfc_context* ctx, void* dst, const void* d_src, size_t bytes); /* waits */
TFC_EXPORT const char* tfc_zero(tfc_context* ctx, void* d_ptr, size_t bytes);

/* C[M, N] = alpha op(A) op(B) + beta C, row-major, as tf::gemm (beta == 0: C not read). */
TFC_EXPORT const char* tfc_gemm(tfc_context* ctx, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* d_A, int64_t lda, const float* d_B, int64_t ldb, float beta, float* d_C,
                     int64_t ldc, int precision);
/* tfc_gemm with the kernel named (TFC_GEMM_*): for the parity tests and the benchmark. */
TFC_EXPORT const char* tfc_gemm_with(tfc_context* ctx, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                     float alpha, const float* d_A, int64_t lda, const float* d_B, int64_t ldb,
                                     float beta, float* d_C, int64_t ldc, int precision, int kernel);

/* Embedding ids must be < V (validated by the caller; a bad id reads/writes nothing). */
TFC_EXPORT const char* tfc_embedding_forward(tfc_context* ctx, float* d_out, const uint32_t* d_tokens,
                                             const float* d_wte, int64_t N, int64_t C, int64_t V);
TFC_EXPORT const char* tfc_embedding_backward(tfc_context* ctx, float* d_dwte, const float* d_dout,
                                              const uint32_t* d_tokens, int64_t N, int64_t C, int64_t V);
TFC_EXPORT const char* tfc_rmsnorm_forward(tfc_context* ctx, float* d_out, float* d_rstd, const float* d_inp,
                                const float* d_weight, int64_t N, int64_t C, float eps);
TFC_EXPORT const char* tfc_rmsnorm_backward(tfc_context* ctx, float* d_dinp, float* d_dweight, const float* d_dout,
                                 const float* d_inp, const float* d_weight, const float* d_rstd, int64_t N,
                                 int64_t C);
TFC_EXPORT const char* tfc_rope(tfc_context* ctx, float* d_x, int64_t B, int64_t T, int64_t NH, int64_t hs,
                     int64_t row_stride, float base, int backward);
TFC_EXPORT const char* tfc_attention_forward(tfc_context* ctx, float* d_out, float* d_lse, const float* d_qkv, int64_t B,
                                  int64_t T, int64_t C, int64_t NH);
TFC_EXPORT const char* tfc_attention_backward(tfc_context* ctx, float* d_dqkv, const float* d_dout, const float* d_qkv,
                                   const float* d_out, const float* d_lse, int64_t B, int64_t T, int64_t C,
                                   int64_t NH);
TFC_EXPORT const char* tfc_relu2_forward(tfc_context* ctx, float* d_out, const float* d_inp, int64_t n);
TFC_EXPORT const char* tfc_relu2_backward(tfc_context* ctx, float* d_dinp, const float* d_dout, const float* d_inp, int64_t n);
/* Fused softmax + masked cross-entropy over logits [N, V] (d_mask may be NULL). Writes
 * d_losses [N] (may be NULL). When backward != 0 the logits are overwritten in place with
 * dloss_scale * (softmax - onehot) (0 on masked rows). *sum receives the sum of unmasked
 * losses (double; waits for the result). */
TFC_EXPORT const char* tfc_cross_entropy(tfc_context* ctx, float* d_logits, float* d_losses, const uint32_t* d_targets,
                              const uint8_t* d_mask, int64_t N, int64_t V, int backward, float dloss_scale,
                              double* sum);
/* AdamW over n parameters with bias correction for `step` (>= 1); grads scaled by grad_scale. */
TFC_EXPORT const char* tfc_adamw(tfc_context* ctx, float* d_params, const float* d_grads, float* d_m, float* d_v, int64_t n,
                      float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step,
                      float grad_scale);
/* Sum of squares of n floats, accumulated in double (waits for the result). */
TFC_EXPORT const char* tfc_sum_of_squares(tfc_context* ctx, const float* d_x, int64_t n, double* out);
/* SAE encoding, as tf::sae_encode_selected: out [N, S] = jumprelu(scale x [N, D] · w [D, S] + b [S],
 * threshold [S]) with the GEMM at `precision`; *finite = 0 when any pre-activation was not finite
 * (out then holds garbage), else 1 (waits for the result). */
TFC_EXPORT const char* tfc_sae_encode(tfc_context* ctx, const float* d_x, int64_t N, int64_t D, float scale,
                                      const float* d_w, const float* d_b, const float* d_threshold, int64_t S,
                                      float* d_out, int precision, int* finite);
/* TopK activation in place over codes [N, L], as tf::topk_activation: in each row the k largest
 * values (ties: the lower index first; -0 counts as +0) keep max(value, 0), every other entry
 * becomes 0. 1 <= k <= L. */
TFC_EXPORT const char* tfc_sae_topk(tfc_context* ctx, float* d_codes, int64_t N, int64_t L, int64_t k);
/* Benchmark: times `reps` GEMMs of the given shape (row-major, packed leading dimensions) on
 * device operands filled with values in [-1, 1), after one untimed warm-up call; writes the
 * mean seconds per call (CUDA events). `kernel` as tfc_gemm_with. For bench/gemm.mjs. */
TFC_EXPORT const char* tfc_gemm_time(tfc_context* ctx, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                     int precision, int kernel, int reps, double* seconds);

/* ---- the device transformer (native/cuda/transformer.cu) ------------------------------------
 * Same model, parameter layout and contracts as tf::Transformer (native/models/transformer.h):
 * the host model computes the layout and passes it here, so parameters, gradients and AdamW
 * moments are flat device arrays with exactly the CPU's offsets (copying them in or out is one
 * memcpy, and checkpoints are the CPU's). Token arrays are host pointers, uploaded per call. */
typedef struct tfc_model tfc_model;

typedef struct tfc_model_layout {
  int64_t vocab, dim, layers, heads, hidden, context;
  float rope_base, norm_eps;
  int64_t param_count;     /* floats in the parameter block */
  int64_t decayed_count;   /* the first decayed_count floats get weight decay */
  int64_t wte_offset, final_norm_offset, head_offset;
  const int64_t* layer_offsets; /* [layers * 6]: attn_norm, qkv, attn_proj, mlp_norm, fc, mlp_proj */
  int precision;           /* TFC_FP32 / TFC_TF32 / TFC_BF16 for every GEMM */
} tfc_model_layout;

TFC_EXPORT const char* tfc_model_create(tfc_context* ctx, const tfc_model_layout* layout, tfc_model** out);
TFC_EXPORT void tfc_model_destroy(tfc_model* model);
/* which: 0 parameters, 1 gradients, 2 AdamW m, 3 AdamW v; n must equal param_count. */
TFC_EXPORT const char* tfc_model_read(tfc_model* model, int which, float* dst, int64_t n);
TFC_EXPORT const char* tfc_model_write(tfc_model* model, int which, const float* src, int64_t n);
TFC_EXPORT const char* tfc_model_zero_grads(tfc_model* model);
/* As Transformer::forward: inputs, targets [B, T] (ids < vocab), mask [B, T] or NULL, losses
 * [B, T] host output or NULL; *sum = sum of unmasked losses; backward accumulates gradients. */
TFC_EXPORT const char* tfc_model_forward(tfc_model* model, const uint32_t* inputs, const uint32_t* targets,
                                         const uint8_t* mask, int64_t B, int64_t T, float* losses, int backward,
                                         float dloss_scale, double* sum);
/* out [B, T, V] host (written). */
TFC_EXPORT const char* tfc_model_logits(tfc_model* model, const uint32_t* inputs, int64_t B, int64_t T, float* out);
/* out [B, T, C] host: hidden state at layer in [0, L + 1], as Transformer::hidden_states. */
TFC_EXPORT const char* tfc_model_hidden_states(tfc_model* model, const uint32_t* inputs, int64_t B, int64_t T,
                                               int64_t layer, float* out);
/* Global L2 norm of the gradient block (double accumulation). */
TFC_EXPORT const char* tfc_model_grad_norm(tfc_model* model, double* norm);
/* As Transformer::adamw_step with state.step already incremented to `step`; *norm receives
 * the gradient norm before clipping; a non-finite norm fails and leaves parameters as they were. */
TFC_EXPORT const char* tfc_model_adamw_step(tfc_model* model, int64_t step, float lr, float beta1, float beta2,
                                            float eps, float weight_decay, float clip, double* norm);

#ifdef __cplusplus
}
#endif

#endif /* TOKENFILTER_CUDA_API_H */
