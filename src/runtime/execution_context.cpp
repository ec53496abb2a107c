// ExecutionContext: binds input shapes, plans activation memory for them, and runs the nodes in order.
//
// Planning happens once per set of input shapes. It infers every shape, evaluates the nodes whose value
// follows from constants and input shapes alone (shape arithmetic such as Shape -> Gather -> Concat ->
// Reshape), and lays out every other activation of known size in one arena by lifetime. Activations
// whose size depends on data (e.g. NonZero) are allocated when produced and freed after their last use.
//
// On the CUDA device (EngineOptions::device) the same plan holds: the arena is device memory and holds the
// graph's inputs and outputs too (copied in before the first layer and out after the last); constants and
// plan-time values are uploaded once; every other node runs its CUDA kernel on the context's one stream. An
// op that only renames its input's shape (Reshape, Squeeze, ...) shares its input's memory there.
#include <unistd.h>
#include <algorithm>

#include <chrono>
#include <cstring>
#include <list>
#include <new>
#include <optional>
#include <string>

#include "ir/format.h"
#include "ir/op_schema.h"
#include "ir/ops/tensor_shapes.h"
#include "lowp/engine.h"
#include "runtime/device.h"
#include "runtime/engine_impl.h"
#include "runtime/memory_plan.h"
#include "runtime/tensor_forms.h"
#ifdef LOWP_WITH_CUDA
#include "kernels/cuda/cuda_check.h"
#include "runtime/cuda_device.h"
#endif

namespace lowp {
namespace {

constexpr int64_t kUnplanned = -1;

struct Plan {
  std::vector<std::vector<int64_t>> inputShapes;  ///< The shapes this plan was made for.
  std::vector<Tensor> known;                      ///< Per value id: values known before running.
  std::vector<bool> folded;                       ///< Per node id: evaluated while planning.
  /// Per node id: a node only Shape / Size read (the view ops a fused attention reads through, kept for an
  /// export's shape arithmetic), which needs not run unless an observer looks at every value.
  std::vector<bool> shapeOnly;
  std::vector<ir::Shape> shapes;  ///< Per value id: inferred shape.
  std::vector<int64_t> offsets;   ///< Per value id: arena offset, or kUnplanned.
  std::vector<int64_t> lastUse;   ///< Per value id: last step reading it.
  std::shared_ptr<void> arena;
  int64_t arenaBytes = 0;
  int64_t unplannedBytes = 0;
  /// On the CUDA device, per node id: the kernel that runs the node at this plan's shapes.
  std::vector<const kernels::KernelDef*> cudaKernels;
};

std::string typeName(DataType t) {
  return std::string(ir::dataTypeInfo(t).name);
}

// Ops whose output holds the bytes of input 0 in the same order: on the GPU such an output shares its
// input's memory (their kernels then copy nothing).
bool keepsBytes(const ir::Node& node) {
  return node.domain.empty() && std::find(ir::ops::kSameBytesOps.begin(), ir::ops::kSameBytesOps.end(),
                                          node.opType) != ir::ops::kSameBytesOps.end();
}

// Bytes of a dense tensor, or -1 when the element count overflows.
int64_t tensorBytes(DataType type, const std::vector<int64_t>& shape) {
  int64_t bytes = ir::dataTypeInfo(type).storageBytes;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes)) return -1;
  }
  return bytes;
}

// The most memory one tensor may take: all of the machine's physical memory. Shapes come from user
// models and inputs (Expand, Tile, Range, ...); an allocation past this would only fail later, or be
// killed by the operating system when first touched.
int64_t maxTensorBytes() {
  static const int64_t limit = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  return limit;
}

// Thrown by allocations a kernel asks for that are too large; execute() turns it into a Status.
struct TensorTooLarge : std::bad_alloc {};

}  // namespace

struct ExecutionContext::Impl {
  const Engine::Impl& engine;
  runtime::CpuDevice device;
  kernels::ParallelFor parallelFor;
  Plan plan;
  bool planned = false;
  const ir::Node* currentNode = nullptr;  // the node being planned or run, named by allocation errors
  std::vector<int64_t> tooLargeShape;
  std::vector<std::shared_ptr<void>> kernelState;  // per node id: what its kernel prepared
  Profiler* profiler = nullptr;
  runtime::ValueObserver observer;
  int64_t observedFloatBytes = -1;  // on the GPU, larger float tensors reach the observer without data
  TensorInspector* inspector = nullptr;
#ifdef LOWP_WITH_CUDA
  std::unique_ptr<runtime::CudaDevice> gpu;           // made by the first execute() on the CUDA device
  std::vector<runtime::DeviceTensor> uploaded;        // per value id: a constant or plan-time value's copy
  std::vector<std::shared_ptr<void>> gpuKernelState;  // per node id: what its CUDA kernel prepared
  // The layers of the current plan recorded as one CUDA graph (setUseCudaGraph), and how many times the plan
  // ran: the first run prepares every kernel's state and uploads, the second is recorded.
  std::shared_ptr<CUgraphExec_st> graphExec;
  int64_t planRuns = 0;
  // Recordings in a row that something outside the layers invalidated (see recordLayers).
  int invalidatedRecordings = 0;
  // The phases of each run, for their GPU times: before the input copies, before and after the layers,
  // after the output copies.
  std::optional<runtime::CudaEvent> copyInStart;
  std::optional<runtime::CudaEvent> layersStart;
  std::optional<runtime::CudaEvent> layersEnd;
  std::optional<runtime::CudaEvent> copyOutEnd;
  std::vector<runtime::CudaEvent> layerEvents;  // with a profiler: two per layer, before and after it
#endif
  ExecutionContext::DeviceTimes lastDeviceTimes;
  bool useCudaGraph = false;

  bool onGpu() const {
    return engine.options.device == lowp::Device::kCuda;
  }

  // Whether this run leaves out a node whose outputs only Shape / Size read: it does unless something looks
  // at every value.
  bool skips(const ir::Node& node) const {
    return plan.shapeOnly[static_cast<size_t>(node.id)] && !observer && inspector == nullptr;
  }

  Impl(const Engine::Impl& e, int threads) : engine(e), device(threads) {
    parallelFor = [this](int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
      device.pool().parallelFor(n, grain, fn);
    };
  }

  Tensor allocate(DataType type, std::vector<int64_t> shape) {
    int64_t bytes = tensorBytes(type, shape);
    if (bytes < 0 || bytes > maxTensorBytes()) {
      tooLargeShape = shape;
      throw TensorTooLarge();
    }
    return Tensor(type, std::move(shape));
  }

