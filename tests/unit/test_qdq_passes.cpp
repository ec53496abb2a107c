// The explicit-quantization rules (passes/fuse_quantized_*.cpp, move_*quantize*.cpp, ...): small Q/DQ graphs
// in the layout ONNX Runtime's QDQ format writes (uint8 activations with zero points, int8 symmetric weights,
// int32 biases), run through the whole pipeline. Each test checks which nodes remain and that the outputs
// equal the unfused graph run by the reference kernels: integer outputs within one step (the fused op
// rescales the exact integer sum in double where the unfused graph first rounds a float sum), float outputs
// within 1e-5 relative. The fused graph runs twice: with the reference kernels and as an engine (the fastest
// kernels).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "graph_builder.h"
#include "ir/data_type.h"
#include "ir/graph.h"
#include "kernels/kernel.h"
#include "op_runner.h"
#include "passes/pipeline.h"
#include "runtime/thread_pool.h"

namespace lowp {
namespace {

using testing::attrs;
using testing::GraphBuilder;
using testing::makeTensor;
using testing::runReference;

using GraphSpec = std::function<void(GraphBuilder&)>;
using Ops = std::vector<std::string>;

std::unique_ptr<ir::Graph> build(const GraphSpec& spec) {
  GraphBuilder b;
  spec(b);
  return b.finish();
}

std::unique_ptr<ir::Graph> optimized(const GraphSpec& spec) {
  auto g = build(spec);
  const Status s = passes::runPipeline(*g);
  EXPECT_TRUE(s.isOk()) << s.toString();
  return g;
}

Ops opTypes(const ir::Graph& g) {
  Ops ops;
  for (const ir::Node* n : g.nodes()) ops.push_back(n->opType);
  return ops;
}

const ir::Node* nodeNamed(const ir::Graph& g, const std::string& name) {
  for (const ir::Node* n : g.nodes()) {
    if (n->name == name) return n;
  }
  ADD_FAILURE() << "no node " << name;
  return nullptr;
}

bool absorbed(const ir::Node& n, const std::string& name) {
  return std::find(n.absorbedNames.begin(), n.absorbedNames.end(), name) != n.absorbedNames.end();
}

Tensor uniformFloats(std::vector<int64_t> shape, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(DataType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t.elementCount(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

Tensor uniformInts(DataType type, std::vector<int64_t> shape, int lo, int hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<double> v(static_cast<size_t>(testing::count(shape)));
  for (double& x : v) x = dist(rng);
  return makeTensor(type, std::move(shape), v);
}

std::vector<float> uniformScales(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(0.004f, 0.02f);
  std::vector<float> s(static_cast<size_t>(n));
  for (float& x : s) x = dist(rng);
  return s;
}

Tensor floats(std::vector<int64_t> shape, const std::vector<float>& values) {
  return makeTensor(DataType::kFloat32, std::move(shape), std::vector<double>(values.begin(), values.end()));
}

// Per-tensor parameters of a Q or DQ: `<node>_s` and `<node>_zp` constants.
struct Quant {
  float scale = 1.0f / 127;
  int zeroPoint = 0;
  DataType type = DataType::kInt8;
};

void quantizeNode(GraphBuilder& b, const std::string& op, const std::string& name, const std::string& in,
                  const std::string& out, const Quant& q) {
  b.constant(name + "_s", floats({}, {q.scale}));
  b.constant(name + "_zp", makeTensor(q.type, {}, {static_cast<double>(q.zeroPoint)}));
  b.node(op, name, {in, name + "_s", name + "_zp"}, {out});
}

void quantize(GraphBuilder& b, const std::string& name, const std::string& in, const std::string& out,
              const Quant& q) {
  quantizeNode(b, "QuantizeLinear", name, in, out, q);
}

void dequantize(GraphBuilder& b, const std::string& name, const std::string& in, const std::string& out,
                const Quant& q) {
  quantizeNode(b, "DequantizeLinear", name, in, out, q);
}

// DQ `<name>_dq` of the integer constant `<name>_q` into `name`: per tensor (one scale) or along `axis`, with
// zero points 0 written out as ONNX Runtime does (or `zeroPoint` everywhere).
void dequantizeConstant(GraphBuilder& b, const std::string& name, Tensor q, const std::vector<float>& scales,
                        int64_t axis, int zeroPoint = 0) {
  const DataType type = q.type();
  b.constant(name + "_q", std::move(q));
  const std::vector<int64_t> shape =
      scales.size() == 1 ? std::vector<int64_t>{} : std::vector<int64_t>{static_cast<int64_t>(scales.size())};
  b.constant(name + "_s", floats(shape, scales));
  b.constant(name + "_zp",
             makeTensor(type, shape, std::vector<double>(scales.size(), static_cast<double>(zeroPoint))));
  b.node("DequantizeLinear", name + "_dq", {name + "_q", name + "_s", name + "_zp"}, {name},
         attrs({{"axis", axis}}));
}

std::vector<NamedTensor> randomInputs(const ir::Graph& graph) {
  std::vector<NamedTensor> inputs;
  unsigned seed = 11;
  for (const ir::Value* v : graph.inputs())
    inputs.push_back({v->name, uniformFloats(v->shape.sizes(), seed++)});
  return inputs;
}

// How close the fused outputs must be: integer outputs within `maxSteps`, and at most `offShare` of the
// elements off at all; float outputs within 1e-5 relative.
struct Tolerance {
  double maxSteps = 1;
  double offShare = 0.02;
};

void expectClose(const Tensor& want, const Tensor& got, const Tolerance& tol, const std::string& what) {
  ASSERT_EQ(want.type(), got.type()) << what;
  ASSERT_EQ(want.shape(), got.shape()) << what;
  int64_t off = 0;
  int reported = 0;
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    const double w = elementAsDouble(want, i);
    const double g = elementAsDouble(got, i);
    const bool ok = ir::isFloat(want.type()) ? std::abs(g - w) <= 1e-5 * (1.0 + std::abs(w))
                                             : std::abs(g - w) <= tol.maxSteps;
    if (!ok && reported++ < 3) ADD_FAILURE() << what << ": element " << i << " is " << g << ", want " << w;
    off += g != w ? 1 : 0;
  }
  if (!ir::isFloat(want.type())) {
    EXPECT_LE(static_cast<double>(off), tol.offShare * static_cast<double>(want.elementCount()))
        << what << ": " << off << " of " << want.elementCount() << " elements differ";
  }
}

// The pipeline's graph for `spec`, run by the reference kernels and as an engine, against `reference`
// (by default the same spec, unfused) run by the reference kernels.
void expectSameOutputs(const GraphSpec& spec, std::unique_ptr<ir::Graph> fused, const Tolerance& tol = {},
                       const GraphSpec& reference = nullptr) {
  auto plain = build(reference ? reference : spec);
  const std::vector<NamedTensor> inputs = randomInputs(*plain);
  const std::vector<Tensor> want = runReference(*plain, inputs);
  const std::vector<Tensor> exact = runReference(*fused, inputs);
  const std::vector<NamedTensor> fast = testing::runGraph(std::move(fused), inputs);
  ASSERT_EQ(want.size(), exact.size());
  ASSERT_EQ(want.size(), fast.size());
  for (size_t o = 0; o < want.size(); ++o) {
    expectClose(want[o], exact[o], tol, "reference kernels, output " + std::to_string(o));
    expectClose(want[o], fast[o].tensor, tol, "engine, output " + std::to_string(o));
  }
}

// ---- Conv ----

struct ConvCase {
  Quant x{1.0f / 127, 0, DataType::kInt8};
  std::vector<int64_t> xShape = {2, 4, 7, 6};
  int64_t channels = 6;
  int64_t group = 1;
  bool perChannel = true;
  bool intBias = false;    ///< DQ(int32) with scale x_scale * w_scale
  bool floatBias = false;  ///< float32, on the x_scale * w_scale grid
  std::string activation;  ///< "", "Relu", "Clip"
  bool quantizeOutput = false;
  Quant y{0.05f, 0, DataType::kInt8};
};

GraphSpec convSpec(const ConvCase& c) {
  return [c](GraphBuilder& b) {
    b.input("x", c.xShape);
    quantize(b, "x_quant", "x", "xq", c.x);
    dequantize(b, "x_dq", "xq", "xd", c.x);
    const int64_t perGroup = c.xShape[1] / c.group;
    const std::vector<float> ws = c.perChannel ? uniformScales(c.channels, 3) : std::vector<float>{0.01f};
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {c.channels, perGroup, 3, 3}, -127, 127, 4), ws,
                       0);
    std::vector<std::string> convInputs = {"xd", "w"};
    if (c.intBias || c.floatBias) {
      const Tensor steps = uniformInts(DataType::kInt32, {c.channels}, -3000, 3000, 5);
      std::vector<float> biasScales;
      std::vector<float> onGrid;
      for (int64_t m = 0; m < c.channels; ++m) {
        const float step = c.x.scale * ws[ws.size() == 1 ? 0 : static_cast<size_t>(m)];
        biasScales.push_back(step);
        onGrid.push_back(static_cast<float>(steps.data<int32_t>()[m] * static_cast<double>(step)));
      }
      if (c.intBias) {
        dequantizeConstant(b, "b", steps, biasScales, 0);
      } else {
        b.constant("b", floats({c.channels}, onGrid));
      }
      convInputs.push_back("b");
    }
    b.node("Conv", "conv", convInputs, {"c"},
           attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}, {"group", c.group}}));
    std::string out = "c";
    if (c.activation == "Relu") {
      b.node("Relu", "act", {"c"}, {"a"});
      out = "a";
    } else if (c.activation == "Clip") {
      b.constant("lo", floats({}, {-0.5f}));
      b.constant("hi", floats({}, {2.0f}));
      b.node("Clip", "act", {"c", "lo", "hi"}, {"a"});
      out = "a";
    }
    if (c.quantizeOutput) {
      quantize(b, "y_quant", out, "y", c.y);
      out = "y";
    }
    b.output(out);
  };
}

