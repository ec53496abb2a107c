// Reads an engine file back into an Engine::Impl, checking everything it reads (engine_file.h lists the
// checks). A file that passes runs exactly as the engine it was written from.
#include <algorithm>
#include <cstring>
#include <tuple>
#include <unordered_set>

#include "engine/build_memory_plan.h"
#include "engine/codec.h"
#include "engine/engine_file.h"
#include "engine/file_layout.h"
#include "ir/format.h"
#include "ir/op_schema.h"
#include "runtime/cpu_features.h"

namespace lowp::engine {
namespace {

std::string hex(uint32_t v) {
  static const char* const kDigits = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 0xf];
  return s;
}

// Any error met while reading the content is a bad engine file, whatever check found it.
Status asEngineError(const Status& s, const std::string& context = {}) {
  return Status(StatusCode::kInvalidEngine, context.empty() ? s.message() : context + ": " + s.message(),
                s.node());
}

Status nodeError(const ir::Node& node, const std::string& message) {
  return Status(StatusCode::kInvalidEngine, node.describe() + ": " + message, node.name);
}

// Equal where both know: the rank when both know it, each size both know.
bool compatible(const ir::Shape& a, const ir::Shape& b) {
  if (!a.rankKnown() || !b.rankKnown()) return true;
  if (a.rank() != b.rank()) return false;
  for (int64_t i = 0; i < a.rank(); ++i) {
    if (a[i].isKnown() && b[i].isKnown() && a[i].size != b[i].size) return false;
  }
  return true;
}

class EngineReader {
 public:
  explicit EngineReader(const fb::EngineFile& root) : root_(root) {}

  Result<std::unique_ptr<Engine::Impl>> read(const EngineOptions& options) {
    impl_ = std::make_unique<Engine::Impl>();
    impl_->graph = std::make_unique<ir::Graph>();
    impl_->fingerprint = readString(root_.fingerprint());
    impl_->options = options;
    // The device is the file's: an engine's kernels are those of one device.
    impl_->options.device = static_cast<Device>(root_.device());
    impl_->options.allowTf32 = root_.allow_tf32();
    LOWP_RETURN_IF_ERROR(readGraph());
    LOWP_RETURN_IF_ERROR(checkExecutionOrder());
    LOWP_RETURN_IF_ERROR(checkInference());
    LOWP_RETURN_IF_ERROR(findKernels());
    LOWP_RETURN_IF_ERROR(readLayers());
    LOWP_RETURN_IF_ERROR(readBuildShapes());
    LOWP_RETURN_IF_ERROR(checkMemoryPlanOfFile());
    for (const ir::Value* v : graph().inputs()) impl_->inputs.push_back(runtime::describeValue(*v));
    for (const ir::Value* v : graph().outputs()) impl_->outputs.push_back(runtime::describeValue(*v));
    return std::move(impl_);
  }

 private:
  ir::Graph& graph() { return *impl_->graph; }

  Result<ir::Value*> valueById(int64_t id, const std::string& what) {
    const auto count = static_cast<int64_t>(graph().values().size());
    if (id < 0 || id >= count) {
      return corrupt(what + " names value " + std::to_string(id) + ", the graph has " +
                     std::to_string(count));
    }
    return graph().values()[static_cast<size_t>(id)].get();
  }

  Status readGraph() {
    const fb::Graph* g = root_.graph();
    if (g == nullptr || g->values() == nullptr || g->nodes() == nullptr)
      return corrupt("the graph is missing");
    graph().name = readString(g->name());
    for (flatbuffers::uoffset_t i = 0; i < g->values()->size(); ++i) {
      LOWP_RETURN_IF_ERROR(readValue(*g->values()->Get(i), i));
    }
    // Graph inputs and constants first, so that a node claiming to produce one is refused.
    for (int64_t id : readLongs(g->inputs())) {
      LOWP_ASSIGN_OR_RETURN(ir::Value * v, valueById(id, "a graph input"));
      v->isGraphInput = true;
      graph().inputs().push_back(v);
    }
    for (int64_t id : readLongs(g->outputs())) {
      LOWP_ASSIGN_OR_RETURN(ir::Value * v, valueById(id, "a graph output"));
      v->isGraphOutput = true;
      graph().outputs().push_back(v);
    }
    kernelNames_.reserve(g->nodes()->size());
    for (const fb::Node* n : *g->nodes()) LOWP_RETURN_IF_ERROR(readNode(*n));
    return {};
  }

