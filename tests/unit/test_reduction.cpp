// Unit tests of the reduction ops (Reduce*, ArgMax/ArgMin, CumSum/CumProd, TopK): shape inference with
// unknown and symbolic dims, and the reference kernels through the engine path (lowp::testing::runOp),
// including empty reductions, integer wrap-around, reduced floats, old-opset attribute spellings and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
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

const double kInf = std::numeric_limits<double>::infinity();

Tensor f32(std::vector<int64_t> shape, const std::vector<double>& values) {
  return makeTensor(DataType::kFloat32, std::move(shape), values);
}
Tensor i64(std::vector<int64_t> shape, const std::vector<double>& values) {
  return makeTensor(DataType::kInt64, std::move(shape), values);
}

using lowp::testing::attrs;

std::vector<double> valuesOf(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.elementCount(); ++i) v.push_back(elementAsDouble(t, i));
  return v;
}

/// Runs the op and expects success with output shapes and (approximately, relative 1e-5) values.
std::vector<Tensor> runOk(const OpRun& run) {
  auto result = runOp(run);
  EXPECT_TRUE(result.isOk()) << run.opType << ": " << result.status().toString();
  return result.isOk() ? std::move(result).value() : std::vector<Tensor>{};
}

void expectValues(const Tensor& t, const std::vector<int64_t>& shape, const std::vector<double>& expected,
                  double relTol = 1e-5) {
  EXPECT_EQ(t.shape(), shape);
  std::vector<double> got = valuesOf(t);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "element " << i;
    } else if (std::isinf(expected[i])) {
      EXPECT_EQ(got[i], expected[i]) << "element " << i;
    } else {
      EXPECT_NEAR(got[i], expected[i], relTol * std::max(1.0, std::abs(expected[i]))) << "element " << i;
    }
  }
}

/// An OpRun with the given inputs (in slot order), attributes, output count and opset.
OpRun opRun(std::string op, std::vector<Tensor> inputs, AttributeMap a = {}, int outputs = 1,
            int64_t opset = 21) {
  OpRun run;
  run.opType = std::move(op);
  run.inputs = std::move(inputs);
  run.attributes = std::move(a);
  run.outputCount = outputs;
  run.opset = opset;
  return run;
}

Status runStatus(const OpRun& run) {
  auto result = runOp(run);
  return result.isOk() ? Status::ok() : result.status();
}

// ---- Shape inference ----

ir::InferInput inputOf(DataType type, ir::Shape shape, const Tensor* value = nullptr) {
  return {.present = true, .type = type, .shape = std::move(shape), .value = value};
}

Result<std::vector<std::pair<DataType, ir::Shape>>> infer(const std::string& op, AttributeMap a,
                                                          std::vector<ir::InferInput> inputs,
                                                          int outputs = 1) {
  ir::Node node;
  node.opType = op;
  node.name = "n";
  node.opsetVersion = 21;
  node.attributes = std::move(a);
  node.outputs.resize(static_cast<size_t>(outputs), nullptr);
  return ir::inferNode(node, std::move(inputs));
}

TEST(ReductionInfer, KeepsSymbolicDimsAndDropsReducedOnes) {
  ir::Shape in({ir::Dim::symbolic("batch"), ir::Dim(3), ir::Dim(4)});
  Tensor axes = i64({1}, {-1});
  auto r =
      infer("ReduceMean", attrs({{"keepdims", int64_t{0}}}),
            {inputOf(DataType::kFloat32, in), inputOf(DataType::kInt64, ir::Shape::fromSizes({1}), &axes)});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ((*r)[0].first, DataType::kFloat32);
  EXPECT_EQ((*r)[0].second.toString(), ir::Shape({ir::Dim::symbolic("batch"), ir::Dim(3)}).toString());
}