void expectFusedConv(const ConvCase& c) {
  const GraphSpec spec = convSpec(c);
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedConv"}));
  const ir::Node* conv = nodeNamed(*g, "conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->domain, "lowp");
  EXPECT_EQ(conv->inputs[0]->name, "xq");
  EXPECT_EQ(conv->inputs[1]->name, "w_q");
  EXPECT_EQ(conv->outputs[0]->type, c.quantizeOutput ? c.y.type : DataType::kFloat32);
  EXPECT_EQ(conv->attributes.getFloat("x_scale", 0), c.x.scale);
  EXPECT_EQ(conv->attributes.getInt("x_zero_point", -1), c.x.zeroPoint);
  EXPECT_EQ(conv->attributes.getFloats("w_scales").size(),
            c.perChannel ? static_cast<size_t>(c.channels) : 1u);
  EXPECT_EQ(conv->attributes.getInt("group", 1), c.group);
  EXPECT_TRUE(absorbed(*conv, "x_dq"));
  EXPECT_TRUE(absorbed(*conv, "w_dq"));
  if (c.intBias) {
    EXPECT_TRUE(absorbed(*conv, "b_dq"));
    EXPECT_EQ(conv->inputs[2]->name, "b_q");  // already on the accumulator's grid: used as it is
  }
  if (!c.activation.empty()) {
    EXPECT_TRUE(absorbed(*conv, "act"));
    EXPECT_EQ(conv->attributes.getString("activation"), c.activation);
  }
  if (c.quantizeOutput) {
    EXPECT_TRUE(absorbed(*conv, "y_quant"));
    EXPECT_EQ(conv->attributes.getFloat("y_scale", 0), c.y.scale);
    EXPECT_EQ(conv->attributes.getInt("y_zero_point", -1), c.y.zeroPoint);
  }
  expectSameOutputs(spec, std::move(g));
}

TEST(QdqConv, PerTensorInt8FloatOutput) {
  ConvCase c;
  c.perChannel = false;
  expectFusedConv(c);
}

TEST(QdqConv, PerChannelInt8FloatOutput) {
  expectFusedConv(ConvCase{});
}

TEST(QdqConv, Uint8WithZeroPointIntBiasReluQuantizedOutput) {
  ConvCase c;
  c.x = {2.0f / 255, 128, DataType::kUInt8};
  c.intBias = true;
  c.activation = "Relu";
  c.quantizeOutput = true;
  c.y = {0.03f, 0, DataType::kUInt8};
  expectFusedConv(c);
}

TEST(QdqConv, FloatBiasOnTheGridFloatOutput) {
  ConvCase c;
  c.floatBias = true;
  expectFusedConv(c);
}

TEST(QdqConv, FloatBiasOffTheGridIsQuantized) {
  // A float bias anywhere: the fused bias moves to the x_scale * w_scale grid, at most half a step away.
  const GraphSpec spec = [](GraphBuilder& b) {
    const Quant x;
    b.input("x", {2, 4, 7, 6});
    quantize(b, "x_quant", "x", "xq", x);
    dequantize(b, "x_dq", "xq", "xd", x);
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {6, 4, 3, 3}, -127, 127, 4), uniformScales(6, 3),
                       0);
    b.constant("b", uniformFloats({6}, 9));
    b.node("Conv", "conv", {"xd", "w", "b"}, {"c"}, attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}}));
    quantize(b, "y_quant", "c", "y", {0.05f, 0, DataType::kInt8});
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedConv"}));
  const ir::Node* conv = nodeNamed(*g, "conv");
  ASSERT_TRUE(conv != nullptr && conv->inputs.size() == 3u);
  EXPECT_EQ(conv->inputs[2]->type, DataType::kInt32);
  expectSameOutputs(spec, std::move(g));
}

