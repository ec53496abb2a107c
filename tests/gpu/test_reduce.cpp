// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceSumSquare, ReduceL1 and ReduceL2 on the GPU
// (kernels/cuda/reduce.cpp) against the CPU reference kernels: rows (the reduced axes last), columns (axes
// before others), all axes, size-1 dims among the reduced ones, axes apart from each other, keepdims,
// noop_with_empty_axes, axes as an attribute (opset 13) and as a constant input (opset 18), in fp32, fp16
// and bf16.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "kernels/cuda/kernel_util.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

struct ReduceCase {
  std::vector<int64_t> x;
  std::vector<int64_t> axes;
  int64_t keepdims;
  int64_t noopWithEmptyAxes = 0;
};

const std::vector<ReduceCase> kCases = {
    {{2, 24, 7, 9}, {2, 3}, 1},          // a squeeze-and-excitation's spatial mean
    {{3, 5, 300}, {-1}, 0},              // the last axis, long rows
    {{2, 40, 6, 5}, {1}, 1},             // channels: columns of 30 inner elements
    {{4, 33}, {0}, 0},                   // the first axis
    {{2, 1, 5, 7}, {1, 2}, 0},           // a size-1 dim among the reduced ones
    {{2, 3, 4}, {}, 1},                  // every axis
    {{2, 3, 4}, {}, 0, 1},               // no axis: a copy
    {{6, 0, 3}, {1}, 1},                 // an empty reduction: ONNX's identity
    {{2, 24, 7, 9}, {0, 2, 3}, 1},       // axes apart: a MeanVarianceNormalization's N, H and W
    {{3, 4, 5, 6}, {1, 3}, 0},           // alternating
    {{2, 3, 1, 4, 5, 6}, {0, 3, 5}, 1},  // three reduced runs, a size-1 dim between
    {{2, 0, 3, 4}, {0, 2}, 1},           // apart, around an empty kept dim
};

struct Op {
  const char* type;
  bool exact;  ///< Max and Min pick an element: bit for bit.
};
const Op kOps[] = {{"ReduceSum", false}, {"ReduceMean", false},      {"ReduceMax", true},
                   {"ReduceMin", true},  {"ReduceSumSquare", false}, {"ReduceL1", false},
                   {"ReduceL2", false}};

struct Precision {
  DataType type;
  const char* prefix;
  double tolerance;  ///< fp32 sums in another order than the reference, one rounding to the type
};
const Precision kPrecisions[] = {{DataType::kFloat32, "f32", 1e-5},
                                 {DataType::kFloat16, "f16", 1e-3},
                                 {DataType::kBFloat16, "bf16", 8e-3}};

std::string lowerCase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(CudaReduce, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(61);
  for (const Op& op : kOps) {
    for (const Precision& p : kPrecisions) {
      for (const ReduceCase& c : kCases) {
        for (const int64_t opset : {13, 18}) {
          SCOPED_TRACE(std::string(op.type) + " " + p.prefix + " " + ir::formatSizes(c.x) + " axes " +
                       ir::formatSizes(c.axes) + " opset " + std::to_string(opset));
          ir::AttributeMap a = attrs({{"keepdims", c.keepdims}});
          if (c.noopWithEmptyAxes != 0) {
            if (opset < 18) continue;  // noop_with_empty_axes came with opset 18
            a.set("noop_with_empty_axes", c.noopWithEmptyAxes);
          }
          std::vector<Tensor> inputs = {randomTensor(rng, p.type, c.x)};
          std::vector<size_t> constants;
          if (opset >= 18) {
            inputs.push_back(c.axes.empty()
                                 ? Tensor()
                                 : makeTensor(DataType::kInt64, {static_cast<int64_t>(c.axes.size())},
                                              std::vector<double>(c.axes.begin(), c.axes.end())));
            constants = {1};
          } else if (!c.axes.empty()) {
            a.set("axes", c.axes);
          }
          expectMatchesReference({.kernel = std::string(p.prefix) + "-" + lowerCase(op.type) + "-cuda",
                                  .opType = op.type,
                                  .opset = opset,
                                  .attrs = a,
                                  .inputs = inputs,
                                  .constantSlots = constants,
                                  .tolerance = op.exact ? 0.0 : p.tolerance});
        }
      }
    }
  }
}

