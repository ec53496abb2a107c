// fuse_layernorm_residual: LayerNormalization(Add(x, r)) -> FusedLayerNorm(x, Scale, B, r) (ir/ops/fused.h),
// the residual connection of a post-norm transformer layer: the kernel adds r while it reads x, so the sum
// is never written to memory and read back.
//
// Targets: a default-domain LayerNormalization that gives Y only (no Mean, no InvStdDev outputs) and whose X
// is the output of a default-domain Add that nothing else reads and that is not a graph output. The Add's
// inputs and output have one float type and neither input is a constant (a constant is a bias, not a
// residual). Their shapes are often unknown before planning (an export's Reshapes): the fused op broadcasts
// as the Add did, and its kernels take the fast path where the two shapes are equal. The LayerNormalization
// becomes lowp.FusedLayerNorm with the Add's first input as X and its second as the residual; it keeps its
// output, takes the Add's name and records its own after the Add's; the Add goes.
#include <string>
#include <utility>
#include <vector>

#include "ir/data_type.h"
#include "ir/ops/fused.h"
#include "passes/fuse_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

/// The Add whose sum `norm` normalises, when the pair fuses.
ir::Node* residualAdd(const ir::Node& norm) {
  if (!norm.domain.empty() || norm.opType != "LayerNormalization" || norm.inputs.size() < 2) return nullptr;
  for (size_t i = 1; i < norm.outputs.size(); ++i) {
    if (norm.outputs[i] != nullptr) return nullptr;
  }
  ir::Node* add = fusion::fusableProducer(norm.input(0));
  if (add == nullptr || !add->domain.empty() || add->opType != "Add" || add->inputs.size() != 2)
    return nullptr;
  const ir::Value* sum = add->outputs[0];
  for (const ir::Value* in : add->inputs) {
    if (in == nullptr || in->constant || in->type != sum->type || !ir::isFloat(in->type)) return nullptr;
  }
  return add;
}

bool normalisesASum(const ir::Graph& /*graph*/, const ir::Node& node) {
  return residualAdd(node) != nullptr;
}

Result<bool> fuseResidual(ir::Graph& graph, ir::Node& norm) {
  ir::Node* add = residualAdd(norm);
  ir::Value* x = add->inputs[0];
  ir::Value* residual = add->inputs[1];
  // Names in graph order, as the other fusions keep them: the layer takes the Add's name and answers to the
  // LayerNormalization's, the last, whose output it gives (its output-type constraints apply).
  std::vector<std::string> names = add->absorbedNames;
  names.push_back(norm.name);
  names.insert(names.end(), norm.absorbedNames.begin(), norm.absorbedNames.end());
  norm.name = add->name;
  norm.absorbedNames = std::move(names);
  fusion::makeFused(norm, ir::ops::kFusedLayerNormOp);
  norm.outputs.resize(1);
  graph.setInput(&norm, 0, x);
  graph.setInput(&norm, ir::ops::kFusedLayerNormResidual, residual);  // an omitted B stays empty
  graph.removeNode(add);
  return true;
}

}  // namespace

const RewriteRule& fuseLayerNormResidualRule() {
  static const RewriteRule rule{.name = "fuse_layernorm_residual",
                                .opTypes = {"LayerNormalization"},
                                .condition = normalisesASum,
                                .rewrite = fuseResidual,
                                .mergesLayers = true};
  return rule;
}

}  // namespace lowp::passes
