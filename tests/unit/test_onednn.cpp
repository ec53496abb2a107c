// Every oneDNN kernel (kernels/onednn/) against the reference kernel of its op: both KernelDefs are taken
// from the global registry and run on the same node and the same random inputs, so two implementations are
// really compared (the oneDNN one through its own KernelContext and state slot). Shapes are random and odd;
// convolutions cover 1-, 2- and 3-D, groups, depthwise, strides, dilations, asymmetric pads, auto_pad, 1x1
// and batch > 1, both activation layouts (plain, nChw16c) and both work splits (images, blocks of output
// channels); FusedConv and FusedMatMul every activation with and without bias and residual; MatMul
// covers vectors and batch broadcasting; Gemm transposes, alpha, beta and every C broadcast; pools pads,
// strides, dilations, ceil mode and both AveragePool divisors; bf16 kernels read bf16-exact random inputs.
// A context that sees new input shapes must re-create its oneDNN primitive, and constant weights are
// reordered once and reused. fp32 results agree within 1e-4 relative, bf16 within one bf16 step (see
// kBf16Tolerance). Without oneDNN (LOWP_WITH_ONEDNN off) every test skips.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "graph_builder.h"
#include "ir/graph.h"
#include "ir/numeric.h"
#include "kernel_under_test.h"
#include "kernels/kernel.h"
#include "onnx/importer.h"
#include "op_runner.h"
#include "runtime/cpu_features.h"
#include "runtime/engine_impl.h"
#include "runtime/thread_pool.h"

#if LOWP_WITH_ONEDNN
#include "kernels/onednn/common.h"
#endif

