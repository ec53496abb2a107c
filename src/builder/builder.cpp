// Builder::build: from a NetworkDefinition and a BuilderConfig to an Engine.
//
//  1. copy the network's graph and run the rewrite pipeline (folding, fusions); resolve each layer's
//     constraints through every name it absorbed;
//  2. run the FP32 graph once at the build shapes on random inputs, recording every tensor's shape and the
//     values of small and non-float tensors (a Reshape's target shape must be real to time the Reshape);
//  3. per layer, enumerate tactics: for each precision T the flags and constraints allow, the registry's
//     kernels taking the layer's fp32 tensors as T (other types as they are), in the formats they declare;
//  4. time each tactic on real-sized data (tactic_timing.h; times come from the timing cache when it has
//     them, but a layer with new timings too measures its fastest cached tactic again beside them), and
//     each conversion a tensor may need between the states its producer and consumers want;
//  5. choose one tactic per layer minimising kernel plus conversion time over the graph
//     (precision_search.h);
//  6. write the decision into the graph: tensors get their chosen type and format, Cast / Reformat nodes go
//     where a consumer wants another state, constants are converted once (with counts of values fp16 clamps
//     or flushes), and every layer gets its report line (requested vs chosen precision, tactic, time, why).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "builder/network_impl.h"
#include "builder/precision_search.h"
#include "builder/quantized_layers.h"
#include "builder/tactic_timing.h"
#include "ir/numeric.h"
#include "ir/op_schema.h"
#include "ir/ops/fused.h"
#include "lowp/builder.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "quant/calibration_cache.h"
#include "runtime/cpu_features.h"
#include "runtime/device.h"
#include "runtime/engine_impl.h"

namespace lowp {
namespace {

using ir::TensorFormat;
using kernels::KernelDef;

constexpr double kUnavailable = std::numeric_limits<double>::infinity();

std::string typeName(DataType t) {
  return std::string(ir::dataTypeInfo(t).name);
}

bool isRetypable(DataType t) {
  return t == DataType::kFloat32;
}

/// `source`'s values as fp32, fp16 or bf16 (rounded to nearest, fp16 clamped to +-65504), counting the values
/// clamped and the nonzero ones flushed to zero.
Tensor convertFloats(const Tensor& source, DataType type, int64_t& clamped, int64_t& flushed) {
  Tensor out(type, source.shape());
  const int64_t n = source.elementCount();
  for (int64_t i = 0; i < n; ++i) {
    const auto x = static_cast<float>(elementAsDouble(source, i));
    if (type == DataType::kFloat16) {
      float v = x;
      if (std::isfinite(x) && std::fabs(x) > 65504.0f) {
        v = std::copysign(65504.0f, x);
        ++clamped;
      }
      const uint16_t h = ir::floatToFloat16(v);
      if (x != 0.0f && std::isfinite(x) && (h & 0x7fff) == 0) ++flushed;
      out.data<uint16_t>()[i] = h;
    } else if (type == DataType::kBFloat16) {
      const uint16_t b = ir::floatToBFloat16(x);
      if (x != 0.0f && std::isfinite(x) && (b & 0x7fff) == 0) ++flushed;
      out.data<uint16_t>()[i] = b;
    } else if (type == DataType::kFloat32) {
      out.data<float>()[i] = x;
    }
  }
  return out;
}

enum class Strength { kNone, kPrefer, kObey };

struct State {
  DataType type = DataType::kUndefined;
  TensorFormat format = TensorFormat::kLinear;
  bool operator==(const State& o) const { return type == o.type && format == o.format; }
  bool operator<(const State& o) const { return std::pair(type, format) < std::pair(o.type, o.format); }
  std::string describe() const {
    return typeName(type) +
           (format == TensorFormat::kLinear ? "" : ":" + std::string(ir::formatName(format)));
  }
};

struct Tactic {
  const KernelDef* kernel = nullptr;
  DataType precision = DataType::kUndefined;  ///< kUndefined for layers without retypable tensors.
  std::vector<DataType> inTypes;              ///< Per input slot (kUndefined where absent).
  std::vector<TensorFormat> inFormats;
  std::vector<DataType> outTypes;  ///< What the kernel writes, per output slot.
  std::vector<TensorFormat> outFormats;
  std::vector<DataType> castOutTo;  ///< Per output: the type an output-type constraint casts to.
  std::shared_ptr<const builder::QuantizedForm> quantized;  ///< An INT8 tactic runs the node in this form.
  double kernelMs = 0;
  double castMs = 0;
};

struct LayerWork {
  ir::Node* node = nullptr;
  DataType requested = DataType::kUndefined;
  std::string requestedBy;  ///< The name the constraint was set on (the layer's or an absorbed one).
  std::map<int, DataType> outputTypes;
  bool retypable = false;  ///< Has fp32 tensors the builder may run in another precision.
  bool folded = false;     ///< Computed while planning (shape arithmetic); runs as it is.
  std::vector<Tactic> tactics;
  std::string constraintNote;  ///< Why a constraint could not be honoured.
  int chosen = -1;
};

bool isQuantizedPrecision(DataType t) {
  return t == DataType::kInt8 || t == DataType::kFloat8E4M3FN;
}

// The op that changes a tensor's type from `from` to `to`: Cast between float types, QuantizeLinear into
// int8 or fp8 and DequantizeLinear out of them. `opType` is the step's op when it is not a type change.
std::string typeChangeOp(const std::string& opType, DataType from, DataType to) {
  if (opType != "Cast") return opType;
  if (isQuantizedPrecision(to)) return "QuantizeLinear";
  if (isQuantizedPrecision(from)) return "DequantizeLinear";
  return "Cast";
}

// Gives a QuantizeLinear / DequantizeLinear node its scale (fp32: the tensor's INT8 scale `int8Scale`,
// rescaled for fp8) and zero point (0 of the quantized type) as constants, and a DequantizeLinear to another
// type than the scale's its output_dtype. The node's input is set.
void addQuantizationParams(ir::Graph& g, ir::Node& node, float int8Scale, DataType output) {
  if (node.opType != "QuantizeLinear" && node.opType != "DequantizeLinear") return;
  if (node.opType == "DequantizeLinear" && output != DataType::kFloat32)
    node.attributes.set("output_dtype", static_cast<int64_t>(output));
  const DataType quantized = node.opType == "QuantizeLinear" ? output : node.inputs[0]->type;
  Tensor s(DataType::kFloat32, {});
  s.data<float>()[0] = builder::scaleForPrecision(int8Scale, quantized);
  Tensor zero(quantized, {});
  zero.data<uint8_t>()[0] = 0;  // +0 in int8 and in fp8
  const std::string base = node.name + (node.opType == "QuantizeLinear" ? "/quantize" : "/dequantize");
  size_t slot = 1;
  for (auto [suffix, value] : {std::pair<const char*, Tensor>{"/scale", s}, {"/zero_point", zero}}) {
    ir::Value* c = *g.addValue("");
    c->name = base + suffix;
    c->type = value.type();
    c->shape = ir::Shape::fromSizes({});
    c->constant = std::move(value);
    g.setInput(&node, slot++, c);
  }
}

// One conversion between two states of one tensor shape: the node that does it and its time.
struct Conversion {
  double ms = kUnavailable;  ///< Both steps.
  double castMs = 0;
  double reformatMs = 0;
  /// Type change, when the types differ: Cast, or QuantizeLinear / DequantizeLinear to and from int8 (at
  /// the tensor's INT8 scale).
  const KernelDef* castKernel = nullptr;
  const KernelDef* reformatKernel = nullptr;  ///< Format change (lowp.Reformat), when the formats differ.
};

class BuildSession {
 public:
  BuildSession(Logger& logger, const NetworkDefinition& network, const BuilderConfig& config)
      : logger_(logger),
        definition_(network),
        network_(network.impl()),
        config_(config),
        device_(config.threads()),
        registry_(kernels::KernelRegistry::global()) {
    parallelFor_ = [this](int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
      device_.pool().parallelFor(n, grain, fn);
    };
  }

  Result<std::shared_ptr<Engine>> build();

 private:
  void log(Severity s, const std::string& message) { logger_.log(s, message); }
  Status checkConfig() const;
  Status rewrite();
  Status resolveConstraints();
  Status observeFp32Run();
  // What input i, of `type`, holds while the network is built: the given values, else random normal values
  // (float) or zeros at its build shape.
  Tensor buildInput(size_t i, DataType type, std::mt19937& rng) const;
  // The context of a failed run at the build shapes: it names the inputs that ran on made-up values.
  std::string buildRunContext(const std::string& what) const;
  Status resolveScales();
  std::vector<DataType> allowedPrecisions() const;
  Status enumerateTactics(LayerWork& layer);
  Status addQuantizedTactics(LayerWork& layer, const std::vector<ir::Shape>& shapes, DataType precision);
  /// Whether the flags let layers run quantized (INT8, or FP8 on the GPU): the builder needs scales then.
  bool quantizing() const {
    return !network_.stronglyTyped &&
           (config_.getFlag(BuilderFlag::kINT8) ||
            (config_.getFlag(BuilderFlag::kFP8) && config_.device() == Device::kCuda));
  }
  /// The tactic's time: from the timing cache when it has one and `readCache` (then `fromCache` is set),
  /// else measured now and written to the cache.
  Result<double> timeTactic(const LayerWork& layer, const Tactic& tactic, bool readCache, bool& fromCache);
  /// Times every tactic of the layer, dropping those that fail; an error when none runs.
  Status timeLayer(LayerWork& layer);
  /// The backend whose kernels run `node`: the device built for, but the CPU for a layer that folds while
  /// planning (the runtime computes it on the host).
  kernels::Backend backendOf(const LayerWork& layer) const {
    return layer.folded ? kernels::Backend::kCpu : timer_->backend();
  }
  /// Whether `k` may run on this machine and build: CPU features, TF32 allowed, approximations allowed.
  bool usable(const KernelDef& k) const {
    if (!k.approximation.empty() && config_.getFlag(BuilderFlag::kExactActivations)) return false;
    if (k.backend == kernels::Backend::kCpu) return runtime::cpuSupports(k.feature);
    return config_.getFlag(BuilderFlag::kTF32) || !k.name.starts_with("tf32-");
  }
  const char* deviceName() const { return config_.device() == Device::kCuda ? "CUDA" : "CPU"; }
  Conversion conversion(const ir::Value& value, State from, State to);
  Status applyConstraint(LayerWork& layer);
  Result<builder::SearchSolution> search();
  Status materialize();
  std::string reasonFor(const LayerWork& layer) const;
  const Tensor& convertedConstant(const ir::Value& constant, DataType type);

