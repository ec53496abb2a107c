// ScatterElements, Scatter, ScatterND, GatherND and OneHot on the GPU (kernels/cuda/scatter.cpp) against the
// CPU reference kernels, bit for bit:
// - ScatterElements (opset 11 and 18) and Scatter (opset 10) of every moved type with reduction none, and of
//   fp32, fp16, bf16, int8, uint8, int32 and int64 with add, mul, max and min, along every axis (negative
//   axes too), indices smaller than data on other dims and more of them than the axis holds (so duplicate
//   targets are the rule: their updates must apply in the reference's order, each rounded in turn, for every
//   reduction, none included), negative indices, int32 and int64 indices that are graph constants or
//   computed at run time.
// - ScatterND of the same types and reductions, index rows addressing elements, slices and (rows of no
//   index) the whole tensor, duplicate rows, negative indices, no rows at all.
// - GatherND of every moved type with batch_dims 0, 1 and 2, rows addressing elements and slices, negative
//   indices, an empty output.
// - OneHot of every moved value type, int32 and int64 indices (negative ones, and ones outside [-depth,
//   depth), which give a row of "off"), depth of int64, int32 or fp32, along every axis.
// - What the kernels decline or refuse: OneHot with a depth computed at run time; index rows, or indices, out
//   of range where the graph knows them (an error naming the node); reductions on a type without them here.
//   Out-of-range indices computed at run time: a dropped update (scatter), zero bytes (GatherND).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

// The reductions with the opset that has each one (none also at opset 11, which has no attribute).
struct ReductionCase {
  const char* name;
  int64_t opset;
};
constexpr ReductionCase kReductions[] = {{"none", 11}, {"none", 18}, {"add", 18},
                                         {"mul", 18},  {"max", 18},  {"min", 18}};

// The types the reductions other than none take.
constexpr DataType kReducedTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                                      DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                                      DataType::kInt64};

// The types a reduction is tested on: every moved type for none, kReducedTypes for the others.
std::vector<DataType> typesFor(const ReductionCase& r) {
  if (std::string(r.name) == "none") return {std::begin(kMovedTypes), std::end(kMovedTypes)};
  return {std::begin(kReducedTypes), std::end(kReducedTypes)};
}

ir::AttributeMap reductionAttrs(const ReductionCase& r, ir::AttributeMap a = {}) {
  if (r.opset >= 16) a.set("reduction", std::string(r.name));
  return a;
}

// Data or updates of `type`: anyValues, with small magnitudes for mul (products of a few duplicates stay in
// range, and the integer ones never overflow).
Tensor valuesFor(std::mt19937& rng, DataType type, const std::vector<int64_t>& shape, bool forMul) {
  if (type == DataType::kUInt8) return randomIntegers(rng, type, shape, 0, forMul ? 3 : 255);
  if (type == DataType::kInt32)
    return randomIntegers(rng, type, shape, forMul ? -3 : -1000000, forMul ? 3 : 1000000);
  if (!forMul) return anyValues(rng, type, shape);
  if (type == DataType::kInt8) return randomIntegers(rng, type, shape, -3, 3);
  if (type == DataType::kInt64) {
    std::vector<double> v(static_cast<size_t>(count(shape)));
    std::uniform_int_distribution<int64_t> dist(-3, 3);
    for (double& e : v) e = static_cast<double>(dist(rng));
    return makeTensor(type, shape, v);
  }
  return randomTensor(rng, type, shape, -1.5, 1.5);
}

// Indices of `shape` in [-size, size), as `type`.
Tensor someIndices(std::mt19937& rng, DataType type, const std::vector<int64_t>& shape, int64_t size) {
  std::vector<double> v(static_cast<size_t>(count(shape)));
  std::uniform_int_distribution<int64_t> dist(-size, size - 1);
  for (double& e : v) e = static_cast<double>(dist(rng));
  return makeTensor(type, shape, v);
}

// Int64 index rows of `shape` (rows of shape.back() indices): index k of a row in [-size, size) of data's dim
// first + k.
Tensor indexRows(std::mt19937& rng, const std::vector<int64_t>& shape, const std::vector<int64_t>& data,
                 size_t first) {
  std::vector<double> v(static_cast<size_t>(count(shape)));
  const auto last = static_cast<size_t>(shape.back());
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t size = data[first + i % last];
    std::uniform_int_distribution<int64_t> dist(-size, size - 1);
    v[i] = static_cast<double>(dist(rng));
  }
  return makeTensor(DataType::kInt64, shape, v);
}

