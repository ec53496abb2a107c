// lowp.QuantizedMatMul on int8 tensor cores (kernels/cuda/quantized_matmul.cpp) against the CPU reference
// kernel: fp32, fp16 and int8 outputs; with and without bias; 2-D and 3-D A; activations, GELU among them;
// per-column and per-tensor weight scales. Integer outputs may differ from the reference by one step (fp32
// rescale against the reference's double). The fp8 form (f8-quantizedmatmul-cublaslt-hN, on GPUs with fp8
// tensor cores) against the same reference: fp32, fp16 and bf16 outputs, bias, Relu in the epilogue, GELU
// after; fp32 outputs within 5e-4 (the tensor cores' fp8 accumulation), fp16 / bf16 within 1e-2, fp8
// outputs (quantized after an fp16 product) within 2e-2. Each of cuBLASLt's heuristic results (the -hN
// tactics) on the encoder's product shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ir/ops/fused.h"
#include "kernel_under_test.h"
#include "kernels/cuda/cublaslt_plan.h"
#include "kernels/reference/conversion_numeric.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

using ir::ops::FusedActivation;

struct Shape {
  std::vector<int64_t> a;
  int64_t n;
};

// Scales that make the real output about 1, so that an int8 output spans about 50 steps (y_scale 0.02).
ir::AttributeMap quantizedAttrs(std::mt19937& rng, int64_t k, int64_t n, DataType out, FusedActivation act,
                                bool perColumn) {
  ir::AttributeMap attrs;
  std::uniform_real_distribution<float> jitter(0.5f, 1.5f);
  const float aScale = 0.02f * jitter(rng);
  std::vector<float> bScales(perColumn ? static_cast<size_t>(n) : 1);
  for (float& s : bScales)
    s = static_cast<float>(1.0 / (std::sqrt(static_cast<double>(k)) * 74.0 * 74.0 * aScale)) * jitter(rng);
  attrs.set("a_scale", aScale);
  attrs.set("b_scales", bScales);
  attrs.set("output_type", static_cast<int64_t>(out));
  if (out == DataType::kInt8) attrs.set("y_scale", 0.02f * jitter(rng));
  ir::ops::ActivationSpec spec;
  spec.kind = act;
  if (act == FusedActivation::kClip) {
    spec.alpha = -0.5f;
    spec.beta = 0.75f;
  }
  ir::ops::writeActivation(attrs, spec);
  return attrs;
}

TEST(CudaQuantizedMatMul, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(51);
  const std::vector<Shape> shapes = {{{37, 64}, 24}, {{2, 5, 128}, 40}, {{1, 768}, 1000}};
  for (const Shape& s : shapes) {
    const int64_t k = s.a.back();
    for (DataType out : {DataType::kFloat32, DataType::kFloat16, DataType::kInt8}) {
      for (FusedActivation act :
           {FusedActivation::kNone, FusedActivation::kRelu, FusedActivation::kGelu, FusedActivation::kClip}) {
        for (bool withBias : {false, true}) {
          for (bool perColumn : {false, true}) {
            SCOPED_TRACE(ir::formatSizes(s.a) + " x [" + std::to_string(k) + ", " + std::to_string(s.n) +
                         "] -> " + std::string(dataTypeName(out)) + " " +
                         std::string(ir::ops::activationOpType(act)) + (withBias ? " + bias" : "") +
                         (perColumn ? " per column" : " per tensor"));
            std::vector<Tensor> inputs = {randomIntegers(rng, DataType::kInt8, s.a, -128, 127),
                                          randomIntegers(rng, DataType::kInt8, {k, s.n}, -127, 127)};
            if (withBias) inputs.push_back(randomIntegers(rng, DataType::kInt32, {s.n}, -20000, 20000));
            expectMatchesReference(
                {.kernel = "i8-quantizedmatmul-cublaslt-h0",
                 .opType = "QuantizedMatMul",
                 .domain = "lowp",
                 .attrs = quantizedAttrs(rng, k, s.n, out, act, perColumn),
                 .inputs = inputs,
                 .constantSlots = {1, 2},
                 .tolerance = out == DataType::kInt8 ? 1.0 : (out == DataType::kFloat16 ? 2e-3 : 1e-5)});
          }
        }
      }
    }
  }
}

// Random float8e4m3fn codes of values in [-range, range].
Tensor randomFp8(std::mt19937& rng, const std::vector<int64_t>& shape, float range) {
  constexpr auto kE4M3 = kernels::ref::fp8Format<DataType::kFloat8E4M3FN>();
  Tensor t(DataType::kFloat8E4M3FN, shape);
  std::uniform_real_distribution<float> d(-range, range);
  for (int64_t i = 0; i < t.elementCount(); ++i)
    t.data<uint8_t>()[i] = kernels::ref::fp8Encode(d(rng), kE4M3, true);
  return t;
}