namespace lowp {
namespace {

using ir::AttributeMap;
using kernels::KernelDef;
using kernels::KernelRegistry;
using testing::kBuiltWithOneDnn;
using testing::kernelNamed;
using testing::NodeUnderTest;
using testing::referenceKernel;
using testing::runKernel;

Tensor randomTensor(std::mt19937& rng, std::vector<int64_t> shape) {
  Tensor t(DataType::kFloat32, std::move(shape));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < t.elementCount(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

// How close a fast kernel must come to the reference.
struct Tolerance {
  double element = 1e-4;  ///< Per element, relative, with the same floor absolute for values near 0.
  double l2 = 1e-5;       ///< Whole tensor, relative L2 (floored at an absolute 1 for tiny norms).
};

// fp32: both compute in fp32 and differ only in summation order: 1e-4 per element, 1e-5 relative L2.
constexpr Tolerance kFp32Tolerance{};

// bf16 output: both kernels read the same bf16 values, accumulate in fp32 and round once, so they differ
// only where fp32 summation-order noise (~1e-6 relative to the sum) moves a result across a bf16 rounding
// boundary: by one bf16 step, at most 2^-7 of the value (8 significant bits). An element may be off by that
// (with the same floor absolute near 0); the whole tensor by 2^-9 relative L2, since few elements are.
constexpr Tolerance kBf16Tolerance{1.0 / 128, 1.0 / 512};

void expectClose(const Tensor& got, const Tensor& want, const std::string& what, Tolerance tol = {}) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.type(), want.type()) << what;
  double err = 0;
  double norm = 0;
  int bad = 0;
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    const double g = elementAsDouble(got, i);
    const double w = elementAsDouble(want, i);
    err += (g - w) * (g - w);
    norm += w * w;
    if (!(std::abs(g - w) <= tol.element * std::max(1.0, std::abs(w))) && bad++ < 3) {
      ADD_FAILURE() << what << ": element " << i << " is " << g << ", the reference says " << w;
    }
  }
  EXPECT_LE(std::sqrt(err), tol.l2 * std::max(1.0, std::sqrt(norm))) << what;
}

// Runs the oneDNN kernel `name` and the op's reference kernel on one node and compares them. With `slot`,
// the oneDNN kernel keeps its state there (to test reuse across runs); otherwise a fresh one.
void compareWithReference(std::string_view name, const std::string& opType, const AttributeMap& attrs,
                          const std::vector<Tensor>& inputs, const std::string& what,
                          std::shared_ptr<void>* slot = nullptr,
                          const std::vector<size_t>& constantSlots = {}, const std::string& domain = "",
                          Tolerance tol = kFp32Tolerance) {
  const KernelDef* fast = kernelNamed(name);
  const KernelDef* ref = referenceKernel(opType, domain);
  ASSERT_NE(fast, nullptr) << name << " is not registered";
  ASSERT_NE(ref, nullptr) << "no reference " << opType;
  ASSERT_FALSE(fast->reference);
  ASSERT_EQ(fast->domain, domain) << name;
  NodeUnderTest n(opType, domain, domain.empty() ? 21 : 1, attrs, inputs, constantSlots);
  ASSERT_TRUE(n.status().isOk()) << what << ": " << n.status().message();
  ASSERT_NE(fast->supports, nullptr);
  EXPECT_TRUE(fast->supports(n.node(), n.inputShapes())) << what << ": " << name << " declines";
  std::shared_ptr<void> fresh;
  auto got =
      runKernel(*fast, n.node(), inputs, n.outputType(), n.outputShape(), slot != nullptr ? slot : &fresh);
  ASSERT_TRUE(got.isOk()) << what << ": " << got.status().message();
  std::shared_ptr<void> refState;
  auto want = runKernel(*ref, n.node(), inputs, n.outputType(), n.outputShape(), &refState);
  ASSERT_TRUE(want.isOk()) << what << ": " << want.status().message();
  expectClose(*got, *want, what + " (" + std::string(name) + " vs " + std::string(ref->name) + ")", tol);
}

using lowp::testing::attrs;

std::string describe(const std::vector<Tensor>& inputs, const AttributeMap& a) {
  std::string s;
  for (const Tensor& t : inputs) s += (t.type() == DataType::kUndefined ? "-" : t.describe()) + " ";
  for (const char* name : {"group", "strides", "dilations", "pads"}) {
    if (a.has(name)) s += std::string(name) + "=" + ir::formatSizes(a.getInts(name)) + " ";
  }
  if (a.has("auto_pad")) s += "auto_pad=" + a.getString("auto_pad");
  return s;
}

// ---- Conv ------------------------------------------------------------------------------------------------

struct ConvCase {
  int64_t batch;
  int64_t inChannels;
  int64_t outChannels;
  int64_t group;
  std::vector<int64_t> input;   ///< Spatial sizes.
  std::vector<int64_t> kernel;  ///< Kernel sizes.
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;  ///< Begins then ends; empty: none.
  std::string autoPad;        ///< Empty: NOTSET.
  bool bias;
};

void checkConv(std::mt19937& rng, const ConvCase& c) {
  std::vector<int64_t> x = {c.batch, c.inChannels};
  x.insert(x.end(), c.input.begin(), c.input.end());
  std::vector<int64_t> w = {c.outChannels, c.inChannels / c.group};
  w.insert(w.end(), c.kernel.begin(), c.kernel.end());
  std::vector<Tensor> inputs = {randomTensor(rng, x), randomTensor(rng, w)};
  if (c.bias) inputs.push_back(randomTensor(rng, {c.outChannels}));
  AttributeMap a;
  a.set("group", c.group);
  if (!c.strides.empty()) a.set("strides", c.strides);
  if (!c.dilations.empty()) a.set("dilations", c.dilations);
  if (!c.pads.empty()) a.set("pads", c.pads);
  if (!c.autoPad.empty()) a.set("auto_pad", c.autoPad);
  compareWithReference("f32-conv-onednn", "Conv", a, inputs, describe(inputs, a));
}

TEST(OneDnnConv, FixedShapes) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(7);
  const std::vector<ConvCase> cases = {
      {1, 3, 8, 1, {7, 9}, {3, 3}, {}, {}, {1, 1, 1, 1}, "", true},            // plain 3x3
      {2, 16, 24, 1, {5, 6}, {1, 1}, {}, {}, {}, "", true},                    // 1x1, batch 2
      {3, 5, 7, 1, {11, 13}, {3, 5}, {2, 3}, {}, {0, 1, 2, 0}, "", false},     // strides, asymmetric
      {2, 12, 12, 12, {9, 10}, {3, 3}, {1, 1}, {}, {1, 1, 1, 1}, "", true},    // depthwise
      {1, 8, 16, 8, {10, 7}, {3, 3}, {2, 2}, {}, {1, 0, 0, 1}, "", true},      // depthwise x2
      {2, 6, 9, 3, {13, 12}, {3, 2}, {1, 2}, {2, 3}, {2, 1, 1, 2}, "", true},  // groups + dilation
      {1, 4, 6, 1, {17, 15}, {3, 3}, {2, 2}, {}, {}, "SAME_UPPER", true},      // auto_pad
      {1, 4, 6, 2, {16, 15}, {4, 3}, {3, 2}, {}, {}, "SAME_LOWER", false},     // auto_pad lower
      {1, 3, 5, 1, {12, 11}, {3, 3}, {2, 1}, {}, {}, "VALID", true},           // VALID
      {2, 7, 5, 1, {23}, {5}, {2}, {2}, {3, 1}, "", true},                     // 1-D
      {1, 6, 6, 6, {19}, {3}, {1}, {}, {1, 1}, "", false},                     // 1-D depthwise
      {2, 4, 6, 2, {5, 6, 7}, {3, 2, 3}, {1, 2, 1}, {1, 1, 2}, {1, 0, 1, 1, 1, 0}, "", true},  // 3-D
      {1, 32, 64, 1, {14, 14}, {3, 3}, {1, 1}, {}, {1, 1, 1, 1}, "", true},                    // deep K
      {1, 3, 4, 1, {4, 4}, {5, 5}, {}, {}, {2, 2, 2, 2}, "", true},  // kernel > input
  };
  for (const ConvCase& c : cases) checkConv(rng, c);
}

TEST(OneDnnConv, RandomShapes) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(2024);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int iter = 0; iter < 60; ++iter) {
    ConvCase c;
    const int64_t spatial = pick(1, 3);
    c.group = pick(0, 3) == 0 ? pick(2, 4) : 1;
    const bool depthwise = c.group > 1 && pick(0, 1) == 1;
    c.inChannels = c.group * (depthwise ? 1 : pick(1, 5));
    c.outChannels = c.group * pick(1, 5);
    c.batch = pick(1, 3);
    c.bias = pick(0, 1) == 1;
    for (int64_t d = 0; d < spatial; ++d) {
      c.kernel.push_back(pick(1, spatial == 3 ? 3 : 5));
      c.strides.push_back(pick(1, 3));
      c.dilations.push_back(pick(1, 2));
      c.input.push_back(pick(spatial == 3 ? 3 : 5, spatial == 1 ? 40 : spatial == 2 ? 17 : 8));
    }
    const int64_t mode = pick(0, 3);
    if (mode == 0) {
      c.autoPad = pick(0, 1) == 1 ? "SAME_UPPER" : "SAME_LOWER";
    } else {
      for (int64_t d = 0; d < 2 * spatial; ++d) c.pads.push_back(pick(0, 2));
    }
    // Keep at least one output pixel on every axis.
    for (int64_t d = 0; d < spatial; ++d) {
      const auto i = static_cast<size_t>(d);
      const int64_t extent = (c.kernel[i] - 1) * c.dilations[i] + 1;
      const int64_t padded = c.input[i] + (c.pads.empty() ? 0 : c.pads[i] + c.pads[i + spatial]);
      if (padded < extent) c.input[i] += extent - padded;
    }
    checkConv(rng, c);
  }
}

