#include "builder/tactic_timing.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "ir/data_type.h"
#include "ir/numeric.h"

namespace lowp::builder {
namespace {

constexpr const char* kFormat = "lowp-timing-cache";
constexpr int kFormatVersion = 1;

// Random bytes are not valid values for every type; fill floats with small numbers and integers with
// small non-negative ones, which every kernel accepts (indices stay in range for dims of at least 2).
void fillRandom(Tensor& t, std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const int64_t n = t.elementCount();
  switch (t.type()) {
    case DataType::kFloat32:
      for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = uniform(rng);
      break;
    case DataType::kFloat64:
      for (int64_t i = 0; i < n; ++i) t.data<double>()[i] = uniform(rng);
      break;
    case DataType::kFloat16:
      for (int64_t i = 0; i < n; ++i) t.data<uint16_t>()[i] = ir::floatToFloat16(uniform(rng));
      break;
    case DataType::kBFloat16:
      for (int64_t i = 0; i < n; ++i) t.data<uint16_t>()[i] = ir::floatToBFloat16(uniform(rng));
      break;
    default: {
      const auto bytes = static_cast<size_t>(ir::dataTypeInfo(t.type()).storageBytes);
      auto* p = static_cast<uint8_t*>(t.data());
      for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i) * bytes] = static_cast<uint8_t>(rng() % 2);
      break;
    }
  }
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

Result<double> timeKernel(const ir::Node& node, const kernels::KernelDef& kernel,
                          const kernels::ParallelFor& parallelFor, const TimingOptions& options,
                          const std::vector<const Tensor*>& inputValues) {
  std::mt19937 rng(1234);
  std::vector<Tensor> storage(node.inputs.size() + node.outputs.size());
  // Blocked formats take more bytes than the logical shape (channels padded); the tensors view buffers
  // of the padded size, zero-filled as the runtime's are.
  std::vector<std::shared_ptr<std::byte[]>> buffers;
  auto allocateIn = [&](ir::TensorFormat format, DataType type, const std::vector<int64_t>& sizes) {
    if (format == ir::TensorFormat::kLinear) return Tensor(type, sizes);
    const int64_t bytes = ir::storageBytes(type, sizes, format);
    buffers.push_back(std::shared_ptr<std::byte[]>(new std::byte[static_cast<size_t>(bytes)]()));
    return Tensor::view(type, sizes, buffers.back().get());
  };
  std::vector<const Tensor*> inputs;
  std::vector<Tensor*> outputs;
  auto staticShape = [&](const ir::Value& v) -> Result<std::vector<int64_t>> {
    if (!v.shape.isStatic()) {
      return Status(StatusCode::kInvalidArgument,
                    node.describe() + ": cannot time a kernel on '" + v.name + "' of shape " +
                        v.shape.toString() + " (give the input shapes)",
                    node.name);
    }
    return v.shape.sizes();
  };
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const ir::Value* v = node.inputs[i];
    if (v == nullptr) {
      inputs.push_back(nullptr);
    } else if (i < inputValues.size() && inputValues[i] != nullptr) {
      inputs.push_back(inputValues[i]);
    } else if (v->constant) {
      inputs.push_back(&*v->constant);
    } else {
      LOWP_ASSIGN_OR_RETURN(auto sizes, staticShape(*v));
      storage[i] = allocateIn(v->format, v->type, sizes);
      fillRandom(storage[i], rng);
      inputs.push_back(&storage[i]);
    }
  }
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const ir::Value* v = node.outputs[i];
    if (v == nullptr) {
      outputs.push_back(nullptr);
      continue;
    }
    Tensor& out = storage[node.inputs.size() + i];
    if (v->shape.isStatic()) out = allocateIn(v->format, v->type, v->shape.sizes());
    outputs.push_back(&out);
  }
  kernels::KernelContext ctx(node, inputs, outputs, parallelFor,
                             [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
  std::vector<double> times;
  int warmupRuns = options.warmupRuns;
  int timedRuns = options.timedRuns;
  for (int run = 0; run < warmupRuns + timedRuns; ++run) {
    auto start = std::chrono::steady_clock::now();
    Status s = kernel.fn(ctx);
    auto end = std::chrono::steady_clock::now();
    if (!s) return s.withNode(node.name);
    const double ms = std::chrono::duration<double, std::milli>(end - start).count();
    if (run == 0 && ms > options.abandonAboveMs) return ms;
    // A long first run (it includes one-time preparation such as packing weights) needs fewer repeats:
    // a kernel of many milliseconds varies little from run to run.
    if (run == 0 && ms > options.longRunMs && warmupRuns + timedRuns > 4) {
      warmupRuns = 1;
      timedRuns = 3;
    }
    if (run >= warmupRuns) times.push_back(ms);
  }
  if (times.empty()) return Status(StatusCode::kInvalidArgument, "timing needs at least one timed run");
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
  return times[times.size() / 2];
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
