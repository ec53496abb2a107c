// gemm_to_matmul: Gemm(A, B, C) with constant weights -> FusedMatMul(A, B', C'), so a fully connected layer
// exported as Gemm takes the same path as MatMul + Add: its activation fuses into it (fuse_activation), and
// the builder has one op to find kernels and an INT8 form for.
//
// Targets: a default-domain Gemm with transA = 0, alpha = 1, beta = 1 (or no C), a constant float 2-D B,
// and C absent or a constant of one value per column ([N] or [1, N]) of B's type. B' is B, transposed once
// here when transB = 1; C' is C as [N]. The node keeps its name and output.
#include <algorithm>
#include <vector>

#include "ir/data_type.h"
#include "passes/fuse_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

int64_t columns(const ir::Node& gemm) {
  const Tensor& b = *gemm.inputs[1]->constant;
  return gemm.attributes.getInt("transB", 0) != 0 ? b.shape()[0] : b.shape()[1];
}

bool isFullyConnected(const ir::Graph& /*graph*/, const ir::Node& gemm) {
  const ir::AttributeMap& a = gemm.attributes;
  if (a.getInt("transA", 0) != 0 || a.getFloat("alpha", 1.0f) != 1.0f || gemm.outputs.size() != 1)
    return false;
  if (gemm.inputs.size() < 2 || gemm.inputs[0] == nullptr || gemm.inputs[1] == nullptr) return false;
  const ir::Value* b = gemm.inputs[1];
  if (!b->constant || b->constant->rank() != 2 || !ir::isFloat(b->type) || gemm.inputs[0]->type != b->type)
    return false;
  const ir::Value* c = gemm.inputs.size() > 2 ? gemm.inputs[2] : nullptr;
  if (c == nullptr) return true;
  if (a.getFloat("beta", 1.0f) != 1.0f || !c->constant || c->type != b->type) return false;
  const std::vector<int64_t>& shape = c->constant->shape();
  const bool row = (shape.size() == 1) || (shape.size() == 2 && shape[0] == 1);
  return row && shape.back() == columns(gemm);
}

Result<bool> toFusedMatMul(ir::Graph& graph, ir::Node& gemm) {
  const bool transB = gemm.attributes.getInt("transB", 0) != 0;
  ir::Value* b = gemm.inputs[1];
  if (transB) {
    const Tensor& w = *b->constant;
    const int64_t n = w.shape()[0];
    const int64_t k = w.shape()[1];
    Tensor t(w.type(), {k, n});
    const auto size = static_cast<size_t>(ir::dataTypeInfo(w.type()).storageBytes);
    const std::byte* from = w.bytes().data();
    std::byte* to = t.bytes().data();
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t col = 0; col < k; ++col)
        std::copy_n(from + static_cast<size_t>(r * k + col) * size, size,
                    to + static_cast<size_t>(col * n + r) * size);
    }
    LOWP_ASSIGN_OR_RETURN(ir::Value * kn, graph.addValue(uniqueValueName(graph, b->name + "_kn")));
    kn->type = b->type;
    kn->shape = ir::Shape({k, n});
    kn->constant = std::move(t);
    graph.setInput(&gemm, 1, kn);
  }
  ir::Value* c = gemm.inputs.size() > 2 ? gemm.inputs[2] : nullptr;
  if (c != nullptr && c->constant->rank() != 1) {
    const int64_t n = c->constant->elementCount();
    LOWP_ASSIGN_OR_RETURN(ir::Value * vector, graph.addValue(uniqueValueName(graph, c->name + "_row")));
    vector->type = c->type;
    vector->shape = ir::Shape({n});
    vector->constant = c->constant->reshaped({n});
    graph.setInput(&gemm, 2, vector);
  }
  gemm.attributes = ir::AttributeMap();
  fusion::makeFused(gemm, "FusedMatMul");
  return true;
}

}  // namespace

const RewriteRule& gemmToMatMulRule() {
  static const RewriteRule rule{
      .name = "gemm_to_matmul", .opTypes = {"Gemm"}, .condition = isFullyConnected, .rewrite = toFusedMatMul};
  return rule;
}

}  // namespace lowp::passes
