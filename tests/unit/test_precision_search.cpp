// The global precision/format search against the per-layer greedy choice and against exhaustive search.
#include <gtest/gtest.h>

#include <random>

#include "builder/precision_search.h"

namespace lowp::builder {
namespace {

// Two states per tensor: 0 = fp32, 1 = fp16; converting either way costs `convertMs`.
SearchTensor tensor(const std::string& name, double convertMs, int given = -1, int required = -1) {
  SearchTensor t;
  t.name = name;
  t.stateCount = 2;
  t.reformatMs = {{0, convertMs}, {convertMs, 0}};
  t.givenState = given;
  t.requiredState = required;
  return t;
}

// A layer with an fp32 and an fp16 tactic (all inputs and outputs in the tactic's state).
SearchLayer layer(const std::string& name, const std::vector<int>& in, const std::vector<int>& out,
                  double fp32Ms, double fp16Ms) {
  SearchLayer l{name, in, out, {}};
  l.tactics.push_back({"fp32", std::vector<int>(in.size(), 0), std::vector<int>(out.size(), 0), fp32Ms});
  l.tactics.push_back({"fp16", std::vector<int>(in.size(), 1), std::vector<int>(out.size(), 1), fp16Ms});
  return l;
}

TEST(PrecisionSearch, GlobalBeatsGreedyWhenConversionsEatTheGain) {
  // x(fp32) -> A -> B -> C -> y(fp32). Only B is faster in fp16 (by 0.1 ms), but running B in fp16 costs a
  // conversion before and after it (0.3 ms each). Greedy takes it; the global search does not.
  SearchProblem p;
  p.tensors = {tensor("x", 0.3, 0), tensor("a", 0.3), tensor("b", 0.3), tensor("y", 0.3, -1, 0)};
  p.layers = {layer("A", {0}, {1}, 1.0, 1.2), layer("B", {1}, {2}, 1.0, 0.9), layer("C", {2}, {3}, 1.0, 1.2)};
  SearchSolution greedy = searchGreedy(p);
  SearchSolution global = searchGlobal(p);
  EXPECT_EQ(greedy.tacticOf, (std::vector<int>{0, 1, 0}));
  EXPECT_NEAR(greedy.totalMs(), 2.9 + 0.6, 1e-9);
  EXPECT_EQ(global.tacticOf, (std::vector<int>{0, 0, 0}));
  EXPECT_NEAR(global.totalMs(), 3.0, 1e-9);
}

TEST(PrecisionSearch, StaysInLowPrecisionWhenARunOfLayersPays) {
  // Each layer alone gains too little to pay for conversions, but the run of four gains more than two.
  SearchProblem p;
  p.tensors.push_back(tensor("x", 0.25, 0));
  for (int i = 0; i < 4; ++i) p.tensors.push_back(tensor("t" + std::to_string(i), 0.25, -1, i == 3 ? 0 : -1));
  for (int i = 0; i < 4; ++i) p.layers.push_back(layer("L" + std::to_string(i), {i}, {i + 1}, 1.0, 0.8));
  SearchSolution global = searchGlobal(p);
  EXPECT_EQ(global.tacticOf, (std::vector<int>{1, 1, 1, 1}));
  EXPECT_NEAR(global.totalMs(), 4 * 0.8 + 0.5, 1e-9);
}

// Bottleneck blocks in the shape of ResNet's, `blocks` of them: b -> conv1 -> t -> conv3(t, residual b) ->
// b'. States: 0 = fp16, 1 = int8, a conversion costs 0.1-0.5 ms. Each conv has an fp16 tactic and int8
// tactics (group 1) that are faster or slower by a random factor, with every input/residual/output state mix.
SearchProblem residualBlocks(std::mt19937& rng, int blocks) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  SearchProblem p;
  auto addTensor = [&](int given, int required) {
    p.tensors.push_back(tensor("", 0.1 + 0.4 * unit(rng), given, required));
    return static_cast<int>(p.tensors.size() - 1);
  };
  auto tactic = [](std::vector<int> in, std::vector<int> out, double ms, int group) {
    SearchTactic t;
    t.inputStates = std::move(in);
    t.outputStates = std::move(out);
    t.timeMs = ms;
    t.group = group;
    return t;
  };
  int b = addTensor(0, -1);
  for (int k = 0; k < blocks; ++k) {
    const int t = addTensor(-1, -1);
    const int next = addTensor(-1, k == blocks - 1 ? 0 : -1);
    const double ms1 = 0.5 + unit(rng);
    SearchLayer conv1{"conv1", {b}, {t}, {}};
    conv1.tactics = {tactic({0}, {0}, ms1, 0), tactic({1}, {1}, ms1 * (0.4 + 0.6 * unit(rng)), 1),
                     tactic({1}, {0}, ms1 * (0.45 + 0.6 * unit(rng)), 1)};
    const double ms3 = 0.5 + unit(rng);
    SearchLayer conv3{"conv3", {t, b}, {next}, {}};
    conv3.tactics = {tactic({0, 0}, {0}, ms3, 0)};
    for (int residual : {0, 1}) {
      for (int out : {0, 1})
        conv3.tactics.push_back(tactic({1, residual}, {out}, ms3 * (0.6 + 0.7 * unit(rng)), 1));
    }
    p.layers.push_back(conv1);
    p.layers.push_back(conv3);
    b = next;
  }
  return p;
}

// Whole residual blocks move between fp16 and int8 only together; the exact search finds the best mix every
// time, where the heuristic misses it on some (about one in six of these).
TEST(PrecisionSearch, ExactOnResidualBlocks) {
  std::mt19937 rng(5);
  int heuristicMisses = 0;
  for (int trial = 0; trial < 300; ++trial) {
    SearchProblem p = residualBlocks(rng, 2 + trial % 3);
    SearchSolution exhaustive = searchExhaustive(p);
    ASSERT_FALSE(exhaustive.tacticOf.empty());
    EXPECT_NEAR(searchGlobal(p).totalMs(), exhaustive.totalMs(), 1e-9) << "trial " << trial;
    if (searchGlobal(p, 0).totalMs() > exhaustive.totalMs() + 1e-9) ++heuristicMisses;
  }
  EXPECT_GT(heuristicMisses, 0) << "the problems no longer need the exact search";
}

// A random chain or residual DAG with three states per tensor and 1-4 tactics per layer.
SearchProblem randomProblem(std::mt19937& rng, int layers, bool residual) {
  std::uniform_real_distribution<double> time(0.1, 2.0);
  std::uniform_int_distribution<int> state(0, 2);
  SearchProblem p;
  auto addTensor = [&](int given, int required) {
    SearchTensor t;
    t.stateCount = 3;
    t.reformatMs.assign(3, std::vector<double>(3, 0.0));
    for (auto& row : t.reformatMs) {
      for (double& v : row) v = time(rng) * 0.5;
    }
    t.givenState = given;
    t.requiredState = required;
    p.tensors.push_back(t);
    return static_cast<int>(p.tensors.size() - 1);
  };
  int current = addTensor(0, -1);
  int skip = current;
  for (int l = 0; l < layers; ++l) {
    SearchLayer layer;
    layer.inputs = {current};
    bool join = residual && l % 3 == 2;  // every third layer adds the branch from three layers back
    if (join) layer.inputs.push_back(skip);
    int out = addTensor(-1, l == layers - 1 ? 0 : -1);
    layer.outputs = {out};
    int tactics = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < tactics; ++k) {
      SearchTactic t;
      for (size_t i = 0; i < layer.inputs.size(); ++i) t.inputStates.push_back(state(rng));
      t.outputStates = {state(rng)};
      t.timeMs = time(rng);
      layer.tactics.push_back(t);
    }
    p.layers.push_back(layer);
    if (join) skip = out;
    current = out;
  }
  return p;
}

