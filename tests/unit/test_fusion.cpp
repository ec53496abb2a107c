// The fusion rules (passes/fuse_*.cpp) and the reference kernels of the fused ops (kernels/reference/
// fused.cpp): each rule on a small hand-built graph where it applies and where its condition fails; the
// fused graph, run with reference kernels only, equals the unfused one exactly (fp32), and run by the engine
// (oneDNN where built) agrees with it within fp32 rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "graph_builder.h"
#include "ir/graph.h"
#include "ir/op_schema.h"
#include "ir/ops/fused.h"
#include "kernels/kernel.h"
#include "lowp/engine.h"
#include "onnx/importer.h"
#include "op_runner.h"
#include "passes/rules.h"
#include "runtime/engine_impl.h"
#include "runtime/thread_pool.h"

namespace lowp {
namespace {

using lowp::testing::attrs;

using testing::GraphBuilder;
using testing::runReference;

using GraphSpec = std::function<void(GraphBuilder&)>;

std::unique_ptr<ir::Graph> build(const GraphSpec& spec) {
  GraphBuilder b;
  spec(b);
  return b.finish();
}

Tensor randomTensor(std::vector<int64_t> shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t(DataType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t.elementCount(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

Tensor scalar(float v) {
  Tensor t(DataType::kFloat32, {});
  t.data<float>()[0] = v;
  return t;
}

std::vector<NamedTensor> randomInputs(const ir::Graph& graph) {
  std::vector<NamedTensor> inputs;
  unsigned seed = 5;
  for (const ir::Value* v : graph.inputs())
    inputs.push_back({v->name, randomTensor(v->shape.sizes(), seed++)});
  return inputs;
}

// Runs the fusion rules in the pipeline's order (and no other rule, so that what the tests see is theirs).
std::unique_ptr<ir::Graph> optimized(const GraphSpec& spec) {
  auto g = build(spec);
  for (const passes::RewriteRule* rule :
       {&passes::fuseConvAddRule(), &passes::gemmToMatMulRule(), &passes::fuseMatMulBiasRule(),
        &passes::fuseGeluRule(), &passes::fuseActivationRule(), &passes::fuseLayerNormResidualRule(),
        &passes::fuseTransposedResidualRule()}) {
    auto applied = passes::applyRule(*g, *rule);
    EXPECT_TRUE(applied.isOk()) << applied.status().toString();
  }
  EXPECT_TRUE(g->sortTopologically().isOk());
  const Status s = onnx::inferGraph(*g);
  EXPECT_TRUE(s.isOk()) << s.toString();
  return g;
}

std::vector<Tensor> runEngine(std::unique_ptr<ir::Graph> graph, const std::vector<NamedTensor>& inputs) {
  std::vector<Tensor> out;
  for (NamedTensor& t : testing::runGraph(std::move(graph), inputs)) out.push_back(std::move(t.tensor));
  return out;
}

// The fused graph equals the unfused one: exactly with reference kernels, within fp32 rounding in the
// engine's kernels (oneDNN's post-ops sum in another order than the separate passes).
void expectSameResults(const GraphSpec& spec) {
  auto plain = build(spec);
  auto fused = optimized(spec);
  const std::vector<NamedTensor> inputs = randomInputs(*plain);
  const std::vector<Tensor> want = runReference(*plain, inputs);
  const std::vector<Tensor> exact = runReference(*fused, inputs);
  const std::vector<Tensor> fast = runEngine(std::move(fused), inputs);
  ASSERT_EQ(want.size(), exact.size());
  ASSERT_EQ(want.size(), fast.size());
  for (size_t o = 0; o < want.size(); ++o) {
    ASSERT_EQ(want[o].shape(), exact[o].shape());
    ASSERT_EQ(want[o].shape(), fast[o].shape());
    int bad = 0;
    for (int64_t i = 0; i < want[o].elementCount(); ++i) {
      const float w = want[o].data<float>()[i];
      if (exact[o].data<float>()[i] != w && bad++ < 3) {
        ADD_FAILURE() << "reference: element " << i << " is " << exact[o].data<float>()[i] << ", unfused "
                      << w;
      }
      if (!(std::abs(fast[o].data<float>()[i] - w) <= 1e-4f * std::max(1.0f, std::abs(w))) && bad++ < 3) {
        ADD_FAILURE() << "engine: element " << i << " is " << fast[o].data<float>()[i] << ", unfused " << w;
      }
    }
  }
}

int countOps(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const ir::Node* node : g.nodes()) n += node->opType == op ? 1 : 0;
  return n;
}

const ir::Node* onlyNode(const ir::Graph& g, const std::string& op) {
  const ir::Node* found = nullptr;
  for (const ir::Node* node : g.nodes()) {
    if (node->opType == op) {
      EXPECT_EQ(found, nullptr) << "more than one " << op;
      found = node;
    }
  }
  EXPECT_NE(found, nullptr) << "no " << op;
  return found;
}

const ir::AttributeMap kPad1 = attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}});

// x -> Conv(+bias) -> Add(z) -> Relu, the ResNet block ending.
void residualBlock(GraphBuilder& b) {
  b.input("x", {2, 4, 6, 5});
  b.input("z", {2, 8, 6, 5});
  b.constant("w", randomTensor({8, 4, 3, 3}, 1));
  b.constant("b", randomTensor({8}, 2));
  b.node("Conv", "conv", {"x", "w", "b"}, {"c"}, kPad1);
  b.node("Add", "add", {"z", "c"}, {"s"});
  b.node("Relu", "relu", {"s"}, {"y"});
  b.output("y");
}

TEST(FuseConv, ConvAddReluBecomesOneNode) {
  auto g = optimized(residualBlock);
  ASSERT_EQ(g->nodes().size(), 1u);
  const ir::Node& n = *g->nodes()[0];
  EXPECT_EQ(n.opType, "FusedConv");
  EXPECT_EQ(n.domain, "lowp");
  EXPECT_EQ(n.name, "conv");
  EXPECT_EQ(n.absorbedNames, (std::vector<std::string>{"add", "relu"}));
  ASSERT_EQ(n.inputs.size(), 4u);
  EXPECT_EQ(n.inputs[3]->name, "z");
  EXPECT_EQ(n.outputs[0]->name, "y");
  EXPECT_EQ(n.attributes.getString("activation"), "Relu");
  EXPECT_EQ(n.attributes.getInts("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  expectSameResults(residualBlock);
}

// Every activation the fused ops take, on a Conv without bias and on a FusedConv with a residual.
TEST(FuseConv, EveryActivation) {
  struct Act {
    std::string op;
    ir::AttributeMap attrs;
    std::vector<float> clip;  ///< Clip's min and max inputs (opset 11+), when given.
  };
  const std::vector<Act> acts = {{"Relu", {}, {}},
                                 {"LeakyRelu", attrs({{"alpha", 0.2f}}), {}},
                                 {"Clip", {}, {0.0f, 6.0f}},
                                 {"Clip", {}, {-0.3f}},
                                 {"Sigmoid", {}, {}},
                                 {"HardSwish", {}, {}},
                                 {"Tanh", {}, {}}};
  for (const Act& act : acts) {
    for (int residual = 0; residual < 2; ++residual) {
      const GraphSpec spec = [&](GraphBuilder& b) {
        b.input("x", {1, 3, 7, 6});
        b.constant("w", randomTensor({5, 3, 3, 3}, 3));
        b.node("Conv", "conv", {"x", "w"}, {"c"}, kPad1);
        std::string pre = "c";
        if (residual) {
          b.input("z", {1, 5, 7, 6});
          b.node("Add", "add", {"c", "z"}, {"s"});
          pre = "s";
        }
        std::vector<std::string> ins = {pre};
        for (size_t i = 0; i < act.clip.size(); ++i) {
          b.constant("bound" + std::to_string(i), scalar(act.clip[i]));
          ins.push_back("bound" + std::to_string(i));
        }
        b.node(act.op, "act", ins, {"y"}, act.attrs);
        b.output("y");
      };
      auto g = optimized(spec);
      ASSERT_EQ(g->nodes().size(), 1u) << act.op;
      EXPECT_EQ(g->nodes()[0]->attributes.getString("activation"), act.op);
      expectSameResults(spec);
    }
  }
}

// Nothing fuses when the intermediate tensor is read elsewhere or is a graph output.
TEST(FuseConv, KeepsIntermediatesOthersNeed) {
  const GraphSpec secondReader = [](GraphBuilder& b) {
    residualBlock(b);
    b.node("Sigmoid", "other", {"c"}, {"o"});
    b.output("o");
  };
  auto g = optimized(secondReader);
  EXPECT_EQ(countOps(*g, "Conv"), 1);
  EXPECT_EQ(countOps(*g, "Add"), 1);
  EXPECT_EQ(countOps(*g, "FusedConv"), 0);
  const GraphSpec graphOutput = [](GraphBuilder& b) {
    residualBlock(b);
    b.output("s");
  };
  g = optimized(graphOutput);
  EXPECT_EQ(countOps(*g, "FusedConv"), 1);  // conv + add
  EXPECT_EQ(countOps(*g, "Relu"), 1);       // s is a graph output: the Relu stays
  expectSameResults(graphOutput);
}

// An activation before the residual add stays in the convolution; the Add then cannot follow it there.
TEST(FuseConv, AddAfterAnActivationStaysSeparate) {
  const GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {1, 4, 5, 5});
    b.input("z", {1, 4, 5, 5});
    b.constant("w", randomTensor({4, 4, 3, 3}, 4));
    b.node("Conv", "conv", {"x", "w"}, {"c"}, kPad1);
    b.node("Relu", "relu", {"c"}, {"r"});
    b.node("Add", "add", {"r", "z"}, {"y"});
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(onlyNode(*g, "FusedConv")->attributes.getString("activation"), "Relu");
  EXPECT_EQ(countOps(*g, "Add"), 1);
  expectSameResults(spec);
}

// A broadcasting Add is not a residual; a Clip with a bound computed at run time is not fused.
TEST(FuseConv, DeclinesBroadcastAddAndVariableClip) {
  const GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {1, 4, 5, 5});
    b.input("z", {1, 4, 1, 5});
    b.input("hi", {});
    b.constant("w", randomTensor({4, 4, 3, 3}, 5));
    b.constant("w2", randomTensor({4, 4, 1, 1}, 6));
    b.node("Conv", "conv", {"x", "w"}, {"c"}, kPad1);
    b.node("Add", "add", {"c", "z"}, {"y"});
    b.node("Conv", "conv2", {"x", "w2"}, {"c2"});
    b.node("Clip", "clip", {"c2", "", "hi"}, {"y2"});
    b.output("y");
    b.output("y2");
  };
  auto g = optimized(spec);
  EXPECT_EQ(countOps(*g, "Conv"), 2);
  EXPECT_EQ(countOps(*g, "FusedConv"), 0);
}

