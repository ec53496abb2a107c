// The reference kernels of QuantizedConv / QuantizedMatMul against the op definition computed another way:
// dequantize every operand to fp64, run ONNX Conv / MatMul's fp64 reference, add, activate, quantize. Also
// QuantizedMatMul with fp8 operands, and the builder's FP8 form of a MatMul (builder/quantized_layers.h).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "builder/quantized_layers.h"
#include "ir/data_type.h"
#include "ir/graph.h"
#include "ir/ops/quantized.h"
#include "kernels/reference/conversion_numeric.h"
#include "op_runner.h"

namespace lowp {
namespace {

using testing::attrs;
using testing::makeTensor;
using testing::OpRun;
using testing::runOp;
using testing::values;

constexpr kernels::ref::Fp8Format kE4M3 = kernels::ref::fp8Format<DataType::kFloat8E4M3FN>();

// Random float8e4m3fn values in [-range, range] (saturated there), and the values they hold.
Tensor randomFp8(std::mt19937& rng, std::vector<int64_t> shape, float range, std::vector<double>& decoded) {
  Tensor t(DataType::kFloat8E4M3FN, std::move(shape));
  std::uniform_real_distribution<float> d(-range, range);
  decoded.resize(static_cast<size_t>(t.elementCount()));
  for (int64_t i = 0; i < t.elementCount(); ++i) {
    t.data<uint8_t>()[i] = kernels::ref::fp8Encode(d(rng), kE4M3, true);
    decoded[static_cast<size_t>(i)] = kernels::ref::fp8Decode(t.data<uint8_t>()[i], kE4M3);
  }
  return t;
}

struct Case {
  DataType xType = DataType::kInt8;
  int32_t xZero = 0;
  bool perChannel = true;
  bool bias = true;
  DataType outType = DataType::kInt8;
  int32_t yZero = 0;
  DataType zType = DataType::kUndefined;  // residual type, kUndefined for none
  std::string activation;
  int64_t group = 1;
};

std::vector<double> randomInts(std::mt19937& rng, int64_t n, int lo, int hi) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = d(rng);
  return v;
}

// Runs QuantizedConv (kConv) or QuantizedMatMul on random operands and the fp64 composition; returns the
// largest difference in output steps (integer outputs) or relative difference (float outputs).
double compare(const Case& c, bool conv) {
  std::mt19937 rng(11);
  const int64_t n = 2, channels = 4 * c.group, m = 6, h = 5, w = 5;
  const std::vector<int64_t> xShape =
      conv ? std::vector<int64_t>{n, channels, h, w} : std::vector<int64_t>{n, 3, 7, 9};
  const std::vector<int64_t> wShape =
      conv ? std::vector<int64_t>{m, channels / c.group, 3, 3} : std::vector<int64_t>{9, m};
  const bool xUnsigned = c.xType == DataType::kUInt8;
  std::vector<double> x =
      randomInts(rng, testing::count(xShape), xUnsigned ? 0 : -128, xUnsigned ? 255 : 127);
  std::vector<double> wq = randomInts(rng, testing::count(wShape), -127, 127);
  std::vector<double> b = randomInts(rng, m, -3000, 3000);
  const float xScale = 0.02f;
  std::vector<float> wScales;
  for (int64_t k = 0; k < (c.perChannel ? m : 1); ++k)
    wScales.push_back(0.003f + 0.001f * static_cast<float>(k));
  const float yScale = 0.05f, zScale = 0.04f;
  const std::vector<int64_t> yShape =
      conv ? std::vector<int64_t>{n, m, h, w} : std::vector<int64_t>{n, 3, 7, m};

  OpRun q;
  q.opType = conv ? "QuantizedConv" : "QuantizedMatMul";
  q.domain = "lowp";
  q.attributes =
      conv ? attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}},
                    {"group", c.group},
                    {"x_scale", xScale},
                    {"x_zero_point", int64_t{c.xZero}},
                    {"w_scales", wScales}})
           : attrs({{"a_scale", xScale}, {"a_zero_point", int64_t{c.xZero}}, {"b_scales", wScales}});
  q.attributes.set("output_type", static_cast<int64_t>(c.outType));
  if (c.outType == DataType::kInt8 || c.outType == DataType::kUInt8) {
    q.attributes.set("y_scale", yScale);
    q.attributes.set("y_zero_point", int64_t{c.yZero});
  }
  if (!c.activation.empty()) q.attributes.set("activation", c.activation);
  q.inputs = {makeTensor(c.xType, xShape, x), makeTensor(DataType::kInt8, wShape, wq)};
  q.inputs.push_back(c.bias ? makeTensor(DataType::kInt32, {m}, b) : Tensor());
  std::vector<double> z;
  if (c.zType != DataType::kUndefined) {
    const bool zInt = c.zType == DataType::kInt8;
    z = zInt ? randomInts(rng, testing::count(yShape), -128, 127)
             : randomInts(rng, testing::count(yShape), -50, 50);
    if (zInt) q.attributes.set("z_scale", zScale);
    q.inputs.push_back(makeTensor(c.zType, yShape, z));
  }
  auto got = runOp(q);
  EXPECT_TRUE(got.isOk()) << got.status().message();
  if (!got.isOk()) return 1e9;

  // The same through fp64 Conv / MatMul.
  std::vector<double> xf = x, wf = wq;
  for (double& v : xf) v = (v - c.xZero) * xScale;
  const int64_t perChannel = conv ? testing::count(wShape) / m : 1;
  for (size_t i = 0; i < wf.size(); ++i) {
    const auto k = static_cast<int64_t>(i);
    const int64_t ch = conv ? k / perChannel : k % m;
    wf[i] *= wScales[c.perChannel ? static_cast<size_t>(ch) : 0];
  }
  OpRun f;
  f.opType = conv ? "Conv" : "MatMul";
  f.attributes = conv ? attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}, {"group", c.group}}) : attrs({});
  f.inputs = {makeTensor(DataType::kFloat64, xShape, xf), makeTensor(DataType::kFloat64, wShape, wf)};
  auto ref = runOp(f);
  EXPECT_TRUE(ref.isOk()) << ref.status().message();
  if (!ref.isOk()) return 1e9;
  std::vector<double> acc = values((*ref)[0]);
  const std::vector<double> out = values((*got)[0]);
  const int64_t inner = conv ? h * w : 1;
  double worst = 0;
  for (size_t i = 0; i < acc.size(); ++i) {
    const auto k = static_cast<int64_t>(i);
    const int64_t ch = conv ? k / inner % m : k % m;
    const double ws = wScales[c.perChannel ? static_cast<size_t>(ch) : 0];
    double v = acc[i] + (c.bias ? b[static_cast<size_t>(ch)] * xScale * ws : 0.0);
    if (!z.empty()) v += c.zType == DataType::kInt8 ? z[i] * zScale : z[i];
    if (c.activation == "Relu") v = std::max(v, 0.0);
    if (c.outType == DataType::kInt8 || c.outType == DataType::kUInt8) {
      const double expected = ir::ops::quantizeValue(static_cast<float>(v), yScale, c.yZero, c.outType);
      worst = std::max(worst, std::fabs(out[i] - expected));
    } else {
      const double tolerance = c.outType == DataType::kBFloat16 ? 1.0 / 128 : 1e-6;
      worst = std::max(worst, std::fabs(out[i] - v) / (std::fabs(v) + 1e-3) / tolerance);
    }
  }
  return worst;
}

