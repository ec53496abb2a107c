// QDQ export (src/onnx/qdq_export.h): a small conv net built here with the ONNX protobuf API is calibrated by
// running it in lowp, exported with Q/DQ, re-imported and run again; the two outputs must agree to 8-bit
// accuracy, the weights must be int8 with one scale per output channel, and the opset rules must hold.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "graph_builder.h"
#include "onnx/importer.h"
#include "onnx/onnx_pb.h"
#include "onnx/qdq_export.h"

namespace lowp {
namespace {
namespace fs = std::filesystem;
using onnx::exportQdqModel;
using onnx::QdqExportReport;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("lowp_qdq_export_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// A model under construction: initializers drawn from a seeded generator, He-scaled so activations stay O(1).
class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset) {
    model_.set_ir_version(opset >= 13 ? 7 : 6);
    model_.add_opset_import()->set_version(opset);
    model_.mutable_graph()->set_name("qdq_test");
  }
  void input(const std::string& name, const std::vector<int64_t>& dims) {
    auto* t = graph()->add_input();
    t->set_name(name);
    auto* tt = t->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  // Uniform in [-bound, bound]; bound 0 means sqrt(6 / fanIn) (He).
  void weight(const std::string& name, const std::vector<int64_t>& dims, int64_t fanIn, float bound = 0.0f) {
    auto* t = graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    int64_t n = 1;
    for (int64_t d : dims) {
      t->add_dims(d);
      n *= d;
    }
    if (bound == 0.0f) bound = std::sqrt(6.0f / static_cast<float>(fanIn));
    std::uniform_real_distribution<float> dist(-bound, bound);
    for (int64_t i = 0; i < n; ++i) t->add_float_data(dist(rng_));
  }
  ::onnx::NodeProto* node(const std::string& op, const std::string& name,
                          const std::vector<std::string>& inputs, const std::string& output) {
    auto* n = graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& in : inputs) n->add_input(in);
    n->add_output(output);
    tensors_.push_back(output);
    return n;
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, int64_t value) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& values) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
  }
  void output(const std::string& name) { graph()->add_output()->set_name(name); }

  /// The model, and a copy whose every node output is a graph output (to observe activations).
  std::string write(const std::string& path) const { return save(model_, path); }
  std::string writeObserved(const std::string& path) const {
    ::onnx::ModelProto observed = model_;
    for (const std::string& t : tensors_) {
      bool already = false;
      for (const auto& o : observed.graph().output()) already = already || o.name() == t;
      if (!already) observed.mutable_graph()->add_output()->set_name(t);
    }
    return save(observed, path);
  }
  const ::onnx::ModelProto& model() const { return model_; }

 private:
  static std::string save(const ::onnx::ModelProto& model, const std::string& path) {
    std::ofstream(path, std::ios::binary) << model.SerializeAsString();
    return path;
  }
  ::onnx::GraphProto* graph() { return model_.mutable_graph(); }
  ::onnx::ModelProto model_;
  std::vector<std::string> tensors_;
  std::mt19937 rng_{20240611};
};

