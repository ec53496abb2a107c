// Unit tests of Resize and Upsample: shape inference (constant and unknown scales / sizes, axes, aspect-ratio
// policies, symbolic dims, errors), the reference kernel in every mode and coordinate transformation (values
// checked against the ONNX reference implementation's), integer and FP16 data, zero-sized outputs, and the
// importer's rewrites of Resize-10 and Upsample-7.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_schema.h"
#include "kernel_under_test.h"
#include "onnx/op_importer.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

using ir::AttributeMap;
using ir::Dim;
using ir::Shape;

Tensor run1(const std::string& op, std::vector<Tensor> inputs, AttributeMap attrs = {}, int64_t opset = 19) {
  OpRun r{.opType = op, .attributes = std::move(attrs), .inputs = std::move(inputs), .opset = opset};
  auto out = runOp(r);
  EXPECT_TRUE(out.isOk()) << op << ": " << out.status().toString();
  if (!out.isOk() || out->empty()) return {};
  return (*out)[0];
}

Status runError(const std::string& op, std::vector<Tensor> inputs, AttributeMap attrs = {},
                int64_t opset = 19) {
  OpRun r{.opType = op, .attributes = std::move(attrs), .inputs = std::move(inputs), .opset = opset};
  auto out = runOp(r);
  return out.isOk() ? Status() : out.status();
}

using lowp::testing::attrs;

Tensor f32(std::vector<int64_t> shape, const std::vector<double>& v) {
  return makeTensor(DataType::kFloat32, std::move(shape), v);
}

Tensor i64(std::vector<int64_t> shape, const std::vector<double>& v) {
  return makeTensor(DataType::kInt64, std::move(shape), v);
}

const Tensor kNone;

