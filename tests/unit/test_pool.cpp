// Unit tests of the pooling ops: MaxPool (with Indices), AveragePool, LpPool, the Global pools and MaxUnpool,
// through schema inference, kernel lookup and the reference kernels. Windowed pools are checked against a
// naive loop in double over random shapes (1-3 spatial axes, odd sizes, strides, dilations, pads, ceil_mode).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ir/shape.h"
#include "op_runner.h"

namespace lowp {
namespace {

using ir::AttributeMap;
using testing::elementAsDouble;
using testing::makeTensor;
using testing::OpRun;
using testing::runOp;

Result<std::vector<Tensor>> run(const std::string& op, std::vector<Tensor> inputs, AttributeMap attrs = {},
                                int outputs = 1, int64_t opset = 22) {
  OpRun r;
  r.opType = op;
  r.inputs = std::move(inputs);
  r.attributes = std::move(attrs);
  r.outputCount = outputs;
  r.opset = opset;
  return runOp(r);
}

using lowp::testing::attrs;

using lowp::testing::values;

using lowp::testing::count;

void expectClose(const Tensor& actual, const std::vector<double>& expected, double tol,
                 const std::string& what) {
  ASSERT_EQ(actual.elementCount(), static_cast<int64_t>(expected.size())) << what;
  int failures = 0;
  for (size_t i = 0; i < expected.size() && failures < 5; ++i) {
    const double a = elementAsDouble(actual, static_cast<int64_t>(i));
    if (std::fabs(a - expected[i]) > tol * std::max(1.0, std::fabs(expected[i]))) {
      ADD_FAILURE() << what << ": element " << i << " is " << a << ", expected " << expected[i];
      ++failures;
    }
  }
}

// ---- Naive pooling ---------------------------------------------------------------------------------------

struct PoolCase {
  std::vector<int64_t> x;  ///< [N, C, spatial...]
  std::vector<int64_t> kernel, strides, dilations, padsBegin, padsEnd;
  bool ceilMode = false;
  std::vector<int64_t> out;
};

enum class Kind { kMax, kAverage, kAverageWithPad, kLp };

std::vector<int64_t> outputSizes(const PoolCase& c) {
  std::vector<int64_t> out;
  for (size_t d = 0; d < c.kernel.size(); ++d) {
    const int64_t in = c.x[d + 2];
    const int64_t span = in + c.padsBegin[d] + c.padsEnd[d] - c.dilations[d] * (c.kernel[d] - 1) - 1;
    int64_t o = static_cast<int64_t>(c.ceilMode ? std::ceil(static_cast<double>(span) / c.strides[d])
                                                : std::floor(static_cast<double>(span) / c.strides[d])) +
                1;
    if (c.ceilMode && (o - 1) * c.strides[d] >= in + c.padsBegin[d]) --o;
    out.push_back(o);
  }
  return out;
}

// Pools every output pixel; `argmax` receives the row-major spatial index of MaxPool's first maximum.
std::vector<double> naivePool(const PoolCase& c, const std::vector<double>& x, Kind kind, int p,
                              std::vector<int64_t>* argmax = nullptr) {
  const size_t rank = c.kernel.size();
  const std::vector<int64_t> in(c.x.begin() + 2, c.x.end());
  const int64_t planes = c.x[0] * c.x[1], inSize = count(in), outSize = count(c.out), taps = count(c.kernel);
  std::vector<double> y;
  for (int64_t plane = 0; plane < planes; ++plane) {
    for (int64_t op = 0; op < outSize; ++op) {
      std::vector<int64_t> o(rank);
      for (int64_t rest = op, d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
        o[static_cast<size_t>(d)] = rest % c.out[static_cast<size_t>(d)];
        rest /= c.out[static_cast<size_t>(d)];
      }
      double acc = kind == Kind::kMax ? -INFINITY : 0.0;
      int64_t best = -1, inside = 0, padded = 0;
      for (int64_t t = 0; t < taps; ++t) {
        int64_t flat = 0;
        bool valid = true, inPadded = true;
        for (int64_t rest = t, d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
          const auto u = static_cast<size_t>(d);
          const int64_t j = rest % c.kernel[u];
          rest /= c.kernel[u];
          const int64_t i = o[u] * c.strides[u] - c.padsBegin[u] + j * c.dilations[u];
          valid = valid && i >= 0 && i < in[u];
          inPadded = inPadded && i >= -c.padsBegin[u] && i < in[u] + c.padsEnd[u];
          flat += i * count(std::vector<int64_t>(in.begin() + d + 1, in.end()));
        }
        padded += inPadded ? 1 : 0;
        if (!valid) continue;
        ++inside;
        const double v = x[static_cast<size_t>(plane * inSize + flat)];
        if (kind == Kind::kMax) {
          if (v > acc || best < 0) best = flat, acc = std::max(acc, v);
        } else {
          acc += kind == Kind::kLp ? std::pow(std::fabs(v), p) : v;
        }
      }
      if (kind == Kind::kAverage) acc /= static_cast<double>(inside);
      if (kind == Kind::kAverageWithPad) acc /= static_cast<double>(padded);
      if (kind == Kind::kLp) acc = std::pow(acc, 1.0 / p);
      y.push_back(acc);
      if (argmax != nullptr) argmax->push_back(best);
    }
  }
  return y;
}

PoolCase randomPool(std::mt19937& rng, int rank) {
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  PoolCase c;
  c.x = {pick(1, 2), pick(1, 3)};
  c.ceilMode = pick(0, 1) == 1;
  for (int d = 0; d < rank; ++d) {
    const int64_t k = pick(1, 3);
    const int64_t dilation = pick(1, 2);
    const int64_t extent = dilation * (k - 1) + 1;
    // ONNX pools need pads smaller than the kernel, so every window holds an input element.
    const int64_t pb = pick(0, k - 1);
    const int64_t pe = pick(0, k - 1);
    c.kernel.push_back(k);
    c.strides.push_back(pick(1, 3));
    c.dilations.push_back(dilation);
    c.padsBegin.push_back(pb);
    c.padsEnd.push_back(pe);
    c.x.push_back(std::max(pick(1, rank == 3 ? 7 : 12), extent));
  }
  c.out = outputSizes(c);
  return c;
}

AttributeMap poolAttrs(const PoolCase& c) {
  std::vector<int64_t> pads = c.padsBegin;
  pads.insert(pads.end(), c.padsEnd.begin(), c.padsEnd.end());
  return attrs({{"kernel_shape", c.kernel},
                {"strides", c.strides},
                {"dilations", c.dilations},
                {"pads", pads},
                {"ceil_mode", int64_t{c.ceilMode ? 1 : 0}}});
}

Tensor randomTensor(std::mt19937& rng, DataType type, const std::vector<int64_t>& shape) {
  std::uniform_real_distribution<double> dist(-4, 4);
  std::vector<double> v(static_cast<size_t>(count(shape)));
  for (double& x : v) x = dist(rng);
  return makeTensor(type, shape, v);
}

TEST(MaxPool, MatchesNaiveWithIndices) {
  std::mt19937 rng(31);
  for (int trial = 0; trial < 60; ++trial) {
    const PoolCase c = randomPool(rng, 1 + trial % 3);
    Tensor x = randomTensor(rng, DataType::kFloat32, c.x);
    AttributeMap a = poolAttrs(c);
    a.set("storage_order", int64_t{trial % 2});
    auto out = run("MaxPool", {x}, a, 2);
    const std::string what = "trial " + std::to_string(trial) + " x " + ir::formatSizes(c.x);
    ASSERT_TRUE(out) << what << ": " << out.status().toString();
    std::vector<int64_t> shape = {c.x[0], c.x[1]};
    shape.insert(shape.end(), c.out.begin(), c.out.end());
    EXPECT_EQ((*out)[0].shape(), shape) << what;
    std::vector<int64_t> argmax;
    expectClose((*out)[0], naivePool(c, values(x), Kind::kMax, 0, &argmax), 0.0, what);
    ASSERT_EQ((*out)[1].type(), DataType::kInt64);
    // Indices: plane offset plus the spatial index, row-major or (storage_order 1) column-major.
    const std::vector<int64_t> in(c.x.begin() + 2, c.x.end());
    const int64_t inSize = count(in), outSize = count(c.out);
    for (size_t i = 0; i < argmax.size(); ++i) {
      int64_t spatial = argmax[i];
      if (trial % 2 == 1) {
        int64_t colMajor = 0, stride = 1;
        for (size_t d = 0; d < in.size(); ++d) {
          const int64_t after =
              count(std::vector<int64_t>(in.begin() + static_cast<int64_t>(d) + 1, in.end()));
          colMajor += (spatial / after) % in[d] * stride;
          stride *= in[d];
        }
        spatial = colMajor;
      }
      const int64_t expected = static_cast<int64_t>(i) / outSize * inSize + spatial;
      ASSERT_EQ((*out)[1].data<int64_t>()[i], expected) << what << " index " << i;
    }
  }
}

TEST(MaxPool, IntegerAndHalfTypes) {
  const Tensor u8 = makeTensor(DataType::kUInt8, {1, 1, 3, 3}, {1, 200, 3, 4, 5, 6, 7, 8, 255});
  auto out = run("MaxPool", {u8}, attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}}));
  ASSERT_TRUE(out) << out.status().toString();
  expectClose((*out)[0], {200, 200, 8, 255}, 0, "uint8");
  const Tensor i8 = makeTensor(DataType::kInt8, {1, 1, 4}, {-128, -100, -3, -127});
  out = run("MaxPool", {i8},
            attrs({{"kernel_shape", std::vector<int64_t>{2}}, {"pads", std::vector<int64_t>{1, 1}}}));
  ASSERT_TRUE(out) << out.status().toString();
  expectClose((*out)[0], {-128, -100, -3, -3, -127}, 0, "int8, padding never wins");
  const Tensor h = makeTensor(DataType::kFloat16, {1, 1, 2, 2}, {0.5, -1, 2.25, 3});
  out = run("MaxPool", {h}, attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}}));
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].type(), DataType::kFloat16);
  expectClose((*out)[0], {3}, 0, "fp16");
}

