// lowp.ElementwiseChain: its schema, its reference kernel (equal to the unfused ops bit for bit), the
// vectorised kernel against the reference on every storage type and ISA, and the fuse_elementwise_chain
// pass on the chains real models have (SiLU after an affine map, BERT's erf-form GELU) and on the cases it
// must leave alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "graph_builder.h"
#include "ir/graph.h"
#include "ir/op_schema.h"
#include "ir/ops/elementwise_chain.h"
#include "kernels/kernel.h"
#include "onnx/importer.h"
#include "op_runner.h"
#include "passes/pipeline.h"
#include "passes/rules.h"
#include "runtime/cpu_features.h"
#include "runtime/engine_impl.h"

namespace lowp::testing {
namespace {

using ir::ops::ChainStep;
using kernels::KernelContext;
using kernels::KernelDef;
using kernels::KernelRegistry;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
const DataType kTypes[] = {DataType::kFloat32, DataType::kBFloat16, DataType::kFloat16};

std::vector<double> randomValues(int64_t n, unsigned seed, double range = 4.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-range, range);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = dist(rng);
  if (n > 8) {
    v[1] = kNaN;
    v[2] = kInf;
    v[3] = -kInf;
    v[4] = -0.0;
    v[5] = 1e-40;
  }
  return v;
}

ir::Node chainNode(const std::vector<ChainStep>& steps) {
  ir::Node node;
  node.name = "chain";
  node.opType = std::string(ir::ops::kElementwiseChainOp);
  node.domain = std::string(ir::ops::kElementwiseChainDomain);
  node.opsetVersion = 1;
  ir::ops::writeChainProgram(steps, node.attributes);
  return node;
}

const kernels::ParallelFor kSerial = [](int64_t n, int64_t grain,
                                        const std::function<void(int64_t, int64_t)>& fn) {
  for (int64_t begin = 0; begin < n; begin += grain + 3) fn(begin, std::min(n, begin + grain + 3));
};

// The shapes of `inputs`, as supports() takes them.
std::vector<ir::Shape> shapesOf(const std::vector<Tensor>& inputs) {
  std::vector<ir::Shape> shapes;
  shapes.reserve(inputs.size());
  for (const Tensor& t : inputs) shapes.push_back(ir::Shape::fromSizes(t.shape()));
  return shapes;
}

Tensor runChainKernel(const KernelDef& kernel, const ir::Node& node, const std::vector<Tensor>& inputs) {
  std::vector<const Tensor*> in;
  in.reserve(inputs.size());
  for (const Tensor& t : inputs) in.push_back(&t);
  Tensor out(inputs[0].type(), inputs[0].shape());
  KernelContext ctx(node, in, {&out}, kSerial,
                    [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
  Status s = kernel.fn(ctx);
  EXPECT_TRUE(s.isOk()) << kernel.name << ": " << s.toString();
  return out;
}

const KernelDef* chainKernel(bool reference, const std::string& name = "") {
  for (const KernelDef& k : KernelRegistry::global().all()) {
    if (k.opType != ir::ops::kElementwiseChainOp) continue;
    if (reference ? k.reference : k.name == name) return &k;
  }
  return nullptr;
}

// Runs one ONNX op through the engine (reference or fast kernel, whichever the engine picks).
Tensor runStep(const std::string& op, std::vector<Tensor> inputs, ir::AttributeMap attributes = {}) {
  auto out = runOp({.opType = op, .attributes = std::move(attributes), .inputs = std::move(inputs)});
  EXPECT_TRUE(out.isOk()) << op << ": " << out.status().toString();
  return out.isOk() ? (*out)[0] : Tensor();
}

bool sameBits(const Tensor& a, const Tensor& b) {
  return a.type() == b.type() && a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.byteSize())) == 0;
}

// NaN-aware elementwise equality (NaN payloads may differ between libm paths).
void expectSameValues(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  int failures = 0;
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    const double g = elementAsDouble(got, i);
    const double w = elementAsDouble(want, i);
    const bool same = (std::isnan(g) && std::isnan(w)) || (g == w && std::signbit(g) == std::signbit(w));
    if (!same && failures++ < 5) ADD_FAILURE() << what << " element " << i << ": " << g << " vs " << w;
  }
}

// ---- Schema ----