TEST(QdqConv, GroupedInt8WithZeroPointClipQuantizedOutput) {
  ConvCase c;
  c.x = {1.0f / 100, 7, DataType::kInt8};
  c.xShape = {1, 6, 5, 8};
  c.channels = 9;
  c.group = 3;
  c.intBias = true;
  c.activation = "Clip";
  c.quantizeOutput = true;
  expectFusedConv(c);
}

TEST(QdqConv, DepthwisePerTensor) {
  ConvCase c;
  c.xShape = {1, 5, 6, 6};
  c.channels = 5;
  c.group = 5;
  c.perChannel = false;
  c.quantizeOutput = true;
  c.y = {0.02f, -3, DataType::kInt8};
  expectFusedConv(c);
}

TEST(QdqConv, FakeQuantizedWeightsAreQuantizedOnceAndFused) {
  // Q(W float) -> DQ -> Conv, as PyTorch exports quantization-aware models.
  const GraphSpec spec = [](GraphBuilder& b) {
    const Quant x;
    b.input("x", {1, 3, 5, 5});
    quantize(b, "x_quant", "x", "xq", x);
    dequantize(b, "x_dq", "xq", "xd", x);
    b.constant("w_float", uniformFloats({4, 3, 3, 3}, 21));
    const Quant w{0.008f, 0, DataType::kInt8};
    quantize(b, "w_quant", "w_float", "wq", w);
    dequantize(b, "w_dq", "wq", "w", w);
    b.node("Conv", "conv", {"xd", "w"}, {"y"});
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedConv"}));
  expectSameOutputs(spec, std::move(g));
}

// ---- what must not fuse ----

TEST(QdqConv, ScaleComputedAtRunTimeIsNotFused) {
  const GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {1, 3, 5, 5});
    b.input("s", {});
    b.node("Exp", "scale", {"s"}, {"xs"});  // positive, known only at run time
    b.constant("zp", makeTensor(DataType::kInt8, {}, {0}));
    b.node("QuantizeLinear", "x_quant", {"x", "xs", "zp"}, {"xq"});
    b.node("DequantizeLinear", "x_dq", {"xq", "xs", "zp"}, {"xd"});
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {4, 3, 3, 3}, -127, 127, 4), {0.01f}, 0);
    b.node("Conv", "conv", {"xd", "w"}, {"y"});
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"Exp", "QuantizeLinear", "DequantizeLinear", "Conv"}));
  expectSameOutputs(spec, std::move(g));
}

