// GroupNormalization (opset 18: scale and bias per group; opset 21: per channel) and InstanceNormalization on
// the GPU (kernels/cuda/groupnorm.cpp) against the CPU reference kernels: 1-D and 2-D spatial dims, one
// group, a group per channel, groups larger than a block's pass (a diffusion UNet's 32 groups of 64 x 64),
// and the nodes the kernel declines.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

const TypeCase kTypes[] = {{DataType::kFloat32, "f32", 1e-5},
                           {DataType::kFloat16, "f16", 1e-2},
                           {DataType::kBFloat16, "bf16", 1e-2}};

TEST(CudaGroupNorm, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(101);
  struct Case {
    std::vector<int64_t> x;
    int64_t groups;
  };
  const std::vector<Case> cases = {
      {{2, 32, 16, 16}, 8}, {{1, 6, 7}, 3}, {{3, 4, 1, 1}, 1}, {{2, 5, 9}, 5}, {{1, 64, 64, 64}, 32}};
  for (const TypeCase& t : kTypes) {
    for (const Case& c : cases) {
      for (int64_t opset : {18, 21}) {
        SCOPED_TRACE(std::string(t.prefix) + " " + ir::formatSizes(c.x) + " groups " +
                     std::to_string(c.groups) + " opset " + std::to_string(opset));
        const int64_t params = opset >= 21 ? c.x[1] : c.groups;
        expectMatchesReference(
            {.kernel = std::string(t.prefix) + "-groupnormalization-cuda",
             .opType = "GroupNormalization",
             .opset = opset,
             .attrs = attrs({{"num_groups", c.groups}, {"epsilon", 1e-5f}}),
             .inputs = {randomTensor(rng, t.type, c.x, -1.0, 4.0),
                        randomTensor(rng, t.type, {params}, 0.5, 1.5), randomTensor(rng, t.type, {params})},
             .constantSlots = {1, 2},
             .tolerance = t.tolerance});
      }
    }
  }
}

TEST(CudaGroupNorm, InstanceNormalizationMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(102);
  for (const TypeCase& t : kTypes) {
    for (const std::vector<int64_t>& x : {std::vector<int64_t>{2, 16, 12, 12},
                                          std::vector<int64_t>{1, 3, 100}, std::vector<int64_t>{4, 8, 1}}) {
      SCOPED_TRACE(std::string(t.prefix) + " " + ir::formatSizes(x));
      expectMatchesReference(
          {.kernel = std::string(t.prefix) + "-instancenormalization-cuda",
           .opType = "InstanceNormalization",
           .opset = 6,
           .attrs = attrs({{"epsilon", 1e-5f}}),
           .inputs = {randomTensor(rng, t.type, x, -1.0, 4.0), randomTensor(rng, t.type, {x[1]}, 0.5, 1.5),
                      randomTensor(rng, t.type, {x[1]})},
           .constantSlots = {1, 2},
           .tolerance = t.tolerance});
    }
  }
}

TEST(CudaGroupNorm, DeclinesWhatItCannotRun) {
  std::mt19937 rng(103);
  const kernels::KernelDef* k = kernelNamed("f32-groupnormalization-cuda");
  ASSERT_NE(k, nullptr);
  const Tensor x = randomTensor(rng, DataType::kFloat32, {2, 6, 4});
  const Tensor p = randomTensor(rng, DataType::kFloat32, {6});
  NodeUnderTest doubleStash("GroupNormalization", "", 21,
                            attrs({{"num_groups", int64_t{3}}, {"stash_type", int64_t{11}}}), {x, p, p},
                            {1, 2});
  ASSERT_TRUE(doubleStash.status().isOk()) << doubleStash.status().toString();
  EXPECT_FALSE(k->supports(doubleStash.node(), doubleStash.inputShapes()));
  NodeUnderTest plain("GroupNormalization", "", 21, attrs({{"num_groups", int64_t{3}}}), {x, p, p}, {1, 2});
  ASSERT_TRUE(plain.status().isOk()) << plain.status().toString();
  EXPECT_TRUE(k->supports(plain.node(), plain.inputShapes()));
}

}  // namespace
}  // namespace lowp::testing
