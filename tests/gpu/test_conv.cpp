// Conv and lowp.FusedConv through cuDNN (kernels/cuda/conv.cpp) against the CPU reference kernels, in fp32,
// tf32, fp16 and bf16, NCHW and NHWC, 2-D and 1-D, with every FusedConv activation (fused by cuDNN or by the
// epilogue);
// ConvTranspose through cuDNN's backward-data convolution (kernels/cuda/conv_transpose.cpp) likewise.
#include <gtest/gtest.h>

#include <cudnn.h>

#include <iostream>
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

// Every cuDNN algorithm the builder may time as its own tactic ("-a<N>"), where cuDNN offers it.
TEST(CudaConv, EveryAlgorithmTacticMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(34);
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    for (int algo = 0; algo < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++algo) {
      int ran = 0;
      for (const ConvShape& s : {kShapes[0], kShapes[2]}) {
        for (bool hwc : {false, true}) {
          const std::string name =
              std::string(p.prefix) + "-fusedconv-cudnn" + (hwc ? "-hwc" : "") + "-a" + std::to_string(algo);
          SCOPED_TRACE(name + " " + ir::formatSizes(s.x) + " * " + ir::formatSizes(s.w));
          ir::AttributeMap a = convAttrs(s);
          a.set("activation", std::string("Relu"));
          const std::vector<Tensor> inputs = {randomTensor(rng, p.type, s.x),
                                              randomTensor(rng, p.type, s.w, -0.5, 0.5),
                                              randomTensor(rng, p.type, {s.w[0]}),
                                              randomTensor(rng, p.type, {s.x[0], s.w[0], s.x[2], s.x[3]})};
          const double error = expectMatchesReference({.kernel = name,
                                                       .opType = "FusedConv",
                                                       .domain = "lowp",
                                                       .opset = 1,
                                                       .attrs = a,
                                                       .inputs = inputs,
                                                       .constantSlots = {1, 2},
                                                       .tolerance = p.tolerance,
                                                       .mayDecline = true});
          ran += error >= 0;
        }
      }
      std::cout << p.prefix << " cuDNN algorithm " << algo << ": ran " << ran << " of 4 cases\n";
    }
  }
}

// 1x1 convolutions over NHWC as one cuBLASLt GEMM: each heuristic answer, with and without bias, with a
// residual, and activations cuBLASLt fuses (Relu) or that take a pass after (Clip, or Relu after a residual).
TEST(CudaConv, OneByOneAsGemmMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(37);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{2, 64, 7, 5}, {32, 64, 1, 1}}, {{2, 32, 9, 7}, {24, 32, 1, 1}}, {{1, 6, 5, 5}, {10, 6, 1, 1}}};
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    for (const auto& [x, w] : shapes) {
      for (int h = 0; h < 3; ++h) {
        for (int variant = 0; variant < 5; ++variant) {  // no bias; bias; + Relu; + residual + Relu; Clip
          const bool fused = variant >= 2;
          const std::string name = std::string(p.prefix) + (fused ? "-fusedconv" : "-conv") +
                                   "-1x1-cublaslt-h" + std::to_string(h) + "-hwc";
          SCOPED_TRACE(name + " " + ir::formatSizes(x) + " variant " + std::to_string(variant));
          ir::AttributeMap a = attrs({{"kernel_shape", std::vector<int64_t>{1, 1}}});
          if (variant == 2 || variant == 3) a.set("activation", std::string("Relu"));
          if (variant == 4) {
            a.set("activation", std::string("Clip"));
            a.set("activation_alpha", 0.0f);
            a.set("activation_beta", 1.0f);
          }
          std::vector<Tensor> inputs = {randomTensor(rng, p.type, x),
                                        randomTensor(rng, p.type, w, -0.5, 0.5)};
          if (variant >= 1) inputs.push_back(randomTensor(rng, p.type, {w[0]}));
          if (variant == 3) inputs.push_back(randomTensor(rng, p.type, {x[0], w[0], x[2], x[3]}));
          expectMatchesReference({.kernel = name,
                                  .opType = fused ? "FusedConv" : "Conv",
                                  .domain = fused ? "lowp" : "",
                                  .opset = fused ? 1 : 17,
                                  .attrs = a,
                                  .inputs = inputs,
                                  .constantSlots = {1, 2},
                                  .tolerance = p.tolerance,
                                  .mayDecline = h > 0});
        }
      }
    }
  }
}

