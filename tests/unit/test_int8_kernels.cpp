// The fast INT8 kernels against their reference kernels: i8-quantizedconv-onednn and
// i8-quantizedmatmul-onednn (kernels/onednn/quantized_*.cpp) against i8-quantizedconv-ref and
// i8-quantizedmatmul-ref, and the QuantizeLinear / DequantizeLinear loops (kernels/cpu/quantize*.cpp) of both
// ISAs against the reference conversion kernels. Both KernelDefs come from the global registry and run on the
// same node and inputs, each through its own KernelContext.
//
// Tolerances: integer outputs equal the reference or differ by exactly one step (oneDNN rescales in fp32,
// the reference in double, so a value near a rounding tie may round the other way); the number of such
// elements is counted, printed and bounded (a systematic rounding error would move far more). fp32 outputs
// agree within 1e-5 relative (with a floor of 1e-6 of the tensor's largest magnitude, for values that
// cancel), bf16 outputs within one bf16 step. Quantize / dequantize are bit-exact.
//
// Saturation: inputs all at the ends of their range (uint8 255, int8 127 / -128) against weights all 127 or
// -128 with C*kh*kw = 4608 make every pair of products overflow int16, which a vpmaddubsw path without VNNI
// saturates; the results must still be exact. oneDNN under AVX2: the same cases run again in a child process
// (a gtest death test in the "threadsafe" style, which re-executes this binary for that one test) that calls
// dnnl::set_max_cpu_isa(avx2) before it creates any primitive, since oneDNN fixes its ISA at the first one.
// oneDNN 2.6's AVX2 int8 convolution does saturate there (x = 255, w = 127, K = 4608 gave 4.19e6 for
// 8.29e6), so the kernels run the reference kernel when oneDNN's ISA lacks VNNI; the child checks that they
// say so and that the results are exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/numeric.h"
#include "ir/ops/fused.h"
#include "kernel_under_test.h"
#include "kernels/kernel.h"
#include "onnx/importer.h"
#include "op_runner.h"
#include "runtime/cpu_features.h"
#include "runtime/thread_pool.h"

#if LOWP_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/onednn/common.h"
#endif

