// Softmax, LogSoftmax and Hardmax on the GPU (kernels/cuda/softmax.cpp) against the CPU reference kernels.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

TEST(CudaSoftmax, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(51);
  const std::vector<std::vector<int64_t>> shapes = {{7, 33}, {2, 12, 128, 128}, {5, 1000}, {3, 4099}, {9, 1}};
  for (const TypeCase& t :
       {TypeCase{DataType::kFloat32, "f32", 1e-5}, TypeCase{DataType::kFloat16, "f16", 1e-2},
        TypeCase{DataType::kBFloat16, "bf16", 1e-2}}) {
    for (const auto& shape : shapes) {
      SCOPED_TRACE(std::string(t.prefix) + " " + ir::formatSizes(shape));
      // A wide range, so that the maximum's subtraction matters.
      const Tensor x = randomTensor(rng, t.type, shape, -20.0, 20.0);
      expectMatchesReference({.kernel = std::string(t.prefix) + "-softmax-cuda",
                              .opType = "Softmax",
                              .opset = 13,
                              .inputs = {x},
                              .tolerance = t.tolerance});
      expectMatchesReference({.kernel = std::string(t.prefix) + "-softmax-cuda",
                              .opType = "Softmax",
                              .opset = 11,
                              .attrs = attrs({{"axis", static_cast<int64_t>(shape.size()) - 1}}),
                              .inputs = {x},
                              .tolerance = t.tolerance});
    }
  }
}

// Softmax, LogSoftmax and Hardmax along every axis (one thread per column where the axis is not the last),
// and opset 11's flattening at an inner axis.
TEST(CudaSoftmax, EveryKindAndAxisMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(52);
  const std::vector<int64_t> shape = {3, 17, 5, 40};
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    std::string name = op;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (DataType type : {DataType::kFloat32, DataType::kFloat16}) {
      const std::string kernel = std::string(type == DataType::kFloat32 ? "f32-" : "f16-") + name + "-cuda";
      // Hardmax picks an element: ties are likely in fp16 and must resolve as the reference resolves them.
      const Tensor x = randomTensor(rng, type, shape, -8.0, 8.0);
      const double tolerance =
          std::string(op) == "Hardmax" ? 0.0 : (type == DataType::kFloat32 ? 1e-5 : 1e-2);
      for (int64_t axis : {0, 1, 2, -1}) {
        SCOPED_TRACE(kernel + " axis " + std::to_string(axis));
        expectMatchesReference({.kernel = kernel,
                                .opType = op,
                                .opset = 13,
                                .attrs = attrs({{"axis", axis}}),
                                .inputs = {x},
                                .tolerance = tolerance});
      }
      SCOPED_TRACE(kernel + " opset 11, axis 1");
      expectMatchesReference({.kernel = kernel,
                              .opType = op,
                              .opset = 11,
                              .attrs = attrs({{"axis", int64_t{1}}}),
                              .inputs = {x},
                              .tolerance = tolerance});
    }
  }
  // A NaN counts as Hardmax's maximum, the first of equal values wins.
  const Tensor special = makeTensor(DataType::kFloat32, {3, 4}, {1, 3, 3, 2, 5, NAN, 7, NAN, -1, -1, -1, -1});
  expectMatchesReference(
      {.kernel = "f32-hardmax-cuda", .opType = "Hardmax", .inputs = {special}, .tolerance = 0.0});
}

}  // namespace
}  // namespace lowp::testing
