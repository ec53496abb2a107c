// Builds small ir::Graphs by value names and runs them, for the tests of rewrite rules and fusions.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "onnx/importer.h"
#include "runtime/engine_impl.h"

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

}  // namespace lowp::testing
