// fuse_attention_layout: lowp.Attention reads its operands through the view ops before it and writes Y as
// the Transpose after it wants (ir/ops/attention_layout.h), so none of them copies a tensor.
//
// Targets, for a lowp.Attention node: walking back from Q, Kt and V, each chain of Transpose, Reshape and
// Expand (their targets known while planning), Squeeze / Unsqueeze (axes known), Gather of one constant
// scalar index, and Identity. The chain becomes the operand's view steps and its start the operand; each
// Reshape or Expand target becomes one more input of the node. The chain's nodes stay for whatever else reads
// them (an export's Shape ops often do; the runtime then skips nodes that only Shape reads). For a Transpose
// whose input is an Attention's output that nothing else reads: the Attention takes the Transpose's output
// and y_perm.
//
// A Transpose that keeps the last axis before the projection whose output becomes the operands (a
// MatMul of 2-D weights, and the Add of its bias) moves below it when everything that reads the
// projection is view ops ending in Attention operands, or Shape / Size: a product over rows does not care
// how the rows are ordered, so it reads the tensor as it is and the moved Transpose becomes one more view
// step. Exports of batch-first encoders transpose [B, S, E] to [S, B, E] there; the copy goes.
//
// A chain that no strided view expresses (a Reshape that cuts a strided dim) is found only when shapes are
// known: the node's shape inference then fails naming it. A Reshape merging two dims whose strides do not
// line up does not fail: the view keeps both, as attention_layout.h says.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "ir/ops/attention.h"
#include "ir/ops/attention_layout.h"
#include "ir/ops/fused.h"
#include "ir/ops/reduction_axes.h"
#include "passes/fuse_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

using ir::ops::ViewStepKind;

constexpr size_t kMaxSteps = 16;

bool isAttention(const ir::Node& node) {
  return node.domain == ir::ops::kLowpDomain && node.opType == ir::ops::kAttentionOp;
}

/// The integers of a constant, when it is one of integers.
std::optional<std::vector<int64_t>> constantInts(const ir::Value* v) {
  if (v == nullptr || !v->constant) return std::nullopt;
  return ir::ops::tensorInts(*v->constant);
}

/// One view op as a step: its kind, its arguments, and (Reshape) the target value.
struct Step {
  ViewStepKind kind;
  std::vector<int64_t> args;
  ir::Value* target = nullptr;
};

/// `node` as a step, when it is a view op the layout folds; Identity gives a step of no kind (nullopt
/// inside: no step, keep walking).
std::optional<std::optional<Step>> stepOf(const ir::Node& node) {
  if (!node.domain.empty() || node.outputs.size() != 1 || node.input(0) == nullptr) return std::nullopt;
  const ir::Value* in = node.input(0);
  if (node.opType == "Identity") return std::optional<Step>();
  if (node.opType == "Transpose") {
    std::vector<int64_t> perm = node.attributes.getInts("perm");
    if (perm.empty()) {
      if (!in->shape.rankKnown()) return std::nullopt;
      for (int64_t d = in->shape.rank(); d-- > 0;) perm.push_back(d);
    }
    return std::optional<Step>(Step{ViewStepKind::kTranspose, perm});
  }
  if (node.opType == "Reshape") {
    ir::Value* target = node.input(1);
    if (target == nullptr || !fusion::knownWhilePlanning(target)) return std::nullopt;
    return std::optional<Step>(
        Step{ViewStepKind::kReshape, {-1, node.attributes.getInt("allowzero", 0)}, target});
  }
  if (node.opType == "Expand") {
    ir::Value* target = node.input(1);
    if (target == nullptr || !fusion::knownWhilePlanning(target)) return std::nullopt;
    return std::optional<Step>(Step{ViewStepKind::kExpand, {-1}, target});
  }
  if (node.opType == "Squeeze" || node.opType == "Unsqueeze") {
    const bool squeeze = node.opType == "Squeeze";
    std::optional<std::vector<int64_t>> axes;
    if (node.opsetVersion < 13) {
      if (node.attributes.has("axes")) axes = node.attributes.getInts("axes");
    } else {
      axes = constantInts(node.input(1));
    }
    if (!axes || axes->empty()) return std::nullopt;  // Squeeze of every 1: which they are is not known yet
    return std::optional<Step>(Step{squeeze ? ViewStepKind::kSqueeze : ViewStepKind::kUnsqueeze, *axes});
  }
  if (node.opType == "Gather") {
    const ir::Value* indices = node.input(1);
    const auto index = constantInts(indices);
    if (!index || index->size() != 1 || indices->constant->rank() != 0) return std::nullopt;
    return std::optional<Step>(Step{ViewStepKind::kGather, {node.attributes.getInt("axis", 0), (*index)[0]}});
  }
  return std::nullopt;
}

