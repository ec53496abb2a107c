// Shared pieces of the fusion rules; see fuse_common.h.
#include "passes/fuse_common.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/ops/attention.h"
#include "ir/ops/fused.h"

namespace lowp::passes::fusion {

ir::Node* fusableProducer(const ir::Value* v) {
  if (v == nullptr || v->producer == nullptr || v->isGraphOutput || v->consumers.size() != 1) return nullptr;
  ir::Node* producer = v->producer;
  return producer->outputs.size() == 1 ? producer : nullptr;
}

namespace {

bool knownWhilePlanning(const ir::Value* v, std::unordered_map<const ir::Value*, bool>& memo) {
  if (v == nullptr) return false;
  if (v->constant) return true;
  const ir::Node* producer = v->producer;
  if (producer == nullptr || producer->inputs.empty()) return false;
  if (auto it = memo.find(v); it != memo.end()) return it->second;
  const bool onlyShapes =
      producer->domain.empty() && (producer->opType == "Shape" || producer->opType == "Size");
  bool known = true;
  for (const ir::Value* in : producer->inputs) {
    if (in != nullptr && !onlyShapes && !knownWhilePlanning(in, memo)) known = false;
  }
  memo[v] = known;
  return known;
}

}  // namespace

bool knownWhilePlanning(const ir::Value* v) {
  std::unordered_map<const ir::Value*, bool> memo;
  return knownWhilePlanning(v, memo);
}

size_t attentionExtraInput(ir::Graph& graph, ir::Node& attention, ir::Value* v) {
  for (size_t i = ir::ops::kAttentionMask + 1; i < attention.inputs.size(); ++i) {
    if (attention.inputs[i] == v) return i;
  }
  const size_t slot = std::max(attention.inputs.size(), ir::ops::kAttentionMask + 1);
  graph.setInput(&attention, slot, v);
  return slot;
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

std::optional<float> scalarConstant(const ir::Value* v) {
  if (v == nullptr || !v->constant || v->constant->elementCount() != 1) return std::nullopt;
  return static_cast<float>(elementAsDouble(*v->constant, 0));
}

namespace {

// Clip's bound in slot `slot` (opset 11+) or attribute `attr`; `fallback` when absent; nullopt when unknown.
std::optional<float> clipBound(const ir::Node& clip, size_t slot, const char* attr, float fallback) {
  if (clip.opsetVersion < 11) return clip.attributes.getFloat(attr, fallback);
  const ir::Value* v = clip.input(slot);
  if (v == nullptr) return fallback;
  if (v->type != clip.input(0)->type) return std::nullopt;
  return scalarConstant(v);
}

}  // namespace

// The activation `node` computes, when it is one the fused ops take.
std::optional<ir::ops::ActivationSpec> activationSpec(const ir::Node& node) {
  ir::ops::ActivationSpec spec;
  spec.kind = ir::ops::activationOf(node.opType);
  if (spec.kind == ir::ops::FusedActivation::kNone) return std::nullopt;
  if (spec.kind == ir::ops::FusedActivation::kLeakyRelu)
    spec.alpha = node.attributes.getFloat("alpha", 0.01f);
  if (spec.kind == ir::ops::FusedActivation::kGelu) {
    const std::string approximate = node.attributes.getString("approximate", "none");
    if (approximate != "none" && approximate != "tanh") return std::nullopt;
    spec.alpha = approximate == "tanh" ? 1.0f : 0.0f;
  }
  if (spec.kind == ir::ops::FusedActivation::kClip) {
    const float inf = std::numeric_limits<float>::infinity();
    auto lo = clipBound(node, 1, "min", -inf);
    auto hi = clipBound(node, 2, "max", inf);
    if (!lo || !hi) return std::nullopt;
    spec.alpha = *lo;
    spec.beta = *hi;
  }
  return spec;
}

}  // namespace lowp::passes::fusion