// One context sees two input shapes: the second run must re-create the primitive, not reuse the first.
TEST(OneDnnConv, ShapeChangeRecreatesState) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(11);
  const AttributeMap a = attrs({{"strides", std::vector<int64_t>{2, 1}},
                                {"pads", std::vector<int64_t>{1, 0, 1, 2}},
                                {"group", int64_t{2}}});
  const Tensor w = randomTensor(rng, {6, 2, 3, 3});
  const Tensor b = randomTensor(rng, {6});
  std::shared_ptr<void> slot;
  compareWithReference("f32-conv-onednn", "Conv", a, {randomTensor(rng, {1, 4, 9, 8}), w, b}, "first", &slot);
  const void* first = slot.get();
  ASSERT_NE(first, nullptr);
  compareWithReference("f32-conv-onednn", "Conv", a, {randomTensor(rng, {3, 4, 12, 5}), w, b}, "second",
                       &slot);
  EXPECT_NE(slot.get(), first);
}

// Constant weights are reordered once: a second run with new activations reuses the state and stays exact.
TEST(OneDnnConv, ConstantWeightsReused) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(13);
  const AttributeMap a = attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  const Tensor w = randomTensor(rng, {32, 16, 3, 3});
  const Tensor b = randomTensor(rng, {32});
  std::shared_ptr<void> slot;
  compareWithReference("f32-conv-onednn", "Conv", a, {randomTensor(rng, {2, 16, 10, 10}), w, b}, "first",
                       &slot, {1, 2});
  const void* first = slot.get();
  compareWithReference("f32-conv-onednn", "Conv", a, {randomTensor(rng, {2, 16, 10, 10}), w, b}, "second",
                       &slot, {1, 2});
  EXPECT_EQ(slot.get(), first);
}

// Weights given as a graph input may change between runs: they must not be cached.
TEST(OneDnnConv, NonConstantWeightsNotCached) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(17);
  const AttributeMap a = attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  const Tensor x = randomTensor(rng, {1, 16, 8, 8});
  std::shared_ptr<void> slot;
  compareWithReference("f32-conv-onednn", "Conv", a, {x, randomTensor(rng, {32, 16, 3, 3})}, "first", &slot);
  compareWithReference("f32-conv-onednn", "Conv", a, {x, randomTensor(rng, {32, 16, 3, 3})}, "second", &slot);
}

// ---- MatMul ----------------------------------------------------------------------------------------------

TEST(OneDnnMatMul, Shapes) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(3);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> cases = {
      {{7, 5}, {5, 9}},
      {{1, 1}, {1, 1}},
      {{33, 65}, {65, 17}},
      {{5}, {5, 3}},                             // vector x matrix
      {{4, 6}, {6}},                             // matrix x vector
      {{9}, {9}},                                // dot product
      {{3, 4, 5}, {5, 6}},                       // batch x matrix
      {{4, 5}, {2, 5, 6}},                       // matrix x batch
      {{2, 3, 4, 5}, {2, 3, 5, 7}},              // batch x batch
      {{2, 1, 4, 5}, {1, 3, 5, 7}},              // both broadcast
      {{3, 1, 4, 5}, {3, 5, 2}},                 // ranks differ and broadcast
      {{6}, {2, 3, 6, 4}},                       // vector x batch
      {{2, 3, 4, 6}, {6}},                       // batch x vector
      {{1, 2, 1, 2, 3, 4}, {2, 1, 2, 1, 4, 3}},  // rank 6
      {{3, 41, 130}, {130, 70}},                 // rows split over the pool
      {{97, 129}, {129}},                        // rows split, vector B
  };
  for (const auto& [a, b] : cases) {
    std::vector<Tensor> inputs = {randomTensor(rng, a), randomTensor(rng, b)};
    compareWithReference("f32-matmul-onednn", "MatMul", {}, inputs, describe(inputs, {}));
  }
}

TEST(OneDnnMatMul, ConstantWeightsArePackedOnceAndGiveTheSameProduct) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(4);
  // A constant B is reordered once into the primitive's layout; the rows split over the pool, in chunks of
  // two sizes, all read the packed copy. The second run reuses it. One or two rows split the columns
  // instead, in blocks of 64 of the plain B (530: a last block of 18 columns).
  for (const auto& [a, b] :
       std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>>{{{1, 128, 256}, {256, 96}},
                                                                          {{37, 70}, {70, 33}},
                                                                          {{3, 41, 130}, {130, 70}},
                                                                          {{1, 300}, {300, 512}},
                                                                          {{2, 1, 260}, {260, 530}}}) {
    std::vector<Tensor> inputs = {randomTensor(rng, a), randomTensor(rng, b)};
    std::shared_ptr<void> slot;
    compareWithReference("f32-matmul-onednn", "MatMul", {}, inputs, "first run " + describe(inputs, {}),
                         &slot, {1});
    compareWithReference("f32-matmul-onednn", "MatMul", {}, inputs, "second run " + describe(inputs, {}),
                         &slot, {1});
  }
  for (int transB = 0; transB < 2; ++transB) {
    for (const auto& [m, k, n] : std::vector<std::array<int64_t, 3>>{{29, 48, 40}, {1, 300, 450}}) {
      std::vector<Tensor> inputs = {
          randomTensor(rng, {m, k}),
          randomTensor(rng, transB ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}),
          randomTensor(rng, {n})};
      compareWithReference("f32-gemm-onednn", "Gemm", attrs({{"transB", int64_t{transB}}}), inputs,
                           "gemm " + describe(inputs, {}), nullptr, {1, 2});
    }
  }
}