/// The chain of view ops ending in `operand`, first op first, and the value it starts from.
std::pair<ir::Value*, std::vector<Step>> viewChain(ir::Value* operand) {
  std::vector<Step> steps;
  ir::Value* v = operand;
  while (v->producer != nullptr && steps.size() < kMaxSteps) {
    const auto step = stepOf(*v->producer);
    if (!step) break;
    if (*step) steps.push_back(**step);
    v = v->producer->inputs[0];
  }
  std::reverse(steps.begin(), steps.end());
  return {v, steps};
}

bool isShapeRead(const ir::Node& node) {
  return node.domain.empty() && (node.opType == "Shape" || node.opType == "Size");
}

/// Whether nothing reads what `node` computes but nodes of the same kind: what earlier fusions left of the
/// ops they absorbed (the Attention's scaling Mul and MatMuls), which dead-node removal drops.
bool isUnread(const ir::Node& node, size_t depth) {
  if (depth > kMaxSteps) return false;
  for (const ir::Value* out : node.outputs) {
    if (out == nullptr) continue;
    if (out->isGraphOutput) return false;
    for (const ir::Node* reader : out->consumers) {
      if (!isUnread(*reader, depth + 1)) return false;
    }
  }
  return true;
}

/// Whether every reader of `v` is Shape / Size, unread, or a view op (a step of stepOf) whose readers are
/// the same, down to Q, Kt or V of an Attention, which at least one path reaches.
bool onlyViewedByAttention(const ir::Value* v, size_t depth, bool& reached) {
  if (v == nullptr || v->isGraphOutput || depth > kMaxSteps) return false;
  for (const ir::Node* reader : v->consumers) {
    if (isShapeRead(*reader) || isUnread(*reader, 0)) continue;
    if (isAttention(*reader)) {
      for (size_t slot = 0; slot < reader->inputs.size(); ++slot) {
        if (reader->inputs[slot] == v && slot > 2) return false;
      }
      reached = true;
      continue;
    }
    if (!stepOf(*reader) || reader->input(0) != v) return false;
    for (size_t slot = 1; slot < reader->inputs.size(); ++slot) {
      if (reader->inputs[slot] == v) return false;
    }
    if (!onlyViewedByAttention(reader->outputs[0], depth + 1, reached)) return false;
  }
  return true;
}

/// The MatMul of 2-D weights that reads `transpose`, a Transpose keeping the last axis whose other readers
/// are Shape / Size; nullptr otherwise.
ir::Node* projectionAfter(const ir::Node& transpose) {
  if (!transpose.domain.empty() || transpose.opType != "Transpose" || transpose.outputs.size() != 1 ||
      transpose.outputs[0] == nullptr || transpose.outputs[0]->isGraphOutput) {
    return nullptr;
  }
  const std::vector<int64_t> perm = transpose.attributes.getInts("perm");
  const auto rank = static_cast<int64_t>(perm.size());
  if (rank < 3 || perm.back() != rank - 1) return nullptr;
  ir::Node* product = nullptr;
  for (ir::Node* reader : transpose.outputs[0]->consumers) {
    if (isShapeRead(*reader)) continue;
    if (product != nullptr || !reader->domain.empty() || reader->opType != "MatMul" ||
        reader->input(0) != transpose.outputs[0] || reader->input(1) == transpose.outputs[0]) {
      return nullptr;
    }
    product = reader;
  }
  const ir::Value* weights = product != nullptr ? product->input(1) : nullptr;
  if (weights == nullptr || !weights->shape.rankKnown() || weights->shape.rank() != 2) return nullptr;
  return product->outputs.size() == 1 && product->outputs[0] != nullptr ? product : nullptr;
}

/// The Add of a constant vector to `product`'s output, when it is the output's one reader.
ir::Node* biasAddAfter(const ir::Node& product) {
  const ir::Value* y = product.outputs[0];
  if (y->isGraphOutput || y->consumers.size() != 1) return nullptr;
  ir::Node* add = y->consumers[0];
  if (!add->domain.empty() || add->opType != "Add" || add->inputs.size() != 2 || add->outputs.size() != 1) {
    return nullptr;
  }
  const ir::Value* bias = add->input(0) == y ? add->input(1) : add->input(0);
  return bias != nullptr && bias != y && bias->constant && bias->constant->rank() == 1 ? add : nullptr;
}

/// The last node of the projection `transpose` feeds (its bias Add, or the MatMul), when the Transpose can
/// move below it.
ir::Node* movableBelow(const ir::Node& transpose) {
  ir::Node* product = projectionAfter(transpose);
  if (product == nullptr) return nullptr;
  ir::Node* add = biasAddAfter(*product);
  ir::Node* last = add != nullptr ? add : product;
  bool reached = false;
  return onlyViewedByAttention(last->outputs[0], 0, reached) && reached ? last : nullptr;
}

