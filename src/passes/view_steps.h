// New nodes and values for the rules that lower one op into others (lower_einsum.cpp,
// lower_attention.cpp): view ops (Transpose, Reshape to a constant target), constants and the values
// between them, each named "<name>/<step>" after the node being lowered.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "lowp/status.h"

namespace lowp::passes {

class ViewSteps {
 public:
  ViewSteps(ir::Graph& graph, std::string name) : graph_(graph), name_(std::move(name)) {}

  /// A new value "<name>/<step>" (made unique) of `type` and `shape`.
  Result<ir::Value*> value(const std::string& step, DataType type, ir::Shape shape);
  /// A default-domain node `opType` of `opset`, named "<name>/<step>", reading `inputs` and writing y;
  /// returned for its attributes.
  Result<ir::Node*> node(const std::string& opType, int64_t opset, const std::string& step,
                         const std::vector<ir::Value*>& inputs, ir::Value* y);
  /// A new constant "<name>/<step>" holding `tensor`.
  Result<ir::Value*> constant(const std::string& step, Tensor tensor);
  /// A new constant "<name>/<step>": `values` as a 1-D int64 tensor (a shape, axes, a Reshape target).
  Result<ir::Value*> ints(const std::string& step, const std::vector<int64_t>& values);
  /// x transposed by `perm` into y (a new value, its dims x's permuted, when y is null); returns y.
  Result<ir::Value*> transpose(ir::Value* x, const std::vector<int64_t>& perm, const std::string& step,
                               ir::Value* y = nullptr);
  /// x reshaped to the constant `target` (ONNX's rules: 0 copies x's dim, -1 is inferred) into y (a new
  /// value of `shape` when y is null); returns y.
  Result<ir::Value*> reshape(ir::Value* x, const std::vector<int64_t>& target, const ir::Shape& shape,
                             const std::string& step, ir::Value* y = nullptr);

 private:
  ir::Graph& graph_;
  std::string name_;
};

}  // namespace lowp::passes
