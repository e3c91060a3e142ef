// Backend information and global settings: SIMD level, thread count (CUDA: cuda_binding.cc).
#include <napi.h>

#include "addon/convert.h"
#include "addon/js_error.h"
#include "addon/promise_worker.h"
#include "addon/registry.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace tf::addon {
namespace {

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("simd", simd_level_name(simd_level()));
  out.Set("detectedSimd", simd_level_name(detected_simd_level()));
  out.Set("threads", num_threads());
  out.Set("maxThreads", max_threads());
  out.Set("hardwareThreads", static_cast<double>(std::thread::hardware_concurrency()));
  return out;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t threads = integer(info[0], "threads", 1, int64_t{1} << 30);
  if (threads > max_threads())
    throw_range_error(info.Env(),
                      "threads = " + std::to_string(threads) + " is above the limit of " + std::to_string(max_threads()) +
                          " (4 per hardware thread, at most " + std::to_string(kMaxThreads) + ")",
                      "E_TOO_LARGE");
  set_num_threads(static_cast<int>(threads));
  return info.Env().Undefined();
}

Napi::Value SetSimd(const Napi::CallbackInfo& info) {
  set_simd_level(parse_simd_level(string(info[0], "simd")));
  return info.Env().Undefined();
}

// Test hooks: a C++ exception thrown in a synchronous binding and in an async worker must
// both reach JavaScript as an Error (never abort the process).
Napi::Value ThrowNative(const Napi::CallbackInfo& info) {
  throw tf::Error(string(info[0], "message"));
}

class FailingWorker : public PromiseWorker {
 public:
  FailingWorker(Napi::Env env, std::string message) : PromiseWorker(env, "tokenfilter:selftest"), message_(std::move(message)) {}
 protected:
  void Run() override { throw tf::Error(message_); }
 private:
  std::string message_;
};

Napi::Value RejectNative(const Napi::CallbackInfo& info) {
  auto* worker = new FailingWorker(info.Env(), string(info[0], "message"));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("backendInfo", Napi::Function::New(env, guarded<BackendInfo>, "backendInfo"));
  exports.Set("setThreads", Napi::Function::New(env, guarded<SetThreads>, "setThreads"));
  exports.Set("setSimd", Napi::Function::New(env, guarded<SetSimd>, "setSimd"));
  exports.Set("_throwNative", Napi::Function::New(env, guarded<ThrowNative>, "_throwNative"));
  exports.Set("_rejectNative", Napi::Function::New(env, guarded<RejectNative>, "_rejectNative"));
}

Registrar registrar("backend", Init);

}  // namespace
}  // namespace tf::addon