TEST(AveragePool, MatchesNaiveWithAndWithoutPadCounting) {
  std::mt19937 rng(37);
  for (int trial = 0; trial < 60; ++trial) {
    const PoolCase c = randomPool(rng, 1 + trial % 3);
    const bool includePad = trial % 2 == 0;
    Tensor x = randomTensor(rng, trial % 5 == 0 ? DataType::kFloat64 : DataType::kFloat32, c.x);
    AttributeMap a = poolAttrs(c);
    a.set("count_include_pad", int64_t{includePad ? 1 : 0});
    auto out = run("AveragePool", {x}, a);
    const std::string what = "trial " + std::to_string(trial) + " x " + ir::formatSizes(c.x);
    ASSERT_TRUE(out) << what << ": " << out.status().toString();
    expectClose((*out)[0], naivePool(c, values(x), includePad ? Kind::kAverageWithPad : Kind::kAverage, 0),
                1e-5, what);
  }
}

TEST(AveragePool, AutoPadSame) {
  // 5x5, kernel 2, stride 1: SAME_UPPER pads one element at the end, SAME_LOWER at the start.
  std::vector<double> xs(25);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<double>(i);
  const Tensor x = makeTensor(DataType::kFloat32, {1, 1, 5, 5}, xs);
  for (const std::string mode : {"SAME_UPPER", "SAME_LOWER"}) {
    PoolCase c;
    c.x = {1, 1, 5, 5};
    c.kernel = {2, 2};
    c.strides = {1, 1};
    c.dilations = {1, 1};
    c.padsBegin = mode == "SAME_UPPER" ? std::vector<int64_t>{0, 0} : std::vector<int64_t>{1, 1};
    c.padsEnd = mode == "SAME_UPPER" ? std::vector<int64_t>{1, 1} : std::vector<int64_t>{0, 0};
    c.out = {5, 5};
    auto out = run("AveragePool", {x}, attrs({{"kernel_shape", c.kernel}, {"auto_pad", mode}}));
    ASSERT_TRUE(out) << mode << ": " << out.status().toString();
    expectClose((*out)[0], naivePool(c, xs, Kind::kAverage, 0), 1e-6, mode);
  }
}