namespace lowp {
namespace {

using ir::AttributeMap;
using kernels::KernelDef;
using kernels::KernelRegistry;
using lowp::testing::makeTensor;
using testing::kernelNamed;
using testing::NodeUnderTest;
using testing::randomIntegers;
using testing::referenceKernel;
using testing::runKernel;

// ---- Comparison ------------------------------------------------------------------------------------------

// The outcome of comparing a fast kernel's output with the reference's: an empty `error` when it agrees.
struct Comparison {
  std::string error;
  int64_t elements = 0;
  int64_t offByOne = 0;  ///< Integer outputs: elements one step away from the reference.
};

// Integer outputs: equal or one step away, and at most 1 in 200 elements off by one. Floats: see the header.
Comparison compareOutputs(const Tensor& got, const Tensor& want) {
  Comparison c;
  c.elements = want.elementCount();
  if (got.shape() != want.shape() || got.type() != want.type()) {
    c.error = "output " + got.describe() + " but the reference gives " + want.describe();
    return c;
  }
  const bool integer = want.type() == DataType::kInt8 || want.type() == DataType::kUInt8;
  const bool bf16 = want.type() == DataType::kBFloat16;
  double largest = 0;
  for (int64_t i = 0; i < want.elementCount(); ++i)
    largest = std::max(largest, std::abs(elementAsDouble(want, i)));
  int reported = 0;
  std::ostringstream errors;
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    const double g = elementAsDouble(got, i);
    const double w = elementAsDouble(want, i);
    bool ok = true;
    if (integer) {
      ok = std::abs(g - w) <= 1;
      if (g != w) ++c.offByOne;
    } else if (bf16) {
      ok = std::abs(g - w) <= std::abs(w) / 128 + largest * 1e-6;
    } else {
      ok = std::abs(g - w) <= std::abs(w) * 1e-5 + largest * 1e-6;
    }
    if (!ok && reported++ < 3)
      errors << " element " << i << " is " << g << ", the reference says " << w << ";";
  }
  if (reported > 0) {
    c.error = std::to_string(reported) + " elements differ:" + errors.str();
  } else if (integer && c.offByOne * 200 > c.elements) {
    c.error = std::to_string(c.offByOne) + " of " + std::to_string(c.elements) +
              " elements are one step off: more than rounding ties explain";
  }
  return c;
}

// Runs the fast kernel `name` and the op's reference kernel on one node; `what` names the case in errors.
Comparison compareWithReference(std::string_view name, const std::string& opType, const AttributeMap& attrs,
                                const std::vector<Tensor>& inputs, const std::vector<size_t>& constantSlots,
                                const std::string& what, std::shared_ptr<void>* slot = nullptr,
                                int64_t opset = 1) {
  Comparison c;
  const std::string domain = opType.rfind("Quantized", 0) == 0 ? "lowp" : "";
  const KernelDef* fast = kernelNamed(name);
  const KernelDef* ref =
      referenceKernel(opType, domain, inputs.empty() ? DataType::kUndefined : inputs[0].type());
  if (fast == nullptr || ref == nullptr || fast->reference) {
    c.error = std::string(name) + " or the reference " + opType + " is not registered";
    return c;
  }
  NodeUnderTest n(opType, domain, opset, attrs, inputs, constantSlots);
  if (!n.status().isOk()) {
    c.error = what + ": " + n.status().message();
    return c;
  }
  if (fast->supports != nullptr && !fast->supports(n.node(), n.inputShapes())) {
    c.error = what + ": " + std::string(name) + " declines";
    return c;
  }
  std::shared_ptr<void> fresh;
  auto got =
      runKernel(*fast, n.node(), inputs, n.outputType(), n.outputShape(), slot != nullptr ? slot : &fresh);
  std::shared_ptr<void> refState;
  auto want = runKernel(*ref, n.node(), inputs, n.outputType(), n.outputShape(), &refState);
  if (!got || !want) {
    c.error = what + ": " + (!got ? got.status().message() : want.status().message());
    return c;
  }
  c = compareOutputs(*got, *want);
  if (!c.error.empty()) c.error = what + " (" + std::string(name) + "): " + c.error;
  return c;
}

// ---- Random quantized data --------------------------------------------------------------------------------

Tensor filled(DataType type, std::vector<int64_t> shape, int64_t value) {
  Tensor t(type, std::move(shape));
  for (int64_t i = 0; i < t.elementCount(); ++i) {
    if (type == DataType::kInt8) {
      t.data<int8_t>()[i] = static_cast<int8_t>(value);
    } else {
      t.data<uint8_t>()[i] = static_cast<uint8_t>(value);
    }
  }
  return t;
}

Tensor randomFloats(std::mt19937& rng, DataType type, std::vector<int64_t> shape, float amplitude) {
  Tensor t(type, std::move(shape));
  std::uniform_real_distribution<float> dist(-amplitude, amplitude);
  for (int64_t i = 0; i < t.elementCount(); ++i) {
    const float v = dist(rng);
    if (type == DataType::kBFloat16) {
      t.data<ir::BFloat16>()[i] = ir::BFloat16{ir::floatToBFloat16(v)};
    } else {
      t.data<float>()[i] = v;
    }
  }
  return t;
}

int32_t typeLow(DataType t) {
  return t == DataType::kUInt8 ? 0 : -128;
}
int32_t typeHigh(DataType t) {
  return t == DataType::kUInt8 ? 255 : 127;
}

const char* typeName(DataType t) {
  return ir::dataTypeInfo(t).name.data();
}

// ---- QuantizedConv ---------------------------------------------------------------------------------------

struct ConvCase {
  int64_t batch;
  int64_t inChannels;
  int64_t outChannels;
  int64_t group;
  std::vector<int64_t> input;  ///< Spatial sizes.
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  std::vector<int64_t> pads;  ///< Begins then ends; empty: none.
};

// The quantization and fusion choices of one QuantizedConv / QuantizedMatMul run.
struct QuantCase {
  DataType xType = DataType::kUInt8;
  int32_t xZeroPoint = 0;
  bool perChannel = false;
  DataType outType = DataType::kFloat32;
  int32_t yZeroPoint = 0;
  bool bias = false;
  ir::ops::FusedActivation act = ir::ops::FusedActivation::kNone;
  DataType zType = DataType::kUndefined;  ///< kUndefined: no residual.
  int32_t zZeroPoint = 0;
};

std::string describe(const ConvCase& c, const QuantCase& q) {
  std::ostringstream s;
  s << "conv x[" << c.batch << "," << c.inChannels;
  for (int64_t d : c.input) s << "," << d;
  s << "] w[" << c.outChannels << "," << c.inChannels / c.group;
  for (int64_t d : c.kernel) s << "," << d;
  s << "] group " << c.group << " strides " << ir::formatSizes(c.strides) << " pads "
    << ir::formatSizes(c.pads) << " x " << typeName(q.xType) << " zp " << q.xZeroPoint
    << (q.perChannel ? " per-channel" : " per-tensor") << " -> " << typeName(q.outType) << " zp "
    << q.yZeroPoint << (q.bias ? " bias" : "") << " act " << ir::ops::activationOpType(q.act) << " residual "
    << (q.zType == DataType::kUndefined ? "none" : typeName(q.zType)) << " zp " << q.zZeroPoint;
  return s.str();
}

ir::ops::ActivationSpec activationOf(ir::ops::FusedActivation kind) {
  ir::ops::ActivationSpec spec;
  spec.kind = kind;
  if (kind == ir::ops::FusedActivation::kLeakyRelu) spec.alpha = 0.1f;
  if (kind == ir::ops::FusedActivation::kClip) {
    spec.alpha = -0.5f;
    spec.beta = 1.5f;
  }
  return spec;
}

// Attributes of a quantized op for `q`, scales chosen so that the real result spans about [-2, 2] and an
// integer output about 100 steps of y_scale on either side of its zero point: little saturates, every
// value is exercised. `terms` is the number of products per output (K).
AttributeMap quantAttrs(std::mt19937& rng, const QuantCase& q, int64_t channels, int64_t terms, bool conv) {
  AttributeMap a;
  std::uniform_real_distribution<float> jitter(0.5f, 1.5f);
  // |x - zp| <= 255 and |w| <= 128: a typical |acc| is about sqrt(K) * 128 * 74.
  const float typical = std::sqrt(static_cast<float>(terms)) * 128.0f * 74.0f;
  const float xScale = 0.02f * jitter(rng);
  std::vector<float> wScales(q.perChannel ? static_cast<size_t>(channels) : 1);
  for (float& s : wScales) s = 1.0f / (typical * xScale) * jitter(rng);
  a.set(conv ? "x_scale" : "a_scale", xScale);
  if (q.xZeroPoint != 0) a.set(conv ? "x_zero_point" : "a_zero_point", int64_t{q.xZeroPoint});
  a.set(conv ? "w_scales" : "b_scales", wScales);
  a.set("output_type", static_cast<int64_t>(q.outType));
  if (q.outType == DataType::kInt8 || q.outType == DataType::kUInt8) {
    a.set("y_scale", 0.02f * jitter(rng));
    a.set("y_zero_point", int64_t{q.yZeroPoint});
  }
  if (q.zType == DataType::kInt8 || q.zType == DataType::kUInt8) {
    a.set("z_scale", 0.01f * jitter(rng));
    if (q.zZeroPoint != 0) a.set("z_zero_point", int64_t{q.zZeroPoint});
  }
  ir::ops::writeActivation(a, activationOf(q.act));
  return a;
}

// x, w (constant), bias (constant, optional) and z (optional) of a QuantizedConv for `c` and `q`.
std::vector<Tensor> convInputs(std::mt19937& rng, const ConvCase& c, const QuantCase& q,
                               const std::vector<int64_t>& yShape) {
  std::vector<int64_t> x = {c.batch, c.inChannels};
  x.insert(x.end(), c.input.begin(), c.input.end());
  std::vector<int64_t> w = {c.outChannels, c.inChannels / c.group};
  w.insert(w.end(), c.kernel.begin(), c.kernel.end());
  std::vector<Tensor> inputs = {randomIntegers(rng, q.xType, x, typeLow(q.xType), typeHigh(q.xType)),
                                randomIntegers(rng, DataType::kInt8, w, -128, 127)};
  inputs.push_back(q.bias ? randomIntegers(rng, DataType::kInt32, {c.outChannels}, -40000, 40000) : Tensor());
  if (q.zType == DataType::kInt8 || q.zType == DataType::kUInt8) {
    inputs.push_back(randomIntegers(rng, q.zType, yShape, typeLow(q.zType), typeHigh(q.zType)));
  } else if (q.zType != DataType::kUndefined) {
    inputs.push_back(randomFloats(rng, q.zType, yShape, 1.0f));
  }
  return inputs;
}

AttributeMap convAttrs(std::mt19937& rng, const ConvCase& c, const QuantCase& q) {
  int64_t terms = c.inChannels / c.group;
  for (int64_t k : c.kernel) terms *= k;
  AttributeMap a = quantAttrs(rng, q, c.outChannels, terms, true);
  a.set("group", c.group);
  a.set("kernel_shape", c.kernel);
  if (!c.strides.empty()) a.set("strides", c.strides);
  if (!c.pads.empty()) a.set("pads", c.pads);
  return a;
}

// Y's shape for a convolution case (the residual has it).
std::vector<int64_t> convOutputShape(const ConvCase& c) {
  std::vector<int64_t> y = {c.batch, c.outChannels};
  for (size_t d = 0; d < c.input.size(); ++d) {
    const int64_t stride = c.strides.empty() ? 1 : c.strides[d];
    const int64_t pad = c.pads.empty() ? 0 : c.pads[d] + c.pads[d + c.input.size()];
    y.push_back((c.input[d] + pad - c.kernel[d]) / stride + 1);
  }
  return y;
}

Comparison checkConv(std::mt19937& rng, const ConvCase& c, const QuantCase& q) {
  const std::vector<Tensor> inputs = convInputs(rng, c, q, convOutputShape(c));
  return compareWithReference("i8-quantizedconv-onednn", "QuantizedConv", convAttrs(rng, c, q), inputs,
                              {1, 2}, describe(c, q));
}

// Shapes of the grid: 1x1, 3x3 stride 1 and 2, depthwise, grouped, padding, batch 1 and 3, odd channels, a
// 1-D and a 3-D convolution, and output channels above 16 at batch 1 (the kernel's channel split).
const std::vector<ConvCase>& gridShapes() {
  static const std::vector<ConvCase> cases = {
      {1, 16, 24, 1, {7, 9}, {1, 1}, {}, {}},                      // 1x1
      {3, 5, 7, 1, {8, 9}, {1, 1}, {2, 2}, {}},                    // 1x1 stride 2, batch 3, odd channels
      {1, 3, 13, 1, {9, 11}, {3, 3}, {}, {1, 1, 1, 1}},            // 3x3 pad 1
      {1, 19, 37, 1, {10, 9}, {3, 3}, {2, 2}, {1, 0, 0, 1}},       // 3x3 stride 2, asymmetric pads, split
      {3, 32, 40, 1, {6, 7}, {3, 3}, {}, {1, 1, 1, 1}},            // batch 3
      {1, 48, 48, 48, {9, 8}, {3, 3}, {}, {1, 1, 1, 1}},           // depthwise, channel split
      {2, 21, 21, 21, {7, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}},       // depthwise stride 2, odd channels
      {1, 12, 18, 3, {8, 7}, {3, 3}, {}, {1, 1, 1, 1}},            // grouped
      {2, 7, 5, 1, {23}, {5}, {2}, {2, 1}},                        // 1-D
      {1, 4, 6, 2, {5, 6, 7}, {3, 2, 3}, {}, {1, 0, 1, 1, 1, 0}},  // 3-D grouped
  };
  return cases;
}

// Every shape of the grid with every output type, per-tensor and per-channel scales, with and without bias,
// activation, residual and zero points (combinations drawn so that each choice meets each other often).
TEST(Int8Conv, GridMatchesTheReference) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(11);
  const DataType outs[] = {DataType::kUInt8, DataType::kInt8, DataType::kFloat32, DataType::kBFloat16};
  const ir::ops::FusedActivation acts[] = {
      ir::ops::FusedActivation::kNone, ir::ops::FusedActivation::kRelu, ir::ops::FusedActivation::kClip,
      ir::ops::FusedActivation::kLeakyRelu, ir::ops::FusedActivation::kSigmoid};
  int64_t offByOne = 0;
  int64_t elements = 0;
  int cases = 0;
  for (const ConvCase& shape : gridShapes()) {
    for (int variant = 0; variant < 16; ++variant) {
      QuantCase q;
      q.xType = variant % 2 == 0 ? DataType::kUInt8 : DataType::kInt8;
      q.outType = outs[(variant / 2) % 4];
      q.perChannel = variant / 8 == 1;
      q.bias = (variant + cases) % 3 != 0;
      q.act = acts[(variant + cases) % 5];
      q.xZeroPoint = variant % 4 == 0 ? 0 : (q.xType == DataType::kUInt8 ? 128 + variant : -3 * variant);
      const bool integerOut = q.outType == DataType::kInt8 || q.outType == DataType::kUInt8;
      if (integerOut) q.yZeroPoint = variant % 3 == 0 ? 0 : (q.outType == DataType::kUInt8 ? 100 : -20);
      switch ((variant + cases) % 3) {
        case 0:
          break;
        case 1:
          q.zType = integerOut ? (variant % 2 == 0 ? DataType::kInt8 : DataType::kUInt8) : q.outType;
          q.zZeroPoint = q.zType == DataType::kUInt8 ? 120 : (q.zType == DataType::kInt8 ? -7 : 0);
          break;
        default:
          if (!integerOut) q.zType = q.outType;
          break;
      }
      const Comparison c = checkConv(rng, shape, q);
      EXPECT_EQ(c.error, "");
      offByOne += c.offByOne;
      elements += c.elements;
      ++cases;
    }
  }
  std::cout << "[ Int8Conv ] " << cases << " cases, " << offByOne << " of " << elements
            << " elements one step from the reference\n";
}

