// ArgMax, ArgMin, GatherElements and Trilu on the GPU (kernels/cuda/index.cpp) against the CPU reference
// kernels, bit for bit:
// - ArgMax / ArgMin of fp32, fp16, bf16, int32 and int64 along the first, a middle and the last axis
//   (negative axes too), long rows (one warp each) and short ones and columns (one thread each), keepdims
//   both ways, select_last_index both ways, over random values, values with many ties (-0 and +0 among
//   them, and infinities) and values with NaNs (rows of NaN only too), int64 values that fp32 cannot tell
//   apart, and an empty output.
// - GatherElements of fp32, fp16, int8 and int64 elements along every axis (negative axes too), indices
//   smaller than data on other dims and larger along the axis, negative indices, int32 and int64 indices
//   that are graph constants or computed at run time; out-of-range indices: zero bytes where computed at
//   run time, an error naming the node (and the node declined) where constant.
// - Trilu upper and lower of fp32, fp16, int8 and int64 over one matrix and batches of them, wide and tall
//   ones, with k absent, positive, negative, beyond the matrix and at the int64 limits, given as a graph
//   constant or computed at run time (read by the device).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "kernels/cuda/kernel_util.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

// ---- ArgMax / ArgMin

// How ArgMax's inputs are drawn: uniform values; few distinct ones (ties, -0 and +0, infinities); those with
// NaNs among them.
enum class Draw { kRandom, kTies, kNaN };

Tensor argInput(std::mt19937& rng, DataType type, const std::vector<int64_t>& shape, Draw draw) {
  const int64_t n = count(shape);
  if (type == DataType::kInt32) {
    const int64_t range = draw == Draw::kRandom ? 1000 : 2;
    return randomIntegers(rng, type, shape, -range, range);
  }
  if (type == DataType::kInt64) {
    // Neighbours of +-2^40: equal in fp32, so a kernel comparing in fp32 would tie them.
    Tensor t(type, shape);
    std::uniform_int_distribution<int64_t> offset(-1, 1);
    std::bernoulli_distribution negative(0.5);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = (int64_t{1} << 40) + offset(rng);
      t.data<int64_t>()[i] = negative(rng) ? -v : v;
    }
    return t;
  }
  if (draw == Draw::kRandom) return randomTensor(rng, type, shape);
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> few = {-inf, -1.0, -0.0, 0.0, 1.0, inf};
  std::uniform_int_distribution<size_t> pick(0, few.size() - 1);
  std::bernoulli_distribution isNaN(0.15);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& e : v) e = draw == Draw::kNaN && isNaN(rng) ? nan : few[pick(rng)];
  // The first shape.back() elements NaN: where the last axis is reduced, a row of NaN only, whose first (or
  // last) NaN must win.
  if (draw == Draw::kNaN && !shape.empty()) {
    for (int64_t k = 0; k < shape.back() && k < n; ++k) v[static_cast<size_t>(k)] = nan;
  }
  return makeTensor(type, shape, v);
}

TEST(CudaArgMax, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(101);
  struct Case {
    std::vector<int64_t> shape;
    int64_t axis;
  };
  const std::vector<Case> cases = {
      {{7, 100}, -1},    // a classifier's logits: long rows, a warp each
      {{5, 4, 130}, 2},  // long rows under two outer dims
      {{2, 300}, 1},     //
      {{3, 5, 4}, 1},    // a middle axis: columns of 4
      {{40, 3}, 0},      // the first axis
      {{1, 33, 1}, -2},  // short rows of inner 1: a thread each
      {{9}, 0},          // 1-D
      {{2, 1, 6}, 1},    // an axis of size 1
      {{0, 5}, 1},       // an empty output
  };
  const DataType types[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt32,
                            DataType::kInt64};
  for (const char* op : {"ArgMax", "ArgMin"}) {
    for (DataType type : types) {
      const bool isFloat = type != DataType::kInt32 && type != DataType::kInt64;
      for (Draw draw : {Draw::kRandom, Draw::kTies, Draw::kNaN}) {
        if (!isFloat && draw == Draw::kNaN) continue;
        for (const Case& c : cases) {
          for (int64_t keepdims : {0, 1}) {
            for (int64_t selectLast : {0, 1}) {
              SCOPED_TRACE(std::string(op) + " " + std::string(dataTypeName(type)) + " draw " +
                           std::to_string(static_cast<int>(draw)) + " " + ir::formatSizes(c.shape) +
                           " axis " + std::to_string(c.axis) + " keepdims " + std::to_string(keepdims) +
                           " select_last_index " + std::to_string(selectLast));
              expectMatchesReference(
                  {.kernel = std::string(kernels::cuda::ownKernelName(type, op)),
                   .opType = op,
                   .opset = 13,
                   .attrs =
                       attrs({{"axis", c.axis}, {"keepdims", keepdims}, {"select_last_index", selectLast}}),
                   .inputs = {argInput(rng, type, c.shape, draw)},
                   .tolerance = 0.0});
            }
          }
        }
      }
    }
  }
}

// ---- GatherElements

// Indices of `shape` in [-size, size), as `type`.
Tensor someIndices(std::mt19937& rng, DataType type, const std::vector<int64_t>& shape, int64_t size) {
  std::vector<double> v(static_cast<size_t>(count(shape)));
  std::uniform_int_distribution<int64_t> dist(-size, size - 1);
  for (double& e : v) e = static_cast<double>(dist(rng));
  return makeTensor(type, shape, v);
}