  Status readValue(const fb::Value& fv, flatbuffers::uoffset_t index) {
    const std::string name = readString(fv.name());
    if (!name.empty() && !names_.insert(name).second) {
      return corrupt("value " + std::to_string(index) + ": the name '" + name + "' is taken");
    }
    // Names are checked above: Graph::addValue's own check would search every value for each new one.
    ir::Value& v = *graph().addValue("").value();
    v.name = name;
    const std::string what = "value '" + name + "'";
    auto type = readDataType(fv.type(), true);
    if (!type) return asEngineError(type.status(), what);
    v.type = *type;
    auto shape = readShape(fv.shape());
    if (!shape) return asEngineError(shape.status(), what);
    v.shape = std::move(shape).value();
    v.format = static_cast<ir::TensorFormat>(fv.format());
    if (ir::formatName(v.format) == "?")
      return corrupt(what + " has format " + std::to_string(fv.format()) + ", not a known one");
    if (fv.constant() != nullptr) {
      auto t = readTensor(fv.constant());
      if (!t) return asEngineError(t.status(), what);
      if (t->type() != v.type || !compatible(v.shape, ir::Shape::fromSizes(t->shape()))) {
        return corrupt(what + " is " + std::string(ir::dataTypeInfo(v.type).name) + v.shape.toString() +
                       " but holds the constant " + t->describe());
      }
      v.constant = std::move(t).value();
    }
    return {};
  }

  Status readNode(const fb::Node& fn) {
    ir::Node* node = graph().addNode(readString(fn.op_type()), readString(fn.name()));
    node->domain = readString(fn.domain());
    node->opsetVersion = fn.opset_version();
    node->absorbedNames = readStrings(fn.absorbed_names());
    kernelNames_.push_back(readString(fn.kernel()));
    if (fn.kernel_backend() != static_cast<int32_t>(kernels::Backend::kCpu) &&
        fn.kernel_backend() != static_cast<int32_t>(kernels::Backend::kCuda))
      return nodeError(*node,
                       "kernel backend " + std::to_string(fn.kernel_backend()) + " is not a known one");
    kernelBackends_.push_back(static_cast<kernels::Backend>(fn.kernel_backend()));
    cudaKernelNames_.push_back(readStrings(fn.cuda_kernels()));
    // The importer's contract: input and output counts and attributes as the op's schema states them.
    const ir::OpSchema* schema = ir::OpSchemaRegistry::global().find(node->domain, node->opType);
    if (schema == nullptr) return nodeError(*node, "lowp has no operator " + node->opType);
    const std::vector<int64_t> inputs = readLongs(fn.inputs());
    const std::vector<int64_t> outputs = readLongs(fn.outputs());
    const auto inCount = static_cast<int>(inputs.size());
    const auto outCount = static_cast<int>(outputs.size());
    if (inCount < schema->minInputs || (schema->maxInputs >= 0 && inCount > schema->maxInputs) ||
        outCount < schema->minOutputs || (schema->maxOutputs >= 0 && outCount > schema->maxOutputs)) {
      return nodeError(*node, std::to_string(inCount) + " inputs and " + std::to_string(outCount) +
                                  " outputs do not fit the operator's schema");
    }
    if (fn.attributes() != nullptr) {
      for (const fb::Attribute* fa : *fn.attributes()) {
        auto a = readAttribute(*fa);
        if (!a) return nodeError(*node, a.status().message());
        const std::string& name = a->first;
        const ir::AttrValue& value = a->second;
        auto spec = std::find_if(schema->attributes.begin(), schema->attributes.end(),
                                 [&](const ir::AttrSpec& s) { return s.name == name; });
        if (spec == schema->attributes.end() || spec->type != ir::attrTypeOf(value)) {
          return nodeError(*node, "attribute '" + name + "' (" +
                                      std::string(ir::attrTypeName(ir::attrTypeOf(value))) + ") is not one " +
                                      node->opType + " takes");
        }
        if (node->attributes.has(name)) return nodeError(*node, "attribute '" + name + "' is given twice");
        node->attributes.set(name, value);
      }
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      ir::Value* v = nullptr;
      if (inputs[i] != -1) {
        auto found = valueById(inputs[i], "input " + std::to_string(i));
        if (!found) return nodeError(*node, found.status().message());
        v = *found;
      }
      graph().setInput(node, i, v);
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      ir::Value* v = nullptr;
      if (outputs[i] != -1) {
        auto found = valueById(outputs[i], "output " + std::to_string(i));
        if (!found) return nodeError(*node, found.status().message());
        v = *found;
      }
      Status added = graph().addOutput(node, v);
      if (!added) return nodeError(*node, added.message());
    }
    return {};
  }

