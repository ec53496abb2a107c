// Engine file tests: a saved engine loads without its ONNX model and gives bit-identical outputs; every
// truncation and every random corruption is an error; files edited behind a valid checksum are refused by
// the content checks (or, when the edit is harmless, load and run without crashing); other versions,
// devices and magics are refused with messages that say so.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <thread>

#include "engine/build_memory_plan.h"
#include "engine/codec.h"
#include "engine/crc32c.h"
#include "engine/engine_file.h"
#include "engine_file_generated.h"
#include "lowp/builder.h"
#include "onnx/importer.h"
#include "onnx/onnx_pb.h"
#include "passes/pipeline.h"
#include "runtime/cpu_features.h"
#include "runtime/engine_impl.h"

namespace lowp::engine {
namespace {

namespace fs = std::filesystem;

// ---- a model file ----

void addInitializer(::onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                    uint32_t seed) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(::onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    n *= d;
  }
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i)
    t->add_float_data(name == "bn_var" ? 0.5f + std::abs(dist(rng)) : dist(rng));
}

::onnx::NodeProto* addNode(::onnx::GraphProto* g, const std::string& op, const std::string& name,
                           const std::vector<std::string>& inputs, const std::vector<std::string>& outputs) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& in : inputs) n->add_input(in);
  for (const auto& out : outputs) n->add_output(out);
  return n;
}

void addInts(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& values) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void addFloat(::onnx::NodeProto* n, const std::string& name, float value) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

void addString(::onnx::NodeProto* n, const std::string& name, const std::string& value) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(value);
}

// x[batch,3,8,8] + ConstantOfShape(Shape(x)) -> Conv -> BatchNormalization (folded into the Conv) ->
// LeakyRelu -> MaxPool -> Flatten -> Gemm -> logits, Softmax -> prob. Attributes of every kind a graph
// can hold: int, float, string, ints, and a tensor (ConstantOfShape's value).
std::string smallCnnModel() {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* g = model.mutable_graph();
  g->set_name("small_cnn");
  auto* x = g->add_input();
  x->set_name("x");
  auto* xt = x->mutable_type()->mutable_tensor_type();
  xt->set_elem_type(::onnx::TensorProto::FLOAT);
  xt->mutable_shape()->add_dim()->set_dim_param("batch");
  for (int d : {3, 8, 8}) xt->mutable_shape()->add_dim()->set_dim_value(d);
  addInitializer(g, "conv_w", {4, 3, 3, 3}, 1);
  addInitializer(g, "conv_b", {4}, 2);
  addInitializer(g, "bn_scale", {4}, 3);
  addInitializer(g, "bn_bias", {4}, 4);
  addInitializer(g, "bn_mean", {4}, 5);
  addInitializer(g, "bn_var", {4}, 6);
  addInitializer(g, "fc_w", {64, 5}, 7);
  addInitializer(g, "fc_b", {5}, 8);

  addNode(g, "Shape", "shape", {"x"}, {"x_shape"});
  auto* fill = addNode(g, "ConstantOfShape", "fill", {"x_shape"}, {"half"});
  auto* value = fill->add_attribute();
  value->set_name("value");
  value->set_type(::onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(::onnx::TensorProto::FLOAT);
  value->mutable_t()->add_dims(1);
  value->mutable_t()->add_float_data(0.5f);
  addNode(g, "Add", "shift", {"x", "half"}, {"shifted"});
  auto* conv = addNode(g, "Conv", "conv", {"shifted", "conv_w", "conv_b"}, {"conv_out"});
  addInts(conv, "pads", {1, 1, 1, 1});
  addInts(conv, "kernel_shape", {3, 3});
  auto* group = conv->add_attribute();
  group->set_name("group");
  group->set_type(::onnx::AttributeProto::INT);
  group->set_i(1);
  auto* bn = addNode(g, "BatchNormalization", "bn", {"conv_out", "bn_scale", "bn_bias", "bn_mean", "bn_var"},
                     {"bn_out"});
  addFloat(bn, "epsilon", 1e-3f);
  auto* act = addNode(g, "LeakyRelu", "act", {"bn_out"}, {"act_out"});
  addFloat(act, "alpha", 0.125f);
  auto* pool = addNode(g, "MaxPool", "pool", {"act_out"}, {"pool_out"});
  addInts(pool, "kernel_shape", {2, 2});
  addInts(pool, "strides", {2, 2});
  addString(pool, "auto_pad", "NOTSET");
  addNode(g, "Flatten", "flatten", {"pool_out"}, {"flat"});
  auto* gemm = addNode(g, "Gemm", "fc", {"flat", "fc_w", "fc_b"}, {"logits"});
  addFloat(gemm, "alpha", 1.0f);
  addNode(g, "Softmax", "softmax", {"logits"}, {"prob"});
  g->add_output()->set_name("logits");
  g->add_output()->set_name("prob");
  return model.SerializeAsString();
}

// A folder of its own for the test's files, removed at the end.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("lowp_engine_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string writeModelFile(const TempDir& dir) {
  std::string path = dir.file("small_cnn.onnx");
  std::ofstream(path, std::ios::binary) << smallCnnModel();
  return path;
}

std::shared_ptr<Engine> smallCnnEngine() {
  TempDir dir;
  auto engine = Engine::fromOnnxFile(writeModelFile(dir), EngineOptions{1});
  EXPECT_TRUE(engine.isOk()) << engine.status().toString();
  return engine.isOk() ? *engine : nullptr;
}

