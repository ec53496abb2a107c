#include "lowp/engine.h"

#include <algorithm>

#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_features.h"
#include "runtime/engine_impl.h"
#ifdef LOWP_WITH_CUDA
#include "runtime/cuda_device.h"
#endif

namespace lowp {
namespace runtime {
TensorDesc describeValue(const ir::Value& v) {
  TensorDesc d;
  d.name = v.name;
  d.type = v.type;
  d.rankKnown = v.shape.rankKnown();
  for (const ir::Dim& dim : v.shape.dims()) {
    d.shape.push_back(dim.size);
    d.dimNames.push_back(dim.symbol);
  }
  return d;
}

namespace {

std::string typeList(const std::vector<DataType>& types) {
  std::string s = "(";
  for (size_t i = 0; i < types.size(); ++i) {
    if (i) s += ", ";
    s += types[i] == DataType::kUndefined ? "-" : std::string(ir::dataTypeInfo(types[i]).name);
  }
  return s + ")";
}

#ifdef LOWP_WITH_CUDA
// Whether kernel name `name` ends with `marker` and a number: a fixed choice among a library's algorithms
// ("-h2": cuBLASLt's third heuristic answer, "-a6": cuDNN algorithm 6).
bool fixedChoice(std::string_view name, std::string_view marker) {
  const size_t at = name.rfind(marker);
  if (at == std::string_view::npos || at + marker.size() == name.size()) return false;
  const std::string_view digits = name.substr(at + marker.size());
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}
#endif

// Whether kernel `k` reads and writes the layouts `node`'s values are in.
bool formatsMatch(const ir::Node& node, const kernels::KernelDef& k) {
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (node.inputs[i] != nullptr && k.inputFormat(i) != node.inputs[i]->format) return false;
  }
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    if (node.outputs[i] != nullptr && k.outputFormat(i) != node.outputs[i]->format) return false;
  }
  return true;
}

std::vector<DataType> inputTypes(const ir::Node& node) {
  std::vector<DataType> types;
  for (const ir::Value* v : node.inputs) types.push_back(v ? v->type : DataType::kUndefined);
  return types;
}

std::vector<DataType> outputTypes(const ir::Node& node) {
  std::vector<DataType> types;
  for (const ir::Value* v : node.outputs) types.push_back(v ? v->type : DataType::kUndefined);
  return types;
}

// The CUDA kernels that may run each node that runs at run time, best first; the execution context takes
// the first whose supports() accepts the shapes of its plan (here, with dynamic dimensions, supports() is
// asked only where every input shape is static). Without the builder's timings: TF32 tactics first where
// TF32 is allowed (TensorRT's default for FP32 layers) and never otherwise, then the libraries' own first
// choice: cuBLASLt's first heuristic answer ("-h0") and cuDNN's heuristic (not a fixed algorithm, "-a<N>").
Status chooseCudaKernels(const ir::Graph& graph, const EngineOptions& options, Engine::Impl& impl) {
#ifdef LOWP_WITH_CUDA
  if (!cudaDevicePresent()) {
    return Status(StatusCode::kUnsupported,
                  "the CUDA device was asked for, but the CUDA runtime finds no GPU on this machine");
  }
  const auto& registry = kernels::KernelRegistry::global();
  const std::vector<bool> folded = foldedWhilePlanning(graph);
  impl.cudaKernelsOf.assign(impl.kernelOf.size(), {});
  auto rank = [&](const kernels::KernelDef* k) {
    const bool tf32 = k->name.starts_with("tf32-");
    const bool notLibraryChoice = fixedChoice(k->name, "-h") && !k->name.ends_with("-h0");
    return (options.allowTf32 && !tf32 ? 2 : 0) + (notLibraryChoice || fixedChoice(k->name, "-a") ? 1 : 0);
  };
  for (const ir::Node* node : graph.nodes()) {
    if (folded[static_cast<size_t>(node->id)]) continue;
    std::vector<ir::Shape> shapes;
    bool staticShapes = true;
    for (const ir::Value* v : node->inputs) {
      shapes.push_back(v ? v->shape : ir::Shape::unknownRank());
      staticShapes = staticShapes && shapes.back().isStatic();
    }
    auto found = registry.find(node->domain, node->opType, kernels::Backend::kCuda, inputTypes(*node),
                               outputTypes(*node));
    std::erase_if(found, [&](const kernels::KernelDef* k) {
      return (!options.allowTf32 && k->name.starts_with("tf32-")) || !formatsMatch(*node, *k) ||
             (staticShapes && k->supports != nullptr && !k->supports(*node, shapes));
    });
    std::stable_sort(
        found.begin(), found.end(),
        [&](const kernels::KernelDef* a, const kernels::KernelDef* b) { return rank(a) < rank(b); });
    if (found.empty()) return noCudaKernel(*node);
    impl.cudaKernelsOf[static_cast<size_t>(node->id)] = std::move(found);
  }
  return {};
#else
  (void)graph;
  (void)options;
  (void)impl;
  return Status(StatusCode::kUnsupported,
                "the CUDA device was asked for, but this build of lowp has no CUDA backend (LOWP_WITH_CUDA)");
#endif
}

}  // namespace