  // The runtime runs nodes in the stored order: each input must exist by the time its reader runs. This
  // also rules out cycles.
  Status checkExecutionOrder() {
    std::vector<bool> ready(graph().values().size(), false);
    for (const auto& v : graph().values()) ready[static_cast<size_t>(v->id)] = v->isGraphInput || v->constant;
    for (const ir::Node* node : graph().nodes()) {
      for (const ir::Value* in : node->inputs) {
        if (in != nullptr && !ready[static_cast<size_t>(in->id)]) {
          return nodeError(
              *node, "reads '" + in->name + "' before " +
                         (in->producer ? in->producer->describe() + " produces it" : "any node produces it") +
                         " (a cycle, or nodes out of execution order)");
        }
      }
      for (const ir::Value* out : node->outputs) {
        if (out != nullptr) ready[static_cast<size_t>(out->id)] = true;
      }
    }
    for (const ir::Value* out : graph().outputs()) {
      if (!ready[static_cast<size_t>(out->id)])
        return corrupt("graph output '" + out->name + "' is never computed");
    }
    return {};
  }

  // Types and shapes as ir inference gives them from the graph inputs and constants.
  Status checkInference() {
    for (const ir::Node* node : graph().nodes()) {
      std::vector<ir::InferInput> inputs;
      for (const ir::Value* in : node->inputs) {
        ir::InferInput info;
        if (in != nullptr) {
          if (in->type == DataType::kUndefined)
            return nodeError(*node, "input '" + in->name + "' has no type");
          info = {true, in->type, in->shape, in->constant ? &*in->constant : nullptr};
        }
        inputs.push_back(std::move(info));
      }
      auto inferred = ir::inferNode(*node, std::move(inputs));
      if (!inferred) return asEngineError(inferred.status().withNode(node->name));
      for (size_t i = 0; i < node->outputs.size(); ++i) {
        const ir::Value* out = node->outputs[i];
        if (out == nullptr) continue;
        const auto& [type, shape] = (*inferred)[i];
        if (type != out->type || !compatible(shape, out->shape)) {
          return nodeError(*node, "output '" + out->name + "' is stored as " +
                                      std::string(ir::dataTypeInfo(out->type).name) + out->shape.toString() +
                                      ", inference gives " + std::string(ir::dataTypeInfo(type).name) +
                                      shape.toString());
        }
      }
    }
    return {};
  }