TEST(QdqConv, WeightZeroPointIsNotFused) {
  const GraphSpec spec = [](GraphBuilder& b) {
    const Quant x;
    b.input("x", {1, 3, 5, 5});
    quantize(b, "x_quant", "x", "xq", x);
    dequantize(b, "x_dq", "xq", "xd", x);
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {4, 3, 3, 3}, -100, 100, 4), {0.01f}, 0, 3);
    b.node("Conv", "conv", {"xd", "w"}, {"y"});
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "DequantizeLinear", "Conv"}));
  expectSameOutputs(spec, std::move(g));
}

TEST(QdqConv, WeightScalesAlongTheInputChannelsAreNotFused) {
  const GraphSpec spec = [](GraphBuilder& b) {
    const Quant x;
    b.input("x", {1, 3, 5, 5});
    quantize(b, "x_quant", "x", "xq", x);
    dequantize(b, "x_dq", "xq", "xd", x);
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {4, 3, 3, 3}, -127, 127, 4), uniformScales(3, 2),
                       1);
    b.node("Conv", "conv", {"xd", "w"}, {"y"});
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "DequantizeLinear", "Conv"}));
  expectSameOutputs(spec, std::move(g));
}

TEST(QdqConv, FloatOutputReadTwiceKeepsItsQuantize) {
  // The conv's float output is a graph output and is also quantized: the Q cannot move into the conv.
  const GraphSpec spec = [](GraphBuilder& b) {
    ConvCase c;
    convSpec(c)(b);
    quantize(b, "y_quant", "c", "y", c.y);
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedConv", "QuantizeLinear"}));
  EXPECT_EQ(nodeNamed(*g, "conv")->outputs[0]->type, DataType::kFloat32);
  expectSameOutputs(spec, std::move(g));
}

// ---- MatMul and Gemm ----

struct GemmCase {
  Quant a{2.0f / 255, 128, DataType::kUInt8};
  int64_t rows = 5, k = 16, n = 8;
  bool transB = true;
  bool perChannel = true;
  float alpha = 1.0f, beta = 1.0f;
  std::string bias;  ///< "", "float", "int"
  bool quantizeOutput = false;
  Quant y{0.05f, 100, DataType::kUInt8};
};

GraphSpec gemmSpec(const GemmCase& c) {
  return [c](GraphBuilder& b) {
    b.input("a", {c.rows, c.k});
    quantize(b, "a_quant", "a", "aq", c.a);
    dequantize(b, "a_dq", "aq", "ad", c.a);
    const std::vector<float> ws = c.perChannel ? uniformScales(c.n, 6) : std::vector<float>{0.01f};
    const std::vector<int64_t> wShape =
        c.transB ? std::vector<int64_t>{c.n, c.k} : std::vector<int64_t>{c.k, c.n};
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, wShape, -127, 127, 7), ws, c.transB ? 0 : 1);
    std::vector<std::string> inputs = {"ad", "w"};
    if (c.bias == "float") {
      b.constant("c", uniformFloats({c.n}, 8));
      inputs.push_back("c");
    } else if (c.bias == "int") {
      std::vector<float> scales;
      scales.reserve(ws.size());
      for (float s : ws) scales.push_back(c.a.scale * s);
      dequantizeConstant(b, "c", uniformInts(DataType::kInt32, {c.n}, -3000, 3000, 9), scales, 0);
      inputs.push_back("c");
    }
    b.node("Gemm", "gemm", inputs, {"g"},
           attrs({{"transB", int64_t{c.transB ? 1 : 0}}, {"alpha", c.alpha}, {"beta", c.beta}}));
    if (c.quantizeOutput) {
      quantize(b, "y_quant", "g", "y", c.y);
      b.output("y");
    } else {
      b.output("g");
    }
  };
}

