// The builder end to end on networks made by hand: precisions chosen by timing, constraints by strength,
// casts where types meet, the layer report, timing-cache reuse and the errors users see.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "lowp/builder.h"
#include "op_runner.h"

namespace lowp {
namespace {

// Keeps every message, for tests to read.
class RecordingLogger final : public Logger {
 public:
  void log(Severity severity, std::string_view message) override {
    messages.emplace_back(severity, std::string(message));
  }
  bool saw(Severity severity, const std::string& part) const {
    for (const auto& [s, m] : messages) {
      if (s == severity && m.find(part) != std::string::npos) return true;
    }
    return false;
  }
  std::vector<std::pair<Severity, std::string>> messages;
};

Tensor randomTensor(std::vector<int64_t> shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(-1, 1);
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = uniform(rng);
  return lowp::testing::makeTensor(DataType::kFloat32, std::move(shape), v);
}

// x[1,16,12,12] -> Conv 3x3 (16->16, bias) -> Relu -> MatMul-free tail: GlobalAveragePool -> y[1,16,1,1].
std::unique_ptr<NetworkDefinition> convNet() {
  auto net = std::make_unique<NetworkDefinition>();
  EXPECT_TRUE(net->addInput("x", DataType::kFloat32, {-1, 16, 12, 12}).isOk());
  EXPECT_TRUE(net->addConstant("w", randomTensor({16, 16, 3, 3}, 1)).isOk());
  EXPECT_TRUE(net->addConstant("b", randomTensor({16}, 2)).isOk());
  EXPECT_TRUE(
      net->addLayer("Conv", "conv", {"x", "w", "b"}, {"c"}, {{"pads", std::vector<int64_t>{1, 1, 1, 1}}})
          .isOk());
  EXPECT_TRUE(net->addLayer("Relu", "relu", {"c"}, {"r"}).isOk());
  EXPECT_TRUE(net->addLayer("GlobalAveragePool", "pool", {"r"}, {"y"}).isOk());
  EXPECT_TRUE(net->markOutput("y").isOk());
  return net;
}

// x[4,8] -> DynamicQuantizeLinear: an op the ONNX spec defines for fp32 input only.
std::unique_ptr<NetworkDefinition> quantizeNet() {
  auto net = std::make_unique<NetworkDefinition>();
  EXPECT_TRUE(net->addInput("x", DataType::kFloat32, {4, 8}).isOk());
  EXPECT_TRUE(net->addLayer("DynamicQuantizeLinear", "dql", {"x"}, {"q", "scale", "zero"}).isOk());
  EXPECT_TRUE(net->markOutput("q").isOk());
  EXPECT_TRUE(net->markOutput("scale").isOk());
  return net;
}

std::vector<NamedTensor> run(const Engine& engine, const Tensor& x) {
  auto context = engine.createExecutionContext();
  std::vector<NamedTensor> outputs;
  Status s = context->execute(std::vector<NamedTensor>{{"x", x}}, outputs);
  EXPECT_TRUE(s.isOk()) << s.toString();
  return outputs;
}

const LayerInfo* findLayer(const Engine& engine, const std::string& name) {
  for (const LayerInfo& l : engine.layers()) {
    if (l.name == name) return &l;
    for (const std::string& a : l.absorbedNames) {
      if (a == name) return &l;
    }
  }
  return nullptr;
}

double relativeL2(const Tensor& got, const Tensor& want) {
  double diff = 0;
  double norm = 0;
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    const double a = elementAsDouble(got, i);
    const double b = elementAsDouble(want, i);
    diff += (a - b) * (a - b);
    norm += b * b;
  }
  return std::sqrt(diff / norm);
}

// The FP32 answer from the reference kernels, op by op.
Tensor referenceConvNet(const Tensor& x) {
  auto conv =
      lowp::testing::runOp({.opType = "Conv",
                            .attributes = lowp::testing::attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}}),
                            .inputs = {x, randomTensor({16, 16, 3, 3}, 1), randomTensor({16}, 2)}});
  EXPECT_TRUE(conv.isOk());
  auto relu = lowp::testing::runOp({.opType = "Relu", .inputs = {(*conv)[0]}});
  EXPECT_TRUE(relu.isOk());
  auto pool = lowp::testing::runOp({.opType = "GlobalAveragePool", .inputs = {(*relu)[0]}});
  EXPECT_TRUE(pool.isOk());
  return (*pool)[0];
}

