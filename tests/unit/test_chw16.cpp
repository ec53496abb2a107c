// Blocked-channel (kChw16) tensors on the CPU: the lowp.Reformat kernels (kernels/cpu/reformat.cpp) against
// ir::reorderChannelBlocks (and ir::reorderChannelsLast), the padding written as zeros; and the
// {f32,bf16}-{conv,fusedconv}-onednn-{chw16,lineartochw16} (and f32 -chw16-winograd) kernels against the
// reference convolution on the same values, their output's padding zero whatever the activation makes of a
// padded channel; the {f32,bf16}-{maxpool,averagepool}-chw16-onednn and
// -globalaveragepool-chw16tolinear-onednn kernels likewise.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ir/format.h"
#include "ir/numeric.h"
#include "kernel_under_test.h"
#include "kernels/kernel.h"
#include "op_runner.h"
#include "runtime/cpu_features.h"
#include "runtime/thread_pool.h"

namespace lowp {
namespace {

using ir::TensorFormat;
using testing::kernelNamed;
using testing::NodeUnderTest;

// A tensor of logical `shape` over memory of `format`'s size (padding included), owned by `storage`.
struct Stored {
  Tensor storage;
  Tensor tensor;
};

Stored allocate(DataType type, const std::vector<int64_t>& shape, TensorFormat format, uint8_t fill) {
  const int64_t bytes = ir::storageBytes(type, shape, format);
  Stored s;
  s.storage = Tensor(DataType::kUInt8, {bytes});
  std::memset(s.storage.data(), fill, static_cast<size_t>(bytes));
  s.tensor = Tensor::view(type, shape, s.storage.data());
  return s;
}

Stored toBlocked(const Tensor& plain) {
  Stored s = allocate(plain.type(), plain.shape(), TensorFormat::kChw16, 0x77);
  ir::reorderChannelBlocks(plain, s.tensor, true);
  return s;
}

Tensor toPlain(const Tensor& blocked) {
  Tensor plain(blocked.type(), blocked.shape());
  ir::reorderChannelBlocks(blocked, plain, false);
  return plain;
}

// Whether every padding byte of kChw16 tensor `t` (channels past C) is zero.
bool paddingIsZero(const Tensor& t) {
  const int64_t channels = t.shape()[1];
  const int64_t blocks = (channels + 15) / 16;
  const int64_t pixels = t.elementCount() / (t.shape()[0] * channels);
  const auto bytes = static_cast<int64_t>(ir::dataTypeInfo(t.type()).storageBytes);
  const auto* data = static_cast<const uint8_t*>(t.data());
  for (int64_t n = 0; n < t.shape()[0]; ++n) {
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t c = channels; c < blocks * 16; ++c) {
        const int64_t at = (((n * blocks + c / 16) * pixels + p) * 16 + c % 16) * bytes;
        for (int64_t b = 0; b < bytes; ++b) {
          if (data[at + b] != 0) return false;
        }
      }
    }
  }
  return true;
}

// Uniform values in [-1, 1] of `type` (fp32, bf16 or fp16).
Tensor random(std::mt19937& rng, DataType type, const std::vector<int64_t>& shape) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  Tensor t(type, shape);
  for (int64_t i = 0; i < t.elementCount(); ++i) {
    const float v = uniform(rng);
    if (type == DataType::kFloat32) {
      t.data<float>()[i] = v;
    } else {
      t.data<uint16_t>()[i] = type == DataType::kBFloat16 ? ir::floatToBFloat16(v) : ir::floatToFloat16(v);
    }
  }
  return t;
}

const kernels::ParallelFor& pool() {
  static runtime::ThreadPool threads(2);
  static const kernels::ParallelFor parallelFor = [](int64_t n, int64_t grain,
                                                     const std::function<void(int64_t, int64_t)>& fn) {
    threads.parallelFor(n, grain, fn);
  };
  return parallelFor;
}

// Runs `kernel` on `node` over `inputs` (in the kernel's formats), its output in `outFormat` over poisoned
// memory.
Result<Stored> run(const kernels::KernelDef& kernel, const ir::Node& node,
                   const std::vector<const Tensor*>& inputs, DataType outType,
                   const std::vector<int64_t>& outShape, TensorFormat outFormat) {
  Stored out = allocate(outType, outShape, outFormat, 0x5a);
  kernels::KernelContext ctx(
      node, inputs, {&out.tensor}, pool(),
      [](DataType type, std::vector<int64_t> shape) { return Tensor(type, std::move(shape)); });
  LOWP_RETURN_IF_ERROR(kernel.fn(ctx));
  return out;
}