TEST(OneDnnMatMul, ShapeChangeRecreatesState) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(5);
  std::shared_ptr<void> slot;
  compareWithReference("f32-matmul-onednn", "MatMul", {},
                       {randomTensor(rng, {3, 7}), randomTensor(rng, {7, 4})}, "first", &slot);
  const void* first = slot.get();
  compareWithReference("f32-matmul-onednn", "MatMul", {},
                       {randomTensor(rng, {2, 5, 7}), randomTensor(rng, {7, 4})}, "second", &slot);
  EXPECT_NE(slot.get(), first);
}

// ---- Gemm ------------------------------------------------------------------------------------------------

TEST(OneDnnGemm, TransposesScalesAndBroadcasts) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(9);
  const int64_t m = 13;
  const int64_t k = 21;
  const int64_t n = 11;
  const std::vector<std::vector<int64_t>> cShapes = {{}, {n}, {1, n}, {m, 1}, {m, n}, {1}, {1, 1}};
  for (int transA = 0; transA < 2; ++transA) {
    for (int transB = 0; transB < 2; ++transB) {
      for (size_t ci = 0; ci <= cShapes.size(); ++ci) {
        const bool withC = ci < cShapes.size();
        for (const auto& [alpha, beta] :
             std::vector<std::pair<float, float>>{{1.0f, 1.0f}, {0.5f, -2.0f}, {2.0f, 0.0f}}) {
          const AttributeMap a = attrs(
              {{"transA", int64_t{transA}}, {"transB", int64_t{transB}}, {"alpha", alpha}, {"beta", beta}});
          std::vector<Tensor> inputs = {
              randomTensor(rng, transA ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k}),
              randomTensor(rng, transB ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n})};
          if (withC) inputs.push_back(randomTensor(rng, cShapes[ci]));
          compareWithReference("f32-gemm-onednn", "Gemm", a, inputs,
                               describe(inputs, a) + " transA=" + std::to_string(transA) +
                                   " transB=" + std::to_string(transB) + " alpha=" + std::to_string(alpha) +
                                   " beta=" + std::to_string(beta));
        }
      }
    }
  }
}

// Products large enough that the rows are split over the pool's threads (uneven chunks, transposed A).
TEST(OneDnnGemm, RowsSplitOverThreads) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(19);
  const int64_t m = 67;
  const int64_t k = 129;
  const int64_t n = 65;
  for (int transA = 0; transA < 2; ++transA) {
    for (int transB = 0; transB < 2; ++transB) {
      const AttributeMap a =
          attrs({{"transA", int64_t{transA}}, {"transB", int64_t{transB}}, {"alpha", 1.5f}, {"beta", 0.5f}});
      std::vector<Tensor> inputs = {
          randomTensor(rng, transA ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k}),
          randomTensor(rng, transB ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}),
          randomTensor(rng, {m, 1})};
      compareWithReference(
          "f32-gemm-onednn", "Gemm", a, inputs,
          describe(inputs, a) + " transA=" + std::to_string(transA) + " transB=" + std::to_string(transB));
    }
  }
}

TEST(OneDnnGemm, ShapeChangeRecreatesState) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(15);
  const AttributeMap a = attrs({{"transB", int64_t{1}}, {"alpha", 0.75f}});
  const Tensor b = randomTensor(rng, {10, 24});
  const Tensor c = randomTensor(rng, {10});
  std::shared_ptr<void> slot;
  compareWithReference("f32-gemm-onednn", "Gemm", a, {randomTensor(rng, {1, 24}), b, c}, "first", &slot,
                       {1, 2});
  const void* first = slot.get();
  compareWithReference("f32-gemm-onednn", "Gemm", a, {randomTensor(rng, {8, 24}), b, c}, "second", &slot,
                       {1, 2});
  EXPECT_NE(slot.get(), first);
}

// ---- FusedConv -------------------------------------------------------------------------------------------

AttributeMap withActivation(AttributeMap a, const std::string& activation, float alpha = 0.0f,
                            float beta = 0.0f) {
  if (activation.empty()) return a;
  a.set("activation", activation);
  if (activation == "LeakyRelu" || activation == "Clip" || activation == "Gelu")
    a.set("activation_alpha", alpha);
  if (activation == "Clip") a.set("activation_beta", beta);
  return a;
}

struct ActivationCase {
  std::string name;
  float alpha;
  float beta;
};

const std::vector<ActivationCase> kActivations = {
    {"", 0, 0},        {"Relu", 0, 0},      {"LeakyRelu", 0.1f, 0}, {"Clip", 0, 6}, {"Clip", -0.5f, 0.25f},
    {"Sigmoid", 0, 0}, {"HardSwish", 0, 0}, {"Tanh", 0, 0},         {"Gelu", 0, 0}, {"Gelu", 1, 0}};