TEST(Builder, Fp32EngineMatchesTheReferenceKernels) {
  RecordingLogger logger;
  auto net = convNet();
  BuilderConfig config;
  config.setShape("x", {2, 16, 12, 12});
  auto engine = Builder(logger).build(*net, config);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  const Tensor x = randomTensor({2, 16, 12, 12}, 3);
  auto out = run(**engine, x);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_LT(relativeL2(out[0].tensor, referenceConvNet(x)), 1e-6);
  // Every layer reports a tactic and a measured time; the Relu answers through the layer it fused into.
  for (const LayerInfo& l : (*engine)->layers()) {
    EXPECT_FALSE(l.tactic.empty()) << l.name;
    EXPECT_GE(l.timeMs, 0) << l.name;
    EXPECT_EQ(l.precision, DataType::kFloat32) << l.name;
  }
  EXPECT_NE(findLayer(**engine, "relu"), nullptr);
  // The report gives every tensor's shape at the build shapes, the dynamic batch included.
  const LayerInfo* conv = findLayer(**engine, "conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->inputShapes[0], (std::vector<int64_t>{2, 16, 12, 12}));
  EXPECT_EQ(conv->inputShapes[1], (std::vector<int64_t>{16, 16, 3, 3}));
  EXPECT_EQ(conv->outputShapes[0], (std::vector<int64_t>{2, 16, 12, 12}));
  // Built for batch 2, it still runs batch 1 with the same tactics.
  const Tensor x1 = randomTensor({1, 16, 12, 12}, 4);
  EXPECT_LT(relativeL2(run(**engine, x1)[0].tensor, referenceConvNet(x1)), 1e-6);
}

TEST(Builder, ProfilerHearsEveryLayerOfEveryRun) {
  class CountingProfiler final : public Profiler {
   public:
    void reportLayerTime(std::string_view layerName, float ms) override {
      ++calls[std::string(layerName)];
      EXPECT_GE(ms, 0.0f);
    }
    std::map<std::string, int> calls;
  };
  RecordingLogger logger;
  auto engine = Builder(logger).build(*convNet(), BuilderConfig());
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  auto context = (*engine)->createExecutionContext();
  CountingProfiler profiler;
  context->setProfiler(&profiler);
  std::vector<NamedTensor> outputs;
  const std::vector<NamedTensor> inputs = {{"x", randomTensor({1, 16, 12, 12}, 9)}};
  ASSERT_TRUE(context->execute(inputs, outputs).isOk());
  ASSERT_TRUE(context->execute(inputs, outputs).isOk());
  EXPECT_EQ(profiler.calls.size(), (*engine)->layers().size());
  for (const auto& [name, count] : profiler.calls) EXPECT_EQ(count, 2) << name;
  context->setProfiler(nullptr);
  ASSERT_TRUE(context->execute(inputs, outputs).isOk());
  for (const auto& [name, count] : profiler.calls) EXPECT_EQ(count, 2) << name;
}

TEST(Builder, DynamicDimensionsWithoutShapesBuildForOneWithAWarning) {
  RecordingLogger logger;
  auto engine = Builder(logger).build(*convNet(), BuilderConfig());
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  EXPECT_TRUE(logger.saw(Severity::kWarning, "building for 1x16x12x12"));
}

TEST(Builder, ObeyWithoutAnImplementationFailsNamingTheLayer) {
  RecordingLogger logger;
  auto net = quantizeNet();
  net->findLayer("dql")->setPrecision(DataType::kFloat16);
  BuilderConfig config;
  config.setFlag(BuilderFlag::kFP16);
  config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  auto engine = Builder(logger).build(*net, config);
  ASSERT_FALSE(engine.isOk());
  EXPECT_NE(engine.status().message().find("layer 'dql'"), std::string::npos) << engine.status().toString();
  EXPECT_NE(engine.status().message().find("no fp16 implementation of DynamicQuantizeLinear"),
            std::string::npos)
      << engine.status().toString();
}

TEST(Builder, PreferWithoutAnImplementationWarnsAndFallsBack) {
  RecordingLogger logger;
  auto net = quantizeNet();
  net->findLayer("dql")->setPrecision(DataType::kFloat16);
  BuilderConfig config;
  config.setFlag(BuilderFlag::kFP16);
  config.setFlag(BuilderFlag::kPreferPrecisionConstraints);
  auto engine = Builder(logger).build(*net, config);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  EXPECT_TRUE(logger.saw(Severity::kWarning, "layer 'dql': precision fp16 preferred"));
  const LayerInfo* l = findLayer(**engine, "dql");
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->requestedPrecision, DataType::kFloat16);
  EXPECT_EQ(l->precision, DataType::kFloat32);
  EXPECT_NE(l->reason.find("unmet"), std::string::npos) << l->reason;
}

TEST(Builder, PreferNeedsTheFlagObeyDoesNot) {
  RecordingLogger logger;
  auto net = convNet();
  net->findLayer("pool")->setPrecision(DataType::kFloat16);
  BuilderConfig config;
  config.setFlag(BuilderFlag::kPreferPrecisionConstraints);
  auto preferred = Builder(logger).build(*net, config);
  ASSERT_TRUE(preferred.isOk()) << preferred.status().toString();
  EXPECT_EQ(findLayer(**preferred, "pool")->precision, DataType::kFloat32);
  EXPECT_TRUE(logger.saw(Severity::kWarning, "the fp16 flag is not set"))
      << (logger.messages.empty() ? "" : logger.messages.back().second);

  config.clearFlag(BuilderFlag::kPreferPrecisionConstraints);
  config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  auto obeyed = Builder(logger).build(*net, config);
  ASSERT_TRUE(obeyed.isOk()) << obeyed.status().toString();
  const LayerInfo* pool = findLayer(**obeyed, "pool");
  EXPECT_EQ(pool->precision, DataType::kFloat16);
  EXPECT_EQ(pool->inputTypes[0], DataType::kFloat16);
  EXPECT_EQ(pool->reason, "constraint (obey)");
  // Casts join the fp32 and fp16 layers, and the output comes back in fp32, close to the fp32 answer.
  int casts = 0;
  for (const LayerInfo& l : (*obeyed)->layers()) casts += l.opType == "Cast" ? 1 : 0;
  EXPECT_EQ(casts, 2);
  const Tensor x = randomTensor({1, 16, 12, 12}, 5);
  auto out = run(**obeyed, x);
  EXPECT_EQ(out[0].tensor.type(), DataType::kFloat32);
  EXPECT_LT(relativeL2(out[0].tensor, referenceConvNet(x)), 2e-3);
}