// The small model with builder-style records: layers with every field set, and build shapes.
std::shared_ptr<Engine> smallCnnEngineWithLayers() {
  auto graph = onnx::importOnnxBytes(smallCnnModel(), "", "small_cnn.onnx");
  EXPECT_TRUE(graph.isOk()) << graph.status().toString();
  EXPECT_TRUE(passes::runPipeline(**graph).isOk());
  auto impl = runtime::prepareEngine(std::move(graph).value(), EngineOptions{1});
  EXPECT_TRUE(impl.isOk()) << impl.status().toString();
  for (const ir::Node* node : (*impl)->graph->nodes()) {
    LayerInfo l;
    l.name = node->name;
    l.absorbedNames = node->absorbedNames;
    l.opType = node->opType;
    l.requestedPrecision = node->opType == "Conv" ? DataType::kFloat16 : DataType::kUndefined;
    l.precision = DataType::kFloat32;
    for (const ir::Value* v : node->inputs) {
      l.inputNames.push_back(v ? v->name : "");
      l.inputTypes.push_back(v ? v->type : DataType::kUndefined);
      l.inputFormats.emplace_back("linear");
      l.inputShapes.push_back(v != nullptr && v->constant ? v->constant->shape()
                                                          : std::vector<int64_t>{2, -1});
    }
    for (const ir::Value* v : node->outputs) {
      l.outputNames.push_back(v->name);
      l.outputTypes.push_back(v->type);
      l.outputFormats.emplace_back("linear");
      l.outputShapes.push_back({2, static_cast<int64_t>(node->id)});
    }
    l.tactic = std::string((*impl)->kernelOf[static_cast<size_t>(node->id)]->name);
    l.timeMs = 0.25 * static_cast<double>(node->id);
    l.reason = "no implementation in fp16";
    (*impl)->layers.push_back(std::move(l));
  }
  (*impl)->buildShapes = {{2, 3, 8, 8}};
  (*impl)->fingerprint = runtime::deviceFingerprint();
  return std::make_shared<Engine>(std::move(impl).value());
}

std::vector<NamedTensor> randomInputs(const Engine& engine, int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<NamedTensor> inputs;
  for (const TensorDesc& d : engine.inputs()) {
    std::vector<int64_t> shape = d.shape;
    for (int64_t& s : shape) s = s < 0 ? batch : s;
    Tensor t(d.type, shape);
    for (int64_t i = 0; i < t.elementCount(); ++i) t.data<float>()[i] = dist(rng);
    inputs.push_back({d.name, t});
  }
  return inputs;
}

// Runs on a thread of its own, so that no per-thread state left by earlier runs (the OpenMP team size
// oneDNN kernels set on the threads they run on) differs between the runs a test compares.
std::vector<NamedTensor> run(const Engine& engine, const std::vector<NamedTensor>& inputs) {
  std::vector<NamedTensor> outputs;
  Status s;
  std::thread([&] { s = engine.createExecutionContext()->execute(inputs, outputs); }).join();
  EXPECT_TRUE(s.isOk()) << s.toString();
  return outputs;
}

// ---- comparing graphs ----

bool sameTensor(const Tensor& a, const Tensor& b) {
  return a.type() == b.type() && a.shape() == b.shape() && a.byteSize() == b.byteSize() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.byteSize())) == 0;
}

bool sameAttribute(const ir::AttrValue& a, const ir::AttrValue& b) {
  if (a.index() != b.index()) return false;
  if (const auto* t = std::get_if<Tensor>(&a)) return sameTensor(*t, std::get<Tensor>(b));
  if (const auto* f = std::get_if<float>(&a)) {
    return std::bit_cast<uint32_t>(*f) == std::bit_cast<uint32_t>(std::get<float>(b));
  }
  if (const auto* fa = std::get_if<std::vector<float>>(&a)) {
    const auto& fv = std::get<std::vector<float>>(b);
    return std::equal(fa->begin(), fa->end(), fv.begin(), fv.end(), [](float x, float y) {
      return std::bit_cast<uint32_t>(x) == std::bit_cast<uint32_t>(y);
    });
  }
  if (const auto* i = std::get_if<int64_t>(&a)) return *i == std::get<int64_t>(b);
  if (const auto* str = std::get_if<std::string>(&a)) return *str == std::get<std::string>(b);
  if (const auto* is = std::get_if<std::vector<int64_t>>(&a)) return *is == std::get<std::vector<int64_t>>(b);
  if (const auto* ss = std::get_if<std::vector<std::string>>(&a))
    return *ss == std::get<std::vector<std::string>>(b);
  return false;  // subgraphs are never stored
}

std::vector<int64_t> ids(const std::vector<ir::Value*>& values) {
  std::vector<int64_t> out;
  out.reserve(values.size());
  for (const ir::Value* v : values) out.push_back(v ? v->id : -1);
  return out;
}

