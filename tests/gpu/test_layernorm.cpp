// LayerNormalization and RMSNormalization on the GPU (kernels/cuda/layernorm.cpp) against the CPU reference
// kernels: rows of odd and vector-sized lengths up to 4099, axis other than the last, with and without B,
// misaligned tensors (the scalar path), and the nodes the kernel declines. LayerNormalization's Mean and
// InvStdDev outputs: CudaBuilder.LayerNormStatisticsMatchTheCpu (test_builder.cpp).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

TEST(CudaLayerNorm, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(71);
  struct Case {
    std::vector<int64_t> x;
    int64_t axis;
  };
  const std::vector<Case> cases = {{{2, 128, 256}, -1}, {{7, 33}, -1},     {{3, 4096}, 1},
                                   {{2, 4099}, -1},     {{2, 3, 8, 5}, 2}, {{5, 1}, -1}};
  for (const TypeCase& t :
       {TypeCase{DataType::kFloat32, "f32", 1e-5}, TypeCase{DataType::kFloat16, "f16", 1e-2},
        TypeCase{DataType::kBFloat16, "bf16", 1e-2}}) {
    for (const Case& c : cases) {
      for (bool withBias : {true, false}) {
        for (bool misalign : {false, true}) {
          SCOPED_TRACE(std::string(t.prefix) + " " + ir::formatSizes(c.x) + " axis " +
                       std::to_string(c.axis) + (withBias ? " with B" : "") +
                       (misalign ? " misaligned" : ""));
          const size_t axis =
              static_cast<size_t>(c.axis < 0 ? c.axis + static_cast<int64_t>(c.x.size()) : c.axis);
          const std::vector<int64_t> normalised(c.x.begin() + static_cast<std::ptrdiff_t>(axis), c.x.end());
          // An offset and spread unlike N(0, 1), so that the mean and the variance both matter.
          std::vector<Tensor> inputs = {randomTensor(rng, t.type, c.x, 1.0, 5.0),
                                        randomTensor(rng, t.type, normalised, 0.5, 1.5)};
          if (withBias) inputs.push_back(randomTensor(rng, t.type, normalised));
          expectMatchesReference({.kernel = std::string(t.prefix) + "-layernorm-cuda",
                                  .opType = "LayerNormalization",
                                  .opset = 17,
                                  .attrs = attrs({{"axis", c.axis}, {"epsilon", 1e-5f}}),
                                  .inputs = inputs,
                                  .constantSlots = {1, 2},
                                  .tolerance = t.tolerance,
                                  .misalign = misalign});
        }
      }
    }
  }
}

// lowp.FusedLayerNorm: the residual added as each row is read (its shape X's), or first into Y (a residual
// that broadcasts, or an X that broadcasts to the residual's shape).
TEST(CudaLayerNorm, FusedResidualMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(73);
  struct Case {
    std::vector<int64_t> x, residual;
  };
  const std::vector<Case> cases = {
      {{2, 128, 768}, {2, 128, 768}}, {{7, 33}, {7, 33}}, {{4, 16}, {16}}, {{16}, {3, 16}}};
  for (const TypeCase& t :
       {TypeCase{DataType::kFloat32, "f32", 1e-5}, TypeCase{DataType::kFloat16, "f16", 1e-2},
        TypeCase{DataType::kBFloat16, "bf16", 1e-2}}) {
    for (const Case& c : cases) {
      for (bool misalign : {false, true}) {
        SCOPED_TRACE(std::string(t.prefix) + " X " + ir::formatSizes(c.x) + " residual " +
                     ir::formatSizes(c.residual) + (misalign ? " misaligned" : ""));
        const std::vector<int64_t> row = {c.x.back()};
        expectMatchesReference(
            {.kernel = std::string(t.prefix) + "-fusedlayernorm-cuda",
             .opType = "FusedLayerNorm",
             .domain = "lowp",
             .opset = 1,
             .attrs = attrs({{"epsilon", 1e-5f}}),
             .inputs = {randomTensor(rng, t.type, c.x, 1.0, 5.0), randomTensor(rng, t.type, row, 0.5, 1.5),
                        randomTensor(rng, t.type, row), randomTensor(rng, t.type, c.residual, -2.0, 2.0)},
             .constantSlots = {1, 2},
             .tolerance = t.tolerance,
             .misalign = misalign});
      }
    }
  }
}