TEST(Chw16Reformat, RoundTripsAndZeroesThePadding) {
  std::mt19937 rng(3);
  for (DataType type : {DataType::kFloat32, DataType::kBFloat16, DataType::kFloat16}) {
    const std::string bits = type == DataType::kFloat32 ? "x32" : "x16";
    for (const std::vector<int64_t>& shape :
         {std::vector<int64_t>{2, 20, 5, 3}, {1, 16, 7}, {3, 5, 2, 2, 2}, {1, 33, 4, 4}}) {
      SCOPED_TRACE(std::string(ir::dataTypeInfo(type).name) + " " + ir::formatSizes(shape));
      const Tensor plain = random(rng, type, shape);
      NodeUnderTest to("Reformat", "lowp", 1, {}, {plain}, {});
      const kernels::KernelDef* toBlockedKernel = kernelNamed(bits + "-reformat-lineartochw16");
      ASSERT_NE(toBlockedKernel, nullptr);
      to.setFormats(*toBlockedKernel);
      auto blocked = run(*toBlockedKernel, to.node(), {&plain}, type, shape, TensorFormat::kChw16);
      ASSERT_TRUE(blocked.isOk()) << blocked.status().toString();
      const Stored expected = toBlocked(plain);
      ASSERT_EQ(std::memcmp(blocked->storage.data(), expected.storage.data(),
                            static_cast<size_t>(expected.storage.byteSize())),
                0);
      EXPECT_TRUE(paddingIsZero(blocked->tensor));

      const kernels::KernelDef* toLinearKernel = kernelNamed(bits + "-reformat-chw16tolinear");
      ASSERT_NE(toLinearKernel, nullptr);
      NodeUnderTest back("Reformat", "lowp", 1, {}, {plain}, {});
      back.setFormats(*toLinearKernel);
      auto again = run(*toLinearKernel, back.node(), {&blocked->tensor}, type, shape, TensorFormat::kLinear);
      ASSERT_TRUE(again.isOk()) << again.status().toString();
      EXPECT_EQ(std::memcmp(again->tensor.data(), plain.data(), static_cast<size_t>(plain.byteSize())), 0);
    }
  }
}

// kChw16 <-> channels-last, and the reference kernels of the pair, against the plain tensor moved by the
// index loops of ir/format.h.
TEST(Chw16Reformat, ToAndFromChannelsLast) {
  std::mt19937 rng(9);
  for (DataType type : {DataType::kFloat32, DataType::kBFloat16}) {
    const std::string bits = type == DataType::kFloat32 ? "x32" : "x16";
    for (const std::vector<int64_t>& shape :
         {std::vector<int64_t>{2, 20, 5, 3}, {1, 16, 7}, {3, 5, 2, 2, 2}, {1, 48, 4, 4}, {2, 36, 9, 15}}) {
      SCOPED_TRACE(std::string(ir::dataTypeInfo(type).name) + " " + ir::formatSizes(shape));
      const Tensor plain = random(rng, type, shape);
      const Stored blocked = toBlocked(plain);
      Tensor hwc(type, shape);
      ir::reorderChannelsLast(plain, hwc, true);
      for (const std::string suffix : {"", "-ref"}) {
        const kernels::KernelDef* toHwc =
            kernelNamed((suffix.empty() ? bits : "any") + "-reformat-chw16tohwc" + suffix);
        const kernels::KernelDef* fromHwc =
            kernelNamed((suffix.empty() ? bits : "any") + "-reformat-hwctochw16" + suffix);
        ASSERT_NE(toHwc, nullptr);
        ASSERT_NE(fromHwc, nullptr);
        NodeUnderTest there("Reformat", "lowp", 1, {}, {plain}, {});
        there.setFormats(*toHwc);
        auto gotHwc = run(*toHwc, there.node(), {&blocked.tensor}, type, shape, TensorFormat::kHwc);
        ASSERT_TRUE(gotHwc.isOk()) << gotHwc.status().toString();
        EXPECT_EQ(std::memcmp(gotHwc->tensor.data(), hwc.data(), static_cast<size_t>(hwc.byteSize())), 0);
        NodeUnderTest back("Reformat", "lowp", 1, {}, {plain}, {});
        back.setFormats(*fromHwc);
        auto gotBlocked = run(*fromHwc, back.node(), {&hwc}, type, shape, TensorFormat::kChw16);
        ASSERT_TRUE(gotBlocked.isOk()) << gotBlocked.status().toString();
        EXPECT_EQ(std::memcmp(gotBlocked->storage.data(), blocked.storage.data(),
                              static_cast<size_t>(blocked.storage.byteSize())),
                  0);
      }
    }
  }
}