  Status checkInputs(std::span<const NamedTensor> given, std::vector<const Tensor*>& byValue) const {
    const ir::Graph& g = *engine.graph;
    for (const NamedTensor& nt : given) {
      auto it = std::find_if(g.inputs().begin(), g.inputs().end(),
                             [&](const ir::Value* v) { return v->name == nt.name; });
      if (it == g.inputs().end()) {
        std::string names;
        for (const ir::Value* v : g.inputs()) names += (names.empty() ? "" : ", ") + v->name;
        return Status(StatusCode::kInvalidArgument,
                      "unknown input '" + nt.name + "' (the model's inputs are: " + names + ")");
      }
      const ir::Value& v = **it;
      if (byValue[static_cast<size_t>(v.id)] != nullptr) {
        return Status(StatusCode::kInvalidArgument, "input '" + nt.name + "' is given twice");
      }
      if (nt.tensor.type() != v.type) {
        return Status(StatusCode::kInvalidArgument, "input '" + nt.name + "' has type " +
                                                        typeName(nt.tensor.type()) + ", the model expects " +
                                                        typeName(v.type));
      }
      if (v.shape.rankKnown()) {
        bool ok = nt.tensor.rank() == v.shape.rank();
        for (int64_t d = 0; ok && d < v.shape.rank(); ++d) {
          ok = !v.shape[d].isKnown() || v.shape[d].size == nt.tensor.shape()[static_cast<size_t>(d)];
        }
        if (!ok) {
          return Status(StatusCode::kInvalidArgument, "input '" + nt.name + "' has shape " +
                                                          ir::formatSizes(nt.tensor.shape()) +
                                                          ", the model expects " + v.shape.toString());
        }
      }
      if (nt.tensor.data() == nullptr && nt.tensor.elementCount() > 0) {
        return Status(StatusCode::kInvalidArgument, "input '" + nt.name + "' has no data");
      }
      byValue[static_cast<size_t>(v.id)] = &nt.tensor;
    }
    for (const ir::Value* v : g.inputs()) {
      if (byValue[static_cast<size_t>(v->id)] == nullptr) {
        return Status(StatusCode::kInvalidArgument, "input '" + v->name + "' is missing");
      }
    }
    return {};
  }

  std::vector<ir::InferInput> inferInputs(const ir::Node& node, const std::vector<ir::Shape>& shapes,
                                          const std::vector<const Tensor*>& values) const {
    std::vector<ir::InferInput> inputs;
    for (const ir::Value* in : node.inputs) {
      ir::InferInput info;
      if (in != nullptr) {
        info.present = true;
        info.type = in->type;
        info.shape = shapes[static_cast<size_t>(in->id)];
        info.value = values[static_cast<size_t>(in->id)];
      }
      inputs.push_back(std::move(info));
    }
    return inputs;
  }

  // The kernel that runs `node` on the host: its own, or where that is a CUDA kernel (a node of a GPU engine
  // that folds while planning, such as a conversion the builder placed on a plan-time value), the CPU
  // reference kernel of its op and types.
  Result<const kernels::KernelDef*> hostKernel(const ir::Node& node) const {
    const kernels::KernelDef* own = engine.kernelOf[static_cast<size_t>(node.id)];
    if (own->backend == kernels::Backend::kCpu) return own;
    std::vector<DataType> in;
    std::vector<DataType> out;
    for (const ir::Value* v : node.inputs) in.push_back(v != nullptr ? v->type : DataType::kUndefined);
    for (const ir::Value* v : node.outputs) out.push_back(v != nullptr ? v->type : DataType::kUndefined);
    for (const kernels::KernelDef* k :
         kernels::KernelRegistry::global().find(node.domain, node.opType, kernels::Backend::kCpu, in, out)) {
      if (k->reference) return k;
    }
    return Status(StatusCode::kUnsupported,
                  node.describe() + " folds while planning, and no CPU kernel computes it on the host",
                  node.name);
  }

  Status runKernel(const ir::Node& node, std::vector<const Tensor*> inputs, std::vector<Tensor*> outputs) {
    currentNode = &node;
    LOWP_ASSIGN_OR_RETURN(const kernels::KernelDef* kernel, hostKernel(node));
    kernels::KernelContext ctx(
        node, std::move(inputs), std::move(outputs), parallelFor,
        [this](DataType t, std::vector<int64_t> s) { return allocate(t, std::move(s)); });
    if (kernelState.size() < engine.kernelOf.size()) kernelState.resize(engine.kernelOf.size());
    ctx.setStateSlot(&kernelState[static_cast<size_t>(node.id)]);
    Status s = kernel->fn(ctx);
    return s.withNode(node.name);
  }

  // Shows computed value `v` to the inspector in ONNX's layout.
  Status inspect(const ir::Value& v, const Tensor& t) {
    LOWP_ASSIGN_OR_RETURN(Tensor plain, runtime::toModelLayout(v, t));
    const runtime::Quantization q = runtime::quantizationOf(v);
    inspector->tensorComputed(v.name, plain, q.scale, q.zeroPoint);
    return {};
  }