  // The kernel `name` of `backend` for `node`, checked against the node: types, formats, attributes and
  // shapes (where static), and on the CPU the features it needs.
  Result<const kernels::KernelDef*> findKernel(const ir::Node& node, const std::string& name,
                                               kernels::Backend backend) {
    static const Status unique = checkKernelNamesUnique(kernels::KernelRegistry::global());
    const auto& registry = kernels::KernelRegistry::global();
    std::string_view domain = node.domain;
    if (domain == "ai.onnx") domain = "";
    std::vector<const kernels::KernelDef*> named;
    for (const kernels::KernelDef& def : registry.all()) {
      if (def.backend == backend && def.domain == domain && def.opType == node.opType && def.name == name)
        named.push_back(&def);
    }
    const std::string device = backend == kernels::Backend::kCuda ? "CUDA" : "CPU";
    if (named.empty())
      return nodeError(node, device + " kernel '" + name + "' is not one this lowp has for " + node.opType);
    if (named.size() > 1) return nodeError(node, "kernel '" + name + "' is ambiguous: " + unique.message());
    const kernels::KernelDef* kernel = named.front();
    std::vector<DataType> in;
    std::vector<DataType> out;
    std::vector<ir::Shape> shapes;
    bool staticShapes = true;
    for (const ir::Value* v : node.inputs) {
      in.push_back(v ? v->type : DataType::kUndefined);
      shapes.push_back(v ? v->shape : ir::Shape::unknownRank());
      staticShapes = staticShapes && shapes.back().isStatic();
    }
    for (const ir::Value* v : node.outputs) out.push_back(v ? v->type : DataType::kUndefined);
    auto accepting = registry.find(node.domain, node.opType, backend, in, out);
    if (std::find(accepting.begin(), accepting.end(), kernel) == accepting.end()) {
      return nodeError(node, "kernel '" + name + "' does not take the node's input and output types");
    }
    if (backend == kernels::Backend::kCpu && !runtime::cpuSupports(kernel->feature)) {
      return nodeError(node, "kernel '" + name + "' needs a CPU feature this machine lacks");
    }
    // CUDA candidates are chosen per plan among those that support its shapes (execution_context.cpp).
    const bool checkShapes = backend == kernels::Backend::kCpu || staticShapes;
    if (checkShapes && kernel->supports != nullptr && !kernel->supports(node, shapes)) {
      return nodeError(node, "kernel '" + name + "' does not support the node's attributes and shapes");
    }
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const ir::Value* v = node.inputs[i];
      if (v != nullptr && v->format != kernel->inputFormat(i)) {
        return nodeError(node, "input '" + v->name + "' is " + std::string(ir::formatName(v->format)) +
                                   ", kernel '" + name + "' reads " +
                                   std::string(ir::formatName(kernel->inputFormat(i))));
      }
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const ir::Value* v = node.outputs[i];
      if (v != nullptr && v->format != kernel->outputFormat(i)) {
        return nodeError(node, "output '" + v->name + "' is " + std::string(ir::formatName(v->format)) +
                                   ", kernel '" + name + "' writes " +
                                   std::string(ir::formatName(kernel->outputFormat(i))));
      }
    }
    return kernel;
  }

  // Every node's kernel; on the CUDA device also the CUDA kernels of every node that runs there (all but
  // those that fold while planning, which run on the host).
  Status findKernels() {
    const bool onGpu = impl_->options.device == Device::kCuda;
    impl_->kernelOf.assign(graph().nodes().size(), nullptr);
    if (onGpu) impl_->cudaKernelsOf.assign(graph().nodes().size(), {});
    const std::vector<bool> folded = runtime::foldedWhilePlanning(graph());
    for (size_t k = 0; k < graph().nodes().size(); ++k) {
      const ir::Node& node = *graph().nodes()[k];
      const auto id = static_cast<size_t>(node.id);
      if (kernelBackends_[k] == kernels::Backend::kCuda && (!onGpu || folded[id]))
        return nodeError(node, "a CUDA kernel where the node runs on the host");
      LOWP_ASSIGN_OR_RETURN(impl_->kernelOf[id], findKernel(node, kernelNames_[k], kernelBackends_[k]));
      if (!onGpu) {
        if (!cudaKernelNames_[k].empty()) return nodeError(node, "CUDA kernels in an engine for the CPU");
        continue;
      }
      for (const std::string& name : cudaKernelNames_[k]) {
        LOWP_ASSIGN_OR_RETURN(const kernels::KernelDef* kernel,
                              findKernel(node, name, kernels::Backend::kCuda));
        impl_->cudaKernelsOf[id].push_back(kernel);
      }
      if (!folded[id] && impl_->cudaKernelsOf[id].empty())
        return nodeError(node, "no CUDA kernel for a node that runs on the GPU");
    }
    return {};
  }