TEST(ElementwiseChainSchema, OutputHasXsTypeAndShapeAndBadProgramsAreErrors) {
  ir::Node node = chainNode({{.op = "Mul", .operand = 1}, {.op = "Sigmoid"}, {.op = "Mul", .operand = 0}});
  ir::Value out;
  node.outputs.push_back(&out);
  auto input = [](DataType t, const std::vector<int64_t>& s) {
    return ir::InferInput{true, t, ir::Shape::fromSizes(s), nullptr};
  };
  auto ok =
      ir::inferNode(node, {input(DataType::kBFloat16, {2, 8, 5, 5}), input(DataType::kBFloat16, {8, 1, 1})});
  ASSERT_TRUE(ok.isOk()) << ok.status().toString();
  EXPECT_EQ((*ok)[0].first, DataType::kBFloat16);
  EXPECT_EQ((*ok)[0].second, ir::Shape::fromSizes({2, 8, 5, 5}));
  // An operand that would grow X, another type, a missing operand, an int X.
  EXPECT_FALSE(
      ir::inferNode(node, {input(DataType::kFloat32, {8}), input(DataType::kFloat32, {2, 8})}).isOk());
  EXPECT_FALSE(ir::inferNode(node, {input(DataType::kFloat32, {8}), input(DataType::kFloat16, {8})}).isOk());
  EXPECT_FALSE(ir::inferNode(node, {input(DataType::kFloat32, {8})}).isOk());
  EXPECT_FALSE(ir::inferNode(node, {input(DataType::kInt32, {8}), input(DataType::kInt32, {8})}).isOk());
  ir::Node unknown = chainNode({{.op = "Softmax"}});
  unknown.outputs.push_back(&out);
  EXPECT_FALSE(ir::inferNode(unknown, {input(DataType::kFloat32, {8})}).isOk());
  ir::Node unary = chainNode({{.op = "Relu", .operand = 0}});
  unary.outputs.push_back(&out);
  EXPECT_FALSE(ir::inferNode(unary, {input(DataType::kFloat32, {8})}).isOk());
  ir::Node ragged = chainNode({{.op = "Relu"}});
  ragged.attributes.set("alphas", std::vector<float>{});
  ragged.outputs.push_back(&out);
  EXPECT_FALSE(ir::inferNode(ragged, {input(DataType::kFloat32, {8})}).isOk());
}

// ---- Kernels ----

// SiLU after a per-channel affine map: y = (x * a + b) * sigmoid(x * a + b) written as the chain
// Mul(a) -> Add(b) -> Sigmoid -> Mul(x) of the brief's example, plus every other op once.
std::vector<ChainStep> mixedProgram() {
  return {{.op = "Mul", .operand = 1},
          {.op = "Add", .operand = 2},
          {.op = "Sigmoid"},
          {.op = "Mul", .operand = 0},
          {.op = "Sub", .operand = 3, .operandFirst = true},
          {.op = "LeakyRelu", .alpha = 0.2f},
          {.op = "Tanh"},
          {.op = "Div", .operand = 4},
          {.op = "Gelu", .alpha = 0.0f},
          {.op = "Gelu", .alpha = 1.0f},
          {.op = "HardSigmoid", .alpha = 0.3f, .beta = 0.6f},
          {.op = "HardSwish"},
          {.op = "Clip", .alpha = -0.1f, .beta = 0.4f},
          {.op = "Max", .operand = 3},
          {.op = "Min", .operand = 1, .operandFirst = true},
          {.op = "Exp"},
          {.op = "Erf"},
          {.op = "Neg"},
          {.op = "Abs"},
          {.op = "Sqrt"},
          {.op = "Reciprocal"},
          {.op = "Relu"}};
}

std::vector<Tensor> mixedInputs(DataType type) {
  const std::vector<int64_t> shape = {2, 5, 7, 11};  // 770 elements: tails on both ISAs
  return {makeTensor(type, shape, randomValues(count(shape), 1)),
          makeTensor(type, {5, 1, 1}, randomValues(5, 2)),  // per channel
          makeTensor(type, {11}, randomValues(11, 3)),      // last axis
          makeTensor(type, {}, {0.75}),                     // scalar
          makeTensor(type, {7, 11}, randomValues(77, 4, 1.0))};
}