void expectSameEngine(const Engine::Impl& a, const Engine::Impl& b) {
  const ir::Graph& ga = *a.graph;
  const ir::Graph& gb = *b.graph;
  EXPECT_EQ(ga.name, gb.name);
  ASSERT_EQ(ga.values().size(), gb.values().size());
  for (size_t i = 0; i < ga.values().size(); ++i) {
    const ir::Value& va = *ga.values()[i];
    const ir::Value& vb = *gb.values()[i];
    SCOPED_TRACE("value " + va.name);
    EXPECT_EQ(va.id, vb.id);
    EXPECT_EQ(va.name, vb.name);
    EXPECT_EQ(va.type, vb.type);
    EXPECT_EQ(va.shape, vb.shape);
    EXPECT_EQ(va.shape.toString(), vb.shape.toString());  // symbols included
    EXPECT_EQ(va.format, vb.format);
    EXPECT_EQ(va.isGraphInput, vb.isGraphInput);
    EXPECT_EQ(va.isGraphOutput, vb.isGraphOutput);
    EXPECT_EQ(va.producer == nullptr, vb.producer == nullptr);
    if (va.producer && vb.producer) {
      EXPECT_EQ(va.producer->name, vb.producer->name);
    }
    EXPECT_EQ(va.consumers.size(), vb.consumers.size());
    ASSERT_EQ(va.constant.has_value(), vb.constant.has_value());
    if (va.constant) {
      EXPECT_TRUE(sameTensor(*va.constant, *vb.constant));
    }
  }
  ASSERT_EQ(ga.nodes().size(), gb.nodes().size());
  for (size_t i = 0; i < ga.nodes().size(); ++i) {
    const ir::Node& na = *ga.nodes()[i];
    const ir::Node& nb = *gb.nodes()[i];
    SCOPED_TRACE("node " + na.name);
    EXPECT_EQ(na.name, nb.name);
    EXPECT_EQ(na.opType, nb.opType);
    EXPECT_EQ(na.domain, nb.domain);
    EXPECT_EQ(na.opsetVersion, nb.opsetVersion);
    EXPECT_EQ(ids(na.inputs), ids(nb.inputs));
    EXPECT_EQ(ids(na.outputs), ids(nb.outputs));
    EXPECT_EQ(na.absorbedNames, nb.absorbedNames);
    ASSERT_EQ(na.attributes.all().size(), nb.attributes.all().size());
    for (const auto& [name, value] : na.attributes.all()) {
      ASSERT_TRUE(nb.attributes.has(name)) << name;
      EXPECT_TRUE(sameAttribute(value, nb.attributes.all().find(name)->second)) << name;
    }
    EXPECT_EQ(a.kernelOf[static_cast<size_t>(na.id)], b.kernelOf[static_cast<size_t>(nb.id)]);
  }
  EXPECT_EQ(ids(ga.inputs()), ids(gb.inputs()));
  EXPECT_EQ(ids(ga.outputs()), ids(gb.outputs()));
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const LayerInfo& la = a.layers[i];
    const LayerInfo& lb = b.layers[i];
    EXPECT_EQ(la.name, lb.name);
    EXPECT_EQ(la.absorbedNames, lb.absorbedNames);
    EXPECT_EQ(la.opType, lb.opType);
    EXPECT_EQ(la.requestedPrecision, lb.requestedPrecision);
    EXPECT_EQ(la.precision, lb.precision);
    EXPECT_EQ(la.inputNames, lb.inputNames);
    EXPECT_EQ(la.inputTypes, lb.inputTypes);
    EXPECT_EQ(la.inputFormats, lb.inputFormats);
    EXPECT_EQ(la.outputNames, lb.outputNames);
    EXPECT_EQ(la.outputTypes, lb.outputTypes);
    EXPECT_EQ(la.outputFormats, lb.outputFormats);
    EXPECT_EQ(la.inputShapes, lb.inputShapes);
    EXPECT_EQ(la.outputShapes, lb.outputShapes);
    EXPECT_EQ(la.tactic, lb.tactic);
    EXPECT_EQ(la.timeMs, lb.timeMs);
    EXPECT_EQ(la.reason, lb.reason);
  }
  EXPECT_EQ(a.buildShapes, b.buildShapes);
  ASSERT_EQ(a.inputs.size(), b.inputs.size());
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    EXPECT_EQ(a.inputs[i].name, b.inputs[i].name);
    EXPECT_EQ(a.inputs[i].shape, b.inputs[i].shape);
    EXPECT_EQ(a.inputs[i].dimNames, b.inputs[i].dimNames);
  }
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
}

void expectBitIdentical(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_TRUE(sameTensor(a[i].tensor, b[i].tensor)) << a[i].name;
  }
}

// ---- editing files behind the checksum ----

std::vector<uint8_t> packFile(const fb::EngineFileT& content, uint32_t format = kFormatVersion) {
  flatbuffers::FlatBufferBuilder b;
  b.ForceDefaults(true);
  b.Finish(fb::EngineFile::Pack(b, &content));
  std::vector<uint8_t> file(kHeaderBytes + b.GetSize());
  std::memcpy(file.data(), kMagic, sizeof(kMagic));
  const auto size = static_cast<uint32_t>(b.GetSize());
  for (size_t i = 0; i < 4; ++i) {
    file[8 + i] = static_cast<uint8_t>(format >> (8 * i));
    file[12 + i] = static_cast<uint8_t>(size >> (8 * i));
  }
  std::memcpy(file.data() + kHeaderBytes, b.GetBufferPointer(), b.GetSize());
  if (format == kFormatVersion) {
    EXPECT_TRUE(sealEngineFile(file).isOk());
  }
  return file;
}

std::unique_ptr<fb::EngineFileT> unpack(const std::vector<uint8_t>& file) {
  return std::unique_ptr<fb::EngineFileT>(fb::GetEngineFile(file.data() + kHeaderBytes)->UnPack());
}

std::vector<uint8_t> serialized(const Engine& engine) {
  auto bytes = engine.serialize();
  EXPECT_TRUE(bytes.isOk()) << bytes.status().toString();
  return bytes.isOk() ? *bytes : std::vector<uint8_t>();
}