// ---- ScatterElements, Scatter

TEST(CudaScatterElements, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(201);
  struct Case {
    std::vector<int64_t> data, indices;
    int64_t axis;
  };
  const std::vector<Case> cases = {
      {{4, 5}, {4, 3}, 1},
      {{3, 4, 5}, {6, 4, 5}, 0},  // more indices than the axis holds elements: duplicates throughout
      {{3, 4, 5}, {3, 7, 2}, -2},
      {{5, 6, 7}, {2, 3, 7}, 2},  // indices smaller than data on the other dims
      {{2, 3, 4, 5}, {2, 3, 4, 9}, -1},
      {{6}, {40}, 0},       // many duplicates of each target
      {{4, 3}, {2, 0}, 0},  // no updates: a copy of data
  };
  for (const ReductionCase& r : kReductions) {
    const bool mul = std::string(r.name) == "mul";
    for (DataType type : typesFor(r)) {
      for (DataType index : {DataType::kInt64, DataType::kInt32}) {
        for (const bool constant : {true, false}) {
          for (const Case& c : cases) {
            SCOPED_TRACE(std::string(r.name) + " (opset " + std::to_string(r.opset) + ") " +
                         std::string(dataTypeName(type)) + " data " + ir::formatSizes(c.data) + " indices " +
                         ir::formatSizes(c.indices) + " (" + std::string(dataTypeName(index)) +
                         (constant ? ", constant" : ", computed") + ") axis " + std::to_string(c.axis));
            const int64_t axis = c.axis < 0 ? c.axis + static_cast<int64_t>(c.data.size()) : c.axis;
            const int64_t size = c.data[static_cast<size_t>(axis)];
            expectMatchesReference(
                {.kernel = "x-scatterelements-cuda",
                 .opType = "ScatterElements",
                 .opset = r.opset,
                 .attrs = reductionAttrs(r, attrs({{"axis", c.axis}})),
                 .inputs = {valuesFor(rng, type, c.data, mul), someIndices(rng, index, c.indices, size),
                            valuesFor(rng, type, c.indices, mul)},
                 .constantSlots = constant ? std::vector<size_t>{1} : std::vector<size_t>{},
                 .tolerance = 0.0});
          }
        }
      }
    }
  }
}

// The old Scatter (opset 9 and 10): ScatterElements without reductions.
TEST(CudaScatter, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(202);
  for (DataType type : kMovedTypes) {
    for (int64_t axis : {0, 1, -1}) {
      SCOPED_TRACE(std::string(dataTypeName(type)) + " axis " + std::to_string(axis));
      const std::vector<int64_t> data = {3, 4};
      // More indices along the axis than it holds: duplicates.
      const std::vector<int64_t> indices =
          axis == 0 ? std::vector<int64_t>{5, 4} : std::vector<int64_t>{3, 6};
      const int64_t size = data[static_cast<size_t>(axis < 0 ? axis + 2 : axis)];
      expectMatchesReference(
          {.kernel = "x-scatter-cuda",
           .opType = "Scatter",
           .opset = 10,
           .attrs = attrs({{"axis", axis}}),
           .inputs = {anyValues(rng, type, data), someIndices(rng, DataType::kInt64, indices, size),
                      anyValues(rng, type, indices)},
           .tolerance = 0.0});
    }
  }
}

TEST(CudaScatterElements, RejectsConstantIndicesOutOfRange) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(203);
  const Tensor data = anyValues(rng, DataType::kFloat32, {3, 4});
  const Tensor indices = makeTensor(DataType::kInt64, {3, 2}, {0, 1, 2, 3, -4, 4});
  const Tensor updates = anyValues(rng, DataType::kFloat32, {3, 2});
  NodeUnderTest n("ScatterElements", "", 18, attrs({{"axis", int64_t{1}}}), {data, indices, updates}, {1});
  expectRejectsIndicesOutOfRange("x-scatterelements-cuda", n, {data, indices, updates},
                                 "index 4 is outside axis 1");
}

