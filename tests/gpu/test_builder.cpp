// The builder on the CUDA device (BuilderConfig::setDevice): tactics timed on the GPU, chosen precisions
// against the CPU reference engine, the timing cache of a GPU, engine files of GPU engines, CUDA graphs,
// several contexts on several threads, and constraints the GPU cannot meet. Models are read relative to the
// repository root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gpu_test_util.h"
#include "lowp/builder.h"
#include "lowp/calibration.h"
#include "lowp/engine.h"
#include "lowp/tensor_io.h"
#include "runtime/engine_impl.h"

namespace lowp::testing {
namespace {

constexpr const char* kDigits = "models/digits/digits.onnx";
constexpr const char* kMobileNet = "models/demo/mobilenet_v2_tiny.onnx";

struct Captured final : Logger {
  std::vector<std::string> lines;
  void log(Severity, std::string_view message) override { lines.emplace_back(message); }
  bool has(const std::string& text) const {
    for (const std::string& l : lines) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

struct Build {
  std::unique_ptr<NetworkDefinition> network;
  BuilderConfig config;
};

Build forGpu(const std::string& model, const std::string& input, std::vector<int64_t> shape) {
  Build b;
  auto network = NetworkDefinition::fromOnnxFile(model);
  EXPECT_TRUE(network.isOk()) << network.status().toString();
  b.network = std::move(network).value();
  b.config.setDevice(Device::kCuda);
  b.config.setShape(input, std::move(shape));
  return b;
}

std::shared_ptr<Engine> build(Build& b, Logger& logger) {
  auto engine = Builder(logger).build(*b.network, b.config);
  EXPECT_TRUE(engine.isOk()) << engine.status().toString();
  return engine.isOk() ? *engine : nullptr;
}

// The relative L2 error of `engine` against the model's CPU engine on random inputs of `shape`.
double errorAgainstCpu(const std::string& model, Engine& engine, const std::vector<int64_t>& shape) {
  auto cpu = Engine::fromOnnxFile(model);
  EXPECT_TRUE(cpu.isOk());
  std::mt19937 rng(17);
  const std::vector<NamedTensor> inputs = {
      {engine.inputs()[0].name, randomTensor(rng, DataType::kFloat32, shape)}};
  const auto ref = executeOk(*(*cpu)->createExecutionContext(), inputs);
  const auto got = executeOk(*engine.createExecutionContext(), inputs);
  EXPECT_EQ(ref.size(), got.size());
  if (ref.empty() || got.empty()) return 1e30;
  return relativeL2(ref[0].tensor, got[0].tensor);
}

// Every layer that runs at run time has exactly its chosen CUDA kernel; layers that fold run on the host.
void expectCudaKernels(const Engine& engine) {
  const auto& impl = engine.impl();
  ASSERT_EQ(engine.device(), Device::kCuda);
  const std::vector<bool> folded = runtime::foldedWhilePlanning(*impl.graph);
  for (const ir::Node* node : impl.graph->nodes()) {
    const auto id = static_cast<size_t>(node->id);
    if (folded[id]) {
      EXPECT_TRUE(impl.cudaKernelsOf[id].empty()) << node->describe();
      EXPECT_EQ(impl.kernelOf[id]->backend, kernels::Backend::kCpu) << node->describe();
      continue;
    }
    ASSERT_EQ(impl.cudaKernelsOf[id].size(), 1u) << node->describe();
    EXPECT_EQ(impl.cudaKernelsOf[id][0], impl.kernelOf[id]) << node->describe();
    EXPECT_EQ(impl.kernelOf[id]->backend, kernels::Backend::kCuda) << node->describe();
  }
}

TEST(CudaBuilder, Fp32WithoutTf32MatchesTheCpu) {
  LOWP_REQUIRE_GPU();
  Build b = forGpu(kMobileNet, "input", {2, 3, 224, 224});
  b.config.clearFlag(BuilderFlag::kTF32);
  Captured log;
  auto engine = build(b, log);
  ASSERT_TRUE(engine);
  expectCudaKernels(*engine);
  for (const LayerInfo& l : engine->layers()) EXPECT_FALSE(l.tactic.starts_with("tf32-")) << l.name;
  const double error = errorAgainstCpu(kMobileNet, *engine, {2, 3, 224, 224});
  std::cout << "mobilenet fp32 (no tf32) built on the GPU: relative L2 " << error << "\n";
  EXPECT_LE(error, 1e-5);
}

// With FP16 allowed, the builder's timings choose fp16 where it is faster with its conversions (on this
// small model, for some convolutions only); the engine stays within fp16's tolerance, and the report says
// per layer what it chose and what fp16 would have cost.
TEST(CudaBuilder, Fp16IsChosenWhereFasterAndStaysAccurate) {
  LOWP_REQUIRE_GPU();
  const std::vector<int64_t> shape = {32, 3, 224, 224};
  Build b = forGpu(kMobileNet, "input", shape);
  b.config.setFlag(BuilderFlag::kFP16);
  Captured log;
  auto engine = build(b, log);
  ASSERT_TRUE(engine);
  expectCudaKernels(*engine);
  std::map<std::string, int> convsBy;
  double fp16Ms = 0;
  double totalMs = 0;
  for (const LayerInfo& l : engine->layers()) {
    if (l.timeMs > 0) totalMs += l.timeMs;
    if (l.precision == DataType::kFloat16 && l.timeMs > 0) fp16Ms += l.timeMs;
    if (l.opType.find("Conv") != std::string::npos) ++convsBy[std::string(dataTypeName(l.precision))];
    EXPECT_FALSE(l.reason.empty()) << l.name;
  }
  for (const auto& [type, n] : convsBy) std::cout << "  conv layers in " << type << ": " << n << "\n";
  std::cout << "  fp16 layers: " << fp16Ms << " of " << totalMs << " ms measured\n";
  EXPECT_GT(convsBy["fp16"], 0);
  for (const LayerInfo& l : engine->layers()) {
    if (l.conversion || l.precision != DataType::kFloat32 || l.reason.starts_with("computed while")) continue;
    if (l.opType.find("Conv") == std::string::npos) continue;
    EXPECT_NE(l.reason.find("fp16 "), std::string::npos) << l.name << ": " << l.reason;
  }
  const double error = errorAgainstCpu(kMobileNet, *engine, shape);
  std::cout << "mobilenet --fp16 built on the GPU at batch 32: relative L2 " << error << "\n";
  EXPECT_LE(error, 2e-2);
}

// A GPU engine saved and loaded runs the same kernels and gives the same bits; the file names its GPU (a
// file from another device is refused: tests/unit/test_engine_file.cpp).
TEST(CudaBuilder, EngineFilesRoundTripOnTheGpu) {
  LOWP_REQUIRE_GPU();
  Build b = forGpu(kDigits, "input", {16, 1, 20, 20});
  b.config.setFlag(BuilderFlag::kFP16);
  Captured log;
  auto engine = build(b, log);
  ASSERT_TRUE(engine);
  auto bytes = engine->serialize();
  ASSERT_TRUE(bytes.isOk()) << bytes.status().toString();
  auto loaded = Engine::deserialize(*bytes);
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  EXPECT_EQ((*loaded)->device(), Device::kCuda);
  EXPECT_EQ((*loaded)->impl().fingerprint, engine->impl().fingerprint);
  EXPECT_NE(engine->impl().fingerprint.find("gpu="), std::string::npos) << engine->impl().fingerprint;
  expectCudaKernels(**loaded);
  std::mt19937 rng(2);
  const std::vector<NamedTensor> inputs = {{"input", randomTensor(rng, DataType::kFloat32, {16, 1, 20, 20})}};
  const auto a = executeOk(*engine->createExecutionContext(), inputs);
  const auto c = executeOk(*(*loaded)->createExecutionContext(), inputs);
  ASSERT_EQ(a.size(), c.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(maxAbsDifference(a[i].tensor, c[i].tensor), 0.0);
}

TEST(CudaBuilder, TimingCacheIsTheGpusAndSkipsTiming) {
  LOWP_REQUIRE_GPU();
  const std::string cache =
      std::filesystem::temp_directory_path() / ("lowp_gpu_cache_" + std::to_string(getpid()) + ".json");
  std::remove(cache.c_str());
  for (int pass = 0; pass < 2; ++pass) {
    Build b = forGpu(kDigits, "input", {8, 1, 20, 20});
    b.config.setFlag(BuilderFlag::kFP16);
    b.config.setTimingCacheFile(cache);
    Captured log;
    ASSERT_TRUE(build(b, log));
    const std::string timed = pass == 0 ? "timings measured" : " 0 timings measured";
    EXPECT_TRUE(log.has(timed)) << "pass " << pass;
  }
  std::ifstream in(cache);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"fingerprint\": \"gpu="), std::string::npos);
  // The CPU refuses the GPU's cache.
  auto network = NetworkDefinition::fromOnnxFile(kDigits);
  ASSERT_TRUE(network.isOk());
  BuilderConfig cpu;
  cpu.setTimingCacheFile(cache);
  Captured log;
  auto refused = Builder(log).build(**network, cpu);
  ASSERT_FALSE(refused.isOk());
  EXPECT_NE(refused.status().message().find("the timing cache was measured on 'gpu="), std::string::npos)
      << refused.status().toString();
  std::remove(cache.c_str());
}

// A CUDA graph replays exactly what layer-by-layer launching computes, at every input shape.
TEST(CudaBuilder, CudaGraphsGiveTheSameBits) {
  LOWP_REQUIRE_GPU();
  Build b = forGpu(kMobileNet, "input", {4, 3, 224, 224});
  b.config.setFlag(BuilderFlag::kFP16);
  Captured log;
  auto engine = build(b, log);
  ASSERT_TRUE(engine);
  auto plain = engine->createExecutionContext();
  auto graphed = engine->createExecutionContext();
  graphed->setUseCudaGraph(true);
  std::mt19937 rng(9);
  for (int64_t batch : {4, 1, 4}) {
    const std::vector<NamedTensor> inputs = {
        {"input", randomTensor(rng, DataType::kFloat32, {batch, 3, 224, 224})}};
    const auto ref = executeOk(*plain, inputs);
    ASSERT_FALSE(ref.empty()) << "batch " << batch;
    for (int repeat = 0; repeat < 3; ++repeat) {  // the first run prepares, the second records
      const auto got = executeOk(*graphed, inputs);
      ASSERT_EQ(got.size(), ref.size());
      EXPECT_EQ(maxAbsDifference(ref[0].tensor, got[0].tensor), 0.0)
          << "batch " << batch << " run " << repeat;
      EXPECT_GT(graphed->lastDeviceTimes().computeMs, 0.0f);
    }
  }
}

// Page-locked host tensors for the inputs and outputs: the outputs are written in place query after query,
// the results equal those of ordinary tensors, and the three phases have GPU times.
TEST(CudaBuilder, PageLockedBuffersAreWrittenInPlace) {
  LOWP_REQUIRE_GPU();
  Build b = forGpu(kMobileNet, "input", {2, 3, 224, 224});
  b.config.setFlag(BuilderFlag::kFP16);
  Captured log;
  auto engine = build(b, log);
  ASSERT_TRUE(engine);
  auto context = engine->createExecutionContext();
  std::mt19937 rng(11);
  const Tensor given = randomTensor(rng, DataType::kFloat32, {2, 3, 224, 224});
  const auto ref = executeOk(*context, {{"input", given}});
  ASSERT_EQ(ref.size(), 1u);

  auto pinnedInput = context->allocateHostTensor(DataType::kFloat32, {2, 3, 224, 224});
  ASSERT_TRUE(pinnedInput) << pinnedInput.status().toString();
  std::memcpy(pinnedInput->data(), given.data(), static_cast<size_t>(given.byteSize()));
  auto pinnedOutput = context->allocateHostTensor(ref[0].tensor.type(), ref[0].tensor.shape());
  ASSERT_TRUE(pinnedOutput) << pinnedOutput.status().toString();
  std::vector<NamedTensor> outputs = {{ref[0].name, *pinnedOutput}};
  for (int repeat = 0; repeat < 2; ++repeat) {
    std::memset(pinnedOutput->data(), 0xff, static_cast<size_t>(pinnedOutput->byteSize()));  // NaNs
    ASSERT_TRUE(context->execute(std::vector<NamedTensor>{{"input", *pinnedInput}}, outputs));
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_EQ(outputs[0].tensor.data(), pinnedOutput->data()) << "the output was not written in place";
    EXPECT_EQ(maxAbsDifference(ref[0].tensor, outputs[0].tensor), 0.0);
    const ExecutionContext::DeviceTimes times = context->lastDeviceTimes();
    EXPECT_GT(times.inputCopyMs, 0.0f);
    EXPECT_GT(times.computeMs, 0.0f);
    EXPECT_GT(times.outputCopyMs, 0.0f);
  }
  // A tensor of another shape is not written over: execute() allocates a fresh one.
  std::vector<NamedTensor> wrong = {{ref[0].name, Tensor(ref[0].tensor.type(), {1})}};
  ASSERT_TRUE(context->execute(std::vector<NamedTensor>{{"input", given}}, wrong));
  EXPECT_EQ(wrong[0].tensor.shape(), ref[0].tensor.shape());
  EXPECT_EQ(maxAbsDifference(ref[0].tensor, wrong[0].tensor), 0.0);
}

// Builds the network makeNetwork() gives for the CPU and for the GPU in fp32 (TF32 products) and with fp16
// allowed; `check` looks at each GPU engine, whose one output must match the CPU engine's on `inputs`.
void expectGpuBuildsMatchTheCpu(const std::function<std::unique_ptr<NetworkDefinition>()>& makeNetwork,
                                const std::vector<NamedTensor>& inputs,
                                const std::function<void(const Engine&)>& check) {
  auto cpuNetwork = makeNetwork();
  Captured cpuLog;
  auto cpu = Builder(cpuLog).build(*cpuNetwork, BuilderConfig());
  ASSERT_TRUE(cpu.isOk()) << cpu.status().toString();
  const auto ref = executeOk(*(*cpu)->createExecutionContext(), inputs);
  ASSERT_EQ(ref.size(), 1u);
  for (const bool fp16 : {false, true}) {
    SCOPED_TRACE(fp16 ? "fp16" : "fp32");
    Build b;
    b.network = makeNetwork();
    b.config.setDevice(Device::kCuda);
    if (fp16) b.config.setFlag(BuilderFlag::kFP16);
    Captured log;
    auto engine = build(b, log);
    ASSERT_TRUE(engine);
    check(*engine);
    const auto got = executeOk(*engine->createExecutionContext(), inputs);
    ASSERT_EQ(got.size(), 1u);
    // TF32 products in fp32; fp16 activations and products otherwise.
    EXPECT_LT(relativeL2(ref[0].tensor, got[0].tensor), fp16 ? 1e-2 : 1e-3);
  }
}

// The outputs of the network makeNetwork() gives, built for the CPU and for the GPU in fp32 (TF32 products),
// on `inputs`; the GPU engine with them. Empty where a build failed (a test failure).
struct CpuAndGpu {
  std::vector<NamedTensor> cpu, gpu;
  std::shared_ptr<Engine> gpuEngine;
};
CpuAndGpu runOnCpuAndGpu(const std::function<std::unique_ptr<NetworkDefinition>()>& makeNetwork,
                         const std::vector<NamedTensor>& inputs) {
  CpuAndGpu run;
  auto cpuNetwork = makeNetwork();
  Captured cpuLog;
  auto cpu = Builder(cpuLog).build(*cpuNetwork, BuilderConfig());
  EXPECT_TRUE(cpu.isOk()) << cpu.status().toString();
  if (!cpu.isOk()) return run;
  run.cpu = executeOk(*(*cpu)->createExecutionContext(), inputs);
  Build b;
  b.network = makeNetwork();
  b.config.setDevice(Device::kCuda);
  Captured log;
  run.gpuEngine = build(b, log);
  if (run.gpuEngine) run.gpu = executeOk(*run.gpuEngine->createExecutionContext(), inputs);
  return run;
}

// LayerNormalization with its Mean and InvStdDev outputs, over the last axis and over two axes, built for
// the GPU in fp32: every output matches the CPU engine's.
TEST(CudaBuilder, LayerNormStatisticsMatchTheCpu) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(31);
  auto makeNetwork = [&]() {
    auto net = std::make_unique<NetworkDefinition>();
    std::mt19937 weights(33);
    EXPECT_TRUE(net->addInput("x", DataType::kFloat32, {3, 10, 48}).isOk());
    EXPECT_TRUE(net->addConstant("s1", randomTensor(weights, DataType::kFloat32, {48}, 0.5, 1.5)).isOk());
    EXPECT_TRUE(net->addConstant("b1", randomTensor(weights, DataType::kFloat32, {48})).isOk());
    EXPECT_TRUE(net->addConstant("s2", randomTensor(weights, DataType::kFloat32, {10, 48}, 0.5, 1.5)).isOk());
    EXPECT_TRUE(
        net->addLayer("LayerNormalization", "last", {"x", "s1", "b1"}, {"y1", "mean1", "inv1"}).isOk());
    EXPECT_TRUE(net->addLayer("LayerNormalization", "two_axes", {"x", "s2"}, {"y2", "mean2", "inv2"},
                              {{"axis", int64_t{1}}})
                    .isOk());
    for (const char* name : {"y1", "mean1", "inv1", "y2", "mean2", "inv2"})
      EXPECT_TRUE(net->markOutput(name).isOk());
    return net;
  };
  const std::vector<NamedTensor> inputs = {
      {"x", randomTensor(rng, DataType::kFloat32, {3, 10, 48}, 1.0, 5.0)}};
  const CpuAndGpu run = runOnCpuAndGpu(makeNetwork, inputs);
  ASSERT_TRUE(run.gpuEngine);
  for (const LayerInfo& l : run.gpuEngine->layers()) {
    if (l.opType == "LayerNormalization") {
      EXPECT_EQ(l.tactic, "f32-layernorm-cuda") << l.name;
    }
  }
  const std::vector<NamedTensor>& ref = run.cpu;
  const std::vector<NamedTensor>& got = run.gpu;
  ASSERT_EQ(got.size(), ref.size());
  ASSERT_EQ(got.size(), 6u);
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(got[i].name);
    EXPECT_EQ(got[i].name, ref[i].name);
    EXPECT_EQ(got[i].tensor.shape(), ref[i].tensor.shape());
    EXPECT_LT(relativeL2(ref[i].tensor, got[i].tensor), 1e-5);
  }
}

// TopK (a classifier's top 5 along the last axis, and the smallest 3 along axis 0, with ties and a NaN) built
// for the GPU: values and indices identical to the CPU engine's.
TEST(CudaBuilder, TopKMatchesTheCpuExactly) {
  LOWP_REQUIRE_GPU();
  auto makeNetwork = [&]() {
    auto net = std::make_unique<NetworkDefinition>();
    EXPECT_TRUE(net->addInput("x", DataType::kFloat32, {6, 40}).isOk());
    Tensor five(DataType::kInt64, {1});
    five.data<int64_t>()[0] = 5;
    Tensor three(DataType::kInt64, {1});
    three.data<int64_t>()[0] = 3;
    EXPECT_TRUE(net->addConstant("five", five).isOk());
    EXPECT_TRUE(net->addConstant("three", three).isOk());
    EXPECT_TRUE(net->addLayer("TopK", "top", {"x", "five"}, {"values", "indices"}).isOk());
    EXPECT_TRUE(net->addLayer("TopK", "bottom", {"x", "three"}, {"low_values", "low_indices"},
                              {{"axis", int64_t{0}}, {"largest", int64_t{0}}})
                    .isOk());
    for (const char* name : {"values", "indices", "low_values", "low_indices"})
      EXPECT_TRUE(net->markOutput(name).isOk());
    return net;
  };
  std::mt19937 rng(35);
  Tensor x(DataType::kFloat32, {6, 40});
  std::uniform_int_distribution<int> few(-6, 6);  // many ties
  for (int64_t i = 0; i < x.elementCount(); ++i) x.data<float>()[i] = static_cast<float>(few(rng)) / 2.0f;
  x.data<float>()[17] = NAN;
  const CpuAndGpu run = runOnCpuAndGpu(makeNetwork, {{"x", x}});
  const std::vector<NamedTensor>& ref = run.cpu;
  const std::vector<NamedTensor>& got = run.gpu;
  ASSERT_EQ(got.size(), 4u);
  ASSERT_EQ(ref.size(), 4u);
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(got[i].name);
    ASSERT_EQ(got[i].tensor.shape(), ref[i].tensor.shape());
    ASSERT_EQ(got[i].tensor.byteSize(), ref[i].tensor.byteSize());
    EXPECT_EQ(std::memcmp(got[i].tensor.data(), ref[i].tensor.data(),
                          static_cast<size_t>(got[i].tensor.byteSize())),
              0);
  }
}