// The error deserialize() gives, or "" when it loads.
std::string loadError(const std::vector<uint8_t>& file) {
  auto engine = Engine::deserialize(file, EngineOptions{1});
  if (engine.isOk()) return "";
  EXPECT_EQ(engine.status().code(), StatusCode::kInvalidEngine) << engine.status().toString();
  return engine.status().message();
}

fb::NodeT& nodeNamed(fb::EngineFileT& content, const std::string& name) {
  for (auto& n : content.graph->nodes) {
    if (n->name == name) return *n;
  }
  ADD_FAILURE() << "no node " << name;
  return *content.graph->nodes.front();
}

int64_t valueId(const fb::EngineFileT& content, const std::string& name) {
  for (size_t i = 0; i < content.graph->values.size(); ++i) {
    if (content.graph->values[i]->name == name) return static_cast<int64_t>(i);
  }
  ADD_FAILURE() << "no value " << name;
  return 0;
}

// ---- round trip ----

TEST(EngineFile, RoundTripRunsWithoutTheModelAndGivesIdenticalOutputs) {
  TempDir dir;
  const std::string modelPath = writeModelFile(dir);
  auto original = Engine::fromOnnxFile(modelPath, EngineOptions{1});
  ASSERT_TRUE(original.isOk()) << original.status().toString();
  const std::string enginePath = dir.file("small_cnn.engine");
  ASSERT_TRUE((*original)->saveToFile(enginePath).isOk());
  fs::remove(modelPath);  // the engine must not need it

  // Same thread count as the original: kernels may split work (and so round) differently per thread count.
  auto loaded = Engine::fromEngineFile(enginePath, EngineOptions{1});
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  expectSameEngine((*original)->impl(), (*loaded)->impl());
  auto threaded = Engine::fromEngineFile(enginePath, EngineOptions{3});
  ASSERT_TRUE(threaded.isOk());
  EXPECT_EQ((*threaded)->impl().options.threads, 3);  // a load-time choice, not stored
  EXPECT_EQ((*loaded)->impl().fingerprint, runtime::deviceFingerprint());
  // The BatchNormalization folded into the convolution is still named by it.
  bool absorbed = false;
  for (const ir::Node* n : (*loaded)->impl().graph->nodes()) {
    absorbed = absorbed || std::count(n->absorbedNames.begin(), n->absorbedNames.end(), "bn") == 1;
  }
  EXPECT_TRUE(absorbed);

  for (int64_t batch : {1, 2, 5}) {
    auto inputs = randomInputs(**original, batch, static_cast<uint32_t>(batch));
    expectBitIdentical(run(**original, inputs), run(**loaded, inputs));
  }
  // Writing the loaded engine again gives the same bytes.
  EXPECT_EQ(serialized(**original), serialized(**loaded));
}

TEST(EngineFile, RoundTripKeepsLayersBuildShapesAndMemoryPlan) {
  auto engine = smallCnnEngineWithLayers();
  std::vector<uint8_t> file = serialized(*engine);
  auto loaded = Engine::deserialize(file, EngineOptions{1});
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  expectSameEngine(engine->impl(), (*loaded)->impl());
  EXPECT_EQ((*loaded)->layers().size(), engine->impl().graph->nodes().size());

  auto content = unpack(file);
  ASSERT_NE(content->memory_plan, nullptr);
  auto plan = planBuildMemory(*engine->impl().graph, {{2, 3, 8, 8}});
  ASSERT_TRUE(plan.isOk() && plan->has_value());
  EXPECT_EQ(content->memory_plan->arena_bytes, (*plan)->arenaBytes);
  EXPECT_EQ(content->memory_plan->buffers.size(), (*plan)->buffers.size());
  EXPECT_FALSE((*plan)->buffers.empty());
  EXPECT_TRUE(checkMemoryPlan(**plan, static_cast<int64_t>(engine->impl().graph->values().size()),
                              static_cast<int64_t>(engine->impl().graph->nodes().size()))
                  .isOk());
  auto inputs = randomInputs(*engine, 2, 9);
  expectBitIdentical(run(*engine, inputs), run(**loaded, inputs));
}

// An engine from the builder: reduced-precision layers, casts it inserted, its layer report and build shapes.
TEST(EngineFile, BuiltEngineRoundTripsWithIdenticalOutputs) {
  TempDir dir;
  auto network = NetworkDefinition::fromOnnxFile(writeModelFile(dir));
  ASSERT_TRUE(network.isOk()) << network.status().toString();
  ASSERT_TRUE((*network)->setInputType("x", DataType::kFloat16).isOk());
  Layer* pool = (*network)->findLayer("pool");
  ASSERT_NE(pool, nullptr);
  pool->setPrecision(DataType::kFloat16);
  BuilderConfig config;
  config.setFlag(BuilderFlag::kFP16);
  config.setFlag(BuilderFlag::kBF16);
  config.setFlag(BuilderFlag::kPreferPrecisionConstraints);
  config.setShape("x", {2, 3, 8, 8});
  config.setThreads(1);
  ASSERT_TRUE(config.setOptimizationLevel(1).isOk());
  StderrLogger logger(Severity::kError);
  auto built = lowp::Builder(logger).build(**network, config);
  ASSERT_TRUE(built.isOk()) << built.status().toString();
  const Engine::Impl& impl = (*built)->impl();
  EXPECT_FALSE(impl.layers.empty());
  EXPECT_EQ(impl.buildShapes, (std::vector<std::vector<int64_t>>{{2, 3, 8, 8}}));
  bool reduced = false;
  for (const auto& v : impl.graph->values()) reduced = reduced || v->type == DataType::kFloat16;
  EXPECT_TRUE(reduced);

  auto loaded = Engine::deserialize(serialized(**built), EngineOptions{1});
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  expectSameEngine(impl, (*loaded)->impl());
  EXPECT_NE(unpack(serialized(**built))->memory_plan, nullptr);
  std::mt19937 rng(3);
  std::vector<NamedTensor> inputs;
  for (const TensorDesc& d : (*built)->inputs()) {
    Tensor t(d.type, {2, 3, 8, 8});
    for (int64_t i = 0; i < t.byteSize(); ++i)
      static_cast<uint8_t*>(t.data())[i] = static_cast<uint8_t>(rng() % 60);
    inputs.push_back({d.name, t});
  }
  expectBitIdentical(run(**built, inputs), run(**loaded, inputs));
}

