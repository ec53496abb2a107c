// Pad on the GPU (kernels/cuda/pad.cpp) against the CPU reference kernel, bit for bit: modes constant,
// reflect, edge and wrap; positive pads, negative ones (cropping) and both on one axis; pads wider than the
// axis (reflect and wrap fold back, more than once); axes of size 1; an empty axis grown in constant mode;
// an empty output; axes given as an input (negative ones too); the constant from constant_value (a graph
// constant, or computed at run time and read by the device), from opset 2's `value` attribute (saturated
// into int8) or zero; for fp32, fp16, int8 and int64 elements. Also: the node is declined where pads are
// computed at run time, and an empty axis in a mode other than constant is an error naming the node.
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

Tensor int64s(const std::vector<int64_t>& v) {
  return makeTensor(DataType::kInt64, {static_cast<int64_t>(v.size())},
                    std::vector<double>(v.begin(), v.end()));
}

const char* const kModes[] = {"constant", "reflect", "edge", "wrap"};

struct PadCase {
  std::vector<int64_t> shape;
  std::vector<int64_t> pads;
  std::vector<int64_t> axes;  ///< Empty: every axis.
  bool constantOnly = false;  ///< An empty axis grows: constant mode only.
};

const std::vector<PadCase> kCases = {
    {{2, 3, 4}, {0, 1, 2, 0, 2, 1}},
    {{1, 3, 5, 5}, {0, 0, 2, 2, 0, 0, 2, 2}},  // a convolution's spatial padding
    {{4, 6}, {-1, 2, 1, -2}},                  // cropping and padding on each axis
    {{3, 2}, {2, 3, 4, 5}},                    // wider than the axes: reflect and wrap fold several times
    {{5, 1}, {1, 2, 2, 1}},                    // an axis of size 1
    {{7}, {3, -2}},                            // 1-D
    {{2, 3, 4, 5}, {1, -1, 2, 1}, {-1, 1}},    // axes as an input, one negative
    {{3, 4, 5}, {2, 0, 1, 3}, {2, 0}},         // axes out of order
    {{2, 3}, {-1, 0, -1, 0}},                  // an empty output
    {{2, 0, 3}, {0, 1, 0, 0, 2, 1}, {}, true},
};

TEST(CudaPad, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(91);
  for (DataType type : kMovedTypes) {
    for (const char* mode : kModes) {
      for (const PadCase& c : kCases) {
        if (c.constantOnly && std::string(mode) != "constant") continue;
        // In constant mode: no constant_value, one that is a graph constant, one computed at run time.
        for (int value = 0; value < (std::string(mode) == "constant" ? 3 : 1); ++value) {
          SCOPED_TRACE(std::string(dataTypeName(type)) + " " + mode + " " + ir::formatSizes(c.shape) +
                       " pads " + ir::formatSizes(c.pads) + " axes " + ir::formatSizes(c.axes) + " value " +
                       std::to_string(value));
          std::vector<Tensor> inputs = {anyValues(rng, type, c.shape), int64s(c.pads)};
          std::vector<size_t> constants = {1};
          if (value > 0 || !c.axes.empty()) inputs.push_back(value > 0 ? anyValues(rng, type, {}) : Tensor());
          if (value == 1) constants.push_back(2);
          if (!c.axes.empty()) {
            inputs.push_back(int64s(c.axes));
            constants.push_back(3);
          }
          expectMatchesReference({.kernel = "x-pad-cuda",
                                  .opType = "Pad",
                                  .opset = 18,
                                  .attrs = attrs({{"mode", std::string(mode)}}),
                                  .inputs = inputs,
                                  .constantSlots = constants,
                                  .tolerance = 0.0});
        }
      }
    }
  }
}

// Opset 2-10 give the constant as a float attribute (the importer has moved the pads into input 1); int8
// saturates it.
TEST(CudaPad, TakesTheValueAttribute) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(92);
  for (DataType type : kMovedTypes) {
    for (const float value : {2.5f, -300.0f}) {
      SCOPED_TRACE(std::string(dataTypeName(type)) + " value " + std::to_string(value));
      expectMatchesReference({.kernel = "x-pad-cuda",
                              .opType = "Pad",
                              .opset = 2,
                              .attrs = attrs({{"mode", std::string("constant")}, {"value", value}}),
                              .inputs = {anyValues(rng, type, {3, 4}), int64s({1, 0, 2, 3})},
                              .constantSlots = {1},
                              .tolerance = 0.0});
    }
  }
}

TEST(CudaPad, DeclinesPadsComputedAtRunTime) {
  const kernels::KernelDef* k = kernelNamed("x-pad-cuda");
  ASSERT_NE(k, nullptr);
  std::mt19937 rng(93);
  const std::vector<Tensor> inputs = {anyValues(rng, DataType::kFloat32, {2, 3}), int64s({0, 1, 0, 1})};
  NodeUnderTest computed("Pad", "", 18, attrs({}), inputs, {});
  ASSERT_TRUE(computed.status().isOk()) << computed.status().toString();
  EXPECT_FALSE(k->supports(computed.node(), computed.inputShapes()));
  NodeUnderTest constant("Pad", "", 18, attrs({}), inputs, {1});
  ASSERT_TRUE(constant.status().isOk()) << constant.status().toString();
  EXPECT_TRUE(k->supports(constant.node(), constant.inputShapes()));
  const std::vector<Tensor> withAxes = {inputs[0], int64s({1, 1}), Tensor(), int64s({1})};
  NodeUnderTest computedAxes("Pad", "", 18, attrs({}), withAxes, {1});
  ASSERT_TRUE(computedAxes.status().isOk()) << computedAxes.status().toString();
  EXPECT_FALSE(k->supports(computedAxes.node(), computedAxes.inputShapes()));
}

// An empty axis has nothing to reflect, repeat or wrap: an error naming the node, as from the reference.
TEST(CudaPad, RejectsGrowingAnEmptyAxisOutsideConstantMode) {
  LOWP_REQUIRE_GPU();
  const kernels::KernelDef* k = kernelNamed("x-pad-cuda");
  ASSERT_NE(k, nullptr);
  const std::vector<Tensor> inputs = {Tensor(DataType::kFloat32, {2, 0}), int64s({0, 1, 0, 1})};
  NodeUnderTest n("Pad", "", 18, attrs({{"mode", std::string("edge")}}), inputs, {1});
  ASSERT_TRUE(n.status().isOk()) << n.status().toString();
  auto got = runOnGpu(*k, n.node(), inputs, n.outputType(), n.outputShape());
  ASSERT_FALSE(got.isOk());
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find("empty axis"), std::string::npos) << got.status().toString();
}

}  // namespace
}  // namespace lowp::testing
