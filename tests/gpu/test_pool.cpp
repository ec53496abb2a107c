// MaxPool, AveragePool and GlobalAveragePool on the GPU (kernels/cuda/pool.cpp) against the CPU reference
// kernels, NCHW and NHWC, with padding, strides, dilations, ceil_mode and count_include_pad.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

const TypeCase kTypes[] = {{DataType::kFloat32, "f32", 1e-6},
                           {DataType::kFloat16, "f16", 1e-2},
                           {DataType::kBFloat16, "bf16", 1e-2}};

TEST(CudaPool, MaxAndAverageMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(41);
  struct Window {
    std::vector<int64_t> kernel, pads, strides, dilations;
    int64_t ceil;
  };
  const std::vector<Window> windows = {
      {{3, 3}, {1, 1, 1, 1}, {2, 2}, {1, 1}, 0},
      {{2, 2}, {0, 0, 0, 0}, {2, 2}, {1, 1}, 1},  // ceil mode: a last window past the input
      {{3, 2}, {1, 0, 2, 1}, {1, 2}, {1, 1}, 0},  // asymmetric padding
      {{3, 3}, {0, 0, 0, 0}, {1, 1}, {2, 2}, 0},  // dilation (MaxPool only)
  };
  // 5 channels: one element per thread; 16: whole 16-byte vectors of channels in NHWC.
  for (const TypeCase& t : kTypes) {
    for (size_t w = 0; w < windows.size() * 2; ++w) {
      for (bool hwc : {false, true}) {
        const Window& win = windows[w % windows.size()];
        const int64_t channels = w < windows.size() ? 5 : 16;
        SCOPED_TRACE(std::string(t.prefix) + " window " + std::to_string(w % windows.size()) + ", " +
                     std::to_string(channels) + " channels" + (hwc ? " hwc" : ""));
        const Tensor x = randomTensor(rng, t.type, {2, channels, 17, 13});
        const std::string suffix = hwc ? "-cuda-hwc" : "-cuda";
        const ir::AttributeMap base = attrs({{"kernel_shape", win.kernel},
                                             {"pads", win.pads},
                                             {"strides", win.strides},
                                             {"ceil_mode", win.ceil}});
        ir::AttributeMap maxAttrs = base;
        maxAttrs.set("dilations", win.dilations);
        expectMatchesReference({.kernel = std::string(t.prefix) + "-maxpool" + suffix,
                                .opType = "MaxPool",
                                .opset = 12,
                                .attrs = maxAttrs,
                                .inputs = {x},
                                .tolerance = 0.0});
        if (win.dilations[0] != 1) continue;
        for (int64_t includePad : {0, 1}) {
          ir::AttributeMap avgAttrs = base;
          avgAttrs.set("count_include_pad", includePad);
          expectMatchesReference({.kernel = std::string(t.prefix) + "-averagepool" + suffix,
                                  .opType = "AveragePool",
                                  .opset = 11,
                                  .attrs = avgAttrs,
                                  .inputs = {x},
                                  .tolerance = t.tolerance});
        }
      }
    }
  }
}

// 1-D windows (over [N, C, W]) run as 2-D ones of height 1.
TEST(CudaPool, OneDimensionalMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(43);
  struct Window {
    int64_t kernel, padBegin, padEnd, stride, dilation, ceil;
  };
  const Window windows[] = {{3, 1, 1, 2, 1, 0}, {2, 0, 0, 2, 1, 1}, {4, 2, 1, 1, 1, 0}, {3, 0, 0, 1, 2, 0}};
  for (const TypeCase& t : kTypes) {
    for (const Window& win : windows) {
      for (bool hwc : {false, true}) {
        SCOPED_TRACE(std::string(t.prefix) + " kernel " + std::to_string(win.kernel) + " stride " +
                     std::to_string(win.stride) + " dilation " + std::to_string(win.dilation) +
                     (hwc ? " nwc" : ""));
        const Tensor x = randomTensor(rng, t.type, {2, 16, 29});
        const std::string suffix = hwc ? "-cuda-hwc" : "-cuda";
        ir::AttributeMap a = attrs({{"kernel_shape", std::vector<int64_t>{win.kernel}},
                                    {"pads", std::vector<int64_t>{win.padBegin, win.padEnd}},
                                    {"strides", std::vector<int64_t>{win.stride}},
                                    {"ceil_mode", win.ceil}});
        ir::AttributeMap maxAttrs = a;
        maxAttrs.set("dilations", std::vector<int64_t>{win.dilation});
        expectMatchesReference({.kernel = std::string(t.prefix) + "-maxpool" + suffix,
                                .opType = "MaxPool",
                                .opset = 12,
                                .attrs = maxAttrs,
                                .inputs = {x},
                                .tolerance = 0.0});
        if (win.dilation != 1) continue;
        a.set("count_include_pad", int64_t{1});
        expectMatchesReference({.kernel = std::string(t.prefix) + "-averagepool" + suffix,
                                .opType = "AveragePool",
                                .opset = 11,
                                .attrs = a,
                                .inputs = {x},
                                .tolerance = t.tolerance});
      }
    }
  }
}

TEST(CudaPool, GlobalAverageMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(42);
  const std::vector<std::vector<int64_t>> shapes = {
      {3, 7, 9, 11}, {2, 64, 7, 7}, {2, 5, 33}, {1, 3, 4, 5, 6}};
  for (const TypeCase& t : kTypes) {
    for (const auto& shape : shapes) {
      for (bool hwc : {false, true}) {
        SCOPED_TRACE(std::string(t.prefix) + " " + ir::formatSizes(shape) + (hwc ? " hwc" : ""));
        expectMatchesReference(
            {.kernel = std::string(t.prefix) + "-globalaveragepool" + (hwc ? "-cuda-hwc" : "-cuda"),
             .opType = "GlobalAveragePool",
             .inputs = {randomTensor(rng, t.type, shape)},
             .tolerance = t.type == DataType::kFloat32 ? 1e-5 : t.tolerance});
      }
    }
  }
}

TEST(CudaPool, DeclinesMaxPoolIndices) {
  std::mt19937 rng(43);
  const kernels::KernelDef* k = kernelNamed("f32-maxpool-cuda");
  ASSERT_NE(k, nullptr);
  ir::Graph graph;
  ir::Node* node = graph.addNode("MaxPool", "pool");
  node->opsetVersion = 12;
  node->attributes = attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}});
  ir::Value* x = graph.addValue("x").value();
  x->type = DataType::kFloat32;
  x->shape = ir::Shape::fromSizes({1, 2, 4, 4});
  graph.setInput(node, 0, x);
  ASSERT_TRUE(graph.addOutput(node, graph.addValue("y").value()).isOk());
  EXPECT_TRUE(k->supports(*node, {x->shape}));
  ASSERT_TRUE(graph.addOutput(node, graph.addValue("indices").value()).isOk());
  EXPECT_FALSE(k->supports(*node, {x->shape}));
}

}  // namespace
}  // namespace lowp::testing
