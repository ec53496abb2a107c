// lowp.ElementwiseChain on the GPU (kernels/cuda/chain.cpp) against the CPU reference kernel, which runs
// each step as its own ONNX op: the erf-Gelu chain of transformer encoders, chains through every step op,
// each operand addressing (same shape, scalar, per-row, per-channel, strided), operands given first, X as
// its own operand, and odd sizes and misaligned tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ir/numeric.h"
#include "ir/ops/elementwise_chain.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

using ir::ops::ChainStep;

const TypeCase kFloatCases[] = {{DataType::kFloat32, "f32", 1e-5},
                                {DataType::kFloat16, "f16", 1e-2},
                                {DataType::kBFloat16, "bf16", 1e-2}};

Tensor filled(DataType type, const std::vector<int64_t>& shape, float v) {
  Tensor t(type, shape);
  for (int64_t i = 0; i < t.elementCount(); ++i) {
    if (type == DataType::kFloat32) {
      t.data<float>()[i] = v;
    } else {
      t.data<uint16_t>()[i] = type == DataType::kFloat16 ? ir::floatToFloat16(v) : ir::floatToBFloat16(v);
    }
  }
  return t;
}

ir::AttributeMap chainAttributes(const std::vector<ChainStep>& steps) {
  ir::AttributeMap a;
  ir::ops::writeChainProgram(steps, a);
  return a;
}

ChainStep unary(const char* op, float alpha = 0.0f, float beta = 0.0f) {
  return {.op = op, .operand = -1, .operandFirst = false, .alpha = alpha, .beta = beta};
}

ChainStep binary(const char* op, int64_t operand, bool operandFirst = false) {
  return {.op = op, .operand = operand, .operandFirst = operandFirst};
}

void expectChainMatches(const TypeCase& t, const std::vector<ChainStep>& steps,
                        const std::vector<Tensor>& inputs, bool misalign = false) {
  std::vector<size_t> constants;
  for (size_t i = 1; i < inputs.size(); ++i) constants.push_back(i);
  expectMatchesReference({.kernel = std::string(t.prefix) + "-elementwisechain-cuda",
                          .opType = "ElementwiseChain",
                          .domain = "lowp",
                          .opset = 1,
                          .attrs = chainAttributes(steps),
                          .inputs = inputs,
                          .constantSlots = constants,
                          .tolerance = t.tolerance,
                          .misalign = misalign});
}

// Div by sqrt(2), Erf, Add 1: the chain the fusion pass makes of PyTorch's exported Gelu.
TEST(CudaElementwiseChain, ErfGeluChainMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(61);
  for (const TypeCase& t : kFloatCases) {
    for (const std::vector<int64_t>& shape :
         {std::vector<int64_t>{128, 2, 1024}, std::vector<int64_t>{3, 37}}) {
      for (bool misalign : {false, true}) {
        SCOPED_TRACE(std::string(t.prefix) + " " + ir::formatSizes(shape) + (misalign ? " misaligned" : ""));
        expectChainMatches(t, {binary("Div", 1), unary("Erf"), binary("Add", 2)},
                           {randomTensor(rng, t.type, shape, -4.0, 4.0), filled(t.type, {}, 1.41421356f),
                            filled(t.type, {}, 1.0f)},
                           misalign);
      }
    }
  }
}

TEST(CudaElementwiseChain, EveryStepAndOperandAddressing) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(62);
  const std::vector<int64_t> shape = {2, 16, 9, 9};
  for (const TypeCase& t : kFloatCases) {
    SCOPED_TRACE(t.prefix);
    const Tensor x = randomTensor(rng, t.type, shape, -3.0, 3.0);
    const Tensor row = randomTensor(rng, t.type, {9}, 0.5, 2.0);
    const Tensor channel = randomTensor(rng, t.type, {16, 1, 1});
    const Tensor strided = randomTensor(rng, t.type, {2, 1, 9, 1});
    const Tensor same = randomTensor(rng, t.type, shape);
    // Operands: a row, a channel block, a strided broadcast, X's own shape, X itself (given first).
    expectChainMatches(t,
                       {binary("Mul", 1), unary("Tanh"), binary("Add", 2), unary("Sigmoid"),
                        binary("Sub", 3, true), unary("LeakyRelu", 0.2f), binary("Max", 4),
                        unary("HardSigmoid", 0.2f, 0.5f), binary("Min", 0, true), binary("Div", 1)},
                       {x, row, channel, strided, same});
    // The other unary steps, with values kept where each is defined and finite.
    expectChainMatches(t,
                       {unary("Abs"), binary("Add", 1), unary("Sqrt"), unary("Reciprocal"), unary("Neg"),
                        unary("Exp"), unary("Clip", -0.5f, 0.9f), unary("Gelu", 1.0f), unary("Erf"),
                        unary("Relu"), unary("HardSwish"), binary("Div", 2), unary("Gelu")},
                       {x, filled(t.type, {1}, 0.5f), row});
  }
}

TEST(CudaElementwiseChain, DeclinesChainsLongerThanTheKernel) {
  std::mt19937 rng(63);
  const kernels::KernelDef* k = kernelNamed("f32-elementwisechain-cuda");
  ASSERT_NE(k, nullptr);
  const std::vector<ChainStep> steps(17, unary("Relu"));
  NodeUnderTest n("ElementwiseChain", "lowp", 1, chainAttributes(steps),
                  {randomTensor(rng, DataType::kFloat32, {4, 5})}, {});
  ASSERT_TRUE(n.status().isOk()) << n.status().toString();
  EXPECT_FALSE(k->supports(n.node(), n.inputShapes()));
  NodeUnderTest shortChain("ElementwiseChain", "lowp", 1, chainAttributes({unary("Relu")}),
                           {randomTensor(rng, DataType::kFloat32, {4, 5})}, {});
  ASSERT_TRUE(shortChain.status().isOk());
  EXPECT_TRUE(k->supports(shortChain.node(), shortChain.inputShapes()));
}

}  // namespace
}  // namespace lowp::testing