TEST(ElementwiseChainReference, EqualsTheOpsRunOneByOne) {
  const KernelDef* ref = chainKernel(true);
  ASSERT_NE(ref, nullptr);
  for (DataType type : kTypes) {
    const std::vector<Tensor> in = mixedInputs(type);
    const std::vector<ChainStep> program = mixedProgram();
    // The same steps as separate ops through the engine, then the chain's reference kernel.
    Tensor v = in[0];
    for (const ChainStep& s : program) {
      ir::AttributeMap a;
      if (s.op == "LeakyRelu") a.set("alpha", s.alpha);
      if (s.op == "HardSigmoid") {
        a.set("alpha", s.alpha);
        a.set("beta", s.beta);
      }
      if (s.op == "Gelu") a.set("approximate", std::string(s.alpha != 0.0f ? "tanh" : "none"));
      if (s.op == "Clip") {
        a.set("min", s.alpha);
        a.set("max", s.beta);
      }
      std::vector<Tensor> args = {v};
      if (s.operand >= 0) {
        const Tensor& operand = in[static_cast<size_t>(s.operand)];
        args = s.operandFirst ? std::vector<Tensor>{operand, v} : std::vector<Tensor>{v, operand};
      }
      auto out = runOp({.opType = s.op, .attributes = a, .inputs = args, .opset = s.op == "Clip" ? 6 : 21});
      ASSERT_TRUE(out.isOk()) << s.op << ": " << out.status().toString();
      v = (*out)[0];
    }
    const Tensor chained = runChainKernel(*ref, chainNode(program), in);
    // runOp picks the fast kernels, whose approximations differ from libm by an ulp or two; compare with
    // the reference chain step by step instead where it matters: here, the composed result within bf16/fp16
    // rounding or 1e-5 relative in fp32, with every NaN in place.
    for (int64_t i = 0; i < v.elementCount(); ++i) {
      const double g = elementAsDouble(chained, i);
      const double w = elementAsDouble(v, i);
      if (std::isnan(w) || std::isnan(g)) {
        EXPECT_EQ(std::isnan(w), std::isnan(g)) << i;
        continue;
      }
      EXPECT_NEAR(g, w, (type == DataType::kFloat32 ? 1e-5 : 2e-2) * (1.0 + std::fabs(w))) << i;
    }
  }
}

TEST(ElementwiseChainReference, SiluStepByStepWithReferenceKernelsIsBitExact) {
  // With only exact ops (no approximations), the chain's reference equals the ops through the engine bit
  // for bit, the rounding to the storage type between steps included.
  const KernelDef* ref = chainKernel(true);
  ASSERT_NE(ref, nullptr);
  const std::vector<ChainStep> program = {{.op = "Mul", .operand = 1},
                                          {.op = "Add", .operand = 2},
                                          {.op = "HardSwish"},
                                          {.op = "Div", .operand = 0, .operandFirst = true},
                                          {.op = "Clip", .alpha = -1.0f, .beta = 2.5f}};
  for (DataType type : kTypes) {
    const std::vector<Tensor> in = mixedInputs(type);
    Tensor v = runStep("Mul", {in[0], in[1]});
    v = runStep("Add", {v, in[2]});
    v = runStep("HardSwish", {v});
    v = runStep("Div", {in[0], v});
    v = runStep("Clip", {v, makeTensor(type, {}, {-1.0}), makeTensor(type, {}, {2.5})});
    const Tensor chained = runChainKernel(*ref, chainNode(program), {in[0], in[1], in[2]});
    EXPECT_TRUE(sameBits(chained, v)) << ir::dataTypeInfo(type).name;
  }
}

TEST(ElementwiseChainKernel, MatchesTheReferenceOnEveryTypeAndIsa) {
  const KernelDef* ref = chainKernel(true);
  ASSERT_NE(ref, nullptr);
  const std::vector<ChainStep> program = mixedProgram();
  const ir::Node node = chainNode(program);
  for (const auto& [isa, feature] :
       {std::pair{"avx512", kernels::CpuFeature::kAvx512}, std::pair{"avx2", kernels::CpuFeature::kAvx2}}) {
    if (!runtime::cpuSupports(feature)) continue;
    for (DataType type : kTypes) {
      const std::string dtype = type == DataType::kFloat32    ? "f32"
                                : type == DataType::kBFloat16 ? "bf16"
                                                              : "f16";
      const KernelDef* fast = chainKernel(false, dtype + "-elementwisechain-" + isa);
      ASSERT_NE(fast, nullptr) << dtype << " " << isa;
      const std::vector<Tensor> in = mixedInputs(type);
      const std::vector<ir::Shape> shapes = shapesOf(in);
      EXPECT_TRUE(fast->supports(node, shapes));
      const Tensor got = runChainKernel(*fast, node, in);
      const Tensor want = runChainKernel(*ref, node, in);
      for (int64_t i = 0; i < want.elementCount(); ++i) {
        const double g = elementAsDouble(got, i);
        const double w = elementAsDouble(want, i);
        if (std::isnan(w) || std::isnan(g)) {
          EXPECT_EQ(std::isnan(w), std::isnan(g)) << fast->name << " " << i;
          continue;
        }
        // 22 steps, each within a few ulp (or one bf16/fp16 rounding) of libm's.
        EXPECT_NEAR(g, w, (type == DataType::kFloat32 ? 1e-5 : 2e-2) * (1.0 + std::fabs(w)))
            << fast->name << " " << i;
      }
    }
  }
}