// A first convolution over few channels (RGB), padded to 8 channels for the tensor cores, or (stride 2)
// rearranged 2 x 2 space-to-depth into 16 or 32: every algorithm cuDNN offers, with bias and Relu fused, and
// without.
TEST(CudaConv, PaddedAndSpaceToDepthChannelsMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(36);
  struct Case {
    std::vector<int64_t> x, w;
    int64_t pad, stride;
  };
  const Case cases[] = {{{2, 3, 32, 32}, {64, 3, 7, 7}, 3, 2},
                        {{2, 3, 17, 17}, {32, 3, 3, 3}, 1, 2},
                        {{1, 2, 15, 13}, {8, 2, 4, 4}, 1, 2},
                        {{1, 1, 12, 12}, {16, 1, 3, 3}, 1, 1},
                        {{1, 4, 9, 9}, {8, 4, 1, 1}, 0, 1}};
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    if (p.type == DataType::kFloat32) continue;
    for (const Case& c : cases) {
      for (const std::string layout : {"-cudnn-padc8-hwc", "-cudnn-s2d-hwc", "-cudnn-s2d32-hwc"}) {
        if (layout.starts_with("-cudnn-s2d") && (c.stride != 2 || c.x[1] > 4)) continue;
        for (int algo = -1; algo < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++algo) {
          for (bool fused : {false, true}) {
            const std::string name = std::string(p.prefix) + (fused ? "-fusedconv" : "-conv") + layout +
                                     (algo >= 0 ? "-a" + std::to_string(algo) : "");
            SCOPED_TRACE(name + " " + ir::formatSizes(c.x) + " * " + ir::formatSizes(c.w));
            ir::AttributeMap a = attrs({{"pads", std::vector<int64_t>(4, c.pad)},
                                        {"strides", std::vector<int64_t>{c.stride, c.stride}},
                                        {"kernel_shape", std::vector<int64_t>{c.w[2], c.w[3]}}});
            if (fused) a.set("activation", std::string("Relu"));
            expectMatchesReference(
                {.kernel = name,
                 .opType = fused ? "FusedConv" : "Conv",
                 .domain = fused ? "lowp" : "",
                 .opset = fused ? 1 : 17,
                 .attrs = a,
                 .inputs = {randomTensor(rng, p.type, c.x), randomTensor(rng, p.type, c.w, -0.5, 0.5),
                            randomTensor(rng, p.type, {c.w[0]})},
                 .constantSlots = {1, 2},
                 .tolerance = p.tolerance,
                 .mayDecline = algo >= 0});
          }
        }
      }
    }
  }
}

