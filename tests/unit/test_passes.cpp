// Graph rewrite rules (src/passes/): for every rule, a small hand-built graph where it applies and one where
// its condition fails. Each test checks the graph after the rule and that an engine built from it computes
// what an engine built from the same graph without the rule computes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "graph_builder.h"
#include "ir/graph.h"
#include "onnx/importer.h"
#include "op_runner.h"
#include "passes/pipeline.h"
#include "passes/rules.h"
#include "runtime/engine_impl.h"

namespace lowp {
namespace {

using testing::makeTensor;

using testing::GraphBuilder;

using GraphSpec = std::function<void(GraphBuilder&)>;

std::unique_ptr<ir::Graph> build(const GraphSpec& spec) {
  GraphBuilder b;
  spec(b);
  return b.finish();
}

Tensor randomTensor(DataType type, std::vector<int64_t> shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = dist(rng);
  return makeTensor(type, std::move(shape), v);
}

using lowp::testing::attrs;

// Random values for every graph input.
std::vector<NamedTensor> randomInputs(const ir::Graph& graph) {
  std::vector<NamedTensor> inputs;
  unsigned seed = 11;
  for (const ir::Value* v : graph.inputs())
    inputs.push_back({v->name, randomTensor(v->type, v->shape.sizes(), seed++)});
  return inputs;
}

using testing::runGraph;

// Applies one rule the way the pipeline does (the rule, then sort and inference).
int64_t applyAndInfer(ir::Graph& graph, const passes::RewriteRule& rule) {
  auto applied = passes::applyRule(graph, rule);
  EXPECT_TRUE(applied.isOk()) << applied.status().toString();
  EXPECT_TRUE(graph.sortTopologically().isOk());
  Status s = onnx::inferGraph(graph);
  EXPECT_TRUE(s.isOk()) << s.toString();
  return applied ? *applied : -1;
}

// Runs `rewritten` and a fresh, unrewritten build of `spec` on the same random inputs; expects the same
// outputs, names and shapes up to float rounding.
void expectSameOutputs(const GraphSpec& spec, std::unique_ptr<ir::Graph> rewritten, double tolerance = 1e-5) {
  auto original = build(spec);
  std::vector<NamedTensor> inputs = randomInputs(*original);
  std::vector<NamedTensor> want = runGraph(std::move(original), inputs);
  std::vector<NamedTensor> got = runGraph(std::move(rewritten), inputs);
  ASSERT_EQ(want.size(), got.size());
  for (size_t o = 0; o < want.size(); ++o) {
    EXPECT_EQ(want[o].name, got[o].name);
    ASSERT_EQ(want[o].tensor.type(), got[o].tensor.type());
    ASSERT_EQ(want[o].tensor.shape(), got[o].tensor.shape()) << want[o].name;
    for (int64_t i = 0; i < want[o].tensor.elementCount(); ++i) {
      double w = testing::elementAsDouble(want[o].tensor, i);
      double g = testing::elementAsDouble(got[o].tensor, i);
      EXPECT_NEAR(g, w, tolerance * (1.0 + std::fabs(w))) << want[o].name << " element " << i;
    }
  }
}

std::vector<std::string> opTypes(const ir::Graph& graph) {
  std::vector<std::string> ops;
  for (const ir::Node* n : graph.nodes()) ops.push_back(n->opType);
  return ops;
}

using Ops = std::vector<std::string>;

// ---- remove_identity ----

TEST(RemoveIdentity, BypassesIdentityAndInferenceDropout) {
  GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {2, 3});
    b.constant("ratio", makeTensor(DataType::kFloat32, {}, {0.3}));
    b.constant("training", makeTensor(DataType::kBool, {}, {0}));
    b.node("Relu", "relu", {"x"}, {"r"});
    b.node("Identity", "id", {"r"}, {"i"});
    b.node("Dropout", "drop", {"i", "ratio", "training"}, {"d", "mask"});
    b.node("Neg", "neg", {"d"}, {"y"});
    b.output("y");
  };
  auto g = build(spec);
  EXPECT_EQ(applyAndInfer(*g, passes::removeIdentityRule()), 2);
  EXPECT_EQ(opTypes(*g), (Ops{"Relu", "Neg"}));
  EXPECT_EQ(g->nodes()[1]->inputs[0]->name, "r");
  expectSameOutputs(spec, std::move(g));
}

