// Runtime tests: the memory plan, the thread pool, and the execution context's planning and arena reuse.
#include <gtest/gtest.h>

#include <atomic>
#include <random>

#include "ir/graph.h"
#include "onnx/importer.h"
#include "runtime/cpu_features.h"
#include "runtime/engine_impl.h"
#include "runtime/memory_plan.h"
#include "runtime/thread_pool.h"

namespace lowp {
namespace {

TEST(MemoryPlan, BuffersAliveTogetherNeverOverlap) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<runtime::BufferLifetime> buffers;
    for (int i = 0; i < 40; ++i) {
      int64_t first = rng() % 30;
      buffers.push_back(
          {static_cast<int64_t>(rng() % 5000 + 1), first, first + static_cast<int64_t>(rng() % 6)});
    }
    runtime::MemoryPlan plan = runtime::planMemory(buffers);
    for (size_t a = 0; a < buffers.size(); ++a) {
      EXPECT_EQ(plan.offsets[a] % 64, 0);
      EXPECT_LE(plan.offsets[a] + buffers[a].bytes, plan.arenaBytes);
      for (size_t b = a + 1; b < buffers.size(); ++b) {
        bool together =
            buffers[a].firstStep <= buffers[b].lastStep && buffers[b].firstStep <= buffers[a].lastStep;
        bool overlap = plan.offsets[a] < plan.offsets[b] + buffers[b].bytes &&
                       plan.offsets[b] < plan.offsets[a] + buffers[a].bytes;
        EXPECT_FALSE(together && overlap) << "buffers " << a << " and " << b << " share memory";
      }
    }
  }
}

TEST(MemoryPlan, ReusesMemoryOfDeadBuffers) {
  // A chain: each buffer dies when the next one is made, so two slots suffice.
  std::vector<runtime::BufferLifetime> chain;
  chain.reserve(10);
  for (int i = 0; i < 10; ++i) chain.push_back({1024, i, i + 1});
  runtime::MemoryPlan plan = runtime::planMemory(chain);
  EXPECT_EQ(plan.arenaBytes, 2 * 1024);
  EXPECT_EQ(plan.unplannedBytes, 10 * 1024);
}

