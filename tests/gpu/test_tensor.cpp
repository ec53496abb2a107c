// Transpose, Slice and Gather on the GPU (kernels/cuda/tensor.cpp) against the CPU reference kernels, bit for
// bit: permutations that keep the last axis (strided copy) and move it (tiles through shared memory) up to
// rank 6, dims of size 1, and Slice with positive and negative steps, negative starts and axes, omitted axes,
// int32 and int64 parameters, Gather of constant indices along any axis, and Concat along the first, a
// middle and the last axis (empty inputs among them), for fp32, fp16, int8 and int64 elements.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

TEST(CudaTranspose, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(81);
  struct Case {
    std::vector<int64_t> shape;
    std::vector<int64_t> perm;  ///< Empty: the default (reversed axes).
  };
  const std::vector<Case> cases = {
      {{16, 2, 64}, {1, 0, 2}},      // an encoder's [S, B, E] to [B, S, E]: the last axis stays
      {{8, 128, 32}, {1, 2, 0}},     // K to [B*H, D, S]: the last axis moves
      {{33, 65}, {1, 0}},            // partial tiles
      {{2, 3, 4, 5}, {3, 1, 0, 2}},  //
      {{1, 7, 1, 9}, {3, 2, 1, 0}},  // dims of size 1 dropped
      {{2, 3, 2, 3, 2, 5}, {}},      // rank 6, reversed
      {{2, 3, 2, 3, 2, 5}, {0, 2, 1, 4, 3, 5}},
      {{4, 6, 40}, {0, 1, 2}},  // the identity: one copy
  };
  for (DataType type : kMovedTypes) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(dataTypeName(type)) + " " + ir::formatSizes(c.shape) + " perm " +
                   ir::formatSizes(c.perm));
      ir::AttributeMap a;
      if (!c.perm.empty()) a = attrs({{"perm", c.perm}});
      expectMatchesReference({.kernel = "x-transpose-cuda",
                              .opType = "Transpose",
                              .opset = 13,
                              .attrs = a,
                              .inputs = {anyValues(rng, type, c.shape)},
                              .tolerance = 0.0});
    }
  }
}

TEST(CudaSlice, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(82);
  struct Case {
    std::vector<int64_t> shape;
    std::vector<int64_t> starts, ends, axes, steps;  ///< Empty axes / steps: omitted.
  };
  const int64_t kMin = INT64_MIN;
  const std::vector<Case> cases = {
      {{16, 2, 96}, {32}, {64}, {2}, {}},               // Q / K / V out of a fused projection
      {{16, 2, 96}, {64}, {1000}, {-1}, {1}},           // ends past the dim, a negative axis
      {{16, 2, 96}, {-1}, {kMin}, {0}, {-2}},           // backwards from the end
      {{16, 2, 96}, {1, 0}, {10, 50}, {0, 2}, {3, 7}},  // two axes, steps > 1
      {{9, 10, 11}, {2, -3}, {8, 10}, {}, {}},          // axes omitted: the leading ones
      {{9, 10, 11}, {10, 5}, {-100, -20}, {2, 0}, {-1, -2}},
      {{5, 6}, {4}, {2}, {0}, {}},  // empty
  };
  for (DataType type : kMovedTypes) {
    for (DataType index : {DataType::kInt64, DataType::kInt32}) {
      for (const Case& c : cases) {
        SCOPED_TRACE(std::string(dataTypeName(type)) + " " + ir::formatSizes(c.shape) + " starts " +
                     ir::formatSizes(c.starts) + " (" + std::string(dataTypeName(index)) + ")");
        auto ints = [&](const std::vector<int64_t>& v) {
          std::vector<double> d;
          for (int64_t e : v) {
            // int32 parameters saturate as an exporter would write them.
            const int64_t clamped =
                index == DataType::kInt32 ? std::max<int64_t>(std::min<int64_t>(e, INT32_MAX), INT32_MIN) : e;
            d.push_back(static_cast<double>(clamped));
          }
          return makeTensor(index, {static_cast<int64_t>(v.size())}, d);
        };
        std::vector<Tensor> inputs = {anyValues(rng, type, c.shape), ints(c.starts), ints(c.ends)};
        std::vector<size_t> constants = {1, 2};
        if (!c.axes.empty()) {
          inputs.push_back(ints(c.axes));
          constants.push_back(3);
        }
        if (!c.steps.empty()) {
          inputs.push_back(ints(c.steps));
          constants.push_back(4);
        }
        expectMatchesReference({.kernel = "x-slice-cuda",
                                .opType = "Slice",
                                .opset = 13,
                                .inputs = inputs,
                                .constantSlots = constants,
                                .tolerance = 0.0});
      }
    }
  }
}