TEST(Builder, AConstraintOnAnAbsorbedNameReachesTheFusedLayer) {
  RecordingLogger logger;
  auto net = convNet();
  net->findLayer("relu")->setPrecision(DataType::kBFloat16);
  BuilderConfig config;
  config.setFlag(BuilderFlag::kBF16);
  config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  auto engine = Builder(logger).build(*net, config);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  const LayerInfo* relu = findLayer(**engine, "relu");
  ASSERT_NE(relu, nullptr);
  EXPECT_EQ(relu->requestedPrecision, DataType::kBFloat16);
  EXPECT_EQ(relu->precision, DataType::kBFloat16);
  const Tensor x = randomTensor({1, 16, 12, 12}, 6);
  EXPECT_LT(relativeL2(run(**engine, x)[0].tensor, referenceConvNet(x)), 2e-2);
}

TEST(Builder, Fp16StorageOnlyIsTimedAndRejectedWhereSlower) {
  RecordingLogger logger;
  auto net = convNet();
  BuilderConfig config;
  config.setFlag(BuilderFlag::kFP16);
  config.setShape("x", {4, 16, 12, 12});
  auto engine = Builder(logger).build(*net, config);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  const LayerInfo* conv = findLayer(**engine, "conv");
  ASSERT_NE(conv, nullptr);
  // Without AVX512-FP16 an fp16 convolution converts to fp32 to compute: the report says what it cost.
  EXPECT_NE(conv->reason.find("fp16 "), std::string::npos) << conv->reason;
  if (conv->precision == DataType::kFloat32) {
    EXPECT_NE(conv->reason.find("fastest"), std::string::npos) << conv->reason;
  }
}

TEST(Builder, OutputTypeConstraintAddsACast) {
  RecordingLogger logger;
  auto net = convNet();
  ASSERT_TRUE(net->findLayer("pool")->setOutputType(0, DataType::kFloat16).isOk());
  ASSERT_TRUE(net->setOutputType("y", DataType::kFloat16).isOk());
  BuilderConfig config;
  config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  auto engine = Builder(logger).build(*net, config);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  EXPECT_EQ((*engine)->outputs()[0].type, DataType::kFloat16);
  const Tensor x = randomTensor({1, 16, 12, 12}, 7);
  auto out = run(**engine, x);
  ASSERT_EQ(out[0].tensor.type(), DataType::kFloat16);
  EXPECT_EQ(out[0].name, "y");
  EXPECT_LT(relativeL2(out[0].tensor, referenceConvNet(x)), 1e-3);
  EXPECT_FALSE(net->findLayer("pool")->setOutputType(3, DataType::kFloat16).isOk());
}

TEST(Builder, NetworkInputTypeIsWhatTheEngineTakes) {
  RecordingLogger logger;
  auto net = convNet();
  ASSERT_TRUE(net->setInputType("x", DataType::kFloat16).isOk());
  EXPECT_FALSE(net->setInputType("nope", DataType::kFloat16).isOk());
  EXPECT_FALSE(net->setInputType("x", DataType::kInt8).isOk());
  auto engine = Builder(logger).build(*net, BuilderConfig());
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  EXPECT_EQ((*engine)->inputs()[0].type, DataType::kFloat16);
  auto context = (*engine)->createExecutionContext();
  std::vector<NamedTensor> outputs;
  EXPECT_FALSE(
      context->execute(std::vector<NamedTensor>{{"x", randomTensor({1, 16, 12, 12}, 8)}}, outputs).isOk());
}

TEST(Builder, StronglyTypedNetworksRefuseFlagsAndConstraints) {
  RecordingLogger logger;
  auto net = convNet();
  net->setStronglyTyped(true);
  BuilderConfig config;
  config.setFlag(BuilderFlag::kFP16);
  auto withFlag = Builder(logger).build(*net, config);
  ASSERT_FALSE(withFlag.isOk());
  EXPECT_NE(withFlag.status().message().find("strongly typed"), std::string::npos);
  net->findLayer("conv")->setPrecision(DataType::kFloat16);
  auto withConstraint = Builder(logger).build(*net, BuilderConfig());
  ASSERT_FALSE(withConstraint.isOk());
  EXPECT_NE(withConstraint.status().message().find("layer 'conv'"), std::string::npos);
  net->findLayer("conv")->resetPrecision();
  EXPECT_TRUE(Builder(logger).build(*net, BuilderConfig()).isOk());
}