// x [1,3,12,12] -> Conv 3x3 -> Relu -> Conv 3x3 stride 2, group 2 -> Relu -> ConvTranspose 2x2 stride 2
// -> Relu -> Conv 1x1 -> Flatten -> Gemm (transB=1) -> Relu -> MatMul -> Gemm (transB=0) -> y [1,5]:
// every weight layout the exporter knows (axis 0, ConvTranspose's axis 1, Gemm's both, MatMul's last).
ModelBuilder convNet(int64_t opset) {
  ModelBuilder m(opset);
  m.input("x", {1, 3, 12, 12});
  m.weight("w1", {8, 3, 3, 3}, 27);
  m.weight("b1", {8}, 0, 0.1f);
  m.weight("w2", {8, 4, 3, 3}, 36);
  m.weight("b2", {8}, 0, 0.1f);
  m.weight("wt", {8, 4, 2, 2}, 8);
  m.weight("bt", {4}, 0, 0.1f);
  m.weight("w3", {4, 4, 1, 1}, 4);
  m.weight("fc1", {16, 144}, 144);
  m.weight("fc1_b", {16}, 0, 0.1f);
  m.weight("mm", {16, 12}, 16);
  m.weight("fc2", {12, 5}, 12);
  m.weight("fc2_b", {5}, 0, 0.1f);
  auto* conv1 = m.node("Conv", "conv1", {"x", "w1", "b1"}, "c1");
  ModelBuilder::attr(conv1, "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("Relu", "relu1", {"c1"}, "r1");
  auto* conv2 = m.node("Conv", "conv2", {"r1", "w2", "b2"}, "c2");
  ModelBuilder::attr(conv2, "pads", std::vector<int64_t>{1, 1, 1, 1});
  ModelBuilder::attr(conv2, "strides", std::vector<int64_t>{2, 2});
  ModelBuilder::attr(conv2, "group", int64_t{2});
  m.node("Relu", "relu2", {"c2"}, "r2");
  auto* deconv = m.node("ConvTranspose", "deconv", {"r2", "wt", "bt"}, "d");
  ModelBuilder::attr(deconv, "strides", std::vector<int64_t>{2, 2});
  m.node("Relu", "relu3", {"d"}, "r3");
  m.node("Conv", "conv3", {"r3", "w3"}, "c3");
  auto* pool = m.node("MaxPool", "pool", {"c3"}, "p");
  ModelBuilder::attr(pool, "kernel_shape", std::vector<int64_t>{2, 2});
  ModelBuilder::attr(pool, "strides", std::vector<int64_t>{2, 2});
  m.node("Flatten", "flatten", {"p"}, "f");
  auto* fc1 = m.node("Gemm", "fc1", {"f", "fc1", "fc1_b"}, "g1");
  ModelBuilder::attr(fc1, "transB", int64_t{1});
  m.node("Relu", "relu4", {"g1"}, "g1r");
  m.node("MatMul", "matmul", {"g1r", "mm"}, "m");
  m.node("Gemm", "fc2", {"m", "fc2", "fc2_b"}, "y");
  m.output("y");
  return m;
}

Tensor randomInput(uint32_t seed) {
  Tensor t(DataType::kFloat32, {1, 3, 12, 12});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < t.elementCount(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

std::vector<NamedTensor> runModel(const std::string& path, const Tensor& x) {
  auto graph = onnx::importOnnxFile(path);
  EXPECT_TRUE(graph.isOk()) << graph.status().toString();
  if (!graph) return {};
  return testing::runGraph(std::move(graph).value(), {{"x", x}});
}

// Scales (amax / 127 over a few inputs) of every node output and of x: a calibration by MinMax.
std::map<std::string, float> calibrate(const ModelBuilder& m, const TempDir& dir) {
  const std::string observed = m.writeObserved(dir.file("observed.onnx"));
  std::map<std::string, float> amax;
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    const Tensor x = randomInput(seed);
    std::vector<NamedTensor> outputs = runModel(observed, x);
    outputs.push_back({"x", x});
    for (const NamedTensor& o : outputs) {
      float& a = amax[o.name];
      for (int64_t i = 0; i < o.tensor.elementCount(); ++i)
        a = std::max(a, std::fabs(o.tensor.data<float>()[i]));
    }
  }
  std::map<std::string, float> scales;
  for (const auto& [name, a] : amax) scales[name] = a / 127.0f;
  return scales;
}

double relativeL2(const Tensor& got, const Tensor& want) {
  double diff = 0.0;
  double norm = 0.0;
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    const double d = static_cast<double>(got.data<float>()[i]) - want.data<float>()[i];
    diff += d * d;
    norm += static_cast<double>(want.data<float>()[i]) * want.data<float>()[i];
  }
  return std::sqrt(diff / norm);
}

struct Agreement {
  double mean = 0.0;
  double worst = 0.0;
};

// Relative L2 error of the first output of `qdq` against `fp32` over `count` inputs calibration did not see.
Agreement compareOutputs(const std::string& fp32, const std::string& qdq, int count) {
  Agreement a;
  for (int k = 0; k < count; ++k) {
    const Tensor x = randomInput(static_cast<uint32_t>(100 + k));
    const std::vector<NamedTensor> want = runModel(fp32, x);
    const std::vector<NamedTensor> got = runModel(qdq, x);
    if (want.empty() || got.empty() || got[0].tensor.shape() != want[0].tensor.shape()) {
      ADD_FAILURE() << "the models do not run or give different shapes";
      return {1.0, 1.0};
    }
    const double e = relativeL2(got[0].tensor, want[0].tensor);
    a.mean += e / count;
    a.worst = std::max(a.worst, e);
  }
  return a;
}

::onnx::ModelProto readModel(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ::onnx::ModelProto model;
  EXPECT_TRUE(model.ParseFromIstream(&in)) << path;
  return model;
}

const ::onnx::TensorProto* findInitializer(const ::onnx::ModelProto& model, const std::string& name) {
  for (const auto& t : model.graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

const ::onnx::NodeProto* findProducer(const ::onnx::ModelProto& model, const std::string& tensor) {
  for (const auto& n : model.graph().node()) {
    for (const auto& o : n.output()) {
      if (o == tensor) return &n;
    }
  }
  return nullptr;
}

const ::onnx::NodeProto* findNode(const ::onnx::ModelProto& model, const std::string& name) {
  for (const auto& n : model.graph().node()) {
    if (n.name() == name) return &n;
  }
  return nullptr;
}

int64_t axisOf(const ::onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    if (a.name() == "axis") return a.i();
  }
  return 1;  // DequantizeLinear's default
}

int countOps(const ::onnx::ModelProto& model, const std::string& op) {
  int n = 0;
  for (const auto& node : model.graph().node()) n += node.op_type() == op ? 1 : 0;
  return n;
}

std::vector<float> floatValues(const ::onnx::TensorProto& t) {
  if (t.has_raw_data()) {
    std::vector<float> v(t.raw_data().size() / sizeof(float));
    std::memcpy(v.data(), t.raw_data().data(), v.size() * sizeof(float));
    return v;
  }
  return {t.float_data().begin(), t.float_data().end()};
}

// Weight `name` of the exported model must be read (input `slot` of node `reader`) through a DequantizeLinear
// of an int8 initializer with one scale per index along `axis` = max |w| / 127 of that slice, zero points 0,
// and values round(w / scale); the fp32 original must be gone.
void expectInt8PerChannel(const ::onnx::ModelProto& original, const ::onnx::ModelProto& exported,
                          const std::string& name, const std::string& reader, int slot, int64_t axis) {
  SCOPED_TRACE("weight " + name);
  const ::onnx::NodeProto* node = findNode(exported, reader);
  ASSERT_NE(node, nullptr);
  const ::onnx::NodeProto* dq = findProducer(exported, node->input(slot));
  ASSERT_NE(dq, nullptr);
  ASSERT_EQ(dq->op_type(), "DequantizeLinear");
  EXPECT_EQ(axisOf(*dq), axis);
  ASSERT_EQ(dq->input_size(), 3);
  const ::onnx::TensorProto* q = findInitializer(exported, dq->input(0));
  const ::onnx::TensorProto* scale = findInitializer(exported, dq->input(1));
  const ::onnx::TensorProto* zero = findInitializer(exported, dq->input(2));
  ASSERT_TRUE(q != nullptr && scale != nullptr && zero != nullptr);
  EXPECT_EQ(findInitializer(exported, name), nullptr) << "the fp32 weight is still in the model";
  const ::onnx::TensorProto* w = findInitializer(original, name);
  ASSERT_NE(w, nullptr);

  ASSERT_EQ(q->data_type(), ::onnx::TensorProto::INT8);
  ASSERT_EQ(zero->data_type(), ::onnx::TensorProto::INT8);
  ASSERT_EQ(std::vector<int64_t>(q->dims().begin(), q->dims().end()),
            std::vector<int64_t>(w->dims().begin(), w->dims().end()));
  const int64_t channels = w->dims(static_cast<int>(axis));
  ASSERT_EQ(scale->dims_size(), 1);
  ASSERT_EQ(scale->dims(0), channels);
  EXPECT_EQ(zero->raw_data(), std::string(static_cast<size_t>(channels), '\0'));

  int64_t inner = 1;
  for (int d = static_cast<int>(axis) + 1; d < w->dims_size(); ++d) inner *= w->dims(d);
  const std::vector<float> values = floatValues(*w);
  const std::vector<float> scales = floatValues(*scale);
  const auto* quantized = reinterpret_cast<const int8_t*>(q->raw_data().data());
  ASSERT_EQ(q->raw_data().size(), values.size());
  std::vector<float> amax(static_cast<size_t>(channels), 0.0f);
  std::vector<int> largest(static_cast<size_t>(channels), 0);
  for (size_t i = 0; i < values.size(); ++i) {
    const auto c = static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels);
    amax[c] = std::max(amax[c], std::fabs(values[i]));
    largest[c] = std::max(largest[c], std::abs(static_cast<int>(quantized[i])));
  }
  for (size_t c = 0; c < amax.size(); ++c) {
    EXPECT_FLOAT_EQ(scales[c], amax[c] / 127.0f) << "channel " << c;
    EXPECT_EQ(largest[c], 127) << "channel " << c;  // every channel uses the full range
  }
  for (size_t i = 0; i < values.size(); ++i) {
    const auto c = static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels);
    ASSERT_EQ(quantized[i], static_cast<int8_t>(std::nearbyint(values[i] / scales[c]))) << "element " << i;
  }
}

