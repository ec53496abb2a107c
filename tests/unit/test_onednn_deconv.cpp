// The oneDNN ConvTranspose kernels (kernels/onednn/deconv.cpp) against the reference kernel
// any-convtranspose-ref: both run on the same node and inputs and their whole outputs are compared, element
// by element and by relative L2. Fixed shapes cover 1-, 2- and 3-D, groups (depthwise included), strides 1 to
// 3, dilations, asymmetric pads, output_padding, output_shape, every auto_pad, bias or none, batch 1 and 3,
// and each way the kernel cuts its work (images, blocks of output channels, groups); seeded random shapes
// follow. fp32 agrees within 1e-5 relative L2; bf16 (bf16 x, w, y; bf16 or fp32 bias) within 2e-2 of the
// reference run in fp32 on the same bf16 values. New input shapes re-create the plan, constant weights are
// packed once, other weights every run; geometry oneDNN cannot express is declined by `supports` and, where
// the kernel runs anyway (sizes unknown when it was chosen), computed by the reference kernel. Without
// oneDNN (LOWP_WITH_ONEDNN off) every test skips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "ir/numeric.h"
#include "kernel_under_test.h"
#include "kernels/kernel.h"
#include "op_runner.h"
#include "runtime/cpu_features.h"

namespace lowp {
namespace {

using ir::AttributeMap;
using kernels::KernelDef;
using testing::kernelNamed;
using testing::NodeUnderTest;
using testing::referenceKernel;
using testing::runKernel;

constexpr std::string_view kF32Kernel = "f32-convtranspose-onednn";
constexpr std::string_view kBf16Kernel = "bf16-convtranspose-onednn";

// fp32: both sum the same products in fp32, in different orders.
constexpr double kFp32L2 = 1e-5;
constexpr double kFp32Element = 1e-4;
// bf16 output against the fp32 reference: one rounding to bf16 (2^-9 relative) plus fp32 noise.
constexpr double kBf16L2 = 2e-2;

// Uniform values in [-1, 1]; rounded to bf16 (stored as `type`: bf16, or fp32 holding bf16-exact values).
Tensor randomTensor(std::mt19937& rng, std::vector<int64_t> shape, DataType type = DataType::kFloat32,
                    bool bf16Exact = false) {
  Tensor t(type, std::move(shape));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < t.elementCount(); ++i) {
    const float v = dist(rng);
    const uint16_t b = ir::floatToBFloat16(v);
    if (type == DataType::kBFloat16) {
      t.data<ir::BFloat16>()[i] = ir::BFloat16{b};
    } else {
      t.data<float>()[i] = bf16Exact ? ir::bfloat16ToFloat(b) : v;
    }
  }
  return t;
}

// The same values in fp32.
Tensor toFloat32(const Tensor& t) {
  if (t.type() != DataType::kBFloat16) return t;
  Tensor f(DataType::kFloat32, t.shape());
  for (int64_t i = 0; i < t.elementCount(); ++i)
    f.data<float>()[i] = static_cast<float>(elementAsDouble(t, i));
  return f;
}

// bf16-exact fp32 values as bf16.
Tensor inBf16(const Tensor& t) {
  Tensor b(DataType::kBFloat16, t.shape());
  for (int64_t i = 0; i < t.elementCount(); ++i)
    b.data<ir::BFloat16>()[i] = ir::BFloat16{ir::floatToBFloat16(t.data<float>()[i])};
  return b;
}

// ||got - want|| / ||want|| (want not all zeros).
double relativeL2(const Tensor& got, const Tensor& want) {
  double err = 0;
  double norm = 0;
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    const double g = elementAsDouble(got, i);
    const double w = elementAsDouble(want, i);
    err += (g - w) * (g - w);
    norm += w * w;
  }
  return std::sqrt(err) / std::max(std::sqrt(norm), 1e-30);
}

void expectClose(const Tensor& got, const Tensor& want, const std::string& what, double l2, double element) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  int bad = 0;
  for (int64_t i = 0; i < want.elementCount() && element > 0; ++i) {
    const double g = elementAsDouble(got, i);
    const double w = elementAsDouble(want, i);
    if (!(std::abs(g - w) <= element * std::max(1.0, std::abs(w))) && bad++ < 3)
      ADD_FAILURE() << what << ": element " << i << " is " << g << ", the reference says " << w;
  }
  EXPECT_LE(relativeL2(got, want), l2) << what;
}

