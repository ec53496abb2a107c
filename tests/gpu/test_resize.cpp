// Resize and Upsample on the GPU (kernels/cuda/resize.cpp) against the CPU reference kernel: nearest bit for
// bit in several types, linear and cubic in fp32, fp16 and bf16, over the coordinate modes, antialiasing,
// exclude_outside, axes, aspect-ratio policies, tf_crop_and_resize's extrapolation and ranks 3 to 5.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

struct ResizeCase {
  std::string what;
  int64_t opset;
  std::vector<int64_t> x;
  ir::AttributeMap attrs;
  std::vector<float> roi;      ///< Empty: omitted.
  std::vector<float> scales;   ///< Empty: omitted.
  std::vector<int64_t> sizes;  ///< Empty: omitted.
};

std::string mode(const ResizeCase& c) {
  return c.attrs.getString("mode", "nearest");
}

std::vector<ResizeCase> resizeCases() {
  auto s = [](const char* v) { return std::string(v); };
  return {
      {"nearest 2x", 13, {2, 3, 5, 7}, attrs({}), {}, {1, 1, 2, 2}, {}},
      {"nearest down, asymmetric floor",
       13,
       {2, 3, 9, 10},
       attrs({{"coordinate_transformation_mode", s("asymmetric")}, {"nearest_mode", s("floor")}}),
       {},
       {1, 1, 0.6f, 0.8f},
       {}},
      {"nearest sizes, align_corners ceil",
       13,
       {1, 4, 6, 5},
       attrs({{"coordinate_transformation_mode", s("align_corners")},
              {"nearest_mode", s("round_prefer_ceil")}}),
       {},
       {},
       {1, 4, 9, 4}},
      {"nearest rank 5", 13, {1, 2, 3, 4, 5}, attrs({}), {}, {1, 1, 2, 1.5f, 0.5f}, {}},
      {"nearest tf_half_pixel_for_nn",
       11,
       {1, 2, 5, 5},
       attrs({{"coordinate_transformation_mode", s("tf_half_pixel_for_nn")}}),
       {},
       {1, 1, 1.7f, 2.3f},
       {}},
      {"linear 2x", 13, {2, 3, 5, 7}, attrs({{"mode", s("linear")}}), {}, {1, 1, 2, 1.5f}, {}},
      {"linear align_corners sizes",
       13,
       {1, 3, 6, 6},
       attrs({{"mode", s("linear")}, {"coordinate_transformation_mode", s("align_corners")}}),
       {},
       {},
       {1, 3, 11, 4}},
      {"linear pytorch_half_pixel antialias down",
       18,
       {1, 2, 16, 12},
       attrs({{"mode", s("linear")},
              {"coordinate_transformation_mode", s("pytorch_half_pixel")},
              {"antialias", int64_t{1}}}),
       {},
       {1, 1, 0.3f, 0.5f},
       {}},
      {"cubic exclude_outside",
       13,
       {1, 3, 7, 6},
       attrs({{"mode", s("cubic")}, {"exclude_outside", int64_t{1}}, {"cubic_coeff_a", -0.5f}}),
       {},
       {1, 1, 2, 2},
       {}},
      {"cubic antialias down",
       18,
       {2, 2, 12, 12},
       attrs({{"mode", s("cubic")}, {"antialias", int64_t{1}}}),
       {},
       {1, 1, 0.4f, 0.75f},
       {}},
      {"linear tf_crop_and_resize extrapolation",
       13,
       {1, 2, 8, 8},
       attrs({{"mode", s("linear")},
              {"coordinate_transformation_mode", s("tf_crop_and_resize")},
              {"extrapolation_value", 10.0f}}),
       {0, 0, -0.2f, 0.1f, 1, 1, 0.9f, 1.3f},
       {},
       {1, 2, 7, 9}},
      {"nearest tf_crop_and_resize extrapolation",
       13,
       {1, 2, 8, 8},
       attrs({{"coordinate_transformation_mode", s("tf_crop_and_resize")}, {"extrapolation_value", -3.0f}}),
       {0, 0, -0.2f, 0.1f, 1, 1, 0.9f, 1.3f},
       {},
       {1, 2, 7, 9}},
      {"linear axes",
       18,
       {2, 3, 5, 7},
       attrs({{"mode", s("linear")}, {"axes", std::vector<int64_t>{3, 2}}}),
       {},
       {1.5f, 2},
       {}},
      {"linear rank 3", 13, {2, 4, 9}, attrs({{"mode", s("linear")}}), {}, {1, 1, 2.5f}, {}},
      {"linear sizes not_larger",
       18,
       {1, 3, 6, 8},
       attrs({{"mode", s("linear")},
              {"keep_aspect_ratio_policy", s("not_larger")},
              {"axes", std::vector<int64_t>{2, 3}}}),
       {},
       {},
       {9, 9}},
  };
}