TEST(QdqExport, ConvNetMatchesFp32AndWeightsAreInt8PerChannel) {
  TempDir dir;
  const ModelBuilder net = convNet(13);
  const std::string fp32 = net.write(dir.file("net.onnx"));
  const std::map<std::string, float> scales = calibrate(net, dir);
  ASSERT_EQ(scales.size(), 14u);  // x and 13 node outputs

  const std::string qdq = dir.file("net_qdq.onnx");
  QdqExportReport report;
  const Status s = exportQdqModel(fp32, scales, qdq, &report);
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(report.quantizedNodes,
            (std::vector<std::string>{"conv1", "conv2", "deconv", "conv3", "fc1", "matmul", "fc2"}));
  EXPECT_TRUE(report.skippedNodes.empty());
  EXPECT_EQ(report.opsetAfter, 13);
  EXPECT_TRUE(report.perChannelWeights);
  // Every scale but that of p, which only Flatten reads, is used.
  EXPECT_EQ(report.unusedScales, (std::vector<std::string>{"p"}));

  const ::onnx::ModelProto exported = readModel(qdq);
  expectInt8PerChannel(net.model(), exported, "w1", "conv1", 1, 0);
  expectInt8PerChannel(net.model(), exported, "w2", "conv2", 1, 0);
  expectInt8PerChannel(net.model(), exported, "wt", "deconv", 1, 1);
  expectInt8PerChannel(net.model(), exported, "w3", "conv3", 1, 0);
  expectInt8PerChannel(net.model(), exported, "fc1", "fc1", 1, 0);
  expectInt8PerChannel(net.model(), exported, "mm", "matmul", 1, 1);
  expectInt8PerChannel(net.model(), exported, "fc2", "fc2", 1, 1);
  // Biases stay fp32 and are read directly.
  EXPECT_EQ(findNode(exported, "conv1")->input(2), "b1");
  ASSERT_NE(findInitializer(exported, "b1"), nullptr);
  EXPECT_EQ(findInitializer(exported, "b1")->data_type(), ::onnx::TensorProto::FLOAT);
  // Q/DQ on the 13 activations read or written by the 7 nodes, one DQ per weight.
  EXPECT_EQ(countOps(exported, "QuantizeLinear"), 13);
  EXPECT_EQ(countOps(exported, "DequantizeLinear"), 13 + 7);
  // The conv output is quantized under its own name: conv1 writes c1_unquantized, DQ writes c1 for relu1.
  EXPECT_EQ(findNode(exported, "conv1")->output(0), "c1_unquantized");
  EXPECT_EQ(findProducer(exported, "c1")->op_type(), "DequantizeLinear");
  EXPECT_EQ(findProducer(exported, "y")->op_type(), "DequantizeLinear");  // the graph output keeps its name
  // The graph input is read through Q/DQ.
  EXPECT_EQ(findNode(exported, "conv1")->input(0), "x_dequantized");

  // lowp runs both. Seven layers and thirteen quantized tensors: each adds about 1% of noise (a ReLU output's
  // amax is ~4x its rms, so the int8 step is ~1/30 of the rms), which the shallow net below keeps under 2%.
  const Agreement a = compareOutputs(fp32, qdq, 8);
  EXPECT_LT(a.mean, 3e-2);
  EXPECT_GT(a.mean, 1e-4);  // the Q/DQ nodes did run: int8 rounding shows
}