// Every activation the kernel supports, on integer and float outputs.
TEST(Int8Conv, EveryActivation) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(5);
  const ConvCase shape{1, 8, 20, 1, {6, 6}, {3, 3}, {}, {1, 1, 1, 1}};
  for (auto act : {ir::ops::FusedActivation::kNone, ir::ops::FusedActivation::kRelu,
                   ir::ops::FusedActivation::kLeakyRelu, ir::ops::FusedActivation::kClip,
                   ir::ops::FusedActivation::kSigmoid, ir::ops::FusedActivation::kHardSwish,
                   ir::ops::FusedActivation::kTanh}) {
    for (DataType out : {DataType::kInt8, DataType::kFloat32}) {
      QuantCase q;
      q.act = act;
      q.outType = out;
      q.bias = true;
      q.perChannel = true;
      EXPECT_EQ(checkConv(rng, shape, q).error, "");
    }
  }
}

// The plan is kept in the state slot and re-made for new shapes; constant weights are packed once per plan.
TEST(Int8Conv, ReusesItsPlanAndRemakesItForNewShapes) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(3);
  std::shared_ptr<void> slot;
  QuantCase q;
  q.outType = DataType::kUInt8;
  q.bias = true;
  // One node: the same constant weights and bias every time, new activations of two sizes.
  std::vector<Tensor> constants;
  for (int64_t size : {9, 9, 12, 9}) {
    const ConvCase shape{1, 16, 32, 1, {size, size}, {3, 3}, {}, {1, 1, 1, 1}};
    std::vector<Tensor> inputs = convInputs(rng, shape, q, convOutputShape(shape));
    if (constants.empty()) constants = {inputs[1], inputs[2]};
    inputs[1] = constants[0];
    inputs[2] = constants[1];
    // The same attributes every time: one node's attributes never change.
    std::mt19937 attrRng(1);
    const Comparison c =
        compareWithReference("i8-quantizedconv-onednn", "QuantizedConv", convAttrs(attrRng, shape, q), inputs,
                             {1, 2}, describe(shape, q), &slot);
    EXPECT_EQ(c.error, "");
    EXPECT_NE(slot, nullptr);
  }
}

