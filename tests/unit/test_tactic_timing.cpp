// Tactic timing and the timing cache: measurement on real-sized data, keys, and refusal of bad caches.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "builder/tactic_timing.h"
#include "onnx/importer.h"

namespace lowp::builder {
namespace {

struct ReluGraph {
  ir::Graph graph;
  ir::Node* node = nullptr;
  explicit ReluGraph(const std::vector<int64_t>& shape) {
    ir::Value* x = graph.addValue("x").value();
    x->type = DataType::kFloat32;
    x->shape = ir::Shape::fromSizes(shape);
    x->isGraphInput = true;
    graph.inputs().push_back(x);
    node = graph.addNode("Relu", "relu");
    node->opsetVersion = 17;
    graph.setInput(node, 0, x);
    ir::Value* y = graph.addValue("y").value();
    EXPECT_TRUE(graph.addOutput(node, y).isOk());
    EXPECT_TRUE(onnx::inferGraph(graph).isOk());
  }
};

const kernels::KernelDef& referenceKernel(const std::string& op) {
  for (const kernels::KernelDef& k : kernels::KernelRegistry::global().all()) {
    if (k.opType == op && k.reference) return k;
  }
  throw std::runtime_error("no reference kernel for " + op);
}

kernels::ParallelFor serial() {
  return [](int64_t n, int64_t, const std::function<void(int64_t, int64_t)>& fn) { fn(0, n); };
}

TEST(TacticTiming, MeasuresAndGrowsWithTheWork) {
  ReluGraph small({16, 64});
  ReluGraph large({256, 4096});
  auto parallel = serial();
  auto tSmall = timeKernel(*small.node, referenceKernel("Relu"), parallel, {1, 5});
  auto tLarge = timeKernel(*large.node, referenceKernel("Relu"), parallel, {1, 5});
  ASSERT_TRUE(tSmall.isOk() && tLarge.isOk());
  EXPECT_GT(*tSmall, 0.0);
  EXPECT_GT(*tLarge, *tSmall);  // 1024 times the elements
}

// The first run prepares (weights, library algorithms, memory): a slow first run alone neither abandons a
// tactic nor shortens its measurement; a slow second run abandons it.
TEST(TacticTiming, DecisionsWaitForTheSecondRun) {
  ReluGraph g({4, 4});
  TimingOptions options;
  options.abandonAboveMs = 10;
  std::vector<double> script = {50, 1, 1, 2, 1, 1, 1};
  size_t next = 0;
  auto ms = medianOfRuns(*g.node, options, [&](int) -> Result<double> { return script[next++]; });
  ASSERT_TRUE(ms.isOk());
  EXPECT_EQ(*ms, 1.0);
  EXPECT_EQ(next, script.size());  // two warm-up runs and five timed ones

  script = {50, 30, 1, 1, 1, 1, 1};
  next = 0;
  ms = medianOfRuns(*g.node, options, [&](int) -> Result<double> { return script[next++]; });
  ASSERT_TRUE(ms.isOk());
  EXPECT_EQ(*ms, 30.0);
  EXPECT_EQ(next, 2u);
}

// Runs shorter than the group size are repeated in groups after the warm-up.
TEST(TacticTiming, ShortRunsAreTimedInGroups) {
  ReluGraph g({4, 4});
  TimingOptions options;
  options.minGroupMs = 0.2;
  std::vector<int> repeats;
  auto ms = medianOfRuns(*g.node, options, [&](int r) -> Result<double> {
    repeats.push_back(r);
    return 0.01;
  });
  ASSERT_TRUE(ms.isOk());
  EXPECT_EQ(repeats.front(), 1);
  EXPECT_EQ(repeats.back(), 20);
}

// A kernel of a few tens of microseconds gets enough timed runs to fill the minimum (an odd count, up to
// the cap); a long one keeps the usual five.
TEST(TacticTiming, ShortKernelsGetMoreTimedRuns) {
  ReluGraph g({4, 4});
  TimingOptions options;
  options.minTimedMs = 2.0;
  auto runsOf = [&](double each) {
    int runs = 0;
    auto ms = medianOfRuns(*g.node, options, [&](int) -> Result<double> {
      ++runs;
      return each;
    });
    EXPECT_TRUE(ms.isOk());
    return runs - options.warmupRuns;
  };
  EXPECT_EQ(runsOf(1.0), 5);
  EXPECT_EQ(runsOf(0.1), 21);
  EXPECT_EQ(runsOf(0.001), TimingOptions::kMaxTimedRuns);
}

// Timing data is valid everywhere (floats in [-1, 1), integers 0 or 1) and varies up to the last elements,
// far past the generator's period, for a size that is no multiple of it.
Status checkTimingData(kernels::KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& i = ctx.input(1);
  const float* xs = x.data<float>();
  bool floatsVary = false;
  for (int64_t e = 0; e < x.elementCount(); ++e) {
    if (!(xs[e] >= -1.0f && xs[e] < 1.0f)) return ctx.invalid("float out of range at " + std::to_string(e));
    floatsVary |= e > x.elementCount() - 100 && xs[e] != xs[e - 1];
  }
  bool intsVary = false;
  for (int64_t e = 0; e < i.elementCount(); ++e) {
    const int64_t v = i.data<int64_t>()[e];
    if (v != 0 && v != 1) return ctx.invalid("index out of range at " + std::to_string(e));
    intsVary |= e > i.elementCount() - 100 && v != i.data<int64_t>()[e - 1];
  }
  if (!floatsVary || !intsVary) return ctx.invalid("the last elements do not vary");
  return {};
}

TEST(TacticTiming, FillsInputsWithValidVaryingData) {
  ir::Graph graph;
  const std::vector<int64_t> shape = {3, 65536 + 7};
  ir::Value* x = graph.addValue("x").value();
  x->type = DataType::kFloat32;
  x->shape = ir::Shape::fromSizes(shape);
  ir::Value* i = graph.addValue("i").value();
  i->type = DataType::kInt64;
  i->shape = ir::Shape::fromSizes(shape);
  ir::Node* node = graph.addNode("Checker", "checker");
  graph.setInput(node, 0, x);
  graph.setInput(node, 1, i);
  kernels::KernelDef checker;
  checker.opType = "Checker";
  checker.name = "any-checker-test";
  checker.fn = checkTimingData;
  auto ms = timeKernel(*node, checker, serial(), {1, 1});
  EXPECT_TRUE(ms.isOk()) << ms.status().message();
}

TEST(TacticTiming, RefusesUnknownShapes) {
  ReluGraph g({16, 64});
  g.graph.inputs()[0]->shape = ir::Shape({ir::Dim::symbolic("batch"), 64});
  ASSERT_TRUE(onnx::inferGraph(g.graph).isOk());
  auto parallel = serial();
  auto t = timeKernel(*g.node, referenceKernel("Relu"), parallel);
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("Relu 'relu': cannot time a kernel on 'x' of shape [batchx64]"),
            std::string::npos)
      << t.status().message();
}

TEST(TimingCache, KeysSeparateShapesAndRoundTrip) {
  ReluGraph a({16, 64});
  ReluGraph b({16, 65});
  const auto& relu = referenceKernel("Relu");
  EXPECT_NE(timingKey(*a.node, relu), timingKey(*b.node, relu));
  EXPECT_EQ(timingKey(*a.node, relu), timingKey(*ReluGraph({16, 64}).node, relu));

  const std::string path = ::testing::TempDir() + "/timing.cache";
  TimingCache cache("cpu: test (2 threads)");
  cache.insert(timingKey(*a.node, relu), 0.125);
  ASSERT_TRUE(cache.save(path).isOk());
  auto loaded = TimingCache::load(path, "cpu: test (2 threads)");
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  EXPECT_EQ(loaded->find(timingKey(*a.node, relu)), 0.125);
  EXPECT_FALSE(loaded->find(timingKey(*b.node, relu)).has_value());

  auto other = TimingCache::load(path, "cpu: another (8 threads)");
  ASSERT_FALSE(other.isOk());
  EXPECT_NE(other.status().message().find("measured on 'cpu: test (2 threads)'"), std::string::npos);
}

TEST(TimingCache, RefusesCorruptFiles) {
  const std::string path = ::testing::TempDir() + "/corrupt.cache";
  for (const char* text :
       {"", "{", "[1,2]", R"({"format": "other"})",
        R"({"format": "lowp-timing-cache", "version": 99, "fingerprint": "x", "entries": {}})",
        R"({"format": "lowp-timing-cache", "version": 1, "fingerprint": "x", "entries": {"k": "fast"}})"}) {
    std::ofstream(path) << text;
    auto loaded = TimingCache::load(path, "x");
    EXPECT_FALSE(loaded.isOk()) << text;
    EXPECT_NE(loaded.status().message().find(path), std::string::npos);
  }
  EXPECT_FALSE(TimingCache::load(::testing::TempDir() + "/missing.cache", "x").isOk());
}

}  // namespace
}  // namespace lowp::builder
