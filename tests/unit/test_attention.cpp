// lowp.Attention: its schema (shapes, types, the errors for broadcast batch dims and bad masks), the
// fuse_attention pass (the pattern fuses in 3-D and 4-D, with and without scale and mask, opset 11 where its
// 2-D coercion is the last axis; it does not fuse when an intermediate has another reader, is a graph output,
// or the softmax runs over another axis; the fused node takes the first MatMul's name and absorbs the rest;
// the fused graph computes what the unfused one does), and the CPU kernels (kernels/cpu/attention.cpp, fp32,
// bf16 and fp16 on both ISAs) against the reference kernel on odd sizes and every kind of mask.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "graph_builder.h"
#include "grouped_head_views.h"
#include "ir/graph.h"
#include "ir/op_schema.h"
#include "ir/ops/attention.h"
#include "ir/ops/attention_layout.h"
#include "kernel_under_test.h"
#include "kernels/kernel.h"
#include "lowp/builder.h"
#include "onnx/importer.h"
#include "op_runner.h"
#include "passes/pipeline.h"
#include "passes/rules.h"
#include "runtime/cpu_features.h"

namespace lowp::testing {
namespace {

using GraphSpec = std::function<void(GraphBuilder&)>;

Tensor randomFloats(std::mt19937& rng, DataType type, const std::vector<int64_t>& shape, double lo = -1.0,
                    double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(static_cast<size_t>(count(shape)));
  for (double& x : v) x = dist(rng);
  return makeTensor(type, shape, v);
}

Tensor scalarOf(float v) {
  return makeTensor(DataType::kFloat32, {}, {v});
}

/// ||got - ref|| / ||ref|| over every element, in double.
double relativeL2(const Tensor& ref, const Tensor& got) {
  double diff = 0.0;
  double norm = 0.0;
  for (int64_t i = 0; i < ref.elementCount(); ++i) {
    const double r = elementAsDouble(ref, i);
    const double g = elementAsDouble(got, i);
    if (std::isnan(g) != std::isnan(r)) return std::numeric_limits<double>::infinity();
    if (std::isnan(r)) continue;
    diff += (g - r) * (g - r);
    norm += r * r;
  }
  return norm == 0.0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

// ---- Schema ----------------------------------------------------------------------------------------------

Result<std::vector<std::pair<DataType, ir::Shape>>> inferAttention(
    const std::vector<ir::InferInput>& inputs) {
  ir::Node node;
  node.opType = "Attention";
  node.domain = "lowp";
  node.name = "attn";
  node.outputs = {nullptr};
  return ir::inferNode(node, inputs);
}

ir::InferInput known(DataType t, const std::vector<int64_t>& shape) {
  return {true, t, ir::Shape::fromSizes(shape), nullptr};
}

TEST(AttentionSchema, ShapesTypesAndErrors) {
  const DataType f32 = DataType::kFloat32;
  const DataType f16 = DataType::kFloat16;
  auto ok = inferAttention({known(f16, {2, 8, 5, 32}), known(f16, {2, 8, 32, 7}), known(f16, {2, 8, 7, 16}),
                            known(f16, {2, 1, 1, 7})});
  ASSERT_TRUE(ok.isOk()) << ok.status().toString();
  EXPECT_EQ((*ok)[0].first, f16);
  EXPECT_EQ((*ok)[0].second.sizes(), (std::vector<int64_t>{2, 8, 5, 16}));
  // Rank 2: one head.
  auto single = inferAttention({known(f32, {5, 4}), known(f32, {4, 6}), known(f32, {6, 3})});
  ASSERT_TRUE(single.isOk()) << single.status().toString();
  EXPECT_EQ((*single)[0].second.sizes(), (std::vector<int64_t>{5, 3}));
  // Broadcast batch dims, mismatched D or Sk, a mask that does not fit, mixed types, a missing V.
  const auto broadcastBatch =
      inferAttention({known(f32, {2, 5, 4}), known(f32, {1, 4, 6}), known(f32, {2, 6, 3})});
  ASSERT_FALSE(broadcastBatch.isOk());
  EXPECT_NE(broadcastBatch.status().message().find("does not broadcast"), std::string::npos)
      << broadcastBatch.status().message();
  EXPECT_NE(broadcastBatch.status().message().find("attn"), std::string::npos);
  EXPECT_FALSE(inferAttention({known(f32, {2, 5, 4}), known(f32, {2, 3, 6}), known(f32, {2, 6, 3})}).isOk());
  EXPECT_FALSE(inferAttention({known(f32, {2, 5, 4}), known(f32, {2, 4, 6}), known(f32, {2, 7, 3})}).isOk());
  EXPECT_FALSE(inferAttention({known(f32, {2, 5, 4}), known(f32, {2, 4, 6}), known(f32, {2, 6, 3}),
                               known(f32, {2, 5, 5})})
                   .isOk());
  EXPECT_FALSE(inferAttention({known(f32, {2, 5, 4}), known(f32, {2, 4, 6}), known(f32, {2, 6, 3}),
                               known(f32, {3, 2, 5, 6})})
                   .isOk());
  EXPECT_FALSE(inferAttention({known(f32, {2, 5, 4}), known(f16, {2, 4, 6}), known(f32, {2, 6, 3})}).isOk());
  EXPECT_FALSE(inferAttention({known(f32, {2, 5, 4}), known(f32, {2, 4, 6}), {}}).isOk());
  EXPECT_FALSE(inferAttention({known(DataType::kInt32, {2, 5, 4}), known(DataType::kInt32, {2, 4, 6}),
                               known(DataType::kInt32, {2, 6, 3})})
                   .isOk());
}

// ---- Fusion ----------------------------------------------------------------------------------------------

/// The attention pattern as exporters write it: batch dims `batch`, Sq = Sk = s, D = Dv = d; `scaleOp` "Mul",
/// "Div" or "" after the first MatMul; `maskShape` empty for no mask.
struct Pattern {
  std::vector<int64_t> batch = {6};
  int64_t s = 9;
  int64_t d = 8;
  std::string scaleOp;
  std::vector<int64_t> maskShape;
  int64_t softmaxOpset = 17;
  int64_t softmaxAxis = -1;
};

GraphSpec attentionGraph(const Pattern& p) {
  return [p](GraphBuilder& b) {
    auto dims = [&](int64_t x, int64_t y) {
      std::vector<int64_t> s = p.batch;
      s.push_back(x);
      s.push_back(y);
      return s;
    };
    b.input("q", dims(p.s, p.d));
    b.input("kt", dims(p.d, p.s));
    b.input("v", dims(p.s, p.d));
    b.node("MatMul", "qk", {"q", "kt"}, {"scores"});
    std::string x = "scores";
    if (!p.scaleOp.empty()) {
      b.constant("c", scalarOf(p.scaleOp == "Div" ? 2.8284271f : 0.35355339f));
      b.node(p.scaleOp, "scale", {x, "c"}, {"scaled"});
      x = "scaled";
    }
    if (!p.maskShape.empty()) {
      b.input("mask", p.maskShape);
      b.node("Add", "mask_add", {"mask", x}, {"masked"});
      x = "masked";
    }
    ir::Node* softmax = b.node("Softmax", "softmax", {x}, {"p"}, attrs({{"axis", p.softmaxAxis}}));
    softmax->opsetVersion = p.softmaxOpset;
    b.node("MatMul", "pv", {"p", "v"}, {"y"});
    b.output("y");
  };
}

std::unique_ptr<ir::Graph> build(const GraphSpec& spec) {
  GraphBuilder b;
  spec(b);
  return b.finish();
}

/// The graph after fuse_attention and remove_dead_nodes (and nothing else), re-inferred.
std::unique_ptr<ir::Graph> fused(const GraphSpec& spec) {
  auto g = build(spec);
  for (const passes::RewriteRule* rule : {&passes::fuseAttentionRule(), &passes::removeDeadNodesRule()}) {
    auto applied = passes::applyRule(*g, *rule);
    EXPECT_TRUE(applied.isOk()) << applied.status().toString();
  }
  EXPECT_TRUE(g->sortTopologically().isOk());
  const Status s = onnx::inferGraph(*g);
  EXPECT_TRUE(s.isOk()) << s.toString();
  return g;
}

const ir::Node* attentionNode(const ir::Graph& g) {
  for (const ir::Node* n : g.nodes()) {
    if (n->domain == "lowp" && n->opType == "Attention") return n;
  }
  return nullptr;
}

std::vector<NamedTensor> randomInputs(const ir::Graph& graph, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<NamedTensor> inputs;
  for (const ir::Value* v : graph.inputs()) {
    // A mask of large negative values in places, as padding masks have.
    const bool mask = v->name == "mask";
    Tensor t = randomFloats(rng, v->type, v->shape.sizes(), mask ? -3.0 : -2.0, 2.0);
    if (mask) {
      for (int64_t i = 0; i < t.elementCount(); i += 3) t.data<float>()[i] = -1e4f;
    }
    inputs.push_back({v->name, t});
  }
  return inputs;
}

/// The fused graph, with the reference kernels and with the engine's kernels, computes what the unfused one
/// does with the reference kernels: exactly, or within `tolerance` where the scale came from a Div.
void expectSameResults(const GraphSpec& spec, double referenceTolerance) {
  auto plain = build(spec);
  auto f = fused(spec);
  ASSERT_NE(attentionNode(*f), nullptr);
  const auto inputs = randomInputs(*plain, 3);
  const std::vector<Tensor> want = runReference(*plain, inputs);
  const std::vector<Tensor> exact = runReference(*f, inputs);
  const std::vector<NamedTensor> fast = runGraph(std::move(f), inputs);
  ASSERT_EQ(want.size(), 1u);
  ASSERT_EQ(exact.size(), 1u);
  ASSERT_EQ(fast.size(), 1u);
  ASSERT_EQ(want[0].shape(), exact[0].shape());
  ASSERT_EQ(want[0].shape(), fast[0].tensor.shape());
  EXPECT_LE(relativeL2(want[0], exact[0]), referenceTolerance);
  EXPECT_LE(relativeL2(want[0], fast[0].tensor), 1e-6);
}

TEST(FuseAttention, ThreeDimensionalAsPyTorchExportsIt) {
  // PyTorch's encoder: the scale on Q before the first MatMul (it stays), [B*H, S, D] tensors, no mask.
  const Pattern p{.batch = {6}, .s = 9, .d = 8};
  auto g = fused(attentionGraph(p));
  ASSERT_EQ(g->nodes().size(), 1u);
  const ir::Node& n = *g->nodes()[0];
  EXPECT_EQ(n.opType, "Attention");
  EXPECT_EQ(n.domain, "lowp");
  EXPECT_EQ(n.name, "qk");
  EXPECT_EQ(n.absorbedNames, (std::vector<std::string>{"softmax", "pv"}));
  ASSERT_EQ(n.inputs.size(), 3u);
  EXPECT_EQ(n.inputs[0]->name, "q");
  EXPECT_EQ(n.inputs[1]->name, "kt");
  EXPECT_EQ(n.inputs[2]->name, "v");
  EXPECT_EQ(n.outputs[0]->name, "y");
  EXPECT_EQ(n.attributes.getFloat("scale", 0.0f), 1.0f);
  EXPECT_EQ(n.outputs[0]->shape.sizes(), (std::vector<int64_t>{6, 9, 8}));
  expectSameResults(attentionGraph(p), 0.0);
}

// PyTorch's scaled_dot_product_attention export: Q and Kt each multiplied by the square root of the scale
// (and here also a Div on the scores): every factor joins the Attention's scale, the Muls its names.
TEST(FuseAttention, ScalesOnQAndKtJoinTheScale) {
  const GraphSpec spec = [](GraphBuilder& b) {
    b.input("q", {2, 3, 7, 8});
    b.input("kt", {2, 3, 8, 7});
    b.input("v", {2, 3, 7, 8});
    b.constant("root", scalarOf(0.5946036f));
    b.constant("two", scalarOf(2.0f));
    b.node("Mul", "q_scale", {"q", "root"}, {"qs"});
    b.node("Mul", "kt_scale", {"root", "kt"}, {"kts"});
    b.node("MatMul", "qk", {"qs", "kts"}, {"scores"});
    b.node("Div", "halve", {"scores", "two"}, {"halved"});
    b.node("Softmax", "softmax", {"halved"}, {"p"}, attrs({{"axis", int64_t{-1}}}));
    b.node("MatMul", "pv", {"p", "v"}, {"y"});
    b.output("y");
  };
  auto g = fused(spec);
  ASSERT_EQ(g->nodes().size(), 1u);
  const ir::Node& n = *g->nodes()[0];
  EXPECT_EQ(n.opType, "Attention");
  EXPECT_EQ(n.absorbedNames, (std::vector<std::string>{"q_scale", "kt_scale", "halve", "softmax", "pv"}));
  EXPECT_EQ(n.inputs[0]->name, "q");
  EXPECT_EQ(n.inputs[1]->name, "kt");
  EXPECT_NEAR(n.attributes.getFloat("scale", 0.0f), 0.5946036f * 0.5946036f / 2.0f, 1e-7);
  // The factors apply to the scores in fp32 instead of to the rounded Q and Kt: rounding differs.
  expectSameResults(spec, 1e-6);
}

TEST(FuseAttention, FourDimensionalWithScaleAndMask) {
  const Pattern p{.batch = {2, 3}, .s = 17, .d = 16, .scaleOp = "Mul", .maskShape = {2, 1, 1, 17}};
  auto g = fused(attentionGraph(p));
  ASSERT_EQ(g->nodes().size(), 1u);
  const ir::Node& n = *g->nodes()[0];
  EXPECT_EQ(n.opType, "Attention");
  EXPECT_EQ(n.name, "qk");
  EXPECT_EQ(n.absorbedNames, (std::vector<std::string>{"scale", "mask_add", "softmax", "pv"}));
  ASSERT_EQ(n.inputs.size(), 4u);
  EXPECT_EQ(n.inputs[3]->name, "mask");
  EXPECT_FLOAT_EQ(n.attributes.getFloat("scale", 0.0f), 0.35355339f);
  expectSameResults(attentionGraph(p), 0.0);
}

TEST(FuseAttention, DivScaleAndFullMask) {
  const Pattern p{.batch = {2, 2}, .s = 12, .d = 8, .scaleOp = "Div", .maskShape = {12, 12}};
  auto g = fused(attentionGraph(p));
  const ir::Node* n = attentionNode(*g);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(g->nodes().size(), 1u);
  EXPECT_FLOAT_EQ(n->attributes.getFloat("scale", 0.0f), 1.0f / 2.8284271f);
  // scale * x differs from x / c by rounding only.
  expectSameResults(attentionGraph(p), 1e-6);
  // A mask only: no scale.
  const Pattern maskOnly{.batch = {3}, .s = 5, .d = 4, .maskShape = {3, 5, 5}};
  EXPECT_EQ(fused(attentionGraph(maskOnly))->nodes().size(), 1u);
  expectSameResults(attentionGraph(maskOnly), 0.0);
}

TEST(FuseAttention, OldOpsetSoftmaxOnlyWhereItIsTheLastAxis) {
  // Opset 11 flattens at axis: axis = rank - 1 is the last-axis softmax, axis 1 of a rank-3 tensor is not.
  Pattern p{.batch = {4}, .s = 6, .d = 4, .softmaxOpset = 11, .softmaxAxis = 2};
  EXPECT_NE(attentionNode(*fused(attentionGraph(p))), nullptr);
  expectSameResults(attentionGraph(p), 0.0);
  p.softmaxAxis = 1;
  EXPECT_EQ(attentionNode(*fused(attentionGraph(p))), nullptr);
  // Opset 13 along another axis.
  Pattern other{.batch = {4}, .s = 6, .d = 4, .softmaxAxis = 1};
  EXPECT_EQ(attentionNode(*fused(attentionGraph(other))), nullptr);
}

TEST(FuseAttention, KeepsIntermediatesOthersRead) {
  const Pattern p{.batch = {2}, .s = 5, .d = 4, .scaleOp = "Mul", .maskShape = {5, 5}};
  for (const char* intermediate : {"scores", "scaled", "masked", "p"}) {
    SCOPED_TRACE(intermediate);
    const GraphSpec secondReader = [&](GraphBuilder& b) {
      attentionGraph(p)(b);
      b.node("Relu", "other", {intermediate}, {"o"});
      b.output("o");
    };
    auto g = fused(secondReader);
    EXPECT_EQ(attentionNode(*g), nullptr);
    EXPECT_EQ(g->nodes().size(), 6u);
    const GraphSpec graphOutput = [&](GraphBuilder& b) {
      attentionGraph(p)(b);
      b.output(intermediate);
    };
    EXPECT_EQ(attentionNode(*fused(graphOutput)), nullptr);
  }
}

TEST(FuseAttention, DeclinesWhatTheOpCannotHold) {
  // A scale that is not a constant, a scale tensor that broadcasts the scores bigger, c / scores, broadcast
  // batch dims between Q and Kt.
  const GraphSpec variableScale = [](GraphBuilder& b) {
    b.input("q", {2, 5, 4});
    b.input("kt", {2, 4, 5});
    b.input("v", {2, 5, 4});
    b.input("c", {});
    b.node("MatMul", "qk", {"q", "kt"}, {"s"});
    b.node("Mul", "scale", {"s", "c"}, {"t"});
    b.node("Softmax", "softmax", {"t"}, {"p"});
    b.node("MatMul", "pv", {"p", "v"}, {"y"});
    b.output("y");
  };
  EXPECT_EQ(attentionNode(*fused(variableScale)), nullptr);
  const GraphSpec reciprocal = [](GraphBuilder& b) {
    b.input("q", {2, 5, 4});
    b.input("kt", {2, 4, 5});
    b.input("v", {2, 5, 4});
    b.constant("c", scalarOf(2.0f));
    b.node("MatMul", "qk", {"q", "kt"}, {"s"});
    b.node("Div", "scale", {"c", "s"}, {"t"});
    b.node("Softmax", "softmax", {"t"}, {"p"});
    b.node("MatMul", "pv", {"p", "v"}, {"y"});
    b.output("y");
  };
  EXPECT_EQ(attentionNode(*fused(reciprocal)), nullptr);
  const GraphSpec broadcastBatch = [](GraphBuilder& b) {
    b.input("q", {2, 5, 4});
    b.input("kt", {1, 4, 5});
    b.input("v", {2, 5, 4});
    b.node("MatMul", "qk", {"q", "kt"}, {"s"});
    b.node("Softmax", "softmax", {"s"}, {"p"});
    b.node("MatMul", "pv", {"p", "v"}, {"y"});
    b.output("y");
  };
  EXPECT_EQ(attentionNode(*fused(broadcastBatch)), nullptr);
  const GraphSpec growingScale = [](GraphBuilder& b) {
    b.input("q", {5, 4});
    b.input("kt", {4, 5});
    b.input("v", {5, 4});
    b.constant("c", makeTensor(DataType::kFloat32, {1, 1, 1}, {0.5}));
    b.node("MatMul", "qk", {"q", "kt"}, {"s"});
    b.node("Mul", "scale", {"s", "c"}, {"t"});
    b.node("Softmax", "softmax", {"t"}, {"p"});
    b.node("MatMul", "pv", {"p", "v"}, {"y"});
    b.output("y");
  };
  EXPECT_EQ(attentionNode(*fused(growingScale)), nullptr);
}

// Passes run before the build fixes the input shapes: dims the graph leaves unknown count as equal, except an
// unknown beside a known 1 (maybe a broadcast of K across the query heads).
TEST(FuseAttention, UnknownDims) {
  const auto spec = [](int64_t ktBatch) {
    return [ktBatch](GraphBuilder& b) {
      b.input("q", {-1, -1, 8});
      b.input("kt", {ktBatch, 8, -1});
      b.input("v", {-1, -1, 8});
      b.input("mask", {-1, 1, -1});
      b.node("MatMul", "qk", {"q", "kt"}, {"s"});
      b.node("Add", "mask_add", {"s", "mask"}, {"t"});
      b.node("Softmax", "softmax", {"t"}, {"p"});
      b.node("MatMul", "pv", {"p", "v"}, {"y"});
      b.output("y");
    };
  };
  const ir::Node* n = attentionNode(*fused(spec(-1)));
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->inputs.size(), 4u);
  EXPECT_EQ(attentionNode(*fused(spec(1))), nullptr);
}

// A precision constraint on a layer the fusion absorbed (the Softmax) reaches the Attention layer, which
// then runs in that precision (OBEY), and the layer answers to every name of the pattern.
TEST(FuseAttention, ConstraintsOnAbsorbedLayersReachTheFusedLayer) {
  NetworkDefinition net;
  ASSERT_TRUE(net.addInput("q", DataType::kFloat32, {8, 32, 16}).isOk());
  ASSERT_TRUE(net.addInput("kt", DataType::kFloat32, {8, 16, 32}).isOk());
  ASSERT_TRUE(net.addInput("v", DataType::kFloat32, {8, 32, 16}).isOk());
  ASSERT_TRUE(net.addConstant("c", scalarOf(0.25f)).isOk());
  ASSERT_TRUE(net.addLayer("MatMul", "qk", {"q", "kt"}, {"s"}).isOk());
  ASSERT_TRUE(net.addLayer("Mul", "scale", {"s", "c"}, {"t"}).isOk());
  ASSERT_TRUE(net.addLayer("Softmax", "softmax", {"t"}, {"p"}).isOk());
  ASSERT_TRUE(net.addLayer("MatMul", "pv", {"p", "v"}, {"y"}).isOk());
  ASSERT_TRUE(net.markOutput("y").isOk());
  net.findLayer("softmax")->setPrecision(DataType::kBFloat16);
  // An output type on the softmax names a tensor the fused layer does not write: a warning, not silence.
  ASSERT_TRUE(net.findLayer("softmax")->setOutputType(0, DataType::kFloat32).isOk());
  BuilderConfig config;
  config.setFlag(BuilderFlag::kBF16);
  config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  class Recording final : public Logger {
   public:
    void log(Severity severity, std::string_view message) override {
      if (severity == Severity::kWarning) warnings.emplace_back(message);
    }
    std::vector<std::string> warnings;
  } logger;
  auto engine = Builder(logger).build(net, config);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  const LayerInfo* attention = nullptr;
  for (const LayerInfo& l : (*engine)->layers()) {
    if (l.opType == "lowp.Attention" || l.opType == "Attention") attention = &l;
  }
  ASSERT_NE(attention, nullptr);
  EXPECT_EQ(attention->name, "qk");
  EXPECT_EQ(attention->absorbedNames, (std::vector<std::string>{"scale", "softmax", "pv"}));
  EXPECT_EQ(attention->requestedPrecision, DataType::kBFloat16);
  EXPECT_EQ(attention->precision, DataType::kBFloat16);
  bool warned = false;
  for (const std::string& w : logger.warnings)
    warned = warned || w.find("absorbed 'softmax'") != std::string::npos;
  EXPECT_TRUE(warned);
}

// ---- CPU kernels against the reference -------------------------------------------------------------------

struct Isa {
  const char* name;
  kernels::CpuFeature feature;
};
const Isa kIsas[] = {{"avx512", kernels::CpuFeature::kAvx512}, {"avx2", kernels::CpuFeature::kAvx2}};

struct KernelShape {
  std::vector<int64_t> batch;
  int64_t sq, d, sk, dv;
  std::vector<int64_t> mask;  ///< empty: none
};

TEST(CpuAttention, MatchesTheReference) {
  const std::vector<KernelShape> shapes = {
      {{8}, 128, 32, 128, 32, {}},                 // the encoder's heads
      {{2, 8}, 128, 32, 128, 32, {2, 1, 1, 128}},  // a key padding mask
      {{3}, 7, 5, 9, 3, {}},                       // nothing a multiple of a vector
      {{2, 3}, 70, 64, 33, 40, {2, 3, 70, 33}},    // a full mask, two row blocks
      {{1}, 1, 1, 1, 1, {}},                       // one of everything
      {{2}, 5, 16, 17, 130, {5, 17}},              // wide V, mask over the rows only
      {{4}, 66, 128, 512, 128, {1, 66, 1}},        // a mask that broadcasts its last dim (reference path)
      {{}, 9, 24, 48, 16, {48}},                   // rank 2, a mask over the keys only
  };
  const std::pair<DataType, double> types[] = {
      {DataType::kFloat32, 2e-6}, {DataType::kBFloat16, 1e-2}, {DataType::kFloat16, 2e-3}};
  std::mt19937 rng(41);
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (const auto& [type, tolerance] : types) {
      const std::string name = std::string(type == DataType::kFloat32    ? "f32"
                                           : type == DataType::kBFloat16 ? "bf16"
                                                                         : "f16") +
                               "-attention-" + isa.name;
      const kernels::KernelDef* k = kernelNamed(name);
      ASSERT_NE(k, nullptr) << name;
      const kernels::KernelDef* ref = referenceKernel("Attention", "lowp");
      ASSERT_NE(ref, nullptr);
      for (const KernelShape& s : shapes) {
        auto dims = [&](int64_t x, int64_t y) {
          std::vector<int64_t> v = s.batch;
          v.push_back(x);
          v.push_back(y);
          return v;
        };
        SCOPED_TRACE(name + " Sq " + std::to_string(s.sq) + " D " + std::to_string(s.d) + " Sk " +
                     std::to_string(s.sk) + " Dv " + std::to_string(s.dv) + " mask " +
                     ir::formatSizes(s.mask));
        std::vector<Tensor> in = {randomFloats(rng, type, dims(s.sq, s.d), -2.0, 2.0),
                                  randomFloats(rng, type, dims(s.d, s.sk), -2.0, 2.0),
                                  randomFloats(rng, type, dims(s.sk, s.dv))};
        if (!s.mask.empty()) in.push_back(randomFloats(rng, type, s.mask, -4.0, 0.0));
        // Plain, with scores capped (softcap: tanh before the mask), and causal.
        for (const auto& [softcap, causal] :
             {std::pair{0.0f, int64_t{0}}, std::pair{1.5f, int64_t{0}}, std::pair{0.0f, int64_t{1}}}) {
          SCOPED_TRACE("softcap " + std::to_string(softcap) + (causal != 0 ? ", causal" : ""));
          NodeUnderTest n("Attention", "lowp", 1,
                          attrs({{"scale", 0.25f},
                                 {std::string(ir::ops::kAttentionSoftcap), softcap},
                                 {std::string(ir::ops::kAttentionCausal), causal}}),
                          in, {});
          ASSERT_TRUE(n.status().isOk()) << n.status().toString();
          auto want = runKernel(*ref, n.node(), in, n.outputType(), n.outputShape());
          auto got = runKernel(*k, n.node(), in, n.outputType(), n.outputShape());
          ASSERT_TRUE(want.isOk()) << want.status().toString();
          ASSERT_TRUE(got.isOk()) << got.status().toString();
          EXPECT_LE(relativeL2(*want, *got), tolerance);
        }
      }
    }
  }
}

// Grouped key/value heads read through Unsqueeze and Expand views (stride 0 along the group, as
// lower_attention makes them): the reference and CPU kernels, which gather each key/value head once, equal
// the reference on K and V repeated densely.
TEST(CpuAttention, GroupedHeadViewsEqualRepeatedHeads) {
  std::mt19937 rng(46);
  const int64_t b = 2, kvHeads = 2, group = 3, sq = 9, sk = 21, d = 16;
  const ir::AttributeMap grouped = groupedHeadAttributes(0.25f, 4);
  const Tensor q = randomFloats(rng, DataType::kFloat32, {b, kvHeads, group, sq, d}, -2.0, 2.0);
  const Tensor k = randomFloats(rng, DataType::kFloat32, {b, kvHeads, sk, d}, -2.0, 2.0);
  const Tensor v = randomFloats(rng, DataType::kFloat32, {b, kvHeads, sk, d});
  // K transposed and K, V repeated for every query head of a group, as dense tensors.
  Tensor kt(DataType::kFloat32, {b, kvHeads, group, d, sk});
  Tensor vs(DataType::kFloat32, {b, kvHeads, group, sk, d});
  for (int64_t h = 0; h < b * kvHeads; ++h) {
    for (int64_t g = 0; g < group; ++g) {
      for (int64_t j = 0; j < sk; ++j) {
        for (int64_t e = 0; e < d; ++e) {
          const int64_t from = (h * sk + j) * d + e;
          kt.data<float>()[((h * group + g) * d + e) * sk + j] = k.data<float>()[from];
          vs.data<float>()[((h * group + g) * sk + j) * d + e] = v.data<float>()[from];
        }
      }
    }
  }
  const std::vector<Tensor> dense = {q, kt, vs};
  NodeUnderTest repeated("Attention", "lowp", 1, attrs({{"scale", 0.25f}}), dense, {});
  ASSERT_TRUE(repeated.status().isOk()) << repeated.status().toString();
  const kernels::KernelDef* ref = referenceKernel("Attention", "lowp");
  ASSERT_NE(ref, nullptr);
  auto want = runKernel(*ref, repeated.node(), dense, repeated.outputType(), repeated.outputShape());
  ASSERT_TRUE(want.isOk()) << want.status().toString();
  const std::vector<Tensor> viewed = {q, k, v, Tensor(),
                                      makeTensor(DataType::kInt64, {5}, {1, 1, group, 1, 1})};
  NodeUnderTest n("Attention", "lowp", 1, grouped, viewed, {4});
  ASSERT_TRUE(n.status().isOk()) << n.status().toString();
  ASSERT_EQ(n.outputShape(), repeated.outputShape());
  std::vector<const kernels::KernelDef*> kernels = {ref};
  for (const Isa& isa : kIsas) {
    if (runtime::cpuSupports(isa.feature))
      kernels.push_back(kernelNamed(std::string("f32-attention-") + isa.name));
  }
  for (const kernels::KernelDef* kernel : kernels) {
    ASSERT_NE(kernel, nullptr);
    SCOPED_TRACE(std::string(kernel->name));
    auto got = runKernel(*kernel, n.node(), viewed, n.outputType(), n.outputShape());
    ASSERT_TRUE(got.isOk()) << got.status().toString();
    EXPECT_LE(relativeL2(*want, *got), 2e-6);
  }
}

// The reference kernel in every type it takes agrees with its fp32 form on the same values: fp64 closer,
// fp16 and bf16 (widened exactly, computed in fp32, rounded once) within their output rounding.
TEST(CpuAttention, ReferenceInEveryType) {
  std::mt19937 rng(45);
  const kernels::KernelDef* ref = referenceKernel("Attention", "lowp");
  ASSERT_NE(ref, nullptr);
  const std::vector<std::vector<int64_t>> shapes = {{2, 3, 6, 5}, {2, 3, 5, 7}, {2, 3, 7, 4}, {1, 3, 1, 7}};
  std::vector<Tensor> base;
  base.reserve(shapes.size());
  for (const auto& shape : shapes) base.push_back(randomFloats(rng, DataType::kFloat32, shape, -2.0, 2.0));
  auto run = [&](DataType type) {
    std::vector<Tensor> in;
    in.reserve(base.size());
    for (const Tensor& t : base) in.push_back(makeTensor(type, t.shape(), values(t)));
    NodeUnderTest n("Attention", "lowp", 1, attrs({{"scale", 0.5f}}), in, {});
    EXPECT_TRUE(n.status().isOk()) << n.status().toString();
    auto y = runKernel(*ref, n.node(), in, n.outputType(), n.outputShape());
    EXPECT_TRUE(y.isOk()) << y.status().toString();
    EXPECT_EQ(y->type(), type);
    return *y;
  };
  const Tensor f32 = run(DataType::kFloat32);
  // fp16 and bf16 inputs are rounded first, so they differ from the fp32 run by the inputs' rounding too.
  EXPECT_LE(relativeL2(run(DataType::kFloat64), f32), 1e-6);
  EXPECT_LE(relativeL2(run(DataType::kFloat16), f32), 5e-3);
  EXPECT_LE(relativeL2(run(DataType::kBFloat16), f32), 3e-2);
}

// A row masked to -inf everywhere gives NaN, as the unfused Softmax does, or zeros with zero_masked_rows
// (ONNX's Attention lowered); -inf in part of a row gives 0 there.
TEST(CpuAttention, InfiniteMasks) {
  std::mt19937 rng(43);
  const kernels::KernelDef* ref = referenceKernel("Attention", "lowp");
  ASSERT_NE(ref, nullptr);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> maskValues(4 * 20, 0.0);
  for (int64_t j = 0; j < 20; ++j) maskValues[static_cast<size_t>(j)] = -inf;          // row 0: all masked
  for (int64_t j = 0; j < 20; j += 2) maskValues[static_cast<size_t>(20 + j)] = -inf;  // row 1: half
  const std::vector<Tensor> in = {
      randomFloats(rng, DataType::kFloat32, {1, 4, 8}), randomFloats(rng, DataType::kFloat32, {1, 8, 20}),
      randomFloats(rng, DataType::kFloat32, {1, 20, 8}), makeTensor(DataType::kFloat32, {4, 20}, maskValues)};
  for (const bool zeroes : {false, true}) {
    SCOPED_TRACE(zeroes ? "zero_masked_rows" : "NaN for masked rows");
    NodeUnderTest n(
        "Attention", "lowp", 1,
        zeroes ? attrs({{std::string(ir::ops::kAttentionZeroMaskedRows), int64_t{1}}}) : ir::AttributeMap{},
        in, {});
    ASSERT_TRUE(n.status().isOk()) << n.status().toString();
    auto want = runKernel(*ref, n.node(), in, n.outputType(), n.outputShape());
    ASSERT_TRUE(want.isOk());
    for (int64_t e = 0; e < 8; ++e) {
      if (zeroes) {
        EXPECT_EQ(want->data<float>()[e], 0.0f) << "reference element " << e;
      } else {
        EXPECT_TRUE(std::isnan(want->data<float>()[e])) << "reference element " << e;
      }
    }
    for (const Isa& isa : kIsas) {
      if (!runtime::cpuSupports(isa.feature)) continue;
      const kernels::KernelDef* k = kernelNamed(std::string("f32-attention-") + isa.name);
      ASSERT_NE(k, nullptr);
      auto got = runKernel(*k, n.node(), in, n.outputType(), n.outputShape());
      ASSERT_TRUE(got.isOk()) << got.status().toString();
      for (int64_t e = 0; e < 4 * 8; ++e) {
        const float w = want->data<float>()[e];
        const float g = got->data<float>()[e];
        if (e < 8 && !zeroes) {
          EXPECT_TRUE(std::isnan(g)) << isa.name << " element " << e;
        } else {
          EXPECT_NEAR(g, w, 1e-5f * std::max(1.0f, std::abs(w))) << isa.name << " element " << e;
        }
      }
    }
  }
}

// Bad input: a clear error naming the node, never a crash.
TEST(CpuAttention, BadShapesAreErrors) {
  std::mt19937 rng(44);
  auto run = runOp({.opType = "Attention",
                    .inputs = {randomFloats(rng, DataType::kFloat32, {2, 3, 4}),
                               randomFloats(rng, DataType::kFloat32, {2, 5, 6}),
                               randomFloats(rng, DataType::kFloat32, {2, 6, 4})},
                    .opset = 1,
                    .domain = "lowp"});
  ASSERT_FALSE(run.isOk());
  EXPECT_NE(run.status().message().find("Attention"), std::string::npos) << run.status().message();
}

// PyTorch 2's nn.MultiheadAttention export: one packed projection [S, B, 3 * E] split into Q, K and V by
// Reshape, Unsqueeze, Transpose, Squeeze and Gathers, each head-split by Reshape [S, B * H, D], Transpose and
// Reshape [B, H, S, D], the scale computed from Q's shape, Y transposed back. The whole pipeline reads the
// projection in place (fuse_attention_layout) and computes what the unfused graph does. `batchFirst`: the
// projection is made in the graph from a batch-first input [B, S, 8], transposed to [S, B, 8] before its
// MatMul and bias Add (a Shape reads the transposed input too), as batch-first encoders export.
GraphSpec packedProjectionGraph(bool batchFirst = false) {
  return [batchFirst](GraphBuilder& b) {
    constexpr int64_t s = 5, batch = 2, heads = 3, d = 4, e = heads * d, features = 8;
    auto ints = [](std::vector<int64_t> v) {
      std::vector<double> values(v.begin(), v.end());
      return makeTensor(DataType::kInt64, {static_cast<int64_t>(v.size())}, values);
    };
    if (batchFirst) {
      std::mt19937 rng(3);
      b.input("x", {batch, s, features});
      b.node("Transpose", "to_sbe", {"x"}, {"x_sbe"}, attrs({{"perm", std::vector<int64_t>{1, 0, 2}}}));
      b.node("Shape", "x_shape", {"x_sbe"}, {"x_shp"});
      b.constant("w", randomFloats(rng, DataType::kFloat32, {features, 3 * e}, -0.5, 0.5));
      b.constant("bias", randomFloats(rng, DataType::kFloat32, {3 * e}, -0.5, 0.5));
      b.node("MatMul", "projection", {"x_sbe", "w"}, {"product"});
      b.node("Add", "projection_bias", {"product", "bias"}, {"qkv"});
    } else {
      b.input("qkv", {s, batch, 3 * e});
    }
    b.constant("zero", ints({0}));
    b.constant("one", ints({1}));
    b.constant("two", ints({2}));
    b.constant("three", ints({3}));
    b.constant("minus_one", ints({-1}));
    b.constant("big", ints({1 << 30}));
    b.constant("three_e", ints({3, e}));
    b.constant("bh_d", ints({batch * heads, d}));
    b.constant("b_h", ints({batch, heads}));
    b.constant("s_d", ints({s, d}));
    b.constant("axis0", ints({0}));
    b.constant("axis3", ints({3}));
    b.constant("unit", scalarOf(1.0f));
    b.node("Shape", "shape", {"qkv"}, {"shp"});
    b.node("Slice", "sb", {"shp", "zero", "two"}, {"s_b"});
    b.node("Concat", "target1", {"s_b", "three_e"}, {"t1"}, attrs({{"axis", int64_t{0}}}));
    b.node("Reshape", "split3", {"qkv", "t1"}, {"r"});
    b.node("Unsqueeze", "unsqueeze", {"r", "axis0"}, {"u"});
    b.node("Transpose", "move3", {"u"}, {"tr"}, attrs({{"perm", std::vector<int64_t>{3, 1, 2, 0, 4}}}));
    b.node("Squeeze", "squeeze", {"tr", "axis3"}, {"sq"});
    b.node("Slice", "s_only", {"shp", "zero", "one"}, {"s_1"});
    b.node("Concat", "target2", {"s_1", "bh_d"}, {"t2"}, attrs({{"axis", int64_t{0}}}));
    b.node("Concat", "target3", {"b_h", "s_d"}, {"t3"}, attrs({{"axis", int64_t{0}}}));
    const char* names[] = {"q", "k", "v"};
    for (int64_t i = 0; i < 3; ++i) {
      const std::string n = names[i];
      b.constant(n + "_index", makeTensor(DataType::kInt64, {}, {static_cast<double>(i)}));
      b.node("Gather", n + "_gather", {"sq", n + "_index"}, {n + "0"}, attrs({{"axis", int64_t{0}}}));
      b.node("Reshape", n + "_heads", {n + "0", "t2"}, {n + "1"});
      b.node("Transpose", n + "_t", {n + "1"}, {n + "2"}, attrs({{"perm", std::vector<int64_t>{1, 0, 2}}}));
      b.node("Reshape", n + "_4d", {n + "2", "t3"}, {n + "h"});
    }
    b.node("Transpose", "k_transpose", {"kh"}, {"kt"}, attrs({{"perm", std::vector<int64_t>{0, 1, 3, 2}}}));
    // scale = sqrt(1 / sqrt(D)), D from Q's shape, on Q and on Kt.
    b.node("Shape", "q_shape", {"qh"}, {"q_shp"});
    b.node("Slice", "q_last", {"q_shp", "minus_one", "big"}, {"q_d"});
    b.node("Cast", "q_d_float", {"q_d"}, {"q_df"}, attrs({{"to", int64_t{1}}}));
    b.node("Sqrt", "root_d", {"q_df"}, {"root"});
    b.node("Div", "inverse", {"unit", "root"}, {"inv"});
    b.node("Sqrt", "half_scale", {"inv"}, {"factor"});
    b.node("Mul", "q_scale", {"qh", "factor"}, {"qs"});
    b.node("Mul", "kt_scale", {"kt", "factor"}, {"kts"});
    b.node("MatMul", "qk", {"qs", "kts"}, {"scores"});
    b.node("Softmax", "softmax", {"scores"}, {"p"}, attrs({{"axis", int64_t{-1}}}));
    b.node("MatMul", "pv", {"p", "vh"}, {"y4"});
    b.node("Transpose", "y_back", {"y4"}, {"yt"}, attrs({{"perm", std::vector<int64_t>{2, 0, 1, 3}}}));
    b.constant("rows_e", ints({s * batch, e}));
    b.node("Reshape", "y_rows", {"yt", "rows_e"}, {"y"});
    b.output("y");
  };
}

TEST(FuseAttentionLayout, PackedProjectionIsReadInPlace) {
  auto g = build(packedProjectionGraph());
  ASSERT_TRUE(passes::runPipeline(*g).isOk());
  const ir::Node* n = attentionNode(*g);
  ASSERT_NE(n, nullptr);
  for (size_t slot = 0; slot < 3; ++slot) {
    EXPECT_EQ(n->inputs[slot]->name, "qkv") << slot;
    EXPECT_TRUE(n->attributes.has(ir::ops::attentionViewAttribute(slot))) << slot;
  }
  EXPECT_EQ(n->attributes.getInts(ir::ops::kAttentionYPerm), (std::vector<int64_t>{2, 0, 1, 3}));
  // D, read from Q's shape, is static once the views before it fold: the scale is a constant.
  EXPECT_FALSE(n->attributes.has(ir::ops::kAttentionScaleInputs));
  EXPECT_NEAR(n->attributes.getFloat("scale", 0.0f), 0.5f, 1e-6f);
  // The Transpose after it is folded, and so are the view ops and the Shape that read Q before it.
  for (const ir::Node* node : g->nodes()) {
    EXPECT_NE(node->name, "y_back");
    EXPECT_NE(node->opType, "Shape");
  }
  const auto inputs = randomInputs(*build(packedProjectionGraph()), 5);
  // The unfused graph's shapes follow from Shape only while planning: the engine runs it, unfused.
  const std::vector<NamedTensor> want = runGraph(build(packedProjectionGraph()), inputs);
  ASSERT_EQ(want.size(), 1u);
  const std::vector<NamedTensor> engine = runGraph(std::move(g), inputs);
  ASSERT_EQ(engine.size(), 1u);
  ASSERT_EQ(want[0].tensor.shape(), engine[0].tensor.shape());
  // The two square roots multiply the scores instead of Q and Kt: rounding differs.
  EXPECT_LE(relativeL2(want[0].tensor, engine[0].tensor), 1e-6);
}

// The batch-first export's Transpose before the projection moves below it into the views: the product
// reads the input as it is, and the engine computes what the unfused graph does.
TEST(FuseAttentionLayout, TransposeBeforeTheProjectionBecomesAView) {
  auto g = build(packedProjectionGraph(true));
  ASSERT_TRUE(passes::runPipeline(*g).isOk());
  const ir::Node* n = attentionNode(*g);
  ASSERT_NE(n, nullptr);
  const ir::Node* projection = n->inputs[0]->producer;
  ASSERT_NE(projection, nullptr);
  EXPECT_EQ(projection->opType, "FusedMatMul") << projection->describe();
  EXPECT_EQ(projection->inputs[0]->name, "x") << projection->describe();
  for (size_t slot = 0; slot < 3; ++slot) EXPECT_EQ(n->inputs[slot], n->inputs[0]) << slot;
  // The Transpose stays only for the Shape that reads its output (the runtime skips it).
  for (const ir::Node* node : g->nodes()) {
    if (node->name != "to_sbe") continue;
    for (const ir::Node* reader : node->outputs[0]->consumers) EXPECT_EQ(reader->opType, "Shape");
  }
  const auto inputs = randomInputs(*build(packedProjectionGraph(true)), 6);
  const std::vector<NamedTensor> want = runGraph(build(packedProjectionGraph(true)), inputs);
  ASSERT_EQ(want.size(), 1u);
  const std::vector<NamedTensor> engine = runGraph(std::move(g), inputs);
  ASSERT_EQ(engine.size(), 1u);
  ASSERT_EQ(want[0].tensor.shape(), engine[0].tensor.shape());
  EXPECT_LE(relativeL2(want[0].tensor, engine[0].tensor), 1e-5);
}

TEST(FuseAttentionLayout, ViewsKeepDimsThatDoNotMerge) {
  // Q of a packed projection [S, B, 3 * E] = [5, 2, 36] read as [B * H, S, D] and then [B, H, S, D]: B and H
  // stay two modes of one dim (their strides do not merge), and the last Reshape splits them again.
  static const Tensor targets[] = {
      makeTensor(DataType::kInt64, {4}, {5, 2, 3, 12}), makeTensor(DataType::kInt64, {3}, {5, 6, 4}),
      makeTensor(DataType::kInt64, {4}, {2, 3, 5, 4}), makeTensor(DataType::kInt64, {2}, {6, 4})};
  const ir::ops::KnownInput known = [](int64_t i) -> const Tensor* {
    return i >= 0 && i < 4 ? &targets[i] : nullptr;
  };
  using ir::ops::ViewStepKind;
  std::vector<int64_t> program;
  ir::ops::appendViewStep(program, ViewStepKind::kReshape, {0, 0});
  ir::ops::appendViewStep(program, ViewStepKind::kGather, {2, 0});
  ir::ops::appendViewStep(program, ViewStepKind::kReshape, {1, 0});
  ir::ops::appendViewStep(program, ViewStepKind::kTranspose, {1, 0, 2});
  ir::ops::appendViewStep(program, ViewStepKind::kReshape, {2, 0});
  auto q = ir::ops::applyViewSteps({5, 2, 36}, program, known);
  ASSERT_TRUE(q.isOk()) << q.status().toString();
  EXPECT_EQ(q->sizes(), (std::vector<int64_t>{2, 3, 5, 4}));
  EXPECT_EQ(q->offset, 0);
  // Q[b, h, s, d] = qkv[s, b, h * 4 + d]: b at 36, h at 4, s at 72, d at 1.
  const int64_t want[] = {36, 4, 72, 1};
  for (size_t d = 0; d < 4; ++d) {
    ASSERT_TRUE(q->single(d).has_value()) << d;
    EXPECT_EQ(q->single(d)->stride, want[d]) << d;
  }
  // A Reshape that cuts a strided dim at a size that does not divide it has no view.
  std::vector<int64_t> cut;
  ir::ops::appendViewStep(cut, ViewStepKind::kTranspose, {1, 0});
  ir::ops::appendViewStep(cut, ViewStepKind::kReshape, {3, 0});
  const auto bad = ir::ops::applyViewSteps({6, 4}, cut, known);
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("no view"), std::string::npos) << bad.status().message();
  // A malformed program or an unknown target is an error, not a crash.
  const std::vector<int64_t> truncated = {1, 3, 0};
  EXPECT_FALSE(ir::ops::applyViewSteps({6, 4}, truncated, known).isOk());
  std::vector<int64_t> unknown;
  ir::ops::appendViewStep(unknown, ViewStepKind::kReshape, {9, 0});
  EXPECT_FALSE(ir::ops::applyViewSteps({6, 4}, unknown, known).isOk());
}