TEST(ReductionInfer, UnknownAxesGiveUnknownDimsOrRank) {
  ir::Shape in = ir::Shape::fromSizes({2, 3});
  auto keep = infer("ReduceSum", {},
                    {inputOf(DataType::kFloat32, in), inputOf(DataType::kInt64, ir::Shape::fromSizes({1}))});
  ASSERT_TRUE(keep.isOk());
  EXPECT_EQ((*keep)[0].second.rank(), 2);
  EXPECT_FALSE((*keep)[0].second[0].isKnown());
  auto drop = infer("ReduceSum", attrs({{"keepdims", int64_t{0}}}),
                    {inputOf(DataType::kFloat32, in), inputOf(DataType::kInt64, ir::Shape::fromSizes({1}))});
  ASSERT_TRUE(drop.isOk());
  EXPECT_FALSE((*drop)[0].second.rankKnown());
  // A statically empty axes input with noop_with_empty_axes=1 is a no-op even without its value.
  auto noop = infer("ReduceSum", attrs({{"noop_with_empty_axes", int64_t{1}}, {"keepdims", int64_t{0}}}),
                    {inputOf(DataType::kFloat32, in), inputOf(DataType::kInt64, ir::Shape::fromSizes({0}))});
  ASSERT_TRUE(noop.isOk());
  EXPECT_EQ((*noop)[0].second, in);
}

TEST(ReductionInfer, RejectsBadAxesAndTypes) {
  ir::Shape in = ir::Shape::fromSizes({2, 3});
  Tensor out = i64({1}, {2});
  Tensor twice = i64({2}, {1, -1});
  auto a =
      infer("ReduceMax", {},
            {inputOf(DataType::kFloat32, in), inputOf(DataType::kInt64, ir::Shape::fromSizes({1}), &out)});
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  auto b =
      infer("ReduceMax", {},
            {inputOf(DataType::kFloat32, in), inputOf(DataType::kInt64, ir::Shape::fromSizes({2}), &twice)});
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  auto c = infer("ReduceSum", {}, {inputOf(DataType::kBool, in)});
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  auto d = infer("ArgMax", attrs({{"axis", int64_t{2}}}), {inputOf(DataType::kFloat32, in)});
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  auto e = infer("ReduceSum", {},
                 {inputOf(DataType::kFloat32, in), inputOf(DataType::kFloat32, ir::Shape::fromSizes({1}))});
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
}

TEST(ReductionInfer, UnknownRankStaysUnknown) {
  auto r = infer("ReduceL2", {}, {inputOf(DataType::kFloat32, ir::Shape::unknownRank())});
  ASSERT_TRUE(r.isOk());
  EXPECT_FALSE((*r)[0].second.rankKnown());
  auto t = infer("TopK", {},
                 {inputOf(DataType::kFloat32, ir::Shape::unknownRank()),
                  inputOf(DataType::kInt64, ir::Shape::fromSizes({1}))},
                 2);
  ASSERT_TRUE(t.isOk());
  EXPECT_EQ((*t)[1].first, DataType::kInt64);
  EXPECT_FALSE((*t)[1].second.rankKnown());
}