// Weights (and B) that are not constants of the graph are reordered on every run instead of once.
TEST(Int8Conv, NonConstantWeights) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(8);
  for (const ConvCase& shape : {ConvCase{1, 16, 40, 1, {7, 7}, {3, 3}, {}, {1, 1, 1, 1}},
                                ConvCase{2, 16, 16, 16, {7, 7}, {3, 3}, {}, {1, 1, 1, 1}}}) {
    QuantCase q;
    q.outType = DataType::kInt8;
    q.bias = true;
    q.perChannel = true;
    const AttributeMap attrs = convAttrs(rng, shape, q);
    std::shared_ptr<void> slot;
    // The same node twice, with other weight values the second time: nothing of the first may stay.
    for (int run = 0; run < 2; ++run) {
      const std::vector<Tensor> inputs = convInputs(rng, shape, q, convOutputShape(shape));
      const Comparison c = compareWithReference("i8-quantizedconv-onednn", "QuantizedConv", attrs, inputs, {},
                                                describe(shape, q), &slot);
      EXPECT_EQ(c.error, "");
    }
  }
  QuantCase q;
  q.outType = DataType::kFloat32;
  const std::vector<Tensor> inputs = {randomIntegers(rng, DataType::kUInt8, {9, 40}, 0, 255),
                                      randomIntegers(rng, DataType::kInt8, {40, 24}, -128, 127)};
  EXPECT_EQ(compareWithReference("i8-quantizedmatmul-onednn", "QuantizedMatMul",
                                 quantAttrs(rng, q, 24, 40, false), inputs, {}, "matmul with B a graph input")
                .error,
            "");
}

// An integer residual with a float output is not one oneDNN can read from Y's buffer: supports() says no and
// the kernel, run anyway, gives the reference's result.
TEST(Int8Conv, IntegerResidualWithFloatOutputFallsBackToTheReference) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(9);
  const ConvCase shape{1, 4, 8, 1, {5, 5}, {3, 3}, {}, {1, 1, 1, 1}};
  QuantCase q;
  q.outType = DataType::kFloat32;
  q.zType = DataType::kInt8;
  const std::vector<Tensor> inputs = convInputs(rng, shape, q, convOutputShape(shape));
  const AttributeMap attrs = convAttrs(rng, shape, q);
  NodeUnderTest n("QuantizedConv", "lowp", 1, attrs, inputs, {1});
  ASSERT_TRUE(n.status().isOk()) << n.status().message();
  const KernelDef* fast = kernelNamed("i8-quantizedconv-onednn");
  const KernelDef* ref = referenceKernel("QuantizedConv", "lowp");
  ASSERT_NE(fast, nullptr);
  ASSERT_NE(ref, nullptr);
  EXPECT_FALSE(fast->supports(n.node(), n.inputShapes()));
  std::shared_ptr<void> a;
  std::shared_ptr<void> b;
  auto got = runKernel(*fast, n.node(), inputs, n.outputType(), n.outputShape(), &a);
  auto want = runKernel(*ref, n.node(), inputs, n.outputType(), n.outputShape(), &b);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  ASSERT_TRUE(want.isOk());
  EXPECT_EQ(compareOutputs(*got, *want).error, "");
}

