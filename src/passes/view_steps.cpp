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

Result<ir::Value*> ViewSteps::constant(const std::string& step, Tensor tensor) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * c, value(step, tensor.type(), ir::Shape::fromSizes(tensor.shape())));
  c->constant = std::move(tensor);
  return c;
}

Result<ir::Value*> ViewSteps::transpose(ir::Value* x, const std::vector<int64_t>& perm,
                                        const std::string& step, ir::Value* y) {
  if (y == nullptr) {
    std::vector<ir::Dim> dims;
    dims.reserve(perm.size());
    for (int64_t p : perm) dims.push_back(x->shape.rankKnown() ? x->shape[p] : ir::Dim());
    LOWP_ASSIGN_OR_RETURN(y, value(step, x->type, ir::Shape(std::move(dims))));
  }
  ir::Node* node = graph_.addNode("Transpose", name_ + "/" + step);
  node->opsetVersion = 13;
  node->attributes.set("perm", perm);
  graph_.setInput(node, 0, x);
  LOWP_RETURN_IF_ERROR(graph_.addOutput(node, y));
  return y;
}

Result<ir::Value*> ViewSteps::reshape(ir::Value* x, const std::vector<int64_t>& target,
                                      const ir::Shape& shape, const std::string& step, ir::Value* y) {
  Tensor sizes(DataType::kInt64, {static_cast<int64_t>(target.size())});
  std::copy(target.begin(), target.end(), sizes.data<int64_t>());
  LOWP_ASSIGN_OR_RETURN(ir::Value * targetValue, constant(step + "_shape", std::move(sizes)));
  if (y == nullptr) {
    LOWP_ASSIGN_OR_RETURN(y, value(step, x->type, shape));
  }
  ir::Node* node = graph_.addNode("Reshape", name_ + "/" + step);
  node->opsetVersion = 14;
  graph_.setInput(node, 0, x);
  graph_.setInput(node, 1, targetValue);
  LOWP_RETURN_IF_ERROR(graph_.addOutput(node, y));
  return y;
}

}  // namespace lowp::passes