TEST(LpPool, MatchesNaive) {
  std::mt19937 rng(41);
  for (int trial = 0; trial < 30; ++trial) {
    const PoolCase c = randomPool(rng, 1 + trial % 3);
    const int p = 1 + trial % 3;
    Tensor x = randomTensor(rng, DataType::kFloat32, c.x);
    AttributeMap a = poolAttrs(c);
    a.set("p", int64_t{p});
    auto out = run("LpPool", {x}, a);
    const std::string what = "trial " + std::to_string(trial) + " p " + std::to_string(p);
    ASSERT_TRUE(out) << what << ": " << out.status().toString();
    expectClose((*out)[0], naivePool(c, values(x), Kind::kLp, p), 1e-5, what);
  }
}

TEST(GlobalPools, ReduceEachPlane) {
  const Tensor x = makeTensor(DataType::kFloat32, {2, 2, 1, 3}, {1, -2, 3, 4, 5, 6, -7, 8, 0, 1, 1, 1});
  auto out = run("GlobalAveragePool", {x});
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{2, 2, 1, 1}));
  expectClose((*out)[0], {2.0 / 3, 5, 1.0 / 3, 1}, 1e-6, "GlobalAveragePool");
  out = run("GlobalMaxPool", {x});
  ASSERT_TRUE(out) << out.status().toString();
  expectClose((*out)[0], {3, 6, 8, 1}, 0, "GlobalMaxPool");
  out = run("GlobalLpPool", {x}, attrs({{"p", int64_t{2}}}));
  ASSERT_TRUE(out) << out.status().toString();
  expectClose((*out)[0], {std::sqrt(14.0), std::sqrt(77.0), std::sqrt(113.0), std::sqrt(3.0)}, 1e-6,
              "GlobalLpPool");
  const Tensor bf = makeTensor(DataType::kBFloat16, {1, 2, 2}, {1, 2, 3, 5});
  out = run("GlobalAveragePool", {bf});
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].type(), DataType::kBFloat16);
  expectClose((*out)[0], {1.5, 4}, 0, "bf16");
  out = run("GlobalAveragePool", {Tensor(DataType::kFloat32, {0, 3, 4, 4})});
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{0, 3, 1, 1}));
}

