// Unit tests of the elementwise ops: type and shape inference (with symbolic dims), and the reference
// kernels run through the engine's path (runOp): every type class, broadcasting, the parallel path,
// zero-sized tensors, integer edge cases (wrap-around, division by zero) and the error cases.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/numeric.h"
#include "ir/op_schema.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

using ir::AttributeMap;
using ir::Dim;
using ir::Shape;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
const Shape kScalar{std::vector<Dim>{}};

/// Runs an op with one output and returns it; fails the test on error.
Tensor run1(const std::string& op, std::vector<Tensor> inputs, AttributeMap attrs = {}, int64_t opset = 21) {
  OpRun r{.opType = op, .attributes = std::move(attrs), .inputs = std::move(inputs), .opset = opset};
  auto out = runOp(r);
  EXPECT_TRUE(out.isOk()) << op << ": " << out.status().toString();
  if (!out.isOk() || out->empty()) return {};
  return (*out)[0];
}

/// The error running the op gives (OK when it unexpectedly succeeds).
Status runError(const std::string& op, std::vector<Tensor> inputs, AttributeMap attrs = {},
                int64_t opset = 21) {
  OpRun r{.opType = op, .attributes = std::move(attrs), .inputs = std::move(inputs), .opset = opset};
  auto out = runOp(r);
  return out.isOk() ? Status() : out.status();
}

void expectValues(const Tensor& t, DataType type, const std::vector<int64_t>& shape,
                  const std::vector<double>& expected, double tol = 0.0) {
  EXPECT_EQ(t.type(), type);
  EXPECT_EQ(t.shape(), shape);
  ASSERT_EQ(t.elementCount(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    double got = elementAsDouble(t, static_cast<int64_t>(i));
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(got)) << "element " << i;
    } else if (std::isinf(expected[i])) {
      EXPECT_EQ(got, expected[i]) << "element " << i;
    } else {
      EXPECT_NEAR(got, expected[i], tol) << "element " << i;
    }
  }
}

Tensor f32(std::vector<int64_t> shape, const std::vector<double>& v) {
  return makeTensor(DataType::kFloat32, std::move(shape), v);
}

using lowp::testing::attrs;

// ---- Inference -----------------------------------------------------------------------------------------

Result<std::vector<std::pair<DataType, Shape>>> infer(const std::string& op,
                                                      const std::vector<std::pair<DataType, Shape>>& inputs,
                                                      AttributeMap attributes = {}, int64_t opset = 21) {
  ir::Node node;
  node.opType = op;
  node.name = "n";
  node.opsetVersion = opset;
  node.attributes = std::move(attributes);
  ir::Value out;
  node.outputs.push_back(&out);
  std::vector<ir::InferInput> in;
  for (const auto& [type, shape] : inputs) {
    ir::InferInput i;
    i.present = type != DataType::kUndefined;
    i.type = type;
    i.shape = shape;
    in.push_back(i);
  }
  return ir::inferNode(node, std::move(in));
}

TEST(ElementwiseInfer, BroadcastKeepsSymbolicDims) {
  Shape x({Dim::symbolic("batch"), Dim(1), Dim(4)});
  auto r = infer("Add", {{DataType::kFloat32, x}, {DataType::kFloat32, Shape({Dim(3), Dim(1)})}});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ((*r)[0].first, DataType::kFloat32);
  EXPECT_EQ((*r)[0].second, Shape({Dim::symbolic("batch"), Dim(3), Dim(4)}));
}

TEST(ElementwiseInfer, ComparisonsGiveBool) {
  auto r = infer("Less", {{DataType::kInt32, Shape({Dim(2), Dim(3)})}, {DataType::kInt32, Shape({Dim(3)})}});
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ((*r)[0].first, DataType::kBool);
  EXPECT_EQ((*r)[0].second, Shape({Dim(2), Dim(3)}));
}

TEST(ElementwiseInfer, UnknownRankPropagates) {
  auto r = infer("Mul", {{DataType::kFloat32, Shape::unknownRank()}, {DataType::kFloat32, Shape({Dim(3)})}});
  ASSERT_TRUE(r.isOk());
  EXPECT_FALSE((*r)[0].second.rankKnown());
  auto u = infer("Relu", {{DataType::kFloat16, Shape::unknownRank()}});
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ((*u)[0].first, DataType::kFloat16);
  EXPECT_FALSE((*u)[0].second.rankKnown());
}