TEST(CudaGather, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(83);
  struct Case {
    std::vector<int64_t> shape;
    int64_t axis;
    std::vector<int64_t> indicesShape;  ///< Empty: a scalar index.
    std::vector<int64_t> indices;
  };
  const std::vector<Case> cases = {
      {{3, 16, 2, 96}, 0, {}, {1}},           // Q, K or V out of an unflattened fused projection
      {{3, 16, 2, 96}, 0, {}, {-1}},          // counted from the end
      {{5, 7, 3}, 1, {2, 2}, {6, 0, -7, 3}},  // indices of rank 2, odd inner runs
      {{4, 9}, -1, {3}, {8, 0, 8}},           // the last axis: runs of one element
      {{10, 33}, 0, {4}, {9, 0, 2, 2}},
  };
  for (DataType type : kMovedTypes) {
    for (DataType index : {DataType::kInt64, DataType::kInt32}) {
      for (const Case& c : cases) {
        for (bool constant : {true, false}) {  // a constant of the graph, or token ids computed at run time
          SCOPED_TRACE(std::string(dataTypeName(type)) + " " + ir::formatSizes(c.shape) + " axis " +
                       std::to_string(c.axis) + " (" + std::string(dataTypeName(index)) +
                       (constant ? ", constant)" : ")"));
          std::vector<double> values(c.indices.begin(), c.indices.end());
          expectMatchesReference(
              {.kernel = "x-gather-cuda",
               .opType = "Gather",
               .opset = 13,
               .attrs = attrs({{"axis", c.axis}}),
               .inputs = {anyValues(rng, type, c.shape), makeTensor(index, c.indicesShape, values)},
               .constantSlots = constant ? std::vector<size_t>{1} : std::vector<size_t>{},
               .tolerance = 0.0});
        }
      }
    }
  }
}