void expectFusedGemm(const GemmCase& c, const Tolerance& tol = {}) {
  const GraphSpec spec = gemmSpec(c);
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedMatMul"}));
  const ir::Node* gemm = nodeNamed(*g, "gemm");
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(gemm->inputs[1]->shape.sizes(), (std::vector<int64_t>{c.k, c.n}));
  EXPECT_EQ(gemm->attributes.getFloats("b_scales").size(), c.perChannel ? static_cast<size_t>(c.n) : 1u);
  EXPECT_FALSE(gemm->attributes.has("transB"));
  expectSameOutputs(spec, std::move(g), tol);
}

TEST(QdqGemm, TransBPerChannelAlphaBetaFloatBiasQuantizedOutput) {
  GemmCase c;
  c.alpha = 0.5f;
  c.beta = 2.0f;
  c.bias = "float";
  c.quantizeOutput = true;
  expectFusedGemm(c);
}

TEST(QdqGemm, PerTensorIntBiasFloatOutput) {
  GemmCase c;
  c.transB = false;
  c.perChannel = false;
  c.bias = "int";
  expectFusedGemm(c);
}

TEST(QdqGemm, TransposedAIsNotFused) {
  const GraphSpec spec = [](GraphBuilder& b) {
    const Quant a;
    b.input("a", {16, 5});
    quantize(b, "a_quant", "a", "aq", a);
    dequantize(b, "a_dq", "aq", "ad", a);
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {16, 8}, -127, 127, 7), {0.01f}, 1);
    b.node("Gemm", "gemm", {"ad", "w"}, {"y"}, attrs({{"transA", int64_t{1}}}));
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "DequantizeLinear", "Gemm"}));
  expectSameOutputs(spec, std::move(g));
}

