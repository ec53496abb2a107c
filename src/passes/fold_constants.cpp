// fold_constants: a node computed from constants alone is computed once, at build time.
//
// Targets: every node with at least one input, except random ops. Condition: every present input is a
// constant (Shape and Size: or has a static shape, the only thing they read), every output has a static
// shape, and the outputs are not both over 16 MiB and larger than the inputs (an Expand or Tile of a small
// constant stays a node; a transpose of big weights folds). Rewrite: the node runs with its reference kernel
// (passes/evaluate_node.h), exactly as the runtime would fold it while planning, and its outputs become
// constants. A node whose kernel fails stays, so the error surfaces where it would have without folding.
// The pipeline applies the rule until it folds nothing more, inferring shapes anew between rounds: a folded
// shape computation (one inference could not follow) makes the shapes after it static, and their Shape
// nodes fold in the next round.
#include <algorithm>
#include <array>
#include <string_view>

#include "passes/evaluate_node.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

constexpr int64_t kMaxGrowthBytes = int64_t{16} << 20;

bool readsOnlyShape(const ir::Node& node) {
  return node.domain.empty() && (node.opType == "Shape" || node.opType == "Size");
}

bool isRandom(const ir::Node& node) {
  static constexpr std::array<std::string_view, 6> kRandomOps = {
      "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli"};
  return node.domain.empty() &&
         std::find(kRandomOps.begin(), kRandomOps.end(), node.opType) != kRandomOps.end();
}

int64_t staticBytes(const ir::Value& v) {
  auto count = v.shape.elementCount();
  return count ? *count * ir::dataTypeInfo(v.type).storageBytes : -1;
}

bool computableNow(const ir::Graph& /*graph*/, const ir::Node& node) {
  if (node.inputs.empty() || isRandom(node)) return false;
  int64_t inBytes = 0;
  bool anyInput = false;
  for (const ir::Value* in : node.inputs) {
    if (in == nullptr) continue;
    anyInput = true;
    if (in->constant) {
      inBytes += in->constant->byteSize();
    } else if (!(readsOnlyShape(node) && in->shape.isStatic())) {
      return false;
    }
  }
  if (!anyInput) return false;
  int64_t outBytes = 0;
  for (const ir::Value* out : node.outputs) {
    if (out == nullptr) continue;
    int64_t bytes = staticBytes(*out);
    if (bytes < 0) return false;
    outBytes += bytes;
  }
  return outBytes <= kMaxGrowthBytes || outBytes <= inBytes;
}

Result<bool> foldNode(ir::Graph& graph, ir::Node& node) {
  std::vector<Tensor> shapeOnly(node.inputs.size());
  std::vector<const Tensor*> inputs;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const ir::Value* in = node.inputs[i];
    if (in == nullptr) {
      inputs.push_back(nullptr);
    } else if (in->constant) {
      inputs.push_back(&*in->constant);
    } else {
      shapeOnly[i] = Tensor::view(in->type, in->shape.sizes(), nullptr);
      inputs.push_back(&shapeOnly[i]);
    }
  }
  auto outputs = evaluateNode(node, inputs);
  if (!outputs) return false;
  std::vector<ir::Value*> outValues = node.outputs;
  graph.removeNode(&node);
  for (size_t i = 0; i < outValues.size(); ++i) {
    ir::Value* out = outValues[i];
    if (out == nullptr) continue;
    out->shape = ir::Shape::fromSizes((*outputs)[i].shape());
    out->constant = std::move((*outputs)[i]);
  }
  return true;
}

}  // namespace

const RewriteRule& foldConstantsRule() {
  static const RewriteRule rule{.name = "fold_constants",
                                .opTypes = {},
                                .condition = computableNow,
                                .rewrite = foldNode,
                                .untilFixedPoint = true};
  return rule;
}

}  // namespace lowp::passes