TEST(FuseAttentionLayout, ExpandRepeatsADimWithoutCopying) {
  // Keys [B, Hkv, T, D] = [2, 3, 5, 4] unsqueezed to [2, 3, 1, 5, 4] and expanded by [1, 1, 4, 1, 1]: the
  // new dim of 4 (the query heads of a group) reads the same key/value head, stride 0.
  static const Tensor targets[] = {makeTensor(DataType::kInt64, {5}, {1, 1, 4, 1, 1}),
                                   makeTensor(DataType::kInt64, {2}, {2, 1}),
                                   makeTensor(DataType::kInt64, {3}, {7, 1, 4})};
  const ir::ops::KnownInput known = [](int64_t i) -> const Tensor* {
    return i >= 0 && i < 3 ? &targets[i] : nullptr;
  };
  using ir::ops::ViewStepKind;
  std::vector<int64_t> program;
  ir::ops::appendViewStep(program, ViewStepKind::kUnsqueeze, {2});
  ir::ops::appendViewStep(program, ViewStepKind::kExpand, {0});
  auto kt = ir::ops::applyViewSteps({2, 3, 5, 4}, program, known);
  ASSERT_TRUE(kt.isOk()) << kt.status().toString();
  EXPECT_EQ(kt->sizes(), (std::vector<int64_t>{2, 3, 4, 5, 4}));
  const int64_t want[] = {60, 20, 0, 4, 1};
  for (size_t d = 0; d < 5; ++d) {
    ASSERT_TRUE(kt->single(d).has_value()) << d;
    EXPECT_EQ(kt->single(d)->stride, want[d]) << d;
  }
  // A target of lower rank aligns from the right and leaves the other dims; one of higher rank adds dims
  // in front, which repeat too.
  std::vector<int64_t> lower;
  ir::ops::appendViewStep(lower, ViewStepKind::kExpand, {1});
  auto same = ir::ops::applyViewSteps({3, 2, 1}, lower, known);
  ASSERT_TRUE(same.isOk()) << same.status().toString();
  EXPECT_EQ(same->sizes(), (std::vector<int64_t>{3, 2, 1}));
  std::vector<int64_t> higher;
  ir::ops::appendViewStep(higher, ViewStepKind::kExpand, {2});
  auto front = ir::ops::applyViewSteps({1, 4}, higher, known);
  ASSERT_TRUE(front.isOk()) << front.status().toString();
  EXPECT_EQ(front->sizes(), (std::vector<int64_t>{7, 1, 4}));
  EXPECT_EQ(front->single(0)->stride, 0);
  EXPECT_EQ(front->single(2)->stride, 1);
  // A dim that is neither 1 nor the target's does not broadcast: an error naming both shapes.
  auto bad = ir::ops::applyViewSteps({3, 2}, lower, known);
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("does not broadcast"), std::string::npos) << bad.status().message();
}
/// `graph` (default-domain nodes only) as a NetworkDefinition, for the builder.
std::unique_ptr<NetworkDefinition> networkOf(const ir::Graph& graph) {
  auto net = std::make_unique<NetworkDefinition>();
  for (const ir::Value* v : graph.inputs())
    EXPECT_TRUE(net->addInput(v->name, v->type, v->shape.sizes()).isOk());
  for (const auto& v : graph.values()) {
    if (v->constant) {
      EXPECT_TRUE(net->addConstant(v->name, *v->constant).isOk());
    }
  }
  for (const ir::Node* n : graph.nodes()) {
    std::vector<std::string> ins;
    std::vector<std::string> outs;
    for (const ir::Value* v : n->inputs) ins.push_back(v != nullptr ? v->name : "");
    for (const ir::Value* v : n->outputs) outs.push_back(v != nullptr ? v->name : "");
    std::vector<LayerAttribute> attributes;
    for (const auto& entry : n->attributes.all()) {
      const std::string& name = entry.first;
      std::visit(
          [&](const auto& x) {
            if constexpr (!std::is_same_v<std::decay_t<decltype(x)>, ir::SubgraphAttr>)
              attributes.push_back({name, x});
          },
          entry.second);
    }
    auto layer = net->addLayer(n->opType, n->name, ins, outs, attributes);
    EXPECT_TRUE(layer.isOk()) << layer.status().toString();
  }
  for (const ir::Value* v : graph.outputs()) EXPECT_TRUE(net->markOutput(v->name).isOk());
  return net;
}

class QuietLogger final : public Logger {
 public:
  void log(Severity /*severity*/, std::string_view /*message*/) override {}
};

// The builder times the fused layer in bf16 with its real inputs: the Reshape targets and the scale computed
// from shapes, converted as the engine will convert them (an OBEY constraint fails the build otherwise).
TEST(FuseAttentionLayout, BuildsInBf16WithTheValuesItReads) {
  auto graph = build(packedProjectionGraph());
  auto net = networkOf(*graph);
  net->findLayer("qk")->setPrecision(DataType::kBFloat16);
  BuilderConfig config;
  config.setFlag(BuilderFlag::kBF16);
  config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  QuietLogger logger;
  auto engine = Builder(logger).build(*net, config);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  const auto inputs = randomInputs(*graph, 7);
  const std::vector<NamedTensor> want = runGraph(build(packedProjectionGraph()), inputs);
  auto context = (*engine)->createExecutionContext();
  std::vector<NamedTensor> got;
  ASSERT_TRUE(context->execute(inputs, got).isOk());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LE(relativeL2(want[0].tensor, got[0].tensor), 2e-2);
}

}  // namespace
}  // namespace lowp::testing