  // The shape of a value at the build shapes.
  const ir::Shape& shapeOf(const ir::Value& v) const { return shapes_[static_cast<size_t>(v.id)]; }
  bool isActivation(const ir::Value* v) const {
    return v != nullptr && !v->constant && !foldedValue_[static_cast<size_t>(v->id)];
  }
  /// The INT8 scale of a value, 0 when it has none.
  float scaleOf(const ir::Value* v) const {
    return v != nullptr && static_cast<size_t>(v->id) < scales_.size() ? scales_[static_cast<size_t>(v->id)]
                                                                       : 0.0f;
  }
  /// The scale of a value quantized to `precision` (int8 or fp8), 0 when it has none.
  float scaleOf(const ir::Value* v, DataType precision) const {
    return builder::scaleForPrecision(scaleOf(v), precision);
  }
  State givenState(const ir::Value& v) const;
  State requiredState(const ir::Value& v) const;

  Logger& logger_;
  const NetworkDefinition& definition_;
  const NetworkDefinition::Impl& network_;
  const BuilderConfig& config_;
  runtime::CpuDevice device_;
  kernels::ParallelFor parallelFor_;
  const kernels::KernelRegistry& registry_;
  std::unique_ptr<builder::TacticTimer> timer_;
  builder::TimingCache cache_{""};
  int64_t cacheHits_ = 0;
  int64_t retimed_ = 0;  ///< Cached tactics measured again beside new timings (also counted in timed_).
  int64_t timed_ = 0;

  std::unique_ptr<ir::Graph> graph_;
  std::vector<LayerWork> layers_;
  std::vector<ir::Shape> shapes_;     // per value id, at the build shapes
  std::vector<Tensor> observed_;      // per value id: small or non-float values of the FP32 run
  std::vector<bool> foldedValue_;     // per value id: computed while planning
  std::vector<DataType> modelTypes_;  // per value id: the type before the builder's choice
  std::vector<float> observedAmax_;   // per value id: max |x| of fp32 tensors in the observation run
  std::vector<float> scales_;         // per value id: INT8 scale (amax / 127), 0 for none
  std::vector<std::vector<int64_t>> buildShapes_;
  std::map<std::tuple<std::vector<int64_t>, State, State>, Conversion> conversions_;
  std::map<std::pair<int64_t, DataType>, Tensor> convertedConstants_;    // by (value id, type)
  std::map<std::pair<int64_t, DataType>, std::string> conversionNotes_;  // what a conversion clamped

  Strength strength_ = Strength::kNone;
  std::unique_ptr<Engine::Impl> impl_;
};

Status BuildSession::checkConfig() const {
  if (network_.stronglyTyped) {
    for (BuilderFlag f : {BuilderFlag::kFP16, BuilderFlag::kBF16, BuilderFlag::kINT8, BuilderFlag::kFP8}) {
      if (config_.getFlag(f)) {
        return Status(StatusCode::kInvalidArgument,
                      "the network is strongly typed (its types come from its own Cast/Q/DQ nodes); the " +
                          std::string(builderFlagName(f)) + " flag does not apply to it");
      }
    }
    for (size_t i = 0; i < network_.constraints.size(); ++i) {
      const LayerConstraint& c = network_.constraints[i];
      if (c.precision != DataType::kUndefined || !c.outputTypes.empty()) {
        return Status(StatusCode::kInvalidArgument,
                      "layer '" + network_.nodes[i]->name +
                          "': precision constraints do not apply to a strongly typed network",
                      network_.nodes[i]->name);
      }
    }
  }
  if (config_.getFlag(BuilderFlag::kPreferPrecisionConstraints) &&
      config_.getFlag(BuilderFlag::kObeyPrecisionConstraints)) {
    return Status(StatusCode::kInvalidArgument,
                  "prefer-precision-constraints and obey-precision-constraints exclude each other");
  }
  const auto& ins = network_.graph->inputs();
  auto inputNamed = [&](const std::string& name) -> const ir::Value* {
    auto it = std::find_if(ins.begin(), ins.end(), [&](const ir::Value* v) { return v->name == name; });
    return it == ins.end() ? nullptr : *it;
  };
  for (const auto& entry : config_.shapes()) {
    if (inputNamed(entry.first) == nullptr) {
      return Status(StatusCode::kInvalidArgument,
                    "shape given for '" + entry.first + "', which is not a network input");
    }
  }
  for (const auto& [name, values] : config_.inputValues()) {
    const ir::Value* v = inputNamed(name);
    if (v == nullptr)
      return Status(StatusCode::kInvalidArgument,
                    "values given for '" + name + "', which is not a network input");
    if (values.type() != v->type) {
      return Status(StatusCode::kInvalidArgument, "values given for input '" + name + "' are " +
                                                      typeName(values.type()) + ", the input is " +
                                                      typeName(v->type));
    }
    auto shape = config_.shapes().find(name);
    if (shape != config_.shapes().end() && shape->second != values.shape()) {
      return Status(StatusCode::kInvalidArgument,
                    "values given for input '" + name + "' have shape " + ir::formatSizes(values.shape()) +
                        ", its shape was given as " + ir::formatSizes(shape->second));
    }
  }
  for (size_t i = 0; i < network_.constraints.size(); ++i) {
    const LayerConstraint& c = network_.constraints[i];
    auto check = [&](DataType t) -> Status {
      const bool gpu = config_.device() == Device::kCuda;
      if (t == DataType::kUndefined || t == DataType::kFloat32 || t == DataType::kFloat16 ||
          t == DataType::kBFloat16 || t == DataType::kInt8 || (gpu && t == DataType::kFloat8E4M3FN)) {
        return {};
      }
      return Status(StatusCode::kUnsupported,
                    "layer '" + network_.nodes[i]->name + "': precision " + typeName(t) + " is not one the " +
                        deviceName() + " builder can choose (fp32, fp16, bf16, int8" + (gpu ? ", fp8)" : ")"),
                    network_.nodes[i]->name);
    };
    LOWP_RETURN_IF_ERROR(check(c.precision));
    for (const auto& [index, type] : c.outputTypes) LOWP_RETURN_IF_ERROR(check(type));
  }
  return {};
}

Status BuildSession::rewrite() {
  graph_ = ir::cloneGraph(*network_.graph);
  passes::PipelineReport report;
  LOWP_RETURN_IF_ERROR(passes::runPipeline(*graph_, &report));
  for (const auto& [rule, applied] : report) {
    if (applied > 0) log(Severity::kInfo, "pass " + rule + ": applied " + std::to_string(applied) + " times");
  }
  // Build shapes: the given ones (or the given values'), else the model's with dynamic dimensions at 1.
  for (const ir::Value* v : graph_->inputs()) {
    auto given = config_.shapes().find(v->name);
    auto values = config_.inputValues().find(v->name);
    std::vector<int64_t> sizes;
    if (given != config_.shapes().end() || values != config_.inputValues().end()) {
      sizes = given != config_.shapes().end() ? given->second : values->second.shape();
      bool fits = v->shape.rankKnown() && v->shape.rank() == static_cast<int64_t>(sizes.size());
      for (size_t d = 0; fits && d < sizes.size(); ++d) {
        const ir::Dim& dim = v->shape[static_cast<int64_t>(d)];
        fits = sizes[d] >= 0 && (!dim.isKnown() || dim.size == sizes[d]);
      }
      if (!fits) {
        return Status(StatusCode::kInvalidArgument, "shape " + ir::formatSizes(sizes) + " given for input '" +
                                                        v->name + "' does not fit its shape " +
                                                        v->shape.toString());
      }
    } else {
      if (!v->shape.rankKnown()) {
        return Status(StatusCode::kInvalidArgument,
                      "input '" + v->name + "' has no known rank: give its shape to build");
      }
      for (const ir::Dim& d : v->shape.dims()) sizes.push_back(d.isKnown() ? d.size : 1);
      if (!v->shape.isStatic()) {
        log(Severity::kWarning, "input '" + v->name + "' has dynamic dimensions " + v->shape.toString() +
                                    " and no shape was given: building for " + ir::formatSizes(sizes));
      }
    }
    buildShapes_.push_back(std::move(sizes));
  }
  return {};
}

Status BuildSession::resolveConstraints() {
  std::map<std::string, size_t> layerByName;
  for (size_t i = 0; i < network_.nodes.size(); ++i) layerByName[network_.nodes[i]->name] = i;
  if (config_.getFlag(BuilderFlag::kObeyPrecisionConstraints)) {
    strength_ = Strength::kObey;
  } else if (config_.getFlag(BuilderFlag::kPreferPrecisionConstraints)) {
    strength_ = Strength::kPrefer;
  }
  for (ir::Node* node : graph_->nodes()) {
    LayerWork layer;
    layer.node = node;
    std::vector<std::string> names = {node->name};
    names.insert(names.end(), node->absorbedNames.begin(), node->absorbedNames.end());
    for (const std::string& name : names) {
      auto it = layerByName.find(name);
      if (it == layerByName.end()) continue;
      const LayerConstraint& c = network_.constraints[it->second];
      if (c.precision != DataType::kUndefined) {
        if (layer.requested != DataType::kUndefined && layer.requested != c.precision) {
          log(Severity::kWarning, "layer '" + node->name + "' absorbed '" + name + "', whose precision " +
                                      typeName(c.precision) + " differs from '" + layer.requestedBy + "' (" +
                                      typeName(layer.requested) + "); the first one counts");
        } else if (layer.requested == DataType::kUndefined) {
          layer.requested = c.precision;
          layer.requestedBy = name;
        }
      }
      // Output types belong to the node that produced the output; after fusion, the fused layer's
      // outputs are those of the last node it absorbed, so only constraints set on that name apply.
      if (name == node->name || name == names.back()) {
        for (const auto& [index, type] : c.outputTypes) layer.outputTypes.emplace(index, type);
      } else if (!c.outputTypes.empty()) {
        // The tensor it named is inside the fused layer now (an attention's softmax output, say).
        log(Severity::kWarning,
            "layer '" + node->name + "' absorbed '" + name +
                "', whose output type constraint names a tensor the fused layer no longer "
                "writes; it is ignored");
      }
    }
    layers_.push_back(std::move(layer));
  }
  return {};
}

Tensor BuildSession::buildInput(size_t i, DataType type, std::mt19937& rng) const {
  auto given = config_.inputValues().find(network_.graph->inputs()[i]->name);
  if (given != config_.inputValues().end() && given->second.type() == type) return given->second;
  Tensor t(type, buildShapes_[i]);
  if (type == DataType::kFloat32) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int64_t e = 0; e < t.elementCount(); ++e) t.data<float>()[e] = normal(rng);
  }
  return t;
}

