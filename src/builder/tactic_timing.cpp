#include "builder/tactic_timing.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ir/data_type.h"
#include "ir/numeric.h"

namespace lowp::builder {
namespace {

constexpr const char* kFormat = "lowp-timing-cache";
constexpr int kFormatVersion = 1;

// A fast generator of timing data (splitmix64): the values only need to be valid and not all alike. The
// standard library's engines and distributions took about a third of a ResNet-50 build's time filling inputs.
class TimingRandom {
 public:
  explicit TimingRandom(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [-1, 1), from the top 24 bits.
  float uniform() { return static_cast<float>(next() >> 40) * (2.0f / 16777216.0f) - 1.0f; }

 private:
  uint64_t state_;
};

// Random bytes are not valid values for every type; fill floats with small numbers and integers with
// small non-negative ones, which every kernel accepts (indices stay in range for dims of at least 2). The
// first kFillPeriod elements are drawn and repeated over the rest: a kernel's speed does not depend on
// values beyond that, and a batch-8 activation is filled at the speed of memcpy.
constexpr int64_t kFillPeriod = 1 << 16;

void fillRandom(Tensor& t, TimingRandom& rng) {
  const int64_t count = t.elementCount();
  const int64_t n = std::min(count, kFillPeriod);
  switch (t.type()) {
    case DataType::kFloat32: {
      auto* p = t.data<float>();
      for (int64_t i = 0; i < n; ++i) p[i] = rng.uniform();
      break;
    }
    case DataType::kFloat64: {
      auto* p = t.data<double>();
      for (int64_t i = 0; i < n; ++i) p[i] = rng.uniform();
      break;
    }
    case DataType::kFloat16: {
      auto* p = t.data<uint16_t>();
      for (int64_t i = 0; i < n; ++i) p[i] = ir::floatToFloat16(rng.uniform());
      break;
    }
    case DataType::kBFloat16: {
      auto* p = t.data<uint16_t>();
      for (int64_t i = 0; i < n; ++i) p[i] = ir::floatToBFloat16(rng.uniform());
      break;
    }
    default: {
      const auto bytes = static_cast<size_t>(ir::dataTypeInfo(t.type()).storageBytes);
      auto* p = static_cast<uint8_t*>(t.data());
      for (int64_t i = 0; i < n; ++i)
        p[static_cast<size_t>(i) * bytes] = static_cast<uint8_t>(rng.next() & 1);
      break;
    }
  }
  const auto periodBytes = static_cast<size_t>(n * ir::dataTypeInfo(t.type()).storageBytes);
  auto* bytes = static_cast<std::byte*>(t.data());
  const auto totalBytes = static_cast<size_t>(t.byteSize());
  for (size_t at = periodBytes; at < totalBytes; at += periodBytes)
    std::memcpy(bytes + at, bytes, std::min(periodBytes, totalBytes - at));
}

std::string describeAttribute(const ir::AttrValue& value) {
  std::ostringstream out;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, float> ||
                      std::is_same_v<T, std::string>) {
          out << v;
        } else if constexpr (std::is_same_v<T, Tensor>) {
          // Tensor attributes are small (Constant-like values): their bytes are part of the key.
          out << v.describe() << ":"
              << std::hash<std::string_view>{}(
                     std::string_view(static_cast<const char*>(v.data()), static_cast<size_t>(v.byteSize())));
        } else if constexpr (std::is_same_v<T, ir::SubgraphAttr>) {
          out << "graph " << v.name;
        } else {
          for (const auto& e : v) out << e << ",";
        }
      },
      value);
  return out.str();
}

}  // namespace

std::string timingKey(const ir::Node& node, const kernels::KernelDef& kernel) {
  std::ostringstream key;
  key << node.domain << "." << node.opType << " v" << node.opsetVersion << " " << kernel.name << " (";
  for (const auto& [name, value] : node.attributes.all())
    key << name << "=" << describeAttribute(value) << ";";
  key << ") in";
  // Type, shape and, where not linear, format of each value: a kernel may take several formats.
  auto describe = [&key](const ir::Value* v) {
    if (v == nullptr) {
      key << " -";
      return;
    }
    key << " " << ir::dataTypeInfo(v->type).name << v->shape.toString();
    if (v->format != ir::TensorFormat::kLinear) key << ":" << ir::formatName(v->format);
  };
  for (const ir::Value* v : node.inputs) {
    describe(v);
    if (v && v->constant) key << "c";  // constant inputs (weights) may be prepared differently
  }
  key << " out";
  for (const ir::Value* v : node.outputs) describe(v);
  return key.str();
}

