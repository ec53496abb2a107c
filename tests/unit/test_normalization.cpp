// Unit tests of the normalization ops: BatchNormalization, InstanceNormalization, LayerNormalization,
// GroupNormalization, RMSNormalization, LpNormalization, MeanVarianceNormalization, LRN, Softmax,
// LogSoftmax and Hardmax, through schema inference, kernel lookup and the reference kernels.
// Expected values come from straightforward double-precision formulas written out here.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "op_runner.h"

namespace lowp {
namespace {

using ir::AttributeMap;
using testing::elementAsDouble;
using testing::makeTensor;
using testing::OpRun;
using testing::runOp;

void expectNear(const Tensor& actual, const std::vector<double>& expected, double relTol = 1e-5) {
  ASSERT_EQ(actual.elementCount(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    const double a = elementAsDouble(actual, static_cast<int64_t>(i));
    EXPECT_NEAR(a, expected[i], relTol * std::max(1.0, std::fabs(expected[i]))) << "element " << i;
  }
}

std::vector<double> iota(size_t n, double start, double step) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + step * static_cast<double>(i);
  return v;
}

/// Values with a varied, reproducible pattern (no two neighbours alike).
std::vector<double> pattern(size_t n) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<double>(i) * 1.7 + 0.3) * 2.0 + 0.1 * (i % 5);
  return v;
}

Result<std::vector<Tensor>> run(const std::string& op, std::vector<Tensor> inputs, AttributeMap attrs = {},
                                int64_t opset = 21, int outputs = 1) {
  OpRun r;
  r.opType = op;
  r.inputs = std::move(inputs);
  r.attributes = std::move(attrs);
  r.opset = opset;
  r.outputCount = outputs;
  return runOp(r);
}

using lowp::testing::attrs;

/// Row-wise softmax over rows of `size` contiguous elements.
std::vector<double> softmaxRows(const std::vector<double>& x, size_t size, bool log) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / size; ++r) {
    double m = -INFINITY;
    for (size_t k = 0; k < size; ++k) m = std::max(m, x[r * size + k]);
    double s = 0;
    for (size_t k = 0; k < size; ++k) s += std::exp(x[r * size + k] - m);
    for (size_t k = 0; k < size; ++k) {
      y[r * size + k] = log ? x[r * size + k] - m - std::log(s) : std::exp(x[r * size + k] - m) / s;
    }
  }
  return y;
}

// ---- Softmax family ----

TEST(Softmax, LastAxisFloatTypes) {
  const std::vector<double> x = {1, 2, 3, -1, 0, 1000};
  const std::vector<double> expected = softmaxRows(x, 3, false);
  for (DataType t : {DataType::kFloat32, DataType::kFloat64, DataType::kFloat16, DataType::kBFloat16}) {
    auto out = run("Softmax", {makeTensor(t, {2, 3}, x)}, {}, 13);
    ASSERT_TRUE(out.isOk()) << out.status().toString();
    EXPECT_EQ((*out)[0].type(), t);
    const double tol = t == DataType::kBFloat16 ? 1e-2 : t == DataType::kFloat16 ? 2e-3 : 1e-6;
    expectNear((*out)[0], expected, tol);
  }
}

TEST(Softmax, LargeNumbersDoNotOverflow) {
  auto out = run("Softmax", {makeTensor(DataType::kFloat32, {1, 4}, {10000, 10001, 10002, 10003})}, {}, 13);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectNear((*out)[0], softmaxRows({0, 1, 2, 3}, 4, false));
}

TEST(Softmax, MiddleAxisOpset13) {
  // Shape [2, 3, 2], axis 1: each (n, w) column of 3 is one softmax.
  const std::vector<double> x = pattern(12);
  auto out =
      run("Softmax", {makeTensor(DataType::kFloat32, {2, 3, 2}, x)}, attrs({{"axis", int64_t{1}}}), 13);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  std::vector<double> expected(12);
  for (int n = 0; n < 2; ++n) {
    for (int w = 0; w < 2; ++w) {
      std::vector<double> col(3);
      for (int c = 0; c < 3; ++c) col[c] = x[n * 6 + c * 2 + w];
      std::vector<double> s = softmaxRows(col, 3, false);
      for (int c = 0; c < 3; ++c) expected[n * 6 + c * 2 + w] = s[c];
    }
  }
  expectNear((*out)[0], expected);
}