std::string BuildSession::buildRunContext(const std::string& what) const {
  std::string madeUp;
  for (const ir::Value* v : network_.graph->inputs()) {
    if (config_.inputValues().count(v->name) == 0) madeUp += (madeUp.empty() ? "'" : ", '") + v->name + "'";
  }
  if (madeUp.empty()) return what;
  return what + " (" + madeUp +
         " held random values or zeros: give the values of inputs that decide shapes " +
         "or pick elements: BuilderConfig::setInputValues, or --loadInputs of lowp exec)";
}

Status BuildSession::observeFp32Run() {
  // On the GPU the observation runs there too: the host may lack fast kernels for a large batch. FP32 in
  // full, without TF32, so that INT8 ranges come from exact values.
  EngineOptions options;
  options.threads = config_.threads();
  options.device = config_.device();
  options.cudaOrdinal = config_.cudaOrdinal();
  options.allowTf32 = false;
  auto impl = runtime::prepareEngine(ir::cloneGraph(*graph_), options);
  if (!impl) return impl.status();
  Engine fp32(std::move(impl).value());
  auto context = fp32.createExecutionContext();
  const size_t valueCount = graph_->values().size();
  shapes_.assign(valueCount, ir::Shape::unknownRank());
  observed_.assign(valueCount, Tensor());
  observedAmax_.assign(valueCount, 0.0f);
  foldedValue_.assign(valueCount, false);
  for (const auto& v : graph_->values()) modelTypes_.push_back(v->type);
  for (const auto& v : graph_->values()) {
    if (v->constant) shapes_[static_cast<size_t>(v->id)] = ir::Shape::fromSizes(v->constant->shape());
  }
  std::mt19937 rng(7);
  std::vector<NamedTensor> inputs;
  for (size_t i = 0; i < graph_->inputs().size(); ++i) {
    const ir::Value* v = graph_->inputs()[i];
    inputs.push_back({v->name, buildInput(i, v->type, rng)});
  }
  // max |x| of every fp32 tensor: the INT8 / FP8 scales of last resort (resolveScales), so only then.
  const bool int8 = quantizing();
  auto recordAmax = [&](size_t id, const Tensor& t) {
    if (!int8 || t.type() != DataType::kFloat32) return;
    for (int64_t e = 0; e < t.elementCount(); ++e)
      observedAmax_[id] = std::max(observedAmax_[id], std::fabs(t.data<float>()[e]));
  };
  constexpr int64_t kKeptFloatBytes = 64 << 10;
  // Values the layers are timed on (tactic enumeration reads them too): all but large float tensors.
  auto keepObserved = [&](size_t id, const Tensor& t) {
    if (!ir::dataTypeInfo(t.type()).isFloat || t.byteSize() <= kKeptFloatBytes) observed_[id] = t.clone();
  };
  runtime::observeValues(
      *context,
      [&](const ir::Value& v, const Tensor& t) {
        auto id = static_cast<size_t>(v.id);
        shapes_[id] = ir::Shape::fromSizes(t.shape());
        if (t.data() == nullptr) return;  // a large float tensor the GPU kept: its shape is enough
        recordAmax(id, t);
        keepObserved(id, t);
      },
      int8 ? -1 : kKeptFloatBytes);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto id = static_cast<size_t>(graph_->inputs()[i]->id);
    recordAmax(id, inputs[i].tensor);
    // Given values are kept as the values the run computed are; made-up ones are not values to rely on.
    if (config_.inputValues().count(inputs[i].name) != 0) keepObserved(id, inputs[i].tensor);
  }
  std::vector<NamedTensor> outputs;
  Status ran = context->execute(inputs, outputs);
  if (!ran) return ran.withContext(buildRunContext("running the fp32 graph at the build shapes"));
  for (size_t i = 0; i < graph_->inputs().size(); ++i) {
    shapes_[static_cast<size_t>(graph_->inputs()[i]->id)] = ir::Shape::fromSizes(buildShapes_[i]);
  }
  // A node whose inputs are all constants or plan-time values was evaluated while planning.
  const std::vector<bool> folded = runtime::foldedWhilePlanning(*graph_);
  for (LayerWork& layer : layers_) {
    layer.folded = folded[static_cast<size_t>(layer.node->id)];
    if (!layer.folded) continue;
    for (const ir::Value* out : layer.node->outputs) {
      if (out != nullptr) foldedValue_[static_cast<size_t>(out->id)] = true;
    }
  }
  return {};
}

// INT8 scales (FP8 ones derive from them: scaleForPrecision), by precedence: the network's dynamic
// ranges, the calibration cache, calibration on the given batches (then written to the cache file), else --
// to measure speed only -- the observation run's ranges on random inputs, with a warning that accuracy means
// nothing then. Ops that move int8 values without arithmetic (MaxPool, Reshape, ...) give their output their
// input's scale.
Status BuildSession::resolveScales() {
  scales_.assign(graph_->values().size(), 0.0f);
  if (!quantizing()) return {};
  std::map<std::string, float> byName;  // scale by tensor name
  const std::string& cacheFile = config_.calibrationCacheFile();
  if (!cacheFile.empty() && std::filesystem::exists(cacheFile)) {
    LOWP_ASSIGN_OR_RETURN(quant::CalibrationCache cache, quant::readCalibrationCache(cacheFile));
    for (const auto& [name, scale] : cache.scales) byName[name] = scale;
    log(Severity::kInfo, "calibration cache " + cacheFile + ": " + std::to_string(cache.scales.size()) +
                             " scales (" + std::string(quant::calibrationAlgorithmName(cache.algorithm)) +
                             ")");
  } else if (config_.calibrationSource() != nullptr) {
    auto calibrated = calibrateNetwork(logger_, definition_, config_);
    if (!calibrated) return calibrated.status().withContext("calibrating");
    byName = std::move(calibrated).value();
  } else if (network_.dynamicRanges.empty()) {
    const auto& ins = graph_->inputs();
    const bool allGiven = std::all_of(ins.begin(), ins.end(), [&](const ir::Value* v) {
      return config_.inputValues().count(v->name) != 0;
    });
    log(Severity::kWarning,
        allGiven
            ? "int8 or fp8 allowed without calibration data, a calibration cache or dynamic ranges: their "
              "scales come from the largest values of one run on the inputs given to build on, not from a "
              "calibration over many inputs"
            : "int8 or fp8 allowed without calibration data, a calibration cache or dynamic ranges: their "
              "scales come from one run on random inputs. The engine's speed is real; its quantized "
              "accuracy is meaningless");
    for (const auto& v : graph_->values()) {
      const float a = observedAmax_[static_cast<size_t>(v->id)];
      if (a > 0.0f && std::isfinite(a)) byName[v->name] = quant::int8ScaleFromAmax(a);
    }
  }
  for (const auto& [name, amax] : network_.dynamicRanges) byName[name] = quant::int8ScaleFromAmax(amax);
  for (const auto& v : graph_->values()) {
    auto it = byName.find(v->name);
    if (it != byName.end() && !v->constant && modelTypes_[static_cast<size_t>(v->id)] == DataType::kFloat32 &&
        it->second > 0.0f && std::isfinite(it->second))
      scales_[static_cast<size_t>(v->id)] = it->second;
  }
  for (const ir::Node* node : graph_->nodes()) {
    if (builder::preservesScale(node->opType) && node->domain.empty() && !node->inputs.empty() &&
        scaleOf(node->inputs[0]) > 0.0f && node->outputs.size() == 1 && node->outputs[0] != nullptr)
      scales_[static_cast<size_t>(node->outputs[0]->id)] = scaleOf(node->inputs[0]);
  }
  return {};
}

std::vector<DataType> BuildSession::allowedPrecisions() const {
  std::vector<DataType> allowed = {DataType::kFloat32};
  if (network_.stronglyTyped || config_.optimizationLevel() <= 1) return allowed;
  if (config_.getFlag(BuilderFlag::kFP16)) allowed.push_back(DataType::kFloat16);
  if (config_.getFlag(BuilderFlag::kBF16)) allowed.push_back(DataType::kBFloat16);
  if (config_.getFlag(BuilderFlag::kINT8)) allowed.push_back(DataType::kInt8);
  if (config_.getFlag(BuilderFlag::kFP8) && config_.device() == Device::kCuda)
    allowed.push_back(DataType::kFloat8E4M3FN);
  return allowed;
}