// Runs the reference kernel on `inputs` (converted to fp32) for the same attributes.
Result<Tensor> runReference(const AttributeMap& attrs, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> f32;
  f32.reserve(inputs.size());
  for (const Tensor& t : inputs) f32.push_back(toFloat32(t));
  const NodeUnderTest n("ConvTranspose", "", 21, attrs, f32, {});
  if (!n.status().isOk()) return n.status();
  const KernelDef* ref = referenceKernel("ConvTranspose", "");
  if (ref == nullptr) return Status(StatusCode::kInternal, "no reference ConvTranspose");
  std::shared_ptr<void> state;
  return runKernel(*ref, n.node(), f32, n.outputType(), n.outputShape(), &state);
}

// Runs kernel `name` on `inputs` and compares its output with the reference kernel's in fp32. `slot` keeps
// the kernel's state across calls; `constantSlots` are constants of the graph. `expectSupported`: what the
// kernel's `supports` must say (it runs either way: a declined node falls back to the reference kernel).
void checkAgainstReference(std::string_view name, const AttributeMap& attrs,
                           const std::vector<Tensor>& inputs, const std::string& what,
                           std::shared_ptr<void>* slot = nullptr,
                           const std::vector<size_t>& constantSlots = {}, bool expectSupported = true) {
  const KernelDef* fast = kernelNamed(name);
  ASSERT_NE(fast, nullptr) << name << " is not registered";
  ASSERT_FALSE(fast->reference);
  ASSERT_NE(fast->supports, nullptr);
  // ONNX gives the bias x's type; the kernel also takes an fp32 bias with bf16 x (a bf16 layer of an fp32
  // model), so the node is typed with the bias in x's type and the kernel run on the inputs as they are.
  std::vector<Tensor> typed = inputs;
  if (typed.size() > 2 && typed[2].type() != typed[0].type()) typed[2] = inBf16(typed[2]);
  const NodeUnderTest n("ConvTranspose", "", 21, attrs, typed, constantSlots);
  ASSERT_TRUE(n.status().isOk()) << what << ": " << n.status().message();
  EXPECT_EQ(fast->supports(n.node(), n.inputShapes()), expectSupported) << what << ": " << name;
  std::shared_ptr<void> fresh;
  std::shared_ptr<void>* state = slot != nullptr ? slot : &fresh;
  auto got = runKernel(*fast, n.node(), inputs, n.outputType(), n.outputShape(), state);
  ASSERT_TRUE(got.isOk()) << what << ": " << got.status().message();
  // A node oneDNN computes leaves its plan in the state slot; a declined one ran the reference kernel.
  EXPECT_EQ(*state != nullptr, expectSupported) << what;
  auto want = runReference(attrs, inputs);
  ASSERT_TRUE(want.isOk()) << what << ": " << want.status().message();
  ASSERT_EQ(got->type(), inputs[0].type()) << what;
  const bool bf16 = inputs[0].type() == DataType::kBFloat16;
  expectClose(*got, *want, what + " (" + std::string(name) + ")", bf16 ? kBf16L2 : kFp32L2,
              bf16 ? 0.0 : kFp32Element);
}

struct DeconvCase {
  int64_t batch;
  int64_t inChannels;
  int64_t outChannels;
  int64_t group;
  std::vector<int64_t> input;   ///< Spatial sizes.
  std::vector<int64_t> kernel;  ///< Kernel sizes.
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;  ///< Begins then ends; empty: none.
  std::vector<int64_t> outputPadding;
  std::vector<int64_t> outputShape;
  std::string autoPad;  ///< Empty: NOTSET.
  bool bias;
};

AttributeMap attributesOf(const DeconvCase& c) {
  AttributeMap a;
  a.set("group", c.group);
  if (!c.strides.empty()) a.set("strides", c.strides);
  if (!c.dilations.empty()) a.set("dilations", c.dilations);
  if (!c.pads.empty()) a.set("pads", c.pads);
  if (!c.outputPadding.empty()) a.set("output_padding", c.outputPadding);
  if (!c.outputShape.empty()) a.set("output_shape", c.outputShape);
  if (!c.autoPad.empty()) a.set("auto_pad", c.autoPad);
  return a;
}