  // Points `ins` at the inspector's replacements of the activations `node` reads, converted to the
  // engine's form and handed to `place`, which keeps them where the kernel reads them (host or device) for
  // the rest of the run.
  using PlaceReplacement = std::function<Result<const Tensor*>(const runtime::EngineForm& engineForm)>;
  Status replaceInputs(const ir::Node& node, std::vector<const Tensor*>& ins, const PlaceReplacement& place) {
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const ir::Value* in = node.inputs[i];
      if (in == nullptr || in->constant || plan.known[static_cast<size_t>(in->id)].data() != nullptr)
        continue;
      const Tensor* given = inspector->replacementFor(in->name);
      if (given == nullptr) continue;
      auto converted = runtime::toEngineForm(*in, ins[i]->shape(), *given);
      if (!converted) return converted.status().withNode(node.name);
      auto placed = place(*converted);
      if (!placed) return placed.status().withNode(node.name);
      ins[i] = *placed;
    }
    return {};
  }

  // The values computed while planning (not the model's constants), to the observer.
  void observePlanTimeValues() {
    for (const auto& v : engine.graph->values()) {
      const Tensor& known = plan.known[static_cast<size_t>(v->id)];
      if (!v->constant && known.type() != DataType::kUndefined) observer(*v, known);
    }
  }

  // Shape and Size read only their input's shape: they fold as soon as the shape is static.
  static bool needsOnlyShapes(const ir::Node& node) {
    return node.domain.empty() && (node.opType == "Shape" || node.opType == "Size");
  }

  Status makePlan(const std::vector<const Tensor*>& inputsByValue) {
    const ir::Graph& g = *engine.graph;
    const size_t valueCount = g.values().size();
    Plan p;
    p.known.assign(valueCount, Tensor());
    p.shapes.assign(valueCount, ir::Shape::unknownRank());
    p.offsets.assign(valueCount, kUnplanned);
    p.lastUse.assign(valueCount, -1);
    p.folded.assign(engine.kernelOf.size(), false);
    std::vector<const Tensor*> values(valueCount, nullptr);
    for (const auto& v : g.values()) {
      auto id = static_cast<size_t>(v->id);
      if (v->constant) {
        p.known[id] = *v->constant;
        values[id] = &p.known[id];
        p.shapes[id] = ir::Shape::fromSizes(v->constant->shape());
      } else if (inputsByValue[id] != nullptr) {
        p.shapes[id] = ir::Shape::fromSizes(inputsByValue[id]->shape());
        p.inputShapes.push_back(inputsByValue[id]->shape());
      }
    }
    std::vector<ir::Node*> steps;
    for (ir::Node* node : g.nodes()) {
      currentNode = node;
      auto inferred = ir::inferNode(*node, inferInputs(*node, p.shapes, values));
      if (!inferred) return inferred.status().withNode(node->name);
      for (size_t i = 0; i < node->outputs.size(); ++i) {
        if (node->outputs[i] != nullptr)
          p.shapes[static_cast<size_t>(node->outputs[i]->id)] = (*inferred)[i].second;
      }
      bool foldable = true;
      for (const ir::Value* in : node->inputs) {
        if (in == nullptr) continue;
        auto id = static_cast<size_t>(in->id);
        bool shapeEnough = needsOnlyShapes(*node) && p.shapes[id].isStatic();
        if (values[id] == nullptr && !shapeEnough) foldable = false;
      }
      if (foldable && !node->inputs.empty()) {
        std::vector<Tensor> shapeOnly(node->inputs.size());
        std::vector<const Tensor*> ins;
        for (size_t i = 0; i < node->inputs.size(); ++i) {
          const ir::Value* in = node->inputs[i];
          if (in == nullptr) {
            ins.push_back(nullptr);
          } else if (values[static_cast<size_t>(in->id)] != nullptr) {
            ins.push_back(values[static_cast<size_t>(in->id)]);
          } else {
            shapeOnly[i] = Tensor::view(in->type, p.shapes[static_cast<size_t>(in->id)].sizes(), nullptr);
            ins.push_back(&shapeOnly[i]);
          }
        }
        std::vector<Tensor> outs(node->outputs.size());
        std::vector<Tensor*> outPtrs;
        for (size_t i = 0; i < node->outputs.size(); ++i) {
          const ir::Value* out = node->outputs[i];
          const ir::Shape& s = (*inferred)[i].second;
          if (out != nullptr && s.isStatic()) outs[i] = allocate(out->type, s.sizes());
          outPtrs.push_back(out ? &outs[i] : nullptr);
        }
        LOWP_RETURN_IF_ERROR(runKernel(*node, ins, outPtrs));
        for (size_t i = 0; i < node->outputs.size(); ++i) {
          const ir::Value* out = node->outputs[i];
          if (out == nullptr) continue;
          auto id = static_cast<size_t>(out->id);
          p.known[id] = std::move(outs[i]);
          values[id] = &p.known[id];
          p.shapes[id] = ir::Shape::fromSizes(p.known[id].shape());
        }
        p.folded[static_cast<size_t>(node->id)] = true;
        continue;
      }
      steps.push_back(node);
    }
    p.shapeOnly.assign(p.folded.size(), false);
    {
      std::vector<bool> read(valueCount, false);
      for (const ir::Value* out : g.outputs()) read[static_cast<size_t>(out->id)] = true;
      for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
        const ir::Node* node = *it;
        const bool needed = node->outputs.empty() ||
                            std::any_of(node->outputs.begin(), node->outputs.end(), [&](const ir::Value* o) {
                              return o != nullptr && read[static_cast<size_t>(o->id)];
                            });
        if (!needed) {
          p.shapeOnly[static_cast<size_t>(node->id)] = true;
          continue;
        }
        for (const ir::Value* in : node->inputs) {
          if (in != nullptr) read[static_cast<size_t>(in->id)] = true;
        }
      }
    }
    // Lifetimes of the activations the remaining steps produce.
    std::vector<runtime::BufferLifetime> lifetimes;
    std::vector<size_t> lifetimeValue;
    for (size_t step = 0; step < steps.size(); ++step) {
      for (const ir::Value* in : steps[step]->inputs) {
        if (in != nullptr) p.lastUse[static_cast<size_t>(in->id)] = static_cast<int64_t>(step);
      }
    }
    if (onGpu()) LOWP_RETURN_IF_ERROR(chooseGpuKernels(steps, p));
    // An output that takes an input's memory has that input's `root` (through chains of such outputs), which
    // then lives until the last reader of any of them: the output of an op that keeps its input's bytes (its
    // kernel copies nothing; on the CPU not of a graph input, which is the caller's memory), and an output
    // computed in place of an input nothing reads afterwards (KernelDef::inPlaceInput).
    std::vector<size_t> root(valueCount);
    for (size_t id = 0; id < valueCount; ++id) root[id] = id;
    for (size_t step = 0; step < steps.size(); ++step) {
      const ir::Node* node = steps[step];
      const auto nodeId = static_cast<size_t>(node->id);
      const kernels::KernelDef* kernel = onGpu() ? p.cudaKernels[nodeId] : engine.kernelOf[nodeId];
      const bool keeps =
          keepsBytes(*node) && node->input(0) != nullptr && (onGpu() || !node->input(0)->isGraphInput);
      const int source = keeps ? 0 : kernel->inPlaceInput;
      if (source < 0 || node->outputs.empty()) continue;
      const ir::Value* in = node->input(static_cast<size_t>(source));
      const ir::Value* out = node->outputs[0];
      if (in == nullptr || out == nullptr || out->isGraphOutput || in->constant || in->type != out->type ||
          in->format != out->format)
        continue;
      if (keeps && in->format != ir::TensorFormat::kLinear) continue;
      const auto inId = static_cast<size_t>(in->id);
      const auto outId = static_cast<size_t>(out->id);
      if (!keeps && !overwritable(*node, static_cast<size_t>(source), root, p.lastUse, step)) continue;
      if (!p.shapes[inId].isStatic() || !p.shapes[outId].isStatic() ||
          p.known[inId].type() != DataType::kUndefined ||
          ir::storageBytes(in->type, p.shapes[inId].sizes(), in->format) !=
              ir::storageBytes(out->type, p.shapes[outId].sizes(), out->format))
        continue;
      root[outId] = root[inId];
      p.lastUse[root[inId]] = std::max(p.lastUse[root[inId]], p.lastUse[outId]);
    }
    if (onGpu()) {
      // The graph's inputs are copied into the arena before the first step.
      for (const ir::Value* in : g.inputs()) {
        auto id = static_cast<size_t>(in->id);
        lifetimes.push_back(
            {tensorBytes(in->type, p.shapes[id].sizes()), 0, std::max<int64_t>(p.lastUse[id], 0)});
        lifetimeValue.push_back(id);
      }
    }
    for (size_t step = 0; step < steps.size(); ++step) {
      for (const ir::Value* out : steps[step]->outputs) {
        // On the CPU, graph outputs are tensors of their own, handed to the caller; on the GPU they live in
        // the arena until copied out after the last step.
        if (out == nullptr || (out->isGraphOutput && !onGpu())) continue;
        auto id = static_cast<size_t>(out->id);
        if (!p.shapes[id].isStatic() || root[id] != id) continue;
        // A blocked layout takes its padding too.
        const int64_t bytes = ir::storageBytes(out->type, p.shapes[id].sizes(), out->format);
        if (bytes < 0) continue;
        int64_t last = std::max<int64_t>(p.lastUse[id], static_cast<int64_t>(step));
        if (out->isGraphOutput) last = static_cast<int64_t>(steps.size());
        lifetimes.push_back({bytes, static_cast<int64_t>(step), last});
        lifetimeValue.push_back(id);
      }
    }
    currentNode = nullptr;
    runtime::MemoryPlan memory = runtime::planMemory(lifetimes);
    for (size_t i = 0; i < lifetimes.size(); ++i) p.offsets[lifetimeValue[i]] = memory.offsets[i];
    for (size_t id = 0; id < valueCount; ++id) {
      if (root[id] != id) p.offsets[id] = p.offsets[root[id]];
    }
    p.arenaBytes = memory.arenaBytes;
    p.unplannedBytes = memory.unplannedBytes;
    if (p.arenaBytes > maxTensorBytes()) {
      return Status(StatusCode::kInvalidArgument, "the activations need " + std::to_string(p.arenaBytes) +
                                                      " bytes, more than this machine's memory");
    }
    if (onGpu()) {
      LOWP_ASSIGN_OR_RETURN(p.arena, allocateOnGpu(p.arenaBytes));
    } else {
      p.arena = device.allocate(static_cast<size_t>(p.arenaBytes));
    }
    plan = std::move(p);
    planned = true;
    return {};
  }

  bool planMatches(const std::vector<const Tensor*>& inputsByValue) const {
    if (!planned) return false;
    size_t k = 0;
    for (const auto& v : engine.graph->values()) {
      const Tensor* t = inputsByValue[static_cast<size_t>(v->id)];
      if (t == nullptr || v->constant) continue;
      if (k >= plan.inputShapes.size() || plan.inputShapes[k++] != t->shape()) return false;
    }
    return k == plan.inputShapes.size();
  }

  Status execute(std::span<const NamedTensor> given, std::vector<NamedTensor>& outputs) {
    currentNode = nullptr;
    try {
      return onGpu() ? executeOnGpu(given, outputs) : executeUnchecked(given, outputs);
    } catch (const std::bad_alloc& e) {
      planned = false;
      std::string where = currentNode ? currentNode->describe() + ": " : std::string();
      std::string what = dynamic_cast<const TensorTooLarge*>(&e) != nullptr
                             ? "an output of shape " + ir::formatSizes(tooLargeShape) +
                                   " needs more memory than this machine has"
                             : "out of memory";
      return Status(StatusCode::kInvalidArgument, where + what, currentNode ? currentNode->name : "");
    }
  }

  Status executeUnchecked(std::span<const NamedTensor> given, std::vector<NamedTensor>& outputs) {
    const ir::Graph& g = *engine.graph;
    const size_t valueCount = g.values().size();
    std::vector<const Tensor*> inputsByValue(valueCount, nullptr);
    LOWP_RETURN_IF_ERROR(checkInputs(given, inputsByValue));
    if (!planMatches(inputsByValue)) LOWP_RETURN_IF_ERROR(makePlan(inputsByValue));

    std::vector<Tensor> owned(valueCount);  // activations of this run (arena views or own storage)
    std::vector<const Tensor*> values(valueCount, nullptr);
    for (size_t id = 0; id < valueCount; ++id) {
      if (plan.known[id].type() != DataType::kUndefined) {
        values[id] = &plan.known[id];
      } else if (inputsByValue[id] != nullptr) {
        values[id] = inputsByValue[id];
      }
    }
    auto* arena = static_cast<std::byte*>(plan.arena.get());
    std::list<runtime::EngineForm> replacements;  // what the inspector gave layers to read instead
    const PlaceReplacement keep = [&](const runtime::EngineForm& form) -> Result<const Tensor*> {
      replacements.push_back(form);
      return &replacements.back().tensor;
    };
    if (observer) observePlanTimeValues();
    int64_t step = 0;
    for (const ir::Node* node : g.nodes()) {
      if (plan.folded[static_cast<size_t>(node->id)]) continue;
      if (skips(*node)) {
        ++step;  // the plan counts it, for lastUse
        continue;
      }
      currentNode = node;
      std::vector<const Tensor*> ins;
      for (const ir::Value* in : node->inputs)
        ins.push_back(in ? values[static_cast<size_t>(in->id)] : nullptr);
      if (inspector != nullptr) LOWP_RETURN_IF_ERROR(replaceInputs(*node, ins, keep));
      // Output shapes: planned where static, otherwise inferred now from the actual inputs (only then are
      // they copied: a step of a small layer costs about a microsecond, allocations included).
      const bool allStatic =
          std::all_of(node->outputs.begin(), node->outputs.end(), [&](const ir::Value* out) {
            return out == nullptr || plan.shapes[static_cast<size_t>(out->id)].isStatic();
          });
      std::vector<ir::Shape> inferredShapes;
      auto outShape = [&](size_t i) -> const ir::Shape& {
        return allStatic ? plan.shapes[static_cast<size_t>(node->outputs[i]->id)] : inferredShapes[i];
      };
      if (!allStatic) {
        std::vector<ir::InferInput> infer;
        for (const ir::Value* in : node->inputs) {
          ir::InferInput info;
          if (in != nullptr) {
            const Tensor* t = values[static_cast<size_t>(in->id)];
            info = {true, in->type, ir::Shape::fromSizes(t->shape()), t};
          }
          infer.push_back(std::move(info));
        }
        auto inferred = ir::inferNode(*node, std::move(infer));
        if (!inferred) return inferred.status().withNode(node->name);
        for (auto& [type, shape] : *inferred) inferredShapes.push_back(std::move(shape));
      }
      std::vector<Tensor*> outs;
      for (size_t i = 0; i < node->outputs.size(); ++i) {
        const ir::Value* out = node->outputs[i];
        if (out == nullptr) {
          outs.push_back(nullptr);
          continue;
        }
        auto id = static_cast<size_t>(out->id);
        // An op that keeps its input's bytes may have its output planned in the input's memory (makePlan).
        const ir::Value* source = i == 0 && keepsBytes(*node) ? node->input(0) : nullptr;
        const bool inSourceMemory = source != nullptr && plan.offsets[id] != kUnplanned &&
                                    plan.offsets[static_cast<size_t>(source->id)] == plan.offsets[id];
        // Where the layer reads a replacement (an inspector's), the planned memory keeps the original: the
        // output takes memory of its own.
        const bool replaced =
            inSourceMemory && ins[0] != nullptr && ins[0]->data() != arena + plan.offsets[id];
        if (!replaced && plan.offsets[id] != kUnplanned && (allStatic || outShape(i) == plan.shapes[id])) {
          owned[id] = Tensor::view(out->type, outShape(i).sizes(), arena + plan.offsets[id]);
          // Reference kernels may accumulate into their outputs and are promised zeroed memory; the
          // others write every element, and clearing their outputs would cost one more pass over memory.
          // An output in its input's memory is the input's bytes already.
          if (engine.kernelOf[static_cast<size_t>(node->id)]->reference && !inSourceMemory) {
            std::memset(owned[id].data(), 0, static_cast<size_t>(owned[id].byteSize()));
          }
        } else if (ir::channelBlock(out->format) > 1) {
          // The arena holds every padded-layout tensor: their kernels need static shapes.
          return Status(StatusCode::kInternal,
                        node->describe() + ": output '" + out->name + "' in the " +
                            std::string(ir::formatName(out->format)) + " layout has no planned memory",
                        node->name);
        } else if (outShape(i).isStatic()) {
          owned[id] = allocate(out->type, outShape(i).sizes());
        } else {
          owned[id] = Tensor();  // the kernel allocates it
        }
        outs.push_back(&owned[id]);
      }
      const auto start =
          profiler ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
      LOWP_RETURN_IF_ERROR(runKernel(*node, ins, outs));
      if (profiler != nullptr) {
        const std::chrono::duration<float, std::milli> elapsed = std::chrono::steady_clock::now() - start;
        profiler->reportLayerTime(node->name, elapsed.count());
      }
      for (size_t i = 0; i < node->outputs.size(); ++i) {
        const ir::Value* out = node->outputs[i];
        if (out == nullptr) continue;
        auto id = static_cast<size_t>(out->id);
        if (owned[id].type() != out->type) {
          return Status(
              StatusCode::kInternal,
              node->describe() + ": the kernel left output " + std::to_string(i) + " unset or mistyped",
              node->name);
        }
        values[id] = &owned[id];
        if (observer) observer(*out, owned[id]);
        if (inspector != nullptr) LOWP_RETURN_IF_ERROR(inspect(*out, owned[id]));
      }
      // Free data-dependent activations after their last use; arena views cost nothing to keep.
      for (const ir::Value* in : node->inputs) {
        if (in == nullptr || in->isGraphOutput) continue;
        auto id = static_cast<size_t>(in->id);
        if (plan.lastUse[id] == step && plan.offsets[id] == kUnplanned &&
            owned[id].type() != DataType::kUndefined) {
          owned[id] = Tensor();
          values[id] = nullptr;
        }
      }
      ++step;
    }
    outputs.clear();
    for (const ir::Value* out : g.outputs()) {
      const Tensor* t = values[static_cast<size_t>(out->id)];
      if (t == nullptr) {
        return Status(StatusCode::kInternal, "graph output '" + out->name + "' was not computed");
      }
      // Outputs are the caller's own: copy anything that aliases inputs, constants or plan-time values.
      bool ownedHere = t == &owned[static_cast<size_t>(out->id)];
      outputs.push_back({out->name, ownedHere ? *t : t->clone()});
    }
    return {};
  }

  // Whether `node` at `step` may write its output over input `source`: the caller's inputs are theirs, and
  // the memory must be read by no later step and by no other input of the node.
  bool overwritable(const ir::Node& node, size_t source, const std::vector<size_t>& root,
                    const std::vector<int64_t>& lastUse, size_t step) const {
    const size_t memory = root[static_cast<size_t>(node.inputs[source]->id)];
    if (engine.graph->values()[memory]->isGraphInput || lastUse[memory] != static_cast<int64_t>(step))
      return false;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const ir::Value* other = node.inputs[i];
      if (i != source && other != nullptr && root[static_cast<size_t>(other->id)] == memory) return false;
    }
    return true;
  }

  // The CUDA kernel of every step at the plan's shapes: the engine's first candidate that supports them.
  // Outputs whose size depends on data are refused: the arena holds every tensor of a GPU plan.
  Status chooseGpuKernels(const std::vector<ir::Node*>& steps, Plan& p) const {
    p.cudaKernels.assign(engine.kernelOf.size(), nullptr);
    for (const ir::Node* node : steps) {
      for (const ir::Value* out : node->outputs) {
        if (out != nullptr && !p.shapes[static_cast<size_t>(out->id)].isStatic()) {
          return Status(
              StatusCode::kUnsupported,
              node->describe() + ": output '" + out->name + "' has shape " +
                  p.shapes[static_cast<size_t>(out->id)].toString() +
                  ", which depends on the data; the CUDA device runs only shapes known before running",
              node->name);
        }
      }
      const auto& candidates = engine.cudaKernelsOf[static_cast<size_t>(node->id)];
      if (candidates.empty()) return runtime::noCudaKernel(*node);
      std::vector<ir::Shape> shapes;
      for (const ir::Value* in : node->inputs)
        shapes.push_back(in ? p.shapes[static_cast<size_t>(in->id)] : ir::Shape::unknownRank());
      for (const kernels::KernelDef* k : candidates) {
        if (k->supports == nullptr || k->supports(*node, shapes)) {
          p.cudaKernels[static_cast<size_t>(node->id)] = k;
          break;
        }
      }
      if (p.cudaKernels[static_cast<size_t>(node->id)] == nullptr) {
        std::string given;
        for (const ir::Shape& shape : shapes) given += (given.empty() ? "" : ", ") + shape.toString();
        return runtime::noCudaKernel(*node).withContext("input shapes " + given);
      }
    }
    return {};
  }