  static Result<std::vector<DataType>> readTypes(const flatbuffers::Vector<int32_t>* ids) {
    std::vector<DataType> types;
    if (ids == nullptr) return types;
    for (int32_t id : *ids) {
      LOWP_ASSIGN_OR_RETURN(DataType t, readDataType(id, true));
      types.push_back(t);
    }
    return types;
  }

  Status readLayers() {
    if (root_.layers() == nullptr) return {};
    for (const fb::Layer* fl : *root_.layers()) {
      LayerInfo l;
      l.name = readString(fl->name());
      const std::string what = "layer '" + l.name + "'";
      l.absorbedNames = readStrings(fl->absorbed_names());
      l.opType = readString(fl->op_type());
      auto requested = readDataType(fl->requested_precision(), true);
      auto precision = readDataType(fl->precision(), true);
      auto inputTypes = readTypes(fl->input_types());
      auto outputTypes = readTypes(fl->output_types());
      for (const Status* s :
           {&requested.status(), &precision.status(), &inputTypes.status(), &outputTypes.status()}) {
        if (!s->isOk()) return asEngineError(*s, what);
      }
      l.requestedPrecision = *requested;
      l.precision = *precision;
      l.inputNames = readStrings(fl->input_names());
      l.inputTypes = std::move(inputTypes).value();
      l.inputFormats = readStrings(fl->input_formats());
      l.outputNames = readStrings(fl->output_names());
      l.outputTypes = std::move(outputTypes).value();
      l.outputFormats = readStrings(fl->output_formats());
      l.tactic = readString(fl->tactic());
      l.timeMs = fl->time_ms();
      l.reason = readString(fl->reason());
      l.conversion = fl->conversion();
      for (auto [list, shapes, count] :
           {std::tuple{fl->input_shapes(), &l.inputShapes, l.inputNames.size()},
            std::tuple{fl->output_shapes(), &l.outputShapes, l.outputNames.size()}}) {
        if (list == nullptr) continue;  // written before layers had shapes
        if (list->size() != count) {
          return Status(StatusCode::kInvalidEngine, what + " has " + std::to_string(list->size()) +
                                                        " shapes for " + std::to_string(count) + " tensors");
        }
        for (const fb::Sizes* s : *list) {
          std::vector<int64_t> sizes = s != nullptr ? readLongs(s->sizes()) : std::vector<int64_t>{};
          if (std::any_of(sizes.begin(), sizes.end(), [](int64_t d) { return d < -1; }))
            return Status(StatusCode::kInvalidEngine, what + " has a negative dimension");
          shapes->push_back(std::move(sizes));
        }
      }
      impl_->layers.push_back(std::move(l));
    }
    return {};
  }

  Status readBuildShapes() {
    if (root_.build_shapes() == nullptr || root_.build_shapes()->size() == 0) return {};
    const auto& inputs = graph().inputs();
    if (root_.build_shapes()->size() != inputs.size()) {
      return corrupt(std::to_string(root_.build_shapes()->size()) + " build shapes for " +
                     std::to_string(inputs.size()) + " graph inputs");
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::vector<int64_t> sizes =
          readLongs(root_.build_shapes()->Get(static_cast<flatbuffers::uoffset_t>(i))->sizes());
      const ir::Shape shape = ir::Shape::fromSizes(sizes);
      const bool negative = std::any_of(sizes.begin(), sizes.end(), [](int64_t d) { return d < 0; });
      if (negative || !compatible(shape, inputs[i]->shape)) {
        return corrupt("the build shape " + shape.toString() + " of input '" + inputs[i]->name +
                       "' does not fit its shape " + inputs[i]->shape.toString());
      }
      impl_->buildShapes.push_back(std::move(sizes));
    }
    return {};
  }

