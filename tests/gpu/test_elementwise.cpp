// The elementwise CUDA kernels (kernels/cuda/elementwise.cpp, reformat.cpp) against the CPU reference
// kernels: unary ops, Add / Sub / Mul / Div / Max / Min under each broadcast path, casts, quantize /
// dequantize, reformats.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ir/numeric.h"
#include "kernel_under_test.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

const TypeCase kFloatCases[] = {{DataType::kFloat32, "f32", 1e-5},
                                {DataType::kFloat16, "f16", 1e-2},
                                {DataType::kBFloat16, "bf16", 1e-2}};

Tensor scalarOf(DataType type, float v) {
  Tensor t(type, {});
  if (type == DataType::kFloat32) {
    t.data<float>()[0] = v;
  } else {
    t.data<uint16_t>()[0] = type == DataType::kFloat16 ? ir::floatToFloat16(v) : ir::floatToBFloat16(v);
  }
  return t;
}

TEST(CudaElementwise, UnaryMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(11);
  const std::vector<std::vector<int64_t>> shapes = {{1, 3, 7, 5}, {2, 64, 33, 17}, {4097}};
  for (const TypeCase& t : kFloatCases) {
    for (const auto& shape : shapes) {
      for (bool hwc : {false, true}) {
        if (hwc && shape.size() < 3) continue;
        for (bool misalign : {false, true}) {
          const std::string suffix = std::string("-cuda") + (hwc ? "-hwc" : "");
          SCOPED_TRACE(std::string(t.prefix) + (hwc ? " hwc" : "") + (misalign ? " misaligned" : ""));
          const Tensor x = randomTensor(rng, t.type, shape, -6.0, 6.0);
          expectMatchesReference({.kernel = std::string(t.prefix) + "-relu" + suffix,
                                  .opType = "Relu",
                                  .inputs = {x},
                                  .tolerance = 0.0,
                                  .misalign = misalign});
          expectMatchesReference({.kernel = std::string(t.prefix) + "-sigmoid" + suffix,
                                  .opType = "Sigmoid",
                                  .inputs = {x},
                                  .tolerance = t.type == DataType::kFloat32 ? 1e-6 : t.tolerance,
                                  .misalign = misalign});
          // Clip with both bounds as inputs (opset 13), with only a minimum, and with min > max.
          expectMatchesReference({.kernel = std::string(t.prefix) + "-clip" + suffix,
                                  .opType = "Clip",
                                  .opset = 13,
                                  .inputs = {x, scalarOf(t.type, -1.5f), scalarOf(t.type, 2.25f)},
                                  .constantSlots = {1, 2},
                                  .tolerance = 0.0,
                                  .misalign = misalign});
          expectMatchesReference({.kernel = std::string(t.prefix) + "-clip" + suffix,
                                  .opType = "Clip",
                                  .opset = 13,
                                  .inputs = {x, scalarOf(t.type, 0.5f)},
                                  .tolerance = 0.0});
          expectMatchesReference({.kernel = std::string(t.prefix) + "-clip" + suffix,
                                  .opType = "Clip",
                                  .opset = 13,
                                  .inputs = {x, scalarOf(t.type, 1.0f), scalarOf(t.type, -1.0f)},
                                  .tolerance = 0.0});
        }
      }
    }
  }
}

