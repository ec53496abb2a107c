// lower_einsum (passes/lower_einsum.cpp): Einsums that are matrix products become Transpose / Reshape /
// MatMul, permutations a Transpose; the lowered graph, run with reference kernels, equals the Einsum's
// result within fp32 rounding (the MatMul sums in another order), and run as an engine agrees too. What the
// rule declines keeps its Einsum.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "graph_builder.h"
#include "op_runner.h"
#include "passes/pipeline.h"
#include "passes/rules.h"

namespace lowp {
namespace {

using testing::GraphBuilder;

Tensor randomTensor(const std::vector<int64_t>& shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t(DataType::kFloat32, shape);
  for (int64_t i = 0; i < t.elementCount(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

struct Case {
  std::string equation;
  std::vector<std::vector<int64_t>> shapes;
  bool constantSecond = false;  ///< the second operand a constant (weights)
};

std::unique_ptr<ir::Graph> einsumGraph(const Case& c) {
  GraphBuilder b;
  std::vector<std::string> names;
  for (size_t i = 0; i < c.shapes.size(); ++i) {
    const std::string name = "x" + std::to_string(i);
    if (i == 1 && c.constantSecond) {
      b.constant(name, randomTensor(c.shapes[i], 100));
    } else {
      b.input(name, c.shapes[i]);
    }
    names.push_back(name);
  }
  b.node("Einsum", "einsum", names, {"y"}, testing::attrs({{"equation", c.equation}}));
  b.node("Relu", "relu", {"y"}, {"z"});
  b.output("z");
  return b.finish();
}

std::vector<NamedTensor> inputsOf(const ir::Graph& g) {
  std::vector<NamedTensor> inputs;
  unsigned seed = 1;
  for (const ir::Value* v : g.inputs()) inputs.push_back({v->name, randomTensor(v->shape.sizes(), seed++)});
  return inputs;
}

int countOps(const ir::Graph& g, const std::string& op) {
  return static_cast<int>(
      std::count_if(g.nodes().begin(), g.nodes().end(), [&](const ir::Node* n) { return n->opType == op; }));
}

// Applies the rule alone, then types and shapes are inferred again.
int64_t lower(ir::Graph& g) {
  auto applied = passes::applyRule(g, passes::lowerEinsumRule());
  EXPECT_TRUE(applied.isOk()) << applied.status().toString();
  EXPECT_TRUE(g.sortTopologically().isOk());
  const Status s = onnx::inferGraph(g);
  EXPECT_TRUE(s.isOk()) << s.toString();
  return applied.isOk() ? *applied : -1;
}

void expectClose(const std::vector<Tensor>& want, const std::vector<Tensor>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t o = 0; o < want.size(); ++o) {
    ASSERT_EQ(want[o].shape(), got[o].shape()) << what;
    int bad = 0;
    for (int64_t i = 0; i < want[o].elementCount(); ++i) {
      const float w = want[o].data<float>()[i];
      const float g = got[o].data<float>()[i];
      if (!(std::abs(g - w) <= 1e-5f * std::max(1.0f, std::abs(w))) && bad++ < 3)
        ADD_FAILURE() << what << ": element " << i << " is " << g << ", the Einsum gives " << w;
    }
  }
}

TEST(LowerEinsum, MatrixProductsBecomeMatMulAndMatch) {
  const std::vector<Case> cases = {
      {"ij,jk->ik", {{5, 7}, {7, 3}}},
      {"ij,jk->ik", {{5, 7}, {7, 3}}, true},
      {"ij,kj->ik", {{5, 7}, {3, 7}}, true},  // a Linear layer's weights [out, in]
      {"bij,bjk->bik", {{2, 5, 7}, {2, 7, 3}}},
      {"bhqd,bhkd->bhqk", {{2, 3, 5, 8}, {2, 3, 6, 8}}},  // attention scores
      {"bhqk,bhkd->bqhd", {{2, 3, 5, 6}, {2, 3, 6, 8}}},  // scores by values, heads moved
      {"bid,de->bie", {{2, 5, 7}, {7, 4}}, true},         // batch-free rows
      {"ik,kj->ji", {{5, 7}, {7, 3}}},                    // output transposed
      {"...ij,...jk->...ik", {{2, 3, 5, 7}, {2, 3, 7, 4}}},
      {"i,i->", {{9}, {9}}},    // inner product
      {"i,j->ij", {{4}, {6}}},  // outer product: nothing contracted
      {"abc,cd->abd", {{2, 3, 4}, {4, 5}}},
      {"ij,jk", {{5, 7}, {7, 3}}},  // implicit output
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.equation + (c.constantSecond ? " (constant second operand)" : ""));
    auto plain = einsumGraph(c);
    auto lowered = einsumGraph(c);
    EXPECT_EQ(lower(*lowered), 1);
    EXPECT_EQ(countOps(*lowered, "Einsum"), 0);
    EXPECT_EQ(countOps(*lowered, "MatMul"), 1);
    const std::vector<NamedTensor> inputs = inputsOf(*plain);
    const std::vector<Tensor> want = testing::runReference(*plain, inputs);
    expectClose(want, testing::runReference(*lowered, inputs), "reference kernels");
    std::vector<Tensor> engine;
    for (NamedTensor& t : testing::runGraph(std::move(lowered), inputs))
      engine.push_back(std::move(t.tensor));
    expectClose(want, engine, "engine");
  }
}

TEST(LowerEinsum, TheMatMulKeepsTheEinsumsName) {
  auto g = einsumGraph({"bij,bjk->bik", {{2, 5, 7}, {2, 7, 3}}});
  ASSERT_EQ(lower(*g), 1);
  int matmuls = 0;
  for (const ir::Node* n : g->nodes()) {
    if (n->opType == "MatMul") {
      EXPECT_EQ(n->name, "einsum");
      ++matmuls;
    }
  }
  EXPECT_EQ(matmuls, 1);
  // Nothing to permute or view: the product writes the Einsum's output itself.
  EXPECT_EQ(g->nodes().size(), 2u);
}

TEST(LowerEinsum, PermutationsBecomeATranspose) {
  for (const Case& c :
       std::vector<Case>{{"ij->ji", {{4, 6}}}, {"abc->cab", {{2, 3, 4}}}, {"ij->ij", {{4, 6}}}}) {
    SCOPED_TRACE(c.equation);
    auto plain = einsumGraph(c);
    auto lowered = einsumGraph(c);
    EXPECT_EQ(lower(*lowered), 1);
    EXPECT_EQ(countOps(*lowered, "Einsum"), 0);
    const std::vector<NamedTensor> inputs = inputsOf(*plain);
    expectClose(testing::runReference(*plain, inputs), testing::runReference(*lowered, inputs), "reference");
  }
}

TEST(LowerEinsum, DeclinesWhatIsNotAMatrixProduct) {
  const std::vector<Case> cases = {
      {"ii,ij->j", {{4, 4}, {4, 5}}},                  // a diagonal
      {"ij,jk->k", {{4, 5}, {5, 6}}},                  // i summed in the first operand only
      {"ij,kl->ij", {{4, 5}, {6, 7}}},                 // the second operand summed whole
      {"...ij,...jk->...ik", {{1, 5, 7}, {3, 7, 4}}},  // "..." broadcasts
      {"ij->i", {{4, 6}}},                             // a reduction
      {"ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 5}}},      // three operands
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.equation);
    auto g = einsumGraph(c);
    EXPECT_EQ(lower(*g), 0);
    EXPECT_EQ(countOps(*g, "Einsum"), 1);
  }
}

TEST(LowerEinsum, RunsFirstInThePipeline) {
  ASSERT_FALSE(passes::pipelineRules().empty());
  EXPECT_EQ(passes::pipelineRules().front(), &passes::lowerEinsumRule());
}

}  // namespace
}  // namespace lowp