TEST(Builder, TimingCacheMakesTheSecondBuildMeasureNothing) {
  const std::string path = ::testing::TempDir() + "/builder_timing_cache.json";
  std::filesystem::remove(path);
  BuilderConfig config;
  config.setFlag(BuilderFlag::kBF16);
  config.setTimingCacheFile(path);
  RecordingLogger first;
  ASSERT_TRUE(Builder(first).build(*convNet(), config).isOk());
  ASSERT_TRUE(std::filesystem::exists(path));
  RecordingLogger second;
  ASSERT_TRUE(Builder(second).build(*convNet(), config).isOk());
  EXPECT_TRUE(second.saw(Severity::kInfo, " 0 timings measured")) << second.messages.back().second;
  std::filesystem::remove(path);
}

TEST(Builder, CachedTimesSetAgainstNewOnesAreMeasuredAgain) {
  const std::string path = ::testing::TempDir() + "/builder_mixed_timing_cache.json";
  std::filesystem::remove(path);
  BuilderConfig config;
  config.setTimingCacheFile(path);
  RecordingLogger fp32;
  ASSERT_TRUE(Builder(fp32).build(*convNet(), config).isOk());
  // The fp32 times as if measured while the machine ran a thousand times faster than it does now.
  constexpr double kStale = 1e-6;
  auto readEntries = [&] {
    std::ifstream in(path);
    return nlohmann::json::parse(in)["entries"];
  };
  nlohmann::json doc;
  {
    std::ifstream in(path);
    doc = nlohmann::json::parse(in);
  }
  for (auto& [key, ms] : doc["entries"].items()) ms = kStale;
  const nlohmann::json stale = doc["entries"];
  std::ofstream(path) << doc.dump();

  // With bf16 allowed every layer times new tactics: its fastest fp32 tactic is measured again beside them.
  config.setFlag(BuilderFlag::kBF16);
  RecordingLogger mixed;
  ASSERT_TRUE(Builder(mixed).build(*convNet(), config).isOk());
  EXPECT_TRUE(mixed.saw(Severity::kInfo, "measured again beside new timings"))
      << mixed.messages.back().second;
  const nlohmann::json after = readEntries();
  int remeasured = 0;
  for (const auto& [key, ms] : stale.items()) {
    ASSERT_TRUE(after.contains(key)) << key;
    if (after[key].get<double>() != kStale) ++remeasured;
  }
  EXPECT_GE(remeasured, 1);
  EXPECT_LT(remeasured, static_cast<int>(stale.size())) << "only the fastest cached tactic of a layer";

  // Every tactic cached: nothing is measured, nothing again.
  RecordingLogger warm;
  ASSERT_TRUE(Builder(warm).build(*convNet(), config).isOk());
  EXPECT_TRUE(warm.saw(Severity::kInfo, " 0 timings measured")) << warm.messages.back().second;
  EXPECT_FALSE(warm.saw(Severity::kInfo, "measured again"));
  std::filesystem::remove(path);
}

TEST(Builder, BadOptionsAndShapesAreErrors) {
  RecordingLogger logger;
  BuilderConfig config;
  EXPECT_FALSE(config.setOptimizationLevel(6).isOk());
  config.setShape("nope", {1, 16, 12, 12});
  auto unknown = Builder(logger).build(*convNet(), config);
  ASSERT_FALSE(unknown.isOk());
  EXPECT_NE(unknown.status().message().find("'nope'"), std::string::npos);
  BuilderConfig wrong;
  wrong.setShape("x", {1, 15, 12, 12});
  auto misfit = Builder(logger).build(*convNet(), wrong);
  ASSERT_FALSE(misfit.isOk());
  EXPECT_NE(misfit.status().message().find("does not fit"), std::string::npos);
  BuilderConfig both;
  both.setFlag(BuilderFlag::kPreferPrecisionConstraints);
  both.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  EXPECT_FALSE(Builder(logger).build(*convNet(), both).isOk());
  BuilderConfig tiny;
  tiny.setWorkspaceLimit(1024);
  auto overLimit = Builder(logger).build(*convNet(), tiny);
  ASSERT_FALSE(overLimit.isOk());
  EXPECT_NE(overLimit.status().message().find("workspace limit"), std::string::npos);
}

// x[1,2,3,4] -> Resize(x, scales) with the scales a network input: random values or zeros cannot run it.
std::unique_ptr<NetworkDefinition> resizeByInputNet() {
  auto net = std::make_unique<NetworkDefinition>();
  EXPECT_TRUE(net->addInput("x", DataType::kFloat32, {1, 2, 3, 4}).isOk());
  EXPECT_TRUE(net->addInput("scales", DataType::kFloat32, {4}).isOk());
  EXPECT_TRUE(
      net->addLayer("Resize", "resize", {"x", "", "scales"}, {"y"}, {{"mode", std::string("nearest")}})
          .isOk());
  EXPECT_TRUE(net->markOutput("y").isOk());
  return net;
}

