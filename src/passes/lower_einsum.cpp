// lower_einsum: an Einsum of two float operands that is a (batched) matrix product becomes
//   Transpose -> Reshape (each operand) -> MatMul -> Reshape -> Transpose
// so it runs on the backends' matrix-product kernels (oneDNN, cuBLASLt) and takes reduced precisions,
// where the Einsum kernel is a reference loop (and has no CUDA kernel). A one-operand Einsum that only
// permutes its dims becomes a Transpose.
//
// The letters of a two-operand equation fall into four roles: batch (in both operands and the output),
// contracted (in both, not in the output), rows (only in the first operand and the output) and columns
// (only in the second and the output). The first operand is permuted to [batch, rows, contracted] and
// viewed as [B, M, K], the second to [batch, contracted, columns] as [B, K, N] (2-D when there is no
// batch letter, so a constant second operand is the weights of a plain product), and the product
// [B, M, N] is viewed as [batch, rows, columns] and permuted to the output's order. Steps that would
// change nothing (an identity permutation, a view of the same shape) are left out; fold_constants, which
// runs after this rule, computes the permuted view of a constant operand once.
//
// Declined (the Einsum kernel runs them): a letter repeated in one operand (a diagonal) or in the output,
// a letter summed in one operand only, "..." dims that broadcast (size 1 against a larger size), shapes
// not all known, types other than fp32, fp16 and bf16, and more than two operands.
//
// The MatMul keeps the Einsum's name, so layer precisions and the layer report name it as the model does;
// the other steps are named after it ("<name>/lhs_transpose", ...).
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/data_type.h"
#include "ir/ops/linear_einsum.h"
#include "passes/rules.h"
#include "passes/view_steps.h"