TEST(EngineFile, LoadsFromUnalignedBytes) {
  std::vector<uint8_t> file = serialized(*smallCnnEngine());
  std::vector<uint8_t> shifted(file.size() + 1);
  std::memcpy(shifted.data() + 1, file.data(), file.size());
  auto loaded = Engine::deserialize(std::span<const uint8_t>(shifted).subspan(1));
  EXPECT_TRUE(loaded.isOk()) << loaded.status().toString();
}

TEST(EngineFile, WithoutBuildShapesAndWithDynamicInputsHasNoMemoryPlan) {
  auto content = unpack(serialized(*smallCnnEngine()));
  EXPECT_TRUE(content->build_shapes.empty());
  EXPECT_EQ(content->memory_plan, nullptr);
}

// ---- truncation and corruption ----

TEST(EngineFile, EveryTruncationIsAnError) {
  std::vector<uint8_t> file = serialized(*smallCnnEngine());
  for (size_t n = 0; n < file.size(); ++n) {
    std::vector<uint8_t> cut(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(loadError(cut), "") << "truncated to " << n << " bytes";
    // Also with the header's size made to agree, so the FlatBuffer checks see the cut.
    if (n > kHeaderBytes) {
      const auto size = static_cast<uint32_t>(n - kHeaderBytes);
      for (size_t i = 0; i < 4; ++i) cut[12 + i] = static_cast<uint8_t>(size >> (8 * i));
      EXPECT_NE(loadError(cut), "") << "truncated to " << n << " bytes, size patched";
    }
  }
  std::string message = loadError(std::vector<uint8_t>(file.begin(), file.end() - 1));
  EXPECT_NE(message.find("engine: truncated"), std::string::npos) << message;
}

TEST(EngineFile, EveryRandomCorruptionIsAnError) {
  std::vector<uint8_t> file = serialized(*smallCnnEngine());
  std::mt19937 rng(5);
  for (int trial = 0; trial < 4000; ++trial) {
    std::vector<uint8_t> corrupt = file;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) corrupt[rng() % corrupt.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    EXPECT_NE(loadError(corrupt), "") << "trial " << trial;
  }
}

TEST(EngineFile, CorruptionsBehindAValidChecksumNeverCrash) {
  std::vector<uint8_t> file = serialized(*smallCnnEngineWithLayers());
  std::mt19937 rng(7);
  int sealed = 0;
  int refused = 0;
  int ran = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<uint8_t> corrupt = file;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      corrupt[kHeaderBytes + rng() % (corrupt.size() - kHeaderBytes)] ^=
          static_cast<uint8_t>(1 + rng() % 255);
    }
    if (!sealEngineFile(corrupt).isOk()) continue;  // the FlatBuffer no longer verifies
    ++sealed;
    auto engine = Engine::deserialize(corrupt, EngineOptions{1});
    if (!engine.isOk()) {
      EXPECT_EQ(engine.status().code(), StatusCode::kInvalidEngine);
      ++refused;
      continue;
    }
    // A harmless edit (a name, a layer's reason): the engine must run or fail cleanly.
    std::vector<NamedTensor> outputs;
    Status s = (*engine)->createExecutionContext()->execute(randomInputs(**engine, 2, 1), outputs);
    ran += s.isOk();
  }
  EXPECT_GT(sealed, 1000);
  EXPECT_GT(refused, 100);
  EXPECT_GT(ran, 0);
}

// ---- header: magic, version, fingerprint, checksum ----

TEST(EngineFile, WrongMagicIsNotAnEngineFile) {
  std::vector<uint8_t> file = serialized(*smallCnnEngine());
  file[0] = 'X';
  EXPECT_EQ(loadError(file), "engine: not a lowp engine file (it does not start with \"LOWPENGN\")");
  std::string onnx = smallCnnModel();
  EXPECT_NE(loadError(std::vector<uint8_t>(onnx.begin(), onnx.end())).find("not a lowp engine file"),
            std::string::npos);
  EXPECT_NE(loadError({}).find("not a lowp engine file"), std::string::npos);
}

TEST(EngineFile, OtherFormatVersionNamesTheMaker) {
  auto content = unpack(serialized(*smallCnnEngine()));
  const std::string ours = content->lowp_version;
  content->lowp_version = "9.9.9";
  std::vector<uint8_t> file = packFile(*content, 7);
  EXPECT_EQ(loadError(file), "engine: made by lowp 9.9.9, format 7; this lowp (" + ours +
                                 ") reads format 1 — rebuild the engine");
}