TEST(Builder, InputsThatDecideShapesBuildOnTheirGivenValues) {
  RecordingLogger logger;
  const Tensor scales = lowp::testing::makeTensor(DataType::kFloat32, {4}, {1.0, 1.0, 2.0, 1.5});
  const Tensor x = randomTensor({1, 2, 3, 4}, 5);

  BuilderConfig none;
  auto refused = Builder(logger).build(*resizeByInputNet(), none);
  ASSERT_FALSE(refused.isOk());
  EXPECT_NE(refused.status().message().find("'scales'"), std::string::npos) << refused.status().toString();
  EXPECT_NE(refused.status().message().find("setInputValues"), std::string::npos);

  BuilderConfig given;
  given.setInputValues("scales", scales);
  auto built = Builder(logger).build(*resizeByInputNet(), given);
  ASSERT_TRUE(built.isOk()) << built.status().toString();
  auto context = (*built)->createExecutionContext();
  std::vector<NamedTensor> outputs;
  ASSERT_TRUE(context->execute(std::vector<NamedTensor>{{"x", x}, {"scales", scales}}, outputs).isOk());
  auto want = lowp::testing::runOp({.opType = "Resize",
                                    .attributes = lowp::testing::attrs({{"mode", std::string("nearest")}}),
                                    .inputs = {x, Tensor(), scales}});
  ASSERT_TRUE(want.isOk()) << want.status().toString();
  ASSERT_EQ(outputs.at(0).tensor.shape(), (std::vector<int64_t>{1, 2, 6, 6}));
  EXPECT_EQ(relativeL2(outputs.at(0).tensor, (*want)[0]), 0.0);

  BuilderConfig unknown;
  unknown.setInputValues("nope", scales);
  auto notAnInput = Builder(logger).build(*resizeByInputNet(), unknown);
  ASSERT_FALSE(notAnInput.isOk());
  EXPECT_NE(notAnInput.status().message().find("'nope'"), std::string::npos);
  BuilderConfig wrongType;
  wrongType.setInputValues("scales", lowp::testing::makeTensor(DataType::kInt64, {4}, {1, 1, 2, 2}));
  auto typeMismatch = Builder(logger).build(*resizeByInputNet(), wrongType);
  ASSERT_FALSE(typeMismatch.isOk());
  EXPECT_NE(typeMismatch.status().message().find("int64"), std::string::npos)
      << typeMismatch.status().toString();
  BuilderConfig conflicting;
  conflicting.setInputValues("scales", scales);
  conflicting.setShape("scales", {3});
  EXPECT_FALSE(Builder(logger).build(*resizeByInputNet(), conflicting).isOk());
}

TEST(Builder, HandBuiltLayersAreCheckedAsTheyAreAdded) {
  NetworkDefinition net;
  ASSERT_TRUE(net.addInput("x", DataType::kFloat32, {2, 3}).isOk());
  EXPECT_FALSE(net.addInput("x", DataType::kFloat32, {2, 3}).isOk());
  auto unknownOp = net.addLayer("Frobnicate", "f", {"x"}, {"y"});
  ASSERT_FALSE(unknownOp.isOk());
  EXPECT_EQ(unknownOp.status().code(), StatusCode::kUnsupported);
  auto missingInput = net.addLayer("Relu", "r", {"nope"}, {"y"});
  ASSERT_FALSE(missingInput.isOk());
  EXPECT_NE(missingInput.status().message().find("'nope'"), std::string::npos);
  auto badAttribute = net.addLayer("Softmax", "s", {"x"}, {"y"}, {{"axis", std::string("one")}});
  ASSERT_FALSE(badAttribute.isOk());
  EXPECT_NE(badAttribute.status().message().find("'axis'"), std::string::npos);
  auto badShapes = net.addLayer("MatMul", "m", {"x", "x"}, {"y"});
  ASSERT_FALSE(badShapes.isOk());
  EXPECT_NE(badShapes.status().message().find("'m'"), std::string::npos);
  auto ok = net.addLayer("Softmax", "s", {"x"}, {"y"}, {{"axis", int64_t{1}}});
  ASSERT_TRUE(ok.isOk()) << ok.status().toString();
  EXPECT_EQ((*ok)->name(), "s");
  EXPECT_EQ(net.layerCount(), 1);
  EXPECT_FALSE(net.markOutput("nope").isOk());
}

// ---- INT8 ------------------------------------------------------------------------------------------------

// Calibration batches held in memory: `samples` inputs of x, `perBatch` to a batch, in the order given.
class MemorySource final : public CalibrationSource {
 public:
  MemorySource(std::vector<Tensor> samples, int64_t perBatch)
      : samples_(std::move(samples)), perBatch_(perBatch) {}
  int64_t batchCount() const override { return static_cast<int64_t>(samples_.size()) / perBatch_; }
  Result<std::vector<NamedTensor>> batch(int64_t i) override {
    std::vector<int64_t> shape = samples_[0].shape();
    shape[0] = perBatch_;
    Tensor t(DataType::kFloat32, shape);
    const int64_t each = samples_[0].elementCount();
    for (int64_t k = 0; k < perBatch_; ++k) {
      const Tensor& s = samples_[static_cast<size_t>(i * perBatch_ + k)];
      std::copy(s.data<float>(), s.data<float>() + each, t.data<float>() + k * each);
    }
    return std::vector<NamedTensor>{{"x", t}};
  }

 private:
  std::vector<Tensor> samples_;
  int64_t perBatch_;
};