TEST(RemoveIdentity, BypassesCastsToTheTypeTheInputHasAndKeepsOthers) {
  GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {2, 3});
    b.node("Relu", "relu", {"x"}, {"r"});
    b.node("Cast", "same", {"r"}, {"c"}, attrs({{"to", int64_t{1}}}));  // float to float
    b.node("CastLike", "like", {"c", "x"}, {"l"});
    b.node("Cast", "narrow", {"l"}, {"h"}, attrs({{"to", int64_t{10}}}));  // float to float16
    b.node("Cast", "back", {"h"}, {"y"}, attrs({{"to", int64_t{1}}}));
    b.output("y");
  };
  auto g = build(spec);
  EXPECT_EQ(applyAndInfer(*g, passes::removeIdentityRule()), 2);
  EXPECT_EQ(opTypes(*g), (Ops{"Relu", "Cast", "Cast"}));
  EXPECT_EQ(g->nodes()[1]->inputs[0]->name, "r");
  expectSameOutputs(spec, std::move(g));
}

TEST(RemoveIdentity, KeepsTheGraphOutputNameWhenTheOutputIsAnIdentity) {
  GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {4});
    b.node("Relu", "relu", {"x"}, {"r"});
    b.node("Neg", "neg", {"r"}, {"n"});
    b.node("Identity", "id", {"r"}, {"y"});
    b.output("y");
    b.output("n");
  };
  auto g = build(spec);
  EXPECT_EQ(applyAndInfer(*g, passes::removeIdentityRule()), 1);
  EXPECT_EQ(opTypes(*g), (Ops{"Relu", "Neg"}));
  ASSERT_EQ(g->outputs().size(), 2u);
  EXPECT_EQ(g->outputs()[0]->name, "y");
  EXPECT_EQ(g->outputs()[0]->producer, g->nodes()[0]);
  EXPECT_EQ(g->nodes()[1]->inputs[0]->name, "y");  // Neg now reads the renamed output
  expectSameOutputs(spec, std::move(g));
}

// Training or not, a ratio of 0 drops nothing.
TEST(RemoveIdentity, BypassesADropoutWhoseRatioIsZero) {
  GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {4});
    b.input("training", {}, DataType::kBool);
    b.constant("ratio", makeTensor(DataType::kFloat32, {}, {0.0}));
    b.node("Relu", "relu", {"x"}, {"r"});
    b.node("Dropout", "drop", {"r", "ratio", "training"}, {"d"});
    b.node("Neg", "neg", {"d"}, {"y"});
    b.output("y");
  };
  auto g = build(spec);
  EXPECT_EQ(applyAndInfer(*g, passes::removeIdentityRule()), 1);
  EXPECT_EQ(opTypes(*g), (Ops{"Relu", "Neg"}));
}

TEST(RemoveIdentity, KeepsNodesItCannotBypass) {
  GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {4});
    b.input("training", {}, DataType::kBool);
    b.constant("ratio", makeTensor(DataType::kFloat32, {}, {0.5}));
    b.node("Identity", "in_to_out", {"x"}, {"y"});  // graph input straight to graph output
    b.node("Dropout", "mask_used", {"x"}, {"d1", "mask"});
    b.node("Dropout", "training_unknown", {"x", "ratio", "training"}, {"d2"});
    b.output("y");
    b.output("d1");
    b.output("mask");
    b.output("d2");
  };
  auto g = build(spec);
  EXPECT_EQ(applyAndInfer(*g, passes::removeIdentityRule()), 0);
  EXPECT_EQ(g->nodes().size(), 3u);
}

// ---- fold_constants ----

TEST(FoldConstants, FoldsConstantChainsAndShapesOfStaticInputs) {
  GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {3, 2});
    b.constant("w", randomTensor(DataType::kFloat32, {2, 3}, 1));
    b.node("Transpose", "t", {"w"}, {"wt"}, attrs({{"perm", std::vector<int64_t>{1, 0}}}));
    b.node("Neg", "neg", {"wt"}, {"wn"});
    b.node("Add", "add", {"x", "wn"}, {"s"});
    b.node("Shape", "shape", {"x"}, {"xs"});
    b.node("Reshape", "reshape", {"s", "xs"}, {"y"});
    b.output("y");
  };
  auto g = build(spec);
  EXPECT_EQ(applyAndInfer(*g, passes::foldConstantsRule()), 3);
  EXPECT_EQ(opTypes(*g), (Ops{"Add", "Reshape"}));
  const ir::Value* folded = g->nodes()[0]->inputs[1];
  ASSERT_TRUE(folded->constant.has_value());
  EXPECT_EQ(folded->constant->shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(folded->producer, nullptr);
  expectSameOutputs(spec, std::move(g));
}