// The unary ops standalone: exact where the formula is correctly rounded in fp32 (Relu, Neg, Abs, Sqrt,
// Reciprocal, Floor, Ceil, Round, Sign, ThresholdedRelu), within CUDA's ulps elsewhere.
TEST(CudaElementwise, MathAndActivationsMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(15);
  struct OpCase {
    const char* op;
    const char* name;
    ir::AttributeMap attrs;
    double lo, hi;
    double f32Tolerance;
  };
  const std::vector<OpCase> ops = {
      {"LeakyRelu", "leakyrelu", attrs({{"alpha", 0.1f}}), -4.0, 4.0, 1e-6},
      {"LeakyRelu", "leakyrelu", {}, -4.0, 4.0, 1e-6},
      {"Tanh", "tanh", {}, -4.0, 4.0, 1e-6},
      {"Exp", "exp", {}, -8.0, 8.0, 1e-6},
      {"Erf", "erf", {}, -3.0, 3.0, 1e-6},
      {"Gelu", "gelu", {}, -5.0, 5.0, 1e-6},
      {"Gelu", "gelu", attrs({{"approximate", std::string("tanh")}}), -5.0, 5.0, 1e-6},
      {"HardSigmoid", "hardsigmoid", attrs({{"alpha", 0.25f}, {"beta", 0.4f}}), -6.0, 6.0, 1e-6},
      {"HardSwish", "hardswish", {}, -6.0, 6.0, 1e-6},
      {"Neg", "neg", {}, -4.0, 4.0, 0.0},
      {"Abs", "abs", {}, -4.0, 4.0, 0.0},
      {"Sqrt", "sqrt", {}, 0.0, 9.0, 0.0},
      {"Reciprocal", "reciprocal", {}, 0.5, 4.0, 0.0},
      {"Log", "log", {}, 0.01, 50.0, 1e-6},
      {"Floor", "floor", {}, -9.0, 9.0, 0.0},
      {"Ceil", "ceil", {}, -9.0, 9.0, 0.0},
      {"Round", "round", {}, -9.0, 9.0, 0.0},
      {"Sin", "sin", {}, -7.0, 7.0, 1e-6},
      {"Cos", "cos", {}, -7.0, 7.0, 1e-6},
      {"Sign", "sign", {}, -3.0, 3.0, 0.0},
      {"Softplus", "softplus", {}, -20.0, 20.0, 1e-6},
      {"Softsign", "softsign", {}, -5.0, 5.0, 1e-6},
      {"Mish", "mish", {}, -6.0, 6.0, 1e-6},
      {"Elu", "elu", attrs({{"alpha", 0.7f}}), -5.0, 5.0, 1e-6},
      {"Celu", "celu", attrs({{"alpha", 2.0f}}), -5.0, 5.0, 1e-6},
      {"Selu", "selu", {}, -5.0, 5.0, 1e-6},
      {"ThresholdedRelu", "thresholdedrelu", attrs({{"alpha", 0.5f}}), -3.0, 3.0, 0.0},
  };
  for (const TypeCase& t : kFloatCases) {
    for (const OpCase& o : ops) {
      for (bool misalign : {false, true}) {
        SCOPED_TRACE(std::string(t.prefix) + " " + o.op + (misalign ? " misaligned" : ""));
        const Tensor x = randomTensor(rng, t.type, {3, 5, 67}, o.lo, o.hi);
        expectMatchesReference({.kernel = std::string(t.prefix) + "-" + o.name + "-cuda",
                                .opType = o.op,
                                .opset = 20,
                                .attrs = o.attrs,
                                .inputs = {x},
                                .tolerance = t.type == DataType::kFloat32 ? o.f32Tolerance : t.tolerance,
                                .misalign = misalign});
      }
    }
  }
}

// Max, Min and Sum of one, two and three inputs, the third broadcasting Y wider than the first two.
TEST(CudaElementwise, VariadicMaxMinAndSumMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(16);
  for (const TypeCase& t : kFloatCases) {
    const Tensor a = randomTensor(rng, t.type, {4, 1, 5});
    const Tensor b = randomTensor(rng, t.type, {5});
    const Tensor c = randomTensor(rng, t.type, {3, 1});
    for (const char* op : {"Max", "Min", "Sum"}) {
      std::string name = op;
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      const bool sum = std::string(op) == "Sum";
      for (const std::vector<Tensor>& inputs :
           {std::vector<Tensor>{a}, std::vector<Tensor>{a, b}, std::vector<Tensor>{a, b, c},
            std::vector<Tensor>{c, a, b, a}}) {
        SCOPED_TRACE(std::string(t.prefix) + " " + op + " of " + std::to_string(inputs.size()));
        // Sum's reference accumulates in fp32 and rounds once; the kernel rounds each partial sum.
        expectMatchesReference({.kernel = std::string(t.prefix) + "-" + name + "-cuda",
                                .opType = op,
                                .opset = 13,
                                .inputs = inputs,
                                .tolerance = sum && t.type != DataType::kFloat32 ? t.tolerance : 0.0});
      }
    }
  }
}