// Every activation, with and without bias and residual, over a plain, a strided, a depthwise and a 1x1
// convolution (the layouts oneDNN picks differ between them).
TEST(OneDnnFusedConv, ActivationsBiasAndResidual) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(23);
  struct Geometry {
    std::vector<int64_t> x;
    std::vector<int64_t> w;
    AttributeMap attrs;
  };
  const std::vector<Geometry> geometries = {
      {{2, 16, 9, 8}, {32, 16, 3, 3}, attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}})},
      {{1, 5, 11, 10}, {7, 5, 3, 3}, attrs({{"strides", std::vector<int64_t>{2, 2}}})},
      {{2, 24, 7, 7},
       {24, 1, 3, 3},
       attrs({{"group", int64_t{24}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}})},
      {{3, 32, 5, 5}, {48, 32, 1, 1}, {}},
      {{2, 6, 17}, {4, 6, 3}, {}},
  };
  for (const Geometry& g : geometries) {
    NodeUnderTest shapeOnly("Conv", "", 21, g.attrs, {randomTensor(rng, g.x), randomTensor(rng, g.w)}, {});
    ASSERT_TRUE(shapeOnly.status().isOk());
    for (const ActivationCase& act : kActivations) {
      for (int bias = 0; bias < 2; ++bias) {
        for (int residual = 0; residual < 2; ++residual) {
          std::vector<Tensor> inputs = {randomTensor(rng, g.x), randomTensor(rng, g.w),
                                        bias ? randomTensor(rng, {g.w[0]}) : Tensor()};
          if (residual) inputs.push_back(randomTensor(rng, shapeOnly.outputShape()));
          const AttributeMap a = withActivation(g.attrs, act.name, act.alpha, act.beta);
          compareWithReference("f32-fusedconv-onednn", "FusedConv", a, inputs,
                               describe(inputs, a) + " act=" + act.name, nullptr, {1, 2}, "lowp");
        }
      }
    }
  }
}

// Both activation layouts (plain, and oneDNN's with reorders) and both ways of spreading a convolution over
// the pool (by images; at batch 1 by blocks of 16 output channels, the last one partial, with the input
// reordered once in channel slices, or sliced per block when depthwise), with a residual and an activation.
TEST(OneDnnFusedConv, LayoutsAndSplits) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(47);
  struct Case {
    std::vector<int64_t> x;
    std::vector<int64_t> w;
    int64_t group;
  };
  const std::vector<Case> cases = {
      {{1, 40, 9, 7}, {50, 40, 3, 3}, 1},   // channel split, partial last block, shared nChw16c input
      {{1, 24, 8, 8}, {72, 24, 1, 1}, 1},   // input channels not a multiple of 16
      {{1, 3, 17, 15}, {40, 3, 3, 3}, 1},   // few input channels: plain input
      {{1, 40, 10, 9}, {40, 1, 3, 3}, 40},  // depthwise, sliced per block
      {{3, 40, 6, 5}, {36, 40, 3, 3}, 1},   // images split 1 + 2
      {{1, 12, 6, 6}, {24, 4, 3, 3}, 3},    // grouped: one piece
  };
  const AttributeMap base = attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  for (const char* layout : {"plain", ""}) {
    setenv("LOWP_ONEDNN_CONV_LAYOUT", layout, 1);
    for (const Case& c : cases) {
      AttributeMap a = withActivation(base, "Clip", 0.0f, 0.5f);
      a.set("group", c.group);
      NodeUnderTest shape("Conv", "", 21, a, {randomTensor(rng, c.x), randomTensor(rng, c.w)}, {});
      ASSERT_TRUE(shape.status().isOk());
      std::vector<Tensor> inputs = {randomTensor(rng, c.x), randomTensor(rng, c.w),
                                    randomTensor(rng, {c.w[0]}), randomTensor(rng, shape.outputShape())};
      compareWithReference(
          "f32-fusedconv-onednn", "FusedConv", a, inputs,
          std::string("layout=") + (*layout != 0 ? layout : "blocked") + " " + describe(inputs, a), nullptr,
          {1, 2}, "lowp");
    }
  }
  unsetenv("LOWP_ONEDNN_CONV_LAYOUT");
}

// New shapes re-create the plan; the residual keeps working across runs of one state.
TEST(OneDnnFusedConv, StateFollowsShapes) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(29);
  const AttributeMap a = withActivation(attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}}), "Relu");
  const Tensor w = randomTensor(rng, {16, 8, 3, 3});
  std::shared_ptr<void> slot;
  compareWithReference("f32-fusedconv-onednn", "FusedConv", a,
                       {randomTensor(rng, {1, 8, 6, 6}), w, Tensor(), randomTensor(rng, {1, 16, 6, 6})},
                       "first", &slot, {1}, "lowp");
  const void* first = slot.get();
  compareWithReference("f32-fusedconv-onednn", "FusedConv", a,
                       {randomTensor(rng, {1, 8, 6, 6}), w, Tensor(), randomTensor(rng, {1, 16, 6, 6})},
                       "again", &slot, {1}, "lowp");
  EXPECT_EQ(slot.get(), first);
  compareWithReference("f32-fusedconv-onednn", "FusedConv", a,
                       {randomTensor(rng, {2, 8, 5, 7}), w, Tensor(), randomTensor(rng, {2, 16, 5, 7})},
                       "second", &slot, {1}, "lowp");
  EXPECT_NE(slot.get(), first);
}