// Conv 3x3 -> Relu -> Conv 3x3 -> Relu -> Conv 1x1, 16 channels: within 2% of fp32 on every input.
TEST(QdqExport, ShallowConvNetIsWithinTwoPercentOfFp32) {
  TempDir dir;
  ModelBuilder m(13);
  m.input("x", {1, 3, 12, 12});
  m.weight("w1", {16, 3, 3, 3}, 27);
  m.weight("b1", {16}, 0, 0.1f);
  m.weight("w2", {16, 16, 3, 3}, 144);
  m.weight("b2", {16}, 0, 0.1f);
  m.weight("w3", {8, 16, 1, 1}, 16);
  ModelBuilder::attr(m.node("Conv", "conv1", {"x", "w1", "b1"}, "c1"), "pads",
                     std::vector<int64_t>{1, 1, 1, 1});
  m.node("Relu", "relu1", {"c1"}, "r1");
  ModelBuilder::attr(m.node("Conv", "conv2", {"r1", "w2", "b2"}, "c2"), "pads",
                     std::vector<int64_t>{1, 1, 1, 1});
  m.node("Relu", "relu2", {"c2"}, "r2");
  m.node("Conv", "conv3", {"r2", "w3"}, "y");
  m.output("y");
  const std::string fp32 = m.write(dir.file("shallow.onnx"));
  const std::string qdq = dir.file("shallow_qdq.onnx");
  QdqExportReport report;
  ASSERT_TRUE(exportQdqModel(fp32, calibrate(m, dir), qdq, &report).isOk());
  EXPECT_EQ(report.quantizedNodes.size(), 3u);
  const Agreement a = compareOutputs(fp32, qdq, 8);
  EXPECT_LT(a.worst, 2e-2);
  EXPECT_GT(a.mean, 1e-4);
}

