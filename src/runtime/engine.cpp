#include "lowp/engine.h"

#include <algorithm>

#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_features.h"
#include "runtime/engine_impl.h"

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

}  // namespace

Result<std::unique_ptr<Engine::Impl>> prepareEngine(std::unique_ptr<ir::Graph> graph,
                                                    const EngineOptions& options) {
  auto impl = std::make_unique<Engine::Impl>();
  const auto& registry = kernels::KernelRegistry::global();
  int64_t maxId = 0;
  for (const ir::Node* n : graph->nodes()) maxId = std::max(maxId, n->id);
  impl->kernelOf.assign(static_cast<size_t>(maxId + 1), nullptr);
  for (const ir::Node* node : graph->nodes()) {
    std::vector<DataType> in;
    std::vector<DataType> out;
    for (const ir::Value* v : node->inputs) in.push_back(v ? v->type : DataType::kUndefined);
    for (const ir::Value* v : node->outputs) out.push_back(v ? v->type : DataType::kUndefined);
    auto found = registry.find(node->domain, node->opType, kernels::Backend::kCpu, in, out);
    std::vector<ir::Shape> shapes;
    for (const ir::Value* v : node->inputs) shapes.push_back(v ? v->shape : ir::Shape::unknownRank());
    // A kernel must also read and write the layouts the graph's values are in.
    auto formatsMatch = [&](const kernels::KernelDef* k) {
      for (size_t i = 0; i < node->inputs.size(); ++i) {
        if (node->inputs[i] != nullptr && k->inputFormat(i) != node->inputs[i]->format) return false;
      }
      for (size_t i = 0; i < node->outputs.size(); ++i) {
        if (node->outputs[i] != nullptr && k->outputFormat(i) != node->outputs[i]->format) return false;
      }
      return true;
    };
    std::erase_if(found, [&](const kernels::KernelDef* k) {
      return !runtime::cpuSupports(k->feature) || !formatsMatch(k) ||
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
const std::vector<LayerInfo>& Engine::layers() const {
  return impl_->layers;
}
int64_t Engine::nodeCount() const {
  return static_cast<int64_t>(impl_->graph->nodes().size());
}

}  // namespace lowp