// Two convolution branches joined by a Concat on channels (an Inception or DenseNet block), built for the
// GPU in fp32 and fp16: the Concat runs on the GPU (x-concat-cuda, on the linear layout), and the result
// matches the CPU engine's.
TEST(CudaBuilder, BranchesJoinedByConcatRunOnTheGpu) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(23);
  auto makeNetwork = [&]() {
    auto net = std::make_unique<NetworkDefinition>();
    std::mt19937 weights(29);  // the same weights in every network
    EXPECT_TRUE(net->addInput("x", DataType::kFloat32, {2, 8, 16, 16}).isOk());
    EXPECT_TRUE(
        net->addConstant("wa", randomTensor(weights, DataType::kFloat32, {16, 8, 3, 3}, -0.3, 0.3)).isOk());
    EXPECT_TRUE(
        net->addConstant("wb", randomTensor(weights, DataType::kFloat32, {8, 8, 1, 1}, -0.3, 0.3)).isOk());
    EXPECT_TRUE(
        net->addConstant("wc", randomTensor(weights, DataType::kFloat32, {4, 24, 1, 1}, -0.3, 0.3)).isOk());
    EXPECT_TRUE(
        net->addLayer("Conv", "branch_a", {"x", "wa"}, {"a"}, {{"pads", std::vector<int64_t>{1, 1, 1, 1}}})
            .isOk());
    EXPECT_TRUE(net->addLayer("Relu", "relu_a", {"a"}, {"ra"}).isOk());
    EXPECT_TRUE(net->addLayer("Conv", "branch_b", {"x", "wb"}, {"b"}).isOk());
    EXPECT_TRUE(net->addLayer("Concat", "join", {"ra", "b"}, {"j"}, {{"axis", int64_t{1}}}).isOk());
    EXPECT_TRUE(net->addLayer("Conv", "head", {"j", "wc"}, {"y"}).isOk());
    EXPECT_TRUE(net->markOutput("y").isOk());
    return net;
  };
  expectGpuBuildsMatchTheCpu(makeNetwork, {{"x", randomTensor(rng, DataType::kFloat32, {2, 8, 16, 16})}},
                             [](const Engine& engine) {
                               std::map<std::string, std::string> tactics;
                               for (const LayerInfo& l : engine.layers()) tactics[l.opType] = l.tactic;
                               EXPECT_EQ(tactics["Concat"], "x-concat-cuda");
                             });
}

