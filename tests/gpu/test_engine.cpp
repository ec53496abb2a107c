// Engines on the CUDA device (EngineOptions::device = kCuda): the bundled models against the CPU reference
// engine on the same random inputs (TF32 allowed and not), context reuse and replanning, the errors for a
// node without a CUDA kernel, the inspector and the profiler, and `lowp run --device cuda`.
// Models are read relative to the working directory (the repository root: scripts/run-gpu-tests.sh).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gpu_test_util.h"
#include "graph_builder.h"
#include "lowp/engine.h"
#include "lowp/tensor_io.h"
#include "runtime/engine_impl.h"

namespace lowp::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDigits = "models/digits/digits.onnx";
constexpr const char* kMobileNet = "models/demo/mobilenet_v2_tiny.onnx";

EngineOptions cudaOptions(bool allowTf32) {
  EngineOptions o;
  o.device = Device::kCuda;
  o.allowTf32 = allowTf32;
  return o;
}

std::shared_ptr<Engine> load(const std::string& path, const EngineOptions& options) {
  auto engine = Engine::fromOnnxFile(path, options);
  EXPECT_TRUE(engine.isOk()) << path << ": " << engine.status().toString();
  return engine.isOk() ? *engine : nullptr;
}

// Every output of `got` within `tolerance` (relative L2) of `ref`, by name and shape.
void expectClose(const std::vector<NamedTensor>& ref, const std::vector<NamedTensor>& got, double tolerance,
                 const std::string& what) {
  ASSERT_EQ(ref.size(), got.size()) << what;
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_EQ(ref[i].name, got[i].name) << what;
    ASSERT_EQ(ref[i].tensor.shape(), got[i].tensor.shape()) << what << ": " << ref[i].name;
    ASSERT_EQ(ref[i].tensor.type(), got[i].tensor.type()) << what << ": " << ref[i].name;
    const double error = relativeL2(ref[i].tensor, got[i].tensor);
    EXPECT_LE(error, tolerance) << what << ": output " << ref[i].name;
    std::cout << what << ": " << ref[i].name << " relative L2 " << error << "\n";
  }
}

// The model on the CUDA engine against the CPU reference engine, on fresh random inputs of each batch size
// in turn (each new size replans the context), each run twice on one context.
void expectModelMatchesCpu(const std::string& path, std::vector<int64_t> sampleShape,
                           const std::vector<int64_t>& batches, bool allowTf32, double tolerance) {
  auto cpu = load(path, {});
  auto gpuEngine = load(path, cudaOptions(allowTf32));
  ASSERT_TRUE(cpu && gpuEngine);
  for (const ir::Node* node : gpuEngine->impl().graph->nodes()) {
    const auto& candidates = gpuEngine->impl().cudaKernelsOf[static_cast<size_t>(node->id)];
    ASSERT_FALSE(candidates.empty()) << node->describe();
    for (const kernels::KernelDef* k : candidates) {
      EXPECT_EQ(k->backend, kernels::Backend::kCuda) << node->describe();
      EXPECT_TRUE(allowTf32 || !k->name.starts_with("tf32-")) << node->describe() << ": " << k->name;
    }
  }
  auto cpuContext = cpu->createExecutionContext();
  auto gpuContext = gpuEngine->createExecutionContext();
  std::mt19937 rng(static_cast<unsigned>(batches.size() * 7 + (allowTf32 ? 1 : 0)));
  for (int64_t batch : batches) {
    sampleShape[0] = batch;
    const std::string input = cpu->inputs()[0].name;
    for (int repeat = 0; repeat < 2; ++repeat) {
      const std::vector<NamedTensor> inputs = {{input, randomTensor(rng, DataType::kFloat32, sampleShape)}};
      const std::vector<NamedTensor> ref = executeOk(*cpuContext, inputs);
      const std::vector<NamedTensor> got = executeOk(*gpuContext, inputs);
      expectClose(ref, got, tolerance,
                  path + " batch " + std::to_string(batch) + " run " + std::to_string(repeat + 1) +
                      (allowTf32 ? " (tf32)" : " (fp32)"));
    }
  }
}

TEST(CudaEngine, DigitsMatchesTheCpuWithTf32) {
  LOWP_REQUIRE_GPU();
  expectModelMatchesCpu(kDigits, {0, 1, 20, 20}, {8, 3}, true, 1e-3);
}

TEST(CudaEngine, DigitsMatchesTheCpuInFp32) {
  LOWP_REQUIRE_GPU();
  expectModelMatchesCpu(kDigits, {0, 1, 20, 20}, {8, 3}, false, 1e-5);
}

TEST(CudaEngine, MobileNetMatchesTheCpuWithTf32) {
  LOWP_REQUIRE_GPU();
  expectModelMatchesCpu(kMobileNet, {0, 3, 224, 224}, {1, 2}, true, 1e-3);
}

