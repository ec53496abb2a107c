// fuse_attention: MatMul(Q, Kt) -> [Mul or Div by a scalar constant] -> [Add(mask)] -> Softmax(last axis)
// -> MatMul(P, V) becomes one lowp.Attention(Q, Kt, V, mask) node (ir/ops/attention.h), the attention of
// transformer exports (PyTorch's nn.MultiheadAttention: the scale on Q before the first MatMul, or on Q and
// Kt, by the square root each; other exporters: the scale after it, and an additive mask).
//
// Targets: a default-domain MatMul reading, as its first input, the output P of a Softmax, and a V. Walking
// back from P: Softmax (opset 13+: axis the last; opsets 1-12: the 2-D coercion at `axis` must be the
// last-axis softmax, i.e. every dim from `axis` to the last but one is a known 1), optionally an Add of the
// scores and a mask (the mask not the scores themselves), optionally a Mul by (either side) or Div by a
// constant of one element, then a MatMul(Q, Kt), whose Q and Kt may each come from a Mul / Div by a constant
// of one element that nothing else reads (its factor joins the scale). Every intermediate tensor is read by
// the next node only
// (once) and is no graph output, every node has one output, and each intermediate has the scores' shape
// (so neither the scale nor the mask broadcast it bigger). Q, Kt, V and every intermediate: one float type;
// Q, Kt and V of one rank (2 or more) with equal leading dims (lowp.Attention does not broadcast them).
// Passes run before the build fixes the input shapes, so dims computed from them (a Reshape to [B*H, S, D])
// are often unknown: an unknown dim counts as equal to the other, except beside a known 1, which may be a
// broadcast. Should an unknown dim turn out to broadcast after all, the Attention node's shape check rejects
// the run with an error that names it, rather than computing something else.
//
// Rewrite: the final MatMul becomes the Attention node with inputs (Q, Kt, V, mask?) and attribute scale
// (the product of the factors, a Div's being 1 / its constant); it takes the first MatMul's name and records
// the others in graph order (Q's and Kt's scales, scale, mask Add, Softmax, final MatMul), each followed by
// the names it had absorbed, so the layer answers to every name of the pattern and carries their precision
// constraints (the builder reads the output-type constraints of the last name, the node that produced the
// output). The intermediate nodes are left unread and removed by remove_dead_nodes.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/ops/attention.h"
#include "ir/ops/attention_layout.h"
#include "ir/ops/fused.h"
#include "passes/fuse_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

bool isFloat(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kFloat16 ||
         t == DataType::kBFloat16;
}

bool isPlain(const ir::Node* n, std::string_view opType) {
  return n != nullptr && n->domain.empty() && n->opType == opType && n->outputs.size() == 1 &&
         n->outputs[0] != nullptr;
}

/// Softmax normalises the last axis alone: opset 13+ by its axis; opsets 1-12 flatten at `axis`, which is the
/// same when every dim from there to the last but one is 1.
bool softmaxOverLastAxis(const ir::Node& softmax, const ir::Shape& shape) {
  if (!shape.rankKnown() || shape.rank() == 0) return false;
  const bool coerce2d = softmax.opsetVersion < 13;
  auto axis = ir::normalizeAxis(softmax.attributes.getInt("axis", coerce2d ? 1 : -1), shape.rank());
  if (!axis) return false;
  if (!coerce2d) return *axis == shape.rank() - 1;
  for (int64_t d = *axis; d < shape.rank() - 1; ++d) {
    if (shape[d].size != 1) return false;
  }
  return true;
}

/// Two dims that may be the same size: equal known sizes, or equal symbols, or either unknown without being
/// the other's 1 (a known 1 beside an unknown size may be a broadcast).
bool mayBeEqual(const ir::Dim& a, const ir::Dim& b) {
  if (a.isKnown() && b.isKnown()) return a.size == b.size;
  if (a.isKnown()) return a.size != 1;
  if (b.isKnown()) return b.size != 1;
  return a.symbol.empty() || b.symbol.empty() || a.symbol == b.symbol;
}

/// Same rank, and every dim may be equal (see mayBeEqual).
bool mayBeEqual(const ir::Shape& a, const ir::Shape& b) {
  if (!a.rankKnown() || !b.rankKnown() || a.rank() != b.rank()) return false;
  for (int64_t d = 0; d < a.rank(); ++d) {
    if (!mayBeEqual(a[d], b[d])) return false;
  }
  return true;
}

/// Q, Kt and V of one rank >= 2 whose leading dims may be equal.
bool sameBatch(const ir::Shape& q, const ir::Shape& kt, const ir::Shape& v) {
  if (!q.rankKnown() || !kt.rankKnown() || !v.rankKnown()) return false;
  if (q.rank() < 2 || kt.rank() != q.rank() || v.rank() != q.rank()) return false;
  for (int64_t d = 0; d + 2 < q.rank(); ++d) {
    if (!mayBeEqual(q[d], kt[d]) || !mayBeEqual(q[d], v[d]) || !mayBeEqual(kt[d], v[d])) return false;
  }
  return true;
}