// A decoder stage of a segmentation network: a strided convolution, a ConvTranspose back to full size, the
// encoder's features resized by interpolation, all joined with the input on channels, and the head's output
// resized by nearest. Built for the
// GPU in fp32 and fp16, every layer runs on the GPU (no "no CUDA kernel" error), and the result matches the
// CPU engine's.
TEST(CudaBuilder, DecoderWithConvTransposeAndResizeRunsOnTheGpu) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(25);
  auto makeNetwork = [&]() {
    auto net = std::make_unique<NetworkDefinition>();
    std::mt19937 weights(27);  // the same weights in every network
    auto constant = [&](const std::string& name, std::vector<int64_t> shape) {
      EXPECT_TRUE(
          net->addConstant(name, randomTensor(weights, DataType::kFloat32, std::move(shape), -0.3, 0.3))
              .isOk());
    };
    EXPECT_TRUE(net->addInput("x", DataType::kFloat32, {2, 8, 16, 16}).isOk());
    constant("we", {16, 8, 3, 3});
    constant("wd", {16, 8, 4, 4});
    constant("bd", {8});
    constant("wh", {4, 32, 1, 1});
    Tensor scales(DataType::kFloat32, {4});
    const float twice[] = {1, 1, 2, 2};
    std::copy(std::begin(twice), std::end(twice), scales.data<float>());
    EXPECT_TRUE(net->addConstant("scales", scales).isOk());
    const std::vector<int64_t> two = {2, 2};
    EXPECT_TRUE(net->addLayer("Conv", "encode", {"x", "we"}, {"e"},
                              {{"pads", std::vector<int64_t>{1, 1, 1, 1}}, {"strides", two}})
                    .isOk());
    EXPECT_TRUE(net->addLayer("Relu", "encode_relu", {"e"}, {"re"}).isOk());
    EXPECT_TRUE(net->addLayer("ConvTranspose", "decode", {"re", "wd", "bd"}, {"d"},
                              {{"pads", std::vector<int64_t>{1, 1, 1, 1}}, {"strides", two}})
                    .isOk());
    EXPECT_TRUE(
        net->addLayer("Resize", "skip_resize", {"re", "", "scales"}, {"s"}, {{"mode", std::string("linear")}})
            .isOk());
    EXPECT_TRUE(net->addLayer("Concat", "join", {"d", "s", "x"}, {"j"}, {{"axis", int64_t{1}}}).isOk());
    EXPECT_TRUE(net->addLayer("Conv", "head", {"j", "wh"}, {"h"}).isOk());
    EXPECT_TRUE(net->addLayer("Resize", "head_resize", {"h", "", "scales"}, {"y"}).isOk());
    EXPECT_TRUE(net->markOutput("y").isOk());
    return net;
  };
  expectGpuBuildsMatchTheCpu(
      makeNetwork, {{"x", randomTensor(rng, DataType::kFloat32, {2, 8, 16, 16})}}, [](const Engine& engine) {
        for (const LayerInfo& l : engine.layers()) {
          if (l.opType == "ConvTranspose" || l.opType == "Resize") {
            EXPECT_NE(l.tactic.find(l.opType == "Resize" ? "-resize" : "-convtranspose-cudnn"),
                      std::string::npos)
                << l.name << ": " << l.tactic;
          }
        }
      });
}