TEST(ElementwiseChainKernel, ExactStepsAreBitExactAndOddBroadcastsFallBack) {
  const KernelDef* ref = chainKernel(true);
  const std::vector<ChainStep> program = {{.op = "Mul", .operand = 1},
                                          {.op = "Add", .operand = 2},
                                          {.op = "Relu"},
                                          {.op = "Sub", .operand = 0, .operandFirst = true},
                                          {.op = "Max", .operand = 3}};
  const ir::Node node = chainNode(program);
  for (const auto& [isa, feature] :
       {std::pair{"avx512", kernels::CpuFeature::kAvx512}, std::pair{"avx2", kernels::CpuFeature::kAvx2}}) {
    if (!runtime::cpuSupports(feature)) continue;
    for (DataType type : kTypes) {
      const std::string dtype = type == DataType::kFloat32    ? "f32"
                                : type == DataType::kBFloat16 ? "bf16"
                                                              : "f16";
      const KernelDef* fast = chainKernel(false, dtype + "-elementwisechain-" + isa);
      ASSERT_NE(fast, nullptr);
      std::vector<Tensor> in = mixedInputs(type);
      expectSameValues(runChainKernel(*fast, node, in), runChainKernel(*ref, node, in), fast->name.data());
      // [5, 1, 11] over [2, 5, 7, 11] broadcasts inside its block of dims, which the loops do not read:
      // supports() says no, and the kernel, given it anyway, runs the reference.
      in[3] = makeTensor(type, {5, 1, 11}, randomValues(55, 9));
      const std::vector<ir::Shape> shapes = shapesOf(in);
      EXPECT_FALSE(fast->supports(node, shapes));
      expectSameValues(runChainKernel(*fast, node, in), runChainKernel(*ref, node, in), fast->name.data());
    }
  }
}

