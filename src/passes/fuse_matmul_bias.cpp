// fuse_matmul_bias: Add(MatMul(A, B), bias) -> FusedMatMul(A, B, bias), the bias of a linear layer as
// exported from PyTorch (MatMul by the transposed weight, then Add of the bias); oneDNN adds it in the
// product's epilogue.
//
// Targets: a default-domain Add one of whose inputs is the output of a MatMul that nothing else reads and
// that is not a graph output, the other a constant holding one value per column of the product: shape [N]
// or [1, ..., 1, N] of rank at most the product's, so it broadcasts along the rows only and the Add's output
// has the product's shape. N, the product's last dim, must be known. Same float type throughout. The MatMul
// becomes a FusedMatMul with the bias (as [N]) as input 2, takes over the Add's output and records its name.
#include "ir/data_type.h"
#include "passes/fuse_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

// The constant bias's shape is [N] or [1, ..., 1, N], of rank at most the product's.
bool isRowBias(const ir::Value& bias, const ir::Shape& product) {
  if (!bias.constant || !product.rankKnown() || product.rank() == 0) return false;
  const ir::Dim& n = product[product.rank() - 1];
  const std::vector<int64_t>& shape = bias.constant->shape();
  if (!n.isKnown() || shape.empty() || static_cast<int64_t>(shape.size()) > product.rank()) return false;
  for (size_t i = 0; i + 1 < shape.size(); ++i) {
    if (shape[i] != 1) return false;
  }
  return shape.back() == n.size;
}

int matMulSide(const ir::Node& add) {
  if (add.inputs.size() != 2 || add.outputs.size() != 1 || add.outputs[0] == nullptr) return -1;
  for (int side = 0; side < 2; ++side) {
    const ir::Value* x = add.inputs[static_cast<size_t>(side)];
    const ir::Value* bias = add.inputs[static_cast<size_t>(1 - side)];
    if (x == nullptr || bias == nullptr || !ir::isFloat(x->type) || bias->type != x->type) continue;
    if (add.outputs[0]->type != x->type) continue;
    const ir::Node* matmul = fusion::fusableProducer(x);
    if (matmul == nullptr || !matmul->domain.empty() || matmul->opType != "MatMul") continue;
    if (isRowBias(*bias, x->shape)) return side;
  }
  return -1;
}

bool addsBiasToMatMul(const ir::Graph& /*graph*/, const ir::Node& add) {
  return matMulSide(add) >= 0;
}

Result<bool> fuseIntoMatMul(ir::Graph& graph, ir::Node& add) {
  const int side = matMulSide(add);
  ir::Node& matmul = *add.inputs[static_cast<size_t>(side)]->producer;
  ir::Value* bias = add.inputs[static_cast<size_t>(1 - side)];
  if (bias->constant->rank() != 1) {
    const int64_t n = bias->constant->elementCount();
    LOWP_ASSIGN_OR_RETURN(ir::Value * vector, graph.addValue(uniqueValueName(graph, bias->name + "_row")));
    vector->type = bias->type;
    vector->shape = ir::Shape({n});
    vector->constant = bias->constant->reshaped({n});
    bias = vector;
  }
  fusion::makeFused(matmul, "FusedMatMul");
  fusion::absorbConsumer(graph, matmul, add);
  graph.setInput(&matmul, 2, bias);
  return true;
}

}  // namespace

const RewriteRule& fuseMatMulBiasRule() {
  static const RewriteRule rule{.name = "fuse_matmul_bias",
                                .opTypes = {"Add"},
                                .condition = addsBiasToMatMul,
                                .rewrite = fuseIntoMatMul,
                                .mergesLayers = true};
  return rule;
}

}  // namespace lowp::passes