// lowp's depthwise kernel (NHWC) in each float type: vector and scalar channel counts, strides, padding,
// dilation, larger windows, fp32 and fp16/bf16 biases, a residual and Clip (MobileNet's Relu6).
TEST(CudaConv, DepthwiseMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(35);
  struct Case {
    std::vector<int64_t> x;
    int64_t k;
    int64_t pad, stride, dilation;
  };
  const Case cases[] = {{{2, 32, 14, 14}, 3, 1, 1, 1}, {{2, 32, 15, 13}, 3, 1, 2, 1},
                        {{1, 6, 9, 9}, 3, 1, 1, 1},    {{1, 24, 12, 12}, 5, 2, 1, 1},
                        {{1, 16, 11, 11}, 3, 2, 1, 2}, {{3, 40, 7, 7}, 3, 0, 2, 1}};
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    if (std::string(p.prefix) == "tf32") continue;  // no tensor cores: the f32 kernel serves fp32
    for (const Case& c : cases) {
      for (int variant = 0; variant < 3;
           ++variant) {  // Conv with bias; FusedConv Clip; + residual, fp32 bias
        const bool fused = variant > 0;
        SCOPED_TRACE(std::string(p.prefix) + " depthwise " + ir::formatSizes(c.x) + " k" +
                     std::to_string(c.k) + " variant " + std::to_string(variant));
        const int64_t channels = c.x[1];
        ir::AttributeMap a = attrs({{"group", channels},
                                    {"pads", std::vector<int64_t>(4, c.pad)},
                                    {"strides", std::vector<int64_t>{c.stride, c.stride}},
                                    {"dilations", std::vector<int64_t>{c.dilation, c.dilation}},
                                    {"kernel_shape", std::vector<int64_t>{c.k, c.k}}});
        if (fused) {
          a.set("activation", std::string("Clip"));
          a.set("activation_alpha", 0.0f);
          a.set("activation_beta", 6.0f);
        }
        const std::vector<int64_t> w = {channels, 1, c.k, c.k};
        std::vector<Tensor> inputs = {
            randomTensor(rng, p.type, c.x), randomTensor(rng, p.type, w, -0.5, 0.5),
            randomTensor(rng, variant == 2 ? DataType::kFloat32 : p.type, {channels})};
        if (variant == 2) {
          const int64_t oh = (c.x[2] + 2 * c.pad - c.dilation * (c.k - 1) - 1) / c.stride + 1;
          const int64_t ow = (c.x[3] + 2 * c.pad - c.dilation * (c.k - 1) - 1) / c.stride + 1;
          inputs.push_back(randomTensor(rng, p.type, {c.x[0], channels, oh, ow}));
        }
        expectMatchesReference(
            {.kernel = std::string(p.prefix) + (fused ? "-fusedconv" : "-conv") + "-depthwise-hwc-cuda",
             .opType = fused ? "FusedConv" : "Conv",
             .domain = fused ? "lowp" : "",
             .opset = fused ? 1 : 17,
             .attrs = a,
             .inputs = inputs,
             .constantSlots = {1, 2},
             .tolerance = p.tolerance});
      }
    }
  }
}

// 1-D convolutions (an audio encoder's) run as 2-D ones of height 1: NCW and NWC, grouped, strided, dilated,
// depthwise, and a FusedConv with its residual.
TEST(CudaConv, OneDimensionalMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(37);
  struct Case {
    std::vector<int64_t> x, w;
    int64_t group, pad, stride, dilation;
  };
  const Case cases[] = {{{2, 16, 50}, {32, 16, 3}, 1, 1, 1, 1},
                        {{1, 80, 300}, {64, 80, 3}, 1, 1, 2, 1},
                        {{2, 8, 40}, {8, 4, 5}, 2, 4, 1, 2},
                        {{3, 12, 17}, {24, 12, 1}, 1, 0, 1, 1}};
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    for (const Case& c : cases) {
      for (bool hwc : {false, true}) {
        if (hwc && c.group != 1) continue;
        SCOPED_TRACE(std::string(p.prefix) + (hwc ? " nwc " : " ncw ") + ir::formatSizes(c.x) + " * " +
                     ir::formatSizes(c.w) + " group " + std::to_string(c.group));
        expectMatchesReference(
            {.kernel = std::string(p.prefix) + "-conv-cudnn" + (hwc ? "-hwc" : ""),
             .opType = "Conv",
             .opset = 17,
             .attrs = attrs({{"group", c.group},
                             {"pads", std::vector<int64_t>{c.pad, c.pad}},
                             {"strides", std::vector<int64_t>{c.stride}},
                             {"dilations", std::vector<int64_t>{c.dilation}}}),
             .inputs = {randomTensor(rng, p.type, c.x), randomTensor(rng, p.type, c.w, -0.5, 0.5),
                        randomTensor(rng, p.type, {c.w[0]})},
             .constantSlots = {1, 2},
             .tolerance = p.tolerance});
      }
    }
    if (std::string(p.prefix) == "tf32") continue;
    SCOPED_TRACE(std::string(p.prefix) + " depthwise 1-D, fused with a residual");
    const std::vector<int64_t> x = {2, 32, 45};
    expectMatchesReference(
        {.kernel = std::string(p.prefix) + "-fusedconv-depthwise-hwc-cuda",
         .opType = "FusedConv",
         .domain = "lowp",
         .opset = 1,
         .attrs = attrs({{"group", int64_t{32}},
                         {"pads", std::vector<int64_t>{1, 1}},
                         {"activation", std::string("Relu")}}),
         .inputs = {randomTensor(rng, p.type, x), randomTensor(rng, p.type, {32, 1, 3}, -0.5, 0.5),
                    randomTensor(rng, p.type, {32}), randomTensor(rng, p.type, x)},
         .constantSlots = {1, 2},
         .tolerance = p.tolerance});
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
                      {"Sigmoid", 0, 0}, {"HardSwish", 0, 0}, {"Tanh", 0, 0},         {"Gelu", 0, 0},
                      {"Gelu", 1, 0}};
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