TEST(CudaEngine, MobileNetMatchesTheCpuInFp32) {
  LOWP_REQUIRE_GPU();
  expectModelMatchesCpu(kMobileNet, {0, 3, 224, 224}, {1, 2}, false, 1e-5);
}

TEST(CudaEngine, TensorCoresAreUsedOnlyWhereTf32IsAllowed) {
  LOWP_REQUIRE_GPU();
  for (bool allowTf32 : {true, false}) {
    auto engine = load(kMobileNet, cudaOptions(allowTf32));
    ASSERT_TRUE(engine);
    int tf32 = 0;
    for (const auto& candidates : engine->impl().cudaKernelsOf)
      tf32 += !candidates.empty() && candidates.front()->name.starts_with("tf32-");
    if (allowTf32) {
      EXPECT_GT(tf32, 0);
    } else {
      EXPECT_EQ(tf32, 0);
    }
  }
}

// A model of Relu then Acosh: CUDA has Relu and no Acosh.
std::unique_ptr<ir::Graph> reluAcoshGraph() {
  GraphBuilder b;
  b.input("x", {2, 5});
  b.node("Relu", "the_relu", {"x"}, {"r"});
  b.node("Acosh", "the_acosh", {"r"}, {"y"});
  b.output("y");
  return b.finish();
}