struct ConvCase {
  std::vector<int64_t> x, w;
  int64_t group;
  int64_t stride;
  const char* activation;  ///< "" for a plain Conv.
  bool residual;
};

// `kernel` over kChw16 input (or plain input: lineartochw16) and residual against the reference over the
// plain tensors: the largest difference, relative to the reference value (floored at 1).
double chw16ConvError(std::mt19937& rng, const kernels::KernelDef& kernel, DataType type, const ConvCase& c,
                      bool plainX) {
  const bool fused = c.activation[0] != '\0' || c.residual;
  ir::AttributeMap a = testing::attrs({{"group", c.group},
                                       {"strides", std::vector<int64_t>{c.stride, c.stride}},
                                       {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  if (c.w[2] == 1) a.set("pads", std::vector<int64_t>{0, 0, 0, 0});
  if (fused) {
    a.set("activation", std::string(c.activation));
    a.set("activation_alpha", 0.0f);
    a.set("activation_beta", 1.0f);
  }
  std::vector<Tensor> plain = {random(rng, type, c.x), random(rng, type, c.w), random(rng, type, {c.w[0]})};
  const int64_t out = (c.x[2] + (c.w[2] == 1 ? 0 : 2) - c.w[2]) / c.stride + 1;
  const std::vector<int64_t> y = {c.x[0], c.w[0], out,
                                  (c.x[3] + (c.w[3] == 1 ? 0 : 2) - c.w[3]) / c.stride + 1};
  if (c.residual) plain.push_back(random(rng, type, y));
  NodeUnderTest node(fused ? "FusedConv" : "Conv", fused ? "lowp" : "", fused ? 1 : 17, a, plain, {1, 2});
  EXPECT_TRUE(node.status().isOk()) << node.status().toString();
  EXPECT_EQ(node.outputShape(), y);
  if (!node.status().isOk() || node.outputShape() != y) return INFINITY;
  EXPECT_TRUE(kernel.supports(node.node(), node.inputShapes())) << kernel.name << " declines";
  auto ref = testing::runKernel(*testing::referenceKernel(fused ? "FusedConv" : "Conv", fused ? "lowp" : ""),
                                node.node(), plain, type, y);
  EXPECT_TRUE(ref.isOk()) << ref.status().toString();
  if (!ref) return INFINITY;
  node.setFormats(kernel);
  const Stored x = toBlocked(plain[0]);
  Stored z;
  std::vector<const Tensor*> inputs = {plainX ? &plain[0] : &x.tensor, &plain[1], &plain[2]};
  if (c.residual) {
    z = toBlocked(plain[3]);
    inputs.push_back(&z.tensor);
  }
  auto got = run(kernel, node.node(), inputs, type, y, TensorFormat::kChw16);
  EXPECT_TRUE(got.isOk()) << got.status().toString();
  if (!got) return INFINITY;
  EXPECT_TRUE(paddingIsZero(got->tensor));
  const Tensor result = toPlain(got->tensor);
  double worst = 0;
  for (int64_t i = 0; i < result.elementCount(); ++i) {
    const double r = elementAsDouble(*ref, i);
    worst = std::max(worst, std::fabs(elementAsDouble(result, i) - r) / std::max(1.0, std::fabs(r)));
  }
  return worst;
}

// The kernels against the reference: the same values within fp32 rounding (oneDNN sums in another order),
// bf16 within its step.
TEST(Chw16Conv, MatchesTheReference) {
  if (kernelNamed("f32-conv-onednn-chw16") == nullptr) GTEST_SKIP() << "built without oneDNN";
  std::mt19937 rng(5);
  const ConvCase cases[] = {
      {{1, 16, 9, 9}, {20, 16, 3, 3}, 1, 1, "Sigmoid", false},  // padded output, an activation of 0 not 0
      {{2, 32, 8, 7}, {32, 1, 3, 3}, 32, 1, "Relu", true},      // depthwise, batch 2, residual
      {{1, 24, 10, 10}, {24, 1, 3, 3}, 24, 2, "Clip", false},   // depthwise split by channels, padded input
      {{1, 40, 7, 7}, {36, 40, 1, 1}, 1, 1, "", false},         // 1x1, padded input and output
      {{1, 64, 6, 6}, {64, 64, 3, 3}, 1, 1, "Relu", true},      // channel split, residual
  };
  // The first convolution of a network, x plain (3 channels, stride 2), and a plain x of many channels.
  const ConvCase toBlockedCases[] = {
      {{2, 3, 15, 15}, {32, 3, 3, 3}, 1, 2, "Clip", false},
      {{1, 20, 8, 8}, {24, 20, 3, 3}, 1, 1, "Relu", true},
  };
  for (const bool plainX : {false, true}) {
    for (DataType type : {DataType::kFloat32, DataType::kBFloat16}) {
      for (const ConvCase& c :
           plainX ? std::span<const ConvCase>(toBlockedCases) : std::span<const ConvCase>(cases)) {
        const bool fused = c.activation[0] != '\0' || c.residual;
        const std::string name = std::string(type == DataType::kFloat32 ? "f32" : "bf16") +
                                 (fused ? "-fusedconv" : "-conv") +
                                 (plainX ? "-onednn-lineartochw16" : "-onednn-chw16");
        SCOPED_TRACE(name + " " + ir::formatSizes(c.x) + " * " + ir::formatSizes(c.w));
        const kernels::KernelDef* kernel = kernelNamed(name);
        ASSERT_NE(kernel, nullptr);
        EXPECT_LE(chw16ConvError(rng, *kernel, type, c, plainX), type == DataType::kFloat32 ? 1e-4 : 2e-2)
            << name;
      }
    }
  }
}

// oneDNN's Winograd algorithm: the reference's values within fp32 rounding of its transforms, by images
// (one, several, a batch split unevenly over the pool), with an activation and a residual; and what it
// declines.
TEST(Chw16Conv, WinogradMatchesTheReferenceAndDeclinesOtherShapes) {
  const kernels::KernelDef* conv = kernelNamed("f32-conv-onednn-chw16-winograd");
  const kernels::KernelDef* fused = kernelNamed("f32-fusedconv-onednn-chw16-winograd");
  if (conv == nullptr) GTEST_SKIP() << "built without oneDNN";
  ASSERT_NE(fused, nullptr);
  if (!runtime::cpuSupports(conv->feature)) GTEST_SKIP() << "no AVX-512";
  std::mt19937 rng(11);
  const ConvCase cases[] = {
      {{1, 64, 14, 14}, {64, 64, 3, 3}, 1, 1, "", false},
      {{3, 32, 9, 7}, {16, 32, 3, 3}, 1, 1, "Relu", false},
      {{2, 16, 8, 8}, {32, 16, 3, 3}, 1, 1, "Relu", true},
  };
  for (const ConvCase& c : cases) {
    const bool isFused = c.activation[0] != '\0' || c.residual;
    SCOPED_TRACE(ir::formatSizes(c.x) + " * " + ir::formatSizes(c.w));
    EXPECT_LE(chw16ConvError(rng, isFused ? *fused : *conv, DataType::kFloat32, c, false), 1e-4);
  }
  struct Declined {
    std::vector<int64_t> x, w;
    ir::AttributeMap attrs;
  };
  const Declined declined[] = {
      {{1, 16, 9, 9}, {16, 16, 3, 3}, testing::attrs({{"strides", std::vector<int64_t>{2, 2}}})},
      {{1, 16, 9, 9}, {16, 16, 5, 5}, {}},
      {{1, 32, 9, 9}, {32, 16, 3, 3}, testing::attrs({{"group", int64_t{2}}})},
      {{1, 16, 9, 9}, {24, 16, 3, 3}, {}},
      {{1, 16, 9, 9}, {16, 16, 3, 3}, testing::attrs({{"dilations", std::vector<int64_t>{2, 2}}})},
  };
  for (const Declined& d : declined) {
    NodeUnderTest node("Conv", "", 17, d.attrs,
                       {random(rng, DataType::kFloat32, d.x), random(rng, DataType::kFloat32, d.w)}, {1});
    ASSERT_TRUE(node.status().isOk()) << node.status().toString();
    EXPECT_FALSE(conv->supports(node.node(), node.inputShapes())) << ir::formatSizes(d.w);
  }
}

// Pools over kChw16 input: split over the pool in blocks of 16 planes of every image (batch 1 and 3, padded
// channels included), and GlobalAveragePool from whole blocks to a linear output. Max pooling moves values
// unchanged (exact); averages differ from the reference's by summation order.
TEST(Chw16Pool, MatchesTheReference) {
  if (kernelNamed("f32-maxpool-chw16-onednn") == nullptr) GTEST_SKIP() << "built without oneDNN";
  std::mt19937 rng(7);
  struct PoolCase {
    std::string op;
    std::vector<int64_t> x;
  };
  const PoolCase cases[] = {{"MaxPool", {1, 20, 11, 11}},         {"MaxPool", {3, 64, 8, 9}},
                            {"AveragePool", {1, 40, 7, 7}},       {"AveragePool", {2, 16, 6, 6}},
                            {"GlobalAveragePool", {1, 48, 7, 7}}, {"GlobalAveragePool", {3, 32, 5, 4}}};
  for (DataType type : {DataType::kFloat32, DataType::kBFloat16}) {
    for (const PoolCase& c : cases) {
      const bool global = c.op == "GlobalAveragePool";
      std::string name = std::string(type == DataType::kFloat32 ? "f32-" : "bf16-") +
                         (c.op == "MaxPool" ? "maxpool"
                          : global          ? "globalaveragepool"
                                            : "averagepool") +
                         (global ? "-chw16tolinear-onednn" : "-chw16-onednn");
      SCOPED_TRACE(name + " " + ir::formatSizes(c.x));
      const kernels::KernelDef* kernel = kernelNamed(name);
      ASSERT_NE(kernel, nullptr);
      ir::AttributeMap a;
      if (!global) {
        a = testing::attrs({{"kernel_shape", std::vector<int64_t>{3, 3}},
                            {"strides", std::vector<int64_t>{2, 2}},
                            {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
      }
      const std::vector<Tensor> plain = {random(rng, type, c.x)};
      NodeUnderTest node(c.op, "", 17, a, plain, {});
      ASSERT_TRUE(node.status().isOk()) << node.status().toString();
      EXPECT_TRUE(kernel->supports(node.node(), node.inputShapes()));
      auto ref = testing::runKernel(*testing::referenceKernel(c.op, ""), node.node(), plain, type,
                                    node.outputShape());
      ASSERT_TRUE(ref.isOk()) << ref.status().toString();
      node.setFormats(*kernel);
      const Stored x = toBlocked(plain[0]);
      const TensorFormat outFormat = global ? TensorFormat::kLinear : TensorFormat::kChw16;
      auto got = run(*kernel, node.node(), {&x.tensor}, type, node.outputShape(), outFormat);
      ASSERT_TRUE(got.isOk()) << got.status().toString();
      if (!global) {
        EXPECT_TRUE(paddingIsZero(got->tensor));
      }
      const Tensor result = global ? got->tensor : toPlain(got->tensor);
      double worst = 0;
      for (int64_t i = 0; i < result.elementCount(); ++i) {
        const double r = elementAsDouble(*ref, i);
        worst = std::max(worst, std::fabs(elementAsDouble(result, i) - r) / std::max(1.0, std::fabs(r)));
      }
      const double tolerance = c.op == "MaxPool" ? 0 : type == DataType::kFloat32 ? 1e-6 : 1.0 / 128;
      EXPECT_LE(worst, tolerance) << name;
    }
  }
  // Channels that do not fill whole blocks have no linear output of the same bytes: declined.
  NodeUnderTest partial("GlobalAveragePool", "", 17, {}, {random(rng, DataType::kFloat32, {1, 20, 3, 3})},
                        {});
  const kernels::KernelDef* global = kernelNamed("f32-globalaveragepool-chw16tolinear-onednn");
  ASSERT_NE(global, nullptr);
  EXPECT_FALSE(global->supports(partial.node(), partial.inputShapes()));
}

}  // namespace
}  // namespace lowp