// ---- Saturation: extreme values, K = 4608 ----------------------------------------------------------------

// Every combination of extreme inputs and weights, through a 512-channel 3x3 convolution (K = 4608) with
// padding and a [3, 4608] x [4608, 20] product, fp32 outputs (nothing clamps what the accumulator gives).
Comparison checkExtremes(std::string* summary) {
  Comparison all;
  int cases = 0;
  struct Extreme {
    DataType type;
    int64_t value;
    int32_t zeroPoint;
  };
  const Extreme xs[] = {{DataType::kUInt8, 255, 0},  {DataType::kUInt8, 255, 3}, {DataType::kUInt8, 0, 255},
                        {DataType::kInt8, 127, 0},   {DataType::kInt8, -128, 0}, {DataType::kInt8, -128, 127},
                        {DataType::kInt8, 127, -128}};
  for (const Extreme& x : xs) {
    for (int64_t wValue : {int64_t{127}, int64_t{-128}}) {
      for (bool perChannel : {false, true}) {
        // Conv: x [1, 512, 4, 5], w [20, 512, 3, 3], pad 1.
        AttributeMap a;
        a.set("x_scale", 0.5f);
        if (x.zeroPoint != 0) a.set("x_zero_point", int64_t{x.zeroPoint});
        a.set("w_scales", perChannel ? std::vector<float>(20, 0.25f) : std::vector<float>{0.25f});
        a.set("output_type", static_cast<int64_t>(DataType::kFloat32));
        a.set("kernel_shape", std::vector<int64_t>{3, 3});
        a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
        std::vector<Tensor> conv = {filled(x.type, {1, 512, 4, 5}, x.value),
                                    filled(DataType::kInt8, {20, 512, 3, 3}, wValue)};
        std::ostringstream what;
        what << "conv K=4608, x " << typeName(x.type) << " " << x.value << " zp " << x.zeroPoint << ", w "
             << wValue;
        Comparison c =
            compareWithReference("i8-quantizedconv-onednn", "QuantizedConv", a, conv, {1}, what.str());
        if (all.error.empty()) all.error = c.error;
        ++cases;
        // The same through a batch of 3 (split by images) with an int8 output at a scale that keeps the
        // results inside int8's range.
        AttributeMap b = a;
        b.set("output_type", static_cast<int64_t>(DataType::kInt8));
        b.set("y_scale", 0.5f * 0.25f * 4608 * 383 / 100);
        conv[0] = filled(x.type, {3, 512, 4, 5}, x.value);
        c = compareWithReference("i8-quantizedconv-onednn", "QuantizedConv", b, conv, {1},
                                 what.str() + ", batch 3, int8 output");
        if (all.error.empty()) all.error = c.error;
        ++cases;
        // MatMul: [3, 4608] x [4608, 20].
        AttributeMap m;
        m.set("a_scale", 0.5f);
        if (x.zeroPoint != 0) m.set("a_zero_point", int64_t{x.zeroPoint});
        m.set("b_scales", perChannel ? std::vector<float>(20, 0.25f) : std::vector<float>{0.25f});
        m.set("output_type", static_cast<int64_t>(DataType::kFloat32));
        const std::vector<Tensor> product = {filled(x.type, {3, 4608}, x.value),
                                             filled(DataType::kInt8, {4608, 20}, wValue)};
        c = compareWithReference("i8-quantizedmatmul-onednn", "QuantizedMatMul", m, product, {1},
                                 "matmul K=4608, " + what.str().substr(14));
        if (all.error.empty()) all.error = c.error;
        ++cases;
      }
    }
  }
  // Alternating extremes: pairs of products of opposite signs, which a saturating int16 pair sum clips
  // asymmetrically.
  std::mt19937 rng(17);
  for (DataType xType : {DataType::kUInt8, DataType::kInt8}) {
    Tensor x = randomIntegers(rng, xType, {2, 512, 3, 3}, 0, 1);
    for (int64_t i = 0; i < x.elementCount(); ++i) {
      const bool high = (xType == DataType::kUInt8 ? x.data<uint8_t>()[i] : x.data<int8_t>()[i]) != 0;
      if (xType == DataType::kUInt8) {
        x.data<uint8_t>()[i] = high ? 255 : 0;
      } else {
        x.data<int8_t>()[i] = high ? 127 : -128;
      }
    }
    Tensor w = randomIntegers(rng, DataType::kInt8, {17, 512, 3, 3}, 0, 1);
    for (int64_t i = 0; i < w.elementCount(); ++i)
      w.data<int8_t>()[i] = w.data<int8_t>()[i] != 0 ? 127 : -128;
    AttributeMap a;
    a.set("x_scale", 1.0f);
    a.set("w_scales", std::vector<float>{1.0f});
    a.set("output_type", static_cast<int64_t>(DataType::kFloat32));
    a.set("kernel_shape", std::vector<int64_t>{3, 3});
    a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    const Comparison c =
        compareWithReference("i8-quantizedconv-onednn", "QuantizedConv", a, {x, w}, {1},
                             std::string("conv K=4608, random extremes, x ") + typeName(xType));
    if (all.error.empty()) all.error = c.error;
    ++cases;
  }
  if (summary != nullptr) *summary = std::to_string(cases) + " extreme cases";
  return all;
}