// Axes computed at run time are declined (the output's shape would depend on them); axes apart from each
// other are taken, up to 4 runs of each kind.
TEST(CudaReduce, DeclinesAxesItCannotView) {
  std::mt19937 rng(62);
  const kernels::KernelDef* k = kernelNamed("f32-reducemean-cuda");
  ASSERT_NE(k, nullptr);
  const Tensor x = randomTensor(rng, DataType::kFloat32, {2, 3, 4});
  NodeUnderTest apart("ReduceMean", "", 13, attrs({{"axes", std::vector<int64_t>{0, 2}}}), {x}, {});
  ASSERT_TRUE(apart.status().isOk()) << apart.status().toString();
  EXPECT_TRUE(k->supports(apart.node(), apart.inputShapes()));
  const Tensor axes = makeTensor(DataType::kInt64, {1}, {1});
  NodeUnderTest computed("ReduceMean", "", 18, attrs({}), {x, axes}, {});
  ASSERT_TRUE(computed.status().isOk()) << computed.status().toString();
  EXPECT_FALSE(k->supports(computed.node(), computed.inputShapes()));
  NodeUnderTest constant("ReduceMean", "", 18, attrs({}), {x, axes}, {1});
  ASSERT_TRUE(constant.status().isOk()) << constant.status().toString();
  EXPECT_TRUE(k->supports(constant.node(), constant.inputShapes()));
}

// CumSum and CumProd scan each column in the reference's order: identical results, exclusive and reverse
// alike; integers wrap.
TEST(CudaCumSum, MatchesTheReferenceExactly) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(63);
  struct Case {
    std::vector<int64_t> x;
    int64_t axis;
  };
  const Case cases[] = {{{2, 30, 5}, 1}, {{100}, 0}, {{3, 4}, -1}, {{4, 3, 2}, 0}};
  for (DataType t :
       {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt32, DataType::kInt64}) {
    for (const char* op : {"CumSum", "CumProd"}) {
      std::string name = op;
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (const Case& c : cases) {
        for (int64_t exclusive : {0, 1}) {
          for (int64_t reverse : {0, 1}) {
            SCOPED_TRACE(std::string(op) + " " + std::string(dataTypeName(t)) + " " + ir::formatSizes(c.x) +
                         " axis " + std::to_string(c.axis) + (exclusive != 0 ? " exclusive" : "") +
                         (reverse != 0 ? " reverse" : ""));
            const bool product = std::string(op) == "CumProd";
            // Products near 1 stay finite; integer sums of large values wrap.
            Tensor x;
            if (ir::isFloat(t)) {
              x = randomTensor(rng, t, c.x, product ? 0.8 : -2.0, product ? 1.2 : 2.0);
            } else {
              std::uniform_int_distribution<int64_t> value(product ? -3 : -2000000000,
                                                           product ? 3 : 2000000000);
              std::vector<double> values(static_cast<size_t>(count(c.x)));
              for (double& v : values) v = static_cast<double>(value(rng));
              x = makeTensor(t, c.x, values);
            }
            expectMatchesReference(
                {.kernel = std::string(kernels::cuda::shortTypeName(t)) + "-" + name + "-cuda",
                 .opType = op,
                 .opset = product ? 26 : 14,
                 .attrs = attrs({{"exclusive", exclusive}, {"reverse", reverse}}),
                 .inputs = {x, makeTensor(DataType::kInt64, {}, {static_cast<double>(c.axis)})},
                 .constantSlots = {1},
                 .tolerance = 0.0});
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace lowp::testing