TEST(ElementwiseInfer, RejectsBadShapesAndTypes) {
  auto bad =
      infer("Add", {{DataType::kFloat32, Shape({Dim(2), Dim(3)})}, {DataType::kFloat32, Shape({Dim(4)})}});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("Add 'n'"), std::string::npos) << bad.status().message();
  auto mixed = infer("Add", {{DataType::kFloat32, Shape({Dim(3)})}, {DataType::kInt32, Shape({Dim(3)})}});
  EXPECT_EQ(mixed.status().code(), StatusCode::kInvalidArgument);
  auto expInt = infer("Exp", {{DataType::kInt32, Shape({Dim(3)})}});
  EXPECT_EQ(expInt.status().code(), StatusCode::kInvalidArgument);
  auto andFloat = infer("And", {{DataType::kFloat32, kScalar}, {DataType::kFloat32, kScalar}});
  EXPECT_EQ(andFloat.status().code(), StatusCode::kInvalidArgument);
  // ONNX allows string equality; lowp does not store strings.
  auto str = infer("Equal", {{DataType::kString, Shape({Dim(2)})}, {DataType::kString, Shape({Dim(2)})}});
  EXPECT_EQ(str.status().code(), StatusCode::kUnsupported);
}

TEST(ElementwiseInfer, PowAllowsMixedTypes) {
  auto r = infer("Pow", {{DataType::kInt64, Shape({Dim(3)})}, {DataType::kFloat32, kScalar}});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ((*r)[0].first, DataType::kInt64);
  EXPECT_EQ((*r)[0].second, Shape({Dim(3)}));
}

TEST(ElementwiseInfer, PReluSlopeMustBroadcastToX) {
  Shape x({Dim::symbolic("n"), Dim(3), Dim(4), Dim(4)});
  auto ok = infer("PRelu", {{DataType::kFloat32, x}, {DataType::kFloat32, Shape({Dim(3), Dim(1), Dim(1)})}});
  ASSERT_TRUE(ok.isOk()) << ok.status().toString();
  EXPECT_EQ((*ok)[0].second, x);
  auto bad = infer("PRelu", {{DataType::kFloat32, x}, {DataType::kFloat32, Shape({Dim(5)})}});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  // The slope may not add dimensions: the output has X's shape.
  auto wider =
      infer("PRelu", {{DataType::kFloat32, Shape({Dim(3)})}, {DataType::kFloat32, Shape({Dim(2), Dim(3)})}});
  EXPECT_EQ(wider.status().code(), StatusCode::kInvalidArgument);
}

TEST(ElementwiseInfer, WhereBroadcastsAllThree) {
  auto r = infer("Where", {{DataType::kBool, Shape({Dim(2), Dim(1)})},
                           {DataType::kFloat8E4M3FN, Shape({Dim(1), Dim(3)})},
                           {DataType::kFloat8E4M3FN, kScalar}});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ((*r)[0].first, DataType::kFloat8E4M3FN);
  EXPECT_EQ((*r)[0].second, Shape({Dim(2), Dim(3)}));
  auto cond = infer(
      "Where", {{DataType::kInt32, kScalar}, {DataType::kFloat32, kScalar}, {DataType::kFloat32, kScalar}});
  EXPECT_EQ(cond.status().code(), StatusCode::kInvalidArgument);
}

