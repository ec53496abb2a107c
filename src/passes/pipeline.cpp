#include "passes/pipeline.h"

#include "onnx/importer.h"
#include "passes/rules.h"

namespace lowp::passes {

const std::vector<const RewriteRule*>& pipelineRules() {
  // Einsums lowered first, into the ops the rules below know (a constant operand's permuted view folds);
  // identities next, so constant chains and Conv -> BN pairs are adjacent; constants before BN folding,
  // so weights computed from constants (a transpose, a dequantize) are constants by then; the conv / matmul
  // fusions after BN folding (conv + BN is one Conv by then), attention before the matmul bias fusion (which
  // would take a constant mask [Sk] for a bias), ONNX's Attention lowered to the same node, and their view
  // ops right after them, residual and bias adds
  // before activations (conv + add + relu becomes one node), written-out GELUs made one Gelu before
  // activations are fused, the residual Adds left into the LayerNormalizations after them (then the
  // Transposes those read), all before elementwise chains take what is left; dead nodes last, to drop what
  // the others left unread.
  static const std::vector<const RewriteRule*> rules = {
      &lowerEinsumRule(),
      &removeIdentityRule(),
      // Explicit quantization, before fold_constants would turn dequantized weights into float constants:
      // Q / DQ move to the layers, the layers fuse, the Q / DQ left unread go.
      &foldConstantQuantizeRule(),
      &moveDequantizeForwardRule(),
      &moveQuantizeBackwardRule(),
      &removeDequantizeQuantizeRule(),
      &fuseQuantizedLinearRule(),
      &fuseQuantizedResidualRule(),
      &fuseQuantizedActivationRule(),
      &fuseQuantizedOutputRule(),
      &removeUnreadQdqRule(),
      &foldConstantsRule(),
      &foldBatchNormRule(),
      &fuseConvAddRule(),
      &fuseAttentionRule(),
      &lowerAttentionRule(),
      &fuseAttentionLayoutRule(),
      &gemmToMatMulRule(),
      &fuseMatMulBiasRule(),
      &fuseGeluRule(),
      &fuseActivationRule(),
      &fuseLayerNormResidualRule(),
      &fuseTransposedResidualRule(),
      &fuseElementwiseChainRule(),
      &removeDeadNodesRule(),
  };
  return rules;
}

Status runPipeline(ir::Graph& graph, PipelineReport* report, PipelineRules rules) {
  for (const RewriteRule* rule : pipelineRules()) {
    if (rules == PipelineRules::kKeepLayers && rule->mergesLayers) continue;
    LOWP_ASSIGN_OR_RETURN(int64_t applied, applyRule(graph, *rule));
    for (int64_t last = applied, round = 1; rule->untilFixedPoint && last > 0 && round < kMaxRuleRounds;
         ++round) {
      LOWP_RETURN_IF_ERROR(graph.sortTopologically());
      LOWP_RETURN_IF_ERROR(onnx::inferGraph(graph));
      LOWP_ASSIGN_OR_RETURN(last, applyRule(graph, *rule));
      applied += last;
    }
    if (report != nullptr) report->emplace_back(std::string(rule->name), applied);
  }
  // Constants the rewrites replaced (a Conv's weights before BN folding, a folded node's inputs) would
  // otherwise stay in memory for the engine's lifetime.
  for (const auto& v : graph.values()) {
    if (v->constant && v->consumers.empty() && !v->isGraphOutput) v->constant.reset();
  }
  LOWP_RETURN_IF_ERROR(graph.sortTopologically());
  return onnx::inferGraph(graph);
}

}  // namespace lowp::passes