// A shape computed through ops inference does not follow (Div) shapes x's view only once folded; the Shape
// of that view folds in the pipeline's next round of fold_constants, after inference has run again.
TEST(FoldConstants, ThePipelineFoldsShapesThatEarlierFoldsMadeStatic) {
  GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {4, 6});
    b.input("z", {24});
    b.constant("one", makeTensor(DataType::kInt64, {1}, {1}));
    b.node("Shape", "shape_x", {"x"}, {"xs"});
    b.node("Div", "same_shape", {"xs", "one"}, {"target"});
    b.node("Reshape", "view", {"x", "target"}, {"v"});
    b.node("Shape", "shape_v", {"v"}, {"vs"});
    b.node("Reshape", "z_as_v", {"z", "vs"}, {"zv"});
    b.node("Add", "add", {"v", "zv"}, {"y"});
    b.output("y");
  };
  auto g = build(spec);
  EXPECT_FALSE(g->findValue("v")->shape.isStatic()) << "inference followed the Div: the test shows nothing";
  passes::PipelineReport report;
  ASSERT_TRUE(passes::runPipeline(*g, &report).isOk());
  for (const ir::Node* node : g->nodes()) EXPECT_NE(node->opType, "Shape") << node->name << " was not folded";
  expectSameOutputs(spec, std::move(g));
}

TEST(FoldConstants, KeepsNodesOfVariableInputsAndHugeExpansions) {
  GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {1});
    b.constant("one", makeTensor(DataType::kFloat32, {1}, {1.0}));
    // 4 x 1024 x 1025 fp32 is just over 16 MiB, from a 4-byte constant: left to run time.
    b.constant("big", makeTensor(DataType::kInt64, {3}, {4, 1024, 1025}));
    b.node("Expand", "expand", {"one", "big"}, {"e"});
    b.node("Add", "add", {"x", "e"}, {"y"});
    b.node("Shape", "shape_of_x", {"x"}, {"s"});
    b.output("y");
    b.output("s");
  };
  auto g = build(spec);
  // Shape of x folds ([1] is static); Expand and Add stay.
  EXPECT_EQ(applyAndInfer(*g, passes::foldConstantsRule()), 1);
  EXPECT_EQ(opTypes(*g), (Ops{"Expand", "Add"}));
  EXPECT_TRUE(g->outputs()[1]->constant.has_value());
  expectSameOutputs(spec, std::move(g));
}

// ---- fold_batchnorm ----

// x -> Conv -> BatchNormalization -> Relu -> y, optionally with a Conv bias, groups and a second reader.
GraphSpec convBnSpec(DataType type, bool withBias, int64_t group, bool secondReader,
                     bool constWeights = true) {
  return [=](GraphBuilder& b) {
    const int64_t inChannels = 2 * group;
    const int64_t outChannels = 4;
    b.input("x", {2, inChannels, 5, 5}, type);
    std::vector<int64_t> wShape{outChannels, inChannels / group, 3, 3};
    if (constWeights) {
      b.constant("w", randomTensor(type, wShape, 2));
    } else {
      b.input("w", wShape, type);
    }
    b.constant("b", randomTensor(type, {outChannels}, 3));
    b.constant("scale", randomTensor(type, {outChannels}, 4));
    b.constant("shift", randomTensor(type, {outChannels}, 5));
    b.constant("mean", randomTensor(type, {outChannels}, 6));
    b.constant("var", makeTensor(type, {outChannels}, {0.5, 1.0, 2.0, 0.25}));
    b.node("Conv", "conv", {"x", "w", withBias ? "b" : ""}, {"c"},
           attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}, {"group", group}}));
    b.node("BatchNormalization", "bn", {"c", "scale", "shift", "mean", "var"}, {"n"},
           attrs({{"epsilon", 1e-3f}}));
    b.node("Relu", "relu", {"n"}, {"y"});
    b.output("y");
    if (secondReader) {
      b.node("Neg", "neg", {"c"}, {"z"});
      b.output("z");
    }
  };
}

