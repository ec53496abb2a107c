// Unit tests of the linear ops: Conv, ConvTranspose, ConvInteger, QLinearConv, Gemm, MatMul, MatMulInteger,
// QLinearMatMul and Einsum, through schema inference, kernel lookup and the reference kernels. Convolutions
// are checked against naive direct loops in double over random shapes (odd sizes, groups, strides,
// dilations, pads, auto_pad); the GEMM-based kernels against naive triple loops, exactly where the
// arithmetic is exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ir/op_schema.h"
#include "op_runner.h"

namespace lowp {
namespace {

using ir::AttributeMap;
using testing::elementAsDouble;
using testing::makeTensor;
using testing::OpRun;
using testing::runOp;

Result<std::vector<Tensor>> run(const std::string& op, std::vector<Tensor> inputs, AttributeMap attrs = {},
                                int64_t opset = 21) {
  OpRun r;
  r.opType = op;
  r.inputs = std::move(inputs);
  r.attributes = std::move(attrs);
  r.opset = opset;
  return runOp(r);
}

using lowp::testing::attrs;

using lowp::testing::values;

using lowp::testing::count;

/// A tensor of uniform random values in [lo, hi] (integers when `integral`).
Tensor randomTensor(std::mt19937& rng, DataType type, std::vector<int64_t> shape, double lo = -1,
                    double hi = 1, bool integral = false) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(static_cast<size_t>(count(shape)));
  for (double& x : v) x = integral ? std::round(dist(rng)) : dist(rng);
  return makeTensor(type, std::move(shape), v);
}

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

void expectExact(const Tensor& actual, const std::vector<double>& expected, const std::string& what) {
  expectClose(actual, expected, 0.0, what);
}

// ---- Naive convolutions ----------------------------------------------------------------------------------

struct ConvGeometry {
  std::vector<int64_t> x;  ///< [N, C, spatial...]
  std::vector<int64_t> w;  ///< Conv: [M, C/group, k...]; ConvTranspose: [C, M/group, k...]
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, padsBegin, padsEnd;
  std::vector<int64_t> out;  ///< Output spatial sizes.
};

// Visits every multi-index of `sizes` in row-major order.
template <typename F>
void forEachIndex(const std::vector<int64_t>& sizes, F&& f) {
  const int64_t total = count(sizes);
  std::vector<int64_t> idx(sizes.size(), 0);
  for (int64_t i = 0; i < total; ++i) {
    f(idx);
    for (size_t d = sizes.size(); d-- > 0;) {
      if (++idx[d] < sizes[d]) break;
      idx[d] = 0;
    }
  }
}

int64_t flatIndex(const std::vector<int64_t>& sizes, const std::vector<int64_t>& idx) {
  int64_t f = 0;
  for (size_t d = 0; d < sizes.size(); ++d) f = f * sizes[d] + idx[d];
  return f;
}

std::vector<double> naiveConv(const ConvGeometry& g, const std::vector<double>& x,
                              const std::vector<double>& w, const std::vector<double>& bias) {
  const int64_t n = g.x[0], c = g.x[1], m = g.w[0];
  const int64_t cg = c / g.group, mg = m / g.group;
  const std::vector<int64_t> in(g.x.begin() + 2, g.x.end());
  const std::vector<int64_t> kernel(g.w.begin() + 2, g.w.end());
  const int64_t inSize = count(in), outSize = count(g.out), taps = count(kernel);
  std::vector<double> y(static_cast<size_t>(n * m * outSize), 0.0);
  std::vector<int64_t> i(in.size());
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t oc = 0; oc < m; ++oc) {
      const int64_t grp = oc / mg;
      forEachIndex(g.out, [&](const std::vector<int64_t>& o) {
        double sum = bias.empty() ? 0.0 : bias[static_cast<size_t>(oc)];
        for (int64_t ic = 0; ic < cg; ++ic) {
          forEachIndex(kernel, [&](const std::vector<int64_t>& k) {
            for (size_t d = 0; d < in.size(); ++d) {
              i[d] = o[d] * g.strides[d] - g.padsBegin[d] + k[d] * g.dilations[d];
              if (i[d] < 0 || i[d] >= in[d]) return;
            }
            sum += x[static_cast<size_t>((b * c + grp * cg + ic) * inSize + flatIndex(in, i))] *
                   w[static_cast<size_t>((oc * cg + ic) * taps + flatIndex(kernel, k))];
          });
        }
        y[static_cast<size_t>((b * m + oc) * outSize + flatIndex(g.out, o))] = sum;
      });
    }
  }
  return y;
}

