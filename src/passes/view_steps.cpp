#include "passes/view_steps.h"

#include <algorithm>
#include <utility>

#include "passes/rewrite_rule.h"

namespace lowp::passes {

Result<ir::Value*> ViewSteps::value(const std::string& step, DataType type, ir::Shape shape) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * v, graph_.addValue(uniqueValueName(graph_, name_ + "/" + step)));
  v->type = type;
  v->shape = std::move(shape);
  return v;
}

Result<ir::Node*> ViewSteps::node(const std::string& opType, int64_t opset, const std::string& step,
                                  const std::vector<ir::Value*>& inputs, ir::Value* y) {
  ir::Node* n = graph_.addNode(opType, name_ + "/" + step);
  n->opsetVersion = opset;
  for (size_t i = 0; i < inputs.size(); ++i) graph_.setInput(n, i, inputs[i]);
  LOWP_RETURN_IF_ERROR(graph_.addOutput(n, y));
  return n;
}

Result<ir::Value*> ViewSteps::constant(const std::string& step, Tensor tensor) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * c, value(step, tensor.type(), ir::Shape::fromSizes(tensor.shape())));
  c->constant = std::move(tensor);
  return c;
}

Result<ir::Value*> ViewSteps::ints(const std::string& step, const std::vector<int64_t>& values) {
  Tensor t(DataType::kInt64, {static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return constant(step, std::move(t));
}

Result<ir::Value*> ViewSteps::transpose(ir::Value* x, const std::vector<int64_t>& perm,
                                        const std::string& step, ir::Value* y) {
  if (y == nullptr) {
    std::vector<ir::Dim> dims;
    dims.reserve(perm.size());
    for (int64_t p : perm) dims.push_back(x->shape.rankKnown() ? x->shape[p] : ir::Dim());
    LOWP_ASSIGN_OR_RETURN(y, value(step, x->type, ir::Shape(std::move(dims))));
  }
  LOWP_ASSIGN_OR_RETURN(ir::Node * n, node("Transpose", 13, step, {x}, y));
  n->attributes.set("perm", perm);
  return y;
}

Result<ir::Value*> ViewSteps::reshape(ir::Value* x, const std::vector<int64_t>& target,
                                      const ir::Shape& shape, const std::string& step, ir::Value* y) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * targetValue, ints(step + "_shape", target));
  if (y == nullptr) {
    LOWP_ASSIGN_OR_RETURN(y, value(step, x->type, shape));
  }
  LOWP_RETURN_IF_ERROR(node("Reshape", 14, step, {x, targetValue}, y).status());
  return y;
}

}  // namespace lowp::passes