TEST(CudaElementwise, ClipReadsOpset6Attributes) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(12);
  const Tensor x = randomTensor(rng, DataType::kFloat32, {3, 101});
  expectMatchesReference({.kernel = "f32-clip-cuda",
                          .opType = "Clip",
                          .opset = 6,
                          .attrs = attrs({{"min", -0.25f}, {"max", 0.75f}}),
                          .inputs = {x},
                          .tolerance = 0.0});
}

TEST(CudaElementwise, AddAndMulBroadcast) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(13);
  struct Shapes {
    std::vector<int64_t> a, b;
  };
  const std::vector<Shapes> cases = {
      {{2, 3, 5, 7}, {2, 3, 5, 7}},    // same shape
      {{2, 16, 9, 9}, {16, 1, 1}},     // per-channel bias, inner 81
      {{2, 16, 8, 8}, {1, 16, 1, 1}},  // per-channel bias, inner a multiple of the vector
      {{16, 1, 1}, {2, 16, 9, 9}},     // the broadcast operand first
      {{37, 100}, {100}},              // row bias
      {{4, 5}, {}},                    // scalar
      {{4, 1, 6}, {1, 5, 1}},          // both broadcast: the general path
      {{3, 1, 4, 1, 2}, {5, 1, 3, 1}},
      {{1001}, {1001}},
  };
  for (const TypeCase& t : kFloatCases) {
    for (const Shapes& s : cases) {
      for (bool misalign : {false, true}) {
        SCOPED_TRACE(std::string(t.prefix) + " " + ir::formatSizes(s.a) + " with " + ir::formatSizes(s.b) +
                     (misalign ? " misaligned" : ""));
        const Tensor a = randomTensor(rng, t.type, s.a);
        const Tensor b = randomTensor(rng, t.type, s.b);
        // Each result is one rounding of an exact fp32 sum or product, as in the reference.
        expectMatchesReference({.kernel = std::string(t.prefix) + "-add-cuda",
                                .opType = "Add",
                                .inputs = {a, b},
                                .tolerance = 0.0,
                                .misalign = misalign});
        expectMatchesReference({.kernel = std::string(t.prefix) + "-mul-cuda",
                                .opType = "Mul",
                                .inputs = {a, b},
                                .tolerance = 0.0,
                                .misalign = misalign});
        // Sub and Div do not commute: the broadcast operand first checks that the order is kept.
        for (const char* op : {"Sub", "Div", "Max", "Min"}) {
          std::string name = op;
          for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          expectMatchesReference({.kernel = std::string(t.prefix) + "-" + name + "-cuda",
                                  .opType = op,
                                  .opset = 13,
                                  .inputs = {a, b},
                                  .tolerance = 0.0,
                                  .misalign = misalign});
        }
      }
    }
  }
}

TEST(CudaElementwise, CastsAreExact) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(14);
  for (const TypeCase& from : kFloatCases) {
    for (const TypeCase& to : kFloatCases) {
      if (from.type == to.type) continue;
      for (bool hwc : {false, true}) {
        SCOPED_TRACE(std::string(from.prefix) + " to " + to.prefix + (hwc ? " hwc" : ""));
        // Values past fp16's range overflow to inf in both.
        const Tensor x = randomTensor(rng, from.type, {2, 7, 13, 11}, -1e5, 1e5);
        expectMatchesReference(
            {.kernel = std::string(from.prefix) + "to" + to.prefix + "-cast-cuda" + (hwc ? "-hwc" : ""),
             .opType = "Cast",
             .opset = 19,
             .attrs = attrs({{"to", static_cast<int64_t>(to.type)}}),
             .inputs = {x},
             .tolerance = 0.0});
        const Tensor small = randomTensor(rng, from.type, {3, 5, 1001}, -3.0, 3.0);
        expectMatchesReference(
            {.kernel = std::string(from.prefix) + "to" + to.prefix + "-cast-cuda" + (hwc ? "-hwc" : ""),
             .opType = "Cast",
             .opset = 19,
             .attrs = attrs({{"to", static_cast<int64_t>(to.type)}}),
             .inputs = {small},
             .tolerance = 0.0,
             .misalign = !hwc});
      }
    }
  }
}