#ifdef LOWP_WITH_CUDA
  Result<std::shared_ptr<void>> allocateOnGpu(int64_t bytes) {
    auto arena = gpu->allocateChecked(static_cast<size_t>(bytes));
    if (!arena) return arena.status().withContext("the activations' " + std::to_string(bytes) + " bytes");
    return arena;
  }

  Status runGpuKernel(const ir::Node& node, std::vector<const Tensor*> inputs, std::vector<Tensor*> outputs) {
    const auto id = static_cast<size_t>(node.id);
    const kernels::KernelDef* kernel = plan.cudaKernels[id];
    // Every output is planned: a kernel that asks for memory of its own gets none and fails the type check.
    kernels::KernelContext ctx(node, std::move(inputs), outputs, parallelFor,
                               [](DataType, const std::vector<int64_t>&) { return Tensor(); });
    if (gpuKernelState.size() < plan.cudaKernels.size()) gpuKernelState.resize(plan.cudaKernels.size());
    ctx.setStateSlot(&gpuKernelState[id]);
    ctx.setCuda(&gpu->kernelContext());
    std::vector<const Tensor*> hostInputs;
    for (const ir::Value* in : node.inputs) {
      const Tensor* known = in != nullptr ? &plan.known[static_cast<size_t>(in->id)] : nullptr;
      hostInputs.push_back(known != nullptr && known->type() != DataType::kUndefined ? known : nullptr);
    }
    ctx.setHostInputs(std::move(hostInputs));
    LOWP_RETURN_IF_ERROR(kernel->fn(ctx).withNode(node.name));
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i] != nullptr && outputs[i]->type() != node.outputs[i]->type) {
        return Status(
            StatusCode::kInternal,
            node.describe() + ": the kernel left output " + std::to_string(i) + " unset or mistyped",
            node.name);
      }
    }
    return {};
  }

  // Copies `node`'s outputs to the host for the observer and the inspector (waiting for the kernel).
  Status showOutputs(const ir::Node& node, const std::vector<Tensor>& inArena) {
    for (const ir::Value* out : node.outputs) {
      if (out == nullptr) continue;
      const Tensor& onDevice = inArena[static_cast<size_t>(out->id)];
      if (ir::storageBytes(out->type, onDevice.shape(), out->format) != onDevice.byteSize()) {
        return Status(StatusCode::kUnsupported,
                      node.describe() + ": output '" + out->name + "' is in a padded layout (" +
                          std::string(ir::formatName(out->format)) + ") that host copies do not read",
                      node.name);
      }
      const bool shapeOnly = inspector == nullptr && observedFloatBytes >= 0 &&
                             ir::dataTypeInfo(out->type).isFloat && onDevice.byteSize() > observedFloatBytes;
      if (shapeOnly) {
        observer(*out, Tensor::view(out->type, onDevice.shape(), nullptr));
        continue;
      }
      Tensor host(out->type, onDevice.shape());
      LOWP_RETURN_IF_ERROR(gpu->copyOut(host.data(), onDevice.data(), static_cast<size_t>(host.byteSize()))
                               .withContext(node.describe())
                               .withNode(node.name));
      if (observer) observer(*out, host);
      if (inspector != nullptr) LOWP_RETURN_IF_ERROR(inspect(*out, host));
    }
    return {};
  }

  // The device copy of a constant or plan-time value, uploaded on first use.
  Result<const Tensor*> uploadedValue(const ir::Value& v) {
    runtime::DeviceTensor& d = uploaded[static_cast<size_t>(v.id)];
    if (d.buffer == nullptr) {
      LOWP_ASSIGN_OR_RETURN(d, gpu->upload(plan.known[static_cast<size_t>(v.id)]));
    }
    return &d.view;
  }

  // execute() on the CUDA device: inputs copied into the arena, each step's CUDA kernel queued on the
  // stream, outputs copied back, then one wait for the stream (with a profiler, one wait per layer too).
  Status executeOnGpu(std::span<const NamedTensor> given, std::vector<NamedTensor>& outputs) {
    if (engine.cudaKernelsOf.empty()) {
      return Status(
          StatusCode::kUnsupported,
          "this engine was prepared for the CPU: only engines made from ONNX models run on the CUDA "
          "device yet (load it with the CPU device)");
    }
    if (gpu == nullptr) {
      LOWP_ASSIGN_OR_RETURN(gpu, runtime::CudaDevice::create(engine.options.cudaOrdinal));
    } else {
      LOWP_RETURN_IF_ERROR(gpu->makeCurrent());
    }
    const ir::Graph& g = *engine.graph;
    const size_t valueCount = g.values().size();
    std::vector<const Tensor*> inputsByValue(valueCount, nullptr);
    LOWP_RETURN_IF_ERROR(checkInputs(given, inputsByValue));
    if (!planMatches(inputsByValue)) {
      LOWP_RETURN_IF_ERROR(makePlan(inputsByValue));
      // Plan-time values may differ from one plan to the next; the model's constants do not. A node's
      // kernel may differ too: what the last one prepared goes.
      gpuKernelState.clear();
      graphExec.reset();
      planRuns = 0;
      invalidatedRecordings = 0;
      uploaded.resize(valueCount);
      for (const auto& v : g.values()) {
        if (!v->constant) uploaded[static_cast<size_t>(v->id)] = {};
      }
    }
    lastDeviceTimes = {};
    Status ran = runOnGpu(inputsByValue, outputs);
    ++planRuns;
    // Nothing queued may outlive the call, failed or not: the next one reuses the arena.
    Status done = gpu->sync();
    if (ran && !done) ran = done.withContext("running the engine on the GPU");
    if (!ran) {
      outputs.clear();
      return ran;
    }
    auto between = [](const runtime::CudaEvent& start, const runtime::CudaEvent& end) {
      return end.elapsedSince(start);
    };
    LOWP_ASSIGN_OR_RETURN(lastDeviceTimes.inputCopyMs, between(*copyInStart, *layersStart));
    LOWP_ASSIGN_OR_RETURN(lastDeviceTimes.computeMs, between(*layersStart, *layersEnd));
    LOWP_ASSIGN_OR_RETURN(lastDeviceTimes.outputCopyMs, between(*layersEnd, *copyOutEnd));
    return ran;
  }

  Status runOnGpu(const std::vector<const Tensor*>& inputsByValue, std::vector<NamedTensor>& outputs) {
    const ir::Graph& g = *engine.graph;
    const size_t valueCount = g.values().size();
    auto* arena = static_cast<std::byte*>(plan.arena.get());
    std::vector<Tensor> inArena(valueCount);  // views of the arena: inputs and activations
    std::vector<const Tensor*> values(valueCount, nullptr);
    for (auto* event : {&copyInStart, &layersStart, &layersEnd, &copyOutEnd}) {
      if (!*event) {
        LOWP_ASSIGN_OR_RETURN(*event, runtime::CudaEvent::create());
      }
    }
    LOWP_RETURN_IF_ERROR(copyInStart->record(gpu->stream()));
    for (const ir::Value* in : g.inputs()) {
      auto id = static_cast<size_t>(in->id);
      const Tensor& host = *inputsByValue[id];
      inArena[id] = Tensor::view(in->type, host.shape(), arena + plan.offsets[id]);
      LOWP_RETURN_IF_ERROR(
          gpu->copyInAsync(inArena[id].data(), host.data(), static_cast<size_t>(host.byteSize()))
              .withContext("input '" + in->name + "'"));
      values[id] = &inArena[id];
    }
    // A CUDA graph replays the layers as they were recorded: hooks that look at each layer run without it.
    const bool graphed = useCudaGraph && profiler == nullptr && !observer && inspector == nullptr;
    if (graphed && graphExec == nullptr && planRuns > 0) {
      LOWP_ASSIGN_OR_RETURN(const bool recorded, recordLayers(values, inArena));
      // Not recorded: the layers run directly this time, and the next run records them again.
      invalidatedRecordings = recorded ? 0 : invalidatedRecordings + 1;
    }
    LOWP_RETURN_IF_ERROR(layersStart->record(gpu->stream()));
    if (graphed && graphExec != nullptr) {
      LOWP_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(graphExec.get(), gpu->stream()));
      for (const ir::Node* node : g.nodes()) {
        if (plan.folded[static_cast<size_t>(node->id)]) continue;
        for (const ir::Value* out : node->outputs) {
          if (out == nullptr) continue;
          auto id = static_cast<size_t>(out->id);
          inArena[id] = Tensor::view(out->type, plan.shapes[id].sizes(), arena + plan.offsets[id]);
        }
      }
    } else {
      LOWP_RETURN_IF_ERROR(runLayers(values, inArena));
    }
    LOWP_RETURN_IF_ERROR(layersEnd->record(gpu->stream()));
    // The caller's tensors that fit an output take its copy in place.
    std::vector<NamedTensor> given = std::move(outputs);
    outputs.clear();
    for (const ir::Value* out : g.outputs()) {
      const size_t index = outputs.size();
      auto id = static_cast<size_t>(out->id);
      // An output that is an input, a constant or a plan-time value is on the host already.
      const Tensor* host =
          plan.known[id].type() != DataType::kUndefined ? &plan.known[id] : inputsByValue[id];
      if (host != nullptr) {
        outputs.push_back({out->name, host->clone()});
        continue;
      }
      if (inArena[id].type() == DataType::kUndefined) {
        return Status(StatusCode::kInternal, "graph output '" + out->name + "' was not computed");
      }
      const bool fits = index < given.size() && given[index].name == out->name &&
                        given[index].tensor.type() == out->type &&
                        given[index].tensor.shape() == inArena[id].shape() &&
                        (given[index].tensor.data() != nullptr || given[index].tensor.byteSize() == 0);
      Tensor copy = fits ? given[index].tensor : Tensor(out->type, inArena[id].shape());
      LOWP_RETURN_IF_ERROR(
          gpu->copyOutAsync(copy.data(), inArena[id].data(), static_cast<size_t>(copy.byteSize()))
              .withContext("output '" + out->name + "'"));
      outputs.push_back({out->name, std::move(copy)});
    }
    return copyOutEnd->record(gpu->stream());
  }

  // Records the layers' launches on the stream into a CUDA graph, kept for the plan. Every pointer the
  // kernels see is fixed by then (the arena, uploaded values, what each kernel prepared in the first run).
  // False when the capture was invalidated by what the layers do not control: another thread's call that
  // waits for the whole device (cudaFree, a context's set-up, a synchronous copy) while this thread
  // records. The kernels prepared nothing while recording, so the caller runs them directly instead; the
  // same failure kRecordingAttempts times in a row is an error, as is any other failure.
  Result<bool> recordLayers(std::vector<const Tensor*>& values, std::vector<Tensor>& inArena) {
    constexpr int kRecordingAttempts = 8;
    LOWP_CUDA_RETURN_IF_ERROR(cudaStreamBeginCapture(gpu->stream(), cudaStreamCaptureModeThreadLocal));
    Status recorded = runLayers(values, inArena);
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(gpu->stream(), &graph);
    std::shared_ptr<CUgraph_st> owned(graph, [](cudaGraph_t g) {
      if (g != nullptr) cudaGraphDestroy(g);
    });
    if (ended != cudaSuccess) (void)cudaGetLastError();
    if (ended == cudaErrorStreamCaptureInvalidated && invalidatedRecordings + 1 < kRecordingAttempts) {
      return false;
    }
    if (!recorded) {
      if (ended == cudaSuccess) return recorded.withContext("recording the layers into a CUDA graph");
      return recorded.withContext(
          std::string("recording the layers into a CUDA graph (the capture ended with ") +
          cudaGetErrorString(ended) + ")");
    }
    if (ended != cudaSuccess) {
      return Status(StatusCode::kUnsupported,
                    std::string("a layer's kernel cannot be recorded into a CUDA graph (") +
                        cudaGetErrorString(ended) + "); run without CUDA graphs");
    }
    cudaGraphExec_t exec = nullptr;
    LOWP_CUDA_RETURN_IF_ERROR(cudaGraphInstantiate(&exec, graph, 0));
    graphExec = std::shared_ptr<CUgraphExec_st>(exec, [](cudaGraphExec_t e) { cudaGraphExecDestroy(e); });
    return true;
  }

  // Queues every layer's kernel on the stream (with a profiler, waiting after each one).
  Status runLayers(std::vector<const Tensor*>& values, std::vector<Tensor>& inArena) {
    const ir::Graph& g = *engine.graph;
    auto* arena = static_cast<std::byte*>(plan.arena.get());
    // The inspector's replacements, uploaded; they live until the run's final wait.
    std::list<runtime::DeviceTensor> replacements;
    const PlaceReplacement upload = [&](const runtime::EngineForm& form) -> Result<const Tensor*> {
      LOWP_ASSIGN_OR_RETURN(runtime::DeviceTensor d, gpu->upload(form.storage));
      d.view = Tensor::view(form.tensor.type(), form.tensor.shape(), d.buffer.get());
      replacements.push_back(std::move(d));
      return &replacements.back().view;
    };
    if (observer) observePlanTimeValues();
    std::vector<const ir::Node*> profiled;  // the layers timed by layerEvents, in order
    for (const ir::Node* node : g.nodes()) {
      if (plan.folded[static_cast<size_t>(node->id)] || skips(*node)) continue;
      currentNode = node;
      std::vector<const Tensor*> ins;
      for (const ir::Value* in : node->inputs) {
        if (in == nullptr) {
          ins.push_back(nullptr);
          continue;
        }
        auto id = static_cast<size_t>(in->id);
        if (values[id] == nullptr && plan.known[id].type() != DataType::kUndefined) {
          auto up = uploadedValue(*in);
          if (!up) return up.status().withContext(node->describe()).withNode(node->name);
          values[id] = *up;
        }
        if (values[id] == nullptr) {
          return Status(StatusCode::kInternal,
                        node->describe() + ": input '" + in->name + "' was not computed", node->name);
        }
        ins.push_back(values[id]);
      }
      if (inspector != nullptr) LOWP_RETURN_IF_ERROR(replaceInputs(*node, ins, upload));
      std::vector<Tensor*> outs;
      for (const ir::Value* out : node->outputs) {
        if (out == nullptr) {
          outs.push_back(nullptr);
          continue;
        }
        auto id = static_cast<size_t>(out->id);
        inArena[id] = Tensor::view(out->type, plan.shapes[id].sizes(), arena + plan.offsets[id]);
        outs.push_back(&inArena[id]);
      }
      if (profiler != nullptr) {
        // CUDA events around the layer: its GPU time, read once the run is done.
        const size_t at = 2 * profiled.size();
        while (layerEvents.size() < at + 2) {
          LOWP_ASSIGN_OR_RETURN(runtime::CudaEvent e, runtime::CudaEvent::create());
          layerEvents.push_back(std::move(e));
        }
        LOWP_RETURN_IF_ERROR(layerEvents[at].record(gpu->stream()));
        LOWP_RETURN_IF_ERROR(runGpuKernel(*node, ins, outs));
        LOWP_RETURN_IF_ERROR(layerEvents[at + 1].record(gpu->stream()));
        profiled.push_back(node);
      } else {
        LOWP_RETURN_IF_ERROR(runGpuKernel(*node, ins, outs));
      }
      for (const ir::Value* out : node->outputs) {
        if (out != nullptr) values[static_cast<size_t>(out->id)] = &inArena[static_cast<size_t>(out->id)];
      }
      if (observer || inspector != nullptr) LOWP_RETURN_IF_ERROR(showOutputs(*node, inArena));
    }
    currentNode = nullptr;
    // The replacements must outlive the kernels that read them.
    if (!replacements.empty() || !profiled.empty()) LOWP_RETURN_IF_ERROR(gpu->sync());
    for (size_t k = 0; k < profiled.size(); ++k) {
      LOWP_ASSIGN_OR_RETURN(float ms, layerEvents[2 * k + 1].elapsedSince(layerEvents[2 * k]));
      profiler->reportLayerTime(profiled[k]->name, ms);
    }
    return {};
  }