// Runs `kernel` on `n` with output 0 in the memory of a copy of input `slot`, as the runtime plans it for a
// kernel's inPlaceInput; returns that output.
Tensor runInPlace(const KernelDef& kernel, const NodeUnderTest& n, const std::vector<Tensor>& inputs,
                  size_t slot) {
  static runtime::ThreadPool pool(2);
  const kernels::ParallelFor parallelFor = [](int64_t count, int64_t grain,
                                              const std::function<void(int64_t, int64_t)>& fn) {
    pool.parallelFor(count, grain, fn);
  };
  Tensor shared = inputs[slot].clone();
  Tensor y = Tensor::view(n.outputType(), n.outputShape(), shared.data());
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < inputs.size(); ++i)
    ins.push_back(i == slot ? &shared : inputs[i].type() == DataType::kUndefined ? nullptr : &inputs[i]);
  kernels::KernelContext ctx(n.node(), ins, {&y}, parallelFor,
                             [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
  const Status st = kernel.fn(ctx);
  EXPECT_TRUE(st.isOk()) << kernel.name << ": " << st.toString();
  return shared;
}

// The output computed in the residual's memory (KernelDef::inPlaceInput): by images and by blocks of output
// channels; and the reference fallback, which zero-fills its output first, reading a copy of the residual.
TEST(OneDnnFusedConv, ResidualInTheOutputsMemory) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(61);
  const KernelDef* fast = kernelNamed("f32-fusedconv-onednn");
  const KernelDef* ref = referenceKernel("FusedConv", "lowp");
  ASSERT_NE(fast, nullptr);
  ASSERT_NE(ref, nullptr);
  EXPECT_EQ(fast->inPlaceInput, 3);
  for (int64_t batch : {1, 3}) {
    const AttributeMap a =
        withActivation(attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}}), "Relu", 0.0f, 0.0f);
    std::vector<Tensor> inputs = {randomTensor(rng, {batch, 16, 9, 8}), randomTensor(rng, {40, 16, 3, 3}),
                                  randomTensor(rng, {40}), randomTensor(rng, {batch, 40, 9, 8})};
    NodeUnderTest n("FusedConv", "lowp", 1, a, inputs, {1, 2});
    ASSERT_TRUE(n.status().isOk()) << n.status().message();
    auto want = runKernel(*ref, n.node(), inputs, n.outputType(), n.outputShape());
    ASSERT_TRUE(want.isOk());
    expectClose(runInPlace(*fast, n, inputs, 3), *want, "in place, batch " + std::to_string(batch));
#if LOWP_WITH_ONEDNN
    struct Fallback {
      static Status fn(kernels::KernelContext& ctx) { return kernels::onednn::runReferenceKernel(ctx); }
    };
    KernelDef fallback = *fast;
    fallback.fn = Fallback::fn;
    expectClose(runInPlace(fallback, n, inputs, 3), *want,
                "reference fallback, batch " + std::to_string(batch));
#endif
  }
}

// The runtime gives a FusedConv's output its residual's memory only when nothing reads the residual later
// and the convolution does not also read it as its input; the results are those of the reference kernels.
TEST(OneDnnFusedConv, RuntimePlansTheOutputInTheResidualsMemoryWhereItIsFree) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(67);
  testing::GraphBuilder b;
  b.input("x", {2, 16, 6, 6});
  b.constant("w", randomTensor(rng, {16, 16, 3, 3}));
  b.constant("bias", randomTensor(rng, {16}));
  const AttributeMap conv = attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  b.node("Relu", "relu", {"x"}, {"a"});
  b.node("FusedConv", "free", {"x", "w", "bias", "a"}, {"b"}, conv)->domain = "lowp";       // a: dead after
  b.node("FusedConv", "own_input", {"b", "w", "bias", "b"}, {"c"}, conv)->domain = "lowp";  // b: also X
  b.node("Neg", "neg", {"c"}, {"e"});
  b.node("FusedConv", "read_later", {"e", "w", "bias", "c"}, {"d"}, conv)->domain = "lowp";  // c: read by Add
  b.node("Add", "add", {"d", "c"}, {"y"});
  b.output("y");
  auto graph = b.finish();
  for (ir::Node* node : graph->nodes()) node->opsetVersion = node->domain.empty() ? 17 : 1;
  Tensor x = randomTensor(rng, {2, 16, 6, 6});
  const std::vector<Tensor> want = testing::runReference(*graph, {{"x", x}});
  auto impl = runtime::prepareEngine(std::move(graph), EngineOptions{});
  ASSERT_TRUE(impl.isOk()) << impl.status().toString();
  Engine engine(std::move(impl).value());
  auto context = engine.createExecutionContext();
  std::map<std::string, const void*> memory;
  runtime::observeValues(*context, [&](const ir::Value& v, const Tensor& t) { memory[v.name] = t.data(); });
  const std::vector<NamedTensor> inputs = {{"x", x}};
  std::vector<NamedTensor> outputs;
  ASSERT_TRUE(context->execute(inputs, outputs).isOk());
  ASSERT_EQ(outputs.size(), 1u);
  ASSERT_EQ(want.size(), 1u);
  // Three convolutions in a row: summation-order noise grows past the one-layer 1e-4 per element.
  expectClose(outputs[0].tensor, want[0], "y", Tolerance{1e-3, 1e-5});
  EXPECT_EQ(memory["b"], memory["a"]);
  EXPECT_NE(memory["c"], memory["b"]);
  EXPECT_NE(memory["d"], memory["c"]);
}