// Two convolutions meet in an Add (the ResNet downsample branch): one of them takes the other's output as Z.
TEST(FuseConv, ResidualFromAnotherConvolution) {
  const GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {2, 4, 8, 8});
    b.constant("w1", randomTensor({6, 4, 3, 3}, 7));
    b.constant("w2", randomTensor({6, 4, 1, 1}, 8));
    b.node("Conv", "main", {"x", "w1"}, {"m"},
           attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}, {"strides", std::vector<int64_t>{2, 2}}}));
    b.node("Conv", "down", {"x", "w2"}, {"d"}, attrs({{"strides", std::vector<int64_t>{2, 2}}}));
    b.node("Add", "add", {"m", "d"}, {"s"});
    b.node("Relu", "relu", {"s"}, {"y"});
    b.output("y");
  };
  auto g = optimized(spec);
  EXPECT_EQ(g->nodes().size(), 2u);
  EXPECT_EQ(countOps(*g, "FusedConv"), 1);
  expectSameResults(spec);
}

// ---- MatMul + bias (+ activation) ------------------------------------------------------------------------

TEST(FuseMatMul, BiasAndActivation) {
  const GraphSpec spec = [](GraphBuilder& b) {
    b.input("a", {3, 7, 16});
    b.constant("w", randomTensor({16, 12}, 9));
    b.constant("bias", randomTensor({1, 12}, 10));
    b.node("MatMul", "mm", {"a", "w"}, {"p"});
    b.node("Add", "add", {"bias", "p"}, {"s"});
    b.node("Tanh", "tanh", {"s"}, {"y"});
    b.output("y");
  };
  auto g = optimized(spec);
  ASSERT_EQ(g->nodes().size(), 1u);
  const ir::Node& n = *g->nodes()[0];
  EXPECT_EQ(n.opType, "FusedMatMul");
  EXPECT_EQ(n.absorbedNames, (std::vector<std::string>{"add", "tanh"}));
  ASSERT_NE(n.input(2), nullptr);
  EXPECT_EQ(n.input(2)->constant->shape(), (std::vector<int64_t>{12}));
  expectSameResults(spec);
}