std::vector<double> naiveConvTranspose(const ConvGeometry& g, const std::vector<double>& x,
                                       const std::vector<double>& w, const std::vector<double>& bias) {
  const int64_t n = g.x[0], c = g.x[1], mg = g.w[1];
  const int64_t m = mg * g.group, cg = c / g.group;
  const std::vector<int64_t> in(g.x.begin() + 2, g.x.end());
  const std::vector<int64_t> kernel(g.w.begin() + 2, g.w.end());
  const int64_t inSize = count(in), outSize = count(g.out), taps = count(kernel);
  std::vector<double> y(static_cast<size_t>(n * m * outSize), 0.0);
  std::vector<int64_t> o(in.size());
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t oc = 0; oc < m; ++oc) {
      for (int64_t p = 0; p < outSize; ++p) {
        y[static_cast<size_t>((b * m + oc) * outSize + p)] =
            bias.empty() ? 0.0 : bias[static_cast<size_t>(oc)];
      }
    }
    for (int64_t ic = 0; ic < c; ++ic) {
      const int64_t grp = ic / cg;
      forEachIndex(in, [&](const std::vector<int64_t>& i) {
        const double xv = x[static_cast<size_t>((b * c + ic) * inSize + flatIndex(in, i))];
        for (int64_t om = 0; om < mg; ++om) {
          forEachIndex(kernel, [&](const std::vector<int64_t>& k) {
            for (size_t d = 0; d < in.size(); ++d) {
              o[d] = i[d] * g.strides[d] - g.padsBegin[d] + k[d] * g.dilations[d];
              if (o[d] < 0 || o[d] >= g.out[d]) return;
            }
            const int64_t oc = grp * mg + om;
            y[static_cast<size_t>((b * m + oc) * outSize + flatIndex(g.out, o))] +=
                xv * w[static_cast<size_t>((ic * mg + om) * taps + flatIndex(kernel, k))];
          });
        }
      });
    }
  }
  return y;
}

// A random convolution: rank 1-3, odd sizes, groups (depthwise included), strides, dilations, pads.
ConvGeometry randomConv(std::mt19937& rng, int rank, bool transposed) {
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  ConvGeometry g;
  const int64_t group = std::vector<int64_t>{1, 1, 2, 3}[static_cast<size_t>(pick(0, 3))];
  const int64_t cg = pick(1, 4);
  const int64_t mg = pick(1, 5);
  const bool depthwise = !transposed && pick(0, 4) == 0;
  g.group = depthwise ? pick(2, 6) : group;
  const int64_t c = depthwise ? g.group : cg * g.group;
  const int64_t m = depthwise ? g.group * pick(1, 2) : mg * g.group;
  g.x = {pick(1, 2), c};
  g.w = transposed ? std::vector<int64_t>{c, m / g.group} : std::vector<int64_t>{m, c / g.group};
  const int64_t maxSize = rank == 3 ? 6 : (rank == 2 ? 13 : 40);
  for (int d = 0; d < rank; ++d) {
    const int64_t k = pick(1, rank == 3 ? 2 : 3);
    const int64_t stride = pick(1, 3);
    const int64_t dilation = pick(1, 2);
    const int64_t extent = dilation * (k - 1) + 1;
    const int64_t in = pick(std::max<int64_t>(1, extent - 1), maxSize);
    const int64_t pb = pick(0, std::min<int64_t>(2, extent - 1));
    // ConvTranspose: pads together below the kernel extent, so even a 1-pixel input has an output.
    const int64_t pe = pick(0, std::min<int64_t>(2, transposed ? extent - 1 - pb : extent - 1));
    g.x.push_back(transposed ? std::min<int64_t>(in, 7) : std::max(in, extent - pb - pe));
    g.w.push_back(k);
    g.strides.push_back(stride);
    g.dilations.push_back(dilation);
    g.padsBegin.push_back(pb);
    g.padsEnd.push_back(pe);
  }
  return g;
}

AttributeMap windowAttrs(const ConvGeometry& g) {
  std::vector<int64_t> pads = g.padsBegin;
  pads.insert(pads.end(), g.padsEnd.begin(), g.padsEnd.end());
  return attrs({{"group", g.group}, {"strides", g.strides}, {"dilations", g.dilations}, {"pads", pads}});
}

TEST(Conv, MatchesNaiveOnRandomShapes) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    const int rank = 1 + trial % 3;
    ConvGeometry g = randomConv(rng, rank, false);
    for (size_t d = 0; d < g.strides.size(); ++d) {
      const int64_t span = g.x[d + 2] + g.padsBegin[d] + g.padsEnd[d] - g.dilations[d] * (g.w[d + 2] - 1) - 1;
      g.out.push_back(span / g.strides[d] + 1);
    }
    const bool withBias = trial % 2 == 0;
    Tensor x = randomTensor(rng, DataType::kFloat32, g.x);
    Tensor w = randomTensor(rng, DataType::kFloat32, g.w);
    Tensor b = randomTensor(rng, DataType::kFloat32, {g.w[0]});
    std::vector<Tensor> inputs = {x, w};
    if (withBias) inputs.push_back(b);
    auto out = run("Conv", inputs, windowAttrs(g));
    const std::string what = "trial " + std::to_string(trial) + " x " + ir::formatSizes(g.x) + " w " +
                             ir::formatSizes(g.w) + " group " + std::to_string(g.group);
    ASSERT_TRUE(out) << what << ": " << out.status().toString();
    std::vector<int64_t> expectShape = {g.x[0], g.w[0]};
    expectShape.insert(expectShape.end(), g.out.begin(), g.out.end());
    EXPECT_EQ((*out)[0].shape(), expectShape) << what;
    expectClose((*out)[0], naiveConv(g, values(x), values(w), withBias ? values(b) : std::vector<double>{}),
                1e-5, what);
  }
}