TEST(FoldBatchNorm, FoldsIntoConvWeightsAndBias) {
  struct Case {
    DataType type;
    bool bias;
    int64_t group;
  };
  for (Case c : {Case{DataType::kFloat32, false, 1}, Case{DataType::kFloat32, true, 2},
                 Case{DataType::kFloat64, true, 1}}) {
    SCOPED_TRACE("bias " + std::to_string(c.bias) + " group " + std::to_string(c.group));
    GraphSpec spec = convBnSpec(c.type, c.bias, c.group, false);
    auto g = build(spec);
    EXPECT_EQ(applyAndInfer(*g, passes::foldBatchNormRule()), 1);
    ASSERT_EQ(opTypes(*g), (Ops{"Conv", "Relu"}));
    const ir::Node* conv = g->nodes()[0];
    EXPECT_EQ(conv->absorbedNames, (std::vector<std::string>{"bn"}));
    EXPECT_EQ(conv->outputs[0]->name, "n");
    EXPECT_EQ(conv->outputs[0]->producer, conv);
    ASSERT_EQ(conv->inputs.size(), 3u);
    ASSERT_TRUE(conv->inputs[1]->constant && conv->inputs[2]->constant);
    EXPECT_EQ(conv->inputs[1]->type, c.type);
    EXPECT_EQ(conv->inputs[2]->shape, ir::Shape({4}));
    // The original weights are unchanged (they could be shared).
    EXPECT_TRUE(g->findValue("w")->consumers.empty());
    expectSameOutputs(spec, std::move(g), c.type == DataType::kFloat64 ? 1e-12 : 1e-5);
  }
}

TEST(FoldBatchNorm, KeepsBatchNormWhenTheConvOutputHasAnotherReaderOrVariableWeights) {
  for (bool secondReader : {true, false}) {
    GraphSpec spec = convBnSpec(DataType::kFloat32, true, 1, secondReader, /*constWeights=*/secondReader);
    auto g = build(spec);
    EXPECT_EQ(applyAndInfer(*g, passes::foldBatchNormRule()), 0);
    Ops ops = opTypes(*g);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "BatchNormalization"), 1);
  }
}

// x -> ConvTranspose (groups 2) or Gemm -> BatchNormalization -> y.
GraphSpec linearBnSpec(const std::string& op, int64_t variant) {
  return [=](GraphBuilder& b) {
    const int64_t channels = 4;
    if (op == "ConvTranspose") {
      b.input("x", {1, 4, 3, 3});
      b.constant("w", randomTensor(DataType::kFloat32, {4, 2, 2, 2}, 2));  // [C, M/group, kh, kw], M = 4
      b.constant("b", randomTensor(DataType::kFloat32, {channels}, 3));
      b.node("ConvTranspose", "producer", {"x", "w", "b"}, {"c"}, attrs({{"group", int64_t{2}}}));
    } else {
      // variant 0: transB=0, C [1, N]; 1: transB=1, C scalar; 2: C [M, N] (per row, does not fold).
      const bool transB = variant == 1;
      b.input("x", {3, 5});
      b.constant("w", randomTensor(
                          DataType::kFloat32,
                          transB ? std::vector<int64_t>{channels, 5} : std::vector<int64_t>{5, channels}, 2));
      std::vector<int64_t> cShape = variant == 0   ? std::vector<int64_t>{1, channels}
                                    : variant == 1 ? std::vector<int64_t>{}
                                                   : std::vector<int64_t>{3, channels};
      b.constant("b", randomTensor(DataType::kFloat32, cShape, 3));
      b.node("Gemm", "producer", {"x", "w", "b"}, {"c"},
             attrs({{"transB", int64_t{transB}}, {"alpha", 0.5f}, {"beta", 2.0f}}));
    }
    b.constant("scale", randomTensor(DataType::kFloat32, {channels}, 4));
    b.constant("shift", randomTensor(DataType::kFloat32, {channels}, 5));
    b.constant("mean", randomTensor(DataType::kFloat32, {channels}, 6));
    b.constant("var", makeTensor(DataType::kFloat32, {channels}, {0.5, 1.0, 2.0, 0.25}));
    b.node("BatchNormalization", "bn", {"c", "scale", "shift", "mean", "var"}, {"y"});
    b.output("y");
  };
}