TEST(CudaEngine, ANodeWithoutACudaKernelIsAnErrorNamingIt) {
  LOWP_REQUIRE_GPU();
  auto impl = runtime::prepareEngine(reluAcoshGraph(), cudaOptions(true));
  ASSERT_FALSE(impl.isOk());
  EXPECT_EQ(impl.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(impl.status().node(), "the_acosh");
  EXPECT_NE(impl.status().message().find("no CUDA kernel for Acosh 'the_acosh' (types (fp32) -> (fp32))"),
            std::string::npos)
      << impl.status().toString();
  // The same graph runs on the CPU.
  EXPECT_TRUE(runtime::prepareEngine(reluAcoshGraph(), EngineOptions{}).isOk());
}

// Shape arithmetic folds on the CPU while planning; its results feed a CUDA Reshape and a graph output.
TEST(CudaEngine, PlanTimeValuesAreUploaded) {
  LOWP_REQUIRE_GPU();
  auto build = [] {
    GraphBuilder b;
    b.input("x", {2, 3, 4});
    b.node("Shape", "shape", {"x"}, {"s"});
    b.node("Mul", "dims", {"s", "s"}, {"s2"});  // folds while planning
    b.node("Relu", "relu", {"x"}, {"r"});
    b.node("Reshape", "reshape", {"r", "s"}, {"y"});  // reads a plan-time value on the device
    b.node("Add", "add", {"y", "y"}, {"z"});
    b.output("z");
    b.output("s2");
    return b.finish();
  };
  auto cpuImpl = runtime::prepareEngine(build(), EngineOptions{});
  auto gpuImpl = runtime::prepareEngine(build(), cudaOptions(false));
  ASSERT_TRUE(cpuImpl.isOk() && gpuImpl.isOk()) << gpuImpl.status().toString();
  Engine cpu(std::move(cpuImpl).value());
  Engine gpuEngine(std::move(gpuImpl).value());
  std::mt19937 rng(5);
  const std::vector<NamedTensor> inputs = {{"x", randomTensor(rng, DataType::kFloat32, {2, 3, 4})}};
  auto gpuContext = gpuEngine.createExecutionContext();
  const std::vector<NamedTensor> ref = executeOk(*cpu.createExecutionContext(), inputs);
  const std::vector<NamedTensor> got = executeOk(*gpuContext, inputs);
  ASSERT_EQ(got.size(), 2u);
  expectClose(ref, got, 0.0, "relu-reshape-add");
  EXPECT_EQ(got[1].tensor.data<int64_t>()[2], 16);
}

TEST(CudaEngine, TheInspectorSeesTheCpusTensorsAndTheProfilerTimesEachLayer) {
  LOWP_REQUIRE_GPU();
  auto engine = load(kDigits, cudaOptions(false));
  auto cpu = load(kDigits, {});
  ASSERT_TRUE(engine && cpu);
  auto context = engine->createExecutionContext();
  std::mt19937 rng(3);
  const std::vector<NamedTensor> inputs = {{"input", randomTensor(rng, DataType::kFloat32, {4, 1, 20, 20})}};

  // Every tensor the CPU engine computes, the GPU engine shows by the same name and close to it.
  struct Inspector final : TensorInspector {
    std::map<std::string, Tensor> seen;
    void tensorComputed(std::string_view name, const Tensor& value, float, int32_t) override {
      seen[std::string(name)] = value.clone();
    }
  } onGpu;
  Inspector onCpu;
  context->setTensorInspector(&onGpu);
  executeOk(*context, inputs);
  context->setTensorInspector(nullptr);
  auto cpuContext = cpu->createExecutionContext();
  cpuContext->setTensorInspector(&onCpu);
  executeOk(*cpuContext, inputs);
  ASSERT_FALSE(onCpu.seen.empty());
  EXPECT_EQ(onGpu.seen.size(), onCpu.seen.size());
  for (const auto& [name, value] : onCpu.seen) {
    auto it = onGpu.seen.find(name);
    ASSERT_NE(it, onGpu.seen.end()) << name;
    ASSERT_EQ(it->second.shape(), value.shape()) << name;
    EXPECT_LE(relativeL2(value, it->second), 1e-5) << name;
  }

  struct Times final : Profiler {
    std::map<std::string, int> calls;
    void reportLayerTime(std::string_view layer, float ms) override {
      EXPECT_GE(ms, 0.0f);
      ++calls[std::string(layer)];
    }
  } times;
  context->setProfiler(&times);
  executeOk(*context, inputs);
  executeOk(*context, inputs);
  context->setProfiler(nullptr);
  EXPECT_EQ(times.calls.size(), engine->impl().graph->nodes().size());
  for (const auto& [layer, calls] : times.calls) EXPECT_EQ(calls, 2) << layer;
}

// Median milliseconds of 50 executes (host inputs to host outputs) after 5 to warm up.
double medianExecuteMs(ExecutionContext& context, const std::vector<NamedTensor>& inputs) {
  std::vector<NamedTensor> outputs;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(context.execute(inputs, outputs).isOk());
  std::vector<double> ms;
  for (int i = 0; i < 50; ++i) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(context.execute(inputs, outputs).isOk());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(ms.begin(), ms.begin() + 25, ms.end());
  return ms[25];
}

TEST(CudaEngine, HostToHostLatency) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(11);
  struct Case {
    const char* model;
    std::vector<int64_t> shape;
  };
  for (const Case& c : {Case{kDigits, {1, 1, 20, 20}}, Case{kDigits, {256, 1, 20, 20}},
                        Case{kMobileNet, {1, 3, 224, 224}}, Case{kMobileNet, {32, 3, 224, 224}}}) {
    for (bool allowTf32 : {true, false}) {
      auto engine = load(c.model, cudaOptions(allowTf32));
      ASSERT_TRUE(engine);
      auto context = engine->createExecutionContext();
      const std::vector<NamedTensor> inputs = {
          {engine->inputs()[0].name, randomTensor(rng, DataType::kFloat32, c.shape)}};
      std::cout << "timing: " << c.model << " " << ir::formatSizes(c.shape) << (allowTf32 ? " tf32" : " fp32")
                << ": median of 50 executes " << medianExecuteMs(*context, inputs) << " ms (host to host)\n";
      // Where the time goes: one profiled run (each layer waited for), its total and slowest layers.
      struct Times final : Profiler {
        std::vector<std::pair<float, std::string>> layers;
        void reportLayerTime(std::string_view layer, float ms) override { layers.emplace_back(ms, layer); }
      } times;
      context->setProfiler(&times);
      std::vector<NamedTensor> outputs;
      ASSERT_TRUE(context->execute(inputs, outputs).isOk());
      context->setProfiler(nullptr);
      std::sort(times.layers.rbegin(), times.layers.rend());
      float total = 0;
      for (const auto& [ms, layer] : times.layers) total += ms;
      std::cout << "  profiled: " << times.layers.size() << " layers, " << total << " ms in all; slowest:";
      for (size_t i = 0; i < std::min<size_t>(3, times.layers.size()); ++i)
        std::cout << " " << times.layers[i].second << " " << times.layers[i].first << " ms;";
      std::cout << "\n";
    }
  }
}