// A fully connected layer exported as Gemm (transposed weights, bias [1, N]) takes MatMul's path: one
// FusedMatMul with its activation; alpha or transA keep the Gemm.
TEST(FuseMatMul, GemmWithConstantWeightsBecomesFusedMatMul) {
  const GraphSpec spec = [](GraphBuilder& b) {
    b.input("a", {5, 16});
    b.constant("w", randomTensor({12, 16}, 21));
    b.constant("bias", randomTensor({1, 12}, 22));
    b.node("Gemm", "fc", {"a", "w", "bias"}, {"p"}, testing::attrs({{"transB", int64_t{1}}}));
    b.node("Relu", "relu", {"p"}, {"y"});
    b.node("Gemm", "scaled", {"a", "w"}, {"z"}, testing::attrs({{"transB", int64_t{1}}, {"alpha", 0.5f}}));
    b.output("y");
    b.output("z");
  };
  auto g = optimized(spec);
  ASSERT_EQ(g->nodes().size(), 2u);
  const ir::Node& fc = *g->nodes()[0];
  EXPECT_EQ(fc.opType, "FusedMatMul");
  EXPECT_EQ(fc.name, "fc");
  EXPECT_EQ(fc.absorbedNames, (std::vector<std::string>{"relu"}));
  EXPECT_EQ(fc.input(1)->constant->shape(), (std::vector<int64_t>{16, 12}));
  EXPECT_EQ(fc.input(2)->constant->shape(), (std::vector<int64_t>{12}));
  EXPECT_EQ(g->nodes()[1]->opType, "Gemm");
  expectSameResults(spec);
}