TEST(Conv, LargeEnoughForEveryBlockPath) {
  // 3x3 and 1x1 convolutions whose outputs span several pixel blocks and row tiles, with tails.
  std::mt19937 rng(11);
  for (int64_t k : {1, 3}) {
    ConvGeometry g;
    g.x = {1, 19, 23, 29};
    g.w = {70, 19, k, k};
    g.strides = {1, 1};
    g.dilations = {1, 1};
    g.padsBegin = {k / 2, k / 2};
    g.padsEnd = {k / 2, k / 2};
    g.out = {23, 29};
    Tensor x = randomTensor(rng, DataType::kFloat32, g.x);
    Tensor w = randomTensor(rng, DataType::kFloat32, g.w);
    Tensor b = randomTensor(rng, DataType::kFloat32, {70});
    auto out = run("Conv", {x, w, b}, windowAttrs(g));
    ASSERT_TRUE(out) << out.status().toString();
    expectClose((*out)[0], naiveConv(g, values(x), values(w), values(b)), 1e-5, "k=" + std::to_string(k));
  }
}

TEST(Conv, AutoPadModes) {
  std::mt19937 rng(3);
  struct Case {
    std::string autoPad;
    int64_t in, k, stride, dilation;
  };
  const Case cases[] = {{"SAME_UPPER", 7, 3, 2, 1}, {"SAME_LOWER", 7, 4, 2, 1}, {"SAME_UPPER", 8, 2, 3, 2},
                        {"SAME_LOWER", 5, 2, 1, 1}, {"VALID", 9, 3, 2, 2},      {"NOTSET", 6, 3, 1, 1}};
  for (const Case& c : cases) {
    ConvGeometry g;
    g.x = {1, 2, c.in, c.in + 1};
    g.w = {3, 2, c.k, c.k};
    g.strides = {c.stride, c.stride};
    g.dilations = {c.dilation, c.dilation};
    for (int64_t in : {c.in, c.in + 1}) {
      const int64_t extent = c.dilation * (c.k - 1) + 1;
      int64_t out = 0, pb = 0, pe = 0;
      if (c.autoPad == "SAME_UPPER" || c.autoPad == "SAME_LOWER") {
        out = (in + c.stride - 1) / c.stride;
        const int64_t total = std::max<int64_t>(0, (out - 1) * c.stride + extent - in);
        pb = c.autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
        pe = total - pb;
      } else {
        out = (in - extent) / c.stride + 1;
      }
      g.out.push_back(out);
      g.padsBegin.push_back(pb);
      g.padsEnd.push_back(pe);
    }
    Tensor x = randomTensor(rng, DataType::kFloat32, g.x);
    Tensor w = randomTensor(rng, DataType::kFloat32, g.w);
    auto out = run("Conv", {x, w},
                   attrs({{"auto_pad", c.autoPad}, {"strides", g.strides}, {"dilations", g.dilations}}));
    ASSERT_TRUE(out) << c.autoPad << ": " << out.status().toString();
    expectClose((*out)[0], naiveConv(g, values(x), values(w), {}), 1e-5, c.autoPad);
  }
}

TEST(Conv, ReducedAndDoubleTypes) {
  std::mt19937 rng(5);
  ConvGeometry g;
  g.x = {1, 4, 6, 5};
  g.w = {6, 2, 3, 3};
  g.group = 2;
  g.strides = {1, 2};
  g.dilations = {1, 1};
  g.padsBegin = {1, 0};
  g.padsEnd = {1, 1};
  g.out = {6, 2};
  for (DataType t : {DataType::kFloat64, DataType::kFloat16, DataType::kBFloat16}) {
    Tensor x = randomTensor(rng, t, g.x);
    Tensor w = randomTensor(rng, t, g.w);
    Tensor b = randomTensor(rng, t, {6});
    auto out = run("Conv", {x, w, b}, windowAttrs(g));
    ASSERT_TRUE(out) << out.status().toString();
    EXPECT_EQ((*out)[0].type(), t);
    const double tol = t == DataType::kFloat64 ? 1e-12 : (t == DataType::kFloat16 ? 2e-3 : 1e-2);
    expectClose((*out)[0], naiveConv(g, values(x), values(w), values(b)), tol,
                ir::dataTypeInfo(t).onnxName.data());
  }
}

TEST(Conv, EmptyBatchAndErrors) {
  auto out =
      run("Conv", {Tensor(DataType::kFloat32, {0, 2, 5, 5}), Tensor(DataType::kFloat32, {3, 2, 3, 3})});
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{0, 3, 3, 3}));

  auto channels =
      run("Conv", {Tensor(DataType::kFloat32, {1, 3, 5, 5}), Tensor(DataType::kFloat32, {3, 2, 3, 3})});
  ASSERT_FALSE(channels);
  EXPECT_EQ(channels.status().code(), StatusCode::kInvalidArgument);
  auto autoPad =
      run("Conv", {Tensor(DataType::kFloat32, {1, 2, 5, 5}), Tensor(DataType::kFloat32, {3, 2, 3, 3})},
          attrs({{"auto_pad", std::string("SAME")}}));
  ASSERT_FALSE(autoPad);
  EXPECT_NE(autoPad.status().message().find("auto_pad"), std::string::npos);
  auto tooSmall =
      run("Conv", {Tensor(DataType::kFloat32, {1, 2, 2, 2}), Tensor(DataType::kFloat32, {3, 2, 3, 3})});
  EXPECT_FALSE(tooSmall);
  auto strides =
      run("Conv", {Tensor(DataType::kFloat32, {1, 2, 5, 5}), Tensor(DataType::kFloat32, {3, 2, 3, 3})},
          attrs({{"strides", std::vector<int64_t>{1}}}));
  EXPECT_FALSE(strides);
}

