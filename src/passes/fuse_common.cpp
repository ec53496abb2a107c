// Shared pieces of the fusion rules; see fuse_common.h.
#include "passes/fuse_common.h"

#include <string>
#include <vector>

#include "ir/ops/fused.h"

namespace lowp::passes::fusion {

ir::Node* fusableProducer(const ir::Value* v) {
  if (v == nullptr || v->producer == nullptr || v->isGraphOutput || v->consumers.size() != 1) return nullptr;
  ir::Node* producer = v->producer;
  return producer->outputs.size() == 1 ? producer : nullptr;
}

bool isOp(const ir::Node& node, std::string_view opType, std::string_view fusedOpType) {
  if (node.domain.empty()) return node.opType == opType;
  return node.domain == ir::ops::kLowpDomain && node.opType == fusedOpType;
}

bool hasNoActivation(const ir::Node& node) {
  return node.attributes.getString("activation", "").empty();
}

bool sameShape(const ir::Shape& a, const ir::Shape& b) {
  if (!a.rankKnown() || !b.rankKnown() || a.rank() != b.rank()) return false;
  for (int64_t d = 0; d < a.rank(); ++d) {
    const ir::Dim& x = a[d];
    const ir::Dim& y = b[d];
    const bool same =
        x.isKnown() ? x.size == y.size : !y.isKnown() && !x.symbol.empty() && x.symbol == y.symbol;
    if (!same) return false;
  }
  return true;
}

void makeFused(ir::Node& node, std::string_view fusedOpType) {
  if (!node.domain.empty()) return;
  node.opType = std::string(fusedOpType);
  node.domain = std::string(ir::ops::kLowpDomain);
  node.opsetVersion = 1;
}

void absorbConsumer(ir::Graph& graph, ir::Node& producer, ir::Node& consumer) {
  ir::Value* x = producer.outputs[0];
  ir::Value* y = consumer.outputs[0];
  std::vector<std::string> absorbed = consumer.absorbedNames;
  absorbed.insert(absorbed.begin(), consumer.name);
  graph.removeNode(&consumer);
  producer.outputs[0] = y;
  y->producer = &producer;
  x->producer = nullptr;
  producer.absorbedNames.insert(producer.absorbedNames.end(), absorbed.begin(), absorbed.end());
}

}  // namespace lowp::passes::fusion