Result<std::vector<int64_t>> timingShape(const ir::Node& node, const ir::Value& v) {
  if (!v.shape.isStatic()) {
    return Status(StatusCode::kInvalidArgument,
                  node.describe() + ": cannot time a kernel on '" + v.name + "' of shape " +
                      v.shape.toString() + " (give the input shapes)",
                  node.name);
  }
  return v.shape.sizes();
}

namespace {

// The host tensors a timing runs on: `inputs` per input slot (given values, constants, or random data of
// the value's static shape and format), `outputs` per output slot (allocated where the shape is static;
// output 0 in input `inPlaceInput`'s memory, as the runtime plans it where it can, KernelDef::inPlaceInput).
struct TimingTensors {
  std::vector<const Tensor*> inputs;
  std::vector<Tensor*> outputs;
  std::vector<Tensor> storage;
  std::vector<std::shared_ptr<std::byte[]>> buffers;
};

Result<TimingTensors> prepareTimingTensors(const ir::Node& node,
                                           const std::vector<const Tensor*>& inputValues, int inPlaceInput) {
  TimingRandom rng(1234);
  TimingTensors t;
  t.storage.resize(node.inputs.size() + node.outputs.size());
  // Blocked formats take more bytes than the logical shape (channels padded); the tensors view buffers
  // of the padded size, zero-filled as the runtime's are.
  auto allocateIn = [&](ir::TensorFormat format, DataType type, const std::vector<int64_t>& sizes) {
    if (format == ir::TensorFormat::kLinear) return Tensor(type, sizes);
    const int64_t bytes = ir::storageBytes(type, sizes, format);
    t.buffers.push_back(std::shared_ptr<std::byte[]>(new std::byte[static_cast<size_t>(bytes)]()));
    return Tensor::view(type, sizes, t.buffers.back().get());
  };
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const ir::Value* v = node.inputs[i];
    if (v == nullptr) {
      t.inputs.push_back(nullptr);
    } else if (i < inputValues.size() && inputValues[i] != nullptr) {
      t.inputs.push_back(inputValues[i]);
    } else if (v->constant) {
      t.inputs.push_back(&*v->constant);
    } else {
      LOWP_ASSIGN_OR_RETURN(auto sizes, timingShape(node, *v));
      t.storage[i] = allocateIn(v->format, v->type, sizes);
      fillRandom(t.storage[i], rng);
      t.inputs.push_back(&t.storage[i]);
    }
  }
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const ir::Value* v = node.outputs[i];
    if (v == nullptr) {
      t.outputs.push_back(nullptr);
      continue;
    }
    Tensor& out = t.storage[node.inputs.size() + i];
    const auto slot = static_cast<size_t>(inPlaceInput);
    const Tensor* source =
        i == 0 && inPlaceInput >= 0 && slot < node.inputs.size() && t.inputs[slot] == &t.storage[slot]
            ? t.inputs[slot]
            : nullptr;
    if (source != nullptr && v->shape.isStatic() && source->type() == v->type &&
        node.inputs[slot]->format == v->format && source->shape() == v->shape.sizes()) {
      out = Tensor::view(v->type, v->shape.sizes(), t.storage[slot].data());
    } else if (v->shape.isStatic()) {
      out = allocateIn(v->format, v->type, v->shape.sizes());
    }
    t.outputs.push_back(&out);
  }
  return t;
}

}  // namespace