TEST(Conv, InfersSymbolicShapes) {
  ir::Node node;
  node.opType = "Conv";
  node.name = "conv";
  node.outputs.resize(1);
  node.attributes.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  node.attributes.set("strides", std::vector<int64_t>{2, 2});
  std::vector<ir::InferInput> inputs(2);
  inputs[0] = {true, DataType::kFloat32, ir::Shape({ir::Dim::symbolic("batch"), 3, ir::Dim(), 224}), nullptr};
  inputs[1] = {true, DataType::kFloat32, ir::Shape::fromSizes({8, 3, 3, 3}), nullptr};
  auto result = ir::inferNode(node, inputs);
  ASSERT_TRUE(result) << result.status().toString();
  EXPECT_EQ((*result)[0].second.toString(), "[batchx8x?x112]");

  inputs[0].shape = ir::Shape::unknownRank();
  result = ir::inferNode(node, inputs);
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)[0].second.rank(), 4);
}

// ---- ConvTranspose ---------------------------------------------------------------------------------------

TEST(ConvTranspose, MatchesNaiveOnRandomShapes) {
  std::mt19937 rng(9);
  for (int trial = 0; trial < 45; ++trial) {
    const int rank = 1 + trial % 3;
    ConvGeometry g = randomConv(rng, rank, true);
    std::vector<int64_t> outputPadding;
    for (size_t d = 0; d < g.strides.size(); ++d) {
      const int64_t op =
          std::uniform_int_distribution<int64_t>(0, std::max(g.strides[d], g.dilations[d]) - 1)(rng);
      outputPadding.push_back(op);
      g.out.push_back(g.strides[d] * (g.x[d + 2] - 1) + op + g.dilations[d] * (g.w[d + 2] - 1) + 1 -
                      g.padsBegin[d] - g.padsEnd[d]);
    }
    const bool withBias = trial % 2 == 1;
    Tensor x = randomTensor(rng, DataType::kFloat32, g.x);
    Tensor w = randomTensor(rng, DataType::kFloat32, g.w);
    Tensor b = randomTensor(rng, DataType::kFloat32, {g.w[1] * g.group});
    std::vector<Tensor> inputs = {x, w};
    if (withBias) inputs.push_back(b);
    AttributeMap a = windowAttrs(g);
    a.set("output_padding", outputPadding);
    auto out = run("ConvTranspose", inputs, a);
    const std::string what = "trial " + std::to_string(trial) + " x " + ir::formatSizes(g.x) + " w " +
                             ir::formatSizes(g.w) + " group " + std::to_string(g.group);
    ASSERT_TRUE(out) << what << ": " << out.status().toString();
    std::vector<int64_t> expectShape = {g.x[0], g.w[1] * g.group};
    expectShape.insert(expectShape.end(), g.out.begin(), g.out.end());
    EXPECT_EQ((*out)[0].shape(), expectShape) << what;
    expectClose((*out)[0],
                naiveConvTranspose(g, values(x), values(w), withBias ? values(b) : std::vector<double>{}),
                1e-5, what);
  }
}

TEST(ConvTranspose, OutputShapeAndAutoPad) {
  std::mt19937 rng(4);
  ConvGeometry g;
  g.x = {1, 2, 3, 3};
  g.w = {2, 3, 3, 3};
  g.strides = {3, 2};
  g.dilations = {1, 1};
  Tensor x = randomTensor(rng, DataType::kFloat32, g.x);
  Tensor w = randomTensor(rng, DataType::kFloat32, g.w);
  // output_shape [10, 8]: total padding s*(in-1) + k - out = -1 on both axes; the extra row and column are
  // at the end (they get no contribution).
  g.out = {10, 8};
  g.padsBegin = {0, 0};
  auto out = run("ConvTranspose", {x, w},
                 attrs({{"strides", g.strides}, {"output_shape", std::vector<int64_t>{10, 8}}}));
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{1, 3, 10, 8}));
  expectClose((*out)[0], naiveConvTranspose(g, values(x), values(w), {}), 1e-5, "output_shape");
  // SAME_UPPER: output = in * stride; total padding 0 and 1, the odd element at the end.
  g.out = {9, 6};
  out =
      run("ConvTranspose", {x, w}, attrs({{"strides", g.strides}, {"auto_pad", std::string("SAME_UPPER")}}));
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{1, 3, 9, 6}));
  expectClose((*out)[0], naiveConvTranspose(g, values(x), values(w), {}), 1e-5, "SAME_UPPER");
}

// ---- ConvInteger -----------------------------------------------------------------------------------------