TEST(QuantizedOps, ConvMatchesTheDequantizedComposition) {
  for (DataType out : {DataType::kInt8, DataType::kUInt8, DataType::kFloat32, DataType::kBFloat16}) {
    for (bool perChannel : {false, true}) {
      Case c;
      c.outType = out;
      c.perChannel = perChannel;
      c.yZero = out == DataType::kUInt8 ? 100 : 0;
      // Integer outputs may differ by one step where fp64 rounding of a tie differs; floats within 1 ulp.
      EXPECT_LE(compare(c, true), 1.0) << ir::dataTypeInfo(out).name << " per-channel " << perChannel;
    }
  }
}

TEST(QuantizedOps, ConvZeroPointsResidualActivationGroups) {
  Case c;
  c.xType = DataType::kUInt8;
  c.xZero = 128;
  c.yZero = -5;
  c.zType = DataType::kInt8;
  c.activation = "Relu";
  c.group = 2;
  EXPECT_LE(compare(c, true), 1.0);
  c.outType = DataType::kFloat32;
  c.zType = DataType::kFloat32;
  c.bias = false;
  EXPECT_LE(compare(c, true), 1.0);
}

TEST(QuantizedOps, MatMulMatchesTheDequantizedComposition) {
  for (DataType out : {DataType::kInt8, DataType::kFloat32}) {
    Case c;
    c.outType = out;
    EXPECT_LE(compare(c, false), 1.0);
    c.xType = DataType::kUInt8;
    c.xZero = 3;
    c.activation = "Relu";
    EXPECT_LE(compare(c, false), 1.0);
  }
}