// `lowp run --device cuda` on the digits' test images gives the CPU's top-1 for every image.
TEST(CudaEngine, LowpRunOnTheGpuGivesTheCpusTop1) {
  LOWP_REQUIRE_GPU();
  const fs::path cli = lowpProgram();
  ASSERT_FALSE(cli.empty()) << "no lowp program beside the tests";
  const std::string images = "models/digits/test_images.npy";
  const fs::path out = fs::temp_directory_path() / ("lowp_gpu_run_" + std::to_string(getpid()));
  const std::string command = cli.string() + " run --device cuda --onnx " + kDigits +
                              " --input input=" + images + " --save-outputs " + out.string() + " > " +
                              (out.string() + ".log") + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto gpuLogits = readTensorFile((out / "logits.npy").string());
  ASSERT_TRUE(gpuLogits.isOk()) << gpuLogits.status().toString();

  auto cpu = load(kDigits, {});
  ASSERT_TRUE(cpu);
  auto data = readTensorFile(images);
  ASSERT_TRUE(data.isOk()) << data.status().toString();
  const std::vector<NamedTensor> ref = executeOk(*cpu->createExecutionContext(), {{"input", *data}});
  ASSERT_EQ(ref.size(), 1u);
  const Tensor& cpuLogits = ref[0].tensor;
  ASSERT_EQ(cpuLogits.shape(), gpuLogits->shape());
  const int64_t rows = cpuLogits.shape()[0];
  const int64_t classes = cpuLogits.shape()[1];
  // `lowp run` allows TF32 (relative error near 1e-4): where the CPU's two best logits nearly tie, the GPU
  // may pick the other. Each disagreement must be such a tie: the GPU's class scores within 1e-3 of the
  // logits' range of the CPU's best on the CPU.
  const auto [lo, hi] =
      std::minmax_element(cpuLogits.data<float>(), cpuLogits.data<float>() + rows * classes);
  const float tie = 1e-3f * (*hi - *lo);
  int64_t disagree = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = cpuLogits.data<float>() + r * classes;
    const float* b = gpuLogits->data<float>() + r * classes;
    const int64_t cpuTop = std::max_element(a, a + classes) - a;
    const int64_t gpuTop = std::max_element(b, b + classes) - b;
    if (cpuTop == gpuTop) continue;
    ++disagree;
    EXPECT_LE(a[cpuTop] - a[gpuTop], tie) << "image " << r << ": the CPU says " << cpuTop << " (" << a[cpuTop]
                                          << "), the GPU " << gpuTop << " (CPU logit " << a[gpuTop] << ")";
  }
  std::cout << "lowp run --device cuda: top-1 differs from the CPU's on " << disagree << " of " << rows
            << " images (near-ties within " << tie << ")\n";
  EXPECT_LE(disagree, rows / 100);
  fs::remove_all(out);
  fs::remove(out.string() + ".log");
}

// `lowp explain --fp16 --device cuda` measures the GPU: its arithmetic from the compute capability, MatMul
// rates and bandwidth from CUDA events, both engines built and timed there, every check made.
TEST(CudaEngine, LowpExplainMeasuresTheGpu) {
  LOWP_REQUIRE_GPU();
  const fs::path cli = lowpProgram();
  ASSERT_FALSE(cli.empty()) << "no lowp program beside the tests";
  const fs::path out = fs::temp_directory_path() / ("lowp_gpu_explain_" + std::to_string(getpid()));
  const std::string json = out.string() + ".json";
  const std::string command = cli.string() + " explain --device cuda --fp16 --onnx " + kMobileNet +
                              " --shapes input:32x3x224x224 --batches 1,32 --warmUp 50 --duration 0.2 "
                              "--exportJson " +
                              json + " > " + out.string() + ".log 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(json);
  const nlohmann::json d = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(d.is_discarded());
  EXPECT_EQ(d["device"]["kind"], "cuda");
  EXPECT_GE(d["device"]["computeCapability"].get<int>(), 70);
  EXPECT_EQ(d["device"]["arithmetic"]["fp16"]["arithmetic"], "native");
  EXPECT_NE(d["device"]["fingerprint"].get<std::string>().find("gpu="), std::string::npos);
  const auto& matmul = d["rates"]["matmul"];
  ASSERT_TRUE(matmul["fp32"]["measured"].get<bool>()) << matmul.dump();
  ASSERT_TRUE(matmul["fp16"]["measured"].get<bool>()) << matmul.dump();
  // Tensor cores: fp16 well above fp32 (TF32 allowed, as the engines are built).
  EXPECT_GT(matmul["fp16"]["gflops"].get<double>(), 1.2 * matmul["fp32"]["gflops"].get<double>())
      << matmul.dump();
  EXPECT_GT(d["rates"]["bandwidthGBs"].get<double>(), 100.0);
  EXPECT_EQ(d["findings"].size(), 9u);
  for (const auto& f : d["findings"]) EXPECT_FALSE(f["finding"].get<std::string>().empty()) << f.dump();
  std::cout << "lowp explain --device cuda: fp16 MatMul " << matmul["fp16"]["gflops"] << " GFLOP/s, fp32 "
            << matmul["fp32"]["gflops"] << " GFLOP/s, copy " << d["rates"]["bandwidthGBs"]
            << " GB/s; speedup " << d["runs"][0]["medianMs"] << " ms -> " << d["runs"][1]["medianMs"]
            << " ms\n";
  fs::remove(json);
  fs::remove(out.string() + ".log");
}

}  // namespace
}  // namespace lowp::testing