GraphSpec matMulSpec(bool quantizeOutput) {
  return [quantizeOutput](GraphBuilder& b) {
    const Quant a{1.0f / 120, -3, DataType::kInt8};
    b.input("a", {2, 5, 16});
    quantize(b, "a_quant", "a", "aq", a);
    dequantize(b, "a_dq", "aq", "ad", a);
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {16, 8}, -127, 127, 7), uniformScales(8, 1), 1);
    b.node("MatMul", "matmul", {"ad", "w"}, {"m"});
    if (quantizeOutput) {
      quantize(b, "y_quant", "m", "y", {0.04f, 0, DataType::kInt8});
      b.output("y");
    } else {
      b.output("m");
    }
  };
}

TEST(QdqMatMul, PerColumnScalesFloatOutput) {
  auto g = optimized(matMulSpec(false));
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedMatMul"}));
  expectSameOutputs(matMulSpec(false), std::move(g));
}

TEST(QdqMatMul, QuantizedOutput) {
  auto g = optimized(matMulSpec(true));
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedMatMul"}));
  EXPECT_EQ(g->outputs()[0]->type, DataType::kInt8);
  expectSameOutputs(matMulSpec(true), std::move(g));
}

// ---- Q / DQ propagation ----

TEST(QdqPropagation, DequantizeMovesPastMaxPoolAndFlattenIntoGemm) {
  // ONNX Runtime's layout: every op between layers re-quantizes with its input's parameters.
  const GraphSpec spec = [](GraphBuilder& b) {
    const Quant x{0.01f, 10, DataType::kUInt8};
    b.input("x", {2, 4, 6, 6});
    quantize(b, "x_quant", "x", "xq", x);
    dequantize(b, "x_dq", "xq", "xd", x);
    b.node("MaxPool", "pool", {"xd"}, {"p"},
           attrs({{"kernel_shape", std::vector<int64_t>{3, 3}},
                  {"strides", std::vector<int64_t>{2, 2}},
                  {"pads", std::vector<int64_t>{1, 1, 1, 1}}}));
    quantize(b, "p_quant", "p", "pq", x);
    dequantize(b, "p_dq", "pq", "pd", x);
    b.node("Flatten", "flatten", {"pd"}, {"f"});
    quantize(b, "f_quant", "f", "fq", x);
    dequantize(b, "f_dq", "fq", "fd", x);
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {5, 36}, -127, 127, 7), uniformScales(5, 8), 0);
    b.node("Gemm", "gemm", {"fd", "w"}, {"y"}, attrs({{"transB", int64_t{1}}}));
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "MaxPool", "Flatten", "QuantizedMatMul"}));
  EXPECT_EQ(nodeNamed(*g, "pool")->outputs[0]->type, DataType::kUInt8);
  EXPECT_EQ(nodeNamed(*g, "flatten")->outputs[0]->type, DataType::kUInt8);
  expectSameOutputs(spec, std::move(g));
}

TEST(QdqPropagation, QuantizeMovesBackPastReshapeAndTransposeIntoConv) {
  const GraphSpec spec = [](GraphBuilder& b) {
    const Quant x;
    b.input("x", {2, 4, 7, 6});
    quantize(b, "x_quant", "x", "xq", x);
    dequantize(b, "x_dq", "xq", "xd", x);
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {6, 4, 3, 3}, -127, 127, 4), uniformScales(6, 3),
                       0);
    b.node("Conv", "conv", {"xd", "w"}, {"c"}, attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}}));
    b.constant("shape", makeTensor(DataType::kInt64, {3}, {2, 6, 42}));
    b.node("Reshape", "reshape", {"c", "shape"}, {"r"});
    b.node("Transpose", "transpose", {"r"}, {"t"}, attrs({{"perm", std::vector<int64_t>{0, 2, 1}}}));
    quantize(b, "y_quant", "t", "y", {0.05f, 0, DataType::kInt8});
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedConv", "Reshape", "Transpose"}));
  EXPECT_EQ(nodeNamed(*g, "conv")->outputs[0]->type, DataType::kInt8);
  EXPECT_EQ(g->outputs()[0]->name, "y");
  expectSameOutputs(spec, std::move(g));
}