TEST(Softmax, Opset11CoercesTo2D) {
  // Default axis 1 in opset 11: [2, 3, 2] is read as [2, 6].
  const std::vector<double> x = pattern(12);
  auto out = run("Softmax", {makeTensor(DataType::kFloat32, {2, 3, 2}, x)}, {}, 11);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectNear((*out)[0], softmaxRows(x, 6, false));
  auto axis2 =
      run("Softmax", {makeTensor(DataType::kFloat32, {2, 3, 2}, x)}, attrs({{"axis", int64_t{2}}}), 11);
  ASSERT_TRUE(axis2.isOk()) << axis2.status().toString();
  expectNear((*axis2)[0], softmaxRows(x, 2, false));
}

TEST(Softmax, ManyRowsAcrossThreads) {
  // Enough rows that the kernel splits them into parallel chunks.
  const std::vector<double> x = pattern(600 * 70);
  auto out = run("Softmax", {makeTensor(DataType::kFloat32, {600, 70}, x)}, {}, 13);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectNear((*out)[0], softmaxRows(x, 70, false));
}

TEST(Softmax, BadAxisIsInvalid) {
  auto out =
      run("Softmax", {makeTensor(DataType::kFloat32, {2, 3}, pattern(6))}, attrs({{"axis", int64_t{2}}}), 13);
  ASSERT_FALSE(out.isOk());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
}

TEST(Softmax, IntegerInputIsRejected) {
  auto out = run("Softmax", {makeTensor(DataType::kInt32, {2, 3}, pattern(6))}, {}, 13);
  ASSERT_FALSE(out.isOk());
}

TEST(Softmax, ZeroSized) {
  auto out = run("Softmax", {makeTensor(DataType::kFloat32, {0, 3}, {})}, {}, 13);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{0, 3}));
  auto empty = run("Softmax", {makeTensor(DataType::kFloat32, {3, 0}, {})}, {}, 13);
  ASSERT_TRUE(empty.isOk()) << empty.status().toString();
}

TEST(LogSoftmax, MatchesFormula) {
  const std::vector<double> x = {1, 2, 3, 4, -5, 1000, 1001, 1002};
  for (int64_t opset : {11, 13}) {
    auto out = run("LogSoftmax", {makeTensor(DataType::kFloat32, {2, 4}, x)}, {}, opset);
    ASSERT_TRUE(out.isOk()) << out.status().toString();
    expectNear((*out)[0], softmaxRows(x, 4, true));
  }
  auto f64 = run("LogSoftmax", {makeTensor(DataType::kFloat64, {2, 4}, x)}, {}, 13);
  ASSERT_TRUE(f64.isOk()) << f64.status().toString();
  expectNear((*f64)[0], softmaxRows(x, 4, true), 1e-12);
}

TEST(Hardmax, FirstMaximumWins) {
  auto out = run("Hardmax", {makeTensor(DataType::kFloat32, {2, 4}, {1, 3, 3, 0, -1, -2, -3, -4})}, {}, 13);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectNear((*out)[0], {0, 1, 0, 0, 1, 0, 0, 0});
}

TEST(Hardmax, AxisZeroAndOpset11Flattening) {
  const std::vector<double> x = {1, 5, 2, 3, 4, 0};  // [2, 3]
  auto axis0 = run("Hardmax", {makeTensor(DataType::kFloat16, {2, 3}, x)}, attrs({{"axis", int64_t{0}}}), 13);
  ASSERT_TRUE(axis0.isOk()) << axis0.status().toString();
  expectNear((*axis0)[0], {0, 1, 1, 1, 0, 0});
  // Opset 11, axis 0: the whole tensor is one row.
  auto flat = run("Hardmax", {makeTensor(DataType::kFloat32, {2, 3}, x)}, attrs({{"axis", int64_t{0}}}), 11);
  ASSERT_TRUE(flat.isOk()) << flat.status().toString();
  expectNear((*flat)[0], {0, 1, 0, 0, 0, 0});
}