struct ConvTransposeCase {
  std::vector<int64_t> x, w;  ///< x [N, C, H, W]; w [C, M / group, kh, kw]
  ir::AttributeMap attrs;     ///< kernel_shape is added
};

std::vector<ConvTransposeCase> convTransposeCases() {
  const std::vector<int64_t> two = {2, 2};
  return {
      // 2x upsampling of a decoder (k 4, stride 2, pad 1) and the k 3 / output_padding 1 form.
      {{2, 16, 9, 7}, {16, 8, 4, 4}, attrs({{"strides", two}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}})},
      {{1, 8, 6, 5},
       {8, 16, 3, 3},
       attrs({{"strides", two},
              {"pads", std::vector<int64_t>{1, 1, 1, 1}},
              {"output_padding", std::vector<int64_t>{1, 1}}})},
      // Stride 1, no pads; groups; dilation; stride 3 of a 2x2 kernel (gaps between the taps).
      {{2, 6, 7, 7}, {6, 4, 3, 3}, attrs({})},
      {{1, 8, 5, 6}, {8, 3, 3, 3}, attrs({{"group", int64_t{2}}, {"strides", two}})},
      {{1, 4, 6, 6}, {4, 4, 3, 3}, attrs({{"dilations", two}, {"pads", std::vector<int64_t>{2, 2, 2, 2}}})},
      {{1, 5, 4, 4}, {5, 6, 2, 2}, attrs({{"strides", std::vector<int64_t>{3, 3}}})},
      // Asymmetric pads: cuDNN's leading pads (output_shape; SAME_LOWER), or a window of the whole result
      // (SAME_UPPER with an odd total padding; pads longer after than before).
      {{1, 8, 5, 5}, {8, 4, 3, 3}, attrs({{"strides", two}, {"output_shape", std::vector<int64_t>{10, 10}}})},
      {{1, 8, 7, 7}, {8, 8, 3, 3}, attrs({{"strides", two}, {"auto_pad", std::string("SAME_LOWER")}})},
      {{2, 8, 7, 6}, {8, 8, 3, 3}, attrs({{"strides", two}, {"auto_pad", std::string("SAME_UPPER")}})},
      {{1, 3, 8, 8}, {3, 4, 3, 3}, attrs({{"pads", std::vector<int64_t>{0, 1, 2, 1}}})},
  };
}

ir::AttributeMap withKernelShape(ir::AttributeMap a, const std::vector<int64_t>& w) {
  a.set("kernel_shape", std::vector<int64_t>(w.begin() + 2, w.end()));
  return a;
}

