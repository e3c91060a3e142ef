// Bindings for the byte-level BPE tokenizer: the `Bpe` class (construct from a vocabulary and
// merges or ranks, encode, encode with offsets, batch encode on all threads, decode) and
// `bpeTrain` (training in a PromiseWorker). Text crosses as UTF-16 and is converted here, so
// lone surrogates become U+FFFD and offsets can be reported in UTF-16 code units.
#include <napi.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "addon/convert.h"
#include "addon/js_error.h"
#include "addon/promise_worker.h"
#include "addon/registry.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "tokenizer/bpe.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/char_class.h"

namespace tf::addon {
namespace {

using tokenizer::Bpe;
using tokenizer::Encoder;
using tokenizer::TokenKind;

Napi::Uint32Array to_uint32_array(Napi::Env env, const std::vector<uint32_t>& v) {
  Napi::Uint32Array out = Napi::Uint32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(out.Data(), v.data(), v.size() * sizeof(uint32_t));
  return out;
}

std::u16string js_string(const Napi::Value& value, const std::string& name) {
  if (!value.IsString()) throw_type_error(value.Env(), name + " must be a string");
  return value.As<Napi::String>().Utf16Value();
}

// Copies an array of JS strings (each checked) for use off the JS thread.
std::vector<std::u16string> js_strings(const Napi::Value& value, const std::string& name) {
  if (!value.IsArray()) throw_type_error(value.Env(), name + " must be an array of strings");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<std::u16string> out(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) out[i] = js_string(array.Get(i), name + "[" + std::to_string(i) + "]");
  return out;
}

std::string utf8_of(const std::u16string& s) {
  std::string out;
  tokenizer::utf16_to_utf8(s.data(), s.size(), out, nullptr);
  return out;
}

// Encoders (with their piece caches) kept between encodeBatch calls, so a corpus fed in chunks
// is encoded with warm caches. take() hands out a free one or a new one; give() returns it.
class EncoderPool {
 public:
  std::unique_ptr<Encoder> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) return std::make_unique<Encoder>();
    std::unique_ptr<Encoder> e = std::move(free_.back());
    free_.pop_back();
    return e;
  }
  void give(std::unique_ptr<Encoder> e) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(e));
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.clear();
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Encoder>> free_;
};