// ---- BatchNormalization ----

TEST(BatchNormalization, InferenceFormula) {
  const std::vector<double> x = pattern(2 * 3 * 2);
  const std::vector<double> scale = {1.0, 0.5, -2.0}, bias = {0.0, 1.0, 0.25}, mean = {0.1, -0.2, 0.3},
                            var = {1.0, 0.25, 4.0};
  const double eps = 0.01;
  std::vector<double> expected(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    size_t c = (i / 2) % 3;
    expected[i] = (x[i] - mean[c]) / std::sqrt(var[c] + eps) * scale[c] + bias[c];
  }
  for (int64_t opset : {7, 9, 14, 15}) {
    auto out = run("BatchNormalization",
                   {makeTensor(DataType::kFloat32, {2, 3, 2}, x), makeTensor(DataType::kFloat32, {3}, scale),
                    makeTensor(DataType::kFloat32, {3}, bias), makeTensor(DataType::kFloat32, {3}, mean),
                    makeTensor(DataType::kFloat32, {3}, var)},
                   attrs({{"epsilon", 0.01f}}), opset);
    ASSERT_TRUE(out.isOk()) << out.status().toString();
    expectNear((*out)[0], expected);
  }
  // Opset 15: mean and var may have another float type than X.
  auto mixed = run("BatchNormalization",
                   {makeTensor(DataType::kFloat16, {2, 3, 2}, x), makeTensor(DataType::kFloat32, {3}, scale),
                    makeTensor(DataType::kFloat32, {3}, bias), makeTensor(DataType::kFloat64, {3}, mean),
                    makeTensor(DataType::kFloat64, {3}, var)},
                   attrs({{"epsilon", 0.01f}}), 15);
  ASSERT_TRUE(mixed.isOk()) << mixed.status().toString();
  EXPECT_EQ((*mixed)[0].type(), DataType::kFloat16);
  expectNear((*mixed)[0], expected, 3e-3);
}

TEST(BatchNormalization, Rank2) {
  auto out = run("BatchNormalization",
                 {makeTensor(DataType::kFloat64, {2, 2}, {1, 2, 3, 4}),
                  makeTensor(DataType::kFloat64, {2}, {1, 2}), makeTensor(DataType::kFloat64, {2}, {0, 1}),
                  makeTensor(DataType::kFloat64, {2}, {2, 3}), makeTensor(DataType::kFloat64, {2}, {1, 1})},
                 attrs({{"epsilon", 0.0f}}), 15);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectNear((*out)[0], {-1, -1, 1, 3}, 1e-12);
}

TEST(BatchNormalization, NonSpatialOpset7) {
  // spatial=0: one parameter per element of X[1:] = [2, 2].
  const std::vector<double> x = pattern(8);
  const std::vector<double> scale = {1, 2, 3, 4}, bias = {0, 0.5, 1, 1.5}, mean = {0.1, 0.2, 0.3, 0.4},
                            var = {1, 2, 3, 4};
  std::vector<double> expected(8);
  for (size_t i = 0; i < 8; ++i) {
    size_t p = i % 4;
    expected[i] = (x[i] - mean[p]) / std::sqrt(var[p] + 1e-5) * scale[p] + bias[p];
  }
  auto out = run("BatchNormalization",
                 {makeTensor(DataType::kFloat32, {2, 2, 2}, x), makeTensor(DataType::kFloat32, {2, 2}, scale),
                  makeTensor(DataType::kFloat32, {2, 2}, bias), makeTensor(DataType::kFloat32, {2, 2}, mean),
                  makeTensor(DataType::kFloat32, {2, 2}, var)},
                 attrs({{"spatial", int64_t{0}}}), 7);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectNear((*out)[0], expected);
}