TEST(CudaConvTranspose, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(41);
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    for (const ConvTransposeCase& c : convTransposeCases()) {
      for (bool hwc : {false, true}) {
        for (bool withBias : {false, true}) {
          const std::string name = std::string(p.prefix) + "-convtranspose-cudnn" + (hwc ? "-hwc" : "");
          SCOPED_TRACE(name + " " + ir::formatSizes(c.x) + " * " + ir::formatSizes(c.w) +
                       (withBias ? " + bias" : ""));
          std::vector<Tensor> inputs = {randomTensor(rng, p.type, c.x),
                                        randomTensor(rng, p.type, c.w, -0.5, 0.5)};
          const int64_t group = c.attrs.getInt("group", 1);
          if (withBias) inputs.push_back(randomTensor(rng, p.type, {c.w[1] * group}));
          expectMatchesReference({.kernel = name,
                                  .opType = "ConvTranspose",
                                  .opset = 17,
                                  .attrs = withKernelShape(c.attrs, c.w),
                                  .inputs = inputs,
                                  .constantSlots = {1, 2},
                                  .tolerance = p.tolerance});
        }
      }
    }
  }
}

// Every cuDNN backward-data algorithm the builder may time as its own tactic, where cuDNN offers it; every
// algorithm must run somewhere among the cases and precisions.
TEST(CudaConvTranspose, EveryAlgorithmTacticMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  const ExactTactics exact;
  std::mt19937 rng(43);
  const std::vector<ConvTransposeCase> cases = convTransposeCases();
  for (int algo = 0; algo < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT; ++algo) {
    int ran = 0;
    for (const LibraryPrecision& p : kLibraryPrecisions) {
      for (const ConvTransposeCase& c : {cases[0], cases[2], cases[3]}) {
        for (bool hwc : {false, true}) {
          const std::string name = std::string(p.prefix) + "-convtranspose-cudnn" + (hwc ? "-hwc" : "") +
                                   "-a" + std::to_string(algo);
          SCOPED_TRACE(name + " " + ir::formatSizes(c.x) + " * " + ir::formatSizes(c.w));
          const int64_t group = c.attrs.getInt("group", 1);
          const double error = expectMatchesReference(
              {.kernel = name,
               .opType = "ConvTranspose",
               .opset = 17,
               .attrs = withKernelShape(c.attrs, c.w),
               .inputs = {randomTensor(rng, p.type, c.x), randomTensor(rng, p.type, c.w, -0.5, 0.5),
                          randomTensor(rng, p.type, {c.w[1] * group})},
               .constantSlots = {1, 2},
               .tolerance = p.tolerance,
               .mayDecline = true});
          ran += error >= 0;
        }
      }
    }
    std::cout << "cuDNN backward-data algorithm " << algo << ": ran " << ran << " of 24 cases\n";
  }
}

// What cuDNN's 2-D convolutions cannot take is declined, so that the builder runs another kernel instead of
// a wrong one: 1-D, and an output_shape beyond the whole result (negative pads).
TEST(CudaConvTranspose, DeclinesWhatCudnnCannotRun) {
  std::mt19937 rng(44);
  const kernels::KernelDef* k = kernelNamed("f32-convtranspose-cudnn");
  ASSERT_NE(k, nullptr);
  auto supported = [&](const std::vector<int64_t>& x, const std::vector<int64_t>& w, ir::AttributeMap a) {
    NodeUnderTest n("ConvTranspose", "", 17, withKernelShape(std::move(a), w),
                    {randomTensor(rng, DataType::kFloat32, x), randomTensor(rng, DataType::kFloat32, w)},
                    {1});
    EXPECT_TRUE(n.status().isOk()) << n.status().toString();
    return k->supports(n.node(), n.inputShapes());
  };
  EXPECT_TRUE(supported({1, 3, 8, 8}, {3, 4, 3, 3}, attrs({})));
  EXPECT_TRUE(supported({1, 3, 8, 8}, {3, 4, 3, 3}, attrs({{"pads", std::vector<int64_t>{0, 0, 2, 2}}})));
  EXPECT_FALSE(supported({1, 3, 8}, {3, 4, 3}, attrs({})));
  EXPECT_FALSE(
      supported({1, 3, 8, 8}, {3, 4, 3, 3}, attrs({{"output_shape", std::vector<int64_t>{12, 12}}})));
}

}  // namespace
}  // namespace lowp::testing