// The residual read through residual_perm: rows of [S, B, E] (and of a rank-4 [S, B, H, E]) taken in the
// order of X's [B, S, E] ([H, B, S, E]), as the batch-first encoder's Transpose would have copied them.
TEST(CudaLayerNorm, FusedResidualReadThroughAPermutationMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(79);
  struct Case {
    std::vector<int64_t> x, residual, perm;
  };
  const std::vector<Case> cases = {{{4, 128, 768}, {128, 4, 768}, {1, 0, 2}},
                                   {{3, 5, 7, 40}, {5, 7, 3, 40}, {2, 0, 1, 3}}};
  for (const TypeCase& t :
       {TypeCase{DataType::kFloat32, "f32", 1e-5}, TypeCase{DataType::kFloat16, "f16", 1e-2},
        TypeCase{DataType::kBFloat16, "bf16", 1e-2}}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(t.prefix) + " X " + ir::formatSizes(c.x) + " residual " +
                   ir::formatSizes(c.residual));
      const std::vector<int64_t> row = {c.x.back()};
      expectMatchesReference(
          {.kernel = std::string(t.prefix) + "-fusedlayernorm-cuda",
           .opType = "FusedLayerNorm",
           .domain = "lowp",
           .opset = 1,
           .attrs = attrs({{"epsilon", 1e-5f}, {"residual_perm", c.perm}}),
           .inputs = {randomTensor(rng, t.type, c.x, 1.0, 5.0), randomTensor(rng, t.type, row, 0.5, 1.5),
                      randomTensor(rng, t.type, row), randomTensor(rng, t.type, c.residual, -2.0, 2.0)},
           .constantSlots = {1, 2},
           .tolerance = t.tolerance});
    }
  }
}

// RMSNormalization (opset 23): the same rows without the mean, Scale alone.
TEST(CudaLayerNorm, RmsNormalizationMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(74);
  struct Case {
    std::vector<int64_t> x;
    int64_t axis;
  };
  const std::vector<Case> cases = {{{2, 16, 512}, -1}, {{7, 33}, -1}, {{3, 5, 6, 8}, 1}, {{2, 2000}, -1}};
  for (const TypeCase& t :
       {TypeCase{DataType::kFloat32, "f32", 1e-5}, TypeCase{DataType::kFloat16, "f16", 1e-2},
        TypeCase{DataType::kBFloat16, "bf16", 1e-2}}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(t.prefix) + " " + ir::formatSizes(c.x) + " axis " + std::to_string(c.axis));
      const size_t axis =
          static_cast<size_t>(c.axis < 0 ? c.axis + static_cast<int64_t>(c.x.size()) : c.axis);
      const std::vector<int64_t> normalised(c.x.begin() + static_cast<std::ptrdiff_t>(axis), c.x.end());
      expectMatchesReference({.kernel = std::string(t.prefix) + "-rmsnormalization-cuda",
                              .opType = "RMSNormalization",
                              .opset = 23,
                              .attrs = attrs({{"axis", c.axis}, {"epsilon", 1e-5f}}),
                              .inputs = {randomTensor(rng, t.type, c.x, -3.0, 5.0),
                                         randomTensor(rng, t.type, normalised, 0.5, 1.5)},
                              .constantSlots = {1},
                              .tolerance = t.tolerance});
    }
  }
}

TEST(CudaLayerNorm, DeclinesWhatItCannotRun) {
  std::mt19937 rng(72);
  const kernels::KernelDef* k = kernelNamed("f32-layernorm-cuda");
  ASSERT_NE(k, nullptr);
  const Tensor x = randomTensor(rng, DataType::kFloat32, {4, 6});
  // Scale broadcast along the rows ([4, 1]) is not one value per normalised element.
  NodeUnderTest columnScale("LayerNormalization", "", 17, {},
                            {x, randomTensor(rng, DataType::kFloat32, {4, 1})}, {1});
  ASSERT_TRUE(columnScale.status().isOk());
  EXPECT_FALSE(k->supports(columnScale.node(), columnScale.inputShapes()));
  NodeUnderTest doubleStash("LayerNormalization", "", 17, attrs({{"stash_type", int64_t{11}}}),
                            {x, randomTensor(rng, DataType::kFloat32, {6})}, {1});
  ASSERT_TRUE(doubleStash.status().isOk());
  EXPECT_FALSE(k->supports(doubleStash.node(), doubleStash.inputShapes()));
  NodeUnderTest plain("LayerNormalization", "", 17, {}, {x, randomTensor(rng, DataType::kFloat32, {6})}, {1});
  ASSERT_TRUE(plain.status().isOk());
  EXPECT_TRUE(k->supports(plain.node(), plain.inputShapes()));
}

}  // namespace
}  // namespace lowp::testing