TEST(ReductionInfer, TopKUsesKWhenKnown) {
  ir::Shape in({ir::Dim::symbolic("n"), ir::Dim(10)});
  Tensor k = i64({1}, {4});
  auto r =
      infer("TopK", {},
            {inputOf(DataType::kFloat16, in), inputOf(DataType::kInt64, ir::Shape::fromSizes({1}), &k)}, 2);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ((*r)[0].first, DataType::kFloat16);
  EXPECT_EQ((*r)[0].second[1].size, 4);
  EXPECT_EQ((*r)[1].second[0].symbol, "n");
  Tensor big = i64({1}, {11});
  auto bad =
      infer("TopK", {},
            {inputOf(DataType::kFloat32, in), inputOf(DataType::kInt64, ir::Shape::fromSizes({1}), &big)}, 2);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(ReductionInfer, CumSumChecksAxis) {
  Tensor axis = i64({}, {3});
  auto r = infer("CumSum", {},
                 {inputOf(DataType::kFloat32, ir::Shape::fromSizes({2, 3})),
                  inputOf(DataType::kInt64, ir::Shape::fromSizes({}), &axis)});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

// ---- Reduce* kernels ----

// x = [[1, 2, 3], [4, 5, 6]] reduced over axis 1 and over everything, for every op.
TEST(ReduceKernels, EveryOpOverOneAxisAndAll) {
  struct Case {
    const char* op;
    std::vector<double> axis1;
    double all;
  };
  const double lse1 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double lse2 = std::log(std::exp(4.0) + std::exp(5.0) + std::exp(6.0));
  const Case cases[] = {
      {"ReduceSum", {6, 15}, 21},
      {"ReduceMean", {2, 5}, 3.5},
      {"ReduceMax", {3, 6}, 6},
      {"ReduceMin", {1, 4}, 1},
      {"ReduceProd", {6, 120}, 720},
      {"ReduceL1", {6, 15}, 21},
      {"ReduceL2", {std::sqrt(14.0), std::sqrt(77.0)}, std::sqrt(91.0)},
      {"ReduceLogSum", {std::log(6.0), std::log(15.0)}, std::log(21.0)},
      {"ReduceLogSumExp", {lse1, lse2}, std::log(std::exp(lse1) + std::exp(lse2))},
      {"ReduceSumSquare", {14, 77}, 91},
  };
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    auto kept = runOk(opRun(c.op, {x, i64({1}, {1})}));
    if (!kept.empty()) expectValues(kept[0], {2, 1}, c.axis1);
    auto dropped = runOk(opRun(c.op, {x, i64({1}, {-1})}, attrs({{"keepdims", int64_t{0}}})));
    if (!dropped.empty()) expectValues(dropped[0], {2}, c.axis1);
    auto all = runOk(opRun(c.op, {x}));
    if (!all.empty()) expectValues(all[0], {1, 1}, {c.all});
    auto allDropped = runOk(opRun(c.op, {x, i64({0}, {})}, attrs({{"keepdims", int64_t{0}}})));
    if (!allDropped.empty()) expectValues(allDropped[0], {}, {c.all});
  }
}

TEST(ReduceKernels, SeveralNonAdjacentAxes) {
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[static_cast<size_t>(i)] = i;
  // Shape [2, 3, 4], reduce axes 0 and 2: out[j] = sum over i, k of (12 i + 4 j + k).
  auto out = runOk(opRun("ReduceSum", {f32({2, 3, 4}, v), i64({2}, {2, 0})}));
  ASSERT_EQ(out.size(), 1u);
  expectValues(out[0], {1, 3, 1}, {60, 92, 124});
}

TEST(ReduceKernels, NoopWithEmptyAxesCopiesTheInput) {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  auto out = runOk(opRun("ReduceSum", {x, i64({0}, {})},
                         attrs({{"noop_with_empty_axes", int64_t{1}}, {"keepdims", int64_t{0}}}), 1, 13));
  ASSERT_EQ(out.size(), 1u);
  expectValues(out[0], {2, 2}, {1, 2, 3, 4});
}

TEST(ReduceKernels, EmptySetGivesTheIdentity) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::pair<const char*, double> cases[] = {
      {"ReduceSum", 0},           {"ReduceMean", nan},    {"ReduceMax", -kInf}, {"ReduceMin", kInf},
      {"ReduceProd", 1},          {"ReduceL1", 0},        {"ReduceL2", 0},      {"ReduceLogSum", -kInf},
      {"ReduceLogSumExp", -kInf}, {"ReduceSumSquare", 0},
  };
  Tensor x = f32({2, 0, 4}, {});
  for (const auto& [op, identity] : cases) {
    SCOPED_TRACE(op);
    auto out = runOk(opRun(op, {x, i64({1}, {1})}));
    if (!out.empty()) expectValues(out[0], {2, 1, 4}, std::vector<double>(8, identity));
    // Reducing a non-empty axis of an empty tensor gives an empty tensor.
    auto empty = runOk(opRun(op, {x, i64({1}, {2})}));
    if (!empty.empty()) expectValues(empty[0], {2, 0, 1}, {});
  }
  auto i32max = runOk(opRun("ReduceMax", {makeTensor(DataType::kInt32, {0}, {})}));
  ASSERT_EQ(i32max.size(), 1u);
  expectValues(i32max[0], {1}, {static_cast<double>(std::numeric_limits<int32_t>::lowest())});
}