namespace lowp::passes {
namespace {

// How one Einsum maps onto a matrix product: the axes of the plan in each role, in the order they appear
// in the output (batch, rows, columns) or in the first operand (contracted).
struct ProductPlan {
  ir::ops::EinsumPlan plan;
  std::vector<int64_t> batch, rows, contracted, columns;
};

bool isLoweredType(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

bool hasRepeats(const std::vector<int64_t>& axes) {
  std::vector<int64_t> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

bool contains(const std::vector<int64_t>& axes, int64_t axis) {
  return std::find(axes.begin(), axes.end(), axis) != axes.end();
}

// The plan of `node` where every operand's shape is known and no "..." dim broadcasts; nullopt otherwise.
std::optional<ir::ops::EinsumPlan> staticPlan(const ir::Node& node) {
  if (!node.domain.empty() || node.outputs.size() != 1 || node.outputs[0] == nullptr) return std::nullopt;
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const ir::Value* v = node.input(i);
    if (v == nullptr || !v->shape.rankKnown() || !v->shape.isStatic() || !isLoweredType(v->type) ||
        v->type != node.input(0)->type)
      return std::nullopt;
    shapes.push_back(v->shape.sizes());
  }
  auto equation = ir::ops::parseEinsum(node.attributes.getString("equation"), node.inputs.size());
  if (!equation) return std::nullopt;
  auto plan = ir::ops::planEinsum(*equation, shapes);
  if (!plan) return std::nullopt;
  for (size_t i = 0; i < shapes.size(); ++i) {
    for (size_t d = 0; d < shapes[i].size(); ++d) {
      if (shapes[i][d] != plan->sizes[static_cast<size_t>(plan->inputAxes[i][d])]) return std::nullopt;
    }
    if (hasRepeats(plan->inputAxes[i])) return std::nullopt;
  }
  if (hasRepeats(plan->outputAxes)) return std::nullopt;
  return *plan;
}

std::optional<ProductPlan> productPlan(const ir::Node& node) {
  if (node.inputs.size() != 2) return std::nullopt;
  auto plan = staticPlan(node);
  if (!plan) return std::nullopt;
  ProductPlan p;
  const std::vector<int64_t>& a = plan->inputAxes[0];
  const std::vector<int64_t>& b = plan->inputAxes[1];
  const std::vector<int64_t>& out = plan->outputAxes;
  for (int64_t axis : out) {
    const bool inA = contains(a, axis);
    const bool inB = contains(b, axis);
    if (inA && inB) {
      p.batch.push_back(axis);
    } else if (inA) {
      p.rows.push_back(axis);
    } else if (inB) {
      p.columns.push_back(axis);
    } else {
      return std::nullopt;  // a letter of the output alone (planEinsum rejects it; kept for safety)
    }
  }
  for (int64_t axis : a) {
    if (contains(out, axis)) continue;
    if (!contains(b, axis)) return std::nullopt;  // summed in the first operand only
    p.contracted.push_back(axis);
  }
  for (int64_t axis : b) {
    if (!contains(out, axis) && !contains(a, axis)) return std::nullopt;  // summed in the second only
  }
  p.plan = std::move(*plan);
  return p;
}

// Whether a one-operand Einsum only permutes its dims.
bool isPermutation(const ir::Node& node) {
  if (node.inputs.size() != 1) return false;
  auto plan = staticPlan(node);
  return plan && plan->inputAxes[0].size() == plan->outputAxes.size();
}

bool applies(const ir::Graph& /*graph*/, const ir::Node& node) {
  return productPlan(node).has_value() || isPermutation(node);
}

int64_t sizeOf(const ir::ops::EinsumPlan& plan, const std::vector<int64_t>& axes) {
  int64_t n = 1;
  for (int64_t axis : axes) n *= plan.sizes[static_cast<size_t>(axis)];
  return n;
}

// values[at[0]], values[at[1]], ...
std::vector<int64_t> picked(const std::vector<int64_t>& values, const std::vector<int64_t>& at) {
  std::vector<int64_t> out;
  out.reserve(at.size());
  for (int64_t i : at) out.push_back(values[static_cast<size_t>(i)]);
  return out;
}

std::vector<int64_t> concat(std::initializer_list<const std::vector<int64_t>*> parts) {
  std::vector<int64_t> all;
  for (const std::vector<int64_t>* part : parts) all.insert(all.end(), part->begin(), part->end());
  return all;
}

// The permutation that takes dims ordered as `from` (plan axes) to the order `to`.
std::vector<int64_t> permutation(const std::vector<int64_t>& from, const std::vector<int64_t>& to) {
  std::vector<int64_t> perm;
  perm.reserve(to.size());
  for (int64_t axis : to) perm.push_back(std::find(from.begin(), from.end(), axis) - from.begin());
  return perm;
}

bool isIdentity(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

// Adds the steps between values, each a new node named after the Einsum; a step that would change nothing
// gives its input back.
class Steps {
 public:
  Steps(ir::Graph& graph, std::string name) : views_(graph, std::move(name)) {}

  // `x` permuted by `perm`.
  Result<ir::Value*> transpose(ir::Value* x, const std::vector<int64_t>& perm, const std::string& step) {
    if (isIdentity(perm)) return x;
    return views_.transpose(x, perm, step);
  }

  Status addTranspose(ir::Value* x, const std::vector<int64_t>& perm, ir::Value* y, const std::string& step) {
    return views_.transpose(x, perm, step, y).status();
  }

  // `x` viewed as `sizes`.
  Result<ir::Value*> reshape(ir::Value* x, const std::vector<int64_t>& sizes, const std::string& step) {
    if (x->shape.sizes() == sizes) return x;
    return views_.reshape(x, sizes, ir::Shape::fromSizes(sizes), step);
  }

  Result<ir::Value*> value(const std::string& step, DataType type, const std::vector<int64_t>& sizes) {
    return views_.value(step, type, ir::Shape::fromSizes(sizes));
  }

 private:
  ViewSteps views_;
};

// A one-operand Einsum that permutes: one Transpose (or Identity) with the Einsum's name.
Result<bool> lowerPermutation(ir::Graph& graph, ir::Node& einsum) {
  const ir::ops::EinsumPlan plan = *staticPlan(einsum);
  ir::Value* x = einsum.input(0);
  ir::Value* output = einsum.outputs[0];
  const std::string name = einsum.name;
  const std::vector<int64_t> perm = permutation(plan.inputAxes[0], plan.outputAxes);
  graph.removeNode(&einsum);
  ir::Node* node = graph.addNode(isIdentity(perm) ? "Identity" : "Transpose", name);
  node->opsetVersion = 13;
  if (!isIdentity(perm)) node->attributes.set("perm", perm);
  graph.setInput(node, 0, x);
  LOWP_RETURN_IF_ERROR(graph.addOutput(node, output));
  LOWP_RETURN_IF_ERROR(graph.sortTopologically());
  return true;
}

Result<bool> lower(ir::Graph& graph, ir::Node& einsum) {
  if (einsum.inputs.size() == 1) return lowerPermutation(graph, einsum);
  const ProductPlan p = *productPlan(einsum);
  const ir::ops::EinsumPlan& plan = p.plan;
  const std::string name = einsum.name;
  ir::Value* output = einsum.outputs[0];
  Steps steps(graph, name);
  const int64_t batch = sizeOf(plan, p.batch);
  const int64_t m = sizeOf(plan, p.rows);
  const int64_t k = sizeOf(plan, p.contracted);
  const int64_t n = sizeOf(plan, p.columns);
  auto viewed = [&](std::vector<int64_t> matrix) {
    if (!p.batch.empty()) matrix.insert(matrix.begin(), batch);
    return matrix;
  };
  LOWP_ASSIGN_OR_RETURN(
      ir::Value * a,
      steps.transpose(einsum.input(0),
                      permutation(plan.inputAxes[0], concat({&p.batch, &p.rows, &p.contracted})),
                      "lhs_transpose"));
  LOWP_ASSIGN_OR_RETURN(a, steps.reshape(a, viewed({m, k}), "lhs_reshape"));
  LOWP_ASSIGN_OR_RETURN(
      ir::Value * b,
      steps.transpose(einsum.input(1),
                      permutation(plan.inputAxes[1], concat({&p.batch, &p.contracted, &p.columns})),
                      "rhs_transpose"));
  LOWP_ASSIGN_OR_RETURN(b, steps.reshape(b, viewed({k, n}), "rhs_reshape"));
  graph.removeNode(&einsum);  // frees `output` for the step that writes it

  LOWP_ASSIGN_OR_RETURN(ir::Value * product, steps.value("product", a->type, viewed({m, n})));
  ir::Node* matmul = graph.addNode("MatMul", name);
  matmul->opsetVersion = 13;
  graph.setInput(matmul, 0, a);
  graph.setInput(matmul, 1, b);
  LOWP_RETURN_IF_ERROR(graph.addOutput(matmul, product));
  const std::vector<int64_t> productAxes = concat({&p.batch, &p.rows, &p.columns});
  LOWP_ASSIGN_OR_RETURN(ir::Value * y,
                        steps.reshape(product, picked(plan.sizes, productAxes), "output_reshape"));
  const std::vector<int64_t> perm = permutation(productAxes, plan.outputAxes);
  if (isIdentity(perm)) {
    // The last step (the product or its view) writes the output itself.
    ir::Node* last = y->producer;
    last->outputs[0] = output;
    output->producer = last;
    y->producer = nullptr;
  } else {
    LOWP_RETURN_IF_ERROR(steps.addTranspose(y, perm, output, "output_transpose"));
  }
  LOWP_RETURN_IF_ERROR(graph.sortTopologically());
  return true;
}

}  // namespace

const RewriteRule& lowerEinsumRule() {
  static const RewriteRule rule{
      .name = "lower_einsum", .opTypes = {"Einsum"}, .condition = applies, .rewrite = lower};
  return rule;
}

}  // namespace lowp::passes