// Casts with an integer or bool side, and CastLike, bit for bit: floats past every integer's range, NaN,
// fractions of both signs; integers at the ends of their range and past 2^24 (one rounding into fp16 and
// bf16, not two).
TEST(CudaElementwise, IntegerAndBoolCastsAreExact) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(16);
  const DataType types[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt8,
                            DataType::kUInt8,   DataType::kInt32,   DataType::kInt64,    DataType::kBool};
  const bool isFloat[] = {true, true, true, false, false, false, false, false};
  // The range of each integer type (bool: 0 and 1), so that every value is one makeTensor can store.
  const double lows[] = {0, 0, 0, -128, 0, -2147483648.0, -9.223372036854775808e18, 0};
  const double highs[] = {0, 0, 0, 127, 255, 2147483647.0, 9.2233720368547748e18, 1};
  for (size_t f = 0; f < std::size(types); ++f) {
    std::vector<double> values;
    if (isFloat[f]) {
      values = {0.0, -0.0, 1.0, -1.0, 2.7, -2.7, 127.5, 255.9, -128.9, 3e9, -3e9, 1e19, -1e19, std::nan("")};
      std::uniform_real_distribution<double> fraction(-300.0, 300.0);
      for (int i = 0; i < 500; ++i) values.push_back(fraction(rng));
    } else {
      values = {lows[f], highs[f], 0.0, 1.0};
      std::uniform_real_distribution<double> any(std::max(lows[f], -1e12), std::min(highs[f], 1e12));
      for (int i = 0; i < 500; ++i) values.push_back(std::trunc(any(rng)));
      // Integers past 2^24 whose fp32 rounds: 2^24 + 2^16 + 1 rounds up into bf16, but to a tie (and then
      // down) through a correctly rounded fp32.
      if (types[f] == DataType::kInt32 || types[f] == DataType::kInt64) {
        for (double v : {16777217.0, 16842753.0, -16842753.0, 33554435.0}) values.push_back(v);
      }
    }
    const Tensor x = makeTensor(types[f], {static_cast<int64_t>(values.size())}, values);
    for (size_t t = 0; t < std::size(types); ++t) {
      if (t == f || (isFloat[f] && isFloat[t])) continue;
      const std::string pair = std::string(kernels::cuda::shortTypeName(types[f])) + "to" +
                               std::string(kernels::cuda::shortTypeName(types[t]));
      SCOPED_TRACE(pair);
      expectMatchesReference({.kernel = pair + "-cast-cuda",
                              .opType = "Cast",
                              .opset = 19,
                              .attrs = attrs({{"to", static_cast<int64_t>(types[t])}}),
                              .inputs = {x},
                              .tolerance = 0.0});
      expectMatchesReference({.kernel = pair + "-castlike-cuda",
                              .opType = "CastLike",
                              .opset = 19,
                              .inputs = {x, makeTensor(types[t], {1}, {0.0})},
                              .tolerance = 0.0});
    }
  }
}