std::vector<Tensor> batchNormInputs(std::vector<int64_t> xShape, int64_t channels) {
  auto p = [&](double v) {
    return makeTensor(DataType::kFloat32, {channels}, std::vector<double>(channels, v));
  };
  int64_t n = std::accumulate(xShape.begin(), xShape.end(), int64_t{1}, std::multiplies<>());
  return {makeTensor(DataType::kFloat32, xShape, pattern(static_cast<size_t>(n))), p(1), p(0), p(0), p(1)};
}

TEST(BatchNormalization, TrainingModeIsUnsupported) {
  auto out =
      run("BatchNormalization", batchNormInputs({2, 3, 2}, 3), attrs({{"training_mode", int64_t{1}}}), 15);
  ASSERT_FALSE(out.isOk());
  EXPECT_EQ(out.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(out.status().message().find("training_mode"), std::string::npos);
  auto extra = run("BatchNormalization", batchNormInputs({2, 3, 2}, 3), {}, 9, 5);
  ASSERT_FALSE(extra.isOk());
  EXPECT_EQ(extra.status().code(), StatusCode::kUnsupported);
}

TEST(BatchNormalization, BadShapesAreInvalid) {
  auto wrongChannels = run("BatchNormalization", batchNormInputs({2, 3, 2}, 4), {}, 15);
  ASSERT_FALSE(wrongChannels.isOk());
  EXPECT_EQ(wrongChannels.status().code(), StatusCode::kInvalidArgument);
  auto rank1 = run("BatchNormalization", batchNormInputs({3}, 3), {}, 15);
  ASSERT_FALSE(rank1.isOk());
  EXPECT_EQ(rank1.status().code(), StatusCode::kInvalidArgument);
}

// ---- InstanceNormalization ----

TEST(InstanceNormalization, PerInstanceAndChannel) {
  const std::vector<double> x = pattern(2 * 2 * 3);
  const std::vector<double> scale = {1.5, -0.5}, bias = {0.25, 2.0};
  const double eps = 1e-3;
  std::vector<double> expected(x.size());
  for (size_t nc = 0; nc < 4; ++nc) {
    double m = 0, v = 0;
    for (size_t s = 0; s < 3; ++s) m += x[nc * 3 + s] / 3;
    for (size_t s = 0; s < 3; ++s) v += (x[nc * 3 + s] - m) * (x[nc * 3 + s] - m) / 3;
    for (size_t s = 0; s < 3; ++s) {
      expected[nc * 3 + s] = (x[nc * 3 + s] - m) / std::sqrt(v + eps) * scale[nc % 2] + bias[nc % 2];
    }
  }
  for (DataType t : {DataType::kFloat32, DataType::kFloat64, DataType::kBFloat16}) {
    auto out = run("InstanceNormalization",
                   {makeTensor(t, {2, 2, 3}, x), makeTensor(t, {2}, scale), makeTensor(t, {2}, bias)},
                   attrs({{"epsilon", 1e-3f}}), 22);
    ASSERT_TRUE(out.isOk()) << out.status().toString();
    expectNear((*out)[0], expected, t == DataType::kBFloat16 ? 3e-2 : 1e-5);
  }
}

// ---- LayerNormalization ----

TEST(LayerNormalization, OutputsAndStatistics) {
  // X [2, 3, 4], axis 1: rows of 12; scale [3, 4], bias [4] broadcast.
  const std::vector<double> x = pattern(24);
  const std::vector<double> scale = iota(12, 0.5, 0.1), bias = {1, 2, 3, 4};
  const double eps = 1e-5;
  std::vector<double> expected(24), means(2), invStd(2);
  for (size_t r = 0; r < 2; ++r) {
    double m = 0, v = 0;
    for (size_t k = 0; k < 12; ++k) m += x[r * 12 + k] / 12;
    for (size_t k = 0; k < 12; ++k) v += (x[r * 12 + k] - m) * (x[r * 12 + k] - m) / 12;
    means[r] = m;
    invStd[r] = 1 / std::sqrt(v + eps);
    for (size_t k = 0; k < 12; ++k)
      expected[r * 12 + k] = (x[r * 12 + k] - m) * invStd[r] * scale[k] + bias[k % 4];
  }
  auto out = run("LayerNormalization",
                 {makeTensor(DataType::kFloat32, {2, 3, 4}, x), makeTensor(DataType::kFloat32, {3, 4}, scale),
                  makeTensor(DataType::kFloat32, {4}, bias)},
                 attrs({{"axis", int64_t{1}}}), 17, 3);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  ASSERT_EQ(out->size(), 3u);
  expectNear((*out)[0], expected);
  EXPECT_EQ((*out)[1].shape(), (std::vector<int64_t>{2, 1, 1}));
  EXPECT_EQ((*out)[1].type(), DataType::kFloat32);
  expectNear((*out)[1], means);
  expectNear((*out)[2], invStd);
}

TEST(LayerNormalization, NoBiasFp16AndDoubleStash) {
  const std::vector<double> x = {1, 2, 3, 4, -1, 0, 1, 10};
  std::vector<double> expected(8);
  for (size_t r = 0; r < 2; ++r) {
    double m = 0, v = 0;
    for (size_t k = 0; k < 4; ++k) m += x[r * 4 + k] / 4;
    for (size_t k = 0; k < 4; ++k) v += (x[r * 4 + k] - m) * (x[r * 4 + k] - m) / 4;
    for (size_t k = 0; k < 4; ++k) expected[r * 4 + k] = (x[r * 4 + k] - m) / std::sqrt(v + 1e-5) * 2.0;
  }
  auto half = run(
      "LayerNormalization",
      {makeTensor(DataType::kFloat16, {2, 4}, x), makeTensor(DataType::kFloat16, {4}, {2, 2, 2, 2})}, {}, 17);
  ASSERT_TRUE(half.isOk()) << half.status().toString();
  expectNear((*half)[0], expected, 2e-3);
  auto f64 =
      run("LayerNormalization",
          {makeTensor(DataType::kFloat64, {2, 4}, x), makeTensor(DataType::kFloat64, {4}, {2, 2, 2, 2})},
          attrs({{"stash_type", int64_t{11}}}), 17, 3);
  ASSERT_TRUE(f64.isOk()) << f64.status().toString();
  expectNear((*f64)[0], expected, 1e-12);
  EXPECT_EQ((*f64)[1].type(), DataType::kFloat64);
}

TEST(LayerNormalization, UnsupportedStashAndBadScale) {
  auto bf16Stash = run(
      "LayerNormalization",
      {makeTensor(DataType::kFloat32, {2, 4}, pattern(8)), makeTensor(DataType::kFloat32, {4}, pattern(4))},
      attrs({{"stash_type", int64_t{16}}}), 17);
  ASSERT_FALSE(bf16Stash.isOk());
  EXPECT_EQ(bf16Stash.status().code(), StatusCode::kUnsupported);
  auto badScale = run(
      "LayerNormalization",
      {makeTensor(DataType::kFloat32, {2, 4}, pattern(8)), makeTensor(DataType::kFloat32, {3}, pattern(3))},
      {}, 17);
  ASSERT_FALSE(badScale.isOk());
  EXPECT_EQ(badScale.status().code(), StatusCode::kInvalidArgument);
}

TEST(LayerNormalization, ZeroRows) {
  auto out = run(
      "LayerNormalization",
      {makeTensor(DataType::kFloat32, {0, 4}, {}), makeTensor(DataType::kFloat32, {4}, pattern(4))}, {}, 17);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{0, 4}));
}

