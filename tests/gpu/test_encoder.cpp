// A transformer encoder layer (the graph PyTorch's nn.TransformerEncoderLayer exports, made by hand) built
// for the CUDA device in fp32 and with FP16 allowed, against the same network's CPU engine: fused QKV
// projection, Slice, Reshape, Transpose (last axis kept and moved), scaling Div, batched MatMul, Softmax,
// residual Add, LayerNormalization, the erf Gelu (an ElementwiseChain and two Muls) and the feed-forward
// projections. Every layer that does not fold while planning must run a CUDA kernel, and every such op
// must have CUDA kernels in fp16 too. With LOWP_ENCODER_ONNX naming an exported encoder (input
// [batch, 128, 256]), that model is built and compared the same way.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "gpu_test_util.h"
#include "kernels/kernel.h"
#include "lowp/builder.h"
#include "lowp/engine.h"
#include "runtime/engine_impl.h"

namespace lowp::testing {
namespace {

constexpr int64_t kSeq = 16, kBatch = 2, kEmbed = 64, kHeads = 4, kHeadSize = 16, kHidden = 128;

struct Silent final : Logger {
  void log(Severity, std::string_view) override {}
};

Tensor int64s(const std::vector<int64_t>& v) {
  Tensor t(DataType::kInt64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}

Tensor scalar(float v) {
  Tensor t(DataType::kFloat32, {});
  t.data<float>()[0] = v;
  return t;
}

// One encoder layer over x [S, B, E] (post-norm, erf Gelu), with random weights.
std::unique_ptr<NetworkDefinition> encoderLayer() {
  auto net = std::make_unique<NetworkDefinition>();
  std::mt19937 rng(91);
  auto check = [](const Status& s) { EXPECT_TRUE(s.isOk()) << s.toString(); };
  auto constant = [&](const std::string& name, const Tensor& t) { check(net->addConstant(name, t)); };
  auto weight = [&](const std::string& name, std::vector<int64_t> shape, double range) {
    constant(name, randomTensor(rng, DataType::kFloat32, std::move(shape), -range, range));
  };
  auto layer = [&](const std::string& op, const std::string& out, const std::vector<std::string>& ins,
                   const std::vector<LayerAttribute>& attributes = {}) {
    auto l = net->addLayer(op, out, ins, {out}, attributes);
    EXPECT_TRUE(l.isOk()) << op << " " << out << ": " << l.status().toString();
  };
  check(net->addInput("x", DataType::kFloat32, {kSeq, kBatch, kEmbed}));
  weight("w_qkv", {kEmbed, 3 * kEmbed}, 0.2);
  weight("b_qkv", {3 * kEmbed}, 0.1);
  weight("w_o", {kEmbed, kEmbed}, 0.2);
  weight("b_o", {kEmbed}, 0.1);
  weight("w_1", {kEmbed, kHidden}, 0.2);
  weight("b_1", {kHidden}, 0.1);
  weight("w_2", {kHidden, kEmbed}, 0.15);
  weight("b_2", {kEmbed}, 0.1);
  for (const char* n : {"g_1", "g_2"}) constant(n, randomTensor(rng, DataType::kFloat32, {kEmbed}, 0.8, 1.2));
  weight("beta_1", {kEmbed}, 0.1);
  weight("beta_2", {kEmbed}, 0.1);
  for (int i = 0; i < 3; ++i) {
    constant("start_" + std::to_string(i), int64s({i * kEmbed}));
    constant("end_" + std::to_string(i), int64s({(i + 1) * kEmbed}));
  }
  constant("axis_2", int64s({2}));
  constant("heads_shape", int64s({kSeq, kBatch * kHeads, kHeadSize}));
  constant("rows_shape", int64s({kSeq * kBatch, kEmbed}));
  constant("x_shape", int64s({kSeq, kBatch, kEmbed}));
  constant("scale", scalar(std::sqrt(static_cast<float>(kHeadSize))));
  constant("sqrt2", scalar(1.41421356f));
  constant("one", scalar(1.0f));
  constant("half", scalar(0.5f));

  layer("MatMul", "qkv_mm", {"x", "w_qkv"});
  layer("Add", "qkv", {"qkv_mm", "b_qkv"});
  const char* parts[] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    const std::string p = parts[i];
    layer("Slice", p, {"qkv", "start_" + std::to_string(i), "end_" + std::to_string(i), "axis_2"});
    layer("Reshape", p + "_heads", {p, "heads_shape"});
  }
  layer("Transpose", "q_t", {"q_heads"}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
  layer("Div", "q_scaled", {"q_t", "scale"});
  layer("Transpose", "k_t", {"k_heads"}, {{"perm", std::vector<int64_t>{1, 2, 0}}});
  layer("Transpose", "v_t", {"v_heads"}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
  layer("MatMul", "scores", {"q_scaled", "k_t"});
  layer("Softmax", "probs", {"scores"}, {{"axis", int64_t{-1}}});
  layer("MatMul", "context", {"probs", "v_t"});
  layer("Transpose", "context_t", {"context"}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
  layer("Reshape", "context_rows", {"context_t", "rows_shape"});
  layer("Gemm", "attn_rows", {"context_rows", "w_o", "b_o"});
  layer("Reshape", "attn", {"attn_rows", "x_shape"});
  layer("Add", "residual_1", {"x", "attn"});
  layer("LayerNormalization", "norm_1", {"residual_1", "g_1", "beta_1"}, {{"epsilon", 1e-5f}});
  layer("MatMul", "ff_mm", {"norm_1", "w_1"});
  layer("Add", "ff", {"ff_mm", "b_1"});
  layer("Div", "gelu_div", {"ff", "sqrt2"});
  layer("Erf", "gelu_erf", {"gelu_div"});
  layer("Add", "gelu_add", {"gelu_erf", "one"});
  layer("Mul", "gelu_mul", {"ff", "gelu_add"});
  layer("Mul", "gelu", {"gelu_mul", "half"});
  layer("MatMul", "ff2_mm", {"gelu", "w_2"});
  layer("Add", "ff2", {"ff2_mm", "b_2"});
  layer("Add", "residual_2", {"norm_1", "ff2"});
  layer("LayerNormalization", "y", {"residual_2", "g_2", "beta_2"}, {{"epsilon", 1e-5f}});
  check(net->markOutput("y"));
  return net;
}

// Every layer that runs at run time runs a CUDA kernel, and its op has CUDA kernels for fp16 tensors.
void expectCudaAndFp16Kernels(const Engine& engine) {
  const auto& impl = engine.impl();
  const std::vector<bool> folded = runtime::foldedWhilePlanning(*impl.graph);
  for (const ir::Node* node : impl.graph->nodes()) {
    if (folded[static_cast<size_t>(node->id)]) continue;
    EXPECT_EQ(impl.kernelOf[static_cast<size_t>(node->id)]->backend, kernels::Backend::kCuda)
        << node->describe();
    // Casts, and quantized layers with their Q/DQ, have the types of their precision.
    if (node->opType == "Cast" || node->opType == "QuantizeLinear" || node->opType == "DequantizeLinear" ||
        node->opType == "QuantizedMatMul")
      continue;
    std::vector<DataType> in;
    for (const ir::Value* v : node->inputs) {
      const bool isFloat = v != nullptr && (v->type == DataType::kFloat32 || v->type == DataType::kFloat16);
      in.push_back(v == nullptr ? DataType::kUndefined : (isFloat ? DataType::kFloat16 : v->type));
    }
    EXPECT_FALSE(kernels::KernelRegistry::global()
                     .find(node->domain, node->opType, kernels::Backend::kCuda, in, {DataType::kFloat16})
                     .empty())
        << "no fp16 CUDA kernel for " << node->describe();
  }
}

// `cpuNetwork`: the CPU's own copy of the network where `network` has constraints only the GPU can meet.
double gpuErrorAgainstCpu(const NetworkDefinition& network, BuilderConfig gpuConfig, const std::string& input,
                          const std::vector<int64_t>& shape, const char* what,
                          const NetworkDefinition* cpuNetwork = nullptr) {
  Silent log;
  BuilderConfig cpuConfig;
  cpuConfig.setShape(input, shape);
  auto cpu = Builder(log).build(cpuNetwork != nullptr ? *cpuNetwork : network, cpuConfig);
  EXPECT_TRUE(cpu.isOk()) << cpu.status().toString();
  gpuConfig.setDevice(Device::kCuda);
  gpuConfig.setShape(input, shape);
  auto gpuEngine = Builder(log).build(network, gpuConfig);
  EXPECT_TRUE(gpuEngine.isOk()) << gpuEngine.status().toString();
  if (!cpu.isOk() || !gpuEngine.isOk()) return 1e30;
  expectCudaAndFp16Kernels(**gpuEngine);
  int fp16Layers = 0;
  for (const LayerInfo& l : (*gpuEngine)->layers()) {
    if (l.precision == DataType::kFloat16) ++fp16Layers;
  }
  std::mt19937 rng(92);
  const std::vector<NamedTensor> inputs = {{input, randomTensor(rng, DataType::kFloat32, shape)}};
  const auto ref = executeOk(*(*cpu)->createExecutionContext(), inputs);
  const auto got = executeOk(*(*gpuEngine)->createExecutionContext(), inputs);
  if (ref.empty() || got.size() != ref.size()) return 1e30;
  const double error = relativeL2(ref[0].tensor, got[0].tensor);
  std::cout << what << ": relative L2 " << error << " against the CPU, " << fp16Layers << " fp16 layers\n";
  return error;
}

TEST(CudaEncoder, Fp32MatchesTheCpu) {
  LOWP_REQUIRE_GPU();
  auto network = encoderLayer();
  BuilderConfig config;
  config.clearFlag(BuilderFlag::kTF32);
  EXPECT_LE(gpuErrorAgainstCpu(*network, config, "x", {kSeq, kBatch, kEmbed}, "encoder layer fp32"), 1e-3);
}

TEST(CudaEncoder, Fp16StaysAccurate) {
  LOWP_REQUIRE_GPU();
  auto network = encoderLayer();
  BuilderConfig config;
  config.setFlag(BuilderFlag::kFP16);
  EXPECT_LE(gpuErrorAgainstCpu(*network, config, "x", {kSeq, kBatch, kEmbed}, "encoder layer fp16"), 2e-2);
}

// The erf GELU after the feed-forward product: in fp16 the builder may time the -gelutanh tactics (the tanh
// form in cuBLASLt's epilogue), and the layer report says so where it takes one; with kExactActivations it
// never does, and the engine stays within fp16's accuracy either way.
TEST(CudaEncoder, ExactActivationsKeepTheErfGelu) {
  LOWP_REQUIRE_GPU();
  for (const bool exact : {false, true}) {
    SCOPED_TRACE(exact ? "kExactActivations" : "fp16 alone");
    auto network = encoderLayer();
    BuilderConfig config;
    config.setFlag(BuilderFlag::kFP16);
    if (exact) config.setFlag(BuilderFlag::kExactActivations);
    EXPECT_LE(gpuErrorAgainstCpu(*network, config, "x", {kSeq, kBatch, kEmbed}, "encoder layer fp16"), 2e-2);
    Silent log;
    config.setDevice(Device::kCuda);
    config.setShape("x", {kSeq, kBatch, kEmbed});
    auto engine = Builder(log).build(*network, config);
    ASSERT_TRUE(engine.isOk()) << engine.status().toString();
    for (const LayerInfo& l : (*engine)->layers()) {
      const bool tanhForm = l.tactic.find("gelutanh") != std::string::npos;
      if (exact) {
        EXPECT_FALSE(tanhForm) << l.name << ": " << l.tactic;
      }
      EXPECT_EQ(tanhForm, l.reason.find("the erf GELU as the tanh form") != std::string::npos)
          << l.name << ": " << l.reason;
    }
  }
}

// FP8 on the projections (PREFER constraints, scales from the build's own run): the four matrix products run
// cuBLASLt's fp8 kernel (the feed-forward pair may pass fp8 between them), the engine file round-trips, and
// the layer stays within fp8's accuracy of the CPU's fp32 engine: e4m3 keeps 3
// mantissa bits (a rounding error up to 1/16 of each operand), and four products in a row measured 0.045
// relative L2 on an H100, so the bound is 8e-2.
TEST(CudaEncoder, Fp8ProjectionsRunOnFp8TensorCores) {
  LOWP_REQUIRE_GPU();
  if (!gpuHasFp8TensorCores()) GTEST_SKIP() << "no fp8 tensor cores on this GPU (sm_89 and later have them)";
  auto network = encoderLayer();
  const std::vector<std::string> projections = {"qkv_mm", "attn_rows", "ff_mm", "ff2_mm"};
  for (const std::string& name : projections) network->findLayer(name)->setPrecision(DataType::kFloat8E4M3FN);
  BuilderConfig config;
  config.setFlag(BuilderFlag::kFP8);
  config.setFlag(BuilderFlag::kFP16);
  config.setFlag(BuilderFlag::kPreferPrecisionConstraints);
  EXPECT_LE(gpuErrorAgainstCpu(*network, config, "x", {kSeq, kBatch, kEmbed}, "encoder layer fp8",
                               encoderLayer().get()),
            8e-2);
  Silent log;
  config.setDevice(Device::kCuda);
  config.setShape("x", {kSeq, kBatch, kEmbed});
  auto engine = Builder(log).build(*network, config);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  int fp8 = 0;
  for (const LayerInfo& l : (*engine)->layers()) {
    if (l.opType.find("QuantizedMatMul") == std::string::npos) continue;
    ++fp8;
    EXPECT_EQ(l.precision, DataType::kFloat8E4M3FN) << l.name;
    EXPECT_TRUE(l.tactic.starts_with("f8-quantizedmatmul-cublaslt")) << l.name << ": " << l.tactic;
  }
  EXPECT_EQ(fp8, static_cast<int>(projections.size()));
  // The engine file keeps the fp8 weights and layers: the loaded engine gives the same bits.
  auto bytes = (*engine)->serialize();
  ASSERT_TRUE(bytes.isOk()) << bytes.status().toString();
  auto loaded = Engine::deserialize(*bytes);
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  std::mt19937 rng(93);
  const std::vector<NamedTensor> inputs = {
      {"x", randomTensor(rng, DataType::kFloat32, {kSeq, kBatch, kEmbed})}};
  const auto built = executeOk(*(*engine)->createExecutionContext(), inputs);
  const auto again = executeOk(*(*loaded)->createExecutionContext(), inputs);
  ASSERT_EQ(built.size(), again.size());
  for (size_t i = 0; i < built.size(); ++i)
    EXPECT_EQ(maxAbsDifference(built[i].tensor, again[i].tensor), 0.0);
}

// A scale computed while planning (sqrt of a dimension, as attention exports write 1 / sqrt(head size)) read
// by an fp16 layer: the cast the builder places on that plan-time value runs on the host.
TEST(CudaEncoder, AScaleComputedWhilePlanningFeedsAnFp16Layer) {
  LOWP_REQUIRE_GPU();
  NetworkDefinition net;
  auto check = [](const Status& s) { EXPECT_TRUE(s.isOk()) << s.toString(); };
  check(net.addInput("x", DataType::kFloat32, {4, 64}));
  check(net.addConstant("one", int64s({1})));
  for (const auto& [op, out, ins, attributes] : std::vector<
           std::tuple<std::string, std::string, std::vector<std::string>, std::vector<LayerAttribute>>>{
           {"Shape", "shape", {"x"}, {}},
           {"Gather", "size", {"shape", "one"}, {}},
           {"Cast", "size_f", {"size"}, {{"to", int64_t{1}}}},
           {"Sqrt", "root", {"size_f"}, {}},
           {"Div", "y", {"x", "root"}, {}}}) {
    auto l = net.addLayer(op, out, ins, {out}, attributes);
    ASSERT_TRUE(l.isOk()) << op << ": " << l.status().toString();
  }
  check(net.markOutput("y"));
  net.findLayer("y")->setPrecision(DataType::kFloat16);
  BuilderConfig config;
  config.setFlag(BuilderFlag::kFP16);
  config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  EXPECT_LE(gpuErrorAgainstCpu(net, config, "x", {4, 64}, "plan-time scale, fp16 Div"), 2e-3);
}

TEST(CudaEncoder, ExportedModelWhenGiven) {
  LOWP_REQUIRE_GPU();
  const char* path = std::getenv("LOWP_ENCODER_ONNX");
  if (path == nullptr || *path == '\0') GTEST_SKIP() << "LOWP_ENCODER_ONNX names no encoder model";
  auto network = NetworkDefinition::fromOnnxFile(path);
  ASSERT_TRUE(network.isOk()) << network.status().toString();
  const std::string input = (*network)->inputs()[0].name;
  BuilderConfig fp32;
  fp32.clearFlag(BuilderFlag::kTF32);
  EXPECT_LE(gpuErrorAgainstCpu(**network, fp32, input, {2, 128, 256}, "exported encoder fp32"), 1e-3);
  BuilderConfig fp16;
  fp16.setFlag(BuilderFlag::kFP16);
  EXPECT_LE(gpuErrorAgainstCpu(**network, fp16, input, {2, 128, 256}, "exported encoder fp16"), 2e-2);
  // The attention reads the packed projection in place (fuse_attention_layout), with the scale the export
  // computes from Q's shape, in fp16 on tensor cores.
  Silent log;
  fp16.setDevice(Device::kCuda);
  fp16.setShape(input, {2, 128, 256});
  auto engine = Builder(log).build(**network, fp16);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  int attentions = 0;
  for (const LayerInfo& l : (*engine)->layers()) {
    if (l.opType.find("Attention") == std::string::npos) continue;
    ++attentions;
    EXPECT_EQ(l.precision, DataType::kFloat16) << l.name << ": " << l.reason;
    const bool tensorCores = l.tactic.find("flash") != std::string::npos ||
                             l.tactic.find("wmma") != std::string::npos ||
                             l.tactic.find("cudnn") != std::string::npos;
    EXPECT_TRUE(tensorCores) << l.name << ": " << l.tactic;
    EXPECT_EQ(l.inputNames[0], l.inputNames[2]) << l.name << ": Q and V are not read from one tensor";
  }
  EXPECT_GT(attentions, 0);
}

}  // namespace
}  // namespace lowp::testing