/// The mask broadcasts into the scores without growing them: rank at most theirs, each dim 1 or one that may
/// equal the scores' dim.
bool broadcastsInto(const ir::Shape& mask, const ir::Shape& scores) {
  if (!mask.rankKnown() || !scores.rankKnown() || mask.rank() > scores.rank()) return false;
  const int64_t offset = scores.rank() - mask.rank();
  for (int64_t d = 0; d < mask.rank(); ++d) {
    if (mask[d].size != 1 && !mayBeEqual(mask[d], scores[offset + d])) return false;
  }
  return true;
}

/// How a Mul / Div scales x: by a constant factor, or by a one-element value known only while planning (a
/// scale the export computes from shapes), which the Attention node then reads as an input.
struct Scaled {
  ir::Value* x = nullptr;
  float factor = 1.0f;
  ir::Value* knownFactor = nullptr;
};

/// A one-element value of `type` and rank at most `maxRank` that is known while planning.
bool plannedScalar(const ir::Value* v, DataType type, int64_t maxRank) {
  const auto count = v != nullptr ? v->shape.elementCount() : std::nullopt;
  return count && *count == 1 && v->type == type && v->shape.rank() <= maxRank &&
         fusion::knownWhilePlanning(v);
}

/// x * c (either side) or x / c for a Mul / Div `node` by a one-element constant c of `type` and of rank at
/// most `maxRank`, or x * s by such a value s known while planning.
std::optional<Scaled> scaledInput(const ir::Node* node, DataType type, int64_t maxRank) {
  if (!(isPlain(node, "Mul") || isPlain(node, "Div")) || node->inputs.size() != 2) return std::nullopt;
  const bool div = node->opType == "Div";
  for (size_t side = 0; side < 2; ++side) {
    if (div && side == 1) break;  // c / x is no scale
    const auto c = fusion::scalarConstant(node->inputs[1 - side]);
    ir::Value* x = node->inputs[side];
    ir::Value* factor = node->inputs[1 - side];
    if (x == nullptr || x->type != type) continue;
    if (c && factor->type == type && static_cast<int64_t>(factor->constant->rank()) <= maxRank) {
      if (div && *c == 0.0f) return std::nullopt;
      return Scaled{x, div ? 1.0f / *c : *c, nullptr};
    }
    if (!div && !factor->constant && plannedScalar(factor, type, maxRank)) return Scaled{x, 1.0f, factor};
  }
  return std::nullopt;
}

/// The pattern ending in `final` (the MatMul P . V), when it matches.
struct AttentionMatch {
  ir::Node* scores = nullptr;  ///< MatMul(Q, Kt)
  ir::Value* q = nullptr;      ///< Q and Kt as the Attention node reads them (before any scale of theirs)
  ir::Value* kt = nullptr;
  std::vector<ir::Node*> inputScales;  ///< Mul / Div of Q or Kt by a constant, folded into the scale
  ir::Node* scale = nullptr;           ///< Mul / Div of the scores, when present
  ir::Node* add = nullptr;             ///< Add(mask), when present
  ir::Node* softmax = nullptr;
  ir::Value* mask = nullptr;
  float scaleValue = 1.0f;
  std::vector<ir::Value*> knownFactors;  ///< factors known only while planning
};