Status BuildSession::enumerateTactics(LayerWork& layer) {
  const ir::Node& node = *layer.node;
  for (const ir::Value* v : node.inputs)
    layer.retypable |= v != nullptr && isRetypable(v->type) && !v->constant;
  for (const ir::Value* v : node.outputs) layer.retypable |= v != nullptr && isRetypable(v->type);
  if (network_.stronglyTyped || layer.folded) layer.retypable = false;

  std::vector<DataType> precisions = {DataType::kUndefined};
  if (layer.retypable) {
    precisions = allowedPrecisions();
    // An obeyed constraint is the permission itself; a preferred one needs its flag (shared/docs rule).
    const DataType r = layer.requested;
    if (r != DataType::kUndefined && strength_ == Strength::kObey &&
        std::find(precisions.begin(), precisions.end(), r) == precisions.end()) {
      precisions.push_back(r);
    }
  }
  std::vector<ir::Shape> shapes;
  for (const ir::Value* v : node.inputs) shapes.push_back(v ? shapeOf(*v) : ir::Shape::unknownRank());
  for (DataType precision : precisions) {
    if (precision == DataType::kFloat8E4M3FN) continue;  // only the quantized forms (below) compute in fp8
    auto retype = [&](const ir::Value* v) {
      if (v == nullptr) return DataType::kUndefined;
      if (precision == DataType::kInt8 && v->constant) return v->type;
      return precision != DataType::kUndefined && isRetypable(v->type) ? precision : v->type;
    };
    if (precision == DataType::kInt8) {
      // Only ops that move int8 values keep a tensor in int8 as it is (quantizedForm covers the rest).
      bool moves = builder::preservesScale(node.opType) && node.domain.empty();
      for (const ir::Value* v : node.inputs)
        moves &= v == nullptr || v->constant || !isRetypable(v->type) || scaleOf(v) > 0.0f;
      for (const ir::Value* v : node.outputs)
        moves &= v == nullptr || (scaleOf(v) > 0.0f && !v->isGraphOutput);
      if (!moves) continue;
    }
    std::vector<DataType> in;
    std::vector<DataType> out;
    for (const ir::Value* v : node.inputs) in.push_back(retype(v));
    for (const ir::Value* v : node.outputs) out.push_back(retype(v));
    auto found = registry_.find(node.domain, node.opType, backendOf(layer), in, out);
    std::erase_if(found, [&](const KernelDef* k) {
      return !usable(*k) || (k->supports != nullptr && !k->supports(node, shapes));
    });
    // The reference kernel is the fallback: timed only where nothing faster applies (or at level 4+).
    const bool hasFast =
        std::any_of(found.begin(), found.end(), [](const KernelDef* k) { return !k->reference; });
    if (hasFast && config_.optimizationLevel() < 4)
      std::erase_if(found, [](const KernelDef* k) { return k->reference; });
    // The schema is the arbiter of types: ops whose output type an attribute fixes (Cast, ...) keep it.
    std::vector<ir::InferInput> infer;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      ir::InferInput info;
      if (node.inputs[i] != nullptr) {
        const Tensor* value = node.inputs[i]->constant ? &*node.inputs[i]->constant : nullptr;
        if (value == nullptr && !observed_[static_cast<size_t>(node.inputs[i]->id)].empty())
          value = &observed_[static_cast<size_t>(node.inputs[i]->id)];
        const bool valueKeepsType = value != nullptr && in[i] == value->type();
        info = {true, in[i], shapes[i], valueKeepsType ? value : nullptr};
      }
      infer.push_back(std::move(info));
    }
    auto inferred = ir::inferNode(node, std::move(infer));
    if (!inferred) continue;
    bool typesHold = true;
    for (size_t i = 0; i < out.size(); ++i)
      typesHold &= out[i] == DataType::kUndefined || (*inferred)[i].first == out[i];
    if (!typesHold) continue;
    for (const KernelDef* k : found) {
      Tactic t;
      t.kernel = k;
      t.precision = precision;
      t.inTypes = in;
      t.outTypes = out;
      for (size_t i = 0; i < in.size(); ++i) t.inFormats.push_back(k->inputFormat(i));
      for (size_t i = 0; i < out.size(); ++i) t.outFormats.push_back(k->outputFormat(i));
      t.castOutTo.assign(out.size(), DataType::kUndefined);
      layer.tactics.push_back(std::move(t));
    }
  }
  for (DataType q : {DataType::kInt8, DataType::kFloat8E4M3FN}) {
    if (std::find(precisions.begin(), precisions.end(), q) != precisions.end())
      LOWP_RETURN_IF_ERROR(addQuantizedTactics(layer, shapes, q));
  }
  if (layer.tactics.empty()) {
    std::vector<DataType> in;
    for (const ir::Value* v : node.inputs) in.push_back(v ? v->type : DataType::kUndefined);
    if (!registry_.hasOp(node.domain, node.opType, backendOf(layer))) {
      return Status(StatusCode::kUnsupported,
                    node.describe() + ": no " + deviceName() + " kernel implements " + node.opType,
                    node.name);
    }
    std::string types;
    for (DataType t : in)
      types += (types.empty() ? "" : ", ") + (t == DataType::kUndefined ? "-" : typeName(t));
    return Status(StatusCode::kUnsupported,
                  node.describe() + ": no " + deviceName() + " kernel for input types (" + types + ")",
                  node.name);
  }
  return {};
}

// The tactics of a layer with a form quantized to `precision` (quantized_layers.h), for each output the
// flags allow: fp32, fp16, bf16, and `precision` itself where the output has a scale; a residual comes as
// the output's float type or int8.
Status BuildSession::addQuantizedTactics(LayerWork& layer, const std::vector<ir::Shape>& shapes,
                                         DataType precision) {
  const ir::Node& node = *layer.node;
  if (!builder::hasQuantizedForm(node, precision) || scaleOf(node.inputs[0]) <= 0.0f) return {};
  LOWP_ASSIGN_OR_RETURN(builder::QuantizedForm base,
                        builder::quantizedForm(node, scaleOf(node.inputs[0], precision),
                                               config_.perChannelWeightScales(), precision));
  if (base.biasClamped > 0) {
    log(Severity::kWarning, "layer '" + node.name + "': " + std::to_string(base.biasClamped) +
                                " bias values beyond int32 at their INT8 scale were clamped");
  }
  const ir::Value* y = node.outputs[0];
  const ir::Value* z = node.opType == "FusedConv" && node.inputs.size() > 3 ? node.inputs[3] : nullptr;
  std::vector<DataType> outputs = {DataType::kFloat32};
  const std::vector<DataType> allowed = allowedPrecisions();
  for (DataType t : {DataType::kFloat16, DataType::kBFloat16}) {
    if (std::find(allowed.begin(), allowed.end(), t) != allowed.end()) outputs.push_back(t);
  }
  // A network output is delivered in float: quantizing it first would only add error.
  if (scaleOf(y) > 0.0f && !y->isGraphOutput) outputs.push_back(precision);
  for (DataType out : outputs) {
    std::vector<DataType> residuals;
    if (z == nullptr) residuals.push_back(DataType::kUndefined);
    if (z != nullptr && out != DataType::kInt8) residuals.push_back(out);
    if (z != nullptr && scaleOf(z) > 0.0f) residuals.push_back(DataType::kInt8);
    for (DataType residual : residuals) {
      auto form = std::make_shared<builder::QuantizedForm>(base);
      builder::setQuantizedOutput(*form, out, scaleOf(y, precision), residual, scaleOf(z));
      ir::Node variant = node;
      variant.opType = form->opType;
      variant.domain = std::string(ir::ops::kLowpDomain);
      variant.attributes = form->attributes;
      std::vector<DataType> in;
      std::vector<ir::InferInput> infer;
      for (size_t i = 0; i < node.inputs.size(); ++i) {
        DataType t = DataType::kUndefined;
        if (node.inputs[i] != nullptr) t = i == 0 ? precision : (i == 3 ? residual : node.inputs[i]->type);
        if (auto c = form->constants.find(i); c != form->constants.end()) t = c->second.type();
        in.push_back(t);
        infer.push_back(node.inputs[i] != nullptr ? ir::InferInput{true, t, shapes[i], nullptr}
                                                  : ir::InferInput{});
      }
      auto inferred = ir::inferNode(variant, std::move(infer));
      if (!inferred || (*inferred)[0].first != out) continue;
      auto found = registry_.find(variant.domain, variant.opType, backendOf(layer), in, {out});
      std::erase_if(found, [&](const KernelDef* k) {
        return !usable(*k) || (k->supports != nullptr && !k->supports(variant, shapes));
      });
      const bool hasFast =
          std::any_of(found.begin(), found.end(), [](const KernelDef* k) { return !k->reference; });
      // The reference kernel stands in for fp32 outputs only: another output type that no fast kernel of
      // this backend writes is not an option worth timing.
      if (!hasFast && out != DataType::kFloat32) continue;
      if (hasFast && config_.optimizationLevel() < 4)
        std::erase_if(found, [](const KernelDef* k) { return k->reference; });
      for (const KernelDef* k : found) {
        Tactic t;
        t.kernel = k;
        t.precision = precision;
        t.inTypes = in;
        t.outTypes = {out};
        for (size_t i = 0; i < in.size(); ++i) t.inFormats.push_back(k->inputFormat(i));
        t.outFormats = {k->outputFormat(0)};
        t.castOutTo = {DataType::kUndefined};
        t.quantized = form;
        layer.tactics.push_back(std::move(t));
      }
    }
  }
  return {};
}

