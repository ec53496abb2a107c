// Reference kernel of lowp.ElementwiseChain (ir/ops/elementwise_chain.h): runs each step with the reference
// kernel of its own ONNX op over the whole tensor, one step after another, each intermediate stored in X's
// type. The result is therefore the unfused ops' result bit for bit; it is the oracle of the vectorised
// chain kernel (tests/unit/test_elementwise_chain.cpp).
#include <functional>
#include <string>
#include <vector>

#include "ir/ops/elementwise_chain.h"
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {
namespace {

/// The node the step would have been before fusion: its op type and attributes. Clip's bounds go in as the
/// min / max attributes (the reference reads them as floats, as the fused kernel does).
ir::Node stepNode(const KernelContext& ctx, const ir::ops::ChainStep& step, size_t index) {
  ir::Node node;
  node.name = ctx.node().name + "/" + std::to_string(index) + ":" + step.op;
  node.opType = step.op;
  node.opsetVersion = 21;
  if (step.op == "LeakyRelu") node.attributes.set("alpha", step.alpha);
  if (step.op == "HardSigmoid") {
    node.attributes.set("alpha", step.alpha);
    node.attributes.set("beta", step.beta);
  }
  if (step.op == "Gelu") {
    node.attributes.set("approximate", std::string(step.alpha != 0.0f ? "tanh" : "none"));
  }
  if (step.op == "Clip") {
    node.attributes.set("min", step.alpha);
    node.attributes.set("max", step.beta);
  }
  return node;
}

Status elementwiseChainKernel(KernelContext& ctx) {
  auto steps = ir::ops::readChainProgram(ctx.attrs(), ctx.inputCount());
  if (!steps) return ctx.invalid(steps.status().message());
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (y.elementCount() != x.elementCount()) return ctx.invalid("output size differs from X's");
  const DataType type = x.type();
  const auto& registry = KernelRegistry::global();
  // Steps split their work over the node's threads.
  const ParallelFor parallelFor = [&ctx](int64_t n, int64_t grain,
                                         const std::function<void(int64_t, int64_t)>& fn) {
    ctx.parallelFor(n, grain, fn);
  };
  Tensor value = x;
  for (size_t k = 0; k < steps->size(); ++k) {
    const ir::ops::ChainStep& step = (*steps)[k];
    const ir::Node node = stepNode(ctx, step, k);
    std::vector<const Tensor*> inputs = {&value};
    if (ir::ops::isChainBinaryOp(step.op)) {
      if (!ctx.hasInput(static_cast<size_t>(step.operand))) {
        return ctx.invalid("operand " + std::to_string(step.operand) + " of step " + std::to_string(k) +
                           " is missing");
      }
      const Tensor* operand = &ctx.input(static_cast<size_t>(step.operand));
      inputs = step.operandFirst ? std::vector<const Tensor*>{operand, &value}
                                 : std::vector<const Tensor*>{&value, operand};
    }
    std::vector<DataType> inTypes(inputs.size(), type);
    const KernelDef* kernel = nullptr;
    for (const KernelDef* k2 : registry.find("", step.op, Backend::kCpu, inTypes, {type})) {
      if (k2->reference) kernel = k2;
    }
    if (kernel == nullptr) {
      return ctx.unsupported("no reference kernel for step " + std::to_string(k) + " (" + step.op + ") on " +
                             std::string(ir::dataTypeInfo(type).name));
    }
    // The last step writes Y; the others a fresh tensor of X's shape.
    Tensor next = k + 1 == steps->size() ? y : Tensor(type, x.shape());
    KernelContext stepCtx(node, inputs, {&next}, parallelFor,
                          [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
    if (Status s = kernel->fn(stepCtx); !s) {
      // Named after the chain node, which is what the graph holds.
      return Status(s.code(), ctx.node().describe() + ": step " + std::to_string(k) + ": " + s.message(),
                    ctx.node().name);
    }
    value = next;
  }
  return {};
}

}  // namespace

void registerElementwiseChainKernels(KernelRegistry& registry) {
  const TypeSet floats = {DataType::kFloat32, DataType::kFloat64, DataType::kFloat16, DataType::kBFloat16};
  registry.add({.opType = ir::ops::kElementwiseChainOp,
                .name = "any-elementwisechain-ref",
                .inputTypes = {floats},
                .outputTypes = {floats},
                .fn = &elementwiseChainKernel,
                .domain = ir::ops::kElementwiseChainDomain});
}

}  // namespace lowp::kernels::ref