// ---- RMSNormalization ----

TEST(RMSNormalization, MatchesFormula) {
  const std::vector<double> x = pattern(12);  // [2, 2, 3], axis -2: rows of 6
  const std::vector<double> scale = {1, 2, 3};
  std::vector<double> expected(12);
  for (size_t r = 0; r < 2; ++r) {
    double ms = 0;
    for (size_t k = 0; k < 6; ++k) ms += x[r * 6 + k] * x[r * 6 + k] / 6;
    for (size_t k = 0; k < 6; ++k) expected[r * 6 + k] = x[r * 6 + k] / std::sqrt(ms + 0.1) * scale[k % 3];
  }
  auto out = run("RMSNormalization",
                 {makeTensor(DataType::kFloat32, {2, 2, 3}, x), makeTensor(DataType::kFloat32, {3}, scale)},
                 attrs({{"axis", int64_t{-2}}, {"epsilon", 0.1f}}), 23);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectNear((*out)[0], expected);
}

// ---- GroupNormalization ----

std::vector<double> groupNormExpected(const std::vector<double>& x, int64_t n, int64_t c, int64_t spatial,
                                      int64_t groups, const std::vector<double>& scale,
                                      const std::vector<double>& bias, bool perChannel, double eps) {
  std::vector<double> y(x.size());
  const int64_t size = c / groups * spatial;
  for (int64_t ng = 0; ng < n * groups; ++ng) {
    double m = 0, v = 0;
    for (int64_t j = 0; j < size; ++j) m += x[ng * size + j] / size;
    for (int64_t j = 0; j < size; ++j) v += (x[ng * size + j] - m) * (x[ng * size + j] - m) / size;
    for (int64_t j = 0; j < size; ++j) {
      int64_t g = ng % groups;
      auto p = static_cast<size_t>(perChannel ? g * (c / groups) + j / spatial : g);
      y[ng * size + j] = (x[ng * size + j] - m) / std::sqrt(v + eps) * scale[p] + bias[p];
    }
  }
  return y;
}