class BpeWrap : public Napi::ObjectWrap<BpeWrap> {
 public:
  // Every method runs inside guard (js_error.h): a C++ exception leaves as a coded JS Error.
  template <Napi::Value (BpeWrap::*Method)(const Napi::CallbackInfo&)>
  Napi::Value guarded(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&] { return (this->*Method)(info); });
  }

  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "Bpe",
                                      {InstanceMethod<&BpeWrap::guarded<&BpeWrap::Encode>>("encode"),
                                       InstanceMethod<&BpeWrap::guarded<&BpeWrap::EncodeWithOffsets>>("encodeWithOffsets"),
                                       InstanceMethod<&BpeWrap::guarded<&BpeWrap::EncodeBatch>>("encodeBatch"),
                                       InstanceMethod<&BpeWrap::guarded<&BpeWrap::Decode>>("decode"),
                                       InstanceMethod<&BpeWrap::guarded<&BpeWrap::Merges>>("merges"),
                                       InstanceMethod<&BpeWrap::guarded<&BpeWrap::ClearCaches>>("clearCaches"),
                                       InstanceMethod<&BpeWrap::guarded<&BpeWrap::VocabSize>>("vocabSize")});
    exports.Set("Bpe", ctor);
  }

  // new Bpe({pretokenizer: 'cl100k'|'gpt2', mode: 'merges'|'ranks', tokenBytes: Uint8Array,
  //          tokenOffsets: Uint32Array (V + 1), kinds: Uint8Array (V; 0 absent, 1 regular,
  //          2 special), merges?: Uint32Array (2 per merge, mode 'merges'), wholePieceFirst?})
  explicit BpeWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpeWrap>(info) {
    guard(info.Env(), [&] { construct(info); });
  }

  void construct(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object spec = object(info[0], "spec");
    auto pre = tokenizer::parse_pretokenizer(string(spec.Get("pretokenizer"), "spec.pretokenizer"));
    std::string mode = string(spec.Get("mode"), "spec.mode");
    // Every property is read before any view is taken: a getter could detach an array whose
    // view was taken earlier, freeing the memory the view points to.
    Napi::Value kinds_value = spec.Get("kinds"), offsets_value = spec.Get("tokenOffsets");
    Napi::Value bytes_value = spec.Get("tokenBytes"), merges_value = spec.Get("merges");
    Napi::Value whole = spec.Get("wholePieceFirst");
    auto kinds_view = typed_array<uint8_t>(kinds_value, "spec.kinds");
    size_t vocab = kinds_view.length;
    if (vocab == 0 || vocab > 0x7FFFFFFF) throw_range_error(env, "spec.kinds must have between 1 and 2^31 - 1 entries");
    auto offsets = typed_array<uint32_t>(offsets_value, "spec.tokenOffsets", vocab + 1);
    auto bytes = typed_array<uint8_t>(bytes_value, "spec.tokenBytes");
    if (offsets.data[0] != 0) throw_range_error(env, "spec.tokenOffsets[0] must be 0");
    for (size_t i = 0; i < vocab; i++)
      if (offsets.data[i + 1] < offsets.data[i] || offsets.data[i + 1] > bytes.length)
        throw_range_error(env, "spec.tokenOffsets[" + std::to_string(i + 1) + "] is out of order or past the end of spec.tokenBytes");
    std::vector<std::string> tokens(vocab);
    std::vector<TokenKind> kinds(vocab);
    for (size_t i = 0; i < vocab; i++) {
      uint8_t k = kinds_view.data[i];
      if (k > 2) throw_range_error(env, "spec.kinds[" + std::to_string(i) + "] must be 0, 1 or 2");
      kinds[i] = static_cast<TokenKind>(k);
      tokens[i].assign(reinterpret_cast<const char*>(bytes.data + offsets.data[i]), offsets.data[i + 1] - offsets.data[i]);
    }
    try {
      if (mode == "ranks") {
        bpe_ = Bpe::from_ranks(pre, std::move(tokens), std::move(kinds));
      } else if (mode == "merges") {
        auto flat = typed_array<uint32_t>(merges_value, "spec.merges");
        if (flat.length % 2) throw_range_error(env, "spec.merges must hold pairs (even length)");
        std::vector<std::pair<uint32_t, uint32_t>> merges(flat.length / 2);
        for (size_t i = 0; i < merges.size(); i++) merges[i] = {flat.data[2 * i], flat.data[2 * i + 1]};
        bool whole_first = whole.IsUndefined() ? false : boolean(whole, "spec.wholePieceFirst");
        bpe_ = Bpe::from_merges(pre, std::move(tokens), std::move(kinds), merges, whole_first);
      } else {
        throw_type_error(env, "spec.mode must be 'merges' or 'ranks'");
      }
    } catch (const tf::Error& e) {
      throw_error(env, error_code(e.kind), e.what());
    }
    encoder_ = std::make_unique<Encoder>();
  }

 private:
  Napi::Value Encode(const Napi::CallbackInfo& info) {
    std::string utf8 = utf8_of(js_string(info[0], "text"));
    std::vector<uint32_t> ids;
    bpe_->encode(reinterpret_cast<const uint8_t*>(utf8.data()), utf8.size(), *encoder_, ids);
    return to_uint32_array(info.Env(), ids);
  }

  // offsets[2i], offsets[2i+1]: UTF-16 span of token i = the characters its bytes belong to.
  Napi::Value EncodeWithOffsets(const Napi::CallbackInfo& info) {
    std::u16string text = js_string(info[0], "text");
    std::string utf8;
    std::vector<uint32_t> u16_of_byte;
    tokenizer::utf16_to_utf8(text.data(), text.size(), utf8, &u16_of_byte);
    std::vector<uint32_t> ids;
    bpe_->encode(reinterpret_cast<const uint8_t*>(utf8.data()), utf8.size(), *encoder_, ids);
    std::vector<uint32_t> offsets(2 * ids.size());
    size_t byte = 0;
    for (size_t i = 0; i < ids.size(); i++) {
      size_t end = byte + bpe_->token(ids[i]).size();
      offsets[2 * i] = u16_of_byte[byte];
      size_t next_char = end;  // first byte of the character after the token's last byte
      while (next_char < utf8.size() && (static_cast<uint8_t>(utf8[next_char]) & 0xC0) == 0x80) next_char++;
      offsets[2 * i + 1] = u16_of_byte[next_char];
      byte = end;
    }
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("ids", to_uint32_array(info.Env(), ids));
    out.Set("offsets", to_uint32_array(info.Env(), offsets));
    return out;
  }

  class BatchWorker : public PromiseWorker {
   public:
    BatchWorker(Napi::Env env, std::shared_ptr<const Bpe> bpe, std::shared_ptr<EncoderPool> encoders,
                std::vector<std::u16string> texts, CancelFlag cancel)
        : PromiseWorker(env, "tokenfilter:encodeBatch"),
          bpe_(std::move(bpe)),
          encoders_(std::move(encoders)),
          texts_(std::move(texts)),
          cancel_(cancel) {}

   protected:
    void Run() override {
      ids_.resize(texts_.size());
      std::shared_ptr<ThreadPool> p = pool();
      std::atomic<size_t> next{0}, done{0};
      std::atomic<bool> stop{false};
      p->parallel_for(static_cast<size_t>(p->threads()), [&](size_t) {
        std::unique_ptr<Encoder> owned = encoders_->take();
        Encoder& encoder = *owned;
        std::string utf8;
        for (size_t i; !stop.load(std::memory_order_relaxed) && (i = next.fetch_add(1)) < texts_.size();) {
          tokenizer::utf16_to_utf8(texts_[i].data(), texts_[i].size(), utf8, nullptr);
          std::u16string().swap(texts_[i]);
          bpe_->encode(reinterpret_cast<const uint8_t*>(utf8.data()), utf8.size(), encoder, ids_[i]);
          size_t d = done.fetch_add(1) + 1;
          if (cancel_.cancelled()) stop = true;
          if (d % 64 == 0 || d == texts_.size()) report({{{"done", static_cast<double>(d)}, {"total", static_cast<double>(texts_.size())}}});
        }
        encoders_->give(std::move(owned));
      });
      if (stop || cancel_.cancelled()) throw Cancelled();
    }

    // One ArrayBuffer holding every text's ids; each result is a Uint32Array view into it.
    Napi::Value Result(Napi::Env env) override {
      size_t total = 0;
      for (auto& v : ids_) total += v.size();
      Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, total * sizeof(uint32_t));
      auto* base = static_cast<uint32_t*>(buffer.Data());
      Napi::Array out = Napi::Array::New(env, ids_.size());
      size_t offset = 0;
      for (size_t i = 0; i < ids_.size(); i++) {
        if (!ids_[i].empty()) std::memcpy(base + offset, ids_[i].data(), ids_[i].size() * sizeof(uint32_t));
        out.Set(static_cast<uint32_t>(i), Napi::Uint32Array::New(env, ids_[i].size(), buffer, offset * sizeof(uint32_t)));
        offset += ids_[i].size();
      }
      return out;
    }

   private:
    std::shared_ptr<const Bpe> bpe_;
    std::shared_ptr<EncoderPool> encoders_;
    std::vector<std::u16string> texts_;
    std::vector<std::vector<uint32_t>> ids_;
    CancelFlag cancel_;
  };

  // encodeBatch(texts: string[], cancel?: Int32Array (shared), onProgress?): Promise<Uint32Array[]>
  Napi::Value EncodeBatch(const Napi::CallbackInfo& info) {
    std::vector<std::u16string> texts = js_strings(info[0], "texts");
    CancelFlag cancel = cancel_flag(info[1], "cancel");
    auto* worker = new BatchWorker(info.Env(), bpe_, encoders_, std::move(texts), cancel);
    worker->keep(info[1]);
    return PromiseWorker::queue(worker, info[2], "onProgress");
  }

  Napi::Value Decode(const Napi::CallbackInfo& info) {
    auto ids = typed_array<uint32_t>(info[0], "ids");
    std::string bytes;
    try {
      bpe_->decode(ids.data, ids.length, bytes);
    } catch (const tf::Error& e) {
      throw_range_error(info.Env(), e.what());
    }
    return Napi::String::New(info.Env(), bytes.data(), bytes.size());
  }

  // Merge rules as a flat Uint32Array: (left, right, result, rank) sorted by (rank, left, right).
  Napi::Value Merges(const Napi::CallbackInfo& info) {
    std::vector<tokenizer::Merge> merges = bpe_->merges();
    std::vector<uint32_t> flat;
    flat.reserve(4 * merges.size());
    for (auto& m : merges) flat.insert(flat.end(), {m.left, m.right, m.result, m.rank});
    return to_uint32_array(info.Env(), flat);
  }

  // Drops the piece caches (the JS-thread one and the idle encodeBatch ones).
  Napi::Value ClearCaches(const Napi::CallbackInfo& info) {
    encoder_ = std::make_unique<Encoder>();
    encoders_->clear();
    return info.Env().Undefined();
  }

  Napi::Value VocabSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(bpe_->vocab_size()));
  }

  std::shared_ptr<const Bpe> bpe_;
  std::unique_ptr<Encoder> encoder_;  // JS-thread cache for the synchronous methods
  std::shared_ptr<EncoderPool> encoders_ = std::make_shared<EncoderPool>();  // for encodeBatch
};