TEST(Int8Saturation, ExtremeInputsAndWeightsWithLargeKAreExact) {
  SKIP_WITHOUT_ONEDNN();
  std::string summary;
  EXPECT_EQ(checkExtremes(&summary).error, "");
}

// ---- QuantizedMatMul -------------------------------------------------------------------------------------

Comparison checkMatMul(std::mt19937& rng, const std::vector<int64_t>& aShape, int64_t n, const QuantCase& q,
                       std::shared_ptr<void>* slot = nullptr) {
  const int64_t k = aShape.back();
  std::vector<Tensor> inputs = {randomIntegers(rng, q.xType, aShape, typeLow(q.xType), typeHigh(q.xType)),
                                randomIntegers(rng, DataType::kInt8, {k, n}, -128, 127)};
  if (q.bias) inputs.push_back(randomIntegers(rng, DataType::kInt32, {n}, -40000, 40000));
  std::ostringstream what;
  what << "matmul A" << ir::formatSizes(aShape) << " B[" << k << "," << n << "] " << typeName(q.xType)
       << " zp " << q.xZeroPoint << (q.perChannel ? " per-column" : " per-tensor") << " -> "
       << typeName(q.outType) << " zp " << q.yZeroPoint << (q.bias ? " bias" : "") << " act "
       << ir::ops::activationOpType(q.act);
  return compareWithReference("i8-quantizedmatmul-onednn", "QuantizedMatMul", quantAttrs(rng, q, n, k, false),
                              inputs, {1, 2}, what.str(), slot);
}

TEST(Int8MatMul, GridMatchesTheReference) {
  SKIP_WITHOUT_ONEDNN();
  std::mt19937 rng(21);
  const std::vector<std::pair<std::vector<int64_t>, int64_t>> shapes = {
      {{1, 64}, 32}, {{7, 33}, 17}, {{3, 5, 48}, 40}, {{129, 256}, 96}, {{19}, 5}, {{2, 3, 4, 8}, 3}};
  const DataType outs[] = {DataType::kUInt8, DataType::kInt8, DataType::kFloat32, DataType::kBFloat16};
  const ir::ops::FusedActivation acts[] = {ir::ops::FusedActivation::kNone, ir::ops::FusedActivation::kRelu,
                                           ir::ops::FusedActivation::kClip,
                                           ir::ops::FusedActivation::kLeakyRelu};
  int64_t offByOne = 0;
  int64_t elements = 0;
  int cases = 0;
  for (const auto& [aShape, n] : shapes) {
    for (int variant = 0; variant < 16; ++variant) {
      QuantCase q;
      q.xType = variant % 2 == 0 ? DataType::kUInt8 : DataType::kInt8;
      q.outType = outs[(variant / 2) % 4];
      q.perChannel = variant / 8 == 1;
      q.bias = (variant + cases) % 3 != 0;
      q.act = acts[(variant + cases) % 4];
      q.xZeroPoint = variant % 4 == 0 ? 0 : (q.xType == DataType::kUInt8 ? 128 + variant : -3 * variant);
      if (q.outType == DataType::kInt8 || q.outType == DataType::kUInt8)
        q.yZeroPoint = variant % 3 == 0 ? 0 : (q.outType == DataType::kUInt8 ? 100 : -20);
      const Comparison c = checkMatMul(rng, aShape, n, q);
      EXPECT_EQ(c.error, "");
      offByOne += c.offByOne;
      elements += c.elements;
      ++cases;
    }
  }
  std::cout << "[ Int8MatMul ] " << cases << " cases, " << offByOne << " of " << elements
            << " elements one step from the reference\n";
}

TEST(Int8MatMul, ReusesItsPlanAndRemakesItForNewShapes) {
  SKIP_WITHOUT_ONEDNN();
  std::shared_ptr<void> slot;
  QuantCase q;
  q.outType = DataType::kInt8;
  q.bias = true;
  for (int64_t rows : {5, 5, 64, 3}) {
    std::mt19937 rng(4);  // the same B and attributes every time: one node's never change
    std::mt19937 dataRng(static_cast<unsigned>(rows));
    const int64_t k = 40;
    const int64_t n = 24;
    std::vector<Tensor> inputs = {randomIntegers(dataRng, q.xType, {rows, k}, 0, 255),
                                  randomIntegers(rng, DataType::kInt8, {k, n}, -128, 127),
                                  randomIntegers(rng, DataType::kInt32, {n}, -40000, 40000)};
    const Comparison c =
        compareWithReference("i8-quantizedmatmul-onednn", "QuantizedMatMul", quantAttrs(rng, q, n, k, false),
                             inputs, {1, 2}, "matmul rows " + std::to_string(rows), &slot);
    EXPECT_EQ(c.error, "");
  }
}

// ---- oneDNN under AVX2 -----------------------------------------------------------------------------------