// Split on the GPU: channels cut unevenly by a constant split, and a width cut into num_outputs parts of
// which one is read by nothing; the parts meet again through Relu and Concat.
TEST(CudaBuilder, SplitsRunOnTheGpu) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(31);
  auto makeNetwork = [&]() {
    auto net = std::make_unique<NetworkDefinition>();
    Tensor split(DataType::kInt64, {2});
    split.data<int64_t>()[0] = 3;
    split.data<int64_t>()[1] = 5;
    EXPECT_TRUE(net->addInput("x", DataType::kFloat32, {2, 8, 6, 16}).isOk());
    EXPECT_TRUE(net->addConstant("split", split).isOk());
    EXPECT_TRUE(
        net->addLayer("Split", "channels", {"x", "split"}, {"a", "b"}, {{"axis", int64_t{1}}}).isOk());
    EXPECT_TRUE(net->addLayer("Relu", "relu_a", {"a"}, {"ra"}).isOk());
    EXPECT_TRUE(net->addLayer("Concat", "join", {"b", "ra"}, {"c"}, {{"axis", int64_t{1}}}).isOk());
    EXPECT_TRUE(net->addLayer("Split", "width", {"c"}, {"p", "q", "r"},
                              {{"axis", int64_t{-1}}, {"num_outputs", int64_t{3}}})
                    .isOk());
    EXPECT_TRUE(net->addLayer("Concat", "ends", {"r", "p"}, {"y"}, {{"axis", int64_t{3}}}).isOk());
    EXPECT_TRUE(net->markOutput("y").isOk());
    return net;
  };
  expectGpuBuildsMatchTheCpu(makeNetwork, {{"x", randomTensor(rng, DataType::kFloat32, {2, 8, 6, 16})}},
                             [](const Engine& engine) {
                               int splits = 0;
                               for (const LayerInfo& l : engine.layers()) {
                                 if (l.opType != "Split") continue;
                                 ++splits;
                                 EXPECT_EQ(l.tactic, "x-split-cuda") << l.name;
                               }
                               EXPECT_EQ(splits, 2);
                             });
}