TEST(ConvInteger, ZeroPointsAndPadding) {
  std::mt19937 rng(12);
  ConvGeometry g;
  g.x = {1, 3, 5, 6};
  g.w = {4, 3, 2, 3};
  g.strides = {1, 2};
  g.dilations = {1, 1};
  g.padsBegin = {1, 1};
  g.padsEnd = {0, 1};
  g.out = {5, 3};
  Tensor x = randomTensor(rng, DataType::kUInt8, g.x, 0, 255, true);
  Tensor w = randomTensor(rng, DataType::kInt8, g.w, -128, 127, true);
  Tensor xzp = makeTensor(DataType::kUInt8, {}, {17});
  Tensor wzp = makeTensor(DataType::kInt8, {4}, {-3, 0, 5, 127});
  std::vector<double> xs = values(x), ws = values(w);
  for (double& v : xs) v -= 17;
  const std::vector<double> wz = values(wzp);
  for (size_t i = 0; i < ws.size(); ++i) ws[i] -= wz[i / 18];
  auto out = run("ConvInteger", {x, w, xzp, wzp}, windowAttrs(g));
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].type(), DataType::kInt32);
  expectExact((*out)[0], naiveConv(g, xs, ws, {}), "ConvInteger");
}

// ---- Gemm ------------------------------------------------------------------------------------------------

std::vector<double> naiveMatMul(const std::vector<double>& a, const std::vector<double>& b, int64_t m,
                                int64_t n, int64_t k) {
  std::vector<double> c(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t q = 0; q < k; ++q)
        s += a[static_cast<size_t>(i * k + q)] * b[static_cast<size_t>(q * n + j)];
      c[static_cast<size_t>(i * n + j)] = s;
    }
  }
  return c;
}

std::vector<double> transpose(const std::vector<double>& v, int64_t rows, int64_t cols) {
  std::vector<double> t(v.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c)
      t[static_cast<size_t>(c * rows + r)] = v[static_cast<size_t>(r * cols + c)];
  }
  return t;
}

TEST(Gemm, TransposesScalesAndBroadcastsC) {
  std::mt19937 rng(21);
  const int64_t m = 37, n = 45, k = 70;
  const std::vector<std::vector<int64_t>> cShapes = {{}, {1}, {n}, {m, 1}, {m, n}, {1, n}};
  int trial = 0;
  for (int transA = 0; transA < 2; ++transA) {
    for (int transB = 0; transB < 2; ++transB) {
      for (const auto& cShape : cShapes) {
        Tensor a = randomTensor(rng, DataType::kFloat32,
                                transA ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k});
        Tensor b = randomTensor(rng, DataType::kFloat32,
                                transB ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n});
        Tensor c = randomTensor(rng, DataType::kFloat32, cShape);
        const bool withC = trial++ % 5 != 0;
        std::vector<Tensor> inputs = {a, b};
        if (withC) inputs.push_back(c);
        auto out = run("Gemm", inputs,
                       attrs({{"alpha", 0.5f},
                              {"beta", -2.0f},
                              {"transA", int64_t{transA}},
                              {"transB", int64_t{transB}}}));
        ASSERT_TRUE(out) << out.status().toString();
        std::vector<double> av = values(a), bv = values(b);
        if (transA) av = transpose(av, k, m);
        if (transB) bv = transpose(bv, n, k);
        std::vector<double> expected = naiveMatMul(av, bv, m, n, k);
        const std::vector<double> cv = values(c);
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            double& e = expected[static_cast<size_t>(i * n + j)];
            e *= 0.5;
            if (!withC) continue;
            int64_t ci = 0;
            if (cShape.size() == 1) ci = cShape[0] == 1 ? 0 : j;
            if (cShape.size() == 2) ci = (cShape[0] == 1 ? 0 : i) * cShape[1] + (cShape[1] == 1 ? 0 : j);
            e += -2.0 * cv[static_cast<size_t>(ci)];
          }
        }
        expectClose((*out)[0], expected, 1e-5,
                    "transA " + std::to_string(transA) + " transB " + std::to_string(transB));
      }
    }
  }
}

TEST(Gemm, IntegerIsExactAndErrorsAreClear) {
  std::mt19937 rng(2);
  Tensor a = randomTensor(rng, DataType::kInt32, {5, 7}, -100, 100, true);
  Tensor b = randomTensor(rng, DataType::kInt32, {7, 3}, -100, 100, true);
  Tensor c = randomTensor(rng, DataType::kInt32, {3}, -100, 100, true);
  auto out = run("Gemm", {a, b, c});
  ASSERT_TRUE(out) << out.status().toString();
  std::vector<double> expected = naiveMatMul(values(a), values(b), 5, 3, 7);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += values(c)[i % 3];
  expectExact((*out)[0], expected, "int32 Gemm");

  auto bad = run("Gemm", {Tensor(DataType::kFloat32, {2, 3}), Tensor(DataType::kFloat32, {4, 5})});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  auto badC = run("Gemm", {Tensor(DataType::kFloat32, {2, 3}), Tensor(DataType::kFloat32, {3, 5}),
                           Tensor(DataType::kFloat32, {3, 5})});
  EXPECT_FALSE(badC);
}

// ---- MatMul ----------------------------------------------------------------------------------------------