TEST(MaxUnpool, InvertsMaxPool) {
  std::mt19937 rng(43);
  const Tensor x = randomTensor(rng, DataType::kFloat32, {2, 3, 6, 6});
  const AttributeMap a =
      attrs({{"kernel_shape", std::vector<int64_t>{2, 3}}, {"strides", std::vector<int64_t>{2, 3}}});
  auto pooled = run("MaxPool", {x}, a, 2);
  ASSERT_TRUE(pooled) << pooled.status().toString();
  auto out = run("MaxUnpool", {(*pooled)[0], (*pooled)[1]}, a);
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{2, 3, 6, 6}));
  // Every maximum is back where it came from, everything else is zero.
  const std::vector<double> xs = values(x), ys = values((*out)[0]);
  const std::vector<double> maxima = values((*pooled)[0]);
  double kept = 0, total = 0;
  for (double v : ys) kept += v;
  for (double v : maxima) total += v;
  EXPECT_NEAR(kept, total, 1e-4);
  for (int64_t i = 0; i < (*pooled)[1].elementCount(); ++i) {
    const int64_t idx = (*pooled)[1].data<int64_t>()[i];
    EXPECT_EQ(ys[static_cast<size_t>(idx)], xs[static_cast<size_t>(idx)]);
  }
  // output_shape larger than the unpooled shape: the result sits at the origin.
  auto wide =
      run("MaxUnpool",
          {makeTensor(DataType::kFloat32, {1, 1, 1, 1}, {9}), makeTensor(DataType::kInt64, {1, 1, 1, 1}, {3}),
           makeTensor(DataType::kInt64, {4}, {1, 1, 3, 3})},
          attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}}));
  ASSERT_TRUE(wide) << wide.status().toString();
  expectClose((*wide)[0], {0, 0, 0, 0, 9, 0, 0, 0, 0}, 0, "output_shape");
  auto bad = run(
      "MaxUnpool",
      {makeTensor(DataType::kFloat32, {1, 1, 1, 1}, {9}), makeTensor(DataType::kInt64, {1, 1, 1, 1}, {4})},
      attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}}));
  EXPECT_FALSE(bad);
}

TEST(Pool, RejectsBadAttributes) {
  const Tensor x(DataType::kFloat32, {1, 1, 4, 4});
  EXPECT_FALSE(run("MaxPool", {x}));
  EXPECT_FALSE(run("MaxPool", {x}, attrs({{"kernel_shape", std::vector<int64_t>{2}}})));
  EXPECT_FALSE(run("MaxPool", {x},
                   attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}, {"storage_order", int64_t{2}}})));
  EXPECT_FALSE(run("AveragePool", {x}, attrs({{"kernel_shape", std::vector<int64_t>{5, 5}}})));
  EXPECT_FALSE(run("LpPool", {x}, attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}, {"p", int64_t{0}}})));
  auto ints = run("AveragePool", {Tensor(DataType::kInt32, {1, 1, 4, 4})},
                  attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}}));
  ASSERT_FALSE(ints);
  EXPECT_EQ(ints.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lowp