TEST(EngineFile, OtherDeviceNamesBothFingerprints) {
  auto content = unpack(serialized(*smallCnnEngine()));
  content->fingerprint = "cpu=Imaginary CPU; isa=; lowp=0.0.1";
  std::string message = loadError(packFile(*content));
  EXPECT_NE(message.find("built for another device"), std::string::npos) << message;
  EXPECT_NE(message.find("cpu=Imaginary CPU; isa=; lowp=0.0.1"), std::string::npos) << message;
  EXPECT_NE(message.find(runtime::deviceFingerprint()), std::string::npos) << message;
}

TEST(EngineFile, UnknownOrAbsentDeviceIsRefused) {
  auto content = unpack(serialized(*smallCnnEngine()));
  content->device = 9;
  EXPECT_EQ(loadError(packFile(*content)), "engine: corrupt: device 9 is not a known one");
  content->device = static_cast<int32_t>(Device::kCuda);
  const std::string message = loadError(packFile(*content));
  // Without a GPU (or without the CUDA backend) the file says which device it needs; with one, its
  // fingerprint is not this CPU's.
  EXPECT_TRUE(message.find("built for the CUDA device") != std::string::npos ||
              message.find("built for another device") != std::string::npos)
      << message;
}

TEST(EngineFile, ChangedConstantFailsTheChecksum) {
  auto engine = smallCnnEngine();
  std::vector<uint8_t> file = serialized(*engine);
  // Find the bytes of the Gemm weights in the file and change one bit of one float.
  const ir::Value* w = engine->impl().graph->findValue("fc_w");
  ASSERT_TRUE(w != nullptr && w->constant);
  auto data = w->constant->bytes();
  auto at = std::search(file.begin(), file.end(), reinterpret_cast<const uint8_t*>(data.data()),
                        reinterpret_cast<const uint8_t*>(data.data()) + data.size());
  ASSERT_NE(at, file.end());
  at[17] ^= 1;
  std::string message = loadError(file);
  EXPECT_NE(message.find("corrupt: checksum mismatch"), std::string::npos) << message;
}

// ---- content checks behind a valid checksum ----