// oneDNN's clip differs from ONNX's Clip when min > max: the kernel declines it.
TEST(OneDnnFusedConv, DeclinesClipWithMinAboveMax) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(31);
  const AttributeMap a = withActivation({}, "Clip", 1.0f, -1.0f);
  NodeUnderTest n("FusedConv", "lowp", 1, a,
                  {randomTensor(rng, {1, 2, 4, 4}), randomTensor(rng, {3, 2, 1, 1})}, {});
  ASSERT_TRUE(n.status().isOk());
  EXPECT_FALSE(kernelNamed("f32-fusedconv-onednn")->supports(n.node(), n.inputShapes()));
}

// ---- FusedMatMul -----------------------------------------------------------------------------------------

TEST(OneDnnFusedMatMul, BiasAndActivations) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(37);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> cases = {
      {{7, 5}, {5, 9}}, {{3, 41, 130}, {130, 70}},    {{2, 3, 4, 5}, {2, 3, 5, 7}},
      {{5}, {5, 3}},    {{2, 1, 4, 5}, {1, 3, 5, 6}},
  };
  for (const auto& [a, b] : cases) {
    for (const ActivationCase& act : kActivations) {
      for (int bias = 0; bias < 2; ++bias) {
        std::vector<Tensor> inputs = {randomTensor(rng, a), randomTensor(rng, b)};
        if (bias) inputs.push_back(randomTensor(rng, {b.back()}));
        const AttributeMap attr = withActivation({}, act.name, act.alpha, act.beta);
        compareWithReference("f32-fusedmatmul-onednn", "FusedMatMul", attr, inputs,
                             describe(inputs, attr) + " act=" + act.name, nullptr, {1, 2}, "lowp");
      }
    }
  }
}

// ---- Pooling ---------------------------------------------------------------------------------------------

TEST(OneDnnPool, MaxAndAverage) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(41);
  struct PoolCase {
    std::vector<int64_t> x;
    AttributeMap attrs;
  };
  using V = std::vector<int64_t>;
  const std::vector<PoolCase> cases = {
      {{1, 3, 112, 112}, attrs({{"kernel_shape", V{3, 3}}, {"strides", V{2, 2}}, {"pads", V{1, 1, 1, 1}}})},
      {{2, 5, 9, 10}, attrs({{"kernel_shape", V{2, 3}}})},
      {{2, 4, 11, 9}, attrs({{"kernel_shape", V{3, 3}}, {"strides", V{2, 2}}, {"ceil_mode", int64_t{1}}})},
      {{1, 4, 12, 13},
       attrs({{"kernel_shape", V{3, 2}},
              {"strides", V{2, 3}},
              {"pads", V{1, 0, 2, 1}},
              {"ceil_mode", int64_t{1}}})},
      {{1, 3, 13, 12}, attrs({{"kernel_shape", V{3, 3}}, {"dilations", V{2, 1}}, {"strides", V{1, 2}}})},
      {{2, 3, 10, 9},
       attrs({{"kernel_shape", V{3, 3}}, {"auto_pad", std::string("SAME_UPPER")}, {"strides", V{2, 2}}})},
      {{2, 3, 19}, attrs({{"kernel_shape", V{4}}, {"strides", V{3}}, {"pads", V{2, 1}}})},
      {{1, 2, 5, 6, 7},
       attrs({{"kernel_shape", V{2, 3, 2}}, {"strides", V{2, 1, 2}}, {"pads", V{1, 0, 1, 0, 1, 1}}})},
  };
  for (const PoolCase& c : cases) {
    const std::vector<Tensor> inputs = {randomTensor(rng, c.x)};
    AttributeMap maxAttrs = c.attrs;
    compareWithReference("f32-maxpool-onednn", "MaxPool", maxAttrs, inputs,
                         "MaxPool " + describe(inputs, maxAttrs));
    if (c.attrs.has("dilations")) continue;  // AveragePool took dilations only from opset 19
    for (int64_t include = 0; include < 2; ++include) {
      if (include == 1 && c.attrs.getInt("ceil_mode", 0) == 1) continue;  // declined, see pool.cpp
      AttributeMap avgAttrs = c.attrs;
      avgAttrs.set("count_include_pad", include);
      compareWithReference(
          "f32-averagepool-onednn", "AveragePool", avgAttrs, inputs,
          "AveragePool include_pad=" + std::to_string(include) + " " + describe(inputs, avgAttrs));
    }
  }
  for (const std::vector<int64_t>& x :
       std::vector<std::vector<int64_t>>{{1, 2048, 7, 7}, {3, 5, 4, 9}, {2, 3, 11}}) {
    const std::vector<Tensor> inputs = {randomTensor(rng, x)};
    compareWithReference("f32-globalaveragepool-onednn", "GlobalAveragePool", {}, inputs,
                         describe(inputs, {}));
  }
}

// MaxPool's Indices output is not oneDNN's: the kernel declines nodes that ask for it.
TEST(OneDnnPool, DeclinesMaxPoolIndices) {
  SKIP_WITHOUT_ONEDNN();
  ir::Graph g;
  ir::Node* n = g.addNode("MaxPool", "pool");
  ir::Value* x = g.addValue("x").value();
  g.setInput(n, 0, x);
  ASSERT_TRUE(g.addOutput(n, g.addValue("y").value()).isOk());
  ASSERT_TRUE(g.addOutput(n, g.addValue("indices").value()).isOk());
  n->attributes.set("kernel_shape", std::vector<int64_t>{2, 2});
  EXPECT_FALSE(kernelNamed("f32-maxpool-onednn")->supports(*n, {ir::Shape::fromSizes({1, 2, 4, 4})}));
}