TEST(CudaElementwise, QuantizeAndDequantizeAreExact) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(15);
  for (DataType f : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    const std::string ftype = f == DataType::kFloat32 ? "f32" : (f == DataType::kFloat16 ? "f16" : "bf16");
    for (DataType q : {DataType::kInt8, DataType::kUInt8}) {
      const std::string dtype = q == DataType::kInt8 ? "i8" : "u8";
      for (bool hwc : {false, true}) {
        for (bool withZero : {false, true}) {
          SCOPED_TRACE(std::string(ftype)
                           .append(" ")
                           .append(dtype)
                           .append(hwc ? " hwc" : "")
                           .append(withZero ? " with zero point" : ""));
          const float scale = 0.0173f;
          Tensor x = randomTensor(rng, f, {2, 9, 11, 13}, -3.5, 3.5);
          // Exact ties between two steps round to even.
          if (f == DataType::kFloat32) {
            for (int64_t i = 0; i < x.elementCount(); i += 7)
              x.data<float>()[i] = (static_cast<float>(i % 50) + 0.5f) * scale;
          }
          Tensor s(DataType::kFloat32, {});
          s.data<float>()[0] = scale;
          Tensor z(q, {});
          if (q == DataType::kInt8) {
            z.data<int8_t>()[0] = -7;
          } else {
            z.data<uint8_t>()[0] = 131;
          }
          std::vector<Tensor> inputs = {x, s};
          if (withZero) inputs.push_back(z);
          const std::string suffix = hwc ? "-cuda-hwc" : "-cuda";
          expectMatchesReference(
              {.kernel =
                   std::string(ftype).append("to").append(dtype).append("-quantizelinear").append(suffix),
               .opType = "QuantizeLinear",
               .opset = 21,
               .inputs = inputs,
               .constantSlots = {1, 2},
               .tolerance = 0.0,
               .misalign = !hwc});
          std::vector<Tensor> dqInputs = {
              randomIntegers(rng, q, {2, 9, 11, 13}, q == DataType::kInt8 ? -128 : 0,
                             q == DataType::kInt8 ? 127 : 255),
              s};
          if (withZero) dqInputs.push_back(z);
          ir::AttributeMap dqAttrs;
          if (f != DataType::kFloat32) dqAttrs.set("output_dtype", static_cast<int64_t>(f));
          expectMatchesReference(
              {.kernel =
                   std::string(dtype).append("to").append(ftype).append("-dequantizelinear").append(suffix),
               .opType = "DequantizeLinear",
               .opset = 21,
               .attrs = dqAttrs,
               .inputs = dqInputs,
               .constantSlots = {1, 2},
               .tolerance = 0.0,
               .misalign = !hwc});
        }
      }
    }
  }
}

// float8e4m3fn: x / scale rounded to nearest even, saturated to +-448, with and without a zero point (+0);
// every code back to each float type.
TEST(CudaElementwise, Fp8QuantizeAndDequantizeAreExact) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(16);
  const float scale = 0.0173f;
  Tensor s(DataType::kFloat32, {});
  s.data<float>()[0] = scale;
  Tensor zero(DataType::kFloat8E4M3FN, {});
  zero.data<uint8_t>()[0] = 0;
  Tensor codes(DataType::kFloat8E4M3FN, {2, 4, 32});
  for (int64_t i = 0; i < codes.elementCount(); ++i) {
    const auto c = static_cast<uint8_t>(i % 256);
    codes.data<uint8_t>()[i] = (c & 0x7f) == 0x7f ? 0 : c;  // every code but NaN
  }
  for (DataType f : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    const std::string ftype = f == DataType::kFloat32 ? "f32" : (f == DataType::kFloat16 ? "f16" : "bf16");
    for (bool withZero : {false, true}) {
      SCOPED_TRACE(ftype + (withZero ? " with zero point" : ""));
      // Beyond 448 * scale = 7.75: saturated.
      std::vector<Tensor> inputs = {randomTensor(rng, f, {2, 9, 11, 13}, -9.0, 9.0), s};
      if (withZero) inputs.push_back(zero);
      expectMatchesReference({.kernel = ftype + "tof8-quantizelinear-cuda",
                              .opType = "QuantizeLinear",
                              .opset = 21,
                              .inputs = inputs,
                              .constantSlots = {1, 2},
                              .tolerance = 0.0,
                              .misalign = true});
      std::vector<Tensor> dqInputs = {codes, s};
      if (withZero) dqInputs.push_back(zero);
      ir::AttributeMap dqAttrs;
      if (f != DataType::kFloat32) dqAttrs.set("output_dtype", static_cast<int64_t>(f));
      expectMatchesReference({.kernel = "f8to" + ftype + "-dequantizelinear-cuda",
                              .opType = "DequantizeLinear",
                              .opset = 21,
                              .attrs = dqAttrs,
                              .inputs = dqInputs,
                              .constantSlots = {1, 2},
                              .tolerance = 0.0});
    }
  }
}