// numpy.matmul in double for shapes of rank >= 1.
std::vector<double> naiveBatchedMatMul(const Tensor& a, const Tensor& b, std::vector<int64_t>& outShape) {
  std::vector<int64_t> as = a.shape(), bs = b.shape();
  const bool aVec = as.size() == 1, bVec = bs.size() == 1;
  if (aVec) as.insert(as.begin(), 1);
  if (bVec) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  const size_t batchRank = std::max(as.size(), bs.size()) - 2;
  std::vector<int64_t> batch(batchRank);
  auto dimOf = [&](const std::vector<int64_t>& s, size_t i) {
    const size_t r = s.size() - 2;
    return i + r >= batchRank ? s[i + r - batchRank] : int64_t{1};
  };
  for (size_t i = 0; i < batchRank; ++i) batch[i] = std::max(dimOf(as, i), dimOf(bs, i));
  outShape = batch;
  if (!aVec) outShape.push_back(m);
  if (!bVec) outShape.push_back(n);
  const std::vector<double> av = values(a), bv = values(b);
  std::vector<double> out;
  forEachIndex(batch, [&](const std::vector<int64_t>& idx) {
    int64_t ao = 0, bo = 0;
    for (size_t i = 0; i < batchRank; ++i) {
      if (i + as.size() - 2 >= batchRank) ao = ao * dimOf(as, i) + (dimOf(as, i) == 1 ? 0 : idx[i]);
      if (i + bs.size() - 2 >= batchRank) bo = bo * dimOf(bs, i) + (dimOf(bs, i) == 1 ? 0 : idx[i]);
    }
    std::vector<double> am(av.begin() + ao * m * k, av.begin() + (ao + 1) * m * k);
    std::vector<double> bm(bv.begin() + bo * k * n, bv.begin() + (bo + 1) * k * n);
    std::vector<double> cm = naiveMatMul(am, bm, m, n, k);
    out.insert(out.end(), cm.begin(), cm.end());
  });
  return out;
}

TEST(MatMul, BroadcastsBatchesAndVectors) {
  std::mt19937 rng(8);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> cases = {
      {{7}, {7}},
      {{7}, {7, 5}},
      {{3, 7}, {7}},
      {{2, 3, 7}, {7}},
      {{7}, {4, 7, 5}},
      {{2, 1, 3, 7}, {4, 7, 5}},
      {{70, 130}, {130, 67}},
      {{1, 3, 7}, {2, 7, 1}},
      {{3, 0}, {0, 4}},
      {{2, 0, 3}, {3, 5}},
  };
  for (const auto& [as, bs] : cases) {
    Tensor a = randomTensor(rng, DataType::kFloat32, as);
    Tensor b = randomTensor(rng, DataType::kFloat32, bs);
    auto out = run("MatMul", {a, b});
    const std::string what = ir::formatSizes(as) + " x " + ir::formatSizes(bs);
    ASSERT_TRUE(out) << what << ": " << out.status().toString();
    std::vector<int64_t> shape;
    std::vector<double> expected = naiveBatchedMatMul(a, b, shape);
    EXPECT_EQ((*out)[0].shape(), shape) << what;
    expectClose((*out)[0], expected, 1e-5, what);
  }
}

TEST(MatMul, IntegerAndReducedTypes) {
  std::mt19937 rng(13);
  for (DataType t : {DataType::kInt32, DataType::kInt64, DataType::kUInt32, DataType::kUInt64,
                     DataType::kFloat64, DataType::kFloat16, DataType::kBFloat16}) {
    const bool integral = !ir::isFloat(t);
    const double lo = t == DataType::kUInt32 || t == DataType::kUInt64 ? 0 : -50;
    Tensor a = randomTensor(rng, t, {2, 9, 33}, integral ? lo : -1, integral ? 50 : 1, integral);
    Tensor b = randomTensor(rng, t, {33, 35}, integral ? lo : -1, integral ? 50 : 1, integral);
    auto out = run("MatMul", {a, b});
    ASSERT_TRUE(out) << out.status().toString();
    EXPECT_EQ((*out)[0].type(), t);
    std::vector<int64_t> shape;
    const double tol = integral || t == DataType::kFloat64 ? 1e-12 : (t == DataType::kFloat16 ? 2e-3 : 1e-2);
    expectClose((*out)[0], naiveBatchedMatMul(a, b, shape), tol, ir::dataTypeInfo(t).onnxName.data());
  }
}

TEST(MatMul, RejectsMismatchedShapes) {
  auto bad = run("MatMul", {Tensor(DataType::kFloat32, {2, 3}), Tensor(DataType::kFloat32, {4, 5})});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  auto batch = run("MatMul", {Tensor(DataType::kFloat32, {2, 2, 3}), Tensor(DataType::kFloat32, {3, 3, 5})});
  EXPECT_FALSE(batch);
  auto types = run("MatMul", {Tensor(DataType::kFloat32, {2, 3}), Tensor(DataType::kFloat64, {3, 5})});
  EXPECT_FALSE(types);
}

// ---- MatMulInteger ---------------------------------------------------------------------------------------