std::string describe(const DeconvCase& c, const std::vector<Tensor>& inputs) {
  std::string s;
  for (const Tensor& t : inputs) s += t.describe() + " ";
  s += "group=" + std::to_string(c.group);
  const std::pair<const char*, const std::vector<int64_t>*> lists[] = {{"strides", &c.strides},
                                                                       {"dilations", &c.dilations},
                                                                       {"pads", &c.pads},
                                                                       {"output_padding", &c.outputPadding},
                                                                       {"output_shape", &c.outputShape}};
  for (const auto& [name, v] : lists) {
    if (!v->empty()) s += std::string(" ") + name + "=" + ir::formatSizes(*v);
  }
  if (!c.autoPad.empty()) s += " auto_pad=" + c.autoPad;
  return s;
}

// The inputs of a case: x [N, C, in...], w [C, M / group, k...], and a bias of M (in `biasType`).
std::vector<Tensor> inputsOf(std::mt19937& rng, const DeconvCase& c, DataType type = DataType::kFloat32,
                             DataType biasType = DataType::kFloat32) {
  std::vector<int64_t> x = {c.batch, c.inChannels};
  x.insert(x.end(), c.input.begin(), c.input.end());
  std::vector<int64_t> w = {c.inChannels, c.outChannels / c.group};
  w.insert(w.end(), c.kernel.begin(), c.kernel.end());
  const bool bf16 = type == DataType::kBFloat16;
  std::vector<Tensor> inputs = {randomTensor(rng, x, type, bf16), randomTensor(rng, w, type, bf16)};
  if (c.bias) inputs.push_back(randomTensor(rng, {c.outChannels}, biasType, bf16));
  return inputs;
}

void checkCase(std::mt19937& rng, const DeconvCase& c) {
  const std::vector<Tensor> inputs = inputsOf(rng, c);
  checkAgainstReference(kF32Kernel, attributesOf(c), inputs, describe(c, inputs));
}

const std::vector<DeconvCase>& fixedCases() {
  static const std::vector<DeconvCase> cases = {
      {1, 3, 5, 1, {7, 9}, {3, 3}, {}, {}, {1, 1, 1, 1}, {}, {}, "", true},          // stride 1
      {1, 32, 40, 1, {8, 8}, {4, 4}, {2, 2}, {}, {1, 1, 1, 1}, {}, {}, "", true},    // 2x up, channel split
      {3, 16, 20, 1, {6, 7}, {4, 4}, {2, 2}, {}, {1, 1, 1, 1}, {}, {}, "", false},   // batch 3
      {3, 6, 4, 1, {5, 6}, {3, 3}, {3, 3}, {}, {0, 1, 2, 0}, {}, {}, "", false},     // stride 3, asymmetric
      {1, 6, 9, 3, {6, 7}, {3, 2}, {2, 1}, {2, 1}, {1, 0, 0, 1}, {}, {}, "", true},  // groups + dilation
      {3, 6, 9, 3, {6, 7}, {3, 2}, {2, 1}, {2, 1}, {1, 0, 0, 1}, {}, {}, "", true},  // same, batch 3
      {1, 12, 12, 12, {9, 10}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}, {}, {}, "", true},  // depthwise
      {3, 8, 16, 8, {7, 5}, {4, 4}, {2, 2}, {}, {1, 1, 1, 1}, {}, {}, "", false},    // depthwise x2
      {1, 4, 6, 1, {5, 5}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}, {1, 1}, {}, "", true},  // output_padding
      {2, 5, 3, 1, {4, 6}, {3, 3}, {3, 2}, {}, {0, 0, 0, 0}, {2, 1}, {}, "", true},  // end pad < 0
      {1, 4, 5, 1, {5, 5}, {3, 3}, {2, 2}, {}, {}, {}, {10, 9}, "", true},           // output_shape
      {1, 4, 5, 1, {5, 5}, {3, 3}, {2, 2}, {}, {}, {}, {1, 5, 12, 11}, "", false},   // N, C, spatial
      {1, 4, 6, 1, {5, 6}, {3, 3}, {2, 2}, {}, {}, {}, {}, "SAME_UPPER", true},      // auto_pad
      {3, 4, 6, 2, {5, 6}, {4, 3}, {2, 2}, {}, {}, {}, {}, "SAME_LOWER", false},     // auto_pad lower
      {1, 4, 6, 1, {5, 6}, {3, 3}, {2, 2}, {}, {}, {1, 0}, {}, "SAME_LOWER", true},  // + output_padding
      {2, 3, 4, 1, {6, 5}, {3, 2}, {2, 3}, {}, {}, {}, {}, "VALID", true},           // VALID
      {2, 7, 5, 1, {11}, {5}, {2}, {2}, {3, 1}, {}, {}, "", true},                   // 1-D
      {1, 6, 6, 6, {13}, {3}, {3}, {}, {1, 1}, {}, {}, "", false},                   // 1-D depthwise
      {1, 16, 48, 1, {21}, {4}, {2}, {}, {1, 1}, {1}, {}, "", true},                 // 1-D channel split
      {2, 4, 6, 2, {4, 5, 3}, {3, 2, 3}, {2, 1, 2}, {1, 2, 1}, {1, 0, 1, 0, 1, 0}, {}, {}, "", true},  // 3-D
      {1, 8, 24, 1, {3, 4, 5}, {2, 2, 2}, {2, 2, 2}, {}, {}, {}, {}, "", true},  // 3-D split
      {1, 16, 32, 1, {6, 6}, {1, 1}, {}, {}, {}, {}, {}, "", true},              // 1x1
      {1, 3, 4, 1, {2, 2}, {5, 5}, {1, 1}, {}, {2, 2, 2, 2}, {}, {}, "", true},  // kernel > input
  };
  return cases;
}