// The attributes of an fp8 QuantizedMatMul: a_scale 0.01, one weight scale, the output type (y_scale
// where it is fp8) and the activation.
ir::AttributeMap fp8Attrs(float bScale, DataType out, float yScale, FusedActivation act) {
  ir::AttributeMap attrs;
  attrs.set("a_scale", 0.01f);
  attrs.set("b_scales", std::vector<float>{bScale});
  attrs.set("output_type", static_cast<int64_t>(out));
  if (out == DataType::kFloat8E4M3FN) attrs.set("y_scale", yScale);
  ir::ops::ActivationSpec spec;
  spec.kind = act;
  ir::ops::writeActivation(attrs, spec);
  return attrs;
}

TEST(CudaQuantizedMatMul, Fp8MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  if (!gpuHasFp8TensorCores()) GTEST_SKIP() << "no fp8 tensor cores on this GPU (sm_89 and later have them)";
  std::mt19937 rng(53);
  const std::vector<Shape> shapes = {{{37, 64}, 32}, {{2, 5, 128}, 48}, {{256, 768}, 1024}};
  for (const Shape& s : shapes) {
    const int64_t k = s.a.back();
    for (DataType out :
         {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kFloat8E4M3FN}) {
      for (FusedActivation act : {FusedActivation::kNone, FusedActivation::kRelu, FusedActivation::kGelu}) {
        for (bool withBias : {false, true}) {
          SCOPED_TRACE(ir::formatSizes(s.a) + " x [" + std::to_string(k) + ", " + std::to_string(s.n) +
                       "] -> " + std::string(dataTypeName(out)) + " " +
                       std::string(ir::ops::activationOpType(act)) + (withBias ? " + bias" : ""));
          // y_scale 0.01 for an fp8 output: outputs up to about 3 become 300.
          const ir::AttributeMap attrs =
              fp8Attrs(static_cast<float>(1.0 / (std::sqrt(double(k)) * 4.0)), out, 0.01f, act);
          std::vector<Tensor> inputs = {randomFp8(rng, s.a, 400.0f), randomFp8(rng, {k, s.n}, 2.0f)};
          if (withBias) inputs.push_back(randomTensor(rng, DataType::kFloat32, {s.n}, -1.0, 1.0));
          // Hopper's fp8 tensor cores sum the exact products with fewer bits than fp32 (measured on an H100:
          // relative L2 up to 1.2e-4 against the reference's double); one rounding to the output type. An fp8
          // output goes through an fp16 product: a value near a tie between two fp8 steps (1/8 apart,
          // relatively) may round the other way.
          // An fp8 output with its bias and activation in the epilogue comes from cuBLASLt itself. The
          // -gelutanh tactic runs the erf GELU as the tanh form (at most 4.8e-4 from it).
          const double tolerance =
              out == DataType::kFloat32 ? 5e-4 : (out == DataType::kFloat8E4M3FN ? 2e-2 : 1e-2);
          for (const char* kernel :
               {"f8-quantizedmatmul-cublaslt-h0", "f8-quantizedmatmul-cublaslt-gelutanh-h0"}) {
            const bool tanhForm = std::string(kernel).find("gelutanh") != std::string::npos;
            if (tanhForm && act != FusedActivation::kGelu) continue;
            SCOPED_TRACE(kernel);
            if (tanhForm && withBias && out == DataType::kFloat32) {
              // The fp32 bias and the GELU run in the pass after the product, exactly: not offered.
              NodeUnderTest node("QuantizedMatMul", "lowp", 17, attrs, inputs, {1, 2});
              EXPECT_FALSE(kernelNamed(kernel)->supports(node.node(), node.inputShapes()));
              continue;
            }
            expectMatchesReference({.kernel = kernel,
                                    .opType = "QuantizedMatMul",
                                    .domain = "lowp",
                                    .attrs = attrs,
                                    .inputs = inputs,
                                    .constantSlots = {1, 2},
                                    .tolerance = tanhForm && out == DataType::kFloat32 ? 1e-3 : tolerance});
          }
        }
      }
    }
  }
}

// Outputs past fp8's largest value (y_scale 0.002 against products up to about 3) saturate at +-448, as
// QuantizeLinear's do, whether cuBLASLt writes them (no activation, Relu) or the pass after it (erf GELU).
TEST(CudaQuantizedMatMul, Fp8OutputsSaturate) {
  LOWP_REQUIRE_GPU();
  if (!gpuHasFp8TensorCores()) GTEST_SKIP() << "no fp8 tensor cores on this GPU (sm_89 and later have them)";
  std::mt19937 rng(59);
  for (FusedActivation act : {FusedActivation::kNone, FusedActivation::kRelu, FusedActivation::kGelu}) {
    SCOPED_TRACE(std::string(ir::ops::activationOpType(act)));
    const ir::AttributeMap attrs = fp8Attrs(1.0f / 64.0f, DataType::kFloat8E4M3FN, 0.002f, act);
    const std::vector<Tensor> inputs = {randomFp8(rng, {64, 256}, 400.0f), randomFp8(rng, {256, 64}, 2.0f),
                                        randomTensor(rng, DataType::kFloat32, {64}, -1.0, 1.0)};
    expectMatchesReference({.kernel = "f8-quantizedmatmul-cublaslt-h0",
                            .opType = "QuantizedMatMul",
                            .domain = "lowp",
                            .attrs = attrs,
                            .inputs = inputs,
                            .constantSlots = {1, 2},
                            .tolerance = 2e-2});
  }
}