TEST(GroupNormalization, Opset21PerChannelScale) {
  const std::vector<double> x = pattern(2 * 4 * 3);
  const std::vector<double> scale = {1, 2, 3, 4}, bias = {0.5, -0.5, 1, 0};
  auto out = run("GroupNormalization",
                 {makeTensor(DataType::kFloat32, {2, 4, 3}, x), makeTensor(DataType::kFloat32, {4}, scale),
                  makeTensor(DataType::kFloat32, {4}, bias)},
                 attrs({{"num_groups", int64_t{2}}, {"epsilon", 1e-2f}}), 21);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectNear((*out)[0], groupNormExpected(x, 2, 4, 3, 2, scale, bias, true, 1e-2));
}

TEST(GroupNormalization, Opset18PerGroupScale) {
  const std::vector<double> x = pattern(2 * 4 * 3);
  const std::vector<double> scale = {2, -1}, bias = {0.5, 1};
  auto out = run("GroupNormalization",
                 {makeTensor(DataType::kFloat64, {2, 4, 3}, x), makeTensor(DataType::kFloat64, {2}, scale),
                  makeTensor(DataType::kFloat64, {2}, bias)},
                 attrs({{"num_groups", int64_t{2}}}), 18);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectNear((*out)[0], groupNormExpected(x, 2, 4, 3, 2, scale, bias, false, 1e-5), 1e-12);
}

TEST(GroupNormalization, GroupsMustDivideChannels) {
  auto out =
      run("GroupNormalization",
          {makeTensor(DataType::kFloat32, {1, 4, 2}, pattern(8)),
           makeTensor(DataType::kFloat32, {4}, pattern(4)), makeTensor(DataType::kFloat32, {4}, pattern(4))},
          attrs({{"num_groups", int64_t{3}}}), 21);
  ASSERT_FALSE(out.isOk());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
}

// ---- LpNormalization ----