Result<double> BuildSession::timeTactic(const LayerWork& layer, const Tactic& tactic, bool readCache,
                                        bool& fromCache) {
  fromCache = false;
  const ir::Node& node = *layer.node;
  // A scratch copy of the node whose values carry the tactic's types and the build shapes.
  ir::Graph scratch;
  const builder::QuantizedForm* form = tactic.quantized.get();
  ir::Node* copy = scratch.addNode(form != nullptr ? form->opType : node.opType, node.name);
  copy->domain = form != nullptr ? std::string(ir::ops::kLowpDomain) : node.domain;
  copy->opsetVersion = node.opsetVersion;
  copy->attributes = form != nullptr ? form->attributes : node.attributes;
  std::vector<const Tensor*> given(node.inputs.size(), nullptr);
  std::vector<Tensor> convertedGiven(node.inputs.size());
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const ir::Value* v = node.inputs[i];
    if (v == nullptr) {
      scratch.setInput(copy, i, nullptr);
      continue;
    }
    ir::Value* c = *scratch.addValue("");
    c->name = v->name;
    c->type = tactic.inTypes[i];
    c->format = tactic.inFormats[i];
    c->shape = shapeOf(*v);
    if (form != nullptr && form->constants.count(i) != 0) {
      c->constant = form->constants.at(i);
    } else if (v->constant) {
      c->constant = v->constant;  // converted below, once the timing cache has been asked
    } else if (const Tensor& seen = observed_[static_cast<size_t>(v->id)]; !seen.empty()) {
      // A value kept from the fp32 run (a Reshape target, a scale computed from shapes) is what the layer
      // reads: in the tactic's type, as the conversion before the layer would give it.
      if (seen.type() == c->type) {
        given[i] = &seen;
      } else if (isRetypable(seen.type()) &&
                 (c->type == DataType::kFloat16 || c->type == DataType::kBFloat16)) {
        int64_t clamped = 0;
        int64_t flushed = 0;
        convertedGiven[i] = convertFloats(seen, c->type, clamped, flushed);
        given[i] = &convertedGiven[i];
      }
    }
    scratch.setInput(copy, i, c);
  }
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const ir::Value* v = node.outputs[i];
    ir::Value* c = nullptr;
    if (v != nullptr) {
      c = *scratch.addValue("");
      c->name = v->name;
      c->type = tactic.outTypes[i];
      c->format = tactic.outFormats[i];
      c->shape = shapeOf(*v);
    }
    copy->outputs.push_back(c);
  }
  const std::string key = builder::timingKey(*copy, *tactic.kernel);
  if (auto cached = readCache ? cache_.find(key) : std::nullopt) {
    ++cacheHits_;
    fromCache = true;
    return *cached;
  }
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    ir::Value* c = copy->inputs[i];
    if (c != nullptr && c->constant && c->constant->type() != c->type) {
      c->constant = convertedConstant(*node.inputs[i], c->type);
    }
  }
  builder::TimingOptions options;
  const int level = config_.optimizationLevel();
  if (level <= 2) {
    options.warmupRuns = 1;
    options.timedRuns = 1;
  } else if (level >= 4) {
    options.timedRuns = 11;
  }
  // Short kernels vary most from run to run on a shared machine: from the default level on, each tactic
  // gets at least 2 ms of timed runs (the GPU's grouped runs already do: its timer turns this off).
  if (level >= 3) options.minTimedMs = 2.0;
  double best = kUnavailable;
  for (const Tactic& other : layer.tactics) {
    if (&other != &tactic && other.kernelMs > 0) best = std::min(best, other.kernelMs);
  }
  options.abandonAboveMs = std::isfinite(best) ? 10 * best + 1.0 : 1e30;
  auto ms = timer_->time(*copy, *tactic.kernel, options, given);
  if (!ms) return ms.status();
  ++timed_;
  cache_.insert(key, *ms);
  return *ms;
}

Status BuildSession::timeLayer(LayerWork& layer) {
  const std::string& name = layer.node->name;
  std::vector<Tactic> working;
  std::vector<bool> cached;
  Status lastError;
  for (Tactic& t : layer.tactics) {
    if (config_.optimizationLevel() <= 1) {
      t.kernelMs = t.kernel->reference ? 1 : 0;
      working.push_back(t);
      cached.push_back(false);
      continue;
    }
    bool fromCache = false;
    auto ms = timeTactic(layer, t, true, fromCache);
    if (!ms) {
      log(Severity::kVerbose, "layer '" + name + "': tactic " + std::string(t.kernel->name) +
                                  " failed and is skipped: " + ms.status().message());
      lastError = ms.status();
      continue;
    }
    t.kernelMs = *ms;
    log(Severity::kVerbose, "layer '" + name + "': tactic " + std::string(t.kernel->name) +
                                (fromCache ? " took " : " timed ") + std::to_string(*ms) + " ms" +
                                (fromCache ? " (timing cache)" : ""));
    working.push_back(t);
    cached.push_back(fromCache);
  }
  if (working.empty()) return lastError.withContext("no tactic of layer '" + name + "' runs");
  // A cached time was measured by another build, perhaps while the machine ran faster or slower than it
  // does now (a benchmark's fp32 engine fills the cache, its bf16 engine then times only bf16 tactics).
  // Set against times measured now, it could decide the layer by the machine's state rather than by the
  // kernels: so the fastest cached tactic is measured again beside the new ones, and the cache keeps that.
  const bool anyNew = std::find(cached.begin(), cached.end(), false) != cached.end();
  int fastestCached = -1;
  for (size_t i = 0; i < working.size(); ++i) {
    if (cached[i] && (fastestCached < 0 || working[i].kernelMs < working[fastestCached].kernelMs))
      fastestCached = static_cast<int>(i);
  }
  if (anyNew && fastestCached >= 0) {
    Tactic& t = working[static_cast<size_t>(fastestCached)];
    bool fromCache = false;
    auto ms = timeTactic(layer, t, false, fromCache);
    if (ms) {
      log(Severity::kVerbose, "layer '" + name + "': tactic " + std::string(t.kernel->name) +
                                  " timed again " + std::to_string(*ms) + " ms (the timing cache had " +
                                  std::to_string(t.kernelMs) + " ms)");
      t.kernelMs = *ms;
      ++retimed_;
    }
  }
  layer.tactics = std::move(working);
  return {};
}

// Times converting `value` (at its build shape) from one state to another: a Cast for the type, a
// lowp.Reformat for the format, or both. Unavailable when no kernel does it.
Conversion BuildSession::conversion(const ir::Value& value, State from, State to) {
  const std::vector<int64_t> sizes =
      shapeOf(value).isStatic() ? shapeOf(value).sizes() : std::vector<int64_t>{};
  auto key = std::make_tuple(sizes, from, to);
  auto it = conversions_.find(key);
  if (it != conversions_.end()) return it->second;
  Conversion result;
  result.ms = 0;
  auto timeStep = [&](const std::string& opType, const std::string& domain, State a, State b,
                      const KernelDef*& chosen) -> bool {
    ir::Graph scratch;
    ir::Node* node = scratch.addNode(typeChangeOp(opType, a.type, b.type), value.name + "/convert");
    node->domain = domain;
    node->opsetVersion = onnx::kMaxOpset;
    if (node->opType == "Cast") node->attributes.set("to", static_cast<int64_t>(b.type));
    ir::Value* in = *scratch.addValue("");
    in->type = a.type;
    in->format = a.format;
    in->shape = ir::Shape::fromSizes(sizes);
    scratch.setInput(node, 0, in);
    addQuantizationParams(scratch, *node, 1.0f, b.type);
    std::vector<DataType> inTypes;
    std::vector<ir::Shape> inShapes;
    for (const ir::Value* v : node->inputs) {
      inTypes.push_back(v->type);
      inShapes.push_back(v->shape);
    }
    ir::Value* out = *scratch.addValue("");
    out->type = b.type;
    out->format = b.format;
    out->shape = in->shape;
    node->outputs.push_back(out);
    auto found = registry_.find(domain, node->opType, timer_->backend(), inTypes, {b.type});
    std::erase_if(found, [&](const KernelDef* k) {
      return !usable(*k) || k->inputFormat(0) != a.format || k->outputFormat(0) != b.format ||
             (k->supports != nullptr && !k->supports(*node, inShapes));
    });
    // As for layers, the reference kernel is timed only where nothing faster applies (or at level 4+).
    if (config_.optimizationLevel() < 4 &&
        std::any_of(found.begin(), found.end(), [](const KernelDef* k) { return !k->reference; }))
      std::erase_if(found, [](const KernelDef* k) { return k->reference; });
    double best = kUnavailable;
    for (const KernelDef* k : found) {
      const std::string cacheKey = builder::timingKey(*node, *k);
      double ms = 0;
      if (auto cached = cache_.find(cacheKey)) {
        ms = *cached;
        ++cacheHits_;
      } else if (config_.optimizationLevel() <= 1) {
        ms = k->reference ? 1 : 0;
      } else {
        auto timed = timer_->time(*node, *k, {}, {});
        if (!timed) continue;
        ms = *timed;
        ++timed_;
        cache_.insert(cacheKey, ms);
      }
      if (ms < best) {
        best = ms;
        chosen = k;
      }
    }
    if (!std::isfinite(best)) return false;
    result.ms += best;
    (opType == "Cast" ? result.castMs : result.reformatMs) = best;
    return true;
  };
  // A type and a format change: the cast runs in the source format, then the reformat (or the other way
  // round when that is the only kernel pair that exists).
  bool ok = shapeOf(value).isStatic();
  if (ok && from.type != to.type && from.format != to.format) {
    Conversion castFirst = result;
    ok = timeStep("Cast", "", from, State{to.type, from.format}, result.castKernel) &&
         timeStep("Reformat", "lowp", State{to.type, from.format}, to, result.reformatKernel);
    if (!ok) {
      result = castFirst;
      ok = timeStep("Reformat", "lowp", from, State{from.type, to.format}, result.reformatKernel) &&
           timeStep("Cast", "", State{from.type, to.format}, to, result.castKernel);
    }
  } else if (ok && from.type != to.type) {
    ok = timeStep("Cast", "", from, to, result.castKernel);
  } else if (ok && from.format != to.format) {
    ok = timeStep("Reformat", "lowp", from, to, result.reformatKernel);
  }
  if (!ok) result = Conversion{};
  conversions_[key] = result;
  return result;
}