std::vector<Tensor> calibrationSamples() {
  std::vector<Tensor> samples;
  for (uint32_t i = 0; i < 8; ++i) samples.push_back(randomTensor({1, 16, 12, 12}, 100 + i));
  return samples;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(BuilderInt8, ObeyedLayerRunsQuantizedAndStaysAccurate) {
  RecordingLogger logger;
  auto net = convNet();
  ASSERT_NE(net->findLayer("conv"), nullptr);
  net->findLayer("conv")->setPrecision(DataType::kInt8);
  BuilderConfig config;
  config.setShape("x", {2, 16, 12, 12});
  config.setFlag(BuilderFlag::kINT8);
  config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  MemorySource source(calibrationSamples(), 2);
  config.setCalibration(&source, {CalibrationAlgorithm::kMinMax});
  auto engine = Builder(logger).build(*net, config);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  const LayerInfo* conv = findLayer(**engine, "conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->precision, DataType::kInt8);
  EXPECT_EQ(conv->opType, "lowp.QuantizedConv");
  EXPECT_EQ(conv->inputTypes[0], DataType::kInt8);
  EXPECT_EQ(conv->inputTypes[1], DataType::kInt8);   // weights quantized at build time
  EXPECT_EQ(conv->inputTypes[2], DataType::kInt32);  // bias at x_scale * w_scale
  EXPECT_TRUE(logger.saw(Severity::kInfo, "calibrated"));
  // The network input is quantized by a QuantizeLinear layer the builder inserted.
  bool quantizes = false;
  for (const LayerInfo& l : (*engine)->layers()) quantizes |= l.opType == "QuantizeLinear";
  EXPECT_TRUE(quantizes);
  const Tensor x = randomTensor({2, 16, 12, 12}, 3);
  const double err = relativeL2(run(**engine, x)[0].tensor, referenceConvNet(x));
  EXPECT_LT(err, 2e-2);
  EXPECT_GT(err, 0.0);  // it did run in int8
}

TEST(BuilderInt8, CalibrationCacheIsWrittenReadAndIndependentOfBatching) {
  const std::string dir = ::testing::TempDir();
  const std::string a = dir + "/lowp_int8_a.cache";
  const std::string b = dir + "/lowp_int8_b.cache";
  std::filesystem::remove(a);
  std::filesystem::remove(b);
  RecordingLogger logger;
  auto net = convNet();
  BuilderConfig config;
  config.setShape("x", {2, 16, 12, 12});
  config.setFlag(BuilderFlag::kINT8);
  ASSERT_TRUE(config.setOptimizationLevel(1).isOk());
  MemorySource inOrder(calibrationSamples(), 2);
  config.setCalibration(&inOrder);  // entropy
  config.setCalibrationCacheFile(a);
  ASSERT_TRUE(Builder(logger).build(*net, config).isOk());
  std::vector<Tensor> reversed = calibrationSamples();
  std::reverse(reversed.begin(), reversed.end());
  MemorySource otherBatching(reversed, 4);
  config.setCalibration(&otherBatching);
  config.setCalibrationCacheFile(b);
  ASSERT_TRUE(Builder(logger).build(*net, config).isOk());
  const std::string text = readFile(a);
  EXPECT_EQ(text.rfind("TRT-", 0), 0u) << text;
  EXPECT_NE(text.find("EntropyCalibration2"), std::string::npos);
  EXPECT_NE(text.find("\nx: "), std::string::npos);
  EXPECT_EQ(text, readFile(b));  // the same scales, bit for bit
  // An existing cache is read instead of calibrating.
  RecordingLogger second;
  config.setCalibration(nullptr);
  config.setCalibrationCacheFile(a);
  ASSERT_TRUE(Builder(second).build(*net, config).isOk());
  EXPECT_TRUE(second.saw(Severity::kInfo, "calibration cache"));
  EXPECT_FALSE(second.saw(Severity::kInfo, "calibrated"));
}

TEST(BuilderInt8, WithoutScalesItWarnsThatAccuracyIsMeaningless) {
  RecordingLogger logger;
  auto net = convNet();
  BuilderConfig config;
  config.setFlag(BuilderFlag::kINT8);
  ASSERT_TRUE(Builder(logger).build(*net, config).isOk());
  EXPECT_TRUE(logger.saw(Severity::kWarning, "meaningless"));
  // On given input values the scales are those values' ranges: the warning says so instead.
  RecordingLogger onGiven;
  config.setInputValues("x", randomTensor({1, 16, 12, 12}, 6));
  ASSERT_TRUE(Builder(onGiven).build(*convNet(), config).isOk());
  EXPECT_FALSE(onGiven.saw(Severity::kWarning, "meaningless"));
  EXPECT_TRUE(onGiven.saw(Severity::kWarning, "inputs given to build on"));
}

TEST(BuilderInt8, DynamicRangesAreCheckedAndUsed) {
  auto net = convNet();
  EXPECT_FALSE(net->setDynamicRange("nope", -1, 1).isOk());
  EXPECT_FALSE(net->setDynamicRange("x", 1, -1).isOk());
  EXPECT_FALSE(net->setDynamicRange("x", 0, 0).isOk());
  EXPECT_FALSE(net->setDynamicRange("x", -INFINITY, 1).isOk());
  ASSERT_TRUE(net->setDynamicRange("x", -1, 1).isOk());
  ASSERT_TRUE(net->setDynamicRange("r", 0, 8).isOk());
  net->findLayer("conv")->setPrecision(DataType::kInt8);
  RecordingLogger logger;
  BuilderConfig config;
  config.setFlag(BuilderFlag::kINT8);
  config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  auto engine = Builder(logger).build(*net, config);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  EXPECT_FALSE(logger.saw(Severity::kWarning, "meaningless"));
  EXPECT_EQ(findLayer(**engine, "conv")->precision, DataType::kInt8);
  const Tensor x = randomTensor({1, 16, 12, 12}, 5);
  EXPECT_LT(relativeL2(run(**engine, x)[0].tensor, referenceConvNet(x)), 5e-2);
}

// Sees the tensors of a run and replaces the one named `replace` with `replacement`.
class RecordingInspector final : public TensorInspector {
 public:
  void tensorComputed(std::string_view name, const Tensor& value, float scale, int32_t zeroPoint) override {
    seen[std::string(name)] = {value.clone(), scale, zeroPoint};
  }
  const Tensor* replacementFor(std::string_view name) override {
    return name == replace ? &replacement : nullptr;
  }
  struct Seen {
    Tensor value;
    float scale;
    int32_t zeroPoint;
  };
  std::map<std::string, Seen> seen;
  std::string replace;
  Tensor replacement;
};

// Replaces tensor `name` for its first reader only; the later readers read the engine's own.
class FirstReadReplacer final : public TensorInspector {
 public:
  void tensorComputed(std::string_view, const Tensor&, float, int32_t) override {}
  const Tensor* replacementFor(std::string_view name) override {
    if (name != replace || used) return nullptr;
    used = true;
    return &replacement;
  }
  std::string replace;
  Tensor replacement;
  bool used = false;
};

// A Reshape's output is planned in its input's memory; when an inspector gives the Reshape another input,
// that memory still holds the original for the layer that reads it after.
TEST(TensorInspector, ReplacingAReshapesInputLeavesTheOriginalToLaterReaders) {
  NetworkDefinition net;
  ASSERT_TRUE(net.addInput("x", DataType::kFloat32, {2, 8}).isOk());
  ASSERT_TRUE(net.addConstant("shape", lowp::testing::makeTensor(DataType::kInt64, {1}, {16})).isOk());
  ASSERT_TRUE(net.addLayer("Relu", "relu", {"x"}, {"a"}).isOk());
  ASSERT_TRUE(net.addLayer("Reshape", "flat", {"a", "shape"}, {"f"}).isOk());
  ASSERT_TRUE(net.addLayer("Relu", "relu2", {"f"}, {"g"}).isOk());
  ASSERT_TRUE(net.addLayer("Neg", "neg", {"a"}, {"n"}).isOk());
  ASSERT_TRUE(net.markOutput("g").isOk());
  ASSERT_TRUE(net.markOutput("n").isOk());
  RecordingLogger logger;
  auto engine = Builder(logger).build(net, BuilderConfig());
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  const Tensor x = randomTensor({2, 8}, 12);
  auto context = (*engine)->createExecutionContext();
  FirstReadReplacer replacer;
  replacer.replace = "a";
  replacer.replacement = lowp::testing::makeTensor(DataType::kFloat32, {2, 8}, std::vector<double>(16, 1.0));
  context->setTensorInspector(&replacer);
  std::vector<NamedTensor> outputs;
  ASSERT_TRUE(context->execute(std::vector<NamedTensor>{{"x", x}}, outputs).isOk());
  ASSERT_TRUE(replacer.used);
  ASSERT_EQ(outputs.size(), 2u);
  for (int64_t i = 0; i < 16; ++i) {
    EXPECT_EQ(outputs[0].tensor.data<float>()[i], 1.0f) << i;  // relu2 of the replacement
    EXPECT_EQ(outputs[1].tensor.data<float>()[i], -std::max(x.data<float>()[i], 0.0f)) << i;
  }
}

TEST(TensorInspector, SeesInt8TensorsDequantizableInOnnxLayoutAndReplacesThem) {
  auto net = convNet();
  ASSERT_TRUE(net->setDynamicRange("x", -1, 1).isOk());
  ASSERT_TRUE(net->setDynamicRange("r", 0, 8).isOk());
  net->findLayer("conv")->setPrecision(DataType::kInt8);
  ASSERT_TRUE(net->findLayer("relu")->setOutputType(0, DataType::kInt8).isOk());  // else timing decides
  net->findLayer("pool")->setPrecision(DataType::kFloat32);
  RecordingLogger logger;
  BuilderConfig config;
  config.setShape("x", {2, 16, 12, 12});
  config.setFlag(BuilderFlag::kINT8);
  config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  auto built = Builder(logger).build(*net, config);
  ASSERT_TRUE(built.isOk()) << built.status().toString();
  // The inspector sees the same engine after a round trip through the engine file.
  auto bytes = (*built)->serialize();
  ASSERT_TRUE(bytes.isOk());
  auto engine = Engine::deserialize(*bytes);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  bool quantizeIsAConversion = false;
  for (const LayerInfo& l : (*engine)->layers()) {
    EXPECT_EQ(l.conversion, l.reason.rfind("conversion: ", 0) == 0) << l.name;
    quantizeIsAConversion |= l.opType == "QuantizeLinear" && l.conversion;
  }
  EXPECT_TRUE(quantizeIsAConversion);

  const Tensor x = randomTensor({2, 16, 12, 12}, 7);
  auto context = (*engine)->createExecutionContext();
  RecordingInspector inspector;
  context->setTensorInspector(&inspector);
  std::vector<NamedTensor> outputs;
  ASSERT_TRUE(context->execute(std::vector<NamedTensor>{{"x", x}}, outputs).isOk());
  // "r" (the fused Conv + Relu's output) is kept in int8 at 8/127, and shown in ONNX's [N, C, H, W] layout.
  ASSERT_EQ(inspector.seen.count("r"), 1u);
  const RecordingInspector::Seen& r = inspector.seen.at("r");
  EXPECT_EQ(r.value.type(), DataType::kInt8);
  EXPECT_FLOAT_EQ(r.scale, 8.0f / 127);
  auto conv =
      lowp::testing::runOp({.opType = "Conv",
                            .attributes = lowp::testing::attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}}),
                            .inputs = {x, randomTensor({16, 16, 3, 3}, 1), randomTensor({16}, 2)}});
  ASSERT_TRUE(conv.isOk());
  double worst = 0;
  for (int64_t i = 0; i < r.value.elementCount(); ++i) {
    const double real = (elementAsDouble(r.value, i) - r.zeroPoint) * r.scale;
    const double want = std::clamp(elementAsDouble((*conv)[0], i), 0.0, 8.0);
    worst = std::max(worst, std::fabs(real - want));
  }
  EXPECT_LT(worst, 0.2);  // the input's and the output's rounding, not a misplaced element
  EXPECT_EQ(inspector.seen.count("y"), 1u);

  // Replacing "r" by ones: the average pool reads 1 quantized at 8/127 everywhere.
  RecordingInspector replacing;
  replacing.replace = "r";
  replacing.replacement = lowp::testing::makeTensor(DataType::kFloat32, {2, 16, 12, 12},
                                                    std::vector<double>(2 * 16 * 12 * 12, 1.0));
  context->setTensorInspector(&replacing);
  ASSERT_TRUE(context->execute(std::vector<NamedTensor>{{"x", x}}, outputs).isOk());
  const double one = std::nearbyint(127.0 / 8) * 8.0 / 127;
  for (int64_t i = 0; i < outputs[0].tensor.elementCount(); ++i)
    EXPECT_NEAR(elementAsDouble(outputs[0].tensor, i), one, 1e-6);
  // A replacement of another shape is an error naming the tensor.
  replacing.replacement = randomTensor({1, 16, 12, 12}, 8);
  Status s = context->execute(std::vector<NamedTensor>{{"x", x}}, outputs);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.toString().find("replacement of tensor 'r'"), std::string::npos) << s.toString();
}