TEST(MatMulInteger, ScalarRowAndColumnZeroPoints) {
  std::mt19937 rng(17);
  Tensor a = randomTensor(rng, DataType::kUInt8, {2, 4, 6}, 0, 255, true);
  Tensor b = randomTensor(rng, DataType::kInt8, {6, 3}, -128, 127, true);
  std::vector<double> av = values(a), bv = values(b);
  // No zero points.
  auto plain = run("MatMulInteger", {a, b});
  ASSERT_TRUE(plain) << plain.status().toString();
  std::vector<int64_t> shape;
  expectExact((*plain)[0], naiveBatchedMatMul(a, b, shape), "no zero points");
  // Per-row zero point of A ([M]) and per-column zero point of B ([N]).
  Tensor azp = makeTensor(DataType::kUInt8, {4}, {1, 2, 3, 200});
  Tensor bzp = makeTensor(DataType::kInt8, {3}, {-1, 0, 7});
  auto out = run("MatMulInteger", {a, b, azp, bzp});
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].type(), DataType::kInt32);
  for (size_t i = 0; i < av.size(); ++i) av[i] -= values(azp)[(i / 6) % 4];
  for (size_t i = 0; i < bv.size(); ++i) bv[i] -= values(bzp)[i % 3];
  std::vector<double> expected;
  for (int64_t batch = 0; batch < 2; ++batch) {
    std::vector<double> am(av.begin() + batch * 24, av.begin() + (batch + 1) * 24);
    std::vector<double> cm = naiveMatMul(am, bv, 4, 3, 6);
    expected.insert(expected.end(), cm.begin(), cm.end());
  }
  expectExact((*out)[0], expected, "zero points");
  // Scalar zero points.
  auto scalar = run("MatMulInteger",
                    {a, b, makeTensor(DataType::kUInt8, {}, {128}), makeTensor(DataType::kInt8, {}, {-5})});
  ASSERT_TRUE(scalar) << scalar.status().toString();
  av = values(a);
  bv = values(b);
  for (double& v : av) v -= 128;
  for (double& v : bv) v += 5;
  expected.clear();
  for (int64_t batch = 0; batch < 2; ++batch) {
    std::vector<double> am(av.begin() + batch * 24, av.begin() + (batch + 1) * 24);
    std::vector<double> cm = naiveMatMul(am, bv, 4, 3, 6);
    expected.insert(expected.end(), cm.begin(), cm.end());
  }
  expectExact((*scalar)[0], expected, "scalar zero points");
}

// ---- QLinearConv, QLinearMatMul --------------------------------------------------------------------------

// saturate(round_half_even(acc * (aScale * bScale / yScale) + yZero)), the scale product in float.
double requantized(double acc, float aScale, float bScale, float yScale, double yZero, bool isSigned) {
  const float scale = aScale * bScale / yScale;
  const double v = acc * static_cast<double>(scale) + yZero;
  return std::nearbyint(std::clamp(v, isSigned ? -128.0 : 0.0, isSigned ? 127.0 : 255.0));
}

TEST(QLinearMatMul, RequantizesPerTensorAndPerColumn) {
  std::mt19937 rng(29);
  Tensor a = randomTensor(rng, DataType::kUInt8, {2, 3, 5}, 0, 255, true);
  Tensor b = randomTensor(rng, DataType::kUInt8, {5, 4}, 0, 255, true);
  const Tensor aScale = makeTensor(DataType::kFloat32, {}, {0.02});
  const Tensor aZero = makeTensor(DataType::kUInt8, {}, {120});
  const Tensor bScale = makeTensor(DataType::kFloat32, {4}, {0.01, 0.03, 0.002, 0.05});
  const Tensor bZero = makeTensor(DataType::kUInt8, {4}, {128, 100, 0, 255});
  const Tensor yScale = makeTensor(DataType::kFloat32, {}, {0.4});
  const Tensor yZero = makeTensor(DataType::kUInt8, {}, {130});
  auto out = run("QLinearMatMul", {a, aScale, aZero, b, bScale, bZero, yScale, yZero});
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].type(), DataType::kUInt8);
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{2, 3, 4}));
  std::vector<double> av = values(a), bv = values(b);
  for (double& v : av) v -= 120;
  for (size_t i = 0; i < bv.size(); ++i) bv[i] -= values(bZero)[i % 4];
  std::vector<double> expected;
  for (int64_t batch = 0; batch < 2; ++batch) {
    std::vector<double> am(av.begin() + batch * 15, av.begin() + (batch + 1) * 15);
    std::vector<double> cm = naiveMatMul(am, bv, 3, 4, 5);
    for (size_t i = 0; i < cm.size(); ++i) {
      expected.push_back(
          requantized(cm[i], 0.02f, static_cast<float>(values(bScale)[i % 4]), 0.4f, 130, false));
    }
  }
  expectExact((*out)[0], expected, "QLinearMatMul");
}

TEST(QLinearConv, PerChannelWeightsAndBias) {
  std::mt19937 rng(31);
  ConvGeometry g;
  g.x = {1, 2, 5, 5};
  g.w = {3, 2, 3, 3};
  g.strides = {1, 1};
  g.dilations = {1, 1};
  g.padsBegin = {1, 1};
  g.padsEnd = {1, 1};
  g.out = {5, 5};
  Tensor x = randomTensor(rng, DataType::kInt8, g.x, -128, 127, true);
  Tensor w = randomTensor(rng, DataType::kInt8, g.w, -128, 127, true);
  const Tensor xScale = makeTensor(DataType::kFloat32, {}, {0.05});
  const Tensor xZero = makeTensor(DataType::kInt8, {}, {-3});
  const Tensor wScale = makeTensor(DataType::kFloat32, {3}, {0.01, 0.002, 0.03});
  const Tensor wZero = makeTensor(DataType::kInt8, {3}, {0, 0, 0});
  const Tensor yScale = makeTensor(DataType::kFloat32, {}, {0.5});
  const Tensor yZero = makeTensor(DataType::kInt8, {}, {7});
  const Tensor bias = makeTensor(DataType::kInt32, {3}, {1000, -5000, 12});
  std::vector<Tensor> inputs = {x, xScale, xZero, w, wScale, wZero, yScale, yZero, bias};
  std::vector<int64_t> pads = {1, 1, 1, 1};
  auto out = run("QLinearConv", inputs, attrs({{"pads", pads}}));
  ASSERT_TRUE(out) << out.status().toString();
  EXPECT_EQ((*out)[0].type(), DataType::kInt8);
  std::vector<double> xs = values(x);
  for (double& v : xs) v += 3;
  const std::vector<double> acc = naiveConv(g, xs, values(w), values(bias));
  std::vector<double> expected;
  for (size_t i = 0; i < acc.size(); ++i) {
    const auto ws = static_cast<float>(values(wScale)[i / 25]);
    expected.push_back(requantized(acc[i], 0.05f, ws, 0.5f, 7, true));
  }
  expectExact((*out)[0], expected, "QLinearConv");
}