  Status checkMemoryPlanOfFile() {
    auto expected = planBuildMemory(graph(), impl_->buildShapes);
    if (!expected) return asEngineError(expected.status(), "the memory plan for the build shapes");
    const fb::MemoryPlan* stored = root_.memory_plan();
    if (stored == nullptr) {
      if (expected->has_value()) return corrupt("the memory plan for the build shapes is missing");
      return {};
    }
    BuildMemoryPlan plan;
    plan.arenaBytes = stored->arena_bytes();
    if (stored->buffers() != nullptr) {
      // Copied bytewise, as readLongs does: the structs may sit misaligned in a damaged file.
      const uint8_t* data = stored->buffers()->Data();
      for (flatbuffers::uoffset_t i = 0; i < stored->buffers()->size(); ++i) {
        fb::PlannedBuffer b;
        std::memcpy(&b, data + i * sizeof(fb::PlannedBuffer), sizeof(b));
        plan.buffers.push_back({b.value(), b.offset(), b.bytes(), b.first_step(), b.last_step()});
      }
    }
    Status fits = checkMemoryPlan(plan, static_cast<int64_t>(graph().values().size()),
                                  static_cast<int64_t>(graph().nodes().size()));
    if (!fits) return fits;
    if (!expected->has_value() || **expected != plan) {
      return corrupt("the memory plan does not match the one the graph gives for its build shapes");
    }
    return {};
  }

  const fb::EngineFile& root_;
  std::unique_ptr<Engine::Impl> impl_;
  std::vector<std::string> kernelNames_;  // per node, in order
  std::vector<kernels::Backend> kernelBackends_;
  std::vector<std::vector<std::string>> cudaKernelNames_;
  std::unordered_set<std::string> names_;  // value names seen so far
};

}  // namespace

Result<std::unique_ptr<Engine::Impl>> readEngineFile(std::span<const uint8_t> bytes,
                                                     const EngineOptions& options, const std::string& label) {
  auto opened = VerifiedFile::open(bytes);
  if (!opened) return opened.status().withContext(label);
  const uint32_t stored = opened->storedChecksum();
  const uint32_t computed = opened->computeChecksum();
  if (stored != computed) {
    return corrupt(label + ": corrupt: checksum mismatch (the file says " + hex(stored) +
                   ", its bytes give " + hex(computed) + ")");
  }
  const fb::EngineFile& root = opened->root();
  const std::string fingerprint = readString(root.fingerprint());
  if (root.device() != static_cast<int32_t>(Device::kCpu) &&
      root.device() != static_cast<int32_t>(Device::kCuda))
    return corrupt(label + ": corrupt: device " + std::to_string(root.device()) + " is not a known one");
  const auto device = static_cast<Device>(root.device());
  auto thisDevice = runtime::engineFingerprint(device, options.cudaOrdinal);
  if (!thisDevice) {
    return Status(StatusCode::kInvalidEngine,
                  label + ": built for the CUDA device (\"" + fingerprint +
                      "\"), which this machine cannot run: " + thisDevice.status().message());
  }
  const std::string& here = *thisDevice;
  if (fingerprint != here) {
    return corrupt(label + ": built for another device or lowp (made by lowp " +
                   readString(root.lowp_version()) + " on \"" + fingerprint + "\", this is \"" + here +
                   "\") — rebuild the engine here");
  }
  auto impl = EngineReader(root).read(options);
  if (!impl)
    return Status(StatusCode::kInvalidEngine, label + ": " + impl.status().message(), impl.status().node());
  return impl;
}

}  // namespace lowp::engine