TEST(CudaElementwise, QuantizeDeclinesPerChannelScales) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(16);
  const Tensor x = randomTensor(rng, DataType::kFloat32, {2, 4, 3});
  const Tensor scales = randomTensor(rng, DataType::kFloat32, {4}, 0.1, 0.2);
  NodeUnderTest n("QuantizeLinear", "", 19, attrs({{"axis", int64_t{1}}}), {x, scales}, {1});
  ASSERT_TRUE(n.status().isOk());
  const kernels::KernelDef* k = kernelNamed("f32toi8-quantizelinear-cuda");
  ASSERT_NE(k, nullptr);
  EXPECT_FALSE(k->supports(n.node(), n.inputShapes()));
}

TEST(CudaReformat, BothDirectionsEveryElementSize) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(17);
  const std::vector<std::vector<int64_t>> shapes = {{2, 3, 37},      {3, 67, 5, 9},   {1, 8, 33, 65},
                                                    {2, 5, 3, 4, 7}, {4, 2048, 1, 1}, {3, 1, 7, 5}};
  struct Size {
    DataType type;
    const char* name;
  };
  for (const Size& s :
       {Size{DataType::kInt8, "x8"}, Size{DataType::kFloat16, "x16"}, Size{DataType::kFloat32, "x32"}}) {
    for (const auto& shape : shapes) {
      for (bool toHwc : {true, false}) {
        SCOPED_TRACE(std::string(s.name) + " " + ir::formatSizes(shape) + (toHwc ? " to hwc" : " to linear"));
        const Tensor x = s.type == DataType::kInt8 ? randomIntegers(rng, DataType::kInt8, shape, -128, 127)
                                                   : randomTensor(rng, s.type, shape);
        expectMatchesReference(
            {.kernel = std::string(s.name) + "-reformat-" + (toHwc ? "lineartohwc" : "hwctolinear") + "-cuda",
             .opType = "Reformat",
             .domain = "lowp",
             .opset = 1,
             .inputs = {x},
             .tolerance = 0.0,
             .convertFormats = false});
      }
    }
  }
}

TEST(CudaKernels, EveryOneIsNamedOnceAndNoneIsAReference) {
  // Runs without a GPU too: the registry's CUDA entries are checkable anywhere.
  int count = 0;
  std::set<std::string> names;
  for (const kernels::KernelDef& k : kernels::KernelRegistry::global().all()) {
    if (k.backend != kernels::Backend::kCuda) continue;
    ++count;
    EXPECT_FALSE(k.reference) << k.name;
    EXPECT_TRUE(names.insert(std::string(k.name)).second) << "two kernels named " << k.name;
    EXPECT_NE(k.fn, nullptr) << k.name;
  }
  EXPECT_GT(count, 100);
}

TEST(CudaKernels, AKernelWithoutACudaContextFailsCleanly) {
  std::mt19937 rng(18);
  const Tensor x = randomTensor(rng, DataType::kFloat32, {8});
  NodeUnderTest n("Relu", "", 17, {}, {x}, {});
  ASSERT_TRUE(n.status().isOk());
  const kernels::KernelDef* k = kernelNamed("f32-relu-cuda");
  ASSERT_NE(k, nullptr);
  auto out = runKernel(*k, n.node(), {x}, DataType::kFloat32, {8});
  ASSERT_FALSE(out.isOk());
  EXPECT_NE(out.status().message().find("without a CUDA context"), std::string::npos)
      << out.status().toString();
  EXPECT_EQ(out.status().node(), n.node().name);
}

}  // namespace
}  // namespace lowp::testing