// Network inputs and outputs keep the model's types unless the user set others; materialize() retypes values,
// so these read the types the model gave.
State BuildSession::givenState(const ir::Value& v) const {
  auto it = network_.inputTypes.find(v.name);
  return {it != network_.inputTypes.end() ? it->second : modelTypes_[static_cast<size_t>(v.id)],
          TensorFormat::kLinear};
}

State BuildSession::requiredState(const ir::Value& v) const {
  auto it = network_.outputTypes.find(v.name);
  return {it != network_.outputTypes.end() ? it->second : modelTypes_[static_cast<size_t>(v.id)],
          TensorFormat::kLinear};
}

// Applies the layer's precision and output-type constraints to its tactics, by strength.
Status BuildSession::applyConstraint(LayerWork& layer) {
  const ir::Node& node = *layer.node;
  if (layer.requested != DataType::kUndefined && !layer.retypable) {
    if (strength_ != Strength::kNone && !layer.folded) {
      log(Severity::kInfo, "layer '" + node.name + "' has no fp32 tensors to run in " +
                               typeName(layer.requested) + "; its precision constraint does not apply");
    }
  } else if (layer.requested != DataType::kUndefined && strength_ != Strength::kNone) {
    std::vector<Tactic> kept;
    for (const Tactic& t : layer.tactics) {
      if (t.precision == layer.requested) kept.push_back(t);
    }
    if (kept.empty()) {
      const std::vector<DataType> allowed = allowedPrecisions();
      const bool flagOff = std::find(allowed.begin(), allowed.end(), layer.requested) == allowed.end();
      std::string missing = strength_ == Strength::kPrefer && flagOff
                                ? "the " + typeName(layer.requested) + " flag is not set"
                                : "no " + typeName(layer.requested) + " implementation of " + node.opType +
                                      " applies to it on this " + deviceName();
      if (strength_ == Strength::kObey) {
        return Status(StatusCode::kUnsupported,
                      "layer '" + node.name + "' (" + node.opType + "): precision " +
                          typeName(layer.requested) + " is obeyed, but " + missing,
                      node.name);
      }
      layer.constraintNote = "requested " + typeName(layer.requested) + " unmet: " + missing;
      log(Severity::kWarning, "layer '" + node.name + "': precision " + typeName(layer.requested) +
                                  " preferred, but " + missing + "; using the fastest implementation");
    } else {
      layer.tactics = std::move(kept);
    }
  }
  if (layer.outputTypes.empty() || strength_ == Strength::kNone) return {};
  for (const auto& [index, type] : layer.outputTypes) {
    const ir::Value* out =
        static_cast<size_t>(index) < node.outputs.size() ? node.outputs[static_cast<size_t>(index)] : nullptr;
    std::vector<Tactic> kept;
    for (Tactic t : layer.tactics) {
      if (out == nullptr) break;
      const State produced{t.outTypes[static_cast<size_t>(index)], t.outFormats[static_cast<size_t>(index)]};
      if (produced.type != type) {
        Conversion c = conversion(*out, produced, State{type, produced.format});
        if (!std::isfinite(c.ms)) continue;
        t.castOutTo[static_cast<size_t>(index)] = type;
        t.castMs += c.ms;
      }
      kept.push_back(std::move(t));
    }
    if (kept.empty()) {
      const std::string missing =
          "no conversion of output " + std::to_string(index) + " to " + typeName(type);
      if (strength_ == Strength::kObey) {
        return Status(StatusCode::kUnsupported,
                      "layer '" + node.name + "' (" + node.opType + "): output type " + typeName(type) +
                          " is obeyed, but " + missing,
                      node.name);
      }
      log(Severity::kWarning, "layer '" + node.name + "': " + missing + "; output type constraint dropped");
      continue;
    }
    layer.tactics = std::move(kept);
  }
  return {};
}

// The constant converted to `type` once, whatever number of tactics and layers read it. Converting to fp16
// clamps what is beyond its range and flushes what is below its smallest subnormal; the builder says how
// many values of which layer that touched.
const Tensor& BuildSession::convertedConstant(const ir::Value& constant, DataType type) {
  auto key = std::make_pair(constant.id, type);
  auto it = convertedConstants_.find(key);
  if (it != convertedConstants_.end()) return it->second;
  const Tensor& source = *constant.constant;
  int64_t clamped = 0;
  int64_t flushed = 0;
  const int64_t n = source.elementCount();
  Tensor out = convertFloats(source, type, clamped, flushed);
  std::string note;
  if (clamped > 0) note = std::to_string(clamped) + " beyond its range clamped to +-65504";
  if (flushed > 0) {
    note +=
        (note.empty() ? "" : ", ") + std::to_string(flushed) + " below its smallest subnormal flushed to 0";
  }
  if (!note.empty()) {
    note = "weights '" + constant.name + "' (" + std::to_string(n) + " values) converted to " +
           typeName(type) + ": " + note;
  }
  conversionNotes_[key] = note;
  return convertedConstants_.emplace(key, std::move(out)).first->second;
}

Result<builder::SearchSolution> BuildSession::search() {
  builder::SearchProblem problem;
  std::map<int64_t, int> tensorOf;           // value id -> search tensor
  std::vector<std::vector<State>> statesOf;  // per search tensor
  auto tensorFor = [&](const ir::Value& v) {
    auto [it, added] = tensorOf.emplace(v.id, static_cast<int>(problem.tensors.size()));
    if (added) {
      problem.tensors.push_back({});
      problem.tensors.back().name = v.name;
      statesOf.emplace_back();
    }
    return it->second;
  };
  auto stateIndex = [&](int tensor, State s) {
    auto& states = statesOf[static_cast<size_t>(tensor)];
    auto it = std::find(states.begin(), states.end(), s);
    if (it != states.end()) return static_cast<int>(it - states.begin());
    states.push_back(s);
    return static_cast<int>(states.size() - 1);
  };
  for (const ir::Value* v : graph_->inputs()) {
    const int t = tensorFor(*v);
    problem.tensors[static_cast<size_t>(t)].givenState = stateIndex(t, givenState(*v));
  }
  std::vector<int> layerIndexOf;  // search layer -> layers_ index
  for (size_t li = 0; li < layers_.size(); ++li) {
    const LayerWork& layer = layers_[li];
    if (layer.folded) continue;
    builder::SearchLayer sl;
    sl.name = layer.node->name;
    std::vector<size_t> inSlots;
    std::vector<size_t> outSlots;
    for (size_t i = 0; i < layer.node->inputs.size(); ++i) {
      const ir::Value* v = layer.node->inputs[i];
      if (!isActivation(v)) continue;
      // A tensor read twice by one layer (x * x) is one search input.
      const int t = tensorFor(*v);
      if (std::find(sl.inputs.begin(), sl.inputs.end(), t) != sl.inputs.end()) continue;
      sl.inputs.push_back(t);
      inSlots.push_back(i);
    }
    for (size_t i = 0; i < layer.node->outputs.size(); ++i) {
      const ir::Value* v = layer.node->outputs[i];
      if (v == nullptr) continue;
      sl.outputs.push_back(tensorFor(*v));
      outSlots.push_back(i);
    }
    for (const Tactic& t : layer.tactics) {
      builder::SearchTactic st;
      st.name = std::string(t.kernel->name);
      st.timeMs = t.kernelMs + t.castMs;
      st.group = static_cast<int>(t.precision);
      // A hint (no strength) breaks near-ties towards the requested precision.
      if (strength_ == Strength::kNone && layer.requested != DataType::kUndefined &&
          t.precision == layer.requested)
        st.timeMs *= 0.97;
      for (size_t k = 0; k < inSlots.size(); ++k)
        st.inputStates.push_back(
            stateIndex(sl.inputs[k], State{t.inTypes[inSlots[k]], t.inFormats[inSlots[k]]}));
      for (size_t k = 0; k < outSlots.size(); ++k) {
        const size_t slot = outSlots[k];
        const DataType type =
            t.castOutTo[slot] != DataType::kUndefined ? t.castOutTo[slot] : t.outTypes[slot];
        st.outputStates.push_back(stateIndex(sl.outputs[k], State{type, t.outFormats[slot]}));
      }
      sl.tactics.push_back(std::move(st));
    }
    problem.layers.push_back(std::move(sl));
    layerIndexOf.push_back(static_cast<int>(li));
  }
  for (const ir::Value* v : graph_->outputs()) {
    if (!isActivation(v)) continue;
    const int t = tensorFor(*v);
    problem.tensors[static_cast<size_t>(t)].requiredState = stateIndex(t, requiredState(*v));
  }
  // Conversion times between every pair of states a tensor may take.
  for (const auto& [valueId, t] : tensorOf) {
    const ir::Value& v = *graph_->values()[static_cast<size_t>(valueId)];
    const auto& states = statesOf[static_cast<size_t>(t)];
    auto& tensor = problem.tensors[static_cast<size_t>(t)];
    tensor.stateCount = static_cast<int>(states.size());
    tensor.reformatMs.assign(states.size(), std::vector<double>(states.size(), 0.0));
    for (size_t a = 0; a < states.size(); ++a) {
      for (size_t b = 0; b < states.size(); ++b) {
        if (a != b) tensor.reformatMs[a][b] = conversion(v, states[a], states[b]).ms;
      }
    }
  }
  builder::SearchSolution solution = builder::searchGlobal(problem);
  if (!std::isfinite(solution.totalMs())) {
    return Status(StatusCode::kUnsupported,
                  "no choice of kernels connects every layer: some tensor needs a conversion no kernel does");
  }
  const builder::SearchSolution greedy = builder::searchGreedy(problem);
  log(Severity::kInfo, "search: " + std::to_string(solution.kernelMs) + " ms kernels + " +
                           std::to_string(solution.reformatMs) +
                           " ms conversions (per-layer fastest choice: " + std::to_string(greedy.totalMs()) +
                           " ms)");
  for (size_t k = 0; k < layerIndexOf.size(); ++k) {
    layers_[static_cast<size_t>(layerIndexOf[k])].chosen = solution.tacticOf[k];
  }
  for (LayerWork& layer : layers_) {
    if (layer.folded) layer.chosen = 0;
  }
  for (size_t k = 0; k < problem.layers.size(); ++k) {
    const auto& st = problem.layers[k].tactics[static_cast<size_t>(solution.tacticOf[k])];
    log(Severity::kVerbose,
        "chose " + problem.layers[k].name + ": " + st.name + " " + std::to_string(st.timeMs));
  }
  return solution;
}