class TrainWorker : public PromiseWorker {
 public:
  TrainWorker(Napi::Env env, tokenizer::Pretokenizer pre, std::vector<std::u16string> texts, size_t merges, CancelFlag cancel)
      : PromiseWorker(env, "tokenfilter:bpeTrain"), pre_(pre), texts_(std::move(texts)), merges_(merges), cancel_(cancel) {}

 protected:
  void Run() override {
    std::vector<std::string> utf8(texts_.size());
    for (size_t i = 0; i < texts_.size(); i++) {
      utf8[i] = utf8_of(texts_[i]);
      std::u16string().swap(texts_[i]);
    }
    tokenizer::TrainHooks hooks;
    hooks.cancelled = [this] { return cancel_.cancelled(); };
    hooks.progress = [this](const char* phase, size_t done, size_t total) {
      report({{{"phase", std::string(phase) == "count" ? 0.0 : 1.0}, {"done", static_cast<double>(done)}, {"total", static_cast<double>(total)}}});
    };
    result_ = tokenizer::train_bpe(pre_, utf8, merges_, hooks);
  }

  Napi::Value Result(Napi::Env env) override {
    size_t total = 0;
    for (auto& t : result_.tokens) total += t.size();
    Napi::Uint8Array bytes = Napi::Uint8Array::New(env, total);
    Napi::Uint32Array offsets = Napi::Uint32Array::New(env, result_.tokens.size() + 1);
    size_t at = 0;
    for (size_t i = 0; i < result_.tokens.size(); i++) {
      offsets[i] = static_cast<uint32_t>(at);
      std::memcpy(bytes.Data() + at, result_.tokens[i].data(), result_.tokens[i].size());
      at += result_.tokens[i].size();
    }
    offsets[result_.tokens.size()] = static_cast<uint32_t>(at);
    std::vector<uint32_t> flat;
    for (auto& [l, r] : result_.merges) flat.insert(flat.end(), {l, r});
    Napi::Object out = Napi::Object::New(env);
    out.Set("tokenBytes", bytes);
    out.Set("tokenOffsets", offsets);
    out.Set("merges", to_uint32_array(env, flat));
    return out;
  }

