// Channels-last (kHwc) tensors: the lowp.Reformat kernels (kernels/cpu/reformat.cpp) against a plain index
// loop; the channels-last and mixed-layout i8-quantizedconv-onednn variants against the linear kernel with
// the same inputs reformatted (bit for bit: the same oneDNN primitive runs, only the memory descriptors
// differ); QuantizeLinear / DequantizeLinear on channels-last tensors; int8 / uint8 MaxPool (plain and
// channels-last) and the channels-last GlobalAveragePool against the reference kernels; the channels-last
// fp32 / bf16 convolutions against the reference; a chain of channels-last int8 layers run by the runtime
// against the same chain in the linear layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "graph_builder.h"
#include "ir/graph.h"
#include "ir/numeric.h"
#include "ir/ops/fused.h"
#include "kernel_under_test.h"
#include "kernels/kernel.h"
#include "onnx/importer.h"
#include "runtime/cpu_features.h"
#include "runtime/thread_pool.h"

namespace lowp {
namespace {

using ir::AttributeMap;
using ir::TensorFormat;
using kernels::KernelDef;
using kernels::KernelRegistry;
using testing::kernelNamed;
using testing::NodeUnderTest;
using testing::randomIntegers;
using testing::referenceKernel;
using testing::runKernel;

runtime::ThreadPool& pool() {
  static runtime::ThreadPool p(2);
  return p;
}

// The oracle of the layout: element [n, c, s] of a plain tensor is element [n, s, c] of a channels-last one.
Tensor toLayout(const Tensor& t, bool toHwc) {
  const std::vector<int64_t>& shape = t.shape();
  const int64_t n = shape[0];
  const int64_t c = shape[1];
  const int64_t s = t.elementCount() / std::max<int64_t>(1, n * c);
  const int64_t e = ir::dataTypeInfo(t.type()).storageBytes;
  Tensor out(t.type(), shape);
  const auto* src = static_cast<const std::byte*>(t.data());
  auto* dst = static_cast<std::byte*>(out.data());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t p = 0; p < s; ++p) {
        const int64_t plain = (i * c + ch) * s + p;
        const int64_t hwc = (i * s + p) * c + ch;
        std::memcpy(dst + (toHwc ? hwc : plain) * e, src + (toHwc ? plain : hwc) * e, static_cast<size_t>(e));
      }
    }
  }
  return out;
}

bool sameBytes(const Tensor& a, const Tensor& b) {
  return a.type() == b.type() && a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.byteSize())) == 0;
}

Tensor randomBytes(std::mt19937& rng, DataType type, std::vector<int64_t> shape) {
  Tensor t(type, std::move(shape));
  auto* p = static_cast<uint8_t*>(t.data());
  for (int64_t i = 0; i < t.byteSize(); ++i) p[i] = static_cast<uint8_t>(rng());
  return t;
}