TEST(QuantizedOps, Fp8MatMulMatchesTheDequantizedComposition) {
  std::mt19937 rng(12);
  const std::vector<int64_t> aShape = {2, 3, 32}, bShape = {32, 16};
  std::vector<double> a, b;
  const Tensor aq = randomFp8(rng, aShape, 500.0f, a);  // beyond 448: saturated
  const Tensor bq = randomFp8(rng, bShape, 200.0f, b);
  std::vector<double> bias(16);
  for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.25 * static_cast<double>(i) - 2.0;
  const float aScale = 0.01f, bScale = 0.002f;
  // QuantizedMatMul on `inputs` with output `out` (y_scale `yScale`, used by an fp8 output) and `activation`.
  auto run = [&](std::vector<Tensor> inputs, DataType out, float yScale, const std::string& activation) {
    OpRun q;
    q.opType = "QuantizedMatMul";
    q.domain = "lowp";
    q.attributes = attrs({{"a_scale", aScale},
                          {"b_scales", std::vector<float>{bScale}},
                          {"output_type", static_cast<int64_t>(out)},
                          {"y_scale", yScale}});
    if (!activation.empty()) q.attributes.set("activation", activation);
    q.inputs = std::move(inputs);
    return runOp(q);
  };
  // The real value of output (r, c) before the activation, from the decoded operands, in double.
  auto expected = [&](int64_t r, int64_t c) {
    double v = 0;
    for (int64_t k = 0; k < 32; ++k)
      v += a[static_cast<size_t>(r * 32 + k)] * aScale * b[static_cast<size_t>(k * 16 + c)] * bScale;
    return v + bias[static_cast<size_t>(c)];
  };
  const Tensor biasTensor = makeTensor(DataType::kFloat32, {16}, bias);
  for (DataType out : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    for (bool relu : {false, true}) {
      SCOPED_TRACE(std::string(dataTypeName(out)) + (relu ? " relu" : ""));
      auto got = run({aq, bq, biasTensor}, out, 1.0f, relu ? "Relu" : "");
      ASSERT_TRUE(got.isOk()) << got.status().message();
      const std::vector<double> y = values((*got)[0]);
      ASSERT_EQ(y.size(), 2u * 3 * 16);
      const double step =
          out == DataType::kFloat32 ? 1e-6 : (out == DataType::kFloat16 ? 1.0 / 1024 : 1.0 / 128);
      for (int64_t r = 0; r < 6; ++r) {
        for (int64_t c = 0; c < 16; ++c) {
          const double v = relu ? std::max(expected(r, c), 0.0) : expected(r, c);
          EXPECT_LE(std::fabs(y[static_cast<size_t>(r * 16 + c)] - v), step * (std::fabs(v) + 1e-3))
              << "row " << r << " column " << c;
        }
      }
    }
  }
  // An fp8 output: v / y_scale rounded to nearest even, saturated at 448 (v / y_scale has an rms near 700).
  const float yScale = 0.005f;
  auto got = run({aq, bq, biasTensor}, DataType::kFloat8E4M3FN, yScale, "");
  ASSERT_TRUE(got.isOk()) << got.status().message();
  const Tensor& y = (*got)[0];
  ASSERT_EQ(y.type(), DataType::kFloat8E4M3FN);
  int saturated = 0;
  for (int64_t r = 0; r < 6; ++r) {
    for (int64_t c = 0; c < 16; ++c) {
      const uint8_t want = kernels::ref::fp8Encode(static_cast<float>(expected(r, c)) / yScale, kE4M3, true);
      EXPECT_EQ(y.data<uint8_t>()[r * 16 + c], want) << "row " << r << " column " << c;
      saturated += (want & 0x7f) == 0x7e;
    }
  }
  EXPECT_GT(saturated, 0) << "no value reached the saturation";
  // fp8 operands take an fp32 bias, fp8 weights and a float or fp8 output; an fp8 output needs them.
  auto expectError = [&](std::vector<Tensor> inputs, DataType out, const std::string& needle) {
    auto failed = run(std::move(inputs), out, 1.0f, "");
    ASSERT_FALSE(failed.isOk()) << needle;
    EXPECT_NE(failed.status().message().find(needle), std::string::npos) << failed.status().message();
  };
  expectError({aq, bq, makeTensor(DataType::kInt32, {16}, bias)}, DataType::kFloat32, "bias");
  expectError({aq, makeTensor(DataType::kInt8, bShape, b)}, DataType::kFloat32, "B has type");
  expectError({aq, bq}, DataType::kInt8, "float or float8e4m3fn output");
  expectError({makeTensor(DataType::kInt8, aShape, std::vector<double>(192, 1)),
               makeTensor(DataType::kInt8, bShape, std::vector<double>(512, 1))},
              DataType::kFloat8E4M3FN, "needs fp8 operands");
}

