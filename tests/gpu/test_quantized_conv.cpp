// lowp.QuantizedConv on int8 tensor cores (kernels/cuda/quantized_conv.cpp) against the CPU reference
// kernel: fp32, fp16 and int8 outputs; with and without bias; float and int8 residuals; every activation
// the epilogue takes; per-channel and per-tensor weight scales; every engine tactic where cuDNN offers it,
// and every tile of the own implicit GEMM, on shapes that end inside a tile and a channel step.
// Integer outputs may differ from the reference by one step (fp32 rescale against the reference's double).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ir/ops/fused.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

using ir::ops::FusedActivation;

struct Shape {
  std::vector<int64_t> x, w;
  std::vector<int64_t> pads, strides;
  std::vector<int64_t> dilations = {1, 1};
};

const std::vector<Shape> kShapes = {
    {{2, 16, 13, 11}, {32, 16, 3, 3}, {1, 1, 1, 1}, {1, 1}},
    {{1, 32, 17, 17}, {64, 32, 3, 3}, {0, 0, 0, 0}, {2, 2}},
    {{2, 64, 9, 7}, {32, 64, 1, 1}, {0, 0, 0, 0}, {1, 1}},
};

// For the own kernel besides kShapes: 80 input channels (a channel step and a part of one), 48 and 144
// outputs (parts of tiles), 18 reduction steps (the copy pipeline wraps around), pads that differ by axis, a
// dilation, 2 x 2 strides over a 1 x 1 filter, and more tiles than the GPU holds blocks at once (blocks
// that take several tiles, with single-step tiles whose copies run ahead into the next ones).
const std::vector<Shape> kOwnShapes = {
    {{2, 80, 15, 9}, {48, 80, 3, 3}, {1, 1, 1, 1}, {1, 1}},
    {{1, 128, 10, 10}, {96, 128, 3, 3}, {1, 1, 1, 1}, {1, 1}},
    {{2, 48, 12, 11}, {144, 48, 3, 3}, {1, 2, 1, 2}, {1, 1}, {2, 2}},
    {{3, 64, 23, 21}, {144, 64, 1, 1}, {0, 0, 0, 0}, {2, 2}},
    {{32, 16, 64, 64}, {16, 16, 1, 1}, {0, 0, 0, 0}, {1, 1}},
};

const std::vector<std::string> kOwnKernels = {"i8-quantizedconv-igemm-hwc-128x128",
                                              "i8-quantizedconv-igemm-hwc-256x64",
                                              "i8-quantizedconv-igemm-hwc-128x64"};

std::vector<int64_t> outputShape(const Shape& s) {
  std::vector<int64_t> y = {s.x[0], s.w[0]};
  for (size_t d = 0; d < 2; ++d)
    y.push_back(
        (s.x[d + 2] + s.pads[d] + s.pads[d + 2] - s.dilations[d] * (s.w[d + 2] - 1) - 1) / s.strides[d] + 1);
  return y;
}

// Scales that make the real output about 1, so that an int8 output spans about 50 steps (y_scale 0.02).
ir::AttributeMap quantizedAttrs(std::mt19937& rng, const Shape& s, DataType out, DataType residual,
                                FusedActivation act, bool perChannel) {
  ir::AttributeMap a;
  const double terms = static_cast<double>(s.w[1] * s.w[2] * s.w[3]);
  std::uniform_real_distribution<float> jitter(0.5f, 1.5f);
  const float xScale = 0.02f * jitter(rng);
  std::vector<float> wScales(perChannel ? static_cast<size_t>(s.w[0]) : 1);
  for (float& w : wScales)
    w = static_cast<float>(1.0 / (std::sqrt(terms) * 74.0 * 74.0 * xScale)) * jitter(rng);
  a.set("x_scale", xScale);
  a.set("w_scales", wScales);
  a.set("output_type", static_cast<int64_t>(out));
  if (out == DataType::kInt8) a.set("y_scale", 0.02f * jitter(rng));
  if (residual == DataType::kInt8) a.set("z_scale", 0.02f * jitter(rng));
  ir::ops::ActivationSpec spec;
  spec.kind = act;
  if (act == FusedActivation::kLeakyRelu) spec.alpha = 0.125f;
  if (act == FusedActivation::kClip) {
    spec.alpha = -0.5f;
    spec.beta = 0.75f;
  }
  ir::ops::writeActivation(a, spec);
  a.set("kernel_shape", std::vector<int64_t>{s.w[2], s.w[3]});
  a.set("pads", s.pads);
  a.set("strides", s.strides);
  a.set("dilations", s.dilations);
  return a;
}