// Every algorithm of cuBLASLt's heuristic, as the builder times them (exact tactics: one cuBLASLt does not
// offer declines), on an encoder's projection (bias), and its first feed-forward product (bias, GELU):
// int8 to fp16, fp8 to fp16 and, through cuBLASLt's fp8 output, to fp8.
TEST(CudaQuantizedMatMul, EveryHeuristicMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  const ExactTactics exact;
  std::mt19937 rng(57);
  const int64_t m = 256, k = 768;
  for (const int64_t n : {768, 3072}) {
    const FusedActivation act = n == 768 ? FusedActivation::kNone : FusedActivation::kGelu;
    int ran = 0;
    for (int h = 0; h < kernels::cuda::kHeuristicResults; ++h) {
      SCOPED_TRACE("h" + std::to_string(h) + " N " + std::to_string(n));
      const std::vector<Tensor> int8Inputs = {randomIntegers(rng, DataType::kInt8, {m, k}, -128, 127),
                                              randomIntegers(rng, DataType::kInt8, {k, n}, -127, 127),
                                              randomIntegers(rng, DataType::kInt32, {n}, -20000, 20000)};
      const double error =
          expectMatchesReference({.kernel = "i8-quantizedmatmul-cublaslt-h" + std::to_string(h),
                                  .opType = "QuantizedMatMul",
                                  .domain = "lowp",
                                  .attrs = quantizedAttrs(rng, k, n, DataType::kFloat16, act, true),
                                  .inputs = int8Inputs,
                                  .constantSlots = {1, 2},
                                  .tolerance = 2e-3,
                                  .mayDecline = true});
      if (error >= 0) ++ran;
      if (!gpuHasFp8TensorCores()) continue;
      for (DataType out : {DataType::kFloat16, DataType::kFloat8E4M3FN}) {
        const ir::AttributeMap attrs =
            fp8Attrs(static_cast<float>(1.0 / (std::sqrt(double(k)) * 4.0)), out, 0.01f, act);
        const std::vector<Tensor> inputs = {randomFp8(rng, {m, k}, 400.0f), randomFp8(rng, {k, n}, 2.0f),
                                            randomTensor(rng, DataType::kFloat32, {n}, -1.0, 1.0)};
        const std::string kernel = act == FusedActivation::kGelu ? "f8-quantizedmatmul-cublaslt-gelutanh-h"
                                                                 : "f8-quantizedmatmul-cublaslt-h";
        SCOPED_TRACE(std::string(dataTypeName(out)));
        const double fp8Error = expectMatchesReference({.kernel = kernel + std::to_string(h),
                                                        .opType = "QuantizedMatMul",
                                                        .domain = "lowp",
                                                        .attrs = attrs,
                                                        .inputs = inputs,
                                                        .constantSlots = {1, 2},
                                                        .tolerance = out == DataType::kFloat16 ? 1e-2 : 2e-2,
                                                        .mayDecline = true});
        if (fp8Error >= 0) ++ran;
      }
    }
    EXPECT_GE(ran, 3) << "cuBLASLt's first algorithm runs for each form";
  }
}

TEST(CudaQuantizedMatMul, DeclinesWhatCublasLtCannotRun) {
  LOWP_REQUIRE_GPU();
  const kernels::KernelDef* k = kernelNamed("i8-quantizedmatmul-cublaslt-h0");
  ASSERT_NE(k, nullptr);
  std::mt19937 rng(52);
  ir::Graph g;
  ir::Node* node = g.addNode("QuantizedMatMul", "q");
  ir::Value* weights = *g.addValue("w");
  weights->constant = randomIntegers(rng, DataType::kInt8, {64, 24}, -127, 127);
  g.setInput(node, 0, *g.addValue("a"));
  g.setInput(node, 1, weights);
  node->attributes = quantizedAttrs(rng, 64, 24, DataType::kFloat32, FusedActivation::kNone, true);
  auto shapes = [](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    return std::vector<ir::Shape>{ir::Shape::fromSizes(a), ir::Shape::fromSizes(b)};
  };
  EXPECT_TRUE(k->supports(*node, shapes({8, 64}, {64, 24})));
  EXPECT_FALSE(k->supports(*node, shapes({8, 62}, {62, 24}))) << "K not a multiple of 4";
  EXPECT_FALSE(k->supports(*node, shapes({8, 64}, {64, 22}))) << "N not a multiple of 4";
  node->attributes.set("a_zero_point", int64_t{3});
  EXPECT_FALSE(k->supports(*node, shapes({8, 64}, {64, 24}))) << "a zero point";
}

}  // namespace
}  // namespace lowp::testing