TEST(ReduceKernels, OldOpsetAxesAttribute) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto out = runOk(
      opRun("ReduceMean", {x}, attrs({{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t{0}}}), 1, 11));
  ASSERT_EQ(out.size(), 1u);
  expectValues(out[0], {3}, {2.5, 3.5, 4.5});
}

TEST(ReduceKernels, IntegerArithmeticWrapsAndTruncates) {
  Tensor big = makeTensor(DataType::kInt32, {2}, {2147483647, 1});
  auto sum = runOk(opRun("ReduceSum", {big}));
  ASSERT_EQ(sum.size(), 1u);
  expectValues(sum[0], {1}, {-2147483648.0});
  auto mean = runOk(opRun("ReduceMean", {makeTensor(DataType::kInt64, {4}, {-1, -2, -2, 0})}));
  ASSERT_EQ(mean.size(), 1u);
  expectValues(mean[0], {1}, {-1});  // -5 / 4 truncates toward zero
  auto l2 = runOk(opRun("ReduceL2", {makeTensor(DataType::kUInt32, {2}, {3, 5})}));
  ASSERT_EQ(l2.size(), 1u);
  expectValues(l2[0], {1}, {5});  // sqrt(34) = 5.83 truncates to 5
  auto l1 = runOk(opRun("ReduceL1", {makeTensor(DataType::kInt64, {3}, {-3, 4, -5})}));
  ASSERT_EQ(l1.size(), 1u);
  expectValues(l1[0], {1}, {12});
}

TEST(ReduceKernels, MaxMinOnSmallIntegersAndBool) {
  auto i8 = runOk(opRun("ReduceMin", {makeTensor(DataType::kInt8, {3}, {5, -128, 7})}));
  ASSERT_EQ(i8.size(), 1u);
  EXPECT_EQ(i8[0].type(), DataType::kInt8);
  expectValues(i8[0], {1}, {-128});
  auto u8 = runOk(opRun("ReduceMax", {makeTensor(DataType::kUInt8, {3}, {5, 255, 7})}));
  ASSERT_EQ(u8.size(), 1u);
  expectValues(u8[0], {1}, {255});
  Tensor b = makeTensor(DataType::kBool, {3, 2}, {1, 1, 1, 0, 0, 0});
  auto bmax = runOk(opRun("ReduceMax", {b, i64({1}, {1})}));
  ASSERT_EQ(bmax.size(), 1u);
  expectValues(bmax[0], {3, 1}, {1, 1, 0});
  auto bmin = runOk(opRun("ReduceMin", {b, i64({1}, {1})}));
  ASSERT_EQ(bmin.size(), 1u);
  expectValues(bmin[0], {3, 1}, {1, 0, 0});
}

TEST(ReduceKernels, ReducedFloatsAccumulateInFloat) {
  // 2048 + 1 + 1 + ... is not representable step by step in fp16; a float accumulator gets 2048 + 16.
  std::vector<double> v(17, 1.0);
  v[0] = 2048;
  for (DataType t : {DataType::kFloat16, DataType::kBFloat16}) {
    auto out = runOk(opRun("ReduceSum", {makeTensor(t, {17}, v)}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].type(), t);
    expectValues(out[0], {1}, {2064});
  }
  auto d = runOk(opRun("ReduceLogSumExp", {makeTensor(DataType::kFloat64, {2}, {1000, 1000})}));
  ASSERT_EQ(d.size(), 1u);
  expectValues(d[0], {1}, {1000 + std::log(2.0)}, 1e-12);
}

