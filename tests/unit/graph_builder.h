// Builds small ir::Graphs by value names and runs them, for the tests of rewrite rules and fusions.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel.h"
#include "onnx/importer.h"
#include "runtime/engine_impl.h"
#include "runtime/thread_pool.h"

namespace lowp::testing {

class GraphBuilder {
 public:
  /// Every default-domain node gets `opset`.
  explicit GraphBuilder(int64_t opset = 17) : graph_(std::make_unique<ir::Graph>()), opset_(opset) {}

  void input(const std::string& name, const std::vector<int64_t>& shape, DataType type = DataType::kFloat32) {
    ir::Value* v = value(name);
    v->type = type;
    v->shape = ir::Shape::fromSizes(shape);
    v->isGraphInput = true;
    graph_->inputs().push_back(v);
  }
  void constant(const std::string& name, Tensor t) {
    ir::Value* v = value(name);
    v->type = t.type();
    v->shape = ir::Shape::fromSizes(t.shape());
    v->constant = std::move(t);
  }
  /// A node reading `inputs` ("" for an omitted optional input) and writing `outputs` ("" likewise).
  ir::Node* node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                 const std::vector<std::string>& outputs, ir::AttributeMap attributes = {}) {
    ir::Node* n = graph_->addNode(op, name);
    n->opsetVersion = opset_;
    n->attributes = std::move(attributes);
    for (size_t i = 0; i < inputs.size(); ++i) {
      graph_->setInput(n, i, inputs[i].empty() ? nullptr : value(inputs[i]));
    }
    for (const std::string& out : outputs) {
      EXPECT_TRUE(graph_->addOutput(n, out.empty() ? nullptr : value(out)).isOk());
    }
    return n;
  }
  void output(const std::string& name) {
    ir::Value* v = value(name);
    v->isGraphOutput = true;
    graph_->outputs().push_back(v);
  }
  /// The graph, sorted and with every type and shape inferred.
  std::unique_ptr<ir::Graph> finish() {
    EXPECT_TRUE(graph_->sortTopologically().isOk());
    const Status s = onnx::inferGraph(*graph_);
    EXPECT_TRUE(s.isOk()) << s.toString();
    return std::move(graph_);
  }

 private:
  ir::Value* value(const std::string& name) {
    if (ir::Value* v = graph_->findValue(name)) return v;
    return graph_->addValue(name).value();
  }
  std::unique_ptr<ir::Graph> graph_;
  int64_t opset_;
};

/// Runs `graph` as an engine (the kernels prepareEngine picks) on `inputs` and returns its outputs.
inline std::vector<NamedTensor> runGraph(std::unique_ptr<ir::Graph> graph,
                                         const std::vector<NamedTensor>& inputs) {
  auto impl = runtime::prepareEngine(std::move(graph), EngineOptions{});
  EXPECT_TRUE(impl.isOk()) << impl.status().toString();
  if (!impl) return {};
  Engine engine(std::move(impl).value());
  auto context = engine.createExecutionContext();
  std::vector<NamedTensor> outputs;
  const Status s = context->execute(inputs, outputs);
  EXPECT_TRUE(s.isOk()) << s.toString();
  return outputs;
}

/// Runs every node of `graph` with the reference kernel of its op (static shapes only), in order, and
/// returns the graph outputs: the oracle a rewritten graph is compared with.
inline std::vector<Tensor> runReference(const ir::Graph& graph, const std::vector<NamedTensor>& inputs) {
  static runtime::ThreadPool pool(2);
  const kernels::ParallelFor parallelFor = [](int64_t n, int64_t grain,
                                              const std::function<void(int64_t, int64_t)>& fn) {
    pool.parallelFor(n, grain, fn);
  };
  std::vector<Tensor> values(graph.values().size());
  for (const auto& v : graph.values()) {
    if (v->constant) values[static_cast<size_t>(v->id)] = *v->constant;
  }
  for (const NamedTensor& in : inputs) values[static_cast<size_t>(graph.findValue(in.name)->id)] = in.tensor;
  for (const ir::Node* node : graph.nodes()) {
    // The op's reference kernel for these types (an op may have one per type family).
    std::vector<DataType> inTypes;
    std::vector<DataType> outTypes;
    for (const ir::Value* v : node->inputs) inTypes.push_back(v ? v->type : DataType::kUndefined);
    for (const ir::Value* v : node->outputs) outTypes.push_back(v ? v->type : DataType::kUndefined);
    const kernels::KernelDef* ref = nullptr;
    for (const kernels::KernelDef* k : kernels::KernelRegistry::global().find(
             node->domain, node->opType, kernels::Backend::kCpu, inTypes, outTypes)) {
      if (k->reference) ref = k;
    }
    EXPECT_NE(ref, nullptr) << node->describe();
    if (ref == nullptr) return {};
    std::vector<const Tensor*> ins;
    for (const ir::Value* v : node->inputs) ins.push_back(v ? &values[static_cast<size_t>(v->id)] : nullptr);
    const ir::Value* out = node->outputs[0];
    Tensor& y = values[static_cast<size_t>(out->id)];
    y = Tensor(out->type, out->shape.sizes());
    kernels::KernelContext ctx(*node, ins, {&y}, parallelFor,
                               [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
    const Status s = ref->fn(ctx);
    EXPECT_TRUE(s.isOk()) << node->describe() << ": " << s.toString();
  }
  std::vector<Tensor> outputs;
  for (const ir::Value* v : graph.outputs()) outputs.push_back(values[static_cast<size_t>(v->id)]);
  return outputs;
}

}  // namespace lowp::testing
