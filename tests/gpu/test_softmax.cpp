// Softmax over the last axis on the GPU (kernels/cuda/softmax.cpp) against the CPU reference kernel.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

TEST(CudaSoftmax, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(51);
  struct TypeCase {
    DataType type;
    const char* prefix;
    double tolerance;
  };
  const std::vector<std::vector<int64_t>> shapes = {{7, 33}, {2, 12, 128, 128}, {5, 1000}, {3, 4099}, {9, 1}};
  for (const TypeCase& t :
       {TypeCase{DataType::kFloat32, "f32", 1e-5}, TypeCase{DataType::kFloat16, "f16", 1e-2},
        TypeCase{DataType::kBFloat16, "bf16", 1e-2}}) {
    for (const auto& shape : shapes) {
      SCOPED_TRACE(std::string(t.prefix) + " " + ir::formatSizes(shape));
      // A wide range, so that the maximum's subtraction matters.
      const Tensor x = randomTensor(rng, t.type, shape, -20.0, 20.0);
      expectMatchesReference({.kernel = std::string(t.prefix) + "-softmax-cuda",
                              .opType = "Softmax",
                              .opset = 13,
                              .inputs = {x},
                              .tolerance = t.tolerance});
      expectMatchesReference({.kernel = std::string(t.prefix) + "-softmax-cuda",
                              .opType = "Softmax",
                              .opset = 11,
                              .attrs = attrs({{"axis", static_cast<int64_t>(shape.size()) - 1}}),
                              .inputs = {x},
                              .tolerance = t.tolerance});
    }
  }
}

TEST(CudaSoftmax, DeclinesOtherAxes) {
  std::mt19937 rng(52);
  const kernels::KernelDef* k = kernelNamed("f32-softmax-cuda");
  ASSERT_NE(k, nullptr);
  NodeUnderTest n("Softmax", "", 13, attrs({{"axis", int64_t{0}}}),
                  {randomTensor(rng, DataType::kFloat32, {4, 5})}, {});
  ASSERT_TRUE(n.status().isOk());
  EXPECT_FALSE(k->supports(n.node(), n.inputShapes()));
  // Opset 11 flattens at axis 1 of a rank-3 tensor: not the last axis alone.
  NodeUnderTest old("Softmax", "", 11, {}, {randomTensor(rng, DataType::kFloat32, {2, 4, 5})}, {});
  ASSERT_TRUE(old.status().isOk());
  EXPECT_FALSE(k->supports(old.node(), old.inputShapes()));
}

}  // namespace
}  // namespace lowp::testing