// The feed-forward block of a transformer as PyTorch exports it: MatMul, bias Add, then the exact GELU
// written out (x / sqrt(2), Erf, + 1, * x, * 0.5) ends as one FusedMatMul with a Gelu epilogue.
TEST(FuseGelu, WrittenOutGeluBecomesTheMatMulsActivation) {
  const GraphSpec spec = [](GraphBuilder& b) {
    b.input("a", {2, 5, 16});
    b.constant("w", randomTensor({16, 24}, 31));
    b.constant("bias", randomTensor({24}, 32));
    b.constant("sqrt2", scalar(1.4142135f));
    b.constant("one", scalar(1.0f));
    b.constant("half", scalar(0.5f));
    b.node("MatMul", "mm", {"a", "w"}, {"p"});
    b.node("Add", "bias_add", {"bias", "p"}, {"x"});
    b.node("Div", "div", {"x", "sqrt2"}, {"d"});
    b.node("Erf", "erf", {"d"}, {"e"});
    b.node("Add", "add_one", {"e", "one"}, {"g"});
    b.node("Mul", "mul_x", {"x", "g"}, {"m"});
    b.node("Mul", "mul_half", {"m", "half"}, {"y"});
    b.output("y");
  };
  auto g = optimized(spec);
  ASSERT_EQ(g->nodes().size(), 1u);
  const ir::Node& n = *g->nodes()[0];
  EXPECT_EQ(n.opType, "FusedMatMul");
  EXPECT_EQ(n.attributes.getString("activation", ""), "Gelu");
  EXPECT_EQ(n.absorbedNames,
            (std::vector<std::string>{"bias_add", "mul_half", "div", "erf", "add_one", "mul_x"}));
  // One rounding instead of five: within a few fp32 ulps of the written-out form.
  auto plain = build(spec);
  const std::vector<NamedTensor> inputs = randomInputs(*plain);
  const Tensor want = runReference(*plain, inputs)[0];
  const Tensor fused = runReference(*g, inputs)[0];
  const Tensor fast = runEngine(optimized(spec), inputs)[0];
  ASSERT_EQ(want.shape(), fused.shape());
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    const float w = want.data<float>()[i];
    ASSERT_NEAR(fused.data<float>()[i], w, 1e-6f * std::max(1.0f, std::abs(w))) << "element " << i;
    ASSERT_NEAR(fast.data<float>()[i], w, 1e-5f * std::max(1.0f, std::abs(w))) << "element " << i;
  }
}