 private:
  tokenizer::Pretokenizer pre_;
  std::vector<std::u16string> texts_;
  size_t merges_;
  CancelFlag cancel_;
  tokenizer::TrainedBpe result_;
};

// bpeTrain(texts: string[], merges: number, pretokenizer: string, cancel?, onProgress?)
Napi::Value BpeTrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::u16string> texts = js_strings(info[0], "texts");
  size_t merges = static_cast<size_t>(integer(info[1], "merges", 0, 1 << 24));
  tokenizer::Pretokenizer pre;
  try {
    pre = tokenizer::parse_pretokenizer(string(info[2], "pretokenizer"));
  } catch (const tf::Error& e) {
    throw_range_error(env, e.what());
  }
  CancelFlag cancel = cancel_flag(info[3], "cancel");
  auto* worker = new TrainWorker(env, pre, std::move(texts), merges, cancel);
  worker->keep(info[3]);
  return PromiseWorker::queue(worker, info[4], "onProgress");
}

// Test hook: the pre-tokenizer's pieces of `text` as UTF-16 [start, end) pairs.
Napi::Value Pretokenize(const Napi::CallbackInfo& info) {
  std::u16string text = js_string(info[0], "text");
  tokenizer::Pretokenizer pre;
  try {
    pre = tokenizer::parse_pretokenizer(string(info[1], "pretokenizer"));
  } catch (const tf::Error& e) {
    throw_range_error(info.Env(), e.what());
  }
  std::string utf8;
  std::vector<uint32_t> u16_of_byte;
  tokenizer::utf16_to_utf8(text.data(), text.size(), utf8, &u16_of_byte);
  std::vector<uint32_t> spans;
  const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
  for (size_t p = 0; p < utf8.size();) {
    size_t e = tokenizer::next_piece(pre, s, utf8.size(), p);
    spans.push_back(u16_of_byte[p]);
    spans.push_back(u16_of_byte[e]);
    p = e;
  }
  return to_uint32_array(info.Env(), spans);
}

void Init(Napi::Env env, Napi::Object exports) {
  BpeWrap::Init(env, exports);
  exports.Set("bpeTrain", Napi::Function::New(env, guarded<BpeTrain>, "bpeTrain"));
  exports.Set("pretokenize", Napi::Function::New(env, guarded<Pretokenize>, "pretokenize"));
}

Registrar registrar("tokenizer", Init);

}  // namespace
}  // namespace tf::addon