TEST(BuilderInt8, GemmWithTransposedWeightsQuantizesPerOutputColumn) {
  for (bool perChannel : {true, false}) {
    NetworkDefinition net;
    ASSERT_TRUE(net.addInput("x", DataType::kFloat32, {4, 32}).isOk());
    // Output columns of very different magnitudes: per-column scales keep the small ones accurate.
    Tensor w = randomTensor({16, 32}, 7);
    for (int64_t n = 0; n < 8; ++n) {
      for (int64_t k = 0; k < 32; ++k) w.data<float>()[n * 32 + k] *= 50.0f;
    }
    ASSERT_TRUE(net.addConstant("w", w).isOk());
    ASSERT_TRUE(net.addConstant("c", randomTensor({16}, 8)).isOk());
    ASSERT_TRUE(net.addLayer("Gemm", "fc", {"x", "w", "c"}, {"y"}, {{"transB", int64_t{1}}}).isOk());
    ASSERT_TRUE(net.markOutput("y").isOk());
    ASSERT_TRUE(net.setDynamicRange("x", -1, 1).isOk());
    net.findLayer("fc")->setPrecision(DataType::kInt8);
    RecordingLogger logger;
    BuilderConfig config;
    config.setFlag(BuilderFlag::kINT8);
    config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
    config.setPerChannelWeightScales(perChannel);
    auto engine = Builder(logger).build(net, config);
    ASSERT_TRUE(engine.isOk()) << engine.status().toString();
    EXPECT_EQ(findLayer(**engine, "fc")->opType, "lowp.QuantizedMatMul");
    const Tensor x = randomTensor({4, 32}, 9);
    auto want = lowp::testing::runOp({.opType = "Gemm",
                                      .attributes = lowp::testing::attrs({{"transB", int64_t{1}}}),
                                      .inputs = {x, w, randomTensor({16}, 8)}});
    ASSERT_TRUE(want.isOk());
    const Tensor got = run(**engine, x)[0].tensor;
    // The small columns (8..15) alone: per-tensor scales, set by the large ones, lose them.
    double diff = 0;
    double norm = 0;
    for (int64_t r = 0; r < 4; ++r) {
      for (int64_t n = 8; n < 16; ++n) {
        const double a = got.data<float>()[r * 16 + n];
        const double b = (*want)[0].data<float>()[r * 16 + n];
        diff += (a - b) * (a - b);
        norm += b * b;
      }
    }
    const double err = std::sqrt(diff / norm);
    if (perChannel) {
      EXPECT_LT(err, 2e-2);
    } else {
      EXPECT_GT(err, 5e-2);
    }
  }
}

}  // namespace
}  // namespace lowp