// The other orders of the same arithmetic: x * (1 / sqrt(2)), 1 + erf, (x * 0.5) * (1 + erf), 0.5 first.
TEST(FuseGelu, EveryOperandOrder) {
  for (int form = 0; form < 3; ++form) {
    const GraphSpec spec = [form](GraphBuilder& b) {
      b.input("x", {3, 8});
      b.constant("c", scalar(form == 0 ? 1.4142135f : 0.70710677f));
      b.constant("one", scalar(1.0f));
      b.constant("half", scalar(0.5f));
      if (form == 0) {
        b.node("Div", "scale", {"x", "c"}, {"d"});
      } else {
        b.node("Mul", "scale", {"c", "x"}, {"d"});
      }
      b.node("Erf", "erf", {"d"}, {"e"});
      b.node("Add", "add_one", {"one", "e"}, {"g"});
      if (form == 2) {
        b.node("Mul", "inner", {"g", "half"}, {"m"});
        b.node("Mul", "outer", {"x", "m"}, {"y"});
      } else {
        b.node("Mul", "inner", {"half", "x"}, {"m"});
        b.node("Mul", "outer", {"g", "m"}, {"y"});
      }
      b.output("y");
    };
    auto g = optimized(spec);
    ASSERT_EQ(g->nodes().size(), 1u) << "form " << form;
    EXPECT_EQ(g->nodes()[0]->opType, "Gelu") << "form " << form;
    EXPECT_EQ(g->nodes()[0]->name, "outer");
  }
}

// Not a GELU: another constant, an intermediate someone else reads, or a graph output in the middle.
TEST(FuseGelu, DeclinesWhatIsNotExactlyGelu) {
  for (int variant = 0; variant < 3; ++variant) {
    const GraphSpec spec = [variant](GraphBuilder& b) {
      b.input("x", {3, 8});
      b.constant("c", scalar(variant == 0 ? 1.5f : 1.4142135f));
      b.constant("one", scalar(1.0f));
      b.constant("half", scalar(0.5f));
      b.node("Div", "scale", {"x", "c"}, {"d"});
      b.node("Erf", "erf", {"d"}, {"e"});
      b.node("Add", "add_one", {"e", "one"}, {"g"});
      b.node("Mul", "inner", {"x", "g"}, {"m"});
      b.node("Mul", "outer", {"m", "half"}, {"y"});
      b.output("y");
      if (variant == 1) {
        b.node("Relu", "other_reader", {"e"}, {"r"});
        b.output("r");
      }
      if (variant == 2) b.output("g");
    };
    auto g = optimized(spec);
    EXPECT_EQ(countOps(*g, "Gelu"), 0) << "variant " << variant;
    EXPECT_EQ(countOps(*g, "Erf"), 1) << "variant " << variant;
  }
}

// A bias per row (it broadcasts along the columns) or a variable one is not a linear layer's bias.
TEST(FuseMatMul, DeclinesOtherAdds) {
  const GraphSpec spec = [](GraphBuilder& b) {
    b.input("a", {5, 8});
    b.input("v", {6});
    b.constant("w", randomTensor({8, 6}, 11));
    b.constant("rows", randomTensor({5, 1}, 12));
    b.node("MatMul", "mm", {"a", "w"}, {"p"});
    b.node("Add", "add", {"p", "rows"}, {"y"});
    b.node("MatMul", "mm2", {"a", "w"}, {"p2"});
    b.node("Add", "add2", {"p2", "v"}, {"y2"});
    b.output("y");
    b.output("y2");
  };
  auto g = optimized(spec);
  EXPECT_EQ(countOps(*g, "MatMul"), 2);
  EXPECT_EQ(countOps(*g, "FusedMatMul"), 0);
}

// ---- Schemas ---------------------------------------------------------------------------------------------

Result<std::vector<std::pair<DataType, ir::Shape>>> inferFused(const std::string& op, ir::AttributeMap a,
                                                               const std::vector<ir::InferInput>& inputs) {
  ir::Node node;
  node.opType = op;
  node.domain = "lowp";
  node.name = "fused";
  node.outputs = {nullptr};
  node.attributes = std::move(a);
  return ir::inferNode(node, inputs);
}

ir::InferInput known(DataType t, const std::vector<int64_t>& shape) {
  return {true, t, ir::Shape::fromSizes(shape), nullptr};
}

