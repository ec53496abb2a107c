// fuse_gelu: the exact GELU written out with Erf, x * 0.5 * (1 + erf(x / sqrt(2))), becomes one ONNX Gelu
// node, so that fuse_activation can put it into the epilogue of the MatMul before it (oneDNN's gelu_erf
// post-op, the CUDA epilogue) and no pass over memory is spent on its five elementwise steps.
//
// Targets: a Mul y = u * v (the last of the pattern, in either operand order) where
//   e = erf(x / c) with c = sqrt(2), or erf(x * c) with c = 1 / sqrt(2) (either operand order), c a scalar
//       constant equal to that value rounded to its type (within 1e-6 relative for fp32; see isScalarNear),
//   a = e + 1 (either order, a scalar constant 1),
//   and {u, v} together with the operands of a Mul producing u or v make up {x, a, 0.5} (a scalar constant
//   0.5): (x * a) * 0.5, (x * 0.5) * a, (a * 0.5) * x and their mirror images.
// Every intermediate is read by the next step only and is no graph output; all tensors share one float type;
// x's rank is known and no constant has a higher one (so y has x's shape).
// Rewrite: y's node becomes Gelu(x) (approximate "none") and records the names of the four nodes it replaces,
// which are removed (all come before it in the graph's order).
#include <cmath>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include "ir/data_type.h"
#include "passes/fuse_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

// A constant of one element equal to `want` rounded to its type: within 1e-6 (relative) for fp32 and fp64,
// half a unit in the last place for fp16 (2^-11) and bf16 (2^-8).
bool isScalarNear(const ir::Value* v, double want) {
  const std::optional<float> value = fusion::scalarConstant(v);
  if (!value) return false;
  const DataType type = v->constant->type();
  const double tolerance =
      type == DataType::kFloat16 ? 0x1p-11 : (type == DataType::kBFloat16 ? 0x1p-8 : 1e-6);
  return std::abs(static_cast<double>(*value) - want) <= tolerance * std::abs(want);
}

// The operand of a two-input node other than the one at `slot`.
ir::Value* otherOperand(const ir::Node& node, size_t slot) {
  return node.inputs[1 - slot];
}

// The slot of `node` that is a scalar constant near `want`, or nullopt.
std::optional<size_t> constantSlot(const ir::Node& node, double want) {
  for (size_t slot = 0; slot < 2; ++slot) {
    if (isScalarNear(node.input(slot), want)) return slot;
  }
  return std::nullopt;
}

bool isBinary(const ir::Node* node, const char* opType) {
  return node != nullptr && node->domain.empty() && node->opType == opType && node->inputs.size() == 2 &&
         node->outputs.size() == 1 && node->input(0) != nullptr && node->input(1) != nullptr;
}

// The pattern around the final Mul: the GELU's input and the nodes it replaces.
struct GeluMatch {
  ir::Value* x = nullptr;
  std::vector<ir::Node*> replaced;  ///< Scale (Div or Mul), Erf, Add, inner Mul.
};

// x from a = 1 + erf(x / sqrt(2)) (or x * 1 / sqrt(2)): the producer chain of `a`, each link read once.
std::optional<GeluMatch> erfPart(const ir::Value* a) {
  ir::Node* add = fusion::fusableProducer(a);
  if (!isBinary(add, "Add")) return std::nullopt;
  const std::optional<size_t> one = constantSlot(*add, 1.0);
  if (!one) return std::nullopt;
  ir::Node* erf = fusion::fusableProducer(otherOperand(*add, *one));
  if (erf == nullptr || !erf->domain.empty() || erf->opType != "Erf" || erf->inputs.size() != 1)
    return std::nullopt;
  ir::Node* scale = fusion::fusableProducer(erf->input(0));
  if (scale == nullptr || scale->inputs.size() != 2 || !scale->domain.empty()) return std::nullopt;
  ir::Value* x = nullptr;
  if (isBinary(scale, "Div") && isScalarNear(scale->input(1), std::numbers::sqrt2)) {
    x = scale->input(0);
  } else if (isBinary(scale, "Mul")) {
    const std::optional<size_t> c = constantSlot(*scale, 1.0 / std::numbers::sqrt2);
    if (c) x = otherOperand(*scale, *c);
  }
  if (x == nullptr) return std::nullopt;
  return GeluMatch{.x = x, .replaced = {scale, erf, add}};
}