TEST(ReduceKernels, NanPropagatesThroughMaxAndMin) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = f32({3}, {1, nan, 3});
  for (const char* op : {"ReduceMax", "ReduceMin", "ReduceLogSumExp"}) {
    auto out = runOk(opRun(op, {x}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(std::isnan(elementAsDouble(out[0], 0))) << op;
  }
}

TEST(ReduceKernels, RejectsBadAxes) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(runStatus(opRun("ReduceSum", {x, i64({1}, {2})})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runStatus(opRun("ReduceSum", {x, i64({2}, {0, -2})})).code(), StatusCode::kInvalidArgument);
  Status s = runStatus(opRun("ReduceSum", {x, i64({1}, {-3})}));
  EXPECT_NE(s.message().find("ReduceSum"), std::string::npos) << s.toString();
}

// ---- ArgMax / ArgMin ----

TEST(ArgReduceKernels, AxesKeepdimsAndSelectLastIndex) {
  Tensor x = f32({2, 3}, {2, 7, 7, 5, 1, 5});
  auto first = runOk(opRun("ArgMax", {x}, attrs({{"axis", int64_t{1}}})));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].type(), DataType::kInt64);
  expectValues(first[0], {2, 1}, {1, 0});
  auto last = runOk(
      opRun("ArgMax", {x},
            attrs({{"axis", int64_t{-1}}, {"keepdims", int64_t{0}}, {"select_last_index", int64_t{1}}})));
  ASSERT_EQ(last.size(), 1u);
  expectValues(last[0], {2}, {2, 2});
  auto min0 = runOk(opRun("ArgMin", {x}));
  ASSERT_EQ(min0.size(), 1u);
  expectValues(min0[0], {1, 3}, {0, 1, 1});
}

TEST(ArgReduceKernels, IntegerAndReducedFloatTypes) {
  for (DataType t :
       {DataType::kUInt8, DataType::kInt16, DataType::kUInt64, DataType::kFloat16, DataType::kBFloat16}) {
    auto out = runOk(opRun("ArgMin", {makeTensor(t, {4}, {9, 3, 8, 3})}));
    ASSERT_EQ(out.size(), 1u);
    expectValues(out[0], {1}, {1});
  }
}

TEST(ArgReduceKernels, NanWinsAndEmptyAxisIsAnError) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto out = runOk(opRun("ArgMax", {f32({4}, {1, nan, 5, nan})}));
  ASSERT_EQ(out.size(), 1u);
  expectValues(out[0], {1}, {1});
  EXPECT_EQ(runStatus(opRun("ArgMax", {f32({2, 0}, {})}, attrs({{"axis", int64_t{1}}}))).code(),
            StatusCode::kInvalidArgument);
  auto empty = runOk(opRun("ArgMax", {f32({2, 0}, {})}));
  ASSERT_EQ(empty.size(), 1u);
  expectValues(empty[0], {1, 0}, {});
}

// ---- CumSum / CumProd ----

TEST(CumulativeKernels, ExclusiveAndReverse) {
  Tensor x = makeTensor(DataType::kFloat64, {5}, {1, 2, 3, 4, 5});
  Tensor axis = makeTensor(DataType::kInt32, {}, {0});
  struct Case {
    const char* op;
    int64_t exclusive, reverse;
    std::vector<double> expected;
  };
  const Case cases[] = {
      {"CumSum", 0, 0, {1, 3, 6, 10, 15}},      {"CumSum", 1, 0, {0, 1, 3, 6, 10}},
      {"CumSum", 0, 1, {15, 14, 12, 9, 5}},     {"CumSum", 1, 1, {14, 12, 9, 5, 0}},
      {"CumProd", 0, 0, {1, 2, 6, 24, 120}},    {"CumProd", 1, 0, {1, 1, 2, 6, 24}},
      {"CumProd", 0, 1, {120, 120, 60, 20, 5}}, {"CumProd", 1, 1, {120, 60, 20, 5, 1}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.op) + " exclusive=" + std::to_string(c.exclusive) +
                 " reverse=" + std::to_string(c.reverse));
    auto out =
        runOk(opRun(c.op, {x, axis}, attrs({{"exclusive", c.exclusive}, {"reverse", c.reverse}}), 1, 26));
    if (!out.empty()) expectValues(out[0], {5}, c.expected);
  }
}

