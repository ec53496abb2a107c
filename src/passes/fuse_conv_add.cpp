// fuse_conv_add: Add(conv(X, W) + B, Z) -> FusedConv(X, W, B, Z), the residual connection of ResNet-style
// blocks; oneDNN adds Z in the convolution's epilogue (a sum post-op) instead of another pass over memory.
//
// Targets: a default-domain Add one of whose inputs is the output of a Conv, or of a FusedConv without a
// residual and without an activation (an activation must apply after the sum, not before it), that nothing
// else reads and that is not a graph output. The other input Z has the Add's type and the same shape as the
// Add's output and the convolution's output (no broadcasting). The convolution becomes a FusedConv that reads
// Z as input 3, takes over the Add's output and records the Add's name. Fusing an activation after the Add
// is fuse_activation's work, which runs after this rule.
#include "ir/data_type.h"
#include "passes/fuse_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

// The input slot of `add` whose producer the Add fuses into, or -1.
int convSide(const ir::Node& add) {
  if (add.inputs.size() != 2 || add.outputs.size() != 1 || add.outputs[0] == nullptr) return -1;
  const ir::Value* y = add.outputs[0];
  for (int side = 0; side < 2; ++side) {
    const ir::Value* x = add.inputs[static_cast<size_t>(side)];
    const ir::Value* z = add.inputs[static_cast<size_t>(1 - side)];
    if (x == nullptr || z == nullptr || x == z || !ir::isFloat(x->type)) continue;
    const ir::Node* conv = fusion::fusableProducer(x);
    if (conv == nullptr || !fusion::isOp(*conv, "Conv", "FusedConv")) continue;
    if (conv->input(3) != nullptr || !fusion::hasNoActivation(*conv)) continue;
    if (z->type != x->type || y->type != x->type) continue;
    if (!fusion::sameShape(x->shape, y->shape) || !fusion::sameShape(z->shape, y->shape)) continue;
    return side;
  }
  return -1;
}

bool addsToConvolution(const ir::Graph& /*graph*/, const ir::Node& add) {
  return convSide(add) >= 0;
}

Result<bool> fuseIntoConvolution(ir::Graph& graph, ir::Node& add) {
  const int side = convSide(add);
  ir::Node& conv = *add.inputs[static_cast<size_t>(side)]->producer;
  ir::Value* z = add.inputs[static_cast<size_t>(1 - side)];
  fusion::makeFused(conv, "FusedConv");
  fusion::absorbConsumer(graph, conv, add);
  graph.setInput(&conv, 3, z);
  return true;
}

}  // namespace

const RewriteRule& fuseConvAddRule() {
  static const RewriteRule rule{.name = "fuse_conv_add",
                                .opTypes = {"Add"},
                                .condition = addsToConvolution,
                                .rewrite = fuseIntoConvolution,
                                .mergesLayers = true};
  return rule;
}

}  // namespace lowp::passes
