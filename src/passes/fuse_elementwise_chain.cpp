// fuse_elementwise_chain: a run of elementwise nodes, each reading the one before, becomes one
// lowp.ElementwiseChain node (ir/ops/elementwise_chain.h) that the CPU kernel runs in one pass over memory.
//
// Targets: a node P that is a chainable elementwise op or already a chain, whose single output is no graph
// output and is read by exactly one node C (once), where C is a chainable op reading it. Chainable ops: Relu,
// LeakyRelu, Sigmoid, Tanh, Exp, Erf, Gelu, HardSigmoid, HardSwish, Clip (bounds absent or constant),
// Neg, Abs, Sqrt, Reciprocal; Add, Sub, Mul, Div, Max, Min, Sum with two inputs (Sum becomes Add), where the
// input that is not the chained value has the same float type and broadcasts into the value's shape without
// growing it (a constant, X itself, or any tensor of the same or a broadcast shape). Every tensor involved
// must be fp32, fp64, fp16 or bf16, of one type. Rewrite: C becomes the chain: P's program (P alone when it
// is a plain op) followed by C's step; its inputs are the chain's X, P's operands and C's operand; its output
// stays C's. P is removed and C records P's name and the names P had absorbed (before its own). Visited in
// graph order, a run of n nodes ends as one chain in n - 1 rewrites. Chains stop at 32 steps.
//
// Conv, Gemm and MatMul epilogues are not touched: those ops are not chainable, and the conv/matmul fusion
// rules run before this one and take the activations and bias adds they can fuse.
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ir/ops/elementwise_chain.h"
#include "passes/fuse_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

using ir::ops::ChainStep;

constexpr size_t kMaxSteps = 32;

bool isChainType(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kFloat16 ||
         t == DataType::kBFloat16;
}

bool isChainNode(const ir::Node& n) {
  return n.domain == ir::ops::kElementwiseChainDomain && n.opType == ir::ops::kElementwiseChainOp;
}

/// True when `operand` broadcasts into `shape` without growing it (dims 1, or equal: same known size or same
/// symbol).
bool broadcastsInto(const ir::Shape& operand, const ir::Shape& shape) {
  if (!operand.rankKnown() || !shape.rankKnown() || operand.rank() > shape.rank()) return false;
  const int64_t offset = shape.rank() - operand.rank();
  for (int64_t d = 0; d < operand.rank(); ++d) {
    const ir::Dim& o = operand[d];
    const ir::Dim& s = shape[offset + d];
    if (o.size == 1) continue;
    const bool same = o.size >= 0 ? o.size == s.size : !o.symbol.empty() && o.symbol == s.symbol;
    if (!same) return false;
  }
  return true;
}

/// The chain op a node is: its own type, or Add for a Sum of two inputs (the same values: Sum of two rounds
/// once, as Add does).
std::string chainOpOf(const ir::Node& node) {
  if (node.opType == "Sum" && node.inputs.size() == 2) return "Add";
  return node.opType;
}

/// The step `node` (a default-domain op) performs on the chained value in input `valueSlot`, with the
/// operand index left at -1 for the caller; nullopt when the node cannot be a step.
std::optional<ChainStep> stepOf(const ir::Node& node, size_t valueSlot) {
  if (!node.domain.empty() || node.outputs.size() != 1 || node.outputs[0] == nullptr) return std::nullopt;
  const ir::Value* out = node.outputs[0];
  const ir::Value* value = node.input(valueSlot);
  if (value == nullptr || !isChainType(out->type) || value->type != out->type) return std::nullopt;
  if (!value->shape.rankKnown() || !(value->shape == out->shape)) return std::nullopt;
  ChainStep step;
  step.op = chainOpOf(node);
  const ir::AttributeMap& a = node.attributes;
  if (ir::ops::isChainBinaryOp(step.op)) {
    if (node.inputs.size() != 2 || valueSlot > 1) return std::nullopt;
    const ir::Value* operand = node.input(1 - valueSlot);
    if (operand == nullptr || operand == value || operand->type != out->type) return std::nullopt;
    if (!broadcastsInto(operand->shape, value->shape)) return std::nullopt;
    step.operandFirst = valueSlot == 1;
    return step;
  }
  if (!ir::ops::isChainUnaryOp(node.opType) || valueSlot != 0) return std::nullopt;
  if (node.opType == "Clip") {
    step.alpha = a.getFloat("min", -std::numeric_limits<float>::infinity());
    step.beta = a.getFloat("max", std::numeric_limits<float>::infinity());
    for (size_t slot : {size_t{1}, size_t{2}}) {
      const ir::Value* bound = node.input(slot);
      if (bound == nullptr) continue;
      const auto v = fusion::scalarConstant(bound);
      if (!v || bound->type != out->type) return std::nullopt;
      (slot == 1 ? step.alpha : step.beta) = *v;
    }
    return step;
  }
  if (node.inputs.size() != 1) return std::nullopt;
  if (node.opType == "LeakyRelu") step.alpha = a.getFloat("alpha", 0.01f);
  if (node.opType == "HardSigmoid") {
    step.alpha = a.getFloat("alpha", 0.2f);
    step.beta = a.getFloat("beta", 0.5f);
  }
  if (node.opType == "Gelu") {
    const std::string approximate = a.getString("approximate", "none");
    if (approximate != "none" && approximate != "tanh") return std::nullopt;
    step.alpha = approximate == "tanh" ? 1.0f : 0.0f;
  }
  return step;
}

