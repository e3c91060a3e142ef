// Device discovery, contexts and memory: the parts of the C ABI that are not ops.
#include <cstring>

#include "cuda/check.cuh"

namespace tf::cuda {

const char* fail(const std::string& message) {
  thread_local std::string buffer;
  buffer = message;
  return buffer.c_str();
}

void enter(tfc_context* ctx) {
  require(ctx != nullptr, "no CUDA context");
  check_cuda(cudaSetDevice(ctx->device), "cudaSetDevice");
}

void* scratch_buffer(tfc_context* ctx, size_t bytes) {
  if (ctx->scratch_bytes < bytes) {
    // cudaFree waits for the device, so no queued kernel still reads the old buffer
    if (ctx->d_scratch) check_cuda(cudaFree(ctx->d_scratch), "cudaFree(scratch)");
    ctx->d_scratch = nullptr;
    ctx->scratch_bytes = 0;
    check_cuda(cudaMalloc(&ctx->d_scratch, bytes), "cudaMalloc(scratch)");
    ctx->scratch_bytes = bytes;
  }
  return ctx->d_scratch;
}

}  // namespace tf::cuda

using namespace tf::cuda;

extern "C" {

int tfc_abi_version(void) { return TFC_ABI_VERSION; }

const char* tfc_probe(int* count, int* kind) {
  *count = 0;
  *kind = TFC_PROBE_ERROR;
  int n = 0;
  const cudaError_t status = cudaGetDeviceCount(&n);
  if (status == cudaSuccess && n > 0) {
    *count = n;
    *kind = TFC_PROBE_OK;
    return nullptr;
  }
  cudaGetLastError();  // clear the sticky error so a later probe starts clean
  if (status == cudaSuccess || status == cudaErrorNoDevice) {
    *kind = TFC_PROBE_NO_DEVICE;
    return fail("the driver answered but reports no CUDA device");
  }
  if (status == cudaErrorInsufficientDriver || status == cudaErrorStubLibrary || status == cudaErrorSystemDriverMismatch) {
    *kind = TFC_PROBE_NO_DRIVER;
    return fail(std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")");
  }
  return fail(std::string("cudaGetDeviceCount: ") + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

const char* tfc_device_info_get(int device, tfc_device_info* out) {
  return guarded([&] {
    cudaDeviceProp prop;
    check_cuda(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    std::memset(out, 0, sizeof(*out));
    std::strncpy(out->name, prop.name, sizeof(out->name) - 1);
    out->memory = prop.totalGlobalMem;
    out->major = prop.major;
    out->minor = prop.minor;
    out->multiprocessors = prop.multiProcessorCount;
    int clock = 0;
    if (cudaDeviceGetAttribute(&clock, cudaDevAttrClockRate, device) != cudaSuccess) {
      cudaGetLastError();
      clock = 0;
    }
    out->clock_khz = clock;
  });
}

const char* tfc_context_create(int device, tfc_context** out) {
  *out = nullptr;
  return guarded([&] {
    int count = 0;
    check_cuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    require(device >= 0 && device < count, "device " + std::to_string(device) + " does not exist (" +
                                               std::to_string(count) + " found)");
    check_cuda(cudaSetDevice(device), "cudaSetDevice");
    int smem = 0;
    check_cuda(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
               "cudaDeviceGetAttribute(shared memory)");
    int sms = 0;
    check_cuda(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device),
               "cudaDeviceGetAttribute(multiprocessors)");
    auto* ctx = new tfc_context();
    ctx->device = device;
    ctx->max_dynamic_smem = static_cast<size_t>(smem);
    ctx->multiprocessors = sms;
    const cudaError_t status = cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking);
    if (status != cudaSuccess) {
      delete ctx;
      check_cuda(status, "cudaStreamCreate");
    }
    *out = ctx;
  });
}

void tfc_context_destroy(tfc_context* ctx) {
  if (!ctx) return;
  cudaSetDevice(ctx->device);
  if (ctx->stream) cudaStreamSynchronize(ctx->stream);
  if (ctx->d_scratch) cudaFree(ctx->d_scratch);
  if (ctx->stream) cudaStreamDestroy(ctx->stream);
  cudaGetLastError();
  delete ctx;
}

const char* tfc_synchronize(tfc_context* ctx) {
  return guarded([&] {
    enter(ctx);
    check_cuda(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize");
  });
}

const char* tfc_malloc(tfc_context* ctx, void** d_ptr, size_t bytes) {
  *d_ptr = nullptr;
  return guarded([&] {
    enter(ctx);
    check_cuda(cudaMalloc(d_ptr, bytes == 0 ? 1 : bytes), ("cudaMalloc(" + std::to_string(bytes) + " bytes)").c_str());
  });
}

const char* tfc_free(tfc_context* ctx, void* d_ptr) {
  return guarded([&] {
    enter(ctx);
    // work queued on the buffer must finish before it is released
    check_cuda(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize (before cudaFree)");
    check_cuda(cudaFree(d_ptr), "cudaFree");
  });
}

const char* tfc_upload(tfc_context* ctx, void* d_dst, const void* src, size_t bytes) {
  return guarded([&] {
    enter(ctx);
    // pageable host memory: the copy is complete (staged) when the call returns
    check_cuda(cudaMemcpyAsync(d_dst, src, bytes, cudaMemcpyHostToDevice, ctx->stream), "cudaMemcpy (upload)");
    check_cuda(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize (upload)");
  });
}

const char* tfc_download(tfc_context* ctx, void* dst, const void* d_src, size_t bytes) {
  return guarded([&] {
    enter(ctx);
    check_cuda(cudaMemcpyAsync(dst, d_src, bytes, cudaMemcpyDeviceToHost, ctx->stream), "cudaMemcpy (download)");
    check_cuda(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize (download)");
  });
}

const char* tfc_zero(tfc_context* ctx, void* d_ptr, size_t bytes) {
  return guarded([&] {
    enter(ctx);
    check_cuda(cudaMemsetAsync(d_ptr, 0, bytes, ctx->stream), "cudaMemset");
  });
}

}  // extern "C"