// An index outside the axis: an error naming the node where the build knows it, zero bytes where only the
// device sees it.
TEST(CudaGather, IndicesOutsideTheAxis) {
  LOWP_REQUIRE_GPU();
  const kernels::KernelDef* k = kernelNamed("x-gather-cuda");
  ASSERT_NE(k, nullptr);
  const Tensor x = makeTensor(DataType::kFloat32, {3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor indices = makeTensor(DataType::kInt64, {3}, {2, 3, -4});
  const NodeUnderTest constant("Gather", "", 13, {}, {x, indices}, {1});
  ASSERT_TRUE(constant.status().isOk());
  const Result<Tensor> refused = runOnGpu(*k, constant.node(), {x, indices}, DataType::kFloat32, {3, 2});
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().node(), constant.node().name);
  EXPECT_NE(refused.status().message().find("index 3 is outside axis 0"), std::string::npos)
      << refused.status().toString();
  const NodeUnderTest computed("Gather", "", 13, {}, {x, indices}, {});
  ASSERT_TRUE(computed.status().isOk());
  GpuRunOptions options;
  options.knownInputs = std::vector<size_t>{0};  // the indices are not known while planning
  const Result<Tensor> y = runOnGpu(*k, computed.node(), {x, indices}, DataType::kFloat32, {3, 2}, options);
  ASSERT_TRUE(y.isOk()) << y.status().toString();
  const std::vector<float> expected = {5, 6, 0, 0, 0, 0};
  EXPECT_EQ(std::vector<float>(y->data<float>(), y->data<float>() + 6), expected);
}

// Dropout in inference copies X (its mask, all true, is checked by the ONNX backend cases); training with a
// ratio other than 0 is random and declined.
TEST(CudaDropout, CopiesInInferenceAndDeclinesTraining) {
  std::mt19937 rng(85);
  const kernels::KernelDef* k = kernelNamed("x-dropout-copy-cuda");
  ASSERT_NE(k, nullptr);
  const Tensor x = randomTensor(rng, DataType::kFloat32, {3, 70});
  const Tensor half = makeTensor(DataType::kFloat32, {}, {0.5});
  const Tensor zero = makeTensor(DataType::kFloat32, {}, {0.0});
  const Tensor on = makeTensor(DataType::kBool, {}, {1});
  const Tensor off = makeTensor(DataType::kBool, {}, {0});
  struct Case {
    std::vector<Tensor> inputs;
    std::vector<size_t> constants;
    bool supported;
  };
  const Case cases[] = {{{x}, {}, true},
                        {{x, half, off}, {1, 2}, true},
                        {{x, zero, on}, {1, 2}, true},    // training, nothing dropped
                        {{x, half, on}, {1, 2}, false},   // training: random
                        {{x, Tensor(), on}, {2}, false},  // training at the default ratio 0.5
                        {{x, half, off}, {1}, false}};    // training_mode computed at run time
  for (const Case& c : cases) {
    NodeUnderTest n("Dropout", "", 13, {}, c.inputs, c.constants);
    if (!n.status().isOk()) {  // the reference refuses a random Dropout too
      EXPECT_FALSE(c.supported) << n.status().toString();
      continue;
    }
    EXPECT_EQ(k->supports(n.node(), n.inputShapes()), c.supported) << c.inputs.size() << " inputs";
  }
  if (gpu() == nullptr) return;
  expectMatchesReference({.kernel = "x-dropout-copy-cuda",
                          .opType = "Dropout",
                          .opset = 13,
                          .inputs = {x, half, off},
                          .constantSlots = {1, 2},
                          .tolerance = 0.0});
}

TEST(CudaConcat, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(84);
  struct Case {
    std::vector<std::vector<int64_t>> shapes;
    int64_t axis;
  };
  const std::vector<Case> cases = {
      {{{1, 16, 7, 7}, {1, 8, 7, 7}, {1, 24, 7, 7}}, 1},  // a CNN's branches joined on channels
      {{{2, 3, 4}, {2, 5, 4}}, 1},
      {{{3, 5}, {3, 1}, {3, 0}, {3, 7}}, -1},  // the last axis, an empty input among them
      {{{4, 2, 3}, {1, 2, 3}}, 0},             // the first axis: one contiguous copy each
      {{{5, 6}}, 0},                           // one input
      {{{2, 0, 3}, {2, 0, 3}}, 0},             // nothing to copy
      {{{2, 4, 300, 64}, {2, 4, 1, 64}}, 2},   // a key/value cache and one new key: rows of many words
  };
  for (DataType type : kMovedTypes) {
    for (const Case& c : cases) {
      std::vector<Tensor> inputs;
      inputs.reserve(c.shapes.size());
      std::string shapes;
      for (const std::vector<int64_t>& shape : c.shapes) {
        inputs.push_back(anyValues(rng, type, shape));
        shapes += ir::formatSizes(shape) + " ";
      }
      SCOPED_TRACE(std::string(dataTypeName(type)) + " " + shapes + "axis " + std::to_string(c.axis));
      // Misaligned, the rows move in words of one element.
      for (const bool misalign : {false, true}) {
        expectMatchesReference({.kernel = "x-concat-cuda",
                                .opType = "Concat",
                                .opset = 13,
                                .attrs = attrs({{"axis", c.axis}}),
                                .inputs = inputs,
                                .tolerance = 0.0,
                                .misalign = misalign});
      }
    }
  }
}

TEST(CudaExpand, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(86);
  struct Case {
    std::vector<int64_t> x, shape;
  };
  const std::vector<Case> cases = {
      {{3, 1}, {2, 3, 4}},           // new leading dim, the last broadcast
      {{1, 5}, {4, 5}},              // rows repeated: runs of 5 read again
      {{2, 1, 4}, {2, 3, 4}},        // a middle dim broadcast
      {{1, 1, 6}, {1, 7, 1}},        // the shape smaller than x along the last dim: x keeps it
      {{2, 3}, {2, 3}},              // nothing to broadcast
      {{1}, {3, 2, 5}},              // one value everywhere
      {{4, 1, 1, 3}, {4, 5, 6, 3}},  // two neighbouring broadcast dims, merged
  };
  for (DataType type : kMovedTypes) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(dataTypeName(type)) + " " + ir::formatSizes(c.x) + " to " +
                   ir::formatSizes(c.shape));
      const Tensor shape = makeTensor(DataType::kInt64, {static_cast<int64_t>(c.shape.size())},
                                      std::vector<double>(c.shape.begin(), c.shape.end()));
      expectMatchesReference({.kernel = "x-expand-cuda",
                              .opType = "Expand",
                              .opset = 13,
                              .inputs = {anyValues(rng, type, c.x), shape},
                              .constantSlots = {1},
                              .tolerance = 0.0});
    }
  }
}

// Inputs whose dims other than the axis differ, or an axis outside their rank, are not concatenations.
TEST(CudaConcat, DeclinesWhatIsNoConcatenation) {
  LOWP_REQUIRE_GPU();
  const kernels::KernelDef* k = kernelNamed("x-concat-cuda");
  ASSERT_NE(k, nullptr);
  std::mt19937 rng(85);
  auto supports = [&](const std::vector<std::vector<int64_t>>& shapes, int64_t axis) {
    std::vector<Tensor> inputs;
    inputs.reserve(shapes.size());
    for (const std::vector<int64_t>& shape : shapes)
      inputs.push_back(anyValues(rng, DataType::kFloat32, shape));
    NodeUnderTest n("Concat", "", 13, attrs({{"axis", axis}}), inputs, {});
    return k->supports(n.node(), n.inputShapes());
  };
  EXPECT_TRUE(supports({{2, 3}, {2, 4}}, 1));
  EXPECT_FALSE(supports({{2, 3}, {3, 4}}, 1)) << "dims other than the axis differ";
  EXPECT_FALSE(supports({{2, 3}, {2, 4}}, 2)) << "axis outside the rank";
  EXPECT_FALSE(supports({{2, 3}, {2, 3, 1}}, 0)) << "ranks differ";
}

}  // namespace
}  // namespace lowp::testing