KernelCase quantizedCase(std::mt19937& rng, const std::string& kernel, const Shape& s, DataType out,
                         bool withBias, DataType residual, FusedActivation act, bool perChannel) {
  std::vector<Tensor> inputs = {randomIntegers(rng, DataType::kInt8, s.x, -128, 127),
                                randomIntegers(rng, DataType::kInt8, s.w, -127, 127)};
  inputs.push_back(withBias ? randomIntegers(rng, DataType::kInt32, {s.w[0]}, -20000, 20000)
                            : Tensor(DataType::kUndefined, {}));
  const std::vector<int64_t> y = outputShape(s);
  if (residual == DataType::kInt8) {
    inputs.push_back(randomIntegers(rng, DataType::kInt8, y, -128, 127));
  } else if (residual != DataType::kUndefined) {
    inputs.push_back(randomTensor(rng, residual, y, -1.0, 1.0));
  }
  return {.kernel = kernel,
          .opType = "QuantizedConv",
          .domain = "lowp",
          .attrs = quantizedAttrs(rng, s, out, residual, act, perChannel),
          .inputs = inputs,
          .constantSlots = {1, 2},
          // One int8 step; fp16 rounding of values near 1 (the reference rounds a double once).
          .tolerance = out == DataType::kInt8 ? 1.0 : (out == DataType::kFloat16 ? 2e-3 : 1e-5),
          // The first engine tactic falls back to any configuration that runs (outside the builder's
          // timing): it must run every case; the others may not be offered.
          .mayDecline = kernel.find("-cudnn-") != std::string::npos
                            ? !kernel.ends_with("-e0")
                            // The residual's tile in every copy stage: only the smallest own tile must
                            // fit every GPU's shared memory with any residual and output.
                            : residual != DataType::kUndefined && !kernel.ends_with("-128x64")};
}

std::string caseName(const Shape& s, DataType out, bool withBias, DataType residual) {
  return ir::formatSizes(s.x) + " * " + ir::formatSizes(s.w) + " -> " + std::string(dataTypeName(out)) +
         (withBias ? " + bias" : "") +
         (residual != DataType::kUndefined ? " + " + std::string(dataTypeName(residual)) + " residual" : "");
}

TEST(CudaQuantizedConv, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(41);
  for (const Shape& s : kShapes) {
    for (DataType out : {DataType::kFloat32, DataType::kFloat16, DataType::kInt8}) {
      const DataType floatResidual = out == DataType::kInt8 ? DataType::kUndefined : out;
      for (DataType residual : {DataType::kUndefined, floatResidual, DataType::kInt8}) {
        for (bool withBias : {false, true}) {
          SCOPED_TRACE(caseName(s, out, withBias, residual));
          expectMatchesReference(quantizedCase(rng, "i8-quantizedconv-cudnn-hwc-e0", s, out, withBias,
                                               residual, FusedActivation::kRelu, true));
        }
      }
    }
  }
}

TEST(CudaQuantizedConv, EveryOwnTileMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(45);
  std::vector<Shape> shapes = kShapes;
  shapes.insert(shapes.end(), kOwnShapes.begin(), kOwnShapes.end());
  for (const std::string& kernel : kOwnKernels) {
    for (const Shape& s : shapes) {
      for (DataType out : {DataType::kFloat32, DataType::kFloat16, DataType::kInt8}) {
        std::vector<DataType> residuals = {DataType::kUndefined, DataType::kInt8};
        if (out != DataType::kInt8) residuals.push_back(out);  // a float residual has the output's type
        for (DataType residual : residuals) {
          const bool withBias = residual != DataType::kInt8;
          SCOPED_TRACE(kernel + ": " + caseName(s, out, withBias, residual));
          expectMatchesReference(
              quantizedCase(rng, kernel, s, out, withBias, residual, FusedActivation::kRelu, true));
        }
      }
    }
  }
}