#if LOWP_WITH_ONEDNN
// Runs in the child process: limits oneDNN to AVX2 before its first primitive, then runs the saturation
// cases and part of the grid; exits 0 when all match.
[[noreturn]] void runUnderAvx2AndExit() {
  try {
    dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2);
  } catch (const dnnl::error& e) {
    std::cerr << "dnnl::set_max_cpu_isa(avx2) failed: " << e.what() << "\n";
    std::_Exit(2);
  }
  if (dnnl::get_effective_cpu_isa() != dnnl::cpu_isa::avx2) {
    std::cerr << "oneDNN's effective ISA is " << static_cast<int>(dnnl::get_effective_cpu_isa())
              << ", not AVX2\n";
    std::_Exit(2);
  }
  if (kernels::onednn::oneDnnInt8IsExact()) {
    std::cerr << "oneDNN under AVX2 claims exact int8 accumulation\n";
    std::_Exit(1);
  }
  std::string summary;
  Comparison c = checkExtremes(&summary);
  std::mt19937 rng(11);
  int cases = 0;
  for (const ConvCase& shape : gridShapes()) {
    for (DataType xType : {DataType::kUInt8, DataType::kInt8}) {
      QuantCase q;
      q.xType = xType;
      q.xZeroPoint = xType == DataType::kUInt8 ? 131 : -5;
      q.outType = cases % 2 == 0 ? DataType::kUInt8 : DataType::kFloat32;
      q.yZeroPoint = q.outType == DataType::kUInt8 ? 90 : 0;
      q.perChannel = true;
      q.bias = true;
      q.act = ir::ops::FusedActivation::kRelu;
      const Comparison g = checkConv(rng, shape, q);
      if (c.error.empty()) c.error = g.error;
      ++cases;
    }
  }
  if (!c.error.empty()) {
    std::cerr << "under AVX2: " << c.error << "\n";
    std::_Exit(1);
  }
  std::cerr << "under AVX2: " << summary << " and " << cases << " grid cases match\n";
  std::_Exit(0);
}
#endif