TEST(OneDnnDeconv, FixedShapes) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(7);
  for (const DeconvCase& c : fixedCases()) checkCase(rng, c);
}

// A random case; every one is a geometry oneDNN takes (a begin pad of 0 or more, an end pad above
// -stride: output_padding below the stride, output_shape at most one past the full result, SAME with a
// dilated kernel at least the stride).
DeconvCase randomCase(std::mt19937& rng) {
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  DeconvCase c;
  const int64_t spatial = pick(1, 3);
  c.group = pick(0, 3) == 0 ? pick(2, 4) : 1;
  const bool depthwise = c.group > 1 && pick(0, 1) == 1;
  c.inChannels = c.group * (depthwise ? 1 : pick(1, 6));
  c.outChannels = c.group * pick(1, c.group > 1 ? 5 : 40);
  c.batch = pick(1, 3);
  c.bias = pick(0, 1) == 1;
  for (int64_t d = 0; d < spatial; ++d) {
    c.kernel.push_back(pick(1, spatial == 3 ? 3 : 5));
    c.strides.push_back(pick(1, 3));
    c.dilations.push_back(pick(1, 2));
    c.input.push_back(pick(spatial == 3 ? 2 : 3, spatial == 1 ? 25 : spatial == 2 ? 11 : 5));
  }
  auto extent = [&](size_t d) { return (c.kernel[d] - 1) * c.dilations[d] + 1; };
  const auto axes = static_cast<size_t>(spatial);
  switch (pick(0, 3)) {
    case 0:
      c.autoPad = pick(0, 1) == 1 ? "SAME_UPPER" : "SAME_LOWER";
      for (size_t d = 0; d < axes; ++d) c.strides[d] = std::min(c.strides[d], extent(d));
      break;
    case 1:
      c.autoPad = "VALID";
      break;
    case 2:
      for (size_t d = 0; d < axes; ++d) {
        const int64_t full = (c.input[d] - 1) * c.strides[d] + extent(d);
        c.outputShape.push_back(
            std::max<int64_t>(1, pick(full - 3, full + std::min<int64_t>(1, c.strides[d] - 1))));
      }
      break;
    default:
      for (size_t d = 0; d < 2 * axes; ++d) c.pads.push_back(pick(0, 2));
      for (size_t d = 0; d < axes; ++d) {
        c.outputPadding.push_back(pick(0, c.strides[d] - 1));
        // Keep at least one output pixel.
        while ((c.input[d] - 1) * c.strides[d] + extent(d) + c.outputPadding[d] - c.pads[d] -
                   c.pads[d + axes] <
               1)
          ++c.input[d];
      }
      break;
  }
  return c;
}

TEST(OneDnnDeconv, RandomShapes) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(2024);
  for (int iter = 0; iter < 80; ++iter) checkCase(rng, randomCase(rng));
}