// Opset 11 with nothing that changes meaning by 13: raised to 13, per-channel.
TEST(QdqExport, RaisesOpsetTo13WhenEveryNodeStaysValid) {
  TempDir dir;
  const ModelBuilder net = convNet(11);
  const std::string fp32 = net.write(dir.file("net11.onnx"));
  const std::map<std::string, float> scales = calibrate(net, dir);
  QdqExportReport report;
  const std::string qdq = dir.file("net11_qdq.onnx");
  ASSERT_TRUE(exportQdqModel(fp32, scales, qdq, &report).isOk());
  EXPECT_EQ(report.opsetBefore, 11);
  EXPECT_EQ(report.opsetAfter, 13);
  EXPECT_TRUE(report.perChannelWeights);
  EXPECT_TRUE(report.opsetNote.empty());
  const ::onnx::ModelProto exported = readModel(qdq);
  ASSERT_EQ(exported.opset_import_size(), 1);
  EXPECT_EQ(exported.opset_import(0).version(), 13);
  EXPECT_GE(exported.ir_version(), 7);
  expectInt8PerChannel(net.model(), exported, "w2", "conv2", 1, 0);
  const Agreement a = compareOutputs(fp32, qdq, 8);
  EXPECT_LT(a.mean, 3e-2);
}