TEST(ThreadPool, CoversTheRangeOnceAndAllowsNesting) {
  runtime::ThreadPool pool(2);
  std::vector<std::atomic<int>> hits(1000);
  pool.parallelFor(1000, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
    pool.parallelFor(4, 1, [](int64_t, int64_t) {});  // nested calls run serially, without deadlock
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
}

// x -> Relu -> Neg -> Relu -> ... : a chain of 12 elementwise nodes on [batch, 256].
std::shared_ptr<Engine> chainEngine() {
  auto graph = std::make_unique<ir::Graph>();
  ir::Value* x = graph->addValue("x").value();
  x->type = DataType::kFloat32;
  x->shape = ir::Shape({ir::Dim::symbolic("batch"), 256});
  x->isGraphInput = true;
  graph->inputs().push_back(x);
  ir::Value* prev = x;
  for (int i = 0; i < 12; ++i) {
    ir::Node* n = graph->addNode(i % 2 ? "Neg" : "Relu", "n" + std::to_string(i));
    n->opsetVersion = 17;
    graph->setInput(n, 0, prev);
    ir::Value* out = graph->addValue("v" + std::to_string(i)).value();
    EXPECT_TRUE(graph->addOutput(n, out).isOk());
    prev = out;
  }
  prev->isGraphOutput = true;
  graph->outputs().push_back(prev);
  EXPECT_TRUE(onnx::inferGraph(*graph).isOk());
  auto impl = runtime::prepareEngine(std::move(graph), EngineOptions{});
  EXPECT_TRUE(impl.isOk()) << impl.status().toString();
  return std::make_shared<Engine>(std::move(impl).value());
}

TEST(ExecutionContext, ReusesArenaMemoryAndReplansForNewShapes) {
  auto engine = chainEngine();
  ASSERT_EQ(engine->inputs()[0].shape, (std::vector<int64_t>{-1, 256}));
  EXPECT_EQ(engine->inputs()[0].dimNames[0], "batch");
  auto context = engine->createExecutionContext();
  for (int64_t batch : {2, 5, 2}) {
    Tensor x(DataType::kFloat32, {batch, 256});
    for (int64_t i = 0; i < x.elementCount(); ++i) x.data<float>()[i] = static_cast<float>(i % 7) - 3.0f;
    std::vector<NamedTensor> outputs;
    std::vector<NamedTensor> inputs{{"x", x}};
    ASSERT_TRUE(context->execute(inputs, outputs).isOk());
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_EQ(outputs[0].tensor.shape(), (std::vector<int64_t>{batch, 256}));
    // relu(neg(relu(...))) of anything is 0 after the first Neg; the last node is Neg: -0.
    for (int64_t i = 0; i < outputs[0].tensor.elementCount(); ++i)
      EXPECT_EQ(outputs[0].tensor.data<float>()[i], 0.0f);
    // 11 intermediate buffers, but at most two are alive at once.
    EXPECT_EQ(context->unplannedActivationBytes(), 11 * batch * 256 * 4);
    EXPECT_LE(context->plannedArenaBytes(), 2 * ((batch * 256 * 4 + 63) / 64 * 64));
  }
}

TEST(ExecutionContext, RejectsWrongInputs) {
  auto engine = chainEngine();
  auto context = engine->createExecutionContext();
  std::vector<NamedTensor> outputs;
  std::vector<NamedTensor> wrongRank{{"x", Tensor(DataType::kFloat32, {256})}};
  EXPECT_NE(context->execute(wrongRank, outputs).message().find("the model expects [batchx256]"),
            std::string::npos);
  std::vector<NamedTensor> wrongType{{"x", Tensor(DataType::kFloat64, {1, 256})}};
  EXPECT_NE(context->execute(wrongType, outputs).message().find("has type fp64"), std::string::npos);
  std::vector<NamedTensor> missing;
  EXPECT_NE(context->execute(missing, outputs).message().find("input 'x' is missing"), std::string::npos);
  std::vector<NamedTensor> unknown{{"x", Tensor(DataType::kFloat32, {1, 256})}, {"y", Tensor()}};
  EXPECT_NE(context->execute(unknown, outputs).message().find("unknown input 'y'"), std::string::npos);
}

// On the CPU a host tensor is an ordinary zeroed one; bad requests are errors naming what is wrong, and the
// lastDeviceTimes fields stay negative.
TEST(ExecutionContext, AllocatesHostTensorsAndRefusesBadRequests) {
  auto engine = chainEngine();
  auto context = engine->createExecutionContext();
  auto t = context->allocateHostTensor(DataType::kFloat32, {3, 256});
  ASSERT_TRUE(t) << t.status().toString();
  EXPECT_EQ(t->shape(), (std::vector<int64_t>{3, 256}));
  for (int64_t i = 0; i < t->elementCount(); ++i) EXPECT_EQ(t->data<float>()[i], 0.0f);
  auto negative = context->allocateHostTensor(DataType::kFloat32, {3, -1});
  ASSERT_FALSE(negative);
  EXPECT_NE(negative.status().message().find("negative dimension in [3x-1]"), std::string::npos)
      << negative.status().toString();
  auto untyped = context->allocateHostTensor(DataType::kUndefined, {3});
  ASSERT_FALSE(untyped);
  EXPECT_NE(untyped.status().message().find("no host tensor of type"), std::string::npos)
      << untyped.status().toString();
  std::vector<NamedTensor> outputs;
  ASSERT_TRUE(context->execute(std::vector<NamedTensor>{{"x", *t}}, outputs));
  EXPECT_LT(context->lastDeviceTimes().computeMs, 0.0f);
  EXPECT_LT(context->lastDeviceTimes().inputCopyMs, 0.0f);
}

// A tensor over storage from another allocator frees it with that allocator's deleter, after the last
// copy goes.
TEST(Tensor, AdoptedStorageIsFreedByItsDeleter) {
  bool freed = false;
  {
    std::shared_ptr<void> storage(new float[4]{1, 2, 3, 4}, [&](void* p) {
      delete[] static_cast<float*>(p);
      freed = true;
    });
    Tensor t = Tensor::adopt(DataType::kFloat32, {2, 2}, std::move(storage));
    Tensor copy = t;
    t = Tensor();
    EXPECT_FALSE(freed);
    EXPECT_EQ(copy.data<float>()[3], 4.0f);
  }
  EXPECT_TRUE(freed);
}

}  // namespace
}  // namespace lowp

namespace lowp {
namespace {

TEST(CpuFeatures, AgreeWithTheKernelFeatureQuery) {
  const runtime::CpuFeatures& f = runtime::cpuFeatures();
  EXPECT_TRUE(runtime::cpuSupports(kernels::CpuFeature::kNone));
  EXPECT_EQ(runtime::cpuSupports(kernels::CpuFeature::kAvx512Vnni), f.avx512Vnni);
  EXPECT_TRUE(!f.avx512 || f.avx2) << "every AVX-512 CPU lowp knows has AVX2";
  EXPECT_TRUE(!(f.avx512Vnni || f.avx512Bf16) || f.avx512);
  EXPECT_FALSE(runtime::describeCpuFeatures().empty());
}

}  // namespace
}  // namespace lowp