TEST(OneDnnDeconv, Bf16FixedAndRandomShapes) {
  SKIP_WITHOUT_ONEDNN();
  if (!runtime::cpuSupports(kernels::CpuFeature::kAvx512)) GTEST_SKIP() << "no AVX-512";
  std::mt19937 rng(43);
  std::vector<DeconvCase> cases = fixedCases();
  for (int iter = 0; iter < 40; ++iter) cases.push_back(randomCase(rng));
  for (size_t i = 0; i < cases.size(); ++i) {
    // A bf16 bias (ONNX's one type for all inputs) or an fp32 one (a bf16 layer of an fp32 model).
    const DataType biasType = i % 2 == 0 ? DataType::kBFloat16 : DataType::kFloat32;
    const std::vector<Tensor> inputs = inputsOf(rng, cases[i], DataType::kBFloat16, biasType);
    checkAgainstReference(kBf16Kernel, attributesOf(cases[i]), inputs, "bf16 " + describe(cases[i], inputs),
                          nullptr, {1, 2});
  }
}

// The comparison would catch a misplaced window: pads (1, 1), (0, 2), and (2, 1) with output_padding 1 give
// outputs of one size, shifted by a pixel; the oneDNN kernel on the first is far from the reference on the
// others.
TEST(OneDnnDeconv, ComparisonCatchesShiftedWindow) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(5);
  const DeconvCase a = {1, 8, 20, 1, {6, 6}, {4, 4}, {2, 2}, {}, {1, 1, 1, 1}, {}, {}, "", true};
  DeconvCase b = a;
  b.pads = {0, 1, 2, 1};
  DeconvCase c = a;
  c.pads = {2, 2, 1, 1};
  c.outputPadding = {1, 1};
  const std::vector<Tensor> inputs = inputsOf(rng, a);
  const NodeUnderTest n("ConvTranspose", "", 21, attributesOf(a), inputs, {1, 2});
  ASSERT_TRUE(n.status().isOk());
  std::shared_ptr<void> state;
  auto got = runKernel(*kernelNamed(kF32Kernel), n.node(), inputs, n.outputType(), n.outputShape(), &state);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  for (const DeconvCase* other : {&b, &c}) {
    auto shifted = runReference(attributesOf(*other), inputs);
    ASSERT_TRUE(shifted.isOk()) << shifted.status().message();
    ASSERT_EQ(shifted->shape(), got->shape());
    EXPECT_GT(relativeL2(*got, *shifted), 100 * kFp32L2) << describe(*other, inputs);
  }
  auto same = runReference(attributesOf(a), inputs);
  ASSERT_TRUE(same.isOk());
  EXPECT_LE(relativeL2(*got, *same), kFp32L2);
}

// Geometry oneDNN 2.6 cannot express is declined: a negative begin pad (output_shape two past the full
// result, SAME_UPPER with a kernel smaller than the stride) or an end pad of -stride (output_padding equal
// to the stride without pads). Run anyway (as where sizes are unknown when the kernel is chosen), the
// kernel hands the node to the reference kernel and is exact.
TEST(OneDnnDeconv, DeclinesGeometryOneDnnCannotExpress) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(9);
  const std::vector<DeconvCase> declined = {
      {1, 4, 5, 1, {5, 5}, {3, 3}, {2, 2}, {}, {}, {}, {13, 11}, "", true},
      {2, 4, 6, 1, {5, 6}, {1, 1}, {2, 2}, {}, {}, {}, {}, "SAME_UPPER", true},
      {1, 4, 6, 1, {5, 6}, {3, 3}, {2, 2}, {}, {0, 0, 0, 0}, {2, 0}, {}, "", false},
  };
  for (const DeconvCase& c : declined) {
    const std::vector<Tensor> inputs = inputsOf(rng, c);
    checkAgainstReference(kF32Kernel, attributesOf(c), inputs, "declined " + describe(c, inputs), nullptr, {},
                          false);
    const NodeUnderTest n("ConvTranspose", "", 21, attributesOf(c), inputs, {});
    ASSERT_TRUE(n.status().isOk());
    EXPECT_FALSE(kernelNamed(kBf16Kernel)->supports(n.node(), n.inputShapes()));
  }
  // Spatial sizes unknown when the kernel is chosen: it takes the node and decides when it runs.
  const NodeUnderTest n("ConvTranspose", "", 21, attributesOf(declined[0]), inputsOf(rng, declined[0]), {});
  std::vector<ir::Shape> shapes = n.inputShapes();
  shapes[0] = ir::Shape({ir::Dim(1), ir::Dim(4), ir::Dim::symbolic("h"), ir::Dim::symbolic("w")});
  EXPECT_TRUE(kernelNamed(kF32Kernel)->supports(n.node(), shapes));
  // Unknown rank, an empty dimension: declined.
  shapes[0] = ir::Shape::unknownRank();
  EXPECT_FALSE(kernelNamed(kF32Kernel)->supports(n.node(), shapes));
  shapes[0] = ir::Shape::fromSizes({1, 4, 0, 5});
  EXPECT_FALSE(kernelNamed(kF32Kernel)->supports(n.node(), shapes));
}