// ---- bf16 ------------------------------------------------------------------------------------------------

// A tensor of bf16 values (random, so exactly representable), or fp32 holding bf16-exact values.
Tensor randomBf16(std::mt19937& rng, std::vector<int64_t> shape, DataType type = DataType::kBFloat16) {
  const Tensor f = randomTensor(rng, std::move(shape));
  Tensor t(type, f.shape());
  for (int64_t i = 0; i < f.elementCount(); ++i) {
    const ir::BFloat16 b{ir::floatToBFloat16(f.data<float>()[i])};
    if (type == DataType::kBFloat16) {
      t.data<ir::BFloat16>()[i] = b;
    } else {
      t.data<float>()[i] = ir::toFloat(b);
    }
  }
  return t;
}

TEST(OneDnnBf16, ConvFusedConvMatMulAndPools) {
  SKIP_WITHOUT_ONEDNN();
  if (!runtime::cpuSupports(kernels::CpuFeature::kAvx512)) GTEST_SKIP() << "no AVX-512";
  std::mt19937 rng(43);
  const AttributeMap pads = attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  // Conv: bias in bf16 (the ONNX op's one type).
  compareWithReference(
      "bf16-conv-onednn", "Conv", pads,
      {randomBf16(rng, {2, 16, 9, 9}), randomBf16(rng, {32, 16, 3, 3}), randomBf16(rng, {32})}, "bf16 conv",
      nullptr, {1, 2}, "", kBf16Tolerance);
  compareWithReference("bf16-conv-onednn", "Conv",
                       attrs({{"group", int64_t{24}}, {"strides", std::vector<int64_t>{2, 2}}}),
                       {randomBf16(rng, {1, 24, 13, 12}), randomBf16(rng, {24, 1, 3, 3})}, "bf16 depthwise",
                       nullptr, {1}, "", kBf16Tolerance);
  // FusedConv: fp32 bias, bf16 residual, activations.
  for (const ActivationCase& act : kActivations) {
    const AttributeMap a = withActivation(pads, act.name, act.alpha, act.beta);
    compareWithReference("bf16-fusedconv-onednn", "FusedConv", a,
                         {randomBf16(rng, {2, 16, 8, 7}), randomBf16(rng, {32, 16, 3, 3}),
                          randomBf16(rng, {32}, DataType::kFloat32), randomBf16(rng, {2, 32, 8, 7})},
                         "bf16 fusedconv act=" + act.name, nullptr, {1, 2}, "lowp", kBf16Tolerance);
  }
  compareWithReference("bf16-matmul-onednn", "MatMul", {},
                       {randomBf16(rng, {3, 17, 64}), randomBf16(rng, {64, 33})}, "bf16 matmul", nullptr, {1},
                       "", kBf16Tolerance);
  compareWithReference("bf16-matmul-onednn", "MatMul", {},
                       {randomBf16(rng, {2, 4, 9, 16}), randomBf16(rng, {2, 4, 16, 9})},
                       "bf16 batched matmul", nullptr, {}, "", kBf16Tolerance);
  compareWithReference(
      "bf16-fusedmatmul-onednn", "FusedMatMul", withActivation({}, "Relu"),
      {randomBf16(rng, {2, 19, 48}), randomBf16(rng, {48, 40}), randomBf16(rng, {40}, DataType::kFloat32)},
      "bf16 fusedmatmul", nullptr, {1, 2}, "lowp", kBf16Tolerance);
  compareWithReference(
      "bf16-fusedmatmul-onednn", "FusedMatMul", withActivation({}, "Relu"),
      {randomBf16(rng, {1, 256}), randomBf16(rng, {256, 600}), randomBf16(rng, {600}, DataType::kFloat32)},
      "bf16 fusedmatmul of one row (columns split)", nullptr, {1, 2}, "lowp", kBf16Tolerance);
  const AttributeMap pool = attrs({{"kernel_shape", std::vector<int64_t>{3, 3}},
                                   {"strides", std::vector<int64_t>{2, 2}},
                                   {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  const Tensor x = randomBf16(rng, {2, 16, 15, 14});
  compareWithReference("bf16-maxpool-onednn", "MaxPool", pool, {x}, "bf16 maxpool", nullptr, {}, "",
                       kBf16Tolerance);
  compareWithReference("bf16-averagepool-onednn", "AveragePool", pool, {x}, "bf16 averagepool", nullptr, {},
                       "", kBf16Tolerance);
  compareWithReference("bf16-globalaveragepool-onednn", "GlobalAveragePool", {}, {x}, "bf16 global pool",
                       nullptr, {}, "", kBf16Tolerance);
}

// With oneDNN built in, the engine picks it over the reference wherever its predicate says yes.
TEST(OneDnnRegistry, KernelsRegisteredWhenBuilt) {
  for (std::string_view name :
       {"f32-conv-onednn", "f32-fusedconv-onednn", "bf16-conv-onednn", "bf16-fusedconv-onednn",
        "f32-matmul-onednn", "f32-fusedmatmul-onednn", "bf16-matmul-onednn", "bf16-fusedmatmul-onednn",
        "f32-gemm-onednn", "f32-maxpool-onednn", "f32-averagepool-onednn", "f32-globalaveragepool-onednn",
        "bf16-maxpool-onednn"}) {
    EXPECT_EQ(kernelNamed(name) != nullptr, kBuiltWithOneDnn) << name;
  }
}

}  // namespace
}  // namespace lowp