// A post-norm transformer's residual: LayerNormalization(Add(x, r)) becomes one FusedLayerNorm that takes the
// Add's name and answers to the LayerNormalization's; a residual that broadcasts fuses too.
TEST(FuseLayerNorm, ResidualAddBecomesOneNode) {
  for (const std::vector<int64_t>& residualShape :
       {std::vector<int64_t>{2, 5, 8}, std::vector<int64_t>{5, 8}}) {
    const GraphSpec spec = [&](GraphBuilder& b) {
      b.input("x", {2, 5, 8});
      b.input("r", residualShape);
      b.constant("scale", randomTensor({8}, 7));
      b.constant("bias", randomTensor({8}, 8));
      b.node("Add", "add", {"x", "r"}, {"sum"});
      b.node("LayerNormalization", "ln", {"sum", "scale", "bias"}, {"y"}, attrs({{"epsilon", 1e-5f}}));
      b.output("y");
    };
    auto g = optimized(spec);
    ASSERT_EQ(g->nodes().size(), 1u);
    const ir::Node& n = *g->nodes()[0];
    EXPECT_EQ(n.opType, "FusedLayerNorm");
    EXPECT_EQ(n.domain, "lowp");
    EXPECT_EQ(n.name, "add");
    EXPECT_EQ(n.absorbedNames, std::vector<std::string>{"ln"});
    EXPECT_EQ(n.inputs[3]->name, "r");
    expectSameResults(spec);
  }
}

// A batch-first encoder's Transpose of [S, B, E] back to [B, S, E] before the residual Add: the
// FusedLayerNorm reads the Transpose's input through residual_perm, whether the Transpose feeds the Add's
// first or second operand, and answers to the Transpose's name.
TEST(FuseLayerNorm, ReadsATransposeThatKeepsTheLastAxisInPlace) {
  for (const bool transposedFirst : {false, true}) {
    const GraphSpec spec = [&](GraphBuilder& b) {
      b.input("x", {2, 5, 8});
      b.input("t", {5, 2, 8});
      b.constant("scale", randomTensor({8}, 7));
      b.constant("bias", randomTensor({8}, 8));
      b.node("Transpose", "back", {"t"}, {"r"}, attrs({{"perm", std::vector<int64_t>{1, 0, 2}}}));
      b.node("Add", "add",
             transposedFirst ? std::vector<std::string>{"r", "x"} : std::vector<std::string>{"x", "r"},
             {"sum"});
      b.node("LayerNormalization", "ln", {"sum", "scale", "bias"}, {"y"}, attrs({{"epsilon", 1e-5f}}));
      b.output("y");
    };
    auto g = optimized(spec);
    ASSERT_EQ(g->nodes().size(), 1u);
    const ir::Node& n = *g->nodes()[0];
    EXPECT_EQ(n.opType, "FusedLayerNorm");
    EXPECT_EQ(n.name, "add");
    EXPECT_EQ(n.absorbedNames, (std::vector<std::string>{"back", "ln"}));
    EXPECT_EQ(n.inputs[0]->name, "x");
    EXPECT_EQ(n.inputs[3]->name, "t");
    EXPECT_EQ(n.attributes.getInts("residual_perm"), (std::vector<int64_t>{1, 0, 2}));
    expectSameResults(spec);
  }
}

// A Transpose that moves the normalised axis, or that another node reads, stays a Transpose.
TEST(FuseLayerNorm, KeepsATransposeThatMovesTheLastAxisOrIsShared) {
  const GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {2, 8, 8});
    b.input("t", {2, 8, 8});
    b.input("u", {8, 2, 8});
    b.constant("scale", randomTensor({8}, 7));
    b.node("Transpose", "swap_last", {"t"}, {"r1"}, attrs({{"perm", std::vector<int64_t>{0, 2, 1}}}));
    b.node("Add", "add1", {"x", "r1"}, {"s1"});
    b.node("LayerNormalization", "ln1", {"s1", "scale"}, {"y1"});
    b.node("Transpose", "shared", {"u"}, {"r2"}, attrs({{"perm", std::vector<int64_t>{1, 0, 2}}}));
    b.node("Add", "add2", {"x", "r2"}, {"s2"});
    b.node("LayerNormalization", "ln2", {"s2", "scale"}, {"y2"});
    b.node("Relu", "other", {"r2"}, {"y3"});
    b.output("y1");
    b.output("y2");
    b.output("y3");
  };
  auto g = optimized(spec);
  EXPECT_EQ(countOps(*g, "Transpose"), 2);
  for (const ir::Node* n : g->nodes()) EXPECT_FALSE(n->attributes.has("residual_perm")) << n->name;
  expectSameResults(spec);
}