// ---- Einsum ----------------------------------------------------------------------------------------------

TEST(Einsum, CommonPatterns) {
  const Tensor m23 = makeTensor(DataType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor m34 = makeTensor(DataType::kFloat32, {3, 4}, {1, 0, 2, -1, 3, 1, 0, 2, -2, 1, 1, 0});
  const Tensor sq = makeTensor(DataType::kFloat32, {3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Tensor v3 = makeTensor(DataType::kFloat32, {3}, {1, -1, 2});
  const Tensor v2 = makeTensor(DataType::kFloat32, {2}, {3, 4});
  struct Case {
    std::string equation;
    std::vector<Tensor> inputs;
    std::vector<int64_t> shape;
    std::vector<double> expected;
  };
  const std::vector<double> product = naiveMatMul(values(m23), values(m34), 2, 4, 3);
  const std::vector<Case> cases = {
      {"ij,jk->ik", {m23, m34}, {2, 4}, product},
      {"ij,jk", {m23, m34}, {2, 4}, product},
      {"ij->ji", {m23}, {3, 2}, {1, 4, 2, 5, 3, 6}},
      {"ij", {m23}, {2, 3}, {1, 2, 3, 4, 5, 6}},
      {"ii->", {sq}, {}, {15}},
      {"ii->i", {sq}, {3}, {1, 5, 9}},
      {"ij->", {m23}, {}, {21}},
      {"ij->j", {m23}, {3}, {5, 7, 9}},
      {"i,j->ij", {v2, v3}, {2, 3}, {3, -3, 6, 4, -4, 8}},
      {"i,i", {v3, v3}, {}, {6}},
      {"ij,j->i", {m23, v3}, {2}, {5, 11}},
      {"...j,j->...", {m23, v3}, {2}, {5, 11}},
      {"i j , j k -> i k", {m23, m34}, {2, 4}, product},
  };
  for (const Case& c : cases) {
    auto out = run("Einsum", c.inputs, attrs({{"equation", c.equation}}));
    ASSERT_TRUE(out) << c.equation << ": " << out.status().toString();
    EXPECT_EQ((*out)[0].shape(), c.shape) << c.equation;
    expectClose((*out)[0], c.expected, 1e-6, c.equation);
  }
}

TEST(Einsum, BatchedWithEllipsisBroadcast) {
  std::mt19937 rng(23);
  Tensor a = randomTensor(rng, DataType::kFloat64, {2, 1, 3, 5});
  Tensor b = randomTensor(rng, DataType::kFloat64, {4, 5, 6});
  auto out = run("Einsum", {a, b}, attrs({{"equation", std::string("...ij,...jk->...ik")}}));
  ASSERT_TRUE(out) << out.status().toString();
  std::vector<int64_t> shape;
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{2, 4, 3, 6}));
  expectClose((*out)[0], naiveBatchedMatMul(a, b, shape), 1e-12, "ellipsis");
  // Batched matmul with letters, on integers.
  Tensor x = randomTensor(rng, DataType::kInt64, {3, 2, 4}, -9, 9, true);
  Tensor y = randomTensor(rng, DataType::kInt64, {3, 4, 5}, -9, 9, true);
  out = run("Einsum", {x, y}, attrs({{"equation", std::string("bij,bjk->bik")}}));
  ASSERT_TRUE(out) << out.status().toString();
  expectExact((*out)[0], naiveBatchedMatMul(x, y, shape), "bij,bjk->bik");
}

TEST(Einsum, RejectsBadEquations) {
  const Tensor m = Tensor(DataType::kFloat32, {2, 3});
  for (const std::string eq : {"ij,jk->ik", "ijk->i", "ij->k", "ij->ii", "i1->i", "ij->i.j"}) {
    auto out = run("Einsum", {m}, attrs({{"equation", eq}}));
    ASSERT_FALSE(out) << eq;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << eq;
  }
  auto sizes = run("Einsum", {m, m}, attrs({{"equation", std::string("ij,ij->i")}}));
  EXPECT_TRUE(sizes) << sizes.status().toString();
  auto mismatch = run("Einsum", {m, m}, attrs({{"equation", std::string("ij,ji->i")}}));
  EXPECT_FALSE(mismatch);
}

}  // namespace
}  // namespace lowp