// The builder's FP8 form of a FusedMatMul: fp8 weights at one scale (amax / 448) that hold the weights within
// fp8's rounding, the bias kept in fp32, the input's scale as a_scale; a convolution has no FP8 form.
TEST(QuantizedOps, BuilderFp8FormOfAMatMul) {
  ir::Graph g;
  ir::Node* mm = g.addNode("MatMul", "mm");
  ir::Value* a = *g.addValue("a");
  a->type = DataType::kFloat32;
  ir::Value* w = *g.addValue("w");
  w->type = DataType::kFloat32;
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> d(-0.3f, 0.3f);
  Tensor weights(DataType::kFloat32, {32, 16});
  for (int64_t i = 0; i < weights.elementCount(); ++i) weights.data<float>()[i] = d(rng);
  weights.data<float>()[5] = 0.75f;  // amax
  w->constant = weights;
  g.setInput(mm, 0, a);
  g.setInput(mm, 1, w);
  ir::Value* y = *g.addValue("y");
  y->type = DataType::kFloat32;
  (void)g.addOutput(mm, y);
  ASSERT_TRUE(builder::hasQuantizedForm(*mm, DataType::kFloat8E4M3FN));
  auto form = builder::quantizedForm(*mm, 0.05f, /*perChannel=*/true, DataType::kFloat8E4M3FN);
  ASSERT_TRUE(form.isOk()) << form.status().message();
  EXPECT_EQ(form->opType, "QuantizedMatMul");
  auto params = ir::ops::readQuantizedParams(form->attributes, false);
  ASSERT_TRUE(params.isOk());
  EXPECT_EQ(params->inputScale, 0.05f);
  ASSERT_EQ(params->weightScales.size(), 1u) << "one scale: cuBLASLt's fp8 products take one per operand";
  EXPECT_FLOAT_EQ(params->weightScales[0], 0.75f / 448.0f);
  const Tensor& q = form->constants.at(1);
  ASSERT_EQ(q.type(), DataType::kFloat8E4M3FN);
  for (int64_t i = 0; i < q.elementCount(); ++i) {
    const double v = kernels::ref::fp8Decode(q.data<uint8_t>()[i], kE4M3) * params->weightScales[0];
    const double x = weights.data<float>()[i];
    // 3 mantissa bits: half a step is 1/16 of the value; subnormals below 2^-6 * scale step in 2^-9 * scale.
    EXPECT_LE(std::fabs(v - x), std::max(std::fabs(x) / 16, std::ldexp(1.0, -10) * params->weightScales[0]))
        << "weight " << i;
  }
  EXPECT_EQ(q.data<uint8_t>()[5], 0x7e) << "amax maps onto 448";

  ir::Node* conv = g.addNode("Conv", "conv");
  g.setInput(conv, 0, a);
  ir::Value* cw = *g.addValue("cw");
  cw->type = DataType::kFloat32;
  cw->constant = Tensor(DataType::kFloat32, {4, 2, 3, 3});
  g.setInput(conv, 1, cw);
  ir::Value* cy = *g.addValue("cy");
  (void)g.addOutput(conv, cy);
  EXPECT_TRUE(builder::hasQuantizedForm(*conv, DataType::kInt8));
  EXPECT_FALSE(builder::hasQuantizedForm(*conv, DataType::kFloat8E4M3FN));
}