TEST(FuseLayerNorm, KeepsWhatItCannotFuse) {
  // The sum read by another node, a constant operand (a bias), the statistics asked for.
  const GraphSpec spec = [](GraphBuilder& b) {
    b.input("x", {4, 8});
    b.input("r", {4, 8});
    b.constant("scale", randomTensor({8}, 7));
    b.constant("c", randomTensor({4, 8}, 9));
    b.node("Add", "shared", {"x", "r"}, {"s1"});
    b.node("LayerNormalization", "ln1", {"s1", "scale"}, {"y1"});
    b.node("Relu", "other", {"s1"}, {"y2"});
    b.node("Add", "bias", {"x", "c"}, {"s2"});
    b.node("LayerNormalization", "ln2", {"s2", "scale"}, {"y3"});
    b.node("Add", "stats", {"x", "r"}, {"s3"});
    b.node("LayerNormalization", "ln3", {"s3", "scale"}, {"y4", "mean"});
    b.output("y1");
    b.output("y2");
    b.output("y3");
    b.output("y4");
    b.output("mean");
  };
  auto g = optimized(spec);
  for (const ir::Node* n : g->nodes()) EXPECT_NE(n->opType, "FusedLayerNorm") << n->name;
}

TEST(FusedSchemas, ShapesTypesAndErrors) {
  const DataType f32 = DataType::kFloat32;
  const DataType bf16 = DataType::kBFloat16;
  auto ok = inferFused(
      "FusedConv", attrs({{"strides", std::vector<int64_t>{2, 2}}}),
      {known(bf16, {1, 3, 9, 9}), known(bf16, {4, 3, 3, 3}), known(f32, {4}), known(bf16, {1, 4, 4, 4})});
  ASSERT_TRUE(ok.isOk()) << ok.status().toString();
  EXPECT_EQ((*ok)[0].first, bf16);
  EXPECT_EQ((*ok)[0].second.sizes(), (std::vector<int64_t>{1, 4, 4, 4}));
  // Residual of another shape, bias of another type than fp32 or the operands', unknown activation.
  EXPECT_FALSE(inferFused("FusedConv", {},
                          {known(f32, {1, 3, 5, 5}), known(f32, {4, 3, 3, 3}), {}, known(f32, {1, 4, 5, 5})})
                   .isOk());
  EXPECT_FALSE(
      inferFused("FusedConv", {}, {known(f32, {1, 3, 5, 5}), known(f32, {4, 3, 3, 3}), known(bf16, {4})})
          .isOk());
  EXPECT_FALSE(inferFused("FusedConv", attrs({{"activation", std::string("Softmax")}}),
                          {known(f32, {1, 3, 5, 5}), known(f32, {4, 3, 3, 3})})
                   .isOk());
  auto mm = inferFused("FusedMatMul", attrs({{"activation", std::string("Relu")}}),
                       {known(f32, {2, 5, 8}), known(f32, {8, 3}), known(f32, {3})});
  ASSERT_TRUE(mm.isOk()) << mm.status().toString();
  EXPECT_EQ((*mm)[0].second.sizes(), (std::vector<int64_t>{2, 5, 3}));
  EXPECT_FALSE(
      inferFused("FusedMatMul", {}, {known(f32, {2, 5, 8}), known(f32, {8, 3}), known(f32, {5})}).isOk());
  // FusedLayerNorm's residual read through residual_perm; a perm that moves the last axis, one of another
  // rank, or a normalised axis other than the last is refused.
  const ir::InferInput scale = known(f32, {8});
  auto ln = inferFused("FusedLayerNorm", attrs({{"residual_perm", std::vector<int64_t>{1, 0, 2}}}),
                       {known(f32, {2, 5, 8}), scale, {}, known(f32, {5, 2, 8})});
  ASSERT_TRUE(ln.isOk()) << ln.status().toString();
  EXPECT_EQ((*ln)[0].second.sizes(), (std::vector<int64_t>{2, 5, 8}));
  for (const auto& [perm, axis] : std::vector<std::pair<std::vector<int64_t>, int64_t>>{
           {{0, 2, 1}, -1}, {{1, 0}, -1}, {{1, 0, 2}, 1}, {{1, 1, 2}, -1}}) {
    EXPECT_FALSE(inferFused("FusedLayerNorm", attrs({{"residual_perm", perm}, {"axis", axis}}),
                            {known(f32, {2, 5, 8}), scale, {}, known(f32, {5, 2, 8})})
                     .isOk())
        << ir::formatSizes(perm) << " axis " << axis;
  }
}

}  // namespace
}  // namespace lowp