// Several execution contexts of one engine, each on its own thread (own stream, memory and kernel state),
// half of them replaying CUDA graphs, all at once: every output bit equals the one-context run's.
TEST(CudaBuilder, SeveralContextsOnSeveralThreads) {
  LOWP_REQUIRE_GPU();
  Build b = forGpu(kMobileNet, "input", {2, 3, 224, 224});
  b.config.setFlag(BuilderFlag::kFP16);
  Captured log;
  auto engine = build(b, log);
  ASSERT_TRUE(engine);
  // Half the threads record the layers into a CUDA graph while the others set up their device and run
  // directly, which invalidates a recording now and then: those runs must still give the right outputs.
  constexpr int kThreads = 6;
  constexpr int kRounds = 6;
  std::mt19937 rng(21);
  std::vector<std::vector<NamedTensor>> inputs;
  std::vector<std::vector<NamedTensor>> expected;
  auto serial = engine->createExecutionContext();
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back({{"input", randomTensor(rng, DataType::kFloat32, {2, 3, 224, 224})}});
    expected.push_back(executeOk(*serial, inputs.back()));
    ASSERT_FALSE(expected.back().empty());
  }
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto context = engine->createExecutionContext();
      context->setUseCudaGraph(t % 2 == 1);
      for (int round = 0; round < kRounds && failures[t].empty(); ++round) {
        std::vector<NamedTensor> outputs;
        const Status s = context->execute(inputs[t], outputs);
        if (!s) {
          failures[t] = "round " + std::to_string(round) + ": " + s.toString();
        } else if (outputs.size() != expected[t].size() ||
                   maxAbsDifference(expected[t][0].tensor, outputs[0].tensor) != 0.0) {
          failures[t] = "round " + std::to_string(round) + ": the outputs differ from the one-context run's";
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

// Top-1 accuracy of `engine` on the digits test split (1000 images, in batches of `batch`).
double digitsAccuracy(Engine& engine, int64_t batch) {
  auto images = readNpy("models/digits/test_images.npy");
  auto labels = readNpy("models/digits/test_labels.npy");
  EXPECT_TRUE(images.isOk() && labels.isOk());
  if (!images.isOk() || !labels.isOk()) return 0;
  auto context = engine.createExecutionContext();
  const int64_t total = labels->elementCount();
  const int64_t pixels = images->elementCount() / total;
  int64_t correct = 0;
  int64_t seen = 0;
  for (int64_t first = 0; first + batch <= total; first += batch) {
    Tensor x(DataType::kFloat32, {batch, 1, 20, 20});
    std::copy_n(images->data<float>() + first * pixels, batch * pixels, x.data<float>());
    const auto out = executeOk(*context, {{engine.inputs()[0].name, x}});
    if (out.empty()) return 0;
    const float* logits = out[0].tensor.data<float>();
    for (int64_t i = 0; i < batch; ++i) {
      const float* row = logits + i * 10;
      const int64_t predicted = std::max_element(row, row + 10) - row;
      correct += predicted == labels->data<int64_t>()[first + i] ? 1 : 0;
    }
    seen += batch;
  }
  return static_cast<double>(correct) / static_cast<double>(seen);
}

// INT8 on the GPU: the digits classifier calibrated on its training split (entropy) and built with INT8 and
// FP16 allowed runs its convolutions on int8 tensor cores (cuDNN's graph API) and keeps its accuracy
// (at most 0.5 points below the fp32 CPU engine on the test split).
TEST(CudaBuilder, Int8ConvolutionsRunOnTensorCoresAndKeepAccuracy) {
  LOWP_REQUIRE_GPU();
  const int64_t batch = 200;
  Build b = forGpu(kDigits, "input", {batch, 1, 20, 20});
  b.config.setFlag(BuilderFlag::kINT8);
  b.config.setFlag(BuilderFlag::kFP16);
  b.config.setFlag(BuilderFlag::kPreferPrecisionConstraints);
  for (int i = 0; i < b.network->layerCount(); ++i) {
    if (b.network->layer(i)->opType() == "Conv") b.network->layer(i)->setPrecision(DataType::kInt8);
  }
  auto source = openCalibrationFolder("models/digits/calibration",
                                      {{"input", DataType::kFloat32, {-1, 1, 20, 20}}}, nullptr);
  ASSERT_TRUE(source.isOk()) << source.status().toString();
  b.config.setCalibration(source->get());
  Captured log;
  auto engine = build(b, log);
  ASSERT_TRUE(engine);
  expectCudaKernels(*engine);
  int cudnnInt8 = 0;
  for (const LayerInfo& l : engine->layers()) {
    if (l.tactic.starts_with("i8-quantizedconv-cudnn")) ++cudnnInt8;
  }
  std::cout << "digits --int8 --fp16 on the GPU: " << cudnnInt8 << " int8 convolutions on cuDNN\n";
  EXPECT_GE(cudnnInt8, 3);
  auto cpu = Engine::fromOnnxFile(kDigits);
  ASSERT_TRUE(cpu.isOk());
  const double fp32 = digitsAccuracy(**cpu, batch);
  const double int8 = digitsAccuracy(*engine, batch);
  std::cout << "  top-1: fp32 (CPU) " << fp32 << ", int8 (GPU) " << int8 << "\n";
  EXPECT_GE(int8, fp32 - 0.005);
}

// OBEY with a precision no CUDA kernel offers fails naming the layer; PREFER builds and says why.
TEST(CudaBuilder, ConstraintsTheGpuCannotMeet) {
  LOWP_REQUIRE_GPU();
  for (bool obey : {true, false}) {
    Build b = forGpu(kDigits, "input", {4, 1, 20, 20});
    b.config.setFlag(BuilderFlag::kINT8);
    b.config.setFlag(obey ? BuilderFlag::kObeyPrecisionConstraints
                          : BuilderFlag::kPreferPrecisionConstraints);
    Layer* conv = b.network->findLayer("/conv1/conv/Conv");
    ASSERT_NE(conv, nullptr);
    conv->setPrecision(DataType::kInt8);
    Captured log;
    auto engine = Builder(log).build(*b.network, b.config);
    if (obey) {
      ASSERT_FALSE(engine.isOk());
      EXPECT_NE(engine.status().message().find("/conv1/conv/Conv"), std::string::npos)
          << engine.status().toString();
      EXPECT_NE(engine.status().message().find("int8"), std::string::npos) << engine.status().toString();
    } else {
      ASSERT_TRUE(engine.isOk()) << engine.status().toString();
      EXPECT_TRUE(log.has("/conv1/conv/Conv")) << "no warning names the layer";
    }
  }
}

}  // namespace
}  // namespace lowp::testing