// Opset 12 with an Unsqueeze whose axes are an attribute (an input from 13): the opset stays, weights get one
// scale per tensor, and the report names the node.
TEST(QdqExport, KeepsOpsetAndUsesPerTensorWeightsWhenANodeWouldChange) {
  TempDir dir;
  ModelBuilder net = convNet(12);
  ModelBuilder::attr(net.node("Unsqueeze", "unsqueeze", {"y"}, "y3"), "axes", std::vector<int64_t>{0});
  net.output("y3");
  const std::string fp32 = net.write(dir.file("net12.onnx"));
  const std::map<std::string, float> scales = calibrate(net, dir);
  QdqExportReport report;
  const std::string qdq = dir.file("net12_qdq.onnx");
  ASSERT_TRUE(exportQdqModel(fp32, scales, qdq, &report).isOk());
  EXPECT_EQ(report.opsetAfter, 12);
  EXPECT_FALSE(report.perChannelWeights);
  EXPECT_NE(report.opsetNote.find("node 'unsqueeze' (Unsqueeze) takes axes as an input from opset 13"),
            std::string::npos)
      << report.opsetNote;
  const ::onnx::ModelProto exported = readModel(qdq);
  EXPECT_EQ(exported.opset_import(0).version(), 12);
  const ::onnx::NodeProto* dq = findProducer(exported, findNode(exported, "conv1")->input(1));
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(dq->attribute_size(), 0);  // no axis: per tensor
  const ::onnx::TensorProto* scale = findInitializer(exported, dq->input(1));
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->dims_size(), 0);
  const Agreement a = compareOutputs(fp32, qdq, 8);
  EXPECT_LT(a.mean, 4e-2);  // one scale per weight tensor: a little less accurate
}

// Opset 9 has no QuantizeLinear: raised to 13 where possible; a Slice (inputs from 10) makes it an error.
TEST(QdqExport, Opset9IsRaisedOrRefusedNamingTheNode) {
  TempDir dir;
  {
    ModelBuilder net(9);
    net.input("x", {1, 3, 4, 4});
    net.weight("w", {2, 3, 1, 1}, 3);
    net.node("Conv", "conv", {"x", "w"}, "y");
    net.output("y");
    const std::string path = net.write(dir.file("conv9.onnx"));
    QdqExportReport report;
    ASSERT_TRUE(exportQdqModel(path, {{"x", 0.01f}}, dir.file("conv9_qdq.onnx"), &report).isOk());
    EXPECT_EQ(report.opsetAfter, 13);
    EXPECT_TRUE(report.perChannelWeights);
    ASSERT_TRUE(onnx::importOnnxFile(dir.file("conv9_qdq.onnx")).isOk());
  }
  {
    ModelBuilder net(9);
    net.input("x", {1, 3, 4, 4});
    net.weight("w", {2, 3, 1, 1}, 3);
    net.node("Conv", "conv", {"x", "w"}, "c");
    auto* slice = net.node("Slice", "crop", {"c"}, "y");
    ModelBuilder::attr(slice, "starts", std::vector<int64_t>{0});
    ModelBuilder::attr(slice, "ends", std::vector<int64_t>{1});
    net.output("y");
    const std::string path = net.write(dir.file("slice9.onnx"));
    const Status s = exportQdqModel(path, {{"x", 0.01f}}, dir.file("slice9_qdq.onnx"));
    ASSERT_FALSE(s.isOk());
    EXPECT_EQ(s.code(), StatusCode::kUnsupported);
    EXPECT_NE(s.message().find("slice9.onnx: opset 9 has no QuantizeLinear and cannot be raised to 10: node "
                               "'crop' (Slice) takes starts, ends and axes as inputs from opset 10"),
              std::string::npos)
        << s.toString();
  }
}