GraphSpec reluBetweenSpec(const Quant& q) {
  return [q](GraphBuilder& b) {
    b.input("x", {1, 3, 5, 5});
    quantize(b, "x_quant", "x", "xq", q);
    dequantize(b, "x_dq", "xq", "xd", q);
    b.node("Relu", "relu", {"xd"}, {"r"});
    quantize(b, "r_quant", "r", "rq", q);
    dequantize(b, "r_dq", "rq", "rd", q);
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {4, 3, 3, 3}, -127, 127, 4), {0.01f}, 0);
    b.node("Conv", "conv", {"rd", "w"}, {"y"});
    b.output("y");
  };
}

TEST(QdqPropagation, DequantizeMovesPastReluOfInt8WithZeroPointZero) {
  const GraphSpec spec = reluBetweenSpec({1.0f / 127, 0, DataType::kInt8});
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "Relu", "QuantizedConv"}));
  EXPECT_EQ(nodeNamed(*g, "relu")->outputs[0]->type, DataType::kInt8);
  expectSameOutputs(spec, std::move(g));
}

TEST(QdqPropagation, ReluOfANonZeroZeroPointStaysInFloat) {
  // max(q, 0) is not max(x, 0) when the zero point is not 0.
  const GraphSpec spec = reluBetweenSpec({1.0f / 127, 20, DataType::kInt8});
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g),
            (Ops{"QuantizeLinear", "DequantizeLinear", "Relu", "QuantizeLinear", "QuantizedConv"}));
  EXPECT_EQ(nodeNamed(*g, "relu")->outputs[0]->type, DataType::kFloat32);
  expectSameOutputs(spec, std::move(g));
}

TEST(QdqPropagation, QuantizeOfDequantizeWithOtherParametersStays) {
  const GraphSpec spec = [](GraphBuilder& b) {
    const Quant x{0.01f, 10, DataType::kUInt8};
    b.input("x", {2, 4, 6, 6});
    quantize(b, "x_quant", "x", "xq", x);
    dequantize(b, "x_dq", "xq", "xd", x);
    b.node("Flatten", "flatten", {"xd"}, {"f"});
    const Quant coarse{0.02f, 10, DataType::kUInt8};
    quantize(b, "f_quant", "f", "fq", coarse);
    dequantize(b, "f_dq", "fq", "y", coarse);
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g),
            (Ops{"QuantizeLinear", "Flatten", "DequantizeLinear", "QuantizeLinear", "DequantizeLinear"}));
  expectSameOutputs(spec, std::move(g));
}

// ---- residual Add ----

// x -> DQ -> conv (-> Q -> DQ when `quantizeConv`) -> Add(., skip) -> Relu -> Q; the skip is the block's
// input
// (`skipIsInput`) or a second convolution of it.
GraphSpec residualSpec(bool quantizeConv, bool skipIsInput, bool convFirst = true) {
  return [=](GraphBuilder& b) {
    const Quant x{2.0f / 255, 5, DataType::kUInt8};
    // The convolutions stay well inside mid's range: fusing the residual drops that Q's saturation along
    // with its rounding.
    const Quant mid{0.08f, 0, DataType::kInt8};
    b.input("x", {2, 4, 6, 6});
    quantize(b, "x_quant", "x", "xq", x);
    dequantize(b, "x_dq", "xq", "xd", x);
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {4, 4, 3, 3}, -40, 40, 4), uniformScales(4, 3),
                       0);
    const ir::AttributeMap pad = attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
    b.node("Conv", "conv", {"xd", "w"}, {"c"}, pad);
    std::string main = "c";
    if (quantizeConv) {
      quantize(b, "c_quant", "c", "cq", mid);
      dequantize(b, "c_dq", "cq", "cd", mid);
      main = "cd";
    }
    std::string skip = "xd";
    if (!skipIsInput) {
      dequantizeConstant(b, "v", uniformInts(DataType::kInt8, {4, 4, 1, 1}, -40, 40, 5), uniformScales(4, 6),
                         0);
      b.node("Conv", "conv_skip", {"xd", "v"}, {"s"});
      quantize(b, "s_quant", "s", "sq", mid);
      dequantize(b, "s_dq", "sq", "sd", mid);
      skip = "sd";
    }
    b.node("Add", "add",
           convFirst ? std::vector<std::string>{main, skip} : std::vector<std::string>{skip, main}, {"sum"});
    b.node("Relu", "relu", {"sum"}, {"r"});
    quantize(b, "y_quant", "r", "y", {0.05f, 0, DataType::kUInt8});
    b.output("y");
  };
}