/// The input a plain node chains from: input 0, or for a binary op the input of the output's shape
/// (preferring a non-constant one).
size_t startSlot(const ir::Node& node) {
  if (!ir::ops::isChainBinaryOp(chainOpOf(node)) || node.inputs.size() != 2) return 0;
  const ir::Value* a = node.input(0);
  const ir::Value* b = node.input(1);
  const ir::Value* out = node.outputs.empty() ? nullptr : node.outputs[0];
  if (a == nullptr || b == nullptr || out == nullptr) return 0;
  const bool aFull = a->shape == out->shape;
  const bool bFull = b->shape == out->shape;
  if (bFull && (!aFull || (a->constant && !b->constant))) return 1;
  return 0;
}

/// The chain `node` stands for: its X and operands, and its steps.
struct Chain {
  std::vector<ir::Value*> inputs;
  std::vector<ChainStep> steps;

  /// The input index of `v`, adding it when new.
  int64_t operandIndex(ir::Value* v) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i] == v) return static_cast<int64_t>(i);
    }
    inputs.push_back(v);
    return static_cast<int64_t>(inputs.size() - 1);
  }
};

std::optional<Chain> chainOf(const ir::Node& node) {
  Chain chain;
  if (isChainNode(node)) {
    auto steps = ir::ops::readChainProgram(node.attributes, node.inputs.size());
    if (!steps) return std::nullopt;
    chain.inputs = node.inputs;
    chain.steps = std::move(steps).value();
    return chain;
  }
  const size_t slot = startSlot(node);
  auto step = stepOf(node, slot);
  if (!step) return std::nullopt;
  chain.inputs.push_back(node.inputs[slot]);
  if (ir::ops::isChainBinaryOp(step->op)) step->operand = chain.operandIndex(node.inputs[1 - slot]);
  chain.steps.push_back(*step);
  return chain;
}

/// The node reading `node`'s output, and the input slot it reads it in, when the chain can extend into it.
struct Extension {
  ir::Node* consumer = nullptr;
  size_t slot = 0;
  ChainStep step;
};

std::optional<Extension> extensionOf(const ir::Node& node) {
  if (node.outputs.size() != 1 || node.outputs[0] == nullptr) return std::nullopt;
  const ir::Value* v = node.outputs[0];
  if (v->isGraphOutput || v->consumers.size() != 1) return std::nullopt;
  ir::Node* consumer = v->consumers[0];
  for (size_t slot = 0; slot < consumer->inputs.size(); ++slot) {
    if (consumer->inputs[slot] != v) continue;
    auto step = stepOf(*consumer, slot);
    if (!step) return std::nullopt;
    return Extension{consumer, slot, *step};
  }
  return std::nullopt;
}

bool extendsIntoConsumer(const ir::Graph& /*graph*/, const ir::Node& node) {
  if (!isChainNode(node) && !node.domain.empty()) return false;
  const auto chain = chainOf(node);
  if (!chain || chain->steps.size() >= kMaxSteps || !extensionOf(node)) return false;
  return chain->inputs[0]->type == node.outputs[0]->type;
}

Result<bool> mergeIntoConsumer(ir::Graph& graph, ir::Node& node) {
  auto chain = chainOf(node);
  auto ext = extensionOf(node);
  if (!chain || !ext) return false;
  ir::Node& consumer = *ext->consumer;
  ChainStep step = ext->step;
  if (ir::ops::isChainBinaryOp(step.op)) step.operand = chain->operandIndex(consumer.inputs[1 - ext->slot]);
  chain->steps.push_back(step);

  std::vector<std::string> absorbed = node.absorbedNames;
  absorbed.push_back(node.name);
  absorbed.insert(absorbed.end(), consumer.absorbedNames.begin(), consumer.absorbedNames.end());

  consumer.opType = std::string(ir::ops::kElementwiseChainOp);
  consumer.domain = std::string(ir::ops::kElementwiseChainDomain);
  consumer.opsetVersion = 1;
  consumer.attributes = {};
  ir::ops::writeChainProgram(chain->steps, consumer.attributes);
  for (size_t i = 0; i < chain->inputs.size(); ++i) graph.setInput(&consumer, i, chain->inputs[i]);
  for (size_t i = chain->inputs.size(); i < consumer.inputs.size(); ++i)
    graph.setInput(&consumer, i, nullptr);
  consumer.inputs.resize(chain->inputs.size());
  consumer.absorbedNames = std::move(absorbed);
  graph.removeNode(&node);
  return true;
}

}  // namespace

const RewriteRule& fuseElementwiseChainRule() {
  static const RewriteRule rule{.name = "fuse_elementwise_chain",
                                .opTypes = {},
                                .condition = extendsIntoConsumer,
                                .rewrite = mergeIntoConsumer,
                                .mergesLayers = true};
  return rule;
}

}  // namespace lowp::passes