// Indices computed at run time cannot be checked on the host: out of range, they drop their update.
TEST(CudaScatterElements, DropsUpdatesOutOfRangeComputedAtRunTime) {
  LOWP_REQUIRE_GPU();
  const kernels::KernelDef* k = kernelNamed("x-scatterelements-cuda");
  ASSERT_NE(k, nullptr);
  const Tensor data = makeTensor(DataType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor updates = makeTensor(DataType::kFloat32, {2, 2}, {10, 20, 30, 40});
  for (DataType index : {DataType::kInt64, DataType::kInt32}) {
    SCOPED_TRACE(std::string(dataTypeName(index)));
    const Tensor indices = makeTensor(index, {2, 2}, {3, -1, -4, 0});
    NodeUnderTest n("ScatterElements", "", 18,
                    attrs({{"axis", int64_t{1}}, {"reduction", std::string("add")}}),
                    {data, indices, updates}, {});
    ASSERT_TRUE(n.status().isOk()) << n.status().toString();
    GpuRunOptions options;
    options.knownInputs = std::vector<size_t>{0, 2};
    auto got = runOnGpu(*k, n.node(), {data, indices, updates}, n.outputType(), n.outputShape(), options);
    ASSERT_TRUE(got.isOk()) << got.status().toString();
    // Row 0: 3 (out), -1 adds 20 to column 2; row 1: -4 (out), 0 adds 40 to column 0.
    EXPECT_EQ(values(*got), (std::vector<double>{1, 2, 23, 44, 5, 6}));
  }
}

// add / mul / max / min on a type the kernel has no arithmetic for (fp64, int16) are declined; none moves
// them as words.
TEST(CudaScatterElements, DeclinesReductionsWithoutArithmetic) {
  LOWP_REQUIRE_GPU();
  const kernels::KernelDef* k = kernelNamed("x-scatterelements-cuda");
  ASSERT_NE(k, nullptr);
  for (DataType type : {DataType::kFloat64, DataType::kInt16}) {
    SCOPED_TRACE(std::string(dataTypeName(type)));
    const Tensor data = makeTensor(type, {2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor indices = makeTensor(DataType::kInt64, {2, 1}, {1, 2});
    const Tensor updates = makeTensor(type, {2, 1}, {7, 8});
    NodeUnderTest none("ScatterElements", "", 18, attrs({{"axis", int64_t{1}}}), {data, indices, updates},
                       {});
    ASSERT_TRUE(none.status().isOk()) << none.status().toString();
    EXPECT_TRUE(k->supports(none.node(), none.inputShapes()));
    auto moved = runOnGpu(*k, none.node(), {data, indices, updates}, none.outputType(), none.outputShape());
    ASSERT_TRUE(moved.isOk()) << moved.status().toString();
    EXPECT_EQ(values(*moved), (std::vector<double>{1, 7, 3, 4, 5, 8}));
    NodeUnderTest add("ScatterElements", "", 18,
                      attrs({{"axis", int64_t{1}}, {"reduction", std::string("add")}}),
                      {data, indices, updates}, {});
    ASSERT_TRUE(add.status().isOk()) << add.status().toString();
    EXPECT_FALSE(k->supports(add.node(), add.inputShapes()));
    auto declined = runOnGpu(*k, add.node(), {data, indices, updates}, add.outputType(), add.outputShape());
    ASSERT_FALSE(declined.isOk());
    EXPECT_EQ(declined.status().code(), StatusCode::kUnsupported);
    EXPECT_EQ(declined.status().node(), add.node().name);
  }
}

// ---- ScatterND

TEST(CudaScatterND, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(204);
  struct Case {
    std::vector<int64_t> data, indices;
  };
  const std::vector<Case> cases = {
      {{4, 5, 6}, {3, 1}},     // rows of one index: slices [5, 6]
      {{4, 5, 6}, {2, 4, 2}},  // slices [6], rows of rank 2
      {{3, 4, 5}, {30, 3}},    // single elements, many duplicates
      {{2, 3}, {5, 2}},        //
      {{7}, {12, 1}},          // 1-D data
      {{2, 3, 4}, {3, 0}},     // rows of no index: each replaces the whole tensor
      {{4, 3}, {0, 1}},        // no rows: a copy of data
  };
  for (const ReductionCase& r : kReductions) {
    const bool mul = std::string(r.name) == "mul";
    for (DataType type : typesFor(r)) {
      for (const bool constant : {true, false}) {
        for (const Case& c : cases) {
          SCOPED_TRACE(std::string(r.name) + " (opset " + std::to_string(r.opset) + ") " +
                       std::string(dataTypeName(type)) + " data " + ir::formatSizes(c.data) + " indices " +
                       ir::formatSizes(c.indices) + (constant ? " (constant)" : " (computed)"));
          std::vector<int64_t> updates(c.indices.begin(), c.indices.end() - 1);
          updates.insert(updates.end(), c.data.begin() + c.indices.back(), c.data.end());
          expectMatchesReference(
              {.kernel = "x-scatternd-cuda",
               .opType = "ScatterND",
               .opset = r.opset,
               .attrs = reductionAttrs(r),
               .inputs = {valuesFor(rng, type, c.data, mul), indexRows(rng, c.indices, c.data, 0),
                          valuesFor(rng, type, updates, mul)},
               .constantSlots = constant ? std::vector<size_t>{1} : std::vector<size_t>{},
               .tolerance = 0.0});
        }
      }
    }
  }
}

TEST(CudaScatterND, RejectsConstantIndicesOutOfRange) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(205);
  const Tensor data = anyValues(rng, DataType::kFloat32, {3, 4});
  const Tensor indices = makeTensor(DataType::kInt64, {2, 2}, {0, 1, -3, 4});
  const Tensor updates = anyValues(rng, DataType::kFloat32, {2});
  NodeUnderTest n("ScatterND", "", 18, {}, {data, indices, updates}, {1});
  expectRejectsIndicesOutOfRange("x-scatternd-cuda", n, {data, indices, updates}, "index 4 is outside dim 1");
}

TEST(CudaScatterND, DropsUpdatesOutOfRangeComputedAtRunTime) {
  LOWP_REQUIRE_GPU();
  const kernels::KernelDef* k = kernelNamed("x-scatternd-cuda");
  ASSERT_NE(k, nullptr);
  const Tensor data = makeTensor(DataType::kFloat32, {3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor indices = makeTensor(DataType::kInt64, {3, 1}, {-1, 3, -4});
  const Tensor updates = makeTensor(DataType::kFloat32, {3, 2}, {10, 20, 30, 40, 50, 60});
  NodeUnderTest n("ScatterND", "", 18, {}, {data, indices, updates}, {});
  ASSERT_TRUE(n.status().isOk()) << n.status().toString();
  GpuRunOptions options;
  options.knownInputs = std::vector<size_t>{0, 2};
  auto got = runOnGpu(*k, n.node(), {data, indices, updates}, n.outputType(), n.outputShape(), options);
  ASSERT_TRUE(got.isOk()) << got.status().toString();
  // Row 0 (-1) replaces row 2; rows 1 (3) and 2 (-4) are out of range.
  EXPECT_EQ(values(*got), (std::vector<double>{1, 2, 3, 4, 10, 20}));
}

// ---- GatherND

TEST(CudaGatherND, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(206);
  struct Case {
    std::vector<int64_t> data, indices;
    int64_t batchDims;
  };
  const std::vector<Case> cases = {
      {{4, 5}, {3, 2}, 0},              // elements
      {{4, 5, 6}, {2, 3, 1}, 0},        // slices [5, 6]
      {{6}, {4, 1}, 0},                 //
      {{2, 4, 5}, {2, 3, 1}, 1},        // a batch dim: slices [5]
      {{2, 3, 4}, {2, 2}, 1},           // a batch dim: elements
      {{2, 3, 4, 5}, {2, 3, 2, 1}, 2},  // two batch dims
      {{3, 2, 4, 5}, {3, 2, 6, 2}, 2},  // two batch dims, rows of two indices
      {{3, 4}, {0, 2}, 0},              // an empty output
  };
  for (DataType type : kMovedTypes) {
    for (const bool constant : {true, false}) {
      for (const Case& c : cases) {
        SCOPED_TRACE(std::string(dataTypeName(type)) + " data " + ir::formatSizes(c.data) + " indices " +
                     ir::formatSizes(c.indices) + " batch_dims " + std::to_string(c.batchDims) +
                     (constant ? " (constant)" : " (computed)"));
        expectMatchesReference(
            {.kernel = "x-gathernd-cuda",
             .opType = "GatherND",
             .opset = 13,
             .attrs = attrs({{"batch_dims", c.batchDims}}),
             .inputs = {anyValues(rng, type, c.data),
                        indexRows(rng, c.indices, c.data, static_cast<size_t>(c.batchDims))},
             .constantSlots = constant ? std::vector<size_t>{1} : std::vector<size_t>{},
             .tolerance = 0.0});
      }
    }
  }
}

TEST(CudaGatherND, RejectsConstantIndicesOutOfRange) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(207);
  const Tensor data = anyValues(rng, DataType::kFloat32, {2, 3, 4});
  // batch_dims 1: the rows index dims 1 and 2.
  const Tensor indices = makeTensor(DataType::kInt64, {2, 2}, {2, -4, -3, 4});
  NodeUnderTest n("GatherND", "", 13, attrs({{"batch_dims", int64_t{1}}}), {data, indices}, {1});
  expectRejectsIndicesOutOfRange("x-gathernd-cuda", n, {data, indices}, "index 4 is outside dim 2");
}

TEST(CudaGatherND, WritesZeroForIndicesOutOfRangeComputedAtRunTime) {
  LOWP_REQUIRE_GPU();
  const kernels::KernelDef* k = kernelNamed("x-gathernd-cuda");
  ASSERT_NE(k, nullptr);
  const Tensor data = makeTensor(DataType::kFloat32, {3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor indices = makeTensor(DataType::kInt64, {3, 1}, {-1, 3, 0});
  NodeUnderTest n("GatherND", "", 13, {}, {data, indices}, {});
  ASSERT_TRUE(n.status().isOk()) << n.status().toString();
  GpuRunOptions options;
  options.knownInputs = std::vector<size_t>{0};
  auto got = runOnGpu(*k, n.node(), {data, indices}, n.outputType(), n.outputShape(), options);
  ASSERT_TRUE(got.isOk()) << got.status().toString();
  EXPECT_EQ(values(*got), (std::vector<double>{5, 6, 0, 0, 1, 2}));
}

// ---- OneHot

TEST(CudaOneHot, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(208);
  const std::vector<std::vector<int64_t>> shapes = {{5}, {3, 4}, {2, 3, 4}, {0, 3}};
  for (DataType type : kMovedTypes) {
    for (DataType index : {DataType::kInt64, DataType::kInt32}) {
      for (DataType depthType : {DataType::kInt64, DataType::kInt32, DataType::kFloat32}) {
        for (const std::vector<int64_t>& shape : shapes) {
          const auto rank = static_cast<int64_t>(shape.size());
          for (int64_t axis = -rank - 1; axis <= rank; ++axis) {
            for (int64_t depth : {1, 6}) {
              SCOPED_TRACE(std::string(dataTypeName(type)) + " indices " + ir::formatSizes(shape) + " (" +
                           std::string(dataTypeName(index)) + ") depth " + std::to_string(depth) + " (" +
                           std::string(dataTypeName(depthType)) + ") axis " + std::to_string(axis));
              // Indices in [-depth - 2, depth + 2): negative ones, and ones outside [-depth, depth).
              expectMatchesReference({.kernel = "x-onehot-cuda",
                                      .opType = "OneHot",
                                      .opset = 11,
                                      .attrs = attrs({{"axis", axis}}),
                                      .inputs = {someIndices(rng, index, shape, depth + 2),
                                                 makeTensor(depthType, {}, {static_cast<double>(depth)}),
                                                 anyValues(rng, type, {2})},
                                      .constantSlots = {1},
                                      .tolerance = 0.0});
            }
          }
        }
      }
    }
  }
}

// A depth computed at run time cannot shape the output while planning: declined, and the kernel says so
// naming the node.
TEST(CudaOneHot, DeclinesDepthComputedAtRunTime) {
  LOWP_REQUIRE_GPU();
  const kernels::KernelDef* k = kernelNamed("x-onehot-cuda");
  ASSERT_NE(k, nullptr);
  const Tensor indices = makeTensor(DataType::kInt64, {3}, {0, 2, -1});
  const Tensor depth = makeTensor(DataType::kInt64, {}, {4});
  const Tensor values = makeTensor(DataType::kFloat32, {2}, {0, 1});
  NodeUnderTest n("OneHot", "", 11, {}, {indices, depth, values}, {});
  ASSERT_TRUE(n.status().isOk()) << n.status().toString();
  EXPECT_FALSE(k->supports(n.node(), n.inputShapes()));
  GpuRunOptions options;
  options.knownInputs = std::vector<size_t>{};
  auto got = runOnGpu(*k, n.node(), {indices, depth, values}, DataType::kFloat32, {3, 4}, options);
  ASSERT_FALSE(got.isOk());
  EXPECT_EQ(got.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(got.status().node(), n.node().name);
  EXPECT_NE(got.status().message().find("depth known while planning"), std::string::npos)
      << got.status().toString();
}

}  // namespace
}  // namespace lowp::testing