TEST(PrecisionSearch, ExactOnChains) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    SearchProblem p = randomProblem(rng, 2 + trial % 6, false);
    SearchSolution exhaustive = searchExhaustive(p);
    SearchSolution global = searchGlobal(p);
    ASSERT_FALSE(exhaustive.tacticOf.empty());
    EXPECT_NEAR(global.totalMs(), exhaustive.totalMs(), 1e-9) << "trial " << trial;
  }
}

TEST(PrecisionSearch, ExactOnResidualGraphs) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    SearchProblem p = randomProblem(rng, 3 + trial % 6, true);
    SearchSolution exhaustive = searchExhaustive(p);
    EXPECT_NEAR(searchGlobal(p).totalMs(), exhaustive.totalMs(), 1e-9) << "trial " << trial;
  }
}

// The heuristic that takes over where too many tensors are live at once.
TEST(PrecisionSearch, HeuristicNeverWorseThanGreedyAndNearlyAlwaysOptimalOnResidualGraphs) {
  std::mt19937 rng(11);
  int optimal = 0;
  const int trials = 200;
  for (int trial = 0; trial < trials; ++trial) {
    SearchProblem p = randomProblem(rng, 3 + trial % 6, true);
    SearchSolution exhaustive = searchExhaustive(p);
    SearchSolution heuristic = searchGlobal(p, 0);
    EXPECT_LE(heuristic.totalMs(), searchGreedy(p).totalMs() + 1e-9);
    EXPECT_GE(heuristic.totalMs(), exhaustive.totalMs() - 1e-9);
    if (heuristic.totalMs() <= exhaustive.totalMs() + 1e-9) ++optimal;
  }
  EXPECT_GE(optimal, trials * 95 / 100) << optimal << " of " << trials << " optimal";
}

// A layer that leaves more live states than allowed hands over to the heuristic, which still answers.
TEST(PrecisionSearch, FallsBackWhenTooManyTensorsAreLive) {
  std::mt19937 rng(12);
  SearchProblem p = residualBlocks(rng, 3);
  SearchSolution exact = searchGlobal(p);
  SearchSolution limited = searchGlobal(p, 1);
  EXPECT_EQ(limited.tacticOf.size(), p.layers.size());
  EXPECT_GE(limited.totalMs(), exact.totalMs() - 1e-9);
}

}  // namespace
}  // namespace lowp::builder