/// `shape` before `perm` was applied to it.
ir::Shape untransposed(const ir::Shape& shape, const std::vector<int64_t>& perm) {
  if (!shape.rankKnown() || shape.rank() != static_cast<int64_t>(perm.size()))
    return ir::Shape::unknownRank();
  std::vector<ir::Dim> dims(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    dims[static_cast<size_t>(perm[i])] = shape[static_cast<int64_t>(i)];
  return ir::Shape(dims);
}

// The projection reads the Transpose's input; its result, as it now comes out, goes through a new Transpose
// (same perm) into the value the views read, so they and their Shape readers see what they saw.
Result<bool> moveBelowProjection(ir::Graph& graph, ir::Node& transpose) {
  ir::Node* last = movableBelow(transpose);
  ir::Node* product = projectionAfter(transpose);
  const std::vector<int64_t> perm = transpose.attributes.getInts("perm");
  graph.setInput(product, 0, transpose.input(0));
  if (last != product) product->outputs[0]->shape = untransposed(product->outputs[0]->shape, perm);
  ir::Value* viewed = last->outputs[0];
  LOWP_ASSIGN_OR_RETURN(ir::Value * rows, graph.addValue(uniqueValueName(graph, viewed->name + "/rows")));
  rows->type = viewed->type;
  rows->shape = untransposed(viewed->shape, perm);
  viewed->producer = nullptr;
  last->outputs[0] = rows;
  rows->producer = last;
  ir::Node* moved = graph.addNode("Transpose", transpose.name + "/below_projection");
  moved->opsetVersion = transpose.opsetVersion;
  moved->attributes.set("perm", perm);
  graph.setInput(moved, 0, rows);
  LOWP_RETURN_IF_ERROR(graph.addOutput(moved, viewed));
  // The new node comes last in the graph's order; the rules after this one may walk it in order.
  LOWP_RETURN_IF_ERROR(graph.sortTopologically());
  return true;
}

bool foldsOperands(const ir::Node& node) {
  for (size_t slot = 0; slot < 3; ++slot) {
    ir::Value* operand = node.input(slot);
    if (operand != nullptr && !viewChain(operand).second.empty()) return true;
  }
  return false;
}

/// The Attention whose output `transpose` reads, when the Transpose is the output's only reader.
ir::Node* transposedAttention(const ir::Node& transpose) {
  if (!transpose.domain.empty() || transpose.opType != "Transpose" || transpose.outputs.size() != 1 ||
      !transpose.attributes.has("perm")) {
    return nullptr;
  }
  ir::Node* producer = fusion::fusableProducer(transpose.input(0));
  return producer != nullptr && isAttention(*producer) ? producer : nullptr;
}

bool applies(const ir::Graph& /*graph*/, const ir::Node& node) {
  if (isAttention(node)) return foldsOperands(node);
  return transposedAttention(node) != nullptr || movableBelow(node) != nullptr;
}

Result<bool> fold(ir::Graph& graph, ir::Node& node) {
  if (!isAttention(node) && transposedAttention(node) == nullptr) return moveBelowProjection(graph, node);
  if (!isAttention(node)) {
    ir::Node* attention = transposedAttention(node);
    // Y' = transpose(Y, perm) where Y may already be written as transpose(canonical, old).
    const std::vector<int64_t> perm = node.attributes.getInts("perm");
    const std::vector<int64_t> old = attention->attributes.getInts(ir::ops::kAttentionYPerm);
    std::vector<int64_t> composed;
    for (int64_t p : perm) {
      if (p < 0 || (!old.empty() && p >= static_cast<int64_t>(old.size()))) return false;
      composed.push_back(old.empty() ? p : old[static_cast<size_t>(p)]);
    }
    attention->attributes.set(std::string(ir::ops::kAttentionYPerm), composed);
    fusion::absorbConsumer(graph, *attention, node);
    return true;
  }
  bool changed = false;
  for (size_t slot = 0; slot < 3; ++slot) {
    ir::Value* operand = node.input(slot);
    if (operand == nullptr) continue;
    auto [base, steps] = viewChain(operand);
    if (steps.empty()) continue;
    std::vector<int64_t> program;
    for (Step& step : steps) {
      if (step.target != nullptr) {
        step.args[0] = static_cast<int64_t>(fusion::attentionExtraInput(graph, node, step.target));
      }
      ir::ops::appendViewStep(program, step.kind, step.args);
    }
    // Steps folded earlier apply after these.
    const std::string attribute(ir::ops::attentionViewAttribute(slot));
    const std::vector<int64_t> earlier = node.attributes.getInts(attribute);
    program.insert(program.end(), earlier.begin(), earlier.end());
    node.attributes.set(attribute, program);
    graph.setInput(&node, slot, base);
    changed = true;
  }
  return changed;
}

}  // namespace

const RewriteRule& fuseAttentionLayoutRule() {
  static const RewriteRule rule{.name = "fuse_attention_layout",
                                .opTypes = {},
                                .condition = applies,
                                .rewrite = fold,
                                .mergesLayers = true};
  return rule;
}

}  // namespace lowp::passes