std::string BuildSession::reasonFor(const LayerWork& layer) const {
  if (layer.folded) return "computed while planning (shapes and constants)";
  const Tactic& chosen = layer.tactics[static_cast<size_t>(layer.chosen)];
  if (!layer.constraintNote.empty()) return layer.constraintNote;
  if (layer.requested != DataType::kUndefined && layer.retypable && strength_ != Strength::kNone)
    return "constraint (" + std::string(strength_ == Strength::kObey ? "obey" : "prefer") + ")";
  if (!layer.retypable) return layer.tactics.size() > 1 ? "fastest" : "only implementation";
  // Per other allowed precision: the best it offered, or that it had no implementation.
  std::string why;
  for (DataType p : allowedPrecisions()) {
    if (p == chosen.precision) continue;
    double best = kUnavailable;
    for (const Tactic& t : layer.tactics) {
      if (t.precision == p) best = std::min(best, t.kernelMs + t.castMs);
    }
    std::ostringstream note;
    note.precision(3);
    if (std::isfinite(best)) {
      note << typeName(p) << " " << best << " ms";
    } else if (isQuantizedPrecision(p) && builder::hasQuantizedForm(*layer.node, p) &&
               scaleOf(layer.node->inputs[0]) <= 0.0f) {
      note << "no " << typeName(p) << " scale for its input";
    } else {
      note << "no " << typeName(p) << " implementation";
    }
    why += (why.empty() ? "" : ", ") + note.str();
  }
  std::ostringstream out;
  out.precision(3);
  out << "fastest with conversions";
  if (!why.empty())
    out << " (" << typeName(chosen.precision) << " " << chosen.kernelMs + chosen.castMs << " ms; " << why
        << ")";
  return out.str();
}

Status BuildSession::materialize() {
  ir::Graph& g = *graph_;
  const size_t originalValues = g.values().size();
  std::map<const ir::Node*, const KernelDef*> kernelOf;
  std::map<const ir::Node*, std::pair<double, std::string>> conversionInfo;  // time, reason
  std::map<std::pair<int64_t, State>, ir::Value*> convertedValues;
  std::vector<State> produced(originalValues);
  for (const auto& v : g.values()) produced[static_cast<size_t>(v->id)] = {v->type, v->format};
  for (const ir::Value* v : g.inputs()) produced[static_cast<size_t>(v->id)] = givenState(*v);

  // Values made here (conversions, converted constants) keep their build shape for the report, since the
  // final inference gives them the graph's (possibly symbolic) one.
  std::map<const ir::Value*, ir::Shape> madeShapes;
  auto buildShape = [&](const ir::Value* v) -> ir::Shape {
    if (static_cast<size_t>(v->id) < originalValues) return v->constant ? v->shape : shapeOf(*v);
    auto it = madeShapes.find(v);
    return it != madeShapes.end() ? it->second : v->shape;
  };
  auto newValue = [&](const std::string& name, State state, const ir::Shape& shape) {
    ir::Value* v = *g.addValue("");
    v->name = name;
    v->type = state.type;
    v->format = state.format;
    v->shape = shape;
    madeShapes[v] = shape;
    return v;
  };
  // One conversion node (Cast or lowp.Reformat) from `from` to a new value in state `to`.
  auto addStep = [&](ir::Value* from, State to, const KernelDef* kernel, double ms, const std::string& why,
                     float scale) -> ir::Value* {
    const bool reformat = kernel->opType == "Reformat";
    ir::Node* node = g.addNode(std::string(kernel->opType),
                               from->name + (reformat ? "/reformat_to_" : "/cast_to_") +
                                   (reformat ? std::string(ir::formatName(to.format)) : typeName(to.type)));
    node->domain = std::string(kernel->domain);
    node->opsetVersion = onnx::kMaxOpset;
    if (kernel->opType == "Cast") node->attributes.set("to", static_cast<int64_t>(to.type));
    g.setInput(node, 0, from);
    addQuantizationParams(g, *node, scale, to.type);
    ir::Value* out = newValue(from->name + "/" + to.describe(), to, buildShape(from));
    (void)g.addOutput(node, out);
    kernelOf[node] = kernel;
    conversionInfo[node] = {ms, why};
    return out;
  };
  // `v` (an original value, produced in state `have`) converted to `want`, shared by all who want it.
  auto convert = [&](ir::Value* v, const ir::Value& original, State have, State want,
                     const std::string& why) -> Result<ir::Value*> {
    auto key = std::make_pair(original.id, want);
    auto it = convertedValues.find(key);
    if (it != convertedValues.end()) return it->second;
    const Conversion c = conversion(original, have, want);
    if (!std::isfinite(c.ms)) {
      return Status(StatusCode::kInternal, "no conversion of '" + original.name + "' from " +
                                               have.describe() + " to " + want.describe());
    }
    ir::Value* current = v;
    State state = have;
    const bool castFirst = c.castKernel != nullptr && c.castKernel->inputFormat(0) == have.format;
    for (int step = 0; step < 2; ++step) {
      const bool doCast = (step == 0) == castFirst;
      if (doCast && c.castKernel != nullptr) {
        state.type = want.type;
        current = addStep(current, state, c.castKernel, c.castMs, why, scaleOf(&original));
      } else if (!doCast && c.reformatKernel != nullptr) {
        state.format = want.format;
        current = addStep(current, state, c.reformatKernel, c.reformatMs, why, 0.0f);
      }
    }
    current->name = original.name + "/" + want.describe();
    convertedValues[key] = current;
    return current;
  };

  // Outputs first: every tensor takes the state its producer's tactic writes.
  for (LayerWork& layer : layers_) {
    ir::Node* node = layer.node;
    kernelOf[node] = layer.tactics[static_cast<size_t>(layer.chosen)].kernel;
    if (layer.folded) continue;
    const Tactic& t = layer.tactics[static_cast<size_t>(layer.chosen)];
    if (t.quantized != nullptr) {
      node->opType = t.quantized->opType;
      node->domain = std::string(ir::ops::kLowpDomain);
      node->attributes = t.quantized->attributes;
    }
    for (size_t i = 0; i < node->outputs.size(); ++i) {
      ir::Value* out = node->outputs[i];
      if (out == nullptr) continue;
      const State written{t.outTypes[i], t.outFormats[i]};
      if (t.castOutTo[i] == DataType::kUndefined) {
        out->type = written.type;
        out->format = written.format;
        produced[static_cast<size_t>(out->id)] = written;
        continue;
      }
      // An output-type constraint: the kernel writes a new value, a cast turns it into the layer's output.
      ir::Value* raw =
          newValue(out->name + "/" + written.describe() + " before output type", written, buildShape(out));
      out->producer = nullptr;
      node->outputs[i] = raw;
      raw->producer = node;
      const State want{t.castOutTo[i], written.format};
      const Conversion c = conversion(*out, written, want);
      // A cast, or QuantizeLinear / DequantizeLinear where the constraint asks for int8 or the kernel wrote
      // it.
      ir::Node* cast = g.addNode(typeChangeOp("Cast", written.type, want.type), out->name + "/output_type");
      cast->opsetVersion = onnx::kMaxOpset;
      if (cast->opType == "Cast") cast->attributes.set("to", static_cast<int64_t>(want.type));
      g.setInput(cast, 0, raw);
      addQuantizationParams(g, *cast, scaleOf(out), want.type);
      out->type = want.type;
      out->format = want.format;
      (void)g.addOutput(cast, out);
      kernelOf[cast] = c.castKernel;
      conversionInfo[cast] = {c.ms, "output type constraint of '" + node->name + "'"};
      produced[static_cast<size_t>(out->id)] = want;
    }
  }
  for (ir::Value* v : g.inputs()) {
    const State s = givenState(*v);
    v->type = s.type;
  }
  // Then inputs: constants converted once per type, activations converted where the state differs.
  for (LayerWork& layer : layers_) {
    if (layer.folded) continue;
    ir::Node* node = layer.node;
    const Tactic& t = layer.tactics[static_cast<size_t>(layer.chosen)];
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      ir::Value* v = node->inputs[i];
      if (v == nullptr || static_cast<size_t>(v->id) >= originalValues) continue;
      const State want{t.inTypes[i], t.inFormats[i]};
      if (t.quantized != nullptr && t.quantized->constants.count(i) != 0) {
        const Tensor& q = t.quantized->constants.at(i);
        ir::Value* c = newValue(v->name + "/" + typeName(q.type()), State{q.type(), TensorFormat::kLinear},
                                ir::Shape::fromSizes(q.shape()));
        c->constant = q;
        g.setInput(node, i, c);
        continue;
      }
      if (v->constant) {
        if (v->constant->type() == want.type) continue;
        auto key = std::make_pair(v->id, State{want.type, TensorFormat::kLinear});
        auto it = convertedValues.find(key);
        if (it == convertedValues.end()) {
          ir::Value* c = newValue(v->name + "/" + typeName(want.type),
                                  State{want.type, TensorFormat::kLinear}, v->shape);
          c->constant = convertedConstant(*v, want.type);
          it = convertedValues.emplace(key, c).first;
          const std::string& note = conversionNotes_[std::make_pair(v->id, want.type)];
          if (!note.empty()) log(Severity::kWarning, "layer '" + node->name + "': " + note);
        }
        g.setInput(node, i, it->second);
        continue;
      }
      const State have = produced[static_cast<size_t>(v->id)];
      if (have == want) continue;
      LOWP_ASSIGN_OR_RETURN(ir::Value * converted,
                            convert(v, *v, have, want, "input of '" + node->name + "'"));
      g.setInput(node, i, converted);
    }
  }
  // Network outputs in the state the user receives them: the conversion's result takes the output's name.
  for (ir::Value*& out : g.outputs()) {
    if (static_cast<size_t>(out->id) >= originalValues || out->constant) continue;
    const State have = produced[static_cast<size_t>(out->id)];
    const State want = requiredState(*out);
    if (have == want) continue;
    const std::string name = out->name;
    LOWP_ASSIGN_OR_RETURN(ir::Value * converted, convert(out, *out, have, want, "network output"));
    out->name = name + "/" + have.describe();
    out->isGraphOutput = false;
    converted->name = name;
    converted->isGraphOutput = true;
    out = converted;
  }
  LOWP_RETURN_IF_ERROR(g.sortTopologically());
  // The decision must be a consistent, strongly typed graph: inference agrees with every chosen type.
  std::vector<DataType> chosenTypes;
  for (const auto& v : g.values()) chosenTypes.push_back(v->type);
  Status consistent = onnx::inferGraph(g);
  if (!consistent) return consistent.withContext("the chosen precisions do not type-check");
  for (const auto& v : g.values()) {
    if (v->type != chosenTypes[static_cast<size_t>(v->id)] && v->producer != nullptr) {
      return Status(StatusCode::kInternal, "tensor '" + v->name + "' was chosen as " +
                                               typeName(chosenTypes[static_cast<size_t>(v->id)]) +
                                               " but its producer gives " + typeName(v->type));
    }
  }
  for (const auto& v : g.values()) {
    if (v->constant && v->consumers.empty() && !v->isGraphOutput) v->constant.reset();
  }

  // The engine: kernels by node id, and the report, layer by layer in execution order.
  impl_ = std::make_unique<Engine::Impl>();
  int64_t maxId = 0;
  for (const ir::Node* n : g.nodes()) maxId = std::max(maxId, n->id);
  impl_->kernelOf.assign(static_cast<size_t>(maxId + 1), nullptr);
  // On the GPU each node that runs there has its one chosen kernel; folded ones run on the host.
  if (config_.device() == Device::kCuda) {
    impl_->cudaKernelsOf.assign(impl_->kernelOf.size(), {});
    for (const ir::Node* n : g.nodes()) {
      const KernelDef* k = kernelOf.at(n);
      if (k->backend == kernels::Backend::kCuda) impl_->cudaKernelsOf[static_cast<size_t>(n->id)] = {k};
    }
  }
  std::map<const ir::Node*, const LayerWork*> layerOf;
  for (const LayerWork& layer : layers_) layerOf[layer.node] = &layer;
  for (const ir::Node* n : g.nodes()) {
    impl_->kernelOf[static_cast<size_t>(n->id)] = kernelOf.at(n);
    LayerInfo info;
    info.name = n->name;
    info.absorbedNames = n->absorbedNames;
    info.opType = n->domain.empty() ? n->opType : n->domain + "." + n->opType;
    info.tactic = std::string(kernelOf.at(n)->name);
    auto sizes = [&](const ir::Value* v) {
      std::vector<int64_t> dims;
      if (v == nullptr) return dims;
      const ir::Shape shape = buildShape(v);
      if (!shape.rankKnown()) return dims;
      for (const ir::Dim& d : shape.dims()) dims.push_back(d.isKnown() ? d.size : -1);
      return dims;
    };
    for (const ir::Value* v : n->inputs) {
      info.inputNames.push_back(v ? v->name : "");
      info.inputTypes.push_back(v ? v->type : DataType::kUndefined);
      info.inputFormats.emplace_back(v ? ir::formatName(v->format) : "");
      info.inputShapes.push_back(sizes(v));
    }
    for (const ir::Value* v : n->outputs) {
      info.outputNames.push_back(v ? v->name : "");
      info.outputTypes.push_back(v ? v->type : DataType::kUndefined);
      info.outputFormats.emplace_back(v ? ir::formatName(v->format) : "");
      info.outputShapes.push_back(sizes(v));
    }
    if (auto it = layerOf.find(n); it != layerOf.end()) {
      const LayerWork& layer = *it->second;
      const Tactic& t = layer.tactics[static_cast<size_t>(layer.chosen)];
      info.requestedPrecision = layer.requested;
      info.precision = t.precision != DataType::kUndefined ? t.precision : DataType::kUndefined;
      info.timeMs = layer.folded ? -1 : t.kernelMs;
      info.reason = reasonFor(layer);
      if (t.kernel != nullptr && !t.kernel->approximation.empty())
        info.reason += "; computes " + std::string(t.kernel->approximation) + " (--exactActivations: never)";
    } else {
      const auto& [ms, why] = conversionInfo.at(n);
      info.precision = n->outputs[0]->type;
      info.timeMs = ms;
      info.reason = "conversion: " + why;
      info.conversion = true;
    }
    impl_->layers.push_back(std::move(info));
  }
  return {};
}