TEST(ElementwiseChainKernel, BadProgramsAreErrorsNamingTheNode) {
  const std::vector<Tensor> in = {makeTensor(DataType::kFloat32, {3, 20}, randomValues(60, 1))};
  ir::Node badOperand = chainNode({{.op = "Add", .operand = 3}});
  ir::Node unknownOp = chainNode({{.op = "Softmax"}});
  for (const KernelDef* k : {chainKernel(true), chainKernel(false, "f32-elementwisechain-avx2")}) {
    ASSERT_NE(k, nullptr);
    if (k->feature == kernels::CpuFeature::kAvx2 && !runtime::cpuSupports(k->feature)) continue;
    for (const ir::Node* node : {&badOperand, &unknownOp}) {
      std::vector<const Tensor*> ptrs = {&in[0]};
      Tensor out(DataType::kFloat32, {3, 20});
      KernelContext ctx(*node, ptrs, {&out}, kSerial,
                        [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
      const Status s = k->fn(ctx);
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << k->name;
      EXPECT_NE(s.message().find("chain"), std::string::npos) << s.message();
    }
  }
}

// ---- The pass ----

using testing::GraphBuilder;

using Spec = std::function<void(GraphBuilder&, DataType)>;

std::unique_ptr<ir::Graph> build(const Spec& spec, DataType type) {
  GraphBuilder b(20);
  spec(b, type);
  return b.finish();
}

using testing::runGraph;

std::unique_ptr<ir::Graph> fused(const Spec& spec, DataType type, int64_t expectedRewrites) {
  auto g = build(spec, type);
  auto applied = passes::applyRule(*g, passes::fuseElementwiseChainRule());
  EXPECT_TRUE(applied.isOk()) << applied.status().toString();
  EXPECT_EQ(applied.isOk() ? *applied : -1, expectedRewrites);
  EXPECT_TRUE(g->sortTopologically().isOk());
  Status s = onnx::inferGraph(*g);
  EXPECT_TRUE(s.isOk()) << s.toString();
  return g;
}

// The fused graph computes what the unfused one does, bit for bit: the chain kernel rounds between steps
// and uses the same loops as the single-op kernels.
void expectSameAsUnfused(const Spec& spec, DataType type, std::unique_ptr<ir::Graph> rewritten) {
  auto original = build(spec, type);
  std::vector<NamedTensor> inputs;
  unsigned seed = 5;
  for (const ir::Value* v : original->inputs()) {
    inputs.push_back(
        {v->name, makeTensor(v->type, v->shape.sizes(), randomValues(count(v->shape.sizes()), seed++))});
  }
  const std::vector<NamedTensor> want = runGraph(std::move(original), inputs);
  const std::vector<NamedTensor> got = runGraph(std::move(rewritten), inputs);
  ASSERT_EQ(want.size(), got.size());
  for (size_t o = 0; o < want.size(); ++o) {
    EXPECT_EQ(want[o].name, got[o].name);
    expectSameValues(got[o].tensor, want[o].tensor, want[o].name);
  }
}

std::vector<std::string> opTypes(const ir::Graph& g) {
  std::vector<std::string> ops;
  for (const ir::Node* n : g.nodes()) ops.push_back(n->opType);
  return ops;
}

// SiLU after a folded batch norm: y = x * a + b; out = y * sigmoid(y). y has two readers, so the chain
// starts after it: Sigmoid -> Mul(y); the affine part x * a + b is a chain of its own.
const Spec kSiluSpec = [](GraphBuilder& b, DataType type) {
  b.input("x", {2, 6, 5, 7}, type);
  b.constant("a", makeTensor(type, {6, 1, 1}, randomValues(6, 1)));
  b.constant("b", makeTensor(type, {6, 1, 1}, randomValues(6, 2)));
  b.node("Mul", "scale", {"x", "a"}, {"xa"});
  b.node("Add", "shift", {"xa", "b"}, {"y"});
  b.node("Sigmoid", "gate", {"y"}, {"s"});
  b.node("Mul", "silu", {"y", "s"}, {"out"});
  b.output("out");
};

// BERT's GELU, erf form as exported: x / sqrt(2) -> Erf -> + 1 -> * x -> * 0.5.
const Spec kGeluSpec = [](GraphBuilder& b, DataType type) {
  b.input("x", {2, 9, 24}, type);
  b.constant("sqrt2", makeTensor(type, {}, {1.4142135623730951}));
  b.constant("one", makeTensor(type, {}, {1.0}));
  b.constant("half", makeTensor(type, {}, {0.5}));
  b.node("Div", "gelu/div", {"x", "sqrt2"}, {"d"});
  b.node("Erf", "gelu/erf", {"d"}, {"e"});
  b.node("Add", "gelu/add", {"e", "one"}, {"p"});
  b.node("Mul", "gelu/mul", {"x", "p"}, {"m"});
  b.node("Mul", "gelu/mul_1", {"m", "half"}, {"out"});
  b.output("out");
};

TEST(FuseElementwiseChain, SiluAfterAnAffineMap) {
  for (DataType type : kTypes) {
    auto g = fused(kSiluSpec, type, 2);
    ASSERT_EQ(opTypes(*g), (std::vector<std::string>{"ElementwiseChain", "ElementwiseChain"}));
    const ir::Node* affine = g->nodes()[0];
    const ir::Node* silu = g->nodes()[1];
    EXPECT_EQ(affine->name, "shift");
    EXPECT_EQ(affine->absorbedNames, (std::vector<std::string>{"scale"}));
    EXPECT_EQ(affine->attributes.getStrings("ops"), (std::vector<std::string>{"Mul", "Add"}));
    EXPECT_EQ(silu->name, "silu");
    EXPECT_EQ(silu->absorbedNames, (std::vector<std::string>{"gate"}));
    EXPECT_EQ(silu->attributes.getStrings("ops"), (std::vector<std::string>{"Sigmoid", "Mul"}));
    EXPECT_EQ(silu->attributes.getInts("operands"),
              (std::vector<int64_t>{-1, 0}));  // y * sigmoid(y): X itself
    EXPECT_EQ(silu->domain, "lowp");
    expectSameAsUnfused(kSiluSpec, type, std::move(g));
  }
}

TEST(FuseElementwiseChain, BertGeluErfFormBecomesOneNode) {
  for (DataType type : kTypes) {
    auto g = fused(kGeluSpec, type, 4);
    ASSERT_EQ(opTypes(*g), (std::vector<std::string>{"ElementwiseChain"}));
    const ir::Node* chain = g->nodes()[0];
    EXPECT_EQ(chain->name, "gelu/mul_1");
    EXPECT_EQ(chain->absorbedNames,
              (std::vector<std::string>{"gelu/div", "gelu/erf", "gelu/add", "gelu/mul"}));
    EXPECT_EQ(chain->attributes.getStrings("ops"),
              (std::vector<std::string>{"Div", "Erf", "Add", "Mul", "Mul"}));
    EXPECT_EQ(chain->attributes.getInts("operands"), (std::vector<int64_t>{1, -1, 2, 0, 3}));
    EXPECT_EQ(chain->attributes.getInts("operand_first"), (std::vector<int64_t>{0, 0, 0, 1, 0}));
    ASSERT_EQ(chain->inputs.size(), 4u);
    EXPECT_EQ(chain->inputs[0]->name, "x");
    expectSameAsUnfused(kGeluSpec, type, std::move(g));
  }
}

// (The whole pipeline makes the GELU one Gelu node instead: fuse_gelu, tests/unit/test_fusion.cpp.)
TEST(FuseElementwiseChain, TheWholePipelineFusesAndKeepsOutputs) {
  auto g = build(kSiluSpec, DataType::kFloat32);
  passes::PipelineReport report;
  ASSERT_TRUE(passes::runPipeline(*g, &report).isOk());
  EXPECT_EQ(opTypes(*g), (std::vector<std::string>{"ElementwiseChain", "ElementwiseChain"}));
  bool reported = false;
  for (const auto& [rule, count] : report)
    reported = reported || (rule == "fuse_elementwise_chain" && count == 2);
  EXPECT_TRUE(reported);
  expectSameAsUnfused(kSiluSpec, DataType::kFloat32, std::move(g));
}

TEST(FuseElementwiseChain, LeavesSharedIntermediatesGraphOutputsAndOtherOps) {
  const Spec spec = [](GraphBuilder& b, DataType type) {
    b.input("x", {4, 8}, type);
    b.input("w", {8, 3}, type);
    b.input("row", {4, 1}, type);
    b.constant("c", makeTensor(type, {2, 4, 8}, randomValues(64, 3)));
    b.node("Relu", "shared", {"x"}, {"r"});  // read twice: Exp and Neg
    b.node("Exp", "exp", {"r"}, {"e"});
    b.node("Neg", "neg", {"r"}, {"n"});
    b.node("Tanh", "visible", {"e"}, {"t"});  // t is a graph output
    b.node("Abs", "abs", {"t"}, {"a"});
    b.node("Add", "grows", {"n", "c"}, {"g"});       // the operand grows the value's shape
    b.node("MatMul", "mm", {"a", "w"}, {"mm_out"});  // not elementwise
    b.node("Sigmoid", "after_mm", {"mm_out"}, {"s"});
    b.node("Softmax", "softmax", {"s"}, {"sm"});       // not chainable
    b.node("Mul", "row_scale", {"x", "row"}, {"xr"});  // [4,1] broadcasts into [4,8]: fusable
    b.node("Sqrt", "sqrt", {"xr"}, {"q0"});
    b.node("Sum", "sum", {"row", "q0"}, {"q"});  // a Sum of two is an Add
    b.output("t");
    b.output("a");
    b.output("g");
    b.output("sm");
    b.output("q");
  };
  // Relu -> Exp is blocked; Exp -> Tanh fuses; Mul -> Sqrt -> Sum fuses.
  auto g = fused(spec, DataType::kFloat32, 3);
  const std::vector<std::string> ops = opTypes(*g);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "ElementwiseChain"), 2);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Relu"), 1);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Abs"), 1);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Sigmoid"), 1);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "MatMul"), 1);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Sum"), 0);
  expectSameAsUnfused(spec, DataType::kFloat32, std::move(g));
}

}  // namespace
}  // namespace lowp::testing