TEST(QdqResidual, AddOfTheBlockInputBecomesTheResidual) {
  auto g = optimized(residualSpec(true, true));
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedConv"}));
  const ir::Node* conv = nodeNamed(*g, "conv");
  ASSERT_NE(conv, nullptr);
  ASSERT_EQ(conv->inputs.size(), 4u);
  EXPECT_EQ(conv->inputs[3]->name, "xq");
  EXPECT_EQ(conv->attributes.getFloat("z_scale", 0), 2.0f / 255);
  EXPECT_EQ(conv->attributes.getInt("z_zero_point", -1), 5);
  EXPECT_EQ(conv->attributes.getString("activation"), "Relu");
  EXPECT_EQ(conv->outputs[0]->type, DataType::kUInt8);
  for (const char* name : {"c_quant", "c_dq", "add", "relu", "y_quant"})
    EXPECT_TRUE(absorbed(*conv, name)) << name;
  // Against the graph without the conv's own Q / DQ (what the fused op computes), within one step and rarely;
  // against the graph as written, within one step (the dropped rounding is below half a step of y).
  expectSameOutputs(residualSpec(true, true), optimized(residualSpec(true, true)), {},
                    residualSpec(false, true));
  expectSameOutputs(residualSpec(true, true), std::move(g), {1, 1});
}

TEST(QdqResidual, TheFirstInputsConvolutionTakesTheAdd) {
  for (bool convFirst : {true, false}) {
    auto g = optimized(residualSpec(true, false, convFirst));
    EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedConv", "QuantizedConv"}));
    const ir::Node* fused = nodeNamed(*g, convFirst ? "conv" : "conv_skip");
    const ir::Node* other = nodeNamed(*g, convFirst ? "conv_skip" : "conv");
    ASSERT_TRUE(fused != nullptr && other != nullptr);
    EXPECT_TRUE(absorbed(*fused, "add"));
    ASSERT_EQ(fused->inputs.size(), 4u);
    EXPECT_EQ(fused->inputs[3], other->outputs[0]);
    EXPECT_EQ(other->outputs[0]->type, DataType::kInt8);
    expectSameOutputs(residualSpec(true, false, convFirst), std::move(g), {1, 1});
  }
}

TEST(QdqResidual, FloatResidualOfAFloatConvolution) {
  const GraphSpec spec = [](GraphBuilder& b) {
    const Quant x;
    b.input("x", {1, 4, 5, 5});
    b.input("z", {1, 4, 5, 5});
    quantize(b, "x_quant", "x", "xq", x);
    dequantize(b, "x_dq", "xq", "xd", x);
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {4, 4, 3, 3}, -127, 127, 4), uniformScales(4, 3),
                       0);
    b.node("Conv", "conv", {"xd", "w"}, {"c"}, attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}}));
    b.node("Add", "add", {"z", "c"}, {"y"});
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedConv"}));
  const ir::Node* conv = nodeNamed(*g, "conv");
  ASSERT_TRUE(conv != nullptr && conv->inputs.size() == 4u);
  EXPECT_EQ(conv->inputs[3]->name, "z");
  EXPECT_FALSE(conv->attributes.has("z_scale"));
  expectSameOutputs(spec, std::move(g));
}

TEST(QdqResidual, BroadcastAddIsNotFused) {
  const GraphSpec spec = [](GraphBuilder& b) {
    const Quant x;
    b.input("x", {1, 4, 5, 5});
    b.input("z", {1, 4, 1, 1});
    quantize(b, "x_quant", "x", "xq", x);
    dequantize(b, "x_dq", "xq", "xd", x);
    dequantizeConstant(b, "w", uniformInts(DataType::kInt8, {4, 4, 3, 3}, -127, 127, 4), {0.01f}, 0);
    b.node("Conv", "conv", {"xd", "w"}, {"c"}, attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}}));
    b.node("Add", "add", {"c", "z"}, {"y"});
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(opTypes(*g), (Ops{"QuantizeLinear", "QuantizedConv", "Add"}));
  expectSameOutputs(spec, std::move(g));
}

}  // namespace
}  // namespace lowp
