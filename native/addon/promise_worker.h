// The one pattern for long native work: a Napi::AsyncWorker that runs Run() on a libuv thread,
// resolves a Promise with Result() on the JS thread, and rejects it with an Error carrying the
// exception's message and code otherwise (js_error.h; an AbortError with code E_ABORTED when
// the work observed its cancel flag). Run() never touches JS memory: a detachable ArrayBuffer
// can be freed while it runs, so inputs are copied and outputs delivered on the JS thread
// (owned_arrays.h); keep() only keeps JS objects (the model wrapper, a SharedArrayBuffer
// cancel word) from being collected until the worker is done.
// Progress events go to an optional JS callback through a thread-safe function, non-blocking.
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "addon/js_error.h"
#include "core/error.h"

namespace tf::addon {

// A flat progress record: named numbers, delivered to JS as a plain object.
struct ProgressEvent {
  std::vector<std::pair<std::string, double>> fields;
};

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* what)
      : Napi::AsyncWorker(env, what), deferred_(Napi::Promise::Deferred::New(env)) {}
  ~PromiseWorker() override {
    if (progress_) progress_.Release();
  }

  Napi::Promise promise() { return deferred_.Promise(); }

  // Installs the progress callback (undefined or null = none), queues `worker` and returns its
  // promise. If the callback is not a function the worker is deleted and the TypeError rethrown.
  static Napi::Promise queue(PromiseWorker* worker, const Napi::Value& progress, const std::string& name) {
    try {
      worker->set_progress_callback(progress, name);
    } catch (...) {
      delete worker;
      throw;
    }
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  // Keeps a JS value (typically a typed array the worker reads or writes) alive.
  void keep(const Napi::Value& value) {
    if (value.IsObject()) kept_.push_back(Napi::Persistent(value.As<Napi::Object>()));
  }

  // Installs a JS callback receiving ProgressEvent objects; undefined/null means none.
  void set_progress_callback(const Napi::Value& callback, const std::string& name) {
    if (callback.IsUndefined() || callback.IsNull()) return;
    if (!callback.IsFunction()) throw js_error(Env(), JsErrorClass::TypeError, "E_OPTION", name + " must be a function");
    progress_ = Napi::ThreadSafeFunction::New(Env(), callback.As<Napi::Function>(), "tokenfilter progress", 0, 1);
  }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  // Callable from Run(): queues an event for the JS callback (dropped if none is installed).
  void report(ProgressEvent event) {
    if (!progress_) return;
    auto* heap = new ProgressEvent(std::move(event));
    napi_status status = progress_.NonBlockingCall(heap, [](Napi::Env env, Napi::Function fn, ProgressEvent* e) {
      std::unique_ptr<ProgressEvent> owned(e);
      if (!env || !fn) return;
      Napi::Object obj = Napi::Object::New(env);
      for (auto& f : owned->fields) obj.Set(f.first, Napi::Number::New(env, f.second));
      fn.Call({obj});
    });
    if (status != napi_ok) delete heap;
  }

 private:
  void Execute() override {
    try {
      Run();
    } catch (...) {
      failure_ = failure_of(std::current_exception());
      SetError(failure_.message);
    }
  }

  void OnOK() override {
    Napi::HandleScope scope(Env());
    try {
      deferred_.Resolve(Result(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error&) override {
    Napi::HandleScope scope(Env());
    deferred_.Reject(js_error(Env(), failure_).Value());
  }

  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> kept_;
  Napi::ThreadSafeFunction progress_;
  Failure failure_;
};

}  // namespace tf::addon