Tensor randomFloats(std::mt19937& rng, std::vector<int64_t> shape) {
  Tensor t(DataType::kFloat32, std::move(shape));
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t i = 0; i < t.elementCount(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

// ---- Reformat --------------------------------------------------------------------------------------------

Result<Tensor> reformat(const Tensor& x, bool toHwc) {
  const std::string size = std::to_string(8 * ir::dataTypeInfo(x.type()).storageBytes);
  const std::string name = "x" + size + (toHwc ? "-reformat-lineartohwc-sse2" : "-reformat-hwctolinear-sse2");
  const KernelDef* k = kernelNamed(name);
  if (k == nullptr) return Status(StatusCode::kNotFound, name + " is not registered");
  NodeUnderTest n("Reformat", "lowp", 1, {}, {x}, {});
  if (!n.status().isOk()) return n.status();
  n.setFormats(*k);
  if (k->supports != nullptr && !k->supports(n.node(), n.inputShapes()))
    return Status(StatusCode::kUnsupported, name + " declines " + x.describe());
  return runKernel(*k, n.node(), {x}, n.outputType(), n.outputShape());
}

// Every element type and rank, channel counts below, at and past the tile (16 / element size), spatial
// sizes of 1 and of odd lengths; both directions, against the index loop.
TEST(HwcReformat, MatchesTheIndexLoop) {
  std::mt19937 rng(1);
  const std::vector<std::vector<int64_t>> shapes = {
      {1, 1, 1},      {2, 3, 5},        {1, 16, 16},        {3, 17, 33},      {1, 64, 7, 9},
      {2, 5, 1, 1},   {2, 40, 13, 3},   {1, 2048, 7, 7},    {2, 33, 4, 5, 3}, {1, 8, 2, 3, 4},
      {4, 256, 3, 1}, {1, 3, 224, 224}, {1, 31, 1, 1, 257}, {0, 4, 3, 3}};
  int checked = 0;
  for (DataType type :
       {DataType::kInt8, DataType::kUInt8, DataType::kBFloat16, DataType::kFloat16, DataType::kFloat32}) {
    for (const std::vector<int64_t>& shape : shapes) {
      const Tensor x = randomBytes(rng, type, shape);
      auto hwc = reformat(x, true);
      ASSERT_TRUE(hwc.isOk()) << hwc.status().message();
      EXPECT_TRUE(sameBytes(*hwc, toLayout(x, true)))
          << ir::dataTypeInfo(type).name << ir::formatSizes(shape) << " to hwc";
      auto back = reformat(*hwc, false);
      ASSERT_TRUE(back.isOk()) << back.status().message();
      EXPECT_TRUE(sameBytes(*back, x)) << ir::dataTypeInfo(type).name << ir::formatSizes(shape) << " back";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 70);
}

// The registered reference kernels (the builder's fallback and the oracle other tests may use) against the
// index loop here.
TEST(HwcReformat, ReferenceKernelsMatchTheIndexLoop) {
  std::mt19937 rng(2);
  for (DataType type : {DataType::kInt8, DataType::kBFloat16, DataType::kFloat32}) {
    for (const std::vector<int64_t>& shape :
         std::vector<std::vector<int64_t>>{{2, 3, 5}, {1, 17, 4, 3}, {2, 4, 2, 3, 2}}) {
      const Tensor x = randomBytes(rng, type, shape);
      for (bool toHwc : {true, false}) {
        const KernelDef* k =
            kernelNamed(toHwc ? "any-reformat-lineartohwc-ref" : "any-reformat-hwctolinear-ref");
        ASSERT_NE(k, nullptr);
        NodeUnderTest n("Reformat", "lowp", 1, {}, {x}, {});
        ASSERT_TRUE(n.status().isOk());
        n.setFormats(*k);
        auto y = runKernel(*k, n.node(), {x}, n.outputType(), n.outputShape());
        ASSERT_TRUE(y.isOk()) << y.status().message();
        EXPECT_TRUE(sameBytes(*y, toLayout(x, toHwc))) << k->name << " " << ir::formatSizes(shape);
      }
    }
  }
}

TEST(HwcReformat, DeclinesWhatIsNotRank3To5) {
  const KernelDef* k = kernelNamed("x8-reformat-lineartohwc-sse2");
  ASSERT_NE(k, nullptr);
  std::mt19937 rng(2);
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{4, 4}, std::vector<int64_t>{1, 2, 3, 4, 5, 6}}) {
    NodeUnderTest n("Reformat", "lowp", 1, {}, {randomBytes(rng, DataType::kInt8, shape)}, {});
    ASSERT_TRUE(n.status().isOk());
    EXPECT_FALSE(k->supports(n.node(), n.inputShapes()));
    auto run =
        runKernel(*k, n.node(), {randomBytes(rng, DataType::kInt8, shape)}, n.outputType(), n.outputShape());
    EXPECT_FALSE(run.isOk());
  }
}

// Throughput against a memcpy of the same bytes (both read and write every byte once), median of 9 runs
// each, on the pool of two threads; printed for the record. The bound is loose (shared machines): a
// reformat slower than a tenth of memcpy is a regression.
TEST(HwcReformat, Bandwidth) {
  std::mt19937 rng(3);
  for (auto [type, shape] : {std::pair{DataType::kInt8, std::vector<int64_t>{8, 64, 56, 56}},
                             std::pair{DataType::kInt8, std::vector<int64_t>{8, 256, 56, 56}},
                             std::pair{DataType::kInt8, std::vector<int64_t>{8, 2048, 7, 7}},
                             std::pair{DataType::kFloat32, std::vector<int64_t>{8, 64, 56, 56}},
                             std::pair{DataType::kBFloat16, std::vector<int64_t>{8, 64, 56, 56}}}) {
    const Tensor x = randomBytes(rng, type, shape);
    Tensor copy(type, shape);
    auto median = [](const std::function<void()>& fn) {
      std::vector<double> ms;
      for (int i = 0; i < 9; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      return ms[4];
    };
    const auto bytes = static_cast<size_t>(x.byteSize());
    const double copyMs = median([&] {
      pool().parallelFor(2, 1, [&](int64_t b, int64_t e) {
        for (int64_t h = b; h < e; ++h)
          std::memcpy(static_cast<std::byte*>(copy.data()) + h * bytes / 2,
                      static_cast<const std::byte*>(x.data()) + h * bytes / 2, bytes / 2);
      });
    });
    const kernels::ParallelFor parallelFor = [](int64_t n, int64_t grain,
                                                const std::function<void(int64_t, int64_t)>& fn) {
      pool().parallelFor(n, grain, fn);
    };
    for (bool toHwc : {true, false}) {
      const std::string name = "x" + std::to_string(8 * ir::dataTypeInfo(type).storageBytes) +
                               (toHwc ? "-reformat-lineartohwc-sse2" : "-reformat-hwctolinear-sse2");
      const KernelDef* k = kernelNamed(name);
      ASSERT_NE(k, nullptr);
      NodeUnderTest n("Reformat", "lowp", 1, {}, {x}, {});
      n.setFormats(*k);
      Tensor y(type, shape);
      kernels::KernelContext ctx(n.node(), {&x}, {&y}, parallelFor,
                                 [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
      const double ms = median([&] { ASSERT_TRUE(k->fn(ctx).isOk()); });
      std::cout << "[ HwcReformat ] " << ir::dataTypeInfo(type).name << ir::formatSizes(shape)
                << (toHwc ? " linear->hwc " : " hwc->linear ") << ms << " ms, " << 2e-6 * bytes / ms
                << " GB/s read+write; memcpy " << copyMs << " ms, " << 2e-6 * bytes / copyMs << " GB/s\n";
      EXPECT_LT(ms, 10 * copyMs + 1.0);
    }
  }
}

// ---- QuantizedConv -------------------------------------------------------------------------------------

struct ConvCase {
  int64_t batch;
  int64_t inChannels;
  int64_t outChannels;
  int64_t group;
  std::vector<int64_t> input;  ///< Spatial sizes.
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  std::vector<int64_t> pads;
};

// Scales chosen as in test_int8_kernels.cpp: results span about 100 steps of an integer output.
AttributeMap convAttrs(std::mt19937& rng, const ConvCase& c, DataType outType, bool residual,
                       ir::ops::FusedActivation act) {
  AttributeMap a;
  int64_t terms = c.inChannels / c.group;
  for (int64_t k : c.kernel) terms *= k;
  std::uniform_real_distribution<float> jitter(0.5f, 1.5f);
  const float typical = std::sqrt(static_cast<float>(terms)) * 128.0f * 74.0f;
  const float xScale = 0.02f * jitter(rng);
  std::vector<float> wScales(static_cast<size_t>(c.outChannels));
  for (float& s : wScales) s = 1.0f / (typical * xScale) * jitter(rng);
  a.set("x_scale", xScale);
  a.set("w_scales", wScales);
  a.set("output_type", static_cast<int64_t>(outType));
  if (outType == DataType::kInt8 || outType == DataType::kUInt8) {
    a.set("y_scale", 0.02f * jitter(rng));
    a.set("y_zero_point", int64_t{outType == DataType::kUInt8 ? 100 : -5});
  }
  if (residual) a.set("z_scale", 0.01f * jitter(rng));
  ir::ops::ActivationSpec spec;
  spec.kind = act;
  ir::ops::writeActivation(a, spec);
  a.set("group", c.group);
  a.set("kernel_shape", c.kernel);
  if (!c.strides.empty()) a.set("strides", c.strides);
  if (!c.pads.empty()) a.set("pads", c.pads);
  return a;
}

std::vector<int64_t> convOutputShape(const ConvCase& c) {
  std::vector<int64_t> y = {c.batch, c.outChannels};
  for (size_t d = 0; d < c.input.size(); ++d) {
    const int64_t stride = c.strides.empty() ? 1 : c.strides[d];
    const int64_t pad = c.pads.empty() ? 0 : c.pads[d] + c.pads[d + c.input.size()];
    y.push_back((c.input[d] + pad - c.kernel[d]) / stride + 1);
  }
  return y;
}

// The four layouts of X and Y (Z follows Y), each against the linear kernel on the same values.
TEST(HwcQuantizedConv, EveryLayoutMatchesTheLinearKernelExactly) {
  SKIP_WITHOUT_ONEDNN();
  if (!runtime::cpuSupports(kernels::CpuFeature::kAvx512Vnni)) GTEST_SKIP() << "no AVX-512 VNNI";
  const KernelDef* linear = kernelNamed("i8-quantizedconv-onednn");
  ASSERT_NE(linear, nullptr);
  struct Layout {
    std::string_view name;
    bool xHwc;
    bool yHwc;
  };
  const Layout layouts[] = {{"i8-quantizedconv-hwc-onednn", true, true},
                            {"i8-quantizedconv-hwctolinear-onednn", true, false},
                            {"i8-quantizedconv-lineartohwc-onednn", false, true}};
  // Batch 1 splits by bands of output rows when X and Y are channels-last (2-D; the bands' edge padding
  // and strides matter: asymmetric pads, stride 2, a 7x7 stem), else by channels (strided slices of a
  // channels-last Y); batch > 1 splits by images; depthwise and grouped; 1-D and 3-D.
  const std::vector<ConvCase> shapes = {{1, 64, 64, 1, {14, 14}, {3, 3}, {}, {1, 1, 1, 1}},
                                        {2, 64, 64, 1, {14, 14}, {3, 3}, {}, {1, 1, 1, 1}},
                                        {1, 19, 37, 1, {10, 9}, {3, 3}, {2, 2}, {1, 0, 0, 1}},
                                        {1, 3, 16, 1, {15, 17}, {7, 7}, {2, 2}, {3, 3, 3, 3}},
                                        {3, 5, 7, 1, {8, 9}, {1, 1}, {2, 2}, {}},
                                        {1, 48, 48, 48, {9, 8}, {3, 3}, {}, {1, 1, 1, 1}},
                                        {2, 21, 21, 21, {7, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}},
                                        {1, 12, 36, 3, {8, 7}, {3, 3}, {}, {1, 1, 1, 1}},
                                        {2, 7, 20, 1, {23}, {5}, {2}, {2, 1}},
                                        {1, 4, 24, 2, {5, 6, 7}, {3, 2, 3}, {}, {1, 0, 1, 1, 1, 0}}};
  std::mt19937 rng(7);
  int cases = 0;
  for (const ConvCase& c : shapes) {
    for (int variant = 0; variant < 6; ++variant) {
      const DataType xType = variant % 2 == 0 ? DataType::kUInt8 : DataType::kInt8;
      const DataType outs[] = {DataType::kInt8, DataType::kUInt8, DataType::kFloat32};
      const DataType outType = outs[variant % 3];
      const bool residual = variant >= 3;
      const DataType zType = !residual                       ? DataType::kUndefined
                             : outType == DataType::kFloat32 ? DataType::kFloat32
                                                             : DataType::kInt8;
      std::vector<int64_t> x = {c.batch, c.inChannels};
      x.insert(x.end(), c.input.begin(), c.input.end());
      std::vector<int64_t> w = {c.outChannels, c.inChannels / c.group};
      w.insert(w.end(), c.kernel.begin(), c.kernel.end());
      const std::vector<int64_t> yShape = convOutputShape(c);
      std::vector<Tensor> inputs = {randomIntegers(rng, xType, x, xType == DataType::kUInt8 ? 0 : -128,
                                                   xType == DataType::kUInt8 ? 255 : 127),
                                    randomIntegers(rng, DataType::kInt8, w, -128, 127),
                                    randomIntegers(rng, DataType::kInt32, {c.outChannels}, -40000, 40000)};
      if (zType == DataType::kInt8) inputs.push_back(randomIntegers(rng, zType, yShape, -128, 127));
      if (zType == DataType::kFloat32) inputs.push_back(randomFloats(rng, yShape));
      const AttributeMap attrs =
          convAttrs(rng, c, outType, zType == DataType::kInt8,
                    variant % 2 == 0 ? ir::ops::FusedActivation::kRelu : ir::ops::FusedActivation::kNone);
      NodeUnderTest plain("QuantizedConv", "lowp", 1, attrs, inputs, {1, 2});
      ASSERT_TRUE(plain.status().isOk()) << plain.status().message();
      auto want = runKernel(*linear, plain.node(), inputs, plain.outputType(), plain.outputShape());
      ASSERT_TRUE(want.isOk()) << want.status().message();
      for (const Layout& layout : layouts) {
        const KernelDef* k = kernelNamed(layout.name);
        ASSERT_NE(k, nullptr) << layout.name;
        std::vector<Tensor> in = inputs;
        if (layout.xHwc) in[0] = toLayout(inputs[0], true);
        if (layout.yHwc && in.size() > 3) in[3] = toLayout(inputs[3], true);
        NodeUnderTest n("QuantizedConv", "lowp", 1, attrs, in, {1, 2});
        n.setFormats(*k);
        ASSERT_TRUE(k->supports(n.node(), n.inputShapes()));
        auto got = runKernel(*k, n.node(), in, n.outputType(), n.outputShape());
        ASSERT_TRUE(got.isOk()) << got.status().message();
        const Tensor gotPlain = layout.yHwc ? toLayout(*got, false) : *got;
        EXPECT_TRUE(sameBytes(gotPlain, *want))
            << layout.name << " case " << cases << " x" << ir::formatSizes(x) << " out "
            << ir::dataTypeInfo(outType).name << " variant " << variant;
      }
      ++cases;
    }
  }
  EXPECT_EQ(cases, 60);
}

// ---- Conv, FusedConv (fp32, bf16)
// --------------------------------------------------------------------------

// The channels-last fp32 and bf16 convolutions (x and y channels-last, or x plain) against the reference on
// the plain tensors: batch 1 splits by blocks of output channels (strided channel slices of Y and, depthwise,
// of X) or, where the weights are smaller than the output, by bands of output rows (their edge padding and
// strides matter), batch > 1 by images; 1-D and 3-D; with a residual apart from Y and in Y's memory. fp32
// within summation-order noise; bf16 (bf16-exact inputs) within one bf16 step.
TEST(HwcConv, MatchesTheReference) {
  SKIP_WITHOUT_ONEDNN();
  const std::vector<ConvCase> shapes = {{1, 64, 72, 1, {7, 7}, {3, 3}, {}, {1, 1, 1, 1}},
                                        {1, 8, 16, 1, {24, 21}, {3, 3}, {}, {1, 1, 1, 1}},
                                        {1, 8, 16, 1, {23, 20}, {3, 3}, {2, 2}, {1, 0, 0, 1}},
                                        {2, 32, 48, 1, {9, 8}, {3, 3}, {2, 2}, {1, 0, 0, 1}},
                                        {1, 3, 32, 1, {15, 17}, {7, 7}, {2, 2}, {3, 3, 3, 3}},
                                        {1, 48, 48, 48, {9, 8}, {3, 3}, {}, {1, 1, 1, 1}},
                                        {2, 24, 24, 24, {7, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}},
                                        {3, 40, 20, 1, {6, 5}, {1, 1}, {}, {}},
                                        {2, 7, 20, 1, {23}, {5}, {2}, {2, 1}},
                                        {1, 4, 24, 2, {5, 6, 7}, {3, 2, 3}, {}, {1, 0, 1, 1, 1, 0}}};
  std::mt19937 rng(11);
  const kernels::ParallelFor parallelFor = [](int64_t n, int64_t grain,
                                              const std::function<void(int64_t, int64_t)>& fn) {
    pool().parallelFor(n, grain, fn);
  };
  // Rounds a float tensor to bf16-exact values of `type`'s storage.
  auto asType = [](const Tensor& f, DataType type) {
    if (type == DataType::kFloat32) return f;
    Tensor t(type, f.shape());
    for (int64_t i = 0; i < f.elementCount(); ++i)
      t.data<uint16_t>()[i] = ir::floatToBFloat16(f.data<float>()[i]);
    return t;
  };
  int cases = 0;
  for (const ConvCase& c : shapes) {
    for (DataType type : {DataType::kFloat32, DataType::kBFloat16}) {
      for (int residual = 0; residual < 3; ++residual) {  // none, apart, in Y's memory
        std::vector<int64_t> x = {c.batch, c.inChannels};
        x.insert(x.end(), c.input.begin(), c.input.end());
        std::vector<int64_t> w = {c.outChannels, c.inChannels / c.group};
        w.insert(w.end(), c.kernel.begin(), c.kernel.end());
        const std::vector<int64_t> yShape = convOutputShape(c);
        std::vector<Tensor> inputs = {asType(randomFloats(rng, x), type), asType(randomFloats(rng, w), type),
                                      asType(randomFloats(rng, {c.outChannels}), type)};
        if (residual > 0) inputs.push_back(asType(randomFloats(rng, yShape), type));
        AttributeMap a;
        a.set("group", c.group);
        a.set("kernel_shape", c.kernel);
        if (!c.strides.empty()) a.set("strides", c.strides);
        if (!c.pads.empty()) a.set("pads", c.pads);
        ir::ops::ActivationSpec relu;
        relu.kind = ir::ops::FusedActivation::kRelu;
        ir::ops::writeActivation(a, relu);
        NodeUnderTest plain("FusedConv", "lowp", 1, a, inputs, {1, 2});
        ASSERT_TRUE(plain.status().isOk()) << plain.status().message();
        auto want = runKernel(*referenceKernel("FusedConv", "lowp"), plain.node(), inputs, plain.outputType(),
                              plain.outputShape());
        ASSERT_TRUE(want.isOk()) << want.status().message();
        for (const bool plainX : {false, true}) {
          const std::string name = std::string(type == DataType::kFloat32 ? "f32" : "bf16") +
                                   (plainX ? "-fusedconv-onednn-lineartohwc" : "-fusedconv-onednn-hwc");
          const KernelDef* k = kernelNamed(name);
          ASSERT_NE(k, nullptr) << name;
          std::vector<Tensor> in = inputs;
          if (!plainX) in[0] = toLayout(inputs[0], true);
          if (residual > 0) in[3] = toLayout(inputs[3], true);
          NodeUnderTest n("FusedConv", "lowp", 1, a, in, {1, 2});
          n.setFormats(*k);
          ASSERT_TRUE(k->supports(n.node(), n.inputShapes()));
          Tensor y(type, yShape);
          if (residual == 2) y = in[3];  // the residual's memory (Tensor copies share it)
          std::vector<const Tensor*> ins;
          ins.reserve(in.size());
          for (const Tensor& t : in) ins.push_back(t.type() == DataType::kUndefined ? nullptr : &t);
          kernels::KernelContext ctx(
              n.node(), ins, {&y}, parallelFor,
              [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
          const Status st = k->fn(ctx);
          ASSERT_TRUE(st.isOk()) << name << ": " << st.toString();
          const Tensor got = toLayout(y, false);
          double worst = 0;
          for (int64_t i = 0; i < got.elementCount(); ++i) {
            const double r = elementAsDouble(*want, i);
            worst = std::max(worst, std::fabs(elementAsDouble(got, i) - r) / std::max(1.0, std::fabs(r)));
          }
          EXPECT_LE(worst, type == DataType::kFloat32 ? 1e-4 : 1.0 / 64)
              << name << " x" << ir::formatSizes(x) << " w" << ir::formatSizes(w) << " residual " << residual;
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 120);
}

// ---- QuantizeLinear / DequantizeLinear --------------------------------------------------------------------

TEST(HwcQuantize, ChannelsLastKernelsMatchTheLinearOnes) {
  std::mt19937 rng(9);
  const std::vector<int64_t> shape = {2, 19, 5, 7};
  Tensor scale(DataType::kFloat32, {});
  scale.data<float>()[0] = 0.037f;
  Tensor zero(DataType::kInt8, {});
  zero.data<int8_t>()[0] = 3;
  int checked = 0;
  for (std::string isa : {"avx512", "avx2"}) {
    const auto feature = isa == "avx512" ? kernels::CpuFeature::kAvx512 : kernels::CpuFeature::kAvx2;
    if (!runtime::cpuSupports(feature)) continue;
    for (auto [op, name, in] :
         {std::tuple{"QuantizeLinear", "f32toi8-quantizelinear-", randomFloats(rng, shape)},
          std::tuple{"DequantizeLinear", "i8tof32-dequantizelinear-",
                     randomIntegers(rng, DataType::kInt8, shape, -128, 127)}}) {
      const KernelDef* plainKernel = kernelNamed(std::string(name) + isa);
      const KernelDef* hwcKernel = kernelNamed(std::string(name) + isa + "-hwc");
      ASSERT_NE(plainKernel, nullptr);
      ASSERT_NE(hwcKernel, nullptr);
      EXPECT_EQ(hwcKernel->inputFormat(0), TensorFormat::kHwc);
      EXPECT_EQ(hwcKernel->inputFormat(1), TensorFormat::kLinear);
      EXPECT_EQ(hwcKernel->outputFormat(0), TensorFormat::kHwc);
      NodeUnderTest plain(op, "", 21, {}, {in, scale, zero}, {1, 2});
      ASSERT_TRUE(plain.status().isOk());
      auto want =
          runKernel(*plainKernel, plain.node(), {in, scale, zero}, plain.outputType(), plain.outputShape());
      const Tensor inHwc = toLayout(in, true);
      NodeUnderTest n(op, "", 21, {}, {inHwc, scale, zero}, {1, 2});
      n.setFormats(*hwcKernel);
      ASSERT_TRUE(hwcKernel->supports(n.node(), n.inputShapes()));
      auto got = runKernel(*hwcKernel, n.node(), {inHwc, scale, zero}, n.outputType(), n.outputShape());
      ASSERT_TRUE(want.isOk() && got.isOk());
      EXPECT_TRUE(sameBytes(toLayout(*got, false), *want)) << op << " " << isa;
      ++checked;
    }
  }
  if (checked == 0) GTEST_SKIP() << "no AVX2 on this CPU";
}

// ---- Pooling ---------------------------------------------------------------------------------------------

// int8 / uint8 MaxPool (plain and channels-last) bit for bit against the reference; fp32 GlobalAveragePool
// from channels-last within float rounding of it.
TEST(HwcPool, Int8MaxPoolMatchesTheReference) {
  SKIP_WITHOUT_ONEDNN();
  const KernelDef* ref = referenceKernel("MaxPool", "");
  ASSERT_NE(ref, nullptr);
  struct PoolCase {
    std::vector<int64_t> x;
    AttributeMap attrs;
  };
  AttributeMap resnet;  // ResNet's stem: 3x3 stride 2 pad 1
  resnet.set("kernel_shape", std::vector<int64_t>{3, 3});
  resnet.set("strides", std::vector<int64_t>{2, 2});
  resnet.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  AttributeMap ceil;  // 2x2 stride 2, ceil mode, odd sizes
  ceil.set("kernel_shape", std::vector<int64_t>{2, 2});
  ceil.set("strides", std::vector<int64_t>{2, 2});
  ceil.set("ceil_mode", int64_t{1});
  AttributeMap dilated;  // 1-D, dilated, asymmetric pads
  dilated.set("kernel_shape", std::vector<int64_t>{3});
  dilated.set("dilations", std::vector<int64_t>{2});
  dilated.set("pads", std::vector<int64_t>{2, 1});
  AttributeMap cube;  // 3-D
  cube.set("kernel_shape", std::vector<int64_t>{2, 3, 2});
  const std::vector<PoolCase> cases = {{{2, 64, 28, 28}, resnet},
                                       {{1, 3, 9, 7}, resnet},
                                       {{3, 17, 11, 13}, ceil},
                                       {{2, 5, 19}, dilated},
                                       {{1, 6, 4, 5, 6}, cube}};
  std::mt19937 rng(13);
  int checked = 0;
  for (DataType type : {DataType::kInt8, DataType::kUInt8}) {
    const std::string prefix = type == DataType::kInt8 ? "i8" : "u8";
    for (const PoolCase& c : cases) {
      const Tensor x = randomBytes(rng, type, c.x);
      NodeUnderTest plain("MaxPool", "", 12, c.attrs, {x}, {});
      ASSERT_TRUE(plain.status().isOk()) << plain.status().message();
      auto want = runKernel(*ref, plain.node(), {x}, plain.outputType(), plain.outputShape());
      ASSERT_TRUE(want.isOk()) << want.status().message();
      for (bool hwc : {false, true}) {
        const KernelDef* k = kernelNamed(prefix + (hwc ? "-maxpool-hwc-onednn" : "-maxpool-onednn"));
        ASSERT_NE(k, nullptr);
        const Tensor in = hwc ? toLayout(x, true) : x;
        NodeUnderTest n("MaxPool", "", 12, c.attrs, {in}, {});
        n.setFormats(*k);
        ASSERT_TRUE(k->supports(n.node(), n.inputShapes()));
        auto got = runKernel(*k, n.node(), {in}, n.outputType(), n.outputShape());
        ASSERT_TRUE(got.isOk()) << got.status().message();
        EXPECT_TRUE(sameBytes(hwc ? toLayout(*got, false) : *got, *want))
            << k->name << " x" << ir::formatSizes(c.x);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 20);
}

TEST(HwcPool, GlobalAveragePoolFromChannelsLast) {
  SKIP_WITHOUT_ONEDNN();
  const KernelDef* ref = referenceKernel("GlobalAveragePool", "");
  const KernelDef* k = kernelNamed("f32-globalaveragepool-hwctolinear-onednn");
  ASSERT_NE(ref, nullptr);
  ASSERT_NE(k, nullptr);
  std::mt19937 rng(17);
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{8, 2048, 7, 7}, std::vector<int64_t>{3, 5, 4, 3, 2},
        std::vector<int64_t>{2, 9, 13}}) {
    const Tensor x = randomFloats(rng, shape);
    NodeUnderTest plain("GlobalAveragePool", "", 1, {}, {x}, {});
    ASSERT_TRUE(plain.status().isOk());
    auto want = runKernel(*ref, plain.node(), {x}, plain.outputType(), plain.outputShape());
    const Tensor in = toLayout(x, true);
    NodeUnderTest n("GlobalAveragePool", "", 1, {}, {in}, {});
    n.setFormats(*k);
    auto got = runKernel(*k, n.node(), {in}, n.outputType(), n.outputShape());
    ASSERT_TRUE(want.isOk() && got.isOk());
    ASSERT_EQ(got->shape(), want->shape());
    for (int64_t i = 0; i < want->elementCount(); ++i)
      EXPECT_NEAR(got->data<float>()[i], want->data<float>()[i], 1e-5) << ir::formatSizes(shape) << " " << i;
  }
}

// ResNet's stem pool at batch 8 ([8, 64, 112, 112], 3x3 stride 2 pad 1), median of 5 runs each on the pool of
// two threads, printed for the record: the reference, fp32 oneDNN, and int8 oneDNN plain and channels-last.
// The bound is loose (shared machines): both int8 pools must beat the reference.
TEST(HwcPool, Int8MaxPoolSpeed) {
  SKIP_WITHOUT_ONEDNN();
  AttributeMap attrs;
  attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  attrs.set("strides", std::vector<int64_t>{2, 2});
  attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const std::vector<int64_t> shape = {8, 64, 112, 112};
  std::mt19937 rng(19);
  const kernels::ParallelFor parallelFor = [](int64_t n, int64_t grain,
                                              const std::function<void(int64_t, int64_t)>& fn) {
    pool().parallelFor(n, grain, fn);
  };
  auto time = [&](const KernelDef& k, DataType type) {
    const Tensor x = type == DataType::kFloat32 ? randomFloats(rng, shape) : randomBytes(rng, type, shape);
    NodeUnderTest n("MaxPool", "", 12, attrs, {x}, {});
    n.setFormats(k);
    Tensor y(type, n.outputShape());
    kernels::KernelContext ctx(n.node(), {&x}, {&y}, parallelFor,
                               [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
    std::shared_ptr<void> slot;
    ctx.setStateSlot(&slot);
    std::vector<double> ms;
    for (int i = 0; i < 6; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      EXPECT_TRUE(k.fn(ctx).isOk());
      if (i > 0)
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::cout << "[ HwcPool ] " << k.name << " " << ms[2] << " ms\n";
    return ms[2];
  };
  const KernelDef* ref = referenceKernel("MaxPool", "");
  ASSERT_NE(ref, nullptr);
  const double refMs = time(*ref, DataType::kInt8);
  time(*kernelNamed("f32-maxpool-onednn"), DataType::kFloat32);
  const double plainMs = time(*kernelNamed("i8-maxpool-onednn"), DataType::kInt8);
  const double hwcMs = time(*kernelNamed("i8-maxpool-hwc-onednn"), DataType::kInt8);
  EXPECT_LT(plainMs, refMs);
  EXPECT_LT(hwcMs, refMs);
}

// ---- Engines ---------------------------------------------------------------------------------------------

// A chain as the builder writes it: int8 input -> Reformat to hwc -> QuantizedConv (hwc, int8 out) -> MaxPool
// (hwc) -> QuantizedConv (hwc in, fp32 linear out), run by the runtime (kernels picked by the values'
// formats, buffers from the memory plan); the same chain all linear gives the same bytes.
TEST(HwcEngine, ChannelsLastChainMatchesTheLinearOne) {
  SKIP_WITHOUT_ONEDNN();
  if (!runtime::cpuSupports(kernels::CpuFeature::kAvx512Vnni)) GTEST_SKIP() << "no AVX-512 VNNI";
  std::mt19937 rng(23);
  const ConvCase first{2, 16, 32, 1, {12, 12}, {3, 3}, {}, {1, 1, 1, 1}};
  const ConvCase second{2, 32, 24, 1, {6, 6}, {1, 1}, {}, {}};
  const AttributeMap attrs1 = convAttrs(rng, first, DataType::kInt8, false, ir::ops::FusedActivation::kRelu);
  const AttributeMap attrs2 =
      convAttrs(rng, second, DataType::kFloat32, false, ir::ops::FusedActivation::kNone);
  AttributeMap poolAttrs;
  poolAttrs.set("kernel_shape", std::vector<int64_t>{2, 2});
  poolAttrs.set("strides", std::vector<int64_t>{2, 2});
  const Tensor w1 = randomIntegers(rng, DataType::kInt8, {32, 16, 3, 3}, -128, 127);
  const Tensor b1 = randomIntegers(rng, DataType::kInt32, {32}, -40000, 40000);
  const Tensor w2 = randomIntegers(rng, DataType::kInt8, {24, 32, 1, 1}, -128, 127);
  const Tensor x = randomIntegers(rng, DataType::kInt8, {2, 16, 12, 12}, -128, 127);
  auto makeGraph = [&](bool hwc) {
    testing::GraphBuilder g(21);
    g.input("x", {2, 16, 12, 12}, DataType::kInt8);
    g.constant("w1", w1);
    g.constant("b1", b1);
    g.constant("w2", w2);
    std::string in = "x";
    if (hwc) {
      g.node("Reformat", "to_hwc", {"x"}, {"x_hwc"})->domain = "lowp";
      in = "x_hwc";
    }
    g.node("QuantizedConv", "conv1", {in, "w1", "b1"}, {"y1"}, attrs1)->domain = "lowp";
    g.node("MaxPool", "pool", {"y1"}, {"p"}, poolAttrs);
    g.node("QuantizedConv", "conv2", {"p", "w2"}, {"y"}, attrs2)->domain = "lowp";
    g.output("y");
    auto graph = g.finish();
    if (hwc) {
      for (const char* name : {"x_hwc", "y1", "p"}) graph->findValue(name)->format = TensorFormat::kHwc;
    }
    return graph;
  };
  const auto linear = testing::runGraph(makeGraph(false), {{"x", x}});
  auto graph = makeGraph(true);
  auto impl = runtime::prepareEngine(std::move(graph), EngineOptions{});
  ASSERT_TRUE(impl.isOk()) << impl.status().toString();
  std::vector<std::string> kernels;
  for (const ir::Node* node : (*impl)->graph->nodes())
    kernels.emplace_back((*impl)->kernelOf[static_cast<size_t>(node->id)]->name);
  EXPECT_EQ(kernels,
            (std::vector<std::string>{"x8-reformat-lineartohwc-sse2", "i8-quantizedconv-hwc-onednn",
                                      "i8-maxpool-hwc-onednn", "i8-quantizedconv-hwctolinear-onednn"}));
  Engine engine(std::move(impl).value());
  auto context = engine.createExecutionContext();
  std::vector<NamedTensor> outputs;
  const std::vector<NamedTensor> inputs = {{"x", x}};
  ASSERT_TRUE(context->execute(inputs, outputs).isOk());
  ASSERT_EQ(linear.size(), 1u);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(sameBytes(outputs[0].tensor, linear[0].tensor));
}

}  // namespace
}  // namespace lowp
