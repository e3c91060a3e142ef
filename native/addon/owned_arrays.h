// Typed arrays that outlive a synchronous call. A JS ArrayBuffer can be detached at any moment
// the JS thread runs (structuredClone / postMessage with `transfer`), which frees its memory;
// keeping the typed array alive (a Napi reference) does not prevent that. So memory a worker
// thread touches is never JS memory: inputs are copied into an OwnedInput when the call is made,
// and outputs are written into a PendingOutput's own buffer and copied into the caller's array
// on the JS thread when the work completes, after checking that the array is still attached and
// as long as it was (else the promise rejects with E_STATE and the result is dropped).
#pragma once
#include <napi.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "addon/convert.h"
#include "addon/js_error.h"

namespace tf::addon {

// A copy of a checked typed array's elements, owned by native code.
template <typename T>
std::shared_ptr<const std::vector<T>> owned_copy(const View<T>& view) {
  return std::make_shared<const std::vector<T>>(view.data, view.data + view.length);
}

// Whether `array` (a typed array) still has a live buffer of `length` elements; fills `data`.
bool still_attached(Napi::Env env, const Napi::Value& array, size_t length, void** data);

// An output array of `length` elements of T: the worker writes data(); deliver() copies it into
// the caller's typed array on the JS thread. Create, deliver and destroy on the JS thread.
template <typename T>
class PendingOutput {
 public:
  PendingOutput(const Napi::Value& array, std::string name, size_t length)
      : array_(Napi::Persistent(array.As<Napi::Object>())), name_(std::move(name)), data_(length) {}

  T* data() { return data_.data(); }
  size_t length() const { return data_.size(); }

  // Copies the result into the caller's array; throws a coded E_STATE Error if the array was
  // detached or resized while the work ran.
  void deliver(Napi::Env env) {
    void* target = nullptr;
    if (!still_attached(env, array_.Value(), data_.size(), &target))
      throw js_error(env, JsErrorClass::Error, "E_STATE",
                     name_ + " was detached or resized while the operation ran; its result was dropped");
    if (!data_.empty()) std::memcpy(target, data_.data(), data_.size() * sizeof(T));
  }

 private:
  Napi::ObjectReference array_;
  std::string name_;
  std::vector<T> data_;
};

}  // namespace tf::addon