// Empty inputs: no images (an empty output) or no input channels (the output is the bias); declined when
// known, and computed by the reference kernel when the kernel meets them at run time.
TEST(OneDnnDeconv, EmptyInputs) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(19);
  const AttributeMap a =
      testing::attrs({{"strides", std::vector<int64_t>{2, 2}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  checkAgainstReference(kF32Kernel, a, {randomTensor(rng, {0, 4, 5, 5}), randomTensor(rng, {4, 3, 4, 4})},
                        "no images", nullptr, {}, false);
  checkAgainstReference(
      kF32Kernel, a,
      {randomTensor(rng, {2, 0, 5, 5}), randomTensor(rng, {0, 3, 4, 4}), randomTensor(rng, {3})},
      "no input channels", nullptr, {}, false);
}

// One context sees two input shapes: the second run must re-create the plan, not reuse the first.
TEST(OneDnnDeconv, ShapeChangeRecreatesState) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(11);
  const AttributeMap a = testing::attrs({{"strides", std::vector<int64_t>{2, 1}},
                                         {"pads", std::vector<int64_t>{1, 0, 1, 2}},
                                         {"group", int64_t{2}}});
  const Tensor w = randomTensor(rng, {4, 3, 3, 3});
  const Tensor b = randomTensor(rng, {6});
  std::shared_ptr<void> slot;
  checkAgainstReference(kF32Kernel, a, {randomTensor(rng, {1, 4, 9, 8}), w, b}, "first", &slot);
  const void* first = slot.get();
  ASSERT_NE(first, nullptr);
  checkAgainstReference(kF32Kernel, a, {randomTensor(rng, {3, 4, 12, 5}), w, b}, "second", &slot);
  EXPECT_NE(slot.get(), first);
}

// Constant weights are packed once: a second run with new activations reuses the plan and stays exact.
TEST(OneDnnDeconv, ConstantWeightsReused) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(13);
  const AttributeMap a =
      testing::attrs({{"strides", std::vector<int64_t>{2, 2}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  for (const int64_t batch : {1, 2}) {  // channel pieces and image pieces
    const Tensor w = randomTensor(rng, {16, 40, 4, 4});
    const Tensor b = randomTensor(rng, {40});
    std::shared_ptr<void> slot;
    checkAgainstReference(kF32Kernel, a, {randomTensor(rng, {batch, 16, 7, 7}), w, b}, "first", &slot,
                          {1, 2});
    const void* first = slot.get();
    checkAgainstReference(kF32Kernel, a, {randomTensor(rng, {batch, 16, 7, 7}), w, b}, "second", &slot,
                          {1, 2});
    EXPECT_EQ(slot.get(), first);
  }
}

// Weights given as a graph input may change between runs: they must not be cached.
TEST(OneDnnDeconv, NonConstantWeightsNotCached) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(17);
  const AttributeMap a =
      testing::attrs({{"strides", std::vector<int64_t>{2, 2}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  for (const int64_t batch : {1, 2}) {
    const Tensor x = randomTensor(rng, {batch, 16, 6, 6});
    std::shared_ptr<void> slot;
    checkAgainstReference(kF32Kernel, a, {x, randomTensor(rng, {16, 32, 4, 4})}, "first", &slot);
    const void* first = slot.get();
    checkAgainstReference(kF32Kernel, a, {x, randomTensor(rng, {16, 32, 4, 4})}, "second", &slot);
    EXPECT_EQ(slot.get(), first);
  }
}

}  // namespace
}  // namespace lowp