std::vector<bool> foldedWhilePlanning(const ir::Graph& graph) {
  int64_t maxId = -1;
  for (const ir::Node* n : graph.nodes()) maxId = std::max(maxId, n->id);
  std::vector<bool> folded(static_cast<size_t>(maxId + 1), false);
  std::vector<bool> known(graph.values().size(), false);
  for (const auto& v : graph.values()) known[static_cast<size_t>(v->id)] = v->constant.has_value();
  for (const ir::Node* node : graph.nodes()) {
    const bool onlyShapes = node->domain.empty() && (node->opType == "Shape" || node->opType == "Size");
    bool foldable = !node->inputs.empty();
    for (const ir::Value* in : node->inputs) {
      if (in != nullptr && !known[static_cast<size_t>(in->id)] && !onlyShapes) foldable = false;
    }
    if (!foldable) continue;
    folded[static_cast<size_t>(node->id)] = true;
    for (const ir::Value* out : node->outputs) {
      if (out != nullptr) known[static_cast<size_t>(out->id)] = true;
    }
  }
  return folded;
}

Result<std::string> engineFingerprint(lowp::Device device, int cudaOrdinal) {
  if (device == lowp::Device::kCpu) return deviceFingerprint();
#ifdef LOWP_WITH_CUDA
  LOWP_ASSIGN_OR_RETURN(CudaFingerprint gpu, cudaFingerprint(cudaOrdinal));
  return "gpu=" + gpu.text() + "; lowp=" + LOWP_VERSION;
#else
  (void)cudaOrdinal;
  return Status(StatusCode::kUnsupported, "this build of lowp has no CUDA backend (LOWP_WITH_CUDA)");
#endif
}

Status noCudaKernel(const ir::Node& node) {
  return Status(StatusCode::kUnsupported,
                "no CUDA kernel for " + node.opType + " '" + node.name + "' (types " +
                    typeList(inputTypes(node)) + " -> " + typeList(outputTypes(node)) + ")",
                node.name);
}

Result<std::unique_ptr<Engine::Impl>> prepareEngine(std::unique_ptr<ir::Graph> graph,
                                                    const EngineOptions& options) {
  auto impl = std::make_unique<Engine::Impl>();
  const auto& registry = kernels::KernelRegistry::global();
  int64_t maxId = 0;
  for (const ir::Node* n : graph->nodes()) maxId = std::max(maxId, n->id);
  impl->kernelOf.assign(static_cast<size_t>(maxId + 1), nullptr);
  for (const ir::Node* node : graph->nodes()) {
    const std::vector<DataType> in = inputTypes(*node);
    const std::vector<DataType> out = outputTypes(*node);
    auto found = registry.find(node->domain, node->opType, kernels::Backend::kCpu, in, out);
    std::vector<ir::Shape> shapes;
    for (const ir::Value* v : node->inputs) shapes.push_back(v ? v->shape : ir::Shape::unknownRank());
    // A kernel must also read and write the layouts the graph's values are in.
    std::erase_if(found, [&](const kernels::KernelDef* k) {
      return !runtime::cpuSupports(k->feature) || !formatsMatch(*node, *k) ||
             (k->supports != nullptr && !k->supports(*node, shapes));
    });
    // Until the builder times tactics, a kernel other than the reference is preferred where one applies.
    std::stable_partition(found.begin(), found.end(),
                          [](const kernels::KernelDef* k) { return !k->reference; });
    if (found.empty()) {
      if (!registry.hasOp(node->domain, node->opType, kernels::Backend::kCpu)) {
        return Status(StatusCode::kUnsupported,
                      node->describe() + ": no CPU kernel implements " + node->opType, node->name);
      }
      return Status(
          StatusCode::kUnsupported,
          node->describe() + ": no CPU kernel for input types " + typeList(in) + " -> " + typeList(out),
          node->name);
    }
    impl->kernelOf[static_cast<size_t>(node->id)] = found.front();
  }
  if (options.device == lowp::Device::kCuda) LOWP_RETURN_IF_ERROR(chooseCudaKernels(*graph, options, *impl));
  for (const ir::Value* v : graph->inputs()) impl->inputs.push_back(describeValue(*v));
  for (const ir::Value* v : graph->outputs()) impl->outputs.push_back(describeValue(*v));
  impl->graph = std::move(graph);
  impl->options = options;
  return impl;
}

}  // namespace runtime

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::shared_ptr<Engine>> Engine::fromOnnxFile(const std::string& path, const EngineOptions& options) {
  LOWP_ASSIGN_OR_RETURN(auto graph, onnx::importOnnxFile(path));
  Status rewritten = passes::runPipeline(*graph);
  if (!rewritten) return rewritten.withContext(path);
  auto impl = runtime::prepareEngine(std::move(graph), options);
  if (!impl) return impl.status().withContext(path);
  return std::make_shared<Engine>(std::move(impl).value());
}

const std::vector<TensorDesc>& Engine::inputs() const {
  return impl_->inputs;
}
const std::vector<TensorDesc>& Engine::outputs() const {
  return impl_->outputs;
}
Device Engine::device() const {
  return impl_->options.device;
}
const std::vector<LayerInfo>& Engine::layers() const {
  return impl_->layers;
}
int64_t Engine::nodeCount() const {
  return static_cast<int64_t>(impl_->graph->nodes().size());
}

}  // namespace lowp