// A node whose activation has no scale stays fp32 (and keeps its fp32 weight); the report says why.
TEST(QdqExport, NodesWithoutScalesStayFp32) {
  TempDir dir;
  const ModelBuilder net = convNet(13);
  const std::string fp32 = net.write(dir.file("net.onnx"));
  std::map<std::string, float> scales = calibrate(net, dir);
  scales.erase("r1");  // conv2's input
  QdqExportReport report;
  const std::string qdq = dir.file("net_qdq.onnx");
  ASSERT_TRUE(exportQdqModel(fp32, scales, qdq, &report).isOk());
  EXPECT_EQ(report.skippedNodes, (std::vector<std::string>{"conv2: input 'r1' has no scale"}));
  const ::onnx::ModelProto exported = readModel(qdq);
  EXPECT_EQ(findNode(exported, "conv2")->input(1), "w2");
  ASSERT_NE(findInitializer(exported, "w2"), nullptr);
  EXPECT_EQ(findNode(exported, "conv2")->output(0), "c2");  // its output is not quantized either
  const Agreement a = compareOutputs(fp32, qdq, 8);
  EXPECT_LT(a.mean, 3e-2);
}

// A weight shared by two MatMuls is quantized once; a graph input read by a float node is read through DQ
// too.
TEST(QdqExport, SharedWeightIsQuantizedOnce) {
  TempDir dir;
  ModelBuilder net(13);
  net.input("x", {2, 8});
  net.weight("w", {8, 8}, 8);
  net.node("MatMul", "mm1", {"x", "w"}, "h");
  net.node("MatMul", "mm2", {"h", "w"}, "y");
  net.node("Neg", "neg", {"x"}, "z");
  net.output("y");
  net.output("z");
  const std::string path = net.write(dir.file("shared.onnx"));
  const std::string qdq = dir.file("shared_qdq.onnx");
  ASSERT_TRUE(exportQdqModel(path, {{"x", 0.01f}, {"h", 0.02f}}, qdq).isOk());
  const ::onnx::ModelProto exported = readModel(qdq);
  EXPECT_EQ(findNode(exported, "mm1")->input(1), findNode(exported, "mm2")->input(1));
  EXPECT_EQ(countOps(exported, "DequantizeLinear"), 3);  // x, h, w
  EXPECT_EQ(findNode(exported, "neg")->input(0), "x_dequantized");
  expectInt8PerChannel(net.model(), exported, "w", "mm1", 1, 1);
}

TEST(QdqExport, ErrorsNameTheFileOrTensor) {
  TempDir dir;
  const std::string fp32 = convNet(13).write(dir.file("net.onnx"));
  {
    const Status s = exportQdqModel(dir.file("missing.onnx"), {}, dir.file("out.onnx"));
    EXPECT_EQ(s.code(), StatusCode::kNotFound);
    EXPECT_NE(s.message().find("missing.onnx: no such file"), std::string::npos) << s.toString();
  }
  {
    std::ofstream(dir.file("junk.onnx"), std::ios::binary) << "\x08\xff\xff\xff";
    const Status s = exportQdqModel(dir.file("junk.onnx"), {}, dir.file("out.onnx"));
    EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
    EXPECT_NE(s.message().find("junk.onnx: not a valid ONNX model"), std::string::npos) << s.toString();
  }
  for (float bad : {0.0f, -1.0f, std::nanf("")}) {
    const Status s = exportQdqModel(fp32, {{"c1", bad}}, dir.file("out.onnx"));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("of tensor 'c1' is not a finite positive number"), std::string::npos)
        << s.toString();
  }
  {
    const Status s = exportQdqModel(fp32, {{"x", 0.01f}}, dir.file("no/such/folder/out.onnx"));
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_NE(s.message().find("out.onnx: cannot create file"), std::string::npos) << s.toString();
  }
}

}  // namespace
}  // namespace lowp