// The one-element constants of the pattern broadcast into x's shape without growing it (a constant of a
// higher rank than x's would add dims to y, which Gelu(x) would not have).
bool keepsShape(const GeluMatch& m, const ir::Value* x, const ir::Value* half) {
  if (!x->shape.rankKnown()) return false;
  std::vector<const ir::Value*> constants = {half};
  for (const ir::Node* n : m.replaced) {
    for (const ir::Value* in : n->inputs) {
      if (in != nullptr && in->constant) constants.push_back(in);
    }
  }
  for (const ir::Value* c : constants) {
    if (static_cast<int64_t>(c->constant->rank()) > x->shape.rank()) return false;
  }
  return true;
}

std::optional<GeluMatch> match(const ir::Node& mul) {
  if (!isBinary(&mul, "Mul") || mul.outputs[0] == nullptr) return std::nullopt;
  const DataType type = mul.outputs[0]->type;
  if (!ir::isFloat(type)) return std::nullopt;
  // One operand of the final Mul comes from the inner Mul; the three leaves are x, a and 0.5.
  for (size_t innerSlot = 0; innerSlot < 2; ++innerSlot) {
    ir::Node* inner = fusion::fusableProducer(mul.input(innerSlot));
    if (!isBinary(inner, "Mul")) continue;
    const ir::Value* leaves[3] = {inner->input(0), inner->input(1), otherOperand(mul, innerSlot)};
    for (int half = 0; half < 3; ++half) {
      if (!isScalarNear(leaves[half], 0.5)) continue;
      for (int aSlot = 0; aSlot < 3; ++aSlot) {
        if (aSlot == half) continue;
        const ir::Value* x = leaves[3 - half - aSlot];
        std::optional<GeluMatch> m = erfPart(leaves[aSlot]);
        if (!m || m->x != x || x->type != type || !keepsShape(*m, x, leaves[half])) continue;
        bool sameType = true;
        for (const ir::Node* n : m->replaced) sameType = sameType && n->outputs[0]->type == type;
        if (!sameType) continue;
        m->replaced.push_back(inner);
        return m;
      }
    }
  }
  return std::nullopt;
}

bool isWrittenOutGelu(const ir::Graph& /*graph*/, const ir::Node& node) {
  return match(node).has_value();
}

Result<bool> fuseGelu(ir::Graph& graph, ir::Node& node) {
  std::optional<GeluMatch> m = match(node);
  if (!m) return false;
  std::vector<std::string> absorbed;
  for (ir::Node* n : m->replaced) {
    absorbed.push_back(n->name);
    absorbed.insert(absorbed.end(), n->absorbedNames.begin(), n->absorbedNames.end());
  }
  absorbed.insert(absorbed.end(), node.absorbedNames.begin(), node.absorbedNames.end());
  graph.setInput(&node, 0, m->x);
  graph.setInput(&node, 1, nullptr);
  node.inputs.resize(1);
  node.opType = "Gelu";
  node.opsetVersion = 20;
  node.attributes = {};
  node.absorbedNames = std::move(absorbed);
  // Consumers first, so that each removed node's output has no reader left.
  for (auto it = m->replaced.rbegin(); it != m->replaced.rend(); ++it) graph.removeNode(*it);
  return true;
}

}  // namespace

const RewriteRule& fuseGeluRule() {
  static const RewriteRule rule{.name = "fuse_gelu",
                                .opTypes = {"Mul"},
                                .condition = isWrittenOutGelu,
                                .rewrite = fuseGelu,
                                .mergesLayers = true};
  return rule;
}

}  // namespace lowp::passes