TEST(EngineFile, ContentChecksNameTheProblem) {
  auto engine = smallCnnEngineWithLayers();
  const std::vector<uint8_t> file = serialized(*engine);
  auto edited = [&](const std::function<void(fb::EngineFileT&)>& edit) {
    auto content = unpack(file);
    edit(*content);
    return loadError(packFile(*content));
  };
  auto expectError = [&](const std::string& message, const std::string& expected) {
    EXPECT_NE(message.find(expected), std::string::npos)
        << "message: " << message << "\nexpected: " << expected;
  };
  EXPECT_EQ(edited([](fb::EngineFileT&) {}), "");  // packing alone changes nothing

  expectError(edited([](fb::EngineFileT& c) { nodeNamed(c, "fc").inputs[0] = 999; }),
              "FusedMatMul 'fc': input 0 names value 999");
  expectError(edited([](fb::EngineFileT& c) { nodeNamed(c, "fc").outputs[0] = -7; }),
              "FusedMatMul 'fc': output 0 names value -7");
  expectError(edited([](fb::EngineFileT& c) { c.graph->outputs.push_back(12345); }),
              "a graph output names value 12345");
  expectError(edited([](fb::EngineFileT& c) { nodeNamed(c, "softmax").kernel = "f32-softmax-imaginary"; }),
              "Softmax 'softmax': CPU kernel 'f32-softmax-imaginary' is not one this lowp has for Softmax");
  expectError(edited([](fb::EngineFileT& c) { nodeNamed(c, "softmax").kernel_backend = 5; }),
              "Softmax 'softmax': kernel backend 5 is not a known one");
  expectError(edited([](fb::EngineFileT& c) { nodeNamed(c, "softmax").kernel_backend = 1; }),
              "Softmax 'softmax': a CUDA kernel where the node runs on the host");
  expectError(edited([](fb::EngineFileT& c) { nodeNamed(c, "softmax").cuda_kernels = {"f32-softmax-cuda"}; }),
              "Softmax 'softmax': CUDA kernels in an engine for the CPU");
  expectError(
      edited([](fb::EngineFileT& c) { c.graph->values[valueId(c, "fc_w")]->constant->data.pop_back(); }),
      "value 'fc_w': a tensor fp32[64x5] holds 1279 bytes of data, its type and shape need 1280");
  expectError(edited([](fb::EngineFileT& c) { c.graph->values[valueId(c, "fc_b")]->type = 99; }),
              "value 'fc_b': data type 99 is not in the DataType table");
  expectError(edited([](fb::EngineFileT& c) { c.graph->values[valueId(c, "fc_b")]->constant->type = 99; }),
              "value 'fc_b': data type 99 is not in the DataType table");
  expectError(edited([](fb::EngineFileT& c) { c.layers[0]->input_types[0] = -3; }),
              "data type -3 is not in the DataType table");
  expectError(edited([](fb::EngineFileT& c) { c.graph->values[valueId(c, "logits")]->format = 42; }),
              "value 'logits' has format 42");
  // A cycle: the Flatten reads the Softmax's output.
  expectError(edited([](fb::EngineFileT& c) { nodeNamed(c, "flatten").inputs[0] = valueId(c, "prob"); }),
              "Flatten 'flatten': reads 'prob' before Softmax 'softmax' produces it");
  // Swapped nodes: out of execution order.
  expectError(edited([](fb::EngineFileT& c) { std::swap(c.graph->nodes[0], c.graph->nodes.back()); }),
              "before");
  // Weights that no longer fit the layer: shape inference fails.
  expectError(edited([](fb::EngineFileT& c) {
                auto& w = *c.graph->values[valueId(c, "fc_w")];
                w.shape->sizes = {63, 5};
                w.constant->shape = {63, 5};
                w.constant->data.resize(63 * 5 * 4);
              }),
              "FusedMatMul 'fc'");
  expectError(edited([](fb::EngineFileT& c) { c.graph->values[valueId(c, "logits")]->type = 11; }),
              "FusedMatMul 'fc': output 'logits' is stored as fp64[?x5], inference gives fp32[?x5]");
  expectError(edited([](fb::EngineFileT& c) {
                auto a = std::make_unique<fb::AttributeT>();
                a->name = "gain";
                a->kind = static_cast<uint8_t>(ir::AttrType::kFloat);
                nodeNamed(c, "pool").attributes.push_back(std::move(a));
              }),
              "MaxPool 'pool': attribute 'gain' (float) is not one MaxPool takes");
  expectError(edited([](fb::EngineFileT& c) { nodeNamed(c, "pool").attributes.at(0)->kind = 9; }),
              "MaxPool 'pool': attribute 'auto_pad' has kind 9");
  expectError(edited([](fb::EngineFileT& c) { nodeNamed(c, "pool").op_type = "Frobnicate"; }),
              "Frobnicate 'pool': lowp has no operator Frobnicate");
  expectError(edited([](fb::EngineFileT& c) { nodeNamed(c, "pool").inputs.push_back(0); }),
              "MaxPool 'pool': 2 inputs and 1 outputs do not fit the operator's schema");
  expectError(edited([](fb::EngineFileT& c) { nodeNamed(c, "flatten").outputs[0] = valueId(c, "x"); }),
              "Flatten 'flatten': tensor 'x' has more than one producer");
  expectError(edited([](fb::EngineFileT& c) { c.graph->values[1]->name = c.graph->values[0]->name; }),
              "the name '" + engine->impl().graph->values()[0]->name + "' is taken");
  expectError(edited([](fb::EngineFileT& c) {
                c.build_shapes[0]->sizes = {2, 4, 8, 8};
              }),
              "the build shape [2x4x8x8] of input 'x' does not fit its shape [batchx3x8x8]");
  expectError(edited([](fb::EngineFileT& c) {
                const fb::PlannedBuffer b = c.memory_plan->buffers[0];
                c.memory_plan->buffers[0] =
                    fb::PlannedBuffer(b.value(), 1 << 20, b.bytes(), b.first_step(), b.last_step());
              }),
              "do not fit the arena");
  expectError(edited([](fb::EngineFileT& c) { c.memory_plan->arena_bytes += 64; }),
              "the memory plan does not match");
  expectError(edited([](fb::EngineFileT& c) { c.memory_plan.reset(); }),
              "the memory plan for the build shapes is missing");
  expectError(edited([](fb::EngineFileT& c) {
                auto& b = c.memory_plan->buffers;
                ASSERT_GE(b.size(), 2u);
                b[1] = fb::PlannedBuffer(b[1].value(), b[0].offset(), b[1].bytes(), b[0].first_step(),
                                         b[0].last_step());
              }),
              "in overlapping memory");
  expectError(edited([](fb::EngineFileT& c) { c.graph.reset(); }), "the graph is missing");
}

TEST(EngineFile, MemoryPlanCheckFindsOverlapsAndOverflow) {
  BuildMemoryPlan plan;
  plan.arenaBytes = 256;
  plan.buffers = {{0, 0, 128, 0, 2}, {1, 128, 128, 1, 3}};
  EXPECT_TRUE(checkMemoryPlan(plan, 2, 4).isOk());
  plan.buffers[1].offset = 64;  // both alive at steps 1 and 2
  EXPECT_FALSE(checkMemoryPlan(plan, 2, 4).isOk());
  plan.buffers[1] = {1, 0, 128, 3, 3};  // same memory, not alive together
  EXPECT_TRUE(checkMemoryPlan(plan, 2, 4).isOk());
  plan.buffers[1] = {1, 192, std::numeric_limits<int64_t>::max(), 3, 3};
  EXPECT_FALSE(checkMemoryPlan(plan, 2, 4).isOk());
  plan.buffers[1] = {1, 32, 64, 3, 3};  // unaligned
  EXPECT_FALSE(checkMemoryPlan(plan, 2, 4).isOk());
  plan.buffers[1] = {1, 0, 64, 3, 4};  // past the last step
  EXPECT_FALSE(checkMemoryPlan(plan, 2, 4).isOk());
  plan.buffers[1] = {5, 0, 64, 3, 3};  // no such value
  EXPECT_FALSE(checkMemoryPlan(plan, 2, 4).isOk());
  plan.buffers[1] = {0, 128, 64, 3, 3};  // value 0 twice
  EXPECT_FALSE(checkMemoryPlan(plan, 2, 4).isOk());
}

// ---- attributes ----