TEST(Int8OneDnnAvx2, MatchesTheReferenceIncludingSaturationCases) {
  SKIP_WITHOUT_ONEDNN();
#if LOWP_WITH_ONEDNN
  if (!runtime::cpuSupports(kernels::CpuFeature::kAvx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  // "threadsafe" re-executes this binary for this test alone, so the child's oneDNN has created no primitive
  // yet when it limits the ISA (a forked child would inherit the parent's oneDNN state).
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(runUnderAvx2AndExit(), ::testing::ExitedWithCode(0), "under AVX2: .* match");
  // Only here, after the child ran (the child re-runs this body up to EXPECT_EXIT, and asking oneDNN for its
  // ISA fixes it): where the registry would choose the kernels, oneDNN runs them with VNNI, unless
  // ONEDNN_MAX_CPU_ISA lowers it.
  if (runtime::cpuSupports(kernels::CpuFeature::kAvx512Vnni) &&
      std::getenv("ONEDNN_MAX_CPU_ISA") == nullptr) {
    EXPECT_TRUE(kernels::onednn::oneDnnInt8IsExact());
  }
#endif
}

// ---- QuantizeLinear / DequantizeLinear -------------------------------------------------------------------

struct IsaCase {
  const char* isa;
  kernels::CpuFeature feature;
};
const IsaCase kIsas[] = {{"avx512", kernels::CpuFeature::kAvx512}, {"avx2", kernels::CpuFeature::kAvx2}};

// Runs the fast kernel `name` and the reference on one QuantizeLinear / DequantizeLinear node and compares
// the outputs bit for bit.
std::string compareConversion(const std::string& name, const std::string& opType,
                              const std::vector<Tensor>& inputs, int64_t opset, const std::string& what) {
  const KernelDef* fast = kernelNamed(name);
  const KernelDef* ref = referenceKernel(opType, "");
  if (fast == nullptr || ref == nullptr) return name + " or the reference " + opType + " is not registered";
  NodeUnderTest n(opType, "", opset, {}, inputs, {1, 2});
  if (!n.status().isOk()) return what + ": " + n.status().message();
  if (!fast->supports(n.node(), n.inputShapes())) return what + ": " + name + " declines";
  std::shared_ptr<void> a;
  std::shared_ptr<void> b;
  auto got = runKernel(*fast, n.node(), inputs, n.outputType(), n.outputShape(), &a);
  auto want = runKernel(*ref, n.node(), inputs, n.outputType(), n.outputShape(), &b);
  if (!got || !want) return what + ": " + (!got ? got.status().message() : want.status().message());
  if (got->byteSize() != want->byteSize()) return what + ": sizes differ";
  const auto* g = static_cast<const uint8_t*>(got->data());
  const auto* w = static_cast<const uint8_t*>(want->data());
  const int64_t bytes = ir::dataTypeInfo(want->type()).storageBytes;
  for (int64_t i = 0; i < want->elementCount(); ++i) {
    if (std::memcmp(g + i * bytes, w + i * bytes, static_cast<size_t>(bytes)) != 0) {
      std::ostringstream s;
      s << what << " (" << name << "): element " << i;
      if (inputs[0].type() == DataType::kFloat32) s << " (x = " << inputs[0].data<float>()[i] << ")";
      s << " is " << elementAsDouble(*got, i) << ", the reference says " << elementAsDouble(*want, i);
      return s.str();
    }
  }
  return "";
}

Tensor scalarOf(DataType type, double value, bool rank0) {
  return makeTensor(type, rank0 ? std::vector<int64_t>{} : std::vector<int64_t>{1}, {value});
}

// Values around every rounding tie, the saturation bounds, infinities, NaN, signed zeros, denormals.
std::vector<float> edgeValues(float scale) {
  std::vector<float> v;
  for (int k = -300; k <= 300; ++k) {
    const float q = static_cast<float>(k) * 0.5f;  // every half step: ties at the odd ones
    v.push_back(q * scale);
    v.push_back(std::nextafter(q * scale, std::numeric_limits<float>::infinity()));
    v.push_back(std::nextafter(q * scale, -std::numeric_limits<float>::infinity()));
  }
  const float inf = std::numeric_limits<float>::infinity();
  for (float x :
       {inf, -inf, std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(), 0.0f,
        -0.0f, std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min(),
        std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest(), 1e30f, -1e30f}) {
    v.push_back(x);
  }
  return v;
}

TEST(Int8Quantize, EdgeValuesMatchTheReferenceBitForBit) {
  for (const IsaCase& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (DataType out : {DataType::kInt8, DataType::kUInt8}) {
      const std::string name =
          std::string("f32to") + (out == DataType::kInt8 ? "i8" : "u8") + "-quantizelinear-" + isa.isa;
      for (float scale : {1.0f, 0.5f, 0.0375f, 3.0f, 1e-30f}) {
        const std::vector<float> values = edgeValues(scale);
        for (int64_t zeroPoint : {int64_t{0}, int64_t{typeLow(out)}, int64_t{typeHigh(out)}, int64_t{1}}) {
          // Lengths that leave every tail size, and one long enough to split over the pool.
          for (size_t n : {values.size(), size_t{1}, size_t{7}, size_t{15}, size_t{17}, size_t{100003}}) {
            Tensor x(DataType::kFloat32, {static_cast<int64_t>(n)});
            for (size_t i = 0; i < n; ++i) x.data<float>()[i] = values[i % values.size()];
            const std::vector<Tensor> inputs = {x, scalarOf(DataType::kFloat32, scale, n % 2 == 0),
                                                scalarOf(out, static_cast<double>(zeroPoint), n % 2 == 0)};
            std::ostringstream what;
            what << "scale " << scale << " zero point " << zeroPoint << " n " << n;
            EXPECT_EQ(compareConversion(name, "QuantizeLinear", inputs, 21, what.str()), "");
          }
        }
      }
      // No zero point: the output is uint8 (the type constraint), zero point 0.
      if (out == DataType::kUInt8) {
        Tensor x(DataType::kFloat32, {1000});
        const std::vector<float> values = edgeValues(0.25f);
        for (int64_t i = 0; i < 1000; ++i)
          x.data<float>()[i] = values[static_cast<size_t>(i) % values.size()];
        EXPECT_EQ(compareConversion(name, "QuantizeLinear", {x, scalarOf(DataType::kFloat32, 0.25, true)}, 13,
                                    "no zero point"),
                  "");
      }
    }
  }
}

TEST(Int8Dequantize, EveryValueMatchesTheReferenceBitForBit) {
  for (const IsaCase& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (DataType in : {DataType::kInt8, DataType::kUInt8}) {
      const std::string name =
          std::string(in == DataType::kInt8 ? "i8" : "u8") + "tof32-dequantizelinear-" + isa.isa;
      for (float scale : {1.0f, 0.0375f, 0.1f, 3.3e-39f, 1e38f}) {
        for (int64_t zeroPoint : {int64_t{0}, int64_t{typeLow(in)}, int64_t{typeHigh(in)},
                                  int64_t{in == DataType::kInt8 ? -1 : 128}}) {
          for (int64_t n : {int64_t{256}, int64_t{1}, int64_t{13}, int64_t{70001}}) {
            Tensor x(in, {n});
            for (int64_t i = 0; i < n; ++i)
              static_cast<uint8_t*>(x.data())[i] = static_cast<uint8_t>(i * 7 + 3);
            const std::vector<Tensor> inputs = {x, scalarOf(DataType::kFloat32, scale, n % 2 == 0),
                                                scalarOf(in, static_cast<double>(zeroPoint), n % 2 == 0)};
            std::ostringstream what;
            what << "scale " << scale << " zero point " << zeroPoint << " n " << n;
            EXPECT_EQ(compareConversion(name, "DequantizeLinear", inputs, 21, what.str()), "");
          }
        }
      }
    }
  }
}

// Per-axis scales, scales the graph computes, blocked quantization and another division precision are left
// to the reference kernel.
TEST(Int8Quantize, SupportsOnlyConstantPerTensorScales) {
  const KernelDef* q = kernelNamed("f32toi8-quantizelinear-avx2");
  const KernelDef* d = kernelNamed("i8tof32-dequantizelinear-avx2");
  ASSERT_NE(q, nullptr);
  ASSERT_NE(d, nullptr);
  const Tensor x = makeTensor(DataType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor xq = makeTensor(DataType::kInt8, {2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor scale = scalarOf(DataType::kFloat32, 0.5, true);
  const Tensor zero = scalarOf(DataType::kInt8, 0, true);
  {
    NodeUnderTest n("QuantizeLinear", "", 21, {}, {x, scale, zero}, {1, 2});
    ASSERT_TRUE(n.status().isOk());
    EXPECT_TRUE(q->supports(n.node(), n.inputShapes()));
  }
  {
    NodeUnderTest n("QuantizeLinear", "", 21, {}, {x, scale, zero}, {2});  // the scale is a graph input
    ASSERT_TRUE(n.status().isOk());
    EXPECT_FALSE(q->supports(n.node(), n.inputShapes()));
  }
  {
    const Tensor perAxis = makeTensor(DataType::kFloat32, {3}, {0.5, 0.25, 1});
    const Tensor zeros = makeTensor(DataType::kInt8, {3}, {0, 0, 0});
    AttributeMap a;
    a.set("axis", int64_t{1});
    NodeUnderTest n("QuantizeLinear", "", 21, a, {x, perAxis, zeros}, {1, 2});
    ASSERT_TRUE(n.status().isOk()) << n.status().message();
    EXPECT_FALSE(q->supports(n.node(), n.inputShapes()));
    NodeUnderTest m("DequantizeLinear", "", 21, a, {xq, perAxis, zeros}, {1, 2});
    ASSERT_TRUE(m.status().isOk()) << m.status().message();
    EXPECT_FALSE(d->supports(m.node(), m.inputShapes()));
  }
  {
    AttributeMap a;
    a.set("precision", int64_t{16});  // bfloat16 division
    NodeUnderTest n("QuantizeLinear", "", 25, a, {x, scale, zero}, {1, 2});
    ASSERT_TRUE(n.status().isOk()) << n.status().message();
    EXPECT_FALSE(q->supports(n.node(), n.inputShapes()));
  }
}

}  // namespace
}  // namespace lowp