#else
  Result<std::shared_ptr<void>> allocateOnGpu(int64_t) {
    return noCudaBackend();
  }
  Status executeOnGpu(std::span<const NamedTensor>, std::vector<NamedTensor>&) {
    return noCudaBackend();
  }
  static Status noCudaBackend() {
    return Status(StatusCode::kUnsupported, "this build of lowp has no CUDA backend (LOWP_WITH_CUDA)");
  }
#endif
};

ExecutionContext::ExecutionContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ExecutionContext::~ExecutionContext() = default;

Status ExecutionContext::execute(std::span<const NamedTensor> inputs, std::vector<NamedTensor>& outputs) {
  return impl_->execute(inputs, outputs);
}

void ExecutionContext::setProfiler(Profiler* profiler) {
  impl_->profiler = profiler;
}

void ExecutionContext::setUseCudaGraph(bool on) {
  impl_->useCudaGraph = on;
}

ExecutionContext::DeviceTimes ExecutionContext::lastDeviceTimes() const {
  return impl_->lastDeviceTimes;
}

Result<Tensor> ExecutionContext::allocateHostTensor(DataType type, std::vector<int64_t> shape) {
  if (ir::dataTypeInfo(type).storageBytes <= 0) {
    return Status(StatusCode::kInvalidArgument,
                  "allocateHostTensor: no host tensor of type " + std::string(ir::dataTypeInfo(type).name));
  }
  for (int64_t d : shape) {
    if (d < 0) {
      return Status(StatusCode::kInvalidArgument,
                    "allocateHostTensor: negative dimension in [" + ir::formatSizes(shape) + "]");
    }
  }
#ifdef LOWP_WITH_CUDA
  if (impl_->onGpu()) {
    const int64_t bytes = Tensor::view(type, shape, nullptr).byteSize();
    LOWP_ASSIGN_OR_RETURN(std::shared_ptr<void> storage, runtime::allocatePinned(static_cast<size_t>(bytes)));
    std::memset(storage.get(), 0, static_cast<size_t>(std::max<int64_t>(bytes, 1)));
    return Tensor::adopt(type, std::move(shape), std::move(storage));
  }
#endif
  return Tensor(type, std::move(shape));
}

void ExecutionContext::setTensorInspector(TensorInspector* inspector) {
  impl_->inspector = inspector;
}

namespace runtime {
void observeValues(ExecutionContext& context, ValueObserver observer, int64_t maxFloatBytes) {
  context.impl().observer = std::move(observer);
  context.impl().observedFloatBytes = maxFloatBytes;
}
}  // namespace runtime

int64_t ExecutionContext::plannedArenaBytes() const {
  return impl_->plan.arenaBytes;
}
int64_t ExecutionContext::unplannedActivationBytes() const {
  return impl_->plan.unplannedBytes;
}

std::unique_ptr<ExecutionContext> Engine::createExecutionContext() const {
  return std::make_unique<ExecutionContext>(
      std::make_unique<ExecutionContext::Impl>(*impl_, impl_->options.threads));
}

}  // namespace lowp