void expectValues(const Tensor& t, DataType type, const std::vector<int64_t>& shape,
                  const std::vector<double>& expected, double tol = 1e-5) {
  EXPECT_EQ(t.type(), type);
  EXPECT_EQ(t.shape(), shape);
  ASSERT_EQ(t.elementCount(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(elementAsDouble(t, static_cast<int64_t>(i)), expected[i], tol) << "element " << i;
  }
}

// 4x4 ramp 1..16 as the ONNX conformance cases use.
Tensor ramp4x4() {
  std::vector<double> v(16);
  for (size_t i = 0; i < 16; ++i) v[i] = static_cast<double>(i + 1);
  return f32({1, 1, 4, 4}, v);
}

// ---- Inference -----------------------------------------------------------------------------------------

ir::InferInput known(DataType type, Shape shape, const Tensor* value = nullptr) {
  ir::InferInput i;
  i.present = true;
  i.type = type;
  i.shape = std::move(shape);
  i.value = value;
  return i;
}

Result<std::vector<std::pair<DataType, Shape>>> infer(const std::string& op,
                                                      std::vector<ir::InferInput> inputs,
                                                      AttributeMap attributes = {}, int64_t opset = 19) {
  ir::Node node;
  node.opType = op;
  node.name = "n";
  node.opsetVersion = opset;
  node.attributes = std::move(attributes);
  ir::Value out;
  node.outputs.push_back(&out);
  return ir::inferNode(node, std::move(inputs));
}

TEST(ResizeInfer, ConstantScalesGiveTheShapeAndKeepSymbolicDims) {
  const Tensor scales = f32({4}, {1, 1, 2, 0.6});
  const Shape x({Dim::symbolic("batch"), Dim(3), Dim(5), Dim(5)});
  auto r = infer("Resize",
                 {known(DataType::kFloat32, x), {}, known(DataType::kFloat32, Shape({Dim(4)}), &scales)});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ((*r)[0].first, DataType::kFloat32);
  EXPECT_EQ((*r)[0].second, Shape({Dim::symbolic("batch"), Dim(3), Dim(10), Dim(3)}));
}

TEST(ResizeInfer, SizesWithAxesAndAspectPolicies) {
  const Tensor sizes = i64({2}, {7, 8});
  const Shape x({Dim(1), Dim(1), Dim(2), Dim(2)});
  auto stretch =
      infer("Resize", {known(DataType::kUInt8, x), {}, {}, known(DataType::kInt64, Shape({Dim(2)}), &sizes)},
            attrs({{"axes", std::vector<int64_t>{-2, -1}}}));
  ASSERT_TRUE(stretch.isOk()) << stretch.status().toString();
  EXPECT_EQ((*stretch)[0].second, Shape({Dim(1), Dim(1), Dim(7), Dim(8)}));
  auto notLarger = infer(
      "Resize", {known(DataType::kFloat32, x), {}, {}, known(DataType::kInt64, Shape({Dim(2)}), &sizes)},
      attrs({{"axes", std::vector<int64_t>{2, 3}}, {"keep_aspect_ratio_policy", std::string("not_larger")}}));
  ASSERT_TRUE(notLarger.isOk());
  EXPECT_EQ((*notLarger)[0].second, Shape({Dim(1), Dim(1), Dim(7), Dim(7)}));
  auto notSmaller = infer(
      "Resize", {known(DataType::kFloat32, x), {}, {}, known(DataType::kInt64, Shape({Dim(2)}), &sizes)},
      attrs(
          {{"axes", std::vector<int64_t>{2, 3}}, {"keep_aspect_ratio_policy", std::string("not_smaller")}}));
  ASSERT_TRUE(notSmaller.isOk());
  EXPECT_EQ((*notSmaller)[0].second, Shape({Dim(1), Dim(1), Dim(8), Dim(8)}));
}

TEST(ResizeInfer, UnknownValuesLeaveResizedDimsUnknown) {
  const Shape x({Dim::symbolic("n"), Dim(3), Dim(8), Dim(8)});
  auto r = infer("Resize", {known(DataType::kFloat16, x), {}, known(DataType::kFloat32, Shape({Dim(2)}))},
                 attrs({{"axes", std::vector<int64_t>{2, 3}}}));
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ((*r)[0].second, Shape({Dim::symbolic("n"), Dim(3), Dim(), Dim()}));
  auto u = infer(
      "Resize",
      {known(DataType::kFloat32, Shape::unknownRank()), {}, known(DataType::kFloat32, Shape({Dim(4)}))});
  ASSERT_TRUE(u.isOk());
  EXPECT_FALSE((*u)[0].second.rankKnown());
  // An empty roi / scales tensor (opset 11 spelling) counts as absent.
  const Tensor empty = f32({0}, {});
  const Tensor sizes = i64({4}, {1, 1, 3, 3});
  auto e = infer(
      "Resize",
      {known(DataType::kFloat32, x), known(DataType::kFloat32, Shape({Dim(0)}), &empty),
       known(DataType::kFloat32, Shape({Dim(0)}), &empty), known(DataType::kInt64, Shape({Dim(4)}), &sizes)},
      {}, 11);
  ASSERT_TRUE(e.isOk()) << e.status().toString();
  EXPECT_EQ((*e)[0].second, Shape({Dim(1), Dim(1), Dim(3), Dim(3)}));
}

TEST(ResizeInfer, Errors) {
  const Shape x({Dim(1), Dim(1), Dim(2), Dim(2)});
  const Tensor scales = f32({4}, {1, 1, 2, 2});
  const Tensor shortScales = f32({3}, {1, 2, 2});
  const Tensor sizes = i64({4}, {1, 1, 4, 4});
  const Tensor badScale = f32({4}, {1, 1, 0, 2});
  const ir::InferInput in = known(DataType::kFloat32, x);
  const auto sc = [&](const Tensor& t) { return known(t.type(), Shape::fromSizes(t.shape()), &t); };
  EXPECT_EQ(infer("Resize", {in, {}, sc(scales), sc(sizes)}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(infer("Resize", {in}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(infer("Resize", {in, {}, sc(shortScales)}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(infer("Resize", {in, {}, sc(badScale)}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(infer("Resize", {in, {}, sc(scales)}, attrs({{"mode", std::string("bicubic")}})).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      infer("Resize", {in, {}, sc(scales)}, attrs({{"axes", std::vector<int64_t>{2, 2}}})).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(infer("Resize", {in, {}, sc(scales)}, attrs({{"axes", std::vector<int64_t>{4}}})).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(infer("Resize", {in, {}, sc(scales)},
                  attrs({{"coordinate_transformation_mode", std::string("tf_crop_and_resize")}}))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      infer("Resize", {known(DataType::kBool, x), {}, sc(scales)}, attrs({{"mode", std::string("linear")}}))
          .status()
          .code(),
      StatusCode::kUnsupported);
  EXPECT_EQ(infer("Resize", {known(DataType::kFloat8E4M3FN, x), {}, sc(scales)},
                  attrs({{"mode", std::string("cubic")}}))
                .status()
                .code(),
            StatusCode::kUnsupported);
  EXPECT_EQ(
      infer("Resize", {in, {}, sc(scales)}, attrs({{"mode", std::string("cubic")}}), 10).status().code(),
      StatusCode::kInvalidArgument)
      << "Resize-10 has no cubic mode";
}

// ---- Kernel: nearest -----------------------------------------------------------------------------------

TEST(Resize, NearestUpsampleAndDownsample) {
  Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  expectValues(run1("Resize", {x, kNone, f32({4}, {1, 1, 2, 3})}), DataType::kFloat32, {1, 1, 4, 6},
               {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
  Tensor y = f32({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  expectValues(run1("Resize", {y, kNone, f32({4}, {1, 1, 0.6, 0.6})}), DataType::kFloat32, {1, 1, 1, 2},
               {1, 3});
  // keep_aspect_ratio_policy not_larger with axes (conformance case
  // resize_downsample_sizes_nearest_not_larger).
  expectValues(run1("Resize", {y, kNone, kNone, i64({2}, {1, 3})},
                    attrs({{"axes", std::vector<int64_t>{2, 3}},
                           {"keep_aspect_ratio_policy", std::string("not_larger")}})),
               DataType::kFloat32, {1, 1, 1, 2}, {1, 3});
}

TEST(Resize, NearestModesPickTheDocumentedNeighbour) {
  Tensor x = f32({1, 4}, {10, 20, 30, 40});
  // Asymmetric x2 upsampling maps output o to o / 2: halves are exact ties.
  auto run = [&](const char* mode) {
    return run1("Resize", {x, kNone, f32({2}, {1, 2})},
                attrs({{"coordinate_transformation_mode", std::string("asymmetric")},
                       {"nearest_mode", std::string(mode)}}));
  };
  expectValues(run("round_prefer_floor"), DataType::kFloat32, {1, 8}, {10, 10, 20, 20, 30, 30, 40, 40});
  expectValues(run("round_prefer_ceil"), DataType::kFloat32, {1, 8}, {10, 20, 20, 30, 30, 40, 40, 40});
  expectValues(run("floor"), DataType::kFloat32, {1, 8}, {10, 10, 20, 20, 30, 30, 40, 40});
  expectValues(run("ceil"), DataType::kFloat32, {1, 8}, {10, 20, 20, 30, 30, 40, 40, 40});
}

TEST(Resize, NearestCopiesAnyTypeExactly) {
  Tensor x = makeTensor(DataType::kInt64, {2, 2}, {-5, 9007199254740993.0, 3, 4});
  x.data<int64_t>()[1] = 9007199254740993;  // not representable as double: must be copied, not converted
  Tensor y = run1("Resize", {x, kNone, kNone, i64({2}, {2, 4})});
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(y.data<int64_t>()[2], 9007199254740993);
  Tensor b = makeTensor(DataType::kBool, {1, 2}, {1, 0});
  expectValues(run1("Resize", {b, kNone, f32({2}, {1, 2})}), DataType::kBool, {1, 4}, {1, 1, 0, 0}, 0);
}

// ---- Kernel: linear and cubic --------------------------------------------------------------------------

TEST(Resize, LinearHalfPixelAndAlignCorners) {
  Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  expectValues(run1("Resize", {x, kNone, f32({4}, {1, 1, 2, 2})}, attrs({{"mode", std::string("linear")}})),
               DataType::kFloat32, {1, 1, 4, 4},
               {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4});
  expectValues(run1("Resize", {x, kNone, f32({4}, {1, 1, 2, 2})},
                    attrs({{"mode", std::string("linear")},
                           {"coordinate_transformation_mode", std::string("align_corners")}})),
               DataType::kFloat32, {1, 1, 4, 4},
               {1, 4.0 / 3, 5.0 / 3, 2, 5.0 / 3, 2, 7.0 / 3, 8.0 / 3, 7.0 / 3, 8.0 / 3, 3, 10.0 / 3, 3,
                10.0 / 3, 11.0 / 3, 4});
}

TEST(Resize, CubicAsymmetricMatchesTheReference) {
  Tensor y = run1(
      "Resize", {ramp4x4(), kNone, f32({4}, {1, 1, 2, 2})},
      attrs({{"mode", std::string("cubic")}, {"coordinate_transformation_mode", std::string("asymmetric")}}));
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{1, 1, 8, 8}));
  const std::vector<double> firstRow = {1, 1.40625, 2, 2.5, 3, 3.59375, 4, 4.09375};
  for (size_t i = 0; i < firstRow.size(); ++i)
    EXPECT_NEAR(elementAsDouble(y, static_cast<int64_t>(i)), firstRow[i], 1e-5);
  EXPECT_NEAR(elementAsDouble(y, 63), 16.46875, 1e-5);
}

TEST(Resize, AntialiasedLinearDownsampling) {
  Tensor y = run1("Resize", {ramp4x4(), kNone, f32({4}, {1, 1, 0.6, 0.6})},
                  attrs({{"mode", std::string("linear")}, {"antialias", int64_t{1}}}));
  expectValues(y, DataType::kFloat32, {1, 1, 2, 2}, {2.875, 4.5, 9.375, 11});
}

TEST(Resize, TfCropAndResizeExtrapolates) {
  Tensor y =
      run1("Resize", {ramp4x4(), f32({8}, {0, 0, 0.4, 0.6, 1, 1, 1.2, 1.7}), kNone, i64({4}, {1, 1, 3, 3})},
           attrs({{"mode", std::string("linear")},
                  {"coordinate_transformation_mode", std::string("tf_crop_and_resize")},
                  {"extrapolation_value", 10.0f}}));
  expectValues(y, DataType::kFloat32, {1, 1, 3, 3}, {7.6, 10, 10, 12.4, 10, 10, 10, 10, 10}, 1e-4);
}

TEST(Resize, IntegerDataTruncatesAndFp16RoundsOnce) {
  Tensor x = makeTensor(DataType::kUInt8, {1, 2}, {10, 21});
  // Half-pixel x2: outputs at 0.25 / 0.75 between the two: 10, 12.75, 18.25, 21 -> truncated.
  expectValues(run1("Resize", {x, kNone, f32({2}, {1, 2})}, attrs({{"mode", std::string("linear")}})),
               DataType::kUInt8, {1, 4}, {10, 12, 18, 21}, 0);
  // Cubic overshoot below zero saturates instead of wrapping.
  Tensor edge = makeTensor(DataType::kUInt8, {1, 4}, {0, 0, 255, 255});
  Tensor c = run1("Resize", {edge, kNone, f32({2}, {1, 2})}, attrs({{"mode", std::string("cubic")}}));
  for (int64_t i = 0; i < c.elementCount(); ++i) EXPECT_LE(elementAsDouble(c, i), 255);
  EXPECT_EQ(elementAsDouble(c, 2), 0);
  Tensor h = makeTensor(DataType::kFloat16, {1, 2}, {1, 2});
  expectValues(run1("Resize", {h, kNone, f32({2}, {1, 2})}, attrs({{"mode", std::string("linear")}})),
               DataType::kFloat16, {1, 4}, {1, 1.25, 1.75, 2}, 0);
}

TEST(Resize, ExcludeOutsideRenormalises) {
  Tensor x = f32({1, 4}, {1, 2, 3, 4});
  Tensor y = run1(
      "Resize", {x, kNone, f32({2}, {1, 2})},
      attrs({{"mode", std::string("cubic")}, {"exclude_outside", int64_t{1}}, {"cubic_coeff_a", -0.5f}}));
  ASSERT_EQ(y.elementCount(), 8);
  // With a = -0.5 cubic interpolation reproduces a ramp away from the edges.
  EXPECT_NEAR(elementAsDouble(y, 3), 2.25, 1e-6);
  EXPECT_NEAR(elementAsDouble(y, 4), 2.75, 1e-6);
}

TEST(Resize, ZeroSizedOutputAndRuntimeErrors) {
  Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor y = run1("Resize", {x, kNone, f32({4}, {1, 1, 0.4, 1})});
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{1, 1, 0, 2}));
  EXPECT_EQ(runError("Resize", {x, kNone, f32({4}, {1, 1, 2, 2}), i64({4}, {1, 1, 4, 4})}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runError("Resize", {x, kNone, f32({2}, {2, 2})}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runError("Resize", {f32({0, 2}, {}), kNone, kNone, i64({2}, {3, 2})}).code(),
            StatusCode::kInvalidArgument);
}

// ---- Legacy forms --------------------------------------------------------------------------------------

TEST(Upsample, NearestRepeatsAndLinearIsAsymmetric) {
  Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  expectValues(run1("Upsample", {x, f32({4}, {1, 1, 2, 2})}, {}, 9), DataType::kFloat32, {1, 1, 4, 4},
               {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  Tensor r = f32({1, 2}, {1, 3});
  expectValues(run1("Upsample", {r, f32({2}, {1, 2})}, attrs({{"mode", std::string("linear")}}), 9),
               DataType::kFloat32, {1, 4}, {1, 2, 3, 3});
  // Resize-10 reads the same way once its scales sit in slot 2.
  expectValues(run1("Resize", {r, kNone, f32({2}, {1, 2})}, attrs({{"mode", std::string("linear")}}), 10),
               DataType::kFloat32, {1, 4}, {1, 2, 3, 3});
  // Legacy nearest rounds up when downsampling.
  Tensor d = f32({1, 5}, {1, 2, 3, 4, 5});
  // Coordinates o / 0.6 = 0, 1.67, 3.33 pick 0, 2, 4 (floor would pick 0, 1, 3).
  expectValues(run1("Resize", {d, kNone, f32({2}, {1, 0.6})}, {}, 10), DataType::kFloat32, {1, 3}, {1, 3, 5});
}

TEST(Upsample, ImporterRewritesOldSpellings) {
  const onnx::OpImporter* upsample = onnx::ImporterRegistry::global().find("", "Upsample");
  ASSERT_NE(upsample, nullptr);
  ASSERT_NE(upsample->normalize, nullptr);
  ir::Graph g;
  ir::Value* x = g.addValue("x").value();
  ir::Node* node = g.addNode("Upsample", "up");
  node->opsetVersion = 7;
  node->attributes.set("scales", std::vector<float>{1, 1, 2, 3});
  g.setInput(node, 0, x);
  onnx::ImportContext ctx(g);
  ASSERT_TRUE(upsample->normalize(ctx, *node).isOk());
  EXPECT_FALSE(node->attributes.has("scales"));
  ASSERT_NE(node->input(1), nullptr);
  ASSERT_TRUE(node->input(1)->constant.has_value());
  EXPECT_EQ(node->input(1)->constant->shape(), (std::vector<int64_t>{4}));
  EXPECT_EQ(node->input(1)->constant->data<float>()[3], 3.0f);

  const onnx::OpImporter* resize = onnx::ImporterRegistry::global().find("", "Resize");
  ASSERT_NE(resize, nullptr);
  ir::Value* s = g.addValue("s").value();
  ir::Node* r10 = g.addNode("Resize", "r10");
  r10->opsetVersion = 10;
  g.setInput(r10, 0, x);
  g.setInput(r10, 1, s);
  ASSERT_TRUE(resize->normalize(ctx, *r10).isOk());
  EXPECT_EQ(r10->input(1), nullptr);
  EXPECT_EQ(r10->input(2), s);
}

// ---- lowp's row-by-row kernels (kernels/cpu/resize.cpp) against the reference ----

struct RowsCase {
  std::string what;
  std::vector<int64_t> x;
  AttributeMap attrs;
  std::vector<double> roi, scales;  ///< empty: omitted
  std::vector<double> sizes;
};

std::vector<RowsCase> rowsCases() {
  auto s = [](const char* v) { return std::string(v); };
  return {
      {"nearest 2x", {2, 3, 5, 7}, attrs({}), {}, {1, 1, 2, 2}, {}},
      {"nearest down asymmetric floor",
       {1, 2, 9, 10},
       attrs({{"coordinate_transformation_mode", s("asymmetric")}, {"nearest_mode", s("floor")}}),
       {},
       {1, 1, 0.6, 0.8},
       {}},
      {"nearest only the channels", {1, 4, 3, 5}, attrs({}), {}, {1, 2, 1, 1}, {}},
      {"nearest tf_crop_and_resize",
       {1, 2, 8, 8},
       attrs({{"coordinate_transformation_mode", s("tf_crop_and_resize")}, {"extrapolation_value", -3.0f}}),
       {0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3},
       {},
       {1, 2, 7, 9}},
      {"linear 2x", {2, 3, 5, 7}, attrs({{"mode", s("linear")}}), {}, {1, 1, 2, 1.5}, {}},
      {"linear only the rows", {1, 3, 6, 5}, attrs({{"mode", s("linear")}}), {}, {1, 1, 1.5, 1}, {}},
      {"linear align_corners rank 3",
       {2, 4, 9},
       attrs({{"mode", s("linear")}, {"coordinate_transformation_mode", s("align_corners")}}),
       {},
       {1, 1, 2.5},
       {}},
      {"linear antialias down",
       {1, 2, 16, 12},
       attrs({{"mode", s("linear")}, {"antialias", int64_t{1}}}),
       {},
       {1, 1, 0.3, 0.5},
       {}},
      {"cubic exclude_outside",
       {1, 3, 7, 6},
       attrs({{"mode", s("cubic")}, {"exclude_outside", int64_t{1}}, {"cubic_coeff_a", -0.5f}}),
       {},
       {1, 1, 2, 2},
       {}},
      {"linear tf_crop_and_resize",
       {1, 2, 8, 8},
       attrs({{"mode", s("linear")},
              {"coordinate_transformation_mode", s("tf_crop_and_resize")},
              {"extrapolation_value", 10.0f}}),
       {0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3},
       {},
       {1, 2, 7, 9}},
      {"cubic rank 5 sizes", {1, 2, 3, 4, 5}, attrs({{"mode", s("cubic")}}), {}, {}, {1, 2, 5, 7, 3}},
  };
}

TEST(CpuResize, RowsMatchTheReference) {
  std::mt19937 rng(71);
  std::uniform_real_distribution<double> dist(-2.0, 2.0);
  for (const RowsCase& c : rowsCases()) {
    const bool nearest = c.attrs.getString("mode", "nearest") == "nearest";
    const std::vector<DataType> types =
        nearest
            ? std::vector<DataType>{DataType::kFloat32, DataType::kFloat16, DataType::kInt8, DataType::kInt64}
            : std::vector<DataType>{DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};
    for (const DataType type : types) {
      SCOPED_TRACE(c.what + " " + std::string(dataTypeName(type)));
      int64_t n = 1;
      for (int64_t d : c.x) n *= d;
      std::vector<double> values(static_cast<size_t>(n));
      for (double& v : values) v = nearest ? std::round(dist(rng) * 50) : dist(rng);
      std::vector<Tensor> inputs = {makeTensor(type, c.x, values), Tensor(), Tensor(), Tensor()};
      if (!c.roi.empty())
        inputs[1] = makeTensor(DataType::kFloat32, {static_cast<int64_t>(c.roi.size())}, c.roi);
      if (!c.scales.empty())
        inputs[2] = makeTensor(DataType::kFloat32, {static_cast<int64_t>(c.scales.size())}, c.scales);
      if (!c.sizes.empty())
        inputs[3] = makeTensor(DataType::kInt64, {static_cast<int64_t>(c.sizes.size())}, c.sizes);
      NodeUnderTest node("Resize", "", 19, c.attrs, inputs, {1, 2, 3});
      ASSERT_TRUE(node.status().isOk()) << node.status().toString();
      const std::string name = nearest                      ? "any-resize-nearest-rows"
                               : type == DataType::kFloat32 ? "f32-resize-rows"
                               : type == DataType::kFloat16 ? "f16-resize-rows"
                                                            : "bf16-resize-rows";
      const kernels::KernelDef* k = kernelNamed(name);
      ASSERT_NE(k, nullptr) << name;
      EXPECT_TRUE(k->supports(node.node(), node.inputShapes()));
      auto got = runKernel(*k, node.node(), inputs, node.outputType(), node.outputShape());
      auto want = runKernel(*referenceKernel("Resize", ""), node.node(), inputs, node.outputType(),
                            node.outputShape());
      ASSERT_TRUE(got.isOk()) << got.status().toString();
      ASSERT_TRUE(want.isOk()) << want.status().toString();
      ASSERT_EQ(got->shape(), want->shape());
      if (nearest) {
        EXPECT_EQ(std::memcmp(got->data(), want->data(), static_cast<size_t>(got->byteSize())), 0);
        continue;
      }
      // fp32 sums against the reference's double passes; fp16 and bf16 round once, as the reference does.
      const double tolerance = type == DataType::kFloat32 ? 1e-6 : type == DataType::kFloat16 ? 1e-3 : 8e-3;
      double err = 0, norm = 0;
      for (int64_t i = 0; i < want->elementCount(); ++i) {
        const double a = elementAsDouble(*got, i), b = elementAsDouble(*want, i);
        err += (a - b) * (a - b);
        norm += b * b;
      }
      EXPECT_LE(std::sqrt(err / norm), tolerance);
    }
  }
}

// Each kernel declines the modes it is not for, so the builder never picks it there.
TEST(CpuResize, RowsKernelsDeclineOtherModes) {
  const std::vector<Tensor> inputs = {makeTensor(DataType::kFloat32, {1, 1, 2, 2}, {1, 2, 3, 4}), Tensor(),
                                      makeTensor(DataType::kFloat32, {4}, {1, 1, 2, 2})};
  NodeUnderTest linear("Resize", "", 19, attrs({{"mode", std::string("linear")}}), inputs, {2});
  ASSERT_TRUE(linear.status().isOk());
  EXPECT_FALSE(kernelNamed("any-resize-nearest-rows")->supports(linear.node(), linear.inputShapes()));
  EXPECT_TRUE(kernelNamed("f32-resize-rows")->supports(linear.node(), linear.inputShapes()));
}

}  // namespace
}  // namespace lowp::testing