Result<std::shared_ptr<Engine>> BuildSession::build() {
  const auto start = std::chrono::steady_clock::now();
  LOWP_RETURN_IF_ERROR(checkConfig());
  if (config_.device() == Device::kCuda) {
    auto timer = builder::makeCudaTimer(config_.cudaOrdinal());
    if (!timer) return timer.status();
    timer_ = std::move(timer).value();
  } else {
    timer_ = builder::makeCpuTimer(parallelFor_, runtime::deviceFingerprint());
  }
  cache_ = builder::TimingCache(timer_->fingerprint());
  const std::string& cacheFile = config_.timingCacheFile();
  if (!cacheFile.empty() && std::filesystem::exists(cacheFile)) {
    LOWP_ASSIGN_OR_RETURN(cache_, builder::TimingCache::load(cacheFile, timer_->fingerprint()));
    log(Severity::kInfo, "timing cache " + cacheFile + ": " + std::to_string(cache_.size()) + " entries");
  }
  if (config_.getFlag(BuilderFlag::kFP8) && config_.device() != Device::kCuda)
    log(Severity::kWarning, "fp8 allowed, but this CPU has no fp8 arithmetic: no layer runs in fp8");
  LOWP_RETURN_IF_ERROR(rewrite());
  LOWP_RETURN_IF_ERROR(resolveConstraints());
  LOWP_RETURN_IF_ERROR(observeFp32Run());
  LOWP_RETURN_IF_ERROR(resolveScales());
  int toTime = 0;
  for (LayerWork& layer : layers_) {
    LOWP_RETURN_IF_ERROR(enumerateTactics(layer));
    LOWP_RETURN_IF_ERROR(applyConstraint(layer));
    toTime += layer.folded ? 0 : 1;
  }
  int done = 0;
  for (LayerWork& layer : layers_) {
    if (layer.folded) continue;
    LOWP_RETURN_IF_ERROR(timeLayer(layer));
    if (config_.progressMonitor() != nullptr) config_.progressMonitor()->layerTimed(++done, toTime);
  }
  LOWP_ASSIGN_OR_RETURN(auto solution, search());
  LOWP_RETURN_IF_ERROR(materialize());
  impl_->graph = std::move(graph_);
  for (const ir::Value* v : impl_->graph->inputs()) impl_->inputs.push_back(runtime::describeValue(*v));
  for (const ir::Value* v : impl_->graph->outputs()) impl_->outputs.push_back(runtime::describeValue(*v));
  impl_->buildShapes = buildShapes_;
  impl_->fingerprint = timer_->fingerprint();
  impl_->options.threads = config_.threads();
  impl_->options.device = config_.device();
  impl_->options.cudaOrdinal = config_.cudaOrdinal();
  impl_->options.allowTf32 = config_.getFlag(BuilderFlag::kTF32);
  auto engine = std::make_shared<Engine>(std::move(impl_));

  // The engine runs at the build shapes, within the workspace limit.
  auto context = engine->createExecutionContext();
  std::vector<NamedTensor> inputs;
  std::mt19937 rng(7);
  for (size_t i = 0; i < engine->inputs().size(); ++i) {
    inputs.push_back({engine->inputs()[i].name, buildInput(i, engine->inputs()[i].type, rng)});
  }
  std::vector<NamedTensor> outputs;
  Status ran = context->execute(inputs, outputs);
  if (!ran) return ran.withContext(buildRunContext("the built engine failed at the build shapes"));
  if (config_.workspaceLimit() > 0 && context->plannedArenaBytes() > config_.workspaceLimit()) {
    return Status(StatusCode::kInvalidArgument,
                  "the engine needs " + std::to_string(context->plannedArenaBytes()) +
                      " bytes of activation memory at the build shapes, over the workspace limit of " +
                      std::to_string(config_.workspaceLimit()));
  }
  if (!cacheFile.empty()) LOWP_RETURN_IF_ERROR(cache_.save(cacheFile));
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  std::ostringstream summary;
  summary.precision(3);
  summary << "built " << engine->layers().size() << " layers in " << elapsed.count() << " s: " << timed_
          << " timings measured, " << cacheHits_ << " from the timing cache";
  if (retimed_ > 0) summary << " (" << retimed_ << " of them measured again beside new timings)";
  summary << "; estimated " << solution.kernelMs << " ms kernels + " << solution.reformatMs
          << " ms conversions";
  log(Severity::kInfo, summary.str());
  return engine;
}

}  // namespace

Result<std::shared_ptr<Engine>> Builder::build(const NetworkDefinition& network,
                                               const BuilderConfig& config) {
  BuildSession session(logger_, network, config);
  auto engine = session.build();
  if (!engine && !network.impl().label.empty()) return engine.status().withContext(network.impl().label);
  return engine;
}

}  // namespace lowp