TEST(CumulativeKernels, InnerAxisIntegersAndEmpty) {
  Tensor x = makeTensor(DataType::kInt32, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto rows = runOk(opRun("CumSum", {x, i64({1}, {-1})}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].type(), DataType::kInt32);
  expectValues(rows[0], {2, 3}, {1, 3, 6, 4, 9, 15});
  auto cols = runOk(opRun("CumProd", {x, i64({}, {0})}, {}, 1, 26));
  ASSERT_EQ(cols.size(), 1u);
  expectValues(cols[0], {2, 3}, {1, 2, 3, 4, 10, 18});
  auto empty = runOk(opRun("CumSum", {f32({0, 3}, {}), i64({}, {1})}));
  ASSERT_EQ(empty.size(), 1u);
  expectValues(empty[0], {0, 3}, {});
  EXPECT_EQ(runStatus(opRun("CumSum", {x, i64({}, {2})})).code(), StatusCode::kInvalidArgument);
}

// ---- TopK ----

TEST(TopKKernels, LargestSmallestAndTies) {
  Tensor x = f32({2, 4}, {1, 9, 9, 3, 4, 4, 0, 4});
  auto largest = runOk(opRun("TopK", {x, i64({1}, {3})}, attrs({{"axis", int64_t{1}}}), 2));
  ASSERT_EQ(largest.size(), 2u);
  expectValues(largest[0], {2, 3}, {9, 9, 3, 4, 4, 4});
  expectValues(largest[1], {2, 3}, {1, 2, 3, 0, 1, 3});
  auto smallest = runOk(opRun("TopK", {x, i64({1}, {2})}, attrs({{"largest", int64_t{0}}}), 2));
  ASSERT_EQ(smallest.size(), 2u);
  expectValues(smallest[0], {2, 2}, {1, 3, 0, 4});
  expectValues(smallest[1], {2, 2}, {0, 3, 2, 0});
}

TEST(TopKKernels, OuterAxisIntegerTypesAndZeroK) {
  Tensor x = makeTensor(DataType::kUInt64, {3, 2}, {5, 1, 7, 0, 6, 2});
  auto out = runOk(opRun("TopK", {x, i64({1}, {2})}, attrs({{"axis", int64_t{0}}}), 2));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type(), DataType::kUInt64);
  expectValues(out[0], {2, 2}, {7, 2, 6, 1});
  expectValues(out[1], {2, 2}, {1, 2, 2, 0});
  auto none = runOk(opRun("TopK", {x, i64({1}, {0})}, {}, 2));
  ASSERT_EQ(none.size(), 2u);
  expectValues(none[0], {3, 0}, {});
}

TEST(TopKKernels, OpsetOneAttributeKAndBadK) {
  Tensor x = f32({5}, {3, 1, 4, 1, 5});
  auto out = runOk(opRun("TopK", {x}, attrs({{"k", int64_t{2}}}), 2, 1));
  ASSERT_EQ(out.size(), 2u);
  expectValues(out[0], {2}, {5, 4});
  expectValues(out[1], {2}, {4, 2});
  EXPECT_EQ(runStatus(opRun("TopK", {x, i64({1}, {6})}, {}, 2)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runStatus(opRun("TopK", {x, i64({1}, {-1})}, {}, 2)).code(), StatusCode::kInvalidArgument);
}

TEST(TopKKernels, NanRanksAboveNumbers) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = f32({4}, {2, nan, 8, 1});
  auto top = runOk(opRun("TopK", {x, i64({1}, {2})}, {}, 2));
  ASSERT_EQ(top.size(), 2u);
  expectValues(top[1], {2}, {1, 2});
  auto bottom = runOk(opRun("TopK", {x, i64({1}, {4})}, attrs({{"largest", int64_t{0}}}), 2));
  ASSERT_EQ(bottom.size(), 2u);
  expectValues(bottom[1], {4}, {3, 0, 2, 1});
}

}  // namespace
}  // namespace lowp