TEST(EngineFile, EveryAttributeKindRoundTripsExactly) {
  float nan;
  const uint32_t nanBits = 0x7fc01234u;
  std::memcpy(&nan, &nanBits, sizeof(nan));
  Tensor tensor(DataType::kInt16, {2, 3});
  for (int i = 0; i < 6; ++i) tensor.data<int16_t>()[i] = static_cast<int16_t>(i * 1000 - 2500);
  const std::vector<std::pair<std::string, ir::AttrValue>> cases = {
      {"int", int64_t{-1234567890123}},
      {"float", -0.0f},
      {"nan", nan},
      {"string", std::string("with\0nul", 8)},
      {"ints", std::vector<int64_t>{1, -2, 3}},
      {"floats", std::vector<float>{1.5f, -0.0f, nan}},
      {"strings", std::vector<std::string>{"a", "", "c"}},
      {"tensor", tensor},
      {"empty ints", std::vector<int64_t>{}},
  };
  for (const auto& [name, value] : cases) {
    SCOPED_TRACE(name);
    flatbuffers::FlatBufferBuilder b;
    b.ForceDefaults(true);
    auto written = writeAttribute(b, name, value);
    ASSERT_TRUE(written.isOk()) << written.status().toString();
    b.Finish(*written);
    flatbuffers::Verifier verifier(b.GetBufferPointer(), b.GetSize());
    ASSERT_TRUE(verifier.VerifyBuffer<fb::Attribute>(nullptr));
    auto read = readAttribute(*flatbuffers::GetRoot<fb::Attribute>(b.GetBufferPointer()));
    ASSERT_TRUE(read.isOk()) << read.status().toString();
    EXPECT_EQ(read->first, name);
    EXPECT_TRUE(sameAttribute(read->second, value));
  }
}

TEST(EngineFile, SubgraphAttributesAreRefusedWhenWriting) {
  auto graph = onnx::importOnnxBytes(smallCnnModel(), "", "small_cnn.onnx");
  ASSERT_TRUE(graph.isOk());
  ASSERT_TRUE(passes::runPipeline(**graph).isOk());
  auto impl = runtime::prepareEngine(std::move(graph).value(), EngineOptions{1});
  ASSERT_TRUE(impl.isOk());
  ir::Node* softmax = nullptr;
  for (ir::Node* n : (*impl)->graph->nodes()) softmax = n->opType == "Softmax" ? n : softmax;
  ASSERT_NE(softmax, nullptr);
  softmax->attributes.set("body", ir::SubgraphAttr{"loop_body"});
  Engine engine(std::move(impl).value());
  auto bytes = engine.serialize();
  ASSERT_FALSE(bytes.isOk());
  EXPECT_EQ(bytes.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(bytes.status().node(), "softmax");
  EXPECT_NE(bytes.status().message().find("Softmax 'softmax': attribute 'body' is a subgraph"),
            std::string::npos)
      << bytes.status().message();
}

// ---- checksum ----

TEST(EngineFile, Crc32cMatchesTheReference) {
  const std::string check = "123456789";
  const std::span<const uint8_t> checkBytes(reinterpret_cast<const uint8_t*>(check.data()), check.size());
  EXPECT_EQ(crc32c(checkBytes), 0xe3069283u);
  EXPECT_EQ(crc32cReference(checkBytes), 0xe3069283u);
  EXPECT_EQ(crc32c({}), 0u);
  std::mt19937 rng(1);
  std::vector<uint8_t> data(4099);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  // Every length up to 70 (each tail of the 8-byte loop) at every alignment up to 8, and chained pieces.
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t n = 0; n <= 70; ++n) {
      auto piece = std::span<const uint8_t>(data).subspan(offset, n);
      EXPECT_EQ(crc32c(piece), crc32cReference(piece)) << offset << " " << n;
    }
  }
  const std::span<const uint8_t> all(data);
  EXPECT_EQ(crc32c(all), crc32cReference(all));
  EXPECT_EQ(crc32c(all.subspan(1000), crc32c(all.first(1000))), crc32c(all));
}

// ---- kernels and files ----

TEST(EngineFile, KernelNamesAreUniquePerOp) {
  Status unique = checkKernelNamesUnique(kernels::KernelRegistry::global());
  EXPECT_TRUE(unique.isOk()) << unique.toString();
  kernels::KernelRegistry clash;
  clash.add({.opType = "Relu", .name = "f32-relu-ref"});
  clash.add({.opType = "Relu", .name = "f32-relu-ref"});
  clash.add({.opType = "Neg", .name = "f32-relu-ref"});  // another op may reuse the name
  Status s = checkKernelNamesUnique(clash);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("'f32-relu-ref' (2 kernels of Relu)"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("Neg"), std::string::npos) << s.message();
}

TEST(EngineFile, FileErrorsNameThePath) {
  TempDir dir;
  auto missing = Engine::fromEngineFile(dir.file("missing.engine"));
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find(dir.file("missing.engine")), std::string::npos);

  const std::string bad = dir.file("bad.engine");
  std::ofstream(bad, std::ios::binary) << "LOWPENGN";
  auto truncated = Engine::fromEngineFile(bad);
  ASSERT_FALSE(truncated.isOk());
  EXPECT_EQ(truncated.status().code(), StatusCode::kInvalidEngine);
  EXPECT_EQ(truncated.status().message(), bad + ": truncated: 8 bytes, less than the 16-byte header");

  Status unwritable = smallCnnEngine()->saveToFile(dir.file("no/such/folder/x.engine"));
  EXPECT_EQ(unwritable.code(), StatusCode::kIoError);
  EXPECT_NE(unwritable.message().find(dir.file("no/such/folder/x.engine")), std::string::npos);
}

}  // namespace
}  // namespace lowp::engine