TEST(QuantizedOps, SaturatesInsteadOfWrapping) {
  // 4608 products of 127 * 127 (and of -128 * -127): far beyond int16, within int32; the int8 output
  // saturates.
  OpRun q;
  q.opType = "QuantizedConv";
  q.domain = "lowp";
  q.attributes = attrs({{"x_scale", 1.0f},
                        {"w_scales", std::vector<float>{1.0f}},
                        {"y_scale", 1.0f},
                        {"output_type", static_cast<int64_t>(DataType::kInt8)}});
  for (double xv : {127.0, -128.0}) {
    q.inputs = {makeTensor(DataType::kInt8, {1, 512, 3, 3}, std::vector<double>(512 * 9, xv)),
                makeTensor(DataType::kInt8, {2, 512, 3, 3}, [&] {
                  std::vector<double> w(2 * 512 * 9, 127);
                  for (size_t i = 512 * 9; i < w.size(); ++i) w[i] = -127;
                  return w;
                }())};
    auto got = runOp(q);
    ASSERT_TRUE(got.isOk()) << got.status().message();
    const std::vector<double> y = values((*got)[0]);
    EXPECT_EQ(y[0], xv > 0 ? 127 : -128);
    EXPECT_EQ(y[1], xv > 0 ? -128 : 127);
  }
  // The float output is exact: 127 * 127 * 4608.
  q.attributes.set("output_type", static_cast<int64_t>(DataType::kFloat32));
  auto got = runOp(q);
  ASSERT_TRUE(got.isOk());
  EXPECT_EQ(values((*got)[0])[1], 127.0 * 128.0 * 4608.0);
}

TEST(QuantizedOps, BadAttributesNameTheAttribute) {
  OpRun q;
  q.opType = "QuantizedConv";
  q.domain = "lowp";
  q.inputs = {makeTensor(DataType::kInt8, {1, 2, 3, 3}, std::vector<double>(18, 1)),
              makeTensor(DataType::kInt8, {3, 2, 1, 1}, std::vector<double>(6, 1))};
  auto expectError = [&](ir::AttributeMap a, const std::string& needle) {
    q.attributes = std::move(a);
    auto got = runOp(q);
    ASSERT_FALSE(got.isOk());
    EXPECT_NE(got.status().message().find(needle), std::string::npos) << got.status().message();
  };
  const auto f32 = static_cast<int64_t>(DataType::kFloat32);
  expectError(attrs({{"w_scales", std::vector<float>{1.0f}}, {"output_type", f32}}), "x_scale");
  expectError(attrs({{"x_scale", -1.0f}, {"w_scales", std::vector<float>{1.0f}}, {"output_type", f32}}),
              "x_scale");
  expectError(attrs({{"x_scale", 1.0f}, {"w_scales", std::vector<float>{1.0f, 2.0f}}, {"output_type", f32}}),
              "w_scales");
  expectError(attrs({{"x_scale", 1.0f},
                     {"w_scales", std::vector<float>{1.0f}},
                     {"output_type", static_cast<int64_t>(DataType::kInt8)}}),
              "y_scale");
  expectError(attrs({{"x_scale", 1.0f},
                     {"w_scales", std::vector<float>{1.0f}},
                     {"output_type", static_cast<int64_t>(DataType::kInt32)}}),
              "output_type");
}

}  // namespace
}  // namespace lowp