std::optional<AttentionMatch> matchAttention(const ir::Node& final) {
  if (!isPlain(&final, "MatMul") || final.inputs.size() != 2) return std::nullopt;
  const ir::Value* p = final.input(0);
  const ir::Value* v = final.input(1);
  if (p == nullptr || v == nullptr || v == p) return std::nullopt;
  const DataType type = final.outputs[0]->type;
  if (!isFloat(type) || p->type != type || v->type != type) return std::nullopt;

  AttentionMatch m;
  m.softmax = fusion::fusableProducer(p);
  if (!isPlain(m.softmax, "Softmax") || m.softmax->inputs.size() != 1) return std::nullopt;
  const ir::Value* s = m.softmax->input(0);
  if (s == nullptr || s->type != type || !softmaxOverLastAxis(*m.softmax, s->shape)) return std::nullopt;
  const ir::Shape shape = s->shape;

  // Walks one step back from `x` through `node`, which reads it: the other operand, or null.
  ir::Node* node = fusion::fusableProducer(s);
  auto otherInput = [](const ir::Node& n, const ir::Value* x) -> ir::Value* {
    if (n.inputs.size() != 2) return nullptr;
    if (n.inputs[0] == x && n.inputs[1] != x) return n.inputs[1];
    if (n.inputs[1] == x && n.inputs[0] != x) return n.inputs[0];
    return nullptr;
  };
  if (isPlain(node, "Add")) {
    // The mask is whichever input is not the scores: the one a MatMul (or the scale) produced.
    for (ir::Value* in : node->inputs) {
      if (in == nullptr || in->type != type || !mayBeEqual(in->shape, shape)) continue;
      ir::Node* before = fusion::fusableProducer(in);
      if (before == nullptr ||
          !(isPlain(before, "MatMul") || isPlain(before, "Mul") || isPlain(before, "Div"))) {
        continue;
      }
      ir::Value* mask = otherInput(*node, in);
      if (mask == nullptr || mask->type != type || !broadcastsInto(mask->shape, shape)) continue;
      m.add = node;
      m.mask = mask;
      node = before;
      break;
    }
    if (m.add == nullptr) return std::nullopt;
  }
  if (node != nullptr && (isPlain(node, "Mul") || isPlain(node, "Div"))) {
    const ir::Value* out = node->outputs[0];
    if (out->type != type || !mayBeEqual(out->shape, shape)) return std::nullopt;
    const auto scaled = scaledInput(node, type, shape.rank());
    if (!scaled) return std::nullopt;
    m.scale = node;
    m.scaleValue = scaled->factor;
    if (scaled->knownFactor != nullptr) m.knownFactors.push_back(scaled->knownFactor);
    node = fusion::fusableProducer(scaled->x);
  }
  if (!isPlain(node, "MatMul") || node->inputs.size() != 2) return std::nullopt;
  m.scores = node;
  m.q = node->inputs[0];
  m.kt = node->inputs[1];
  if (m.q == nullptr || m.kt == nullptr || m.q->type != type || m.kt->type != type) return std::nullopt;
  if (!mayBeEqual(node->outputs[0]->shape, shape)) return std::nullopt;
  // A constant factor on Q or Kt (PyTorch's exports scale Q, or Q and Kt by the square root each) scales the
  // scores: it joins the Attention's scale where that operand is read by the scores' MatMul alone.
  for (ir::Value** operand : {&m.q, &m.kt}) {
    ir::Node* producer = fusion::fusableProducer(*operand);
    const auto scaled = scaledInput(producer, type, (*operand)->shape.rank());
    if (!scaled || !mayBeEqual(scaled->x->shape, (*operand)->shape)) continue;
    m.inputScales.push_back(producer);
    m.scaleValue *= scaled->factor;
    if (scaled->knownFactor != nullptr) m.knownFactors.push_back(scaled->knownFactor);
    *operand = scaled->x;
  }
  if (!sameBatch(m.q->shape, m.kt->shape, v->shape)) return std::nullopt;
  return m;
}

bool endsAttention(const ir::Graph& /*graph*/, const ir::Node& node) {
  return matchAttention(node).has_value();
}

void appendNames(std::vector<std::string>& into, const ir::Node* node) {
  if (node == nullptr) return;
  into.push_back(node->name);
  into.insert(into.end(), node->absorbedNames.begin(), node->absorbedNames.end());
}

Result<bool> fuseIntoAttention(ir::Graph& graph, ir::Node& final) {
  const auto m = matchAttention(final);
  if (!m) return false;
  ir::Value* q = m->q;
  ir::Value* kt = m->kt;
  ir::Value* v = final.inputs[1];

  std::vector<std::string> absorbed;
  for (const ir::Node* scale : m->inputScales) appendNames(absorbed, scale);
  absorbed.insert(absorbed.end(), m->scores->absorbedNames.begin(), m->scores->absorbedNames.end());
  appendNames(absorbed, m->scale);
  appendNames(absorbed, m->add);
  appendNames(absorbed, m->softmax);
  appendNames(absorbed, &final);

  final.name = m->scores->name;
  final.opType = std::string(ir::ops::kAttentionOp);
  final.domain = std::string(ir::ops::kLowpDomain);
  final.opsetVersion = 1;
  final.attributes = {};
  final.attributes.set("scale", m->scaleValue);
  final.absorbedNames = std::move(absorbed);
  graph.setInput(&final, ir::ops::kAttentionQ, q);
  graph.setInput(&final, ir::ops::kAttentionKt, kt);
  graph.setInput(&final, ir::ops::kAttentionV, v);
  if (m->mask != nullptr) graph.setInput(&final, ir::ops::kAttentionMask, m->mask);
  if (!m->knownFactors.empty()) {
    std::vector<int64_t> slots;
    for (ir::Value* factor : m->knownFactors)
      slots.push_back(static_cast<int64_t>(fusion::attentionExtraInput(graph, final, factor)));
    final.attributes.set(std::string(ir::ops::kAttentionScaleInputs), slots);
  }
  // The first MatMul, now unread, keeps the name the fused node took over only until remove_dead_nodes.
  m->scores->name += "/unfused";
  return true;
}

}  // namespace

const RewriteRule& fuseAttentionRule() {
  static const RewriteRule rule{.name = "fuse_attention",
                                .opTypes = {"MatMul"},
                                .condition = endsAttention,
                                .rewrite = fuseIntoAttention,
                                .mergesLayers = true};
  return rule;
}

}  // namespace lowp::passes