TEST(LpNormalization, P1P2AndZeroNorm) {
  const std::vector<double> x = {3, 4, 0, 0, -1, 1};  // [3, 2]
  auto l2 = run("LpNormalization", {makeTensor(DataType::kFloat32, {3, 2}, x)}, {}, 22);
  ASSERT_TRUE(l2.isOk()) << l2.status().toString();
  expectNear((*l2)[0], {0.6, 0.8, 0, 0, -1 / std::sqrt(2.0), 1 / std::sqrt(2.0)});
  auto l1 = run("LpNormalization", {makeTensor(DataType::kFloat32, {3, 2}, x)},
                attrs({{"p", int64_t{1}}, {"axis", int64_t{0}}}), 22);
  ASSERT_TRUE(l1.isOk()) << l1.status().toString();
  expectNear((*l1)[0], {0.75, 0.8, 0, 0, -0.25, 0.2});
  auto bad =
      run("LpNormalization", {makeTensor(DataType::kFloat32, {3, 2}, x)}, attrs({{"p", int64_t{3}}}), 22);
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

// ---- MeanVarianceNormalization ----

TEST(MeanVarianceNormalization, DefaultAxesPerChannel) {
  const std::vector<double> x = pattern(2 * 3 * 2 * 1);  // [2, 3, 2, 1]: statistics per channel
  std::vector<double> expected(x.size());
  for (size_t c = 0; c < 3; ++c) {
    const std::vector<size_t> idx = {c * 2, c * 2 + 1, 6 + c * 2, 6 + c * 2 + 1};  // n in {0, 1}, h in {0, 1}
    double m = 0, v = 0;
    for (size_t i : idx) m += x[i] / 4;
    for (size_t i : idx) v += (x[i] - m) * (x[i] - m) / 4;
    for (size_t i : idx) expected[i] = (x[i] - m) / (std::sqrt(v) + 1e-9);
  }
  auto out = run("MeanVarianceNormalization", {makeTensor(DataType::kFloat32, {2, 3, 2, 1}, x)}, {}, 13);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectNear((*out)[0], expected);
}

TEST(MeanVarianceNormalization, ExplicitAxesAndBadAxes) {
  const std::vector<double> x = {1, 2, 3, 5, 5, 5};  // [2, 3], axes {1}: per row
  auto out = run("MeanVarianceNormalization", {makeTensor(DataType::kFloat64, {2, 3}, x)},
                 attrs({{"axes", std::vector<int64_t>{-1}}}), 13);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  const double sd = std::sqrt(2.0 / 3.0);
  expectNear((*out)[0], {-1 / sd, 0, 1 / sd, 0, 0, 0}, 1e-7);
  auto bad = run("MeanVarianceNormalization", {makeTensor(DataType::kFloat32, {2, 3}, x)}, {}, 13);
  ASSERT_FALSE(bad.isOk());  // default axes {0, 2, 3} need rank 4
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

// ---- LRN ----

TEST(LRN, AcrossChannels) {
  const std::vector<double> x = pattern(1 * 4 * 2);  // [1, 4, 2]
  const double alpha = 0.1, beta = 0.75, bias = 2.0;
  const int size = 2;  // window [c, c + 1]
  std::vector<double> expected(8);
  for (int c = 0; c < 4; ++c) {
    for (int s = 0; s < 2; ++s) {
      double sq = 0;
      for (int k = c; k <= std::min(3, c + 1); ++k) sq += x[k * 2 + s] * x[k * 2 + s];
      expected[c * 2 + s] = x[c * 2 + s] / std::pow(bias + alpha / size * sq, beta);
    }
  }
  auto out = run("LRN", {makeTensor(DataType::kFloat32, {1, 4, 2}, x)},
                 attrs({{"alpha", 0.1f}, {"beta", 0.75f}, {"bias", 2.0f}, {"size", int64_t{2}}}), 13);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectNear((*out)[0], expected);
  auto noSize = run("LRN", {makeTensor(DataType::kFloat32, {1, 4, 2}, x)}, {}, 13);
  ASSERT_FALSE(noSize.isOk());
  EXPECT_EQ(noSize.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lowp