std::vector<Tensor> resizeInputs(const ResizeCase& c, Tensor x, std::vector<size_t>* constants) {
  std::vector<Tensor> inputs = {std::move(x), Tensor(), Tensor(), Tensor()};
  auto floats = [](const std::vector<float>& v) {
    return makeTensor(DataType::kFloat32, {static_cast<int64_t>(v.size())},
                      std::vector<double>(v.begin(), v.end()));
  };
  if (!c.roi.empty()) inputs[1] = floats(c.roi);
  if (!c.scales.empty()) inputs[2] = floats(c.scales);
  if (!c.sizes.empty())
    inputs[3] = makeTensor(DataType::kInt64, {static_cast<int64_t>(c.sizes.size())},
                           std::vector<double>(c.sizes.begin(), c.sizes.end()));
  *constants = {1, 2, 3};
  return inputs;
}

TEST(CudaResize, NearestMatchesTheReferenceBitForBit) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(51);
  for (const ResizeCase& c : resizeCases()) {
    if (mode(c) != "nearest") continue;
    for (const DataType type : {DataType::kFloat32, DataType::kFloat16, DataType::kInt8, DataType::kInt64}) {
      SCOPED_TRACE(c.what + " " + std::string(dataTypeName(type)));
      const Tensor f = randomTensor(rng, DataType::kFloat32, c.x, -100, 100);
      const Tensor x = makeTensor(type, c.x, values(f));
      std::vector<size_t> constants;
      std::vector<Tensor> inputs = resizeInputs(c, x, &constants);
      expectMatchesReference({.kernel = "x-resize-nearest-cuda",
                              .opType = "Resize",
                              .opset = c.opset,
                              .attrs = c.attrs,
                              .inputs = inputs,
                              .constantSlots = constants,
                              .tolerance = 0});
    }
  }
}

TEST(CudaResize, LinearAndCubicMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(52);
  struct Precision {
    DataType type;
    const char* kernel;
    double tolerance;  ///< fp32 sums against the reference's double passes, one rounding each
  };
  const Precision precisions[] = {{DataType::kFloat32, "f32-resize-cuda", 1e-6},
                                  {DataType::kFloat16, "f16-resize-cuda", 1e-3},
                                  {DataType::kBFloat16, "bf16-resize-cuda", 8e-3}};
  for (const ResizeCase& c : resizeCases()) {
    if (mode(c) == "nearest") continue;
    for (const Precision& p : precisions) {
      SCOPED_TRACE(c.what + " " + p.kernel);
      std::vector<size_t> constants;
      std::vector<Tensor> inputs = resizeInputs(c, randomTensor(rng, p.type, c.x), &constants);
      expectMatchesReference({.kernel = p.kernel,
                              .opType = "Resize",
                              .opset = c.opset,
                              .attrs = c.attrs,
                              .inputs = inputs,
                              .constantSlots = constants,
                              .tolerance = p.tolerance});
    }
  }
}

TEST(CudaResize, UpsampleMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(53);
  for (const std::string m : {"nearest", "linear"}) {
    SCOPED_TRACE(m);
    const std::vector<Tensor> inputs = {randomTensor(rng, DataType::kFloat32, {2, 3, 4, 5}),
                                        makeTensor(DataType::kFloat32, {4}, {1, 1, 2, 3})};
    expectMatchesReference({.kernel = m == "nearest" ? "x-upsample-nearest-cuda" : "f32-upsample-cuda",
                            .opType = "Upsample",
                            .opset = 9,
                            .attrs = attrs({{"mode", m}}),
                            .inputs = inputs,
                            .constantSlots = {1},
                            .tolerance = m == "nearest" ? 0 : 1e-6});
  }
}

// Scales computed at run time, and a mode the kernel is not for, are declined, so that the builder runs
// another kernel instead of failing at run time.
TEST(CudaResize, DeclinesComputedScalesAndOtherModes) {
  std::mt19937 rng(54);
  const kernels::KernelDef* nearest = kernelNamed("x-resize-nearest-cuda");
  const kernels::KernelDef* linear = kernelNamed("f32-resize-cuda");
  ASSERT_NE(nearest, nullptr);
  ASSERT_NE(linear, nullptr);
  const std::vector<Tensor> inputs = {randomTensor(rng, DataType::kFloat32, {1, 2, 4, 4}), Tensor(),
                                      makeTensor(DataType::kFloat32, {4}, {1, 1, 2, 2})};
  NodeUnderTest constant("Resize", "", 13, attrs({}), inputs, {2});
  ASSERT_TRUE(constant.status().isOk()) << constant.status().toString();
  EXPECT_TRUE(nearest->supports(constant.node(), constant.inputShapes()));
  EXPECT_FALSE(linear->supports(constant.node(), constant.inputShapes()));
  NodeUnderTest computed("Resize", "", 13, attrs({}), inputs, {});
  ASSERT_TRUE(computed.status().isOk()) << computed.status().toString();
  EXPECT_FALSE(nearest->supports(computed.node(), computed.inputShapes()));
}

}  // namespace
}  // namespace lowp::testing