TEST(CudaQuantizedConv, EveryActivationAndWeightScaleMatches) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(42);
  for (FusedActivation act : {FusedActivation::kNone, FusedActivation::kRelu, FusedActivation::kLeakyRelu,
                              FusedActivation::kClip}) {
    for (bool perChannel : {false, true}) {
      for (DataType out : {DataType::kFloat16, DataType::kInt8}) {
        for (const char* kernel : {"i8-quantizedconv-cudnn-hwc-e0", "i8-quantizedconv-igemm-hwc-128x64"}) {
          SCOPED_TRACE(std::string(kernel) + ": " + std::string(ir::ops::activationOpType(act)) +
                       (perChannel ? " per-channel " : " per-tensor ") + std::string(dataTypeName(out)));
          expectMatchesReference(
              quantizedCase(rng, kernel, kShapes[0], out, true, DataType::kInt8, act, perChannel));
        }
      }
    }
  }
}

TEST(CudaQuantizedConv, EveryEngineTacticMatchesOrDeclines) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(43);
  for (int engine = 0; engine < 3; ++engine) {
    const std::string kernel = "i8-quantizedconv-cudnn-hwc-e" + std::to_string(engine);
    SCOPED_TRACE(kernel);
    expectMatchesReference(quantizedCase(rng, kernel, kShapes[1], DataType::kInt8, true, DataType::kInt8,
                                         FusedActivation::kRelu, true));
  }
}

TEST(CudaQuantizedConv, DeclinesWhatTheGraphCannotRun) {
  LOWP_REQUIRE_GPU();
  const kernels::KernelDef* k = kernelNamed("i8-quantizedconv-cudnn-hwc-e0");
  ASSERT_NE(k, nullptr);
  std::mt19937 rng(44);
  const Shape& s = kShapes[0];
  auto shapesOf = [](const KernelCase& c) {
    std::vector<ir::Shape> shapes;
    for (const Tensor& t : c.inputs) shapes.push_back(ir::Shape::fromSizes(t.shape()));
    return shapes;
  };
  ir::Node node;
  KernelCase c = quantizedCase(rng, k->name.data(), s, DataType::kInt8, true, DataType::kUndefined,
                               FusedActivation::kRelu, true);
  node.attributes = c.attrs;
  EXPECT_TRUE(k->supports(node, shapesOf(c)));
  node.attributes.set("x_zero_point", int64_t{3});
  EXPECT_FALSE(k->supports(node, shapesOf(c))) << "an input zero point";
  node.attributes = c.attrs;
  ir::ops::writeActivation(node.attributes, {FusedActivation::kSigmoid, 0.0f, 0.0f});
  EXPECT_FALSE(k->supports(node, shapesOf(c))) << "Sigmoid";
  node.attributes = c.attrs;
  node.attributes.set("group", int64_t{2});
  EXPECT_FALSE(k->supports(node, shapesOf(c))) << "two groups";
}

TEST(CudaQuantizedConv, OwnKernelDeclinesChannelsNotInSixteens) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(46);
  for (const std::string& kernel : kOwnKernels) {
    const kernels::KernelDef* k = kernelNamed(kernel);
    ASSERT_NE(k, nullptr) << kernel;
    ir::Node node;
    for (const Shape& s : {Shape{{1, 16, 5, 5}, {32, 16, 3, 3}, {1, 1, 1, 1}, {1, 1}},
                           Shape{{1, 24, 5, 5}, {32, 24, 3, 3}, {1, 1, 1, 1}, {1, 1}},
                           Shape{{1, 16, 5, 5}, {24, 16, 3, 3}, {1, 1, 1, 1}, {1, 1}}}) {
      const KernelCase c = quantizedCase(rng, kernel, s, DataType::kInt8, true, DataType::kUndefined,
                                         FusedActivation::kRelu, true);
      node.attributes = c.attrs;
      std::vector<ir::Shape> shapes;
      for (const Tensor& t : c.inputs) shapes.push_back(ir::Shape::fromSizes(t.shape()));
      EXPECT_EQ(k->supports(node, shapes), s.x[1] % 16 == 0 && s.w[0] % 16 == 0)
          << kernel << ": " << s.x[1] << " to " << s.w[0] << " channels";
    }
  }
}

}  // namespace
}  // namespace lowp::testing