Result<double> medianOfRuns(const ir::Node& node, const TimingOptions& options,
                            const std::function<Result<double>(int repeats)>& run) {
  std::vector<double> times;
  int warmupRuns = options.warmupRuns;
  int timedRuns = options.timedRuns;
  int repeats = 1;
  // The first run prepares (packs weights, picks library algorithms, allocates): decisions wait for the
  // second, unless there is only one.
  const int probe = warmupRuns + timedRuns > 1 ? 1 : 0;
  for (int r = 0; r < warmupRuns + timedRuns; ++r) {
    auto ms = run(r < warmupRuns ? 1 : repeats);
    if (!ms) return ms.status().withNode(node.name);
    if (r == probe && *ms > options.abandonAboveMs) return *ms;
    // A long kernel needs fewer repeats: one of many milliseconds varies little from run to run.
    if (r == probe && *ms > options.longRunMs && warmupRuns + timedRuns > probe + 4) {
      warmupRuns = std::min(warmupRuns, probe + 1);
      timedRuns = 3;
    }
    if (r == probe && options.minTimedMs > 0 && *ms * timedRuns < options.minTimedMs) {
      const double wanted = std::ceil(options.minTimedMs / std::max(*ms, 1e-4));
      timedRuns =
          static_cast<int>(std::min<double>(wanted, TimingOptions::kMaxTimedRuns)) | 1;  // odd: one median
    }
    // Runs shorter than the clock's resolution are timed in groups; the time of one is the group's mean.
    if (r == warmupRuns - 1 && options.minGroupMs > 0)
      repeats = static_cast<int>(std::clamp(options.minGroupMs / std::max(*ms, 1e-4), 1.0, 200.0));
    if (r >= warmupRuns) times.push_back(*ms);
  }
  if (times.empty()) return Status(StatusCode::kInvalidArgument, "timing needs at least one timed run");
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

namespace {

class CpuTimer final : public TacticTimer {
 public:
  CpuTimer(kernels::ParallelFor parallelFor, std::string fingerprint)
      : parallelFor_(std::move(parallelFor)), fingerprint_(std::move(fingerprint)) {}
  kernels::Backend backend() const override { return kernels::Backend::kCpu; }
  const std::string& fingerprint() const override { return fingerprint_; }
  Result<double> time(const ir::Node& node, const kernels::KernelDef& kernel, const TimingOptions& options,
                      const std::vector<const Tensor*>& inputValues) override {
    return timeKernel(node, kernel, parallelFor_, options, inputValues);
  }

 private:
  kernels::ParallelFor parallelFor_;
  std::string fingerprint_;
};

}  // namespace

#ifndef LOWP_WITH_CUDA
Result<std::unique_ptr<TacticTimer>> makeCudaTimer(int) {
  return Status(StatusCode::kUnsupported,
                "building for the CUDA device, but this build of lowp has no CUDA backend (LOWP_WITH_CUDA)");
}
#endif

std::unique_ptr<TacticTimer> makeCpuTimer(kernels::ParallelFor parallelFor, std::string fingerprint) {
  return std::make_unique<CpuTimer>(std::move(parallelFor), std::move(fingerprint));
}

Result<double> timeKernel(const ir::Node& node, const kernels::KernelDef& kernel,
                          const kernels::ParallelFor& parallelFor, const TimingOptions& options,
                          const std::vector<const Tensor*>& inputValues) {
  LOWP_ASSIGN_OR_RETURN(TimingTensors tensors, prepareTimingTensors(node, inputValues, kernel.inPlaceInput));
  kernels::KernelContext ctx(node, tensors.inputs, tensors.outputs, parallelFor,
                             [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
  return medianOfRuns(node, options, [&](int repeats) -> Result<double> {
    auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < repeats; ++r) LOWP_RETURN_IF_ERROR(kernel.fn(ctx));
    auto end = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::milli>(end - start).count() / repeats;
  });
}

std::optional<double> TimingCache::find(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

Result<TimingCache> TimingCache::load(const std::string& path, const std::string& expectedFingerprint) {
  std::ifstream in(path);
  if (!in) return Status(StatusCode::kNotFound, path + ": cannot open the timing cache");
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return Status(StatusCode::kInvalidArgument, path + ": not a lowp timing cache (" + why + ")");
  };
  if (doc.is_discarded() || !doc.is_object()) return bad("not valid JSON");
  if (!doc.contains("format") || doc["format"] != kFormat) return bad("no \"format\": \"lowp-timing-cache\"");
  if (!doc.contains("version") || !doc["version"].is_number_integer() || doc["version"] != kFormatVersion) {
    return bad("format version is not " + std::to_string(kFormatVersion));
  }
  if (!doc.contains("fingerprint") || !doc["fingerprint"].is_string()) return bad("no fingerprint");
  const std::string fingerprint = doc["fingerprint"];
  if (fingerprint != expectedFingerprint) {
    return Status(StatusCode::kInvalidArgument, path + ": the timing cache was measured on '" + fingerprint +
                                                    "', not on this device '" + expectedFingerprint + "'");
  }
  if (!doc.contains("entries") || !doc["entries"].is_object()) return bad("no entries");
  TimingCache cache(fingerprint);
  for (const auto& [key, ms] : doc["entries"].items()) {
    if (!ms.is_number() || ms.get<double>() < 0) return bad("entry '" + key + "' is not a time");
    cache.insert(key, ms.get<double>());
  }
  return cache;
}

Status TimingCache::save(const std::string& path) const {
  nlohmann::json doc;
  doc["format"] = kFormat;
  doc["version"] = kFormatVersion;
  doc["fingerprint"] = fingerprint_;
  doc["entries"] = nlohmann::json::object();
  for (const auto& [key, ms] : entries_) doc["entries"][key] = ms;
  std::ofstream out(path);
  out << doc.dump(1) << "\n";
  if (!out) return Status(StatusCode::kIoError, path + ": cannot write the timing cache");
  return {};
}

}  // namespace lowp::builder
