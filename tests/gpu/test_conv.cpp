// Conv and lowp.FusedConv through cuDNN (kernels/cuda/conv.cpp) against the CPU reference kernels, in fp32,
// tf32, fp16 and bf16, NCHW and NHWC, with every FusedConv activation (fused by cuDNN or by the epilogue).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

struct ConvShape {
  std::vector<int64_t> x, w;
  int64_t group;
  std::vector<int64_t> pads, strides, dilations;
  bool hwcToo;  ///< Also run the NHWC kernel on it.
};

const std::vector<ConvShape> kShapes = {
    {{2, 8, 13, 11}, {16, 8, 3, 3}, 1, {1, 1, 1, 1}, {1, 1}, {1, 1}, true},
    {{1, 16, 17, 17}, {32, 16, 3, 3}, 1, {0, 0, 0, 0}, {2, 2}, {1, 1}, true},
    {{2, 32, 9, 7}, {24, 32, 1, 1}, 1, {0, 0, 0, 0}, {1, 1}, {1, 1}, true},
    {{1, 8, 12, 12}, {8, 4, 3, 3}, 2, {1, 1, 1, 1}, {1, 1}, {1, 1}, false},
    {{1, 16, 9, 9}, {16, 1, 3, 3}, 16, {1, 1, 1, 1}, {1, 1}, {1, 1}, false},
    {{1, 4, 15, 15}, {8, 4, 3, 3}, 1, {2, 2, 2, 2}, {1, 1}, {2, 2}, false},
};

ir::AttributeMap convAttrs(const ConvShape& s) {
  return attrs({{"group", s.group},
                {"pads", s.pads},
                {"strides", s.strides},
                {"dilations", s.dilations},
                {"kernel_shape", std::vector<int64_t>{s.w[2], s.w[3]}}});
}

TEST(CudaConv, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(31);
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    for (const ConvShape& s : kShapes) {
      for (bool hwc : {false, true}) {
        if (hwc && !s.hwcToo) continue;
        for (bool withBias : {false, true}) {
          SCOPED_TRACE(std::string(p.prefix) + (hwc ? " hwc " : " ") + ir::formatSizes(s.x) + " * " +
                       ir::formatSizes(s.w) + (withBias ? " + bias" : ""));
          std::vector<Tensor> inputs = {randomTensor(rng, p.type, s.x),
                                        randomTensor(rng, p.type, s.w, -0.5, 0.5)};
          if (withBias) inputs.push_back(randomTensor(rng, p.type, {s.w[0]}));
          expectMatchesReference({.kernel = std::string(p.prefix) + "-conv-cudnn" + (hwc ? "-hwc" : ""),
                                  .opType = "Conv",
                                  .opset = 17,
                                  .attrs = convAttrs(s),
                                  .inputs = inputs,
                                  .constantSlots = {1, 2},
                                  .tolerance = p.tolerance});
        }
      }
    }
  }
}

TEST(CudaFusedConv, EveryActivationWithBiasAndResidual) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(32);
  const ConvShape& s = kShapes[0];
  struct Act {
    const char* name;
    float alpha, beta;
  };
  const Act acts[] = {{"", 0, 0},        {"Relu", 0, 0},      {"LeakyRelu", 0.1f, 0}, {"Clip", -0.5f, 1.5f},
                      {"Sigmoid", 0, 0}, {"HardSwish", 0, 0}, {"Tanh", 0, 0}};
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    for (const Act& act : acts) {
      for (bool hwc : {false, true}) {
        for (int variant = 0; variant < 3; ++variant) {  // bias; bias + residual; fp32 bias (fp16/bf16 only)
          if (variant == 2 && p.type == DataType::kFloat32) continue;
          SCOPED_TRACE(std::string(p.prefix) + " '" + act.name + "'" + (hwc ? " hwc" : "") + " variant " +
                       std::to_string(variant));
          ir::AttributeMap a = convAttrs(s);
          a.set("activation", std::string(act.name));
          a.set("activation_alpha", act.alpha);
          a.set("activation_beta", act.beta);
          std::vector<Tensor> inputs = {
              randomTensor(rng, p.type, s.x), randomTensor(rng, p.type, s.w, -0.5, 0.5),
              randomTensor(rng, variant == 2 ? DataType::kFloat32 : p.type, {s.w[0]})};
          if (variant == 1) inputs.push_back(randomTensor(rng, p.type, {s.x[0], s.w[0], s.x[2], s.x[3]}));
          expectMatchesReference({.kernel = std::string(p.prefix) + "-fusedconv-cudnn" + (hwc ? "-hwc" : ""),
                                  .opType = "FusedConv",
                                  .domain = "lowp",
                                  .opset = 1,
                                  .attrs = a,
                                  .inputs = inputs,
                                  .constantSlots = {1, 2},
                                  .tolerance = p.tolerance});
        }
      }
    }
  }
}

TEST(CudaConv, DeclinesAsymmetricPadding) {
  std::mt19937 rng(33);
  const kernels::KernelDef* k = kernelNamed("f32-conv-cudnn");
  ASSERT_NE(k, nullptr);
  NodeUnderTest n("Conv", "", 17, attrs({{"pads", std::vector<int64_t>{0, 0, 1, 1}}}),
                  {randomTensor(rng, DataType::kFloat32, {1, 3, 8, 8}),
                   randomTensor(rng, DataType::kFloat32, {4, 3, 3, 3})},
                  {1});
  ASSERT_TRUE(n.status().isOk());
  EXPECT_FALSE(k->supports(n.node(), n.inputShapes()));
}

}  // namespace
}  // namespace lowp::testing