TEST(ElementwiseInfer, ChecksAttributeValues) {
  auto shape = std::vector<std::pair<DataType, Shape>>{{DataType::kUInt8, Shape({Dim(2)})},
                                                       {DataType::kUInt8, Shape({Dim(2)})}};
  EXPECT_EQ(infer("BitShift", shape, attrs({{"direction", std::string("UP")}})).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(infer("Mod", shape, attrs({{"fmod", int64_t{2}}})).status().code(), StatusCode::kInvalidArgument);
  auto floats = std::vector<std::pair<DataType, Shape>>{{DataType::kFloat32, Shape({Dim(2)})},
                                                        {DataType::kFloat32, Shape({Dim(2)})}};
  EXPECT_EQ(infer("Mod", floats).status().code(), StatusCode::kInvalidArgument);  // float needs fmod=1
  EXPECT_EQ(
      infer("Gelu", {{DataType::kFloat32, Shape({Dim(2)})}}, attrs({{"approximate", std::string("erf")}}))
          .status()
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(infer("Clip", {{DataType::kFloat32, Shape({Dim(2)})}, {DataType::kFloat32, Shape({Dim(2)})}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);  // min must be one value
}

// ---- Unary kernels -------------------------------------------------------------------------------------

TEST(ElementwiseUnary, MathMatchesStd) {
  struct Case {
    const char* op;
    double (*fn)(double);
    std::vector<double> in;
  };
  const std::vector<double> any = {-2.5, -1.0, -0.25, 0.0, 0.5, 1.0, 3.0};
  const std::vector<double> unit = {-0.9, -0.5, 0.0, 0.3, 0.99};
  const std::vector<double> positive = {0.01, 0.5, 1.0, 2.0, 100.0};
  const Case cases[] = {
      {"Exp", [](double x) { return std::exp(x); }, any},
      {"Log", [](double x) { return std::log(x); }, positive},
      {"Sqrt", [](double x) { return std::sqrt(x); }, positive},
      {"Reciprocal", [](double x) { return 1 / x; }, positive},
      {"Floor", [](double x) { return std::floor(x); }, any},
      {"Ceil", [](double x) { return std::ceil(x); }, any},
      {"Sin", [](double x) { return std::sin(x); }, any},
      {"Cos", [](double x) { return std::cos(x); }, any},
      {"Tan", [](double x) { return std::tan(x); }, unit},
      {"Asin", [](double x) { return std::asin(x); }, unit},
      {"Acos", [](double x) { return std::acos(x); }, unit},
      {"Atan", [](double x) { return std::atan(x); }, any},
      {"Sinh", [](double x) { return std::sinh(x); }, any},
      {"Cosh", [](double x) { return std::cosh(x); }, any},
      {"Tanh", [](double x) { return std::tanh(x); }, any},
      {"Asinh", [](double x) { return std::asinh(x); }, any},
      {"Acosh", [](double x) { return std::acosh(x); }, {1.0, 1.5, 10.0}},
      {"Atanh", [](double x) { return std::atanh(x); }, unit},
      {"Erf", [](double x) { return std::erf(x); }, any},
      {"Abs", [](double x) { return std::abs(x); }, any},
      {"Neg", [](double x) { return -x; }, any},
      {"Sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }, any},
      {"Softplus", [](double x) { return std::log(1 + std::exp(x)); }, any},
      {"Softsign", [](double x) { return x / (1 + std::abs(x)); }, any},
      {"HardSwish",
       [](double x) { return x * std::max(0.0, std::min(1.0, x / 6 + 0.5)); },
       {-4, -1, 0, 1, 4}},
      {"Mish", [](double x) { return x * std::tanh(std::log(1 + std::exp(x))); }, any},
      {"Relu", [](double x) { return std::max(x, 0.0); }, any},
  };
  for (const Case& c : cases) {
    for (DataType type : {DataType::kFloat32, DataType::kFloat64}) {
      std::vector<double> expected;
      for (double x : c.in) expected.push_back(c.fn(x));
      const auto n = static_cast<int64_t>(c.in.size());
      Tensor out = run1(c.op, {makeTensor(type, {n}, c.in)});
      SCOPED_TRACE(std::string(c.op) + (type == DataType::kFloat32 ? " fp32" : " fp64"));
      expectValues(out, type, {n}, expected, type == DataType::kFloat32 ? 1e-5 * 4 : 1e-12);
    }
  }
}

TEST(ElementwiseUnary, ReducedFloatsComputeInFloatAndRoundOnce) {
  // sqrt(2) in float, rounded once to fp16 / bf16.
  Tensor h = run1("Sqrt", {makeTensor(DataType::kFloat16, {1}, {2.0})});
  EXPECT_EQ(h.type(), DataType::kFloat16);
  EXPECT_EQ(h.data<uint16_t>()[0], ir::floatToFloat16(std::sqrt(2.0f)));
  Tensor b = run1("Exp", {makeTensor(DataType::kBFloat16, {1}, {1.0})});
  EXPECT_EQ(b.type(), DataType::kBFloat16);
  EXPECT_EQ(b.data<uint16_t>()[0], ir::floatToBFloat16(std::exp(1.0f)));
}

TEST(ElementwiseUnary, RoundHalfToEven) {
  Tensor out = run1("Round", {f32({8}, {0.5, 1.5, 2.5, -0.5, -1.5, 2.3, -2.7, 0.0})});
  expectValues(out, DataType::kFloat32, {8}, {0, 2, 2, -0.0, -2, 2, -3, 0});
}

TEST(ElementwiseUnary, NaNAndSign) {
  Tensor relu = run1("Relu", {f32({2}, {kNaN, -1})});
  expectValues(relu, DataType::kFloat32, {2}, {kNaN, 0});
  Tensor sign = run1("Sign", {f32({4}, {-3, 0, 2, kNaN})});
  expectValues(sign, DataType::kFloat32, {4}, {-1, 0, 1, kNaN});
  Tensor usign = run1("Sign", {makeTensor(DataType::kUInt8, {2}, {0, 7})});
  expectValues(usign, DataType::kUInt8, {2}, {0, 1});
}

TEST(ElementwiseUnary, IntegersWrapAtTheirLimits) {
  Tensor abs = run1("Abs", {makeTensor(DataType::kInt8, {3}, {-128, -5, 7})});
  expectValues(abs, DataType::kInt8, {3}, {-128, 5, 7});
  Tensor neg = run1("Neg", {makeTensor(DataType::kInt32, {2}, {-2147483648.0, 5})});
  expectValues(neg, DataType::kInt32, {2}, {-2147483648.0, -5});
  Tensor relu = run1("Relu", {makeTensor(DataType::kInt64, {3}, {-4, 0, 9})});
  expectValues(relu, DataType::kInt64, {3}, {0, 0, 9});
  Tensor bnot = run1("BitwiseNot", {makeTensor(DataType::kUInt8, {2}, {0, 0xF0})});
  expectValues(bnot, DataType::kUInt8, {2}, {255, 0x0F});
  Tensor inot = run1("BitwiseNot", {makeTensor(DataType::kInt16, {2}, {0, -1})});
  expectValues(inot, DataType::kInt16, {2}, {-1, 0});
}

TEST(ElementwiseUnary, Predicates) {
  Tensor nan = run1("IsNaN", {makeTensor(DataType::kFloat16, {3}, {1, kNaN, kInf})});
  expectValues(nan, DataType::kBool, {3}, {0, 1, 0});
  Tensor inf = run1("IsInf", {f32({4}, {1, kNaN, kInf, -kInf})});
  expectValues(inf, DataType::kBool, {4}, {0, 0, 1, 1});
  Tensor pos = run1("IsInf", {f32({2}, {kInf, -kInf})}, attrs({{"detect_negative", int64_t{0}}}));
  expectValues(pos, DataType::kBool, {2}, {1, 0});
  Tensor negOnly = run1("IsInf", {f32({2}, {kInf, -kInf})}, attrs({{"detect_positive", int64_t{0}}}));
  expectValues(negOnly, DataType::kBool, {2}, {0, 1});
  Tensor notOut = run1("Not", {makeTensor(DataType::kBool, {2}, {0, 1})});
  expectValues(notOut, DataType::kBool, {2}, {1, 0});
}

TEST(ElementwiseUnary, ActivationsWithAttributes) {
  const std::vector<double> x = {-2, -0.5, 0, 0.5, 2};
  auto map = [&](auto fn) {
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = fn(x[i]);
    return y;
  };
  const double tol = 1e-6;
  expectValues(run1("LeakyRelu", {f32({5}, x)}), DataType::kFloat32, {5},
               map([](double v) { return v < 0 ? 0.01 * v : v; }), tol);
  expectValues(run1("LeakyRelu", {f32({5}, x)}, attrs({{"alpha", 0.2f}})), DataType::kFloat32, {5},
               map([](double v) { return v < 0 ? 0.2 * v : v; }), tol);
  expectValues(run1("Elu", {f32({5}, x)}, attrs({{"alpha", 2.0f}})), DataType::kFloat32, {5},
               map([](double v) { return v < 0 ? 2 * (std::exp(v) - 1) : v; }), tol);
  expectValues(run1("Celu", {f32({5}, x)}, attrs({{"alpha", 2.0f}})), DataType::kFloat32, {5},
               map([](double v) { return std::max(0.0, v) + std::min(0.0, 2 * (std::exp(v / 2) - 1)); }),
               tol);
  expectValues(run1("Selu", {f32({5}, x)}), DataType::kFloat32, {5}, map([](double v) {
                 return 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * (std::exp(v) - 1));
               }),
               tol);
  expectValues(run1("HardSigmoid", {f32({5}, x)}, attrs({{"alpha", 0.5f}, {"beta", 0.6f}})),
               DataType::kFloat32, {5},
               map([](double v) { return std::max(0.0, std::min(1.0, 0.5 * v + 0.6)); }), tol);
  expectValues(run1("ThresholdedRelu", {f32({5}, x)}, attrs({{"alpha", 0.4f}})), DataType::kFloat32, {5},
               map([](double v) { return v > 0.4 ? v : 0; }), tol);
  expectValues(run1("Shrink", {f32({5}, x)}, attrs({{"lambd", 1.0f}, {"bias", 0.5f}})), DataType::kFloat32,
               {5}, map([](double v) { return v < -1 ? v + 0.5 : (v > 1 ? v - 0.5 : 0); }), tol);
  expectValues(
      run1("Shrink", {makeTensor(DataType::kInt32, {5}, {-3, -1, 0, 1, 3})}, attrs({{"bias", 1.0f}})),
      DataType::kInt32, {5}, {-2, 0, 0, 0, 2});
  expectValues(run1("Gelu", {f32({5}, x)}), DataType::kFloat32, {5},
               map([](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }), tol);
  expectValues(run1("Gelu", {f32({5}, x)}, attrs({{"approximate", std::string("tanh")}})), DataType::kFloat32,
               {5}, map([](double v) {
                 return 0.5 * v *
                        (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
               }),
               tol);
}

TEST(ElementwiseUnary, SoftplusAndSigmoidDoNotOverflow) {
  Tensor sp = run1("Softplus", {f32({2}, {100, -100})});
  expectValues(sp, DataType::kFloat32, {2}, {100, std::log1p(std::exp(-100.0))}, 1e-4);
  Tensor sg = run1("Sigmoid", {f32({2}, {-100, 100})});
  expectValues(sg, DataType::kFloat32, {2}, {1 / (1 + std::exp(100.0)), 1}, 1e-7);
}

TEST(ElementwiseUnary, ZeroSizedAndScalar) {
  Tensor empty = run1("Exp", {f32({0, 3}, {})});
  EXPECT_EQ(empty.shape(), (std::vector<int64_t>{0, 3}));
  Tensor scalar = run1("Neg", {f32({}, {2})});
  expectValues(scalar, DataType::kFloat32, {}, {-2});
}

TEST(ElementwiseUnary, RejectsTypesOutsideTheOp) {
  EXPECT_EQ(runError("Exp", {makeTensor(DataType::kInt32, {2}, {1, 2})}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runError("Not", {f32({2}, {1, 2})}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runError("Neg", {makeTensor(DataType::kUInt8, {2}, {1, 2})}).code(),
            StatusCode::kInvalidArgument);
}

// ---- Binary kernels ------------------------------------------------------------------------------------

TEST(ElementwiseBinary, ArithmeticBroadcasts) {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = f32({3}, {10, 20, 30});
  expectValues(run1("Add", {a, b}), DataType::kFloat32, {2, 3}, {11, 22, 33, 14, 25, 36});
  expectValues(run1("Sub", {a, b}), DataType::kFloat32, {2, 3}, {-9, -18, -27, -6, -15, -24});
  expectValues(run1("Mul", {a, b}), DataType::kFloat32, {2, 3}, {10, 40, 90, 40, 100, 180});
  expectValues(run1("Div", {b, a}), DataType::kFloat32, {2, 3}, {10, 10, 10, 2.5, 4, 5}, 1e-6);
  // [2,1] with [1,3]: both sides broadcast.
  Tensor col = f32({2, 1}, {1, 2});
  Tensor row = f32({1, 3}, {10, 20, 30});
  expectValues(run1("Add", {col, row}), DataType::kFloat32, {2, 3}, {11, 21, 31, 12, 22, 32});
  // A scalar with a vector.
  expectValues(run1("Mul", {f32({}, {2}), b}), DataType::kFloat32, {3}, {20, 40, 60});
}

TEST(ElementwiseBinary, ParallelBroadcastMatchesSerial) {
  // Large enough to split into several chunks, so the multi-index start of each chunk is exercised.
  const int64_t rows = 37;
  const int64_t cols = 1531;
  std::vector<double> av(static_cast<size_t>(rows * cols));
  std::vector<double> bv(static_cast<size_t>(cols));
  for (size_t i = 0; i < av.size(); ++i) av[i] = static_cast<double>(i % 1000) * 0.5;
  for (size_t i = 0; i < bv.size(); ++i) bv[i] = static_cast<double>(i);
  Tensor out = run1("Sub", {f32({rows, 1, cols}, av), f32({1, 1, cols}, bv)});
  ASSERT_EQ(out.shape(), (std::vector<int64_t>{rows, 1, cols}));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      size_t i = static_cast<size_t>(r * cols + c);
      ASSERT_EQ(out.data<float>()[i],
                static_cast<float>(av[i]) - static_cast<float>(bv[static_cast<size_t>(c)]));
    }
  }
  Tensor big = run1("Add", {f32({rows * cols}, av), f32({rows * cols}, av)});
  for (size_t i = 0; i < av.size(); ++i) ASSERT_EQ(big.data<float>()[i], static_cast<float>(2 * av[i]));
}

TEST(ElementwiseBinary, ZeroSizedBroadcast) {
  Tensor out = run1("Add", {f32({0, 3}, {}), f32({3}, {1, 2, 3})});
  EXPECT_EQ(out.shape(), (std::vector<int64_t>{0, 3}));
  Tensor cmp = run1("Less", {f32({2, 0}, {}), f32({1, 1}, {1})});
  EXPECT_EQ(cmp.type(), DataType::kBool);
  EXPECT_EQ(cmp.shape(), (std::vector<int64_t>{2, 0}));
}

TEST(ElementwiseBinary, IntegerArithmeticWraps) {
  expectValues(
      run1("Add", {makeTensor(DataType::kInt8, {2}, {127, -128}), makeTensor(DataType::kInt8, {2}, {1, -1})}),
      DataType::kInt8, {2}, {-128, 127});
  expectValues(
      run1("Mul", {makeTensor(DataType::kUInt16, {1}, {65535}), makeTensor(DataType::kUInt16, {1}, {65535})}),
      DataType::kUInt16, {1}, {1});
  expectValues(
      run1("Sub", {makeTensor(DataType::kUInt32, {1}, {0}), makeTensor(DataType::kUInt32, {1}, {1})}),
      DataType::kUInt32, {1}, {4294967295.0});
  Tensor big = makeTensor(DataType::kInt64, {1}, {});
  big.data<int64_t>()[0] = std::numeric_limits<int64_t>::max();
  Tensor sum = run1("Add", {big, makeTensor(DataType::kInt64, {1}, {1})});
  EXPECT_EQ(sum.data<int64_t>()[0], std::numeric_limits<int64_t>::min());
}

TEST(ElementwiseBinary, IntegerDivisionTruncates) {
  expectValues(run1("Div", {makeTensor(DataType::kInt32, {4}, {7, -7, 7, -7}),
                            makeTensor(DataType::kInt32, {4}, {2, 2, -2, -2})}),
               DataType::kInt32, {4}, {3, -3, -3, 3});
  // lowest / -1 wraps instead of trapping.
  expectValues(
      run1("Div", {makeTensor(DataType::kInt8, {1}, {-128}), makeTensor(DataType::kInt8, {1}, {-1})}),
      DataType::kInt8, {1}, {-128});
  Status zero =
      runError("Div", {makeTensor(DataType::kInt32, {2}, {1, 2}), makeTensor(DataType::kInt32, {2}, {1, 0})});
  EXPECT_EQ(zero.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(zero.message().find("division by zero"), std::string::npos) << zero.message();
  // Float division by zero is IEEE.
  expectValues(run1("Div", {f32({2}, {1, -1}), f32({2}, {0, 0})}), DataType::kFloat32, {2}, {kInf, -kInf});
}

TEST(ElementwiseBinary, ModFollowsDivisorOrDividendSign) {
  Tensor a = makeTensor(DataType::kInt32, {4}, {7, -7, 7, -7});
  Tensor b = makeTensor(DataType::kInt32, {4}, {3, 3, -3, -3});
  expectValues(run1("Mod", {a, b}), DataType::kInt32, {4}, {1, 2, -2, -1});
  expectValues(run1("Mod", {a, b}, attrs({{"fmod", int64_t{1}}})), DataType::kInt32, {4}, {1, -1, 1, -1});
  expectValues(
      run1("Mod", {f32({4}, {7, -7, 7, -7}), f32({4}, {3, 3, -3, -3})}, attrs({{"fmod", int64_t{1}}})),
      DataType::kFloat32, {4}, {1, -1, 1, -1});
  expectValues(
      run1("Mod", {makeTensor(DataType::kUInt8, {2}, {200, 7}), makeTensor(DataType::kUInt8, {1}, {6})}),
      DataType::kUInt8, {2}, {2, 1});
  expectValues(
      run1("Mod", {makeTensor(DataType::kInt16, {1}, {-32768}), makeTensor(DataType::kInt16, {1}, {-1})}),
      DataType::kInt16, {1}, {0});
  EXPECT_EQ(runError("Mod", {makeTensor(DataType::kInt64, {1}, {5}), makeTensor(DataType::kInt64, {1}, {0})})
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(ElementwiseBinary, PowMixedTypes) {
  expectValues(run1("Pow", {f32({3}, {1, 2, 3}), makeTensor(DataType::kInt32, {3}, {4, 5, 6})}),
               DataType::kFloat32, {3}, {1, 32, 729});
  expectValues(run1("Pow", {makeTensor(DataType::kInt32, {3}, {1, 2, 3}), f32({3}, {4, 5, 0.5})}),
               DataType::kInt32, {3}, {1, 32, 1});
  expectValues(run1("Pow", {makeTensor(DataType::kInt64, {5}, {2, 3, 1, -1, 2}),
                            makeTensor(DataType::kInt64, {5}, {10, 3, -5, -3, -1})}),
               DataType::kInt64, {5}, {1024, 27, 1, -1, 0});
  expectValues(run1("Pow", {f32({2, 2}, {1, 2, 3, 4}), f32({}, {2})}), DataType::kFloat32, {2, 2},
               {1, 4, 9, 16});
  expectValues(
      run1("Pow", {makeTensor(DataType::kFloat16, {2}, {3, 0.5}), makeTensor(DataType::kUInt64, {1}, {2})}),
      DataType::kFloat16, {2}, {9, 0.25});
}

TEST(ElementwiseBinary, BitwiseAndShifts) {
  Tensor a = makeTensor(DataType::kUInt8, {3}, {0xF0, 0x0F, 0xFF});
  Tensor b = makeTensor(DataType::kUInt8, {3}, {0xCC, 0xCC, 0x01});
  expectValues(run1("BitwiseAnd", {a, b}), DataType::kUInt8, {3}, {0xC0, 0x0C, 0x01});
  expectValues(run1("BitwiseOr", {a, b}), DataType::kUInt8, {3}, {0xFC, 0xCF, 0xFF});
  expectValues(run1("BitwiseXor", {a, b}), DataType::kUInt8, {3}, {0x3C, 0xC3, 0xFE});
  expectValues(run1("BitwiseAnd",
                    {makeTensor(DataType::kInt32, {2}, {-1, -2}), makeTensor(DataType::kInt32, {1}, {6})}),
               DataType::kInt32, {2}, {6, 6});
  Tensor x = makeTensor(DataType::kUInt8, {4}, {16, 4, 1, 255});
  Tensor s = makeTensor(DataType::kUInt8, {4}, {1, 2, 8, 7});
  expectValues(run1("BitShift", {x, s}, attrs({{"direction", std::string("LEFT")}})), DataType::kUInt8, {4},
               {32, 16, 0, 128});
  expectValues(run1("BitShift", {x, s}, attrs({{"direction", std::string("RIGHT")}})), DataType::kUInt8, {4},
               {8, 1, 0, 1});
  Tensor wide = makeTensor(DataType::kUInt64, {2}, {1, 1});
  Tensor shift = makeTensor(DataType::kUInt64, {2}, {63, 64});
  Tensor out = run1("BitShift", {wide, shift}, attrs({{"direction", std::string("LEFT")}}));
  EXPECT_EQ(out.data<uint64_t>()[0], uint64_t{1} << 63);
  EXPECT_EQ(out.data<uint64_t>()[1], 0u);
}

TEST(ElementwiseBinary, LogicAndComparisons) {
  Tensor a = makeTensor(DataType::kBool, {2, 2}, {0, 0, 1, 1});
  Tensor b = makeTensor(DataType::kBool, {2}, {0, 1});
  expectValues(run1("And", {a, b}), DataType::kBool, {2, 2}, {0, 0, 0, 1});
  expectValues(run1("Or", {a, b}), DataType::kBool, {2, 2}, {0, 1, 1, 1});
  expectValues(run1("Xor", {a, b}), DataType::kBool, {2, 2}, {0, 1, 1, 0});
  expectValues(run1("Equal", {a, b}), DataType::kBool, {2, 2}, {1, 0, 0, 1});
  Tensor x = f32({4}, {1, 2, 3, kNaN});
  Tensor y = f32({}, {2});
  expectValues(run1("Less", {x, y}), DataType::kBool, {4}, {1, 0, 0, 0});
  expectValues(run1("LessOrEqual", {x, y}), DataType::kBool, {4}, {1, 1, 0, 0});
  expectValues(run1("Greater", {x, y}), DataType::kBool, {4}, {0, 0, 1, 0});
  expectValues(run1("GreaterOrEqual", {x, y}), DataType::kBool, {4}, {0, 1, 1, 0});
  expectValues(run1("Equal", {x, y}), DataType::kBool, {4}, {0, 1, 0, 0});
  Tensor h = makeTensor(DataType::kFloat16, {2}, {1, 2});
  expectValues(run1("Greater", {h, makeTensor(DataType::kFloat16, {2}, {2, 1})}), DataType::kBool, {2},
               {0, 1});
  Tensor u = makeTensor(DataType::kUInt64, {2}, {0, 5});
  expectValues(run1("Less", {u, makeTensor(DataType::kUInt64, {2}, {1, 5})}), DataType::kBool, {2}, {1, 0});
}

TEST(ElementwiseBinary, PReluBroadcastsSlope) {
  Tensor x = f32({2, 2, 2}, {-1, 1, -2, 2, -3, 3, -4, 4});
  Tensor slope = f32({2, 1}, {0.5, 0.25});
  expectValues(run1("PRelu", {x, slope}), DataType::kFloat32, {2, 2, 2}, {-0.5, 1, -0.5, 2, -1.5, 3, -1, 4});
  expectValues(
      run1("PRelu", {makeTensor(DataType::kInt32, {3}, {-4, 0, 4}), makeTensor(DataType::kInt32, {1}, {3})}),
      DataType::kInt32, {3}, {-12, 0, 4});
}

TEST(ElementwiseBinary, RejectsShapeMismatch) {
  Status s = runError("Add", {f32({2, 3}, {}), f32({2}, {})});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runError("Sub", {f32({2}, {}), makeTensor(DataType::kInt32, {2}, {})}).code(),
            StatusCode::kInvalidArgument);
}

// ---- Variadic, Where, Clip -----------------------------------------------------------------------------

TEST(ElementwiseVariadic, SumMeanMaxMin) {
  Tensor a = f32({2, 2}, {1, 2, 3, 4});
  Tensor b = f32({2}, {10, 20});
  Tensor c = f32({}, {100});
  expectValues(run1("Sum", {a, b, c}), DataType::kFloat32, {2, 2}, {111, 122, 113, 124});
  expectValues(run1("Mean", {a, b, c}), DataType::kFloat32, {2, 2}, {37, 122.0 / 3, 113.0 / 3, 124.0 / 3},
               1e-5);
  expectValues(run1("Max", {a, f32({2, 1}, {2, 3})}), DataType::kFloat32, {2, 2}, {2, 2, 3, 4});
  expectValues(run1("Min", {a, f32({2, 1}, {2, 3})}), DataType::kFloat32, {2, 2}, {1, 2, 3, 3});
  expectValues(run1("Sum", {a}), DataType::kFloat32, {2, 2}, {1, 2, 3, 4});
  expectValues(run1("Max", {f32({3}, {1, kNaN, 3}), f32({3}, {kNaN, 2, 1})}), DataType::kFloat32, {3},
               {kNaN, kNaN, 3});
  expectValues(run1("Min", {makeTensor(DataType::kUInt32, {2}, {4000000000.0, 1}),
                            makeTensor(DataType::kUInt32, {2}, {3, 2})}),
               DataType::kUInt32, {2}, {3, 1});
  expectValues(
      run1("Max", {makeTensor(DataType::kInt8, {2}, {-128, 5}), makeTensor(DataType::kInt8, {2}, {-3, -7})}),
      DataType::kInt8, {2}, {-3, 5});
}

TEST(ElementwiseVariadic, HalfMeanRoundsOnce) {
  // fp16 steps by 2 and 4 here: rounding after each addition would give 2048, one rounding 2050.
  Tensor out =
      run1("Mean", {makeTensor(DataType::kFloat16, {1}, {2048}), makeTensor(DataType::kFloat16, {1}, {2050}),
                    makeTensor(DataType::kFloat16, {1}, {2050})});
  EXPECT_EQ(out.data<uint16_t>()[0], ir::floatToFloat16(6148.0f / 3.0f));
}

TEST(ElementwiseWhere, SelectsWithBroadcast) {
  Tensor cond = makeTensor(DataType::kBool, {2, 1}, {1, 0});
  Tensor x = makeTensor(DataType::kInt64, {3}, {1, 2, 3});
  Tensor y = makeTensor(DataType::kInt64, {}, {-1});
  expectValues(run1("Where", {cond, x, y}), DataType::kInt64, {2, 3}, {1, 2, 3, -1, -1, -1});
  Tensor hx = makeTensor(DataType::kFloat16, {2}, {0.5, 1.5});
  Tensor hy = makeTensor(DataType::kFloat16, {2}, {-0.5, -1.5});
  expectValues(run1("Where", {makeTensor(DataType::kBool, {2}, {0, 1}), hx, hy}), DataType::kFloat16, {2},
               {-0.5, 1.5});
  Tensor bx = makeTensor(DataType::kBool, {2}, {1, 1});
  Tensor by = makeTensor(DataType::kBool, {2}, {0, 0});
  expectValues(run1("Where", {makeTensor(DataType::kBool, {2}, {1, 0}), bx, by}), DataType::kBool, {2},
               {1, 0});
}

TEST(ElementwiseClip, BoundsFromInputs) {
  Tensor x = f32({5}, {-3, -1, 0, 1, 3});
  expectValues(run1("Clip", {x, f32({}, {-1}), f32({}, {2})}), DataType::kFloat32, {5}, {-1, -1, 0, 1, 2});
  expectValues(run1("Clip", {x, Tensor(), f32({1}, {0.5})}), DataType::kFloat32, {5}, {-3, -1, 0, 0.5, 0.5});
  expectValues(run1("Clip", {x, f32({}, {0})}), DataType::kFloat32, {5}, {0, 0, 0, 1, 3});
  expectValues(run1("Clip", {x}), DataType::kFloat32, {5}, {-3, -1, 0, 1, 3});
  // min > max: every element becomes max.
  expectValues(run1("Clip", {x, f32({}, {2}), f32({}, {1})}), DataType::kFloat32, {5}, {1, 1, 1, 1, 1});
  expectValues(run1("Clip", {f32({1}, {kNaN}), f32({}, {0}), f32({}, {1})}), DataType::kFloat32, {1}, {kNaN});
  Tensor i8 = makeTensor(DataType::kInt8, {3}, {-128, 0, 127});
  expectValues(run1("Clip", {i8, makeTensor(DataType::kInt8, {}, {-5})}), DataType::kInt8, {3}, {-5, 0, 127});
  EXPECT_EQ(runError("Clip", {x, makeTensor(DataType::kInt32, {}, {0})}).code(),
            StatusCode::kInvalidArgument);
}

TEST(ElementwiseClip, Opset6Attributes) {
  Tensor x = f32({4}, {-3, 0, 0.5, 9});
  expectValues(run1("Clip", {x}, attrs({{"min", 0.0f}, {"max", 6.0f}}), 6), DataType::kFloat32, {4},
               {0, 0, 0.5, 6});
  expectValues(run1("Clip", {x}, attrs({{"max", 0.25f}}), 6), DataType::kFloat32, {4}, {-3, 0, 0.25, 0.25});
}

}  // namespace
}  // namespace lowp::testing