TEST(CudaGatherElements, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(102);
  struct Case {
    std::vector<int64_t> data, indices;
    int64_t axis;
  };
  const std::vector<Case> cases = {
      {{4, 5}, {4, 3}, 1},
      {{3, 4, 5}, {2, 4, 5}, 0},
      {{3, 4, 5}, {3, 7, 5}, -2},  // more indices than the axis holds elements
      {{5, 6, 7}, {2, 3, 7}, 2},   // indices smaller than data on the other dims
      {{2, 3, 4, 5}, {2, 3, 4, 9}, -1},
      {{6}, {10}, 0},
      {{4, 3}, {2, 0}, 0},  // an empty output
  };
  for (DataType type : kMovedTypes) {
    for (DataType index : {DataType::kInt64, DataType::kInt32}) {
      for (const bool constant : {true, false}) {
        for (const Case& c : cases) {
          SCOPED_TRACE(std::string(dataTypeName(type)) + " data " + ir::formatSizes(c.data) + " indices " +
                       ir::formatSizes(c.indices) + " (" + std::string(dataTypeName(index)) +
                       (constant ? ", constant" : ", computed") + ") axis " + std::to_string(c.axis));
          const int64_t axis = c.axis < 0 ? c.axis + static_cast<int64_t>(c.data.size()) : c.axis;
          const int64_t size = c.data[static_cast<size_t>(axis)];
          expectMatchesReference(
              {.kernel = "x-gatherelements-cuda",
               .opType = "GatherElements",
               .opset = 13,
               .attrs = attrs({{"axis", c.axis}}),
               .inputs = {anyValues(rng, type, c.data), someIndices(rng, index, c.indices, size)},
               .constantSlots = constant ? std::vector<size_t>{1} : std::vector<size_t>{},
               .tolerance = 0.0});
        }
      }
    }
  }
}

// Indices computed at run time cannot be checked on the host: out of range, they give zero bytes. The
// others read what the reference reads.
TEST(CudaGatherElements, WritesZeroForIndicesOutOfRangeComputedAtRunTime) {
  LOWP_REQUIRE_GPU();
  const kernels::KernelDef* k = kernelNamed("x-gatherelements-cuda");
  ASSERT_NE(k, nullptr);
  std::vector<double> stored(12);
  for (size_t i = 0; i < stored.size(); ++i) stored[i] = static_cast<double>(i + 1);
  const Tensor data = makeTensor(DataType::kFloat32, {3, 4}, stored);
  for (DataType index : {DataType::kInt64, DataType::kInt32}) {
    SCOPED_TRACE(std::string(dataTypeName(index)));
    const Tensor indices = makeTensor(index, {3, 2}, {0, 4, -5, 3, -1, 100});
    NodeUnderTest n("GatherElements", "", 13, attrs({{"axis", int64_t{1}}}), {data, indices}, {});
    ASSERT_TRUE(n.status().isOk()) << n.status().toString();
    EXPECT_TRUE(k->supports(n.node(), n.inputShapes()));
    auto got = runOnGpu(*k, n.node(), {data, indices}, n.outputType(), n.outputShape());
    ASSERT_TRUE(got.isOk()) << got.status().toString();
    // Row 0 reads columns 0 and (4: out); row 1 (-5: out) and 3; row 2 -1 (3) and (100: out).
    EXPECT_EQ(values(*got), (std::vector<double>{1, 0, 0, 8, 12, 0}));
  }
}

TEST(CudaGatherElements, RejectsConstantIndicesOutOfRange) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(103);
  const Tensor data = anyValues(rng, DataType::kFloat32, {3, 4});
  const Tensor indices = makeTensor(DataType::kInt64, {3, 2}, {0, 1, 2, 3, -4, 4});
  NodeUnderTest n("GatherElements", "", 13, attrs({{"axis", int64_t{1}}}), {data, indices}, {1});
  expectRejectsIndicesOutOfRange("x-gatherelements-cuda", n, {data, indices}, "index 4 is outside axis 1");
}

// ---- Trilu

TEST(CudaTrilu, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(104);
  const std::vector<std::vector<int64_t>> shapes = {
      {5, 5}, {3, 4, 6}, {2, 2, 7, 3}, {1, 6, 1}, {2, 0, 4},
  };
  constexpr int64_t kLargest = std::numeric_limits<int64_t>::max();
  constexpr int64_t kSmallest = std::numeric_limits<int64_t>::min();
  // nullopt: no k input.
  const std::vector<std::optional<int64_t>> ks = {std::nullopt, 0, 1, 2, -1, -3, 7, -9, kLargest, kSmallest};
  for (DataType type : kMovedTypes) {
    for (const std::vector<int64_t>& shape : shapes) {
      for (int64_t upper : {1, 0}) {
        for (const std::optional<int64_t>& k : ks) {
          for (const bool constant : {true, false}) {
            if (!k && !constant) continue;
            SCOPED_TRACE(std::string(dataTypeName(type)) + " " + ir::formatSizes(shape) + " upper " +
                         std::to_string(upper) + " k " + (k ? std::to_string(*k) : "absent") +
                         (constant ? " (constant)" : " (computed)"));
            std::vector<Tensor> inputs = {anyValues(rng, type, shape)};
            std::vector<size_t> constants;
            if (k) {
              Tensor kTensor(DataType::kInt64, {});
              kTensor.data<int64_t>()[0] = *k;
              inputs.push_back(kTensor);
              if (constant) constants.push_back(1);
            }
            expectMatchesReference({.kernel = "x-trilu-cuda",
                                    .opType = "Trilu",
                                    .opset = 14,
                                    .attrs = attrs({{"upper", upper}}),
                                    .inputs = inputs,
                                    .constantSlots = constants,
                                    .tolerance = 0.0});
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace lowp::testing