TEST(FoldBatchNorm, FoldsIntoGroupedConvTransposeAndGemm) {
  for (auto [op, variant] : {std::pair<std::string, int64_t>{"ConvTranspose", 0}, {"Gemm", 0}, {"Gemm", 1}}) {
    SCOPED_TRACE(op + " variant " + std::to_string(variant));
    GraphSpec spec = linearBnSpec(op, variant);
    auto g = build(spec);
    EXPECT_EQ(applyAndInfer(*g, passes::foldBatchNormRule()), 1);
    ASSERT_EQ(opTypes(*g), (Ops{op}));
    EXPECT_EQ(g->nodes()[0]->absorbedNames, (std::vector<std::string>{"bn"}));
    EXPECT_EQ(g->nodes()[0]->outputs[0]->name, "y");
    expectSameOutputs(spec, std::move(g));
  }
}

TEST(FoldBatchNorm, KeepsBatchNormAfterAGemmWithAPerRowBias) {
  auto g = build(linearBnSpec("Gemm", 2));
  EXPECT_EQ(applyAndInfer(*g, passes::foldBatchNormRule()), 0);
  EXPECT_EQ(opTypes(*g), (Ops{"Gemm", "BatchNormalization"}));
}

// ---- remove_dead_nodes ----

TEST(RemoveDeadNodes, RemovesChainsNoOutputNeedsAndKeepsPartlyUsedNodes) {
  GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {6});
    b.input("unused", {2});
    b.node("Relu", "relu", {"x"}, {"r"});
    b.node("Neg", "dead1", {"x"}, {"n"});
    b.node("Exp", "dead2", {"n"}, {"e"});
    b.node("Abs", "dead3", {"unused"}, {"a"});
    b.node("Split", "split", {"r"}, {"s0", "s1"}, attrs({{"num_outputs", int64_t{2}}}));  // only s0 is read
    b.node("Sigmoid", "sig", {"s0"}, {"y"});
    b.output("y");
  };
  auto g = build(spec);
  EXPECT_EQ(applyAndInfer(*g, passes::removeDeadNodesRule()), 3);
  EXPECT_EQ(opTypes(*g), (Ops{"Relu", "Split", "Sigmoid"}));
  EXPECT_EQ(g->inputs().size(), 2u);  // graph inputs stay, read or not
  expectSameOutputs(spec, std::move(g));
}

TEST(RemoveDeadNodes, KeepsEveryNodeOfALiveGraph) {
  auto g = build([](GraphBuilder& b) {
    b.input("x", {6});
    b.node("Relu", "relu", {"x"}, {"r"});
    b.node("Neg", "neg", {"r"}, {"y"});
    b.output("y");
    b.output("r");
  });
  EXPECT_EQ(applyAndInfer(*g, passes::removeDeadNodesRule()), 0);
  EXPECT_EQ(g->nodes().size(), 2u);
}

// ---- the pipeline ----

TEST(Pipeline, RunsEveryRuleAndKeepsOutputs) {
  GraphSpec spec = [](GraphBuilder& b) {
    convBnSpec(DataType::kFloat32, false, 1, false)(b);
    b.constant("wide", randomTensor(DataType::kFloat32, {4, 1, 1}, 7));
    b.node("Identity", "wide_id", {"wide"}, {"wide2"});
    b.node("Mul", "scale_out", {"y", "wide2"}, {"m"});
    b.node("Identity", "out_id", {"m"}, {"out"});
    b.node("Exp", "dead", {"m"}, {"unused"});
    b.output("out");
  };
  auto g = build(spec);
  passes::PipelineReport report;
  Status s = passes::runPipeline(*g, &report);
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(opTypes(*g), (Ops{"FusedConv", "Mul"}));  // Conv + BN + Relu fused into one layer
  ASSERT_EQ(report.size(), passes::pipelineRules().size());
  EXPECT_EQ(report[0], (std::pair<std::string, int64_t>{"lower_einsum", 0}));
  EXPECT_EQ(report[1], (std::pair<std::string, int64_t>{"remove_identity", 2}));
  EXPECT_EQ(g->outputs()[1]->name, "out");
  EXPECT_FALSE(g->findValue("w")->constant.has_value());  // replaced weights are released
  expectSameOutputs(spec, std::move(g));
}

}  // namespace
}  // namespace lowp
