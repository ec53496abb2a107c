// fuse_transposed_residual: a lowp.FusedLayerNorm reads a Transpose that keeps the last axis in place
// (residual_perm, ir/ops/fused.h): every row of the sum still adds one contiguous row of the Transpose's
// input, so its copy goes. A batch-first encoder's export transposes its output projection's [S, B, E] back
// to [B, S, E] right before the residual Add and LayerNormalization.
//
// Targets: a lowp.FusedLayerNorm without residual_perm that normalises the last axis (axis -1, or the last
// where X's rank is known), one of whose X and Residual is the output of a default-domain Transpose with a
// perm that keeps the last axis, read by nothing else and not a graph output. Where it is X, X and the
// residual swap (the sum does not care). The layer answers to the Transpose's name too.
#include <optional>
#include <string>
#include <vector>

#include "ir/ops/fused.h"
#include "passes/fuse_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

/// The Transpose whose output `v` is, when the FusedLayerNorm may read through it.
ir::Node* rowTranspose(const ir::Value* v) {
  ir::Node* transpose = fusion::fusableProducer(v);
  if (transpose == nullptr || !transpose->domain.empty() || transpose->opType != "Transpose" ||
      transpose->input(0) == nullptr || !transpose->attributes.has("perm"))
    return nullptr;
  const std::vector<int64_t> perm = transpose->attributes.getInts("perm");
  const auto rank = static_cast<int64_t>(perm.size());
  return rank >= 2 && perm.back() == rank - 1 ? transpose : nullptr;
}

/// The input slot (0: X, or the residual's) whose Transpose `norm` can read through.
std::optional<size_t> transposedSlot(const ir::Node& norm) {
  if (norm.domain != ir::ops::kLowpDomain || norm.opType != ir::ops::kFusedLayerNormOp ||
      norm.attributes.has(ir::ops::kFusedLayerNormResidualPerm))
    return std::nullopt;
  const ir::Value* x = norm.input(0);
  const int64_t axis = norm.attributes.getInt("axis", -1);
  if (x == nullptr || (axis != -1 && (!x->shape.rankKnown() || axis != x->shape.rank() - 1)))
    return std::nullopt;
  for (size_t slot : {ir::ops::kFusedLayerNormResidual, size_t{0}}) {
    if (norm.input(slot) != nullptr && rowTranspose(norm.input(slot)) != nullptr) return slot;
  }
  return std::nullopt;
}

bool readsATransposedRow(const ir::Graph& /*graph*/, const ir::Node& node) {
  return transposedSlot(node).has_value();
}

Result<bool> readThroughTranspose(ir::Graph& graph, ir::Node& norm) {
  const size_t slot = *transposedSlot(norm);
  ir::Node* transpose = rowTranspose(norm.input(slot));
  if (slot == 0) {
    ir::Value* residual = norm.input(ir::ops::kFusedLayerNormResidual);
    graph.setInput(&norm, 0, residual);
  }
  norm.attributes.set(std::string(ir::ops::kFusedLayerNormResidualPerm),
                      transpose->attributes.getInts("perm"));
  graph.setInput(&norm, ir::ops::kFusedLayerNormResidual, transpose->input(0));
  std::vector<std::string> names = transpose->absorbedNames;
  names.push_back(transpose->name);
  names.insert(names.end(), norm.absorbedNames.begin(), norm.absorbedNames.end());
  norm.absorbedNames = std::move(names);
  graph.removeNode(transpose);
  return true;
}

}  // namespace

const RewriteRule& fuseTransposedResidualRule() {
  static const RewriteRule rule{.name = "fuse_transposed_residual",
                                .opTypes = {},
                                .condition = readsATransposedRow,
                                .rewrite = readThroughTranspose,
                                .mergesLayers = true};
  return rule;
}

}  // namespace lowp::passes
