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
  // Uniform in [lo, hi] (BatchNorm scales and variances).
  void uniform(const std::string& name, const std::vector<int64_t>& dims, float lo, float hi) {
    auto* t = graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    int64_t n = 1;
    for (int64_t d : dims) {
      t->add_dims(d);
      n *= d;
    }
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t i = 0; i < n; ++i) t->add_float_data(dist(rng_));
  }
  // A float scalar initializer.
  void scalar(const std::string& name, float value) {
    auto* t = graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    t->add_float_data(value);
  }
  // A Constant node writing the float scalar `value` to `name`.
  void constant(const std::string& name, float value) {
    auto* n = graph()->add_node();
    n->set_op_type("Constant");
    n->set_name(name);
    n->add_output(name);
    auto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(::onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(::onnx::TensorProto::FLOAT);
    a->mutable_t()->add_float_data(value);
  }
  // BatchNormalization `name` of `channels` channels, x -> y, with parameters "<name>_scale", "<name>_bias",
  // "<name>_mean", "<name>_var".
  void batchNorm(const std::string& name, int64_t channels, const std::string& x, const std::string& y) {
    uniform(name + "_scale", {channels}, 0.5f, 1.5f);
    uniform(name + "_bias", {channels}, -0.2f, 0.2f);
    uniform(name + "_mean", {channels}, -0.3f, 0.3f);
    uniform(name + "_var", {channels}, 0.5f, 2.0f);
    node("BatchNormalization", name, {x, name + "_scale", name + "_bias", name + "_mean", name + "_var"}, y);
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

// Relative L2 error of every output of `qdq` against the same output of `fp32`, over `count` inputs
// calibration did not see.
Agreement compareOutputs(const std::string& fp32, const std::string& qdq, int count) {
  Agreement a;
  int compared = 0;
  for (int k = 0; k < count; ++k) {
    const Tensor x = randomInput(static_cast<uint32_t>(100 + k));
    const std::vector<NamedTensor> want = runModel(fp32, x);
    const std::vector<NamedTensor> got = runModel(qdq, x);
    if (want.empty() || got.size() != want.size()) {
      ADD_FAILURE() << "the models do not run or give different outputs";
      return {1.0, 1.0};
    }
    for (const NamedTensor& w : want) {
      auto g = std::find_if(got.begin(), got.end(), [&](const NamedTensor& o) { return o.name == w.name; });
      if (g == got.end() || g->tensor.shape() != w.tensor.shape()) {
        ADD_FAILURE() << "output '" << w.name << "' is missing or has another shape";
        return {1.0, 1.0};
      }
      const double e = relativeL2(g->tensor, w.tensor);
      a.mean += e;
      a.worst = std::max(a.worst, e);
      ++compared;
    }
  }
  a.mean /= compared;
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

// Input `slot` of node `reader` of the exported model must be a DequantizeLinear of an int8 initializer of
// shape `dims` with one scale per index along `axis` = max |w| / 127 of that slice of `values` (the fp32
// weight it stands for), zero points 0, and values round(w / scale).
void expectInt8PerChannelOf(const ::onnx::ModelProto& exported, const std::vector<float>& values,
                            const std::vector<int64_t>& dims, const std::string& reader, int slot,
                            int64_t axis) {
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

  ASSERT_EQ(q->data_type(), ::onnx::TensorProto::INT8);
  ASSERT_EQ(zero->data_type(), ::onnx::TensorProto::INT8);
  ASSERT_EQ(std::vector<int64_t>(q->dims().begin(), q->dims().end()), dims);
  const int64_t channels = dims[static_cast<size_t>(axis)];
  ASSERT_EQ(scale->dims_size(), 1);
  ASSERT_EQ(scale->dims(0), channels);
  EXPECT_EQ(zero->raw_data(), std::string(static_cast<size_t>(channels), '\0'));

  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < dims.size(); ++d) inner *= dims[d];
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
    ASSERT_LE(std::fabs(quantized[i] * scales[c] - values[i]), 0.5f * scales[c] * (1.0f + 1e-5f))
        << "element " << i;
  }
}

// Weight `name` of the original model must be read by input `slot` of `reader` as expectInt8PerChannelOf
// states, and the fp32 original must be gone.
void expectInt8PerChannel(const ::onnx::ModelProto& original, const ::onnx::ModelProto& exported,
                          const std::string& name, const std::string& reader, int slot, int64_t axis) {
  SCOPED_TRACE("weight " + name);
  EXPECT_EQ(findInitializer(exported, name), nullptr) << "the fp32 weight is still in the model";
  const ::onnx::TensorProto* w = findInitializer(original, name);
  ASSERT_NE(w, nullptr);
  expectInt8PerChannelOf(exported, floatValues(*w), std::vector<int64_t>(w->dims().begin(), w->dims().end()),
                         reader, slot, axis);
}

std::vector<const ::onnx::NodeProto*> findReaders(const ::onnx::ModelProto& model,
                                                  const std::string& tensor) {
  std::vector<const ::onnx::NodeProto*> readers;
  for (const auto& n : model.graph().node()) {
    if (std::find(n.input().begin(), n.input().end(), tensor) != n.input().end()) readers.push_back(&n);
  }
  return readers;
}

// How tensor `name` of an exported model is stored: the type and zero point of the DequantizeLinear that
// writes it, and its scale.
struct StoredQuant {
  int type = 0;  // ::onnx::TensorProto::INT8 or UINT8
  int zeroPoint = 0;
  float scale = 0.0f;
};

StoredQuant storedQuant(const ::onnx::ModelProto& model, const std::string& name) {
  SCOPED_TRACE("tensor " + name);
  StoredQuant q;
  const ::onnx::NodeProto* dq = findProducer(model, name);
  EXPECT_TRUE(dq != nullptr && dq->op_type() == "DequantizeLinear");
  if (dq == nullptr || dq->input_size() != 3) return q;
  const ::onnx::TensorProto* scale = findInitializer(model, dq->input(1));
  const ::onnx::TensorProto* zero = findInitializer(model, dq->input(2));
  EXPECT_TRUE(scale != nullptr && zero != nullptr);
  if (scale == nullptr || zero == nullptr || zero->raw_data().size() != 1) return q;
  q.scale = floatValues(*scale).at(0);
  q.type = zero->data_type();
  q.zeroPoint = q.type == ::onnx::TensorProto::UINT8 ? static_cast<uint8_t>(zero->raw_data()[0])
                                                     : static_cast<int8_t>(zero->raw_data()[0]);
  return q;
}

// The output of layer `layer` is read by one QuantizeLinear only, whose DequantizeLinear follows: the
// DQ -> layer -> Q pattern ONNX Runtime fuses into an integer kernel.
void expectOutputReadByOneQuantize(const ::onnx::ModelProto& model, const std::string& layer) {
  SCOPED_TRACE("layer " + layer);
  const ::onnx::NodeProto* node = findNode(model, layer);
  ASSERT_NE(node, nullptr);
  const auto readers = findReaders(model, node->output(0));
  ASSERT_EQ(readers.size(), 1u);
  EXPECT_EQ(readers[0]->op_type(), "QuantizeLinear");
  for (const auto& out : model.graph().output()) EXPECT_NE(out.name(), node->output(0));
  const auto dequantize = findReaders(model, readers[0]->output(0));
  ASSERT_EQ(dequantize.size(), 1u);
  EXPECT_EQ(dequantize[0]->op_type(), "DequantizeLinear");
}

// Bias `name` of `reader` (input 2) is read through a DequantizeLinear of an int32 initializer whose scale is
// x_scale * w_scale per output channel, and which gives the fp32 bias back to within half a step.
void expectInt32Bias(const ::onnx::ModelProto& original, const ::onnx::ModelProto& exported,
                     const std::string& name, const std::string& reader) {
  SCOPED_TRACE("bias " + name);
  const ::onnx::NodeProto* node = findNode(exported, reader);
  ASSERT_NE(node, nullptr);
  ASSERT_GE(node->input_size(), 3);
  const ::onnx::NodeProto* dq = findProducer(exported, node->input(2));
  ASSERT_NE(dq, nullptr);
  ASSERT_EQ(dq->op_type(), "DequantizeLinear");
  const ::onnx::TensorProto* q = findInitializer(exported, dq->input(0));
  const ::onnx::TensorProto* scale = findInitializer(exported, dq->input(1));
  ASSERT_TRUE(q != nullptr && scale != nullptr);
  ASSERT_EQ(q->data_type(), ::onnx::TensorProto::INT32);
  EXPECT_TRUE(dq->input_size() == 2 || dq->input(2).empty());  // zero point 0
  const ::onnx::NodeProto* weightDq = findProducer(exported, node->input(1));
  ASSERT_NE(weightDq, nullptr);
  const std::vector<float> wScales = floatValues(*findInitializer(exported, weightDq->input(1)));
  const float xScale = storedQuant(exported, node->input(0)).scale;
  const std::vector<float> scales = floatValues(*scale);
  const std::vector<float> bias = floatValues(*findInitializer(original, name));
  ASSERT_EQ(scales.size(), wScales.size());
  ASSERT_EQ(q->raw_data().size(), bias.size() * sizeof(int32_t));
  std::vector<int32_t> values(bias.size());
  std::memcpy(values.data(), q->raw_data().data(), q->raw_data().size());
  for (size_t m = 0; m < bias.size(); ++m) {
    const float s = scales[scales.size() == 1 ? 0 : m];
    EXPECT_FLOAT_EQ(s, xScale * wScales[scales.size() == 1 ? 0 : m]) << "channel " << m;
    EXPECT_LE(std::fabs(static_cast<double>(values[m]) * s - bias[m]), 0.5 * s + 1e-12) << "channel " << m;
  }
  EXPECT_EQ(findInitializer(exported, name), nullptr) << "the fp32 bias is still in the model";
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
  // Each Relu alone reads a layer's output: the uint8 quantization of that output does its work.
  EXPECT_EQ(report.removedActivations, (std::vector<std::string>{"relu1", "relu2", "relu3", "relu4"}));
  // MaxPool and Flatten take conv3's quantization, which they keep exactly.
  EXPECT_EQ(report.otherQuantizedNodes, (std::vector<std::string>{"pool", "flatten"}));
  EXPECT_EQ(report.floatOutputs, (std::vector<std::string>{"fc2: output 'y' is a graph output"}));
  // The outputs of layers whose Relu was removed, and the graph output, are not quantized with their own
  // scale.
  EXPECT_EQ(report.unusedScales, (std::vector<std::string>{"c1", "c2", "d", "g1", "y"}));

  const ::onnx::ModelProto exported = readModel(qdq);
  expectInt8PerChannel(net.model(), exported, "w1", "conv1", 1, 0);
  expectInt8PerChannel(net.model(), exported, "w2", "conv2", 1, 0);
  expectInt8PerChannel(net.model(), exported, "wt", "deconv", 1, 1);
  expectInt8PerChannel(net.model(), exported, "w3", "conv3", 1, 0);
  expectInt8PerChannel(net.model(), exported, "fc1", "fc1", 1, 0);
  expectInt8PerChannel(net.model(), exported, "mm", "matmul", 1, 1);
  expectInt8PerChannel(net.model(), exported, "fc2", "fc2", 1, 1);
  // Conv and Gemm biases are int32 on the accumulator's grid; ConvTranspose's stays fp32.
  expectInt32Bias(net.model(), exported, "b1", "conv1");
  expectInt32Bias(net.model(), exported, "b2", "conv2");
  expectInt32Bias(net.model(), exported, "fc1_b", "fc1");
  expectInt32Bias(net.model(), exported, "fc2_b", "fc2");
  EXPECT_EQ(findNode(exported, "deconv")->input(2), "bt");
  ASSERT_NE(findInitializer(exported, "bt"), nullptr);
  EXPECT_EQ(findInitializer(exported, "bt")->data_type(), ::onnx::TensorProto::FLOAT);
  EXPECT_EQ(countOps(exported, "Relu"), 0);
  // Q/DQ on x, r1, r2, r3, c3, p, f, g1r and m; one DQ per weight and per int32 bias.
  EXPECT_EQ(countOps(exported, "QuantizeLinear"), 9);
  EXPECT_EQ(countOps(exported, "DequantizeLinear"), 9 + 7 + 4);
  // conv1 writes r1 (the removed Relu's output) through Q/DQ: relu1's output keeps its name.
  EXPECT_EQ(findNode(exported, "conv1")->output(0), "r1_unquantized");
  EXPECT_EQ(findProducer(exported, "r1")->op_type(), "DequantizeLinear");
  EXPECT_EQ(findProducer(exported, "y")->op_type(), "Gemm");  // the graph output stays fp32
  // The graph input is read through Q/DQ.
  EXPECT_EQ(findNode(exported, "conv1")->input(0), "x_dequantized");
  for (const char* layer : {"conv1", "conv2", "deconv", "conv3", "fc1", "matmul"}) {
    expectOutputReadByOneQuantize(exported, layer);
  }

  // lowp runs both. Seven layers and nine quantized tensors: each adds about 1% of noise (a ReLU output's
  // amax is ~4x its rms, so the int8 step is ~1/30 of the rms; uint8 halves it).
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

// The fp32 weight and bias of Conv `conv` (weight [M, ...], bias [M] or none) with BatchNormalization `bn`
// (parameters as ModelBuilder::batchNorm names them, epsilon 1e-5) folded in, computed in double.
std::pair<std::vector<float>, std::vector<float>> foldedConv(const ::onnx::ModelProto& model,
                                                             const std::string& weight,
                                                             const std::string& bias, const std::string& bn) {
  const ::onnx::TensorProto* w = findInitializer(model, weight);
  const std::vector<float> values = floatValues(*w);
  const auto param = [&](const std::string& suffix) {
    return floatValues(*findInitializer(model, bn + suffix));
  };
  const std::vector<float> gamma = param("_scale"), beta = param("_bias"), mean = param("_mean"),
                           var = param("_var");
  const std::vector<float> b =
      bias.empty() ? std::vector<float>(gamma.size(), 0.0f) : floatValues(*findInitializer(model, bias));
  const size_t inner = values.size() / gamma.size();
  std::vector<float> folded(values.size());
  std::vector<float> foldedBias(gamma.size());
  for (size_t m = 0; m < gamma.size(); ++m) {
    const double s = gamma[m] / std::sqrt(static_cast<double>(var[m]) + 1e-5);
    for (size_t j = 0; j < inner; ++j) folded[m * inner + j] = static_cast<float>(values[m * inner + j] * s);
    foldedBias[m] = static_cast<float>((b[m] - mean[m]) * s + beta[m]);
  }
  return {folded, foldedBias};
}

// Conv -> BN -> Relu -> Conv -> BN (a graph output), and a third Conv whose output a BN and the graph read.
// The first two BNs fold into their Convs (the weights are the quantized folded ones, the bias is the folded
// bias on the int32 grid), the third stays; the calibrated scales of the BN outputs are those of the folded
// convolutions.
TEST(QdqExport, BatchNormFoldsIntoTheConvBeforeIt) {
  TempDir dir;
  ModelBuilder m(13);
  m.input("x", {1, 3, 12, 12});
  m.weight("w1", {8, 3, 3, 3}, 27);
  m.weight("b1", {8}, 0, 0.1f);
  m.weight("w2", {6, 8, 1, 1}, 8);
  m.weight("w3", {4, 3, 1, 1}, 3);
  ModelBuilder::attr(m.node("Conv", "conv1", {"x", "w1", "b1"}, "c1"), "pads",
                     std::vector<int64_t>{1, 1, 1, 1});
  m.batchNorm("bn1", 8, "c1", "n1");
  m.node("Relu", "relu1", {"n1"}, "r1");
  m.node("Conv", "conv2", {"r1", "w2"}, "c2");
  m.batchNorm("bn2", 6, "c2", "y");
  m.node("Conv", "conv3", {"x", "w3"}, "c3");
  m.batchNorm("bn3", 4, "c3", "n3");
  m.output("y");
  m.output("n3");
  m.output("c3");
  const std::string fp32 = m.write(dir.file("bn.onnx"));
  const std::map<std::string, float> scales = calibrate(m, dir);
  const std::string qdq = dir.file("bn_qdq.onnx");
  QdqExportReport report;
  ASSERT_TRUE(exportQdqModel(fp32, scales, qdq, &report).isOk());
  EXPECT_EQ(report.foldedBatchNorms, (std::vector<std::string>{"bn1", "bn2"}));
  EXPECT_EQ(report.quantizedNodes, (std::vector<std::string>{"conv1", "conv2", "conv3"}));
  EXPECT_EQ(report.removedActivations, (std::vector<std::string>{"relu1"}));

  const ::onnx::ModelProto exported = readModel(qdq);
  EXPECT_EQ(countOps(exported, "BatchNormalization"), 1);
  ASSERT_NE(findNode(exported, "bn3"), nullptr);
  EXPECT_EQ(findNode(exported, "bn3")->input(0), "c3");
  for (const char* p : {"bn1_scale", "bn1_bias", "bn1_mean", "bn1_var", "w1", "b1", "w2", "bn2_var"}) {
    EXPECT_EQ(findInitializer(exported, p), nullptr) << p << " is still in the model";
  }
  const auto [w1, b1] = foldedConv(m.model(), "w1", "b1", "bn1");
  {
    SCOPED_TRACE("conv1");
    expectInt8PerChannelOf(exported, w1, {8, 3, 3, 3}, "conv1", 1, 0);
  }
  const auto [w2, b2] = foldedConv(m.model(), "w2", "", "bn2");
  {
    SCOPED_TRACE("conv2");
    expectInt8PerChannelOf(exported, w2, {6, 8, 1, 1}, "conv2", 1, 0);
  }
  // The folded biases: int32 on the grid x_scale * w_scale[m], within half a step of the folded values.
  for (const auto& [conv, bias] : {std::pair{"conv1", b1}, std::pair{"conv2", b2}}) {
    SCOPED_TRACE(conv);
    const ::onnx::NodeProto* node = findNode(exported, conv);
    ASSERT_GE(node->input_size(), 3);
    const ::onnx::NodeProto* dq = findProducer(exported, node->input(2));
    ASSERT_NE(dq, nullptr);
    const ::onnx::TensorProto* q = findInitializer(exported, dq->input(0));
    ASSERT_EQ(q->data_type(), ::onnx::TensorProto::INT32);
    const std::vector<float> s = floatValues(*findInitializer(exported, dq->input(1)));
    ASSERT_EQ(s.size(), bias.size());
    std::vector<int32_t> v(bias.size());
    ASSERT_EQ(q->raw_data().size(), v.size() * sizeof(int32_t));
    std::memcpy(v.data(), q->raw_data().data(), q->raw_data().size());
    for (size_t c = 0; c < v.size(); ++c) EXPECT_LE(std::fabs(v[c] * s[c] - bias[c]), 0.5f * s[c] + 1e-9f);
  }
  // conv1 writes the Relu's output through uint8 Q/DQ, with the scale of the Relu output.
  EXPECT_EQ(findNode(exported, "conv1")->output(0), "r1_unquantized");
  const StoredQuant r1 = storedQuant(exported, "r1");
  EXPECT_EQ(r1.type, ::onnx::TensorProto::UINT8);
  EXPECT_FLOAT_EQ(r1.scale, scales.at("r1") * 127.0f / 255.0f);
  // conv2 takes over bn2's output y (a graph output), quantized with y's calibrated scale.
  EXPECT_EQ(findNode(exported, "conv2")->output(0), "y_unquantized");
  EXPECT_FLOAT_EQ(storedQuant(exported, "y").scale, scales.at("y"));

  // Folding is exact: what remains is the rounding of x, r1 and the three outputs (y quantized too).
  const Agreement a = compareOutputs(fp32, qdq, 6);
  EXPECT_LT(a.mean, 2e-2);
  EXPECT_LT(a.worst, 5e-2);
  EXPECT_GT(a.mean, 1e-4);
}

// Branches from x, each Conv -> activation -> graph output. Removed: a Relu, and a Clip(0, 6) with bounds
// from Constant nodes (its calibrated range lies inside [0, 6]). Kept: a Clip with min 0.5 (below it the
// uint8 quantization would give 0, not 0.5), a Relu whose input the graph also reads, a Clip(0, 1) whose
// output scale is given as amax 4 (uint8 would reach 4, beyond 1), a LeakyRelu.
TEST(QdqExport, ReluAndClipAreRemovedOnlyWhenTheQuantizationDoesTheirWork) {
  TempDir dir;
  ModelBuilder m(13);
  m.input("x", {1, 3, 12, 12});
  for (const char* w : {"wa", "wb", "wc", "wd", "we", "wf"}) m.weight(w, {4, 3, 3, 3}, 27, 1.0f);
  m.constant("zero", 0.0f);
  m.constant("six", 6.0f);
  m.scalar("half", 0.5f);
  m.scalar("six_init", 6.0f);
  m.scalar("zero_init", 0.0f);
  m.scalar("one", 1.0f);
  m.node("Conv", "conv_a", {"x", "wa"}, "a");
  m.node("Relu", "relu_a", {"a"}, "ra");
  m.node("Conv", "conv_b", {"x", "wb"}, "b");
  m.node("Clip", "clip_b", {"b", "zero", "six"}, "rb");
  m.node("Conv", "conv_c", {"x", "wc"}, "c");
  m.node("Clip", "clip_c", {"c", "half", "six_init"}, "rc");
  m.node("Conv", "conv_d", {"x", "wd"}, "d");
  m.node("Relu", "relu_d", {"d"}, "rd");
  m.node("Conv", "conv_e", {"x", "we"}, "e");
  m.node("Clip", "clip_e", {"e", "zero_init", "one"}, "re");
  m.node("Conv", "conv_f", {"x", "wf"}, "f");
  m.node("LeakyRelu", "leaky_f", {"f"}, "rf");
  for (const char* out : {"ra", "rb", "rc", "rd", "d", "re", "rf"}) m.output(out);
  const std::string fp32 = m.write(dir.file("act.onnx"));
  std::map<std::string, float> scales = calibrate(m, dir);
  ASSERT_LE(scales.at("rb") * 127.0f, 6.0f);
  scales["re"] = 4.0f / 127.0f;
  const std::string qdq = dir.file("act_qdq.onnx");
  QdqExportReport report;
  ASSERT_TRUE(exportQdqModel(fp32, scales, qdq, &report).isOk());
  EXPECT_EQ(report.removedActivations, (std::vector<std::string>{"relu_a", "clip_b"}));

  const ::onnx::ModelProto exported = readModel(qdq);
  for (const char* kept : {"clip_c", "relu_d", "clip_e", "leaky_f"})
    EXPECT_NE(findNode(exported, kept), nullptr);
  EXPECT_EQ(countOps(exported, "Constant"), 0);  // the removed Clip's bounds go with it
  for (const char* t : {"ra", "rb"}) {
    const StoredQuant q = storedQuant(exported, t);
    EXPECT_EQ(q.type, ::onnx::TensorProto::UINT8) << t;
    EXPECT_EQ(q.zeroPoint, 0) << t;
    EXPECT_FLOAT_EQ(q.scale, scales.at(t) * 127.0f / 255.0f) << t;
  }
  // Where the activation stays, the layer's own (signed) output is quantized: int8, amax / 127.
  for (const char* t : {"c", "d", "e", "f"}) {
    const StoredQuant q = storedQuant(exported, t);
    EXPECT_EQ(q.type, ::onnx::TensorProto::INT8) << t;
    EXPECT_EQ(q.zeroPoint, 0) << t;
    EXPECT_FLOAT_EQ(q.scale, scales.at(t)) << t;
  }
  for (const char* layer : {"conv_a", "conv_b", "conv_c", "conv_e", "conv_f"}) {
    expectOutputReadByOneQuantize(exported, layer);
  }
  const Agreement a = compareOutputs(fp32, qdq, 6);
  EXPECT_LT(a.worst, 3e-2);
}

// Representation: a signed tensor read once is int8 (zero point 0, amax / 127); one whose DequantizeLinear
// several nodes read is uint8 with zero point 128 on the same grid; non-negative tensors (a removed Relu's
// output, a kept Relu's output, a MaxPool of either) are uint8 with zero point 0 and amax / 255.
TEST(QdqExport, NonNegativeTensorsAreUint8AndSharedSignedOnesUint8WithZeroPoint128) {
  TempDir dir;
  ModelBuilder m(13);
  m.input("x", {1, 3, 12, 12});
  m.weight("w1", {8, 3, 3, 3}, 27);
  m.weight("w2", {4, 8, 1, 1}, 8);
  m.weight("w3", {8, 8, 3, 3}, 72);
  m.weight("w4", {4, 8, 1, 1}, 8);
  m.weight("w5", {4, 8, 1, 1}, 8);
  ModelBuilder::attr(m.node("Conv", "conv1", {"x", "w1"}, "c1"), "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("Conv", "conv2", {"c1", "w2"}, "y2");
  ModelBuilder::attr(m.node("Conv", "conv3", {"c1", "w3"}, "c3"), "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("Relu", "relu3", {"c3"}, "r3");
  auto* pool = m.node("MaxPool", "pool", {"r3"}, "p");
  ModelBuilder::attr(pool, "kernel_shape", std::vector<int64_t>{3, 3});
  ModelBuilder::attr(pool, "pads", std::vector<int64_t>{1, 1, 1, 1});
  ModelBuilder::attr(pool, "strides", std::vector<int64_t>{2, 2});
  m.node("Conv", "conv4", {"p", "w4"}, "y4");
  m.node("Relu", "relu_k", {"c1"}, "rk");
  m.node("Conv", "conv5", {"rk", "w5"}, "y5");
  for (const char* out : {"y2", "y4", "y5"}) m.output(out);
  const std::string fp32 = m.write(dir.file("rep.onnx"));
  const std::map<std::string, float> scales = calibrate(m, dir);
  const std::string qdq = dir.file("rep_qdq.onnx");
  QdqExportReport report;
  ASSERT_TRUE(exportQdqModel(fp32, scales, qdq, &report).isOk());
  EXPECT_EQ(report.removedActivations, (std::vector<std::string>{"relu3"}));
  EXPECT_EQ(report.otherQuantizedNodes, (std::vector<std::string>{"pool"}));

  const ::onnx::ModelProto exported = readModel(qdq);
  const auto expectQuant = [&](const std::string& t, int type, int zeroPoint, float scale) {
    const StoredQuant q = storedQuant(exported, t);
    EXPECT_EQ(q.type, type) << t;
    EXPECT_EQ(q.zeroPoint, zeroPoint) << t;
    EXPECT_FLOAT_EQ(q.scale, scale) << t;
  };
  expectQuant("x_dequantized", ::onnx::TensorProto::INT8, 0, scales.at("x"));  // a graph input
  expectQuant("c1", ::onnx::TensorProto::UINT8, 128, scales.at("c1"));  // read by conv2, conv3 and relu_k
  expectQuant("r3", ::onnx::TensorProto::UINT8, 0, scales.at("r3") * 127.0f / 255.0f);
  expectQuant("p", ::onnx::TensorProto::UINT8, 0, scales.at("r3") * 127.0f / 255.0f);  // MaxPool keeps it
  expectQuant("rk", ::onnx::TensorProto::UINT8, 0, scales.at("rk") * 127.0f / 255.0f);
  EXPECT_EQ(findReaders(exported, "c1").size(), 3u);
  EXPECT_EQ(findProducer(exported, "p_unquantized")->op_type(), "MaxPool");
  const Agreement a = compareOutputs(fp32, qdq, 6);
  EXPECT_LT(a.worst, 3e-2);
  EXPECT_GT(a.mean, 1e-4);
}

// A ResNet-style network: Conv -> BN -> Relu -> MaxPool, a residual block (Conv -> BN -> Relu -> Conv -> BN,
// Add with the block's input, Relu), GlobalAveragePool -> Flatten -> Gemm. Every layer, the residual Add and
// the pooling sit between DequantizeLinear and QuantizeLinear (what ONNX Runtime fuses into QLinearConv,
// QLinearAdd, QLinearGlobalAveragePool, QGemm), with no BN and no Relu left.
TEST(QdqExport, ResidualBlockRunsBetweenQuantizeAndDequantize) {
  TempDir dir;
  ModelBuilder m(13);
  m.input("x", {1, 3, 12, 12});
  m.weight("w0", {8, 3, 3, 3}, 27);
  m.weight("wa", {8, 8, 3, 3}, 72);
  m.weight("wb", {8, 8, 3, 3}, 72);
  m.weight("fc", {5, 8}, 8);
  m.weight("fc_b", {5}, 0, 0.1f);
  const std::vector<int64_t> pads{1, 1, 1, 1};
  ModelBuilder::attr(m.node("Conv", "conv0", {"x", "w0"}, "c0"), "pads", pads);
  m.batchNorm("bn0", 8, "c0", "n0");
  m.node("Relu", "relu0", {"n0"}, "r0");
  auto* pool = m.node("MaxPool", "pool", {"r0"}, "p");
  ModelBuilder::attr(pool, "kernel_shape", std::vector<int64_t>{2, 2});
  ModelBuilder::attr(pool, "strides", std::vector<int64_t>{2, 2});
  ModelBuilder::attr(m.node("Conv", "conv_a", {"p", "wa"}, "ca"), "pads", pads);
  m.batchNorm("bn_a", 8, "ca", "na");
  m.node("Relu", "relu_a", {"na"}, "ra");
  ModelBuilder::attr(m.node("Conv", "conv_b", {"ra", "wb"}, "cb"), "pads", pads);
  m.batchNorm("bn_b", 8, "cb", "nb");
  m.node("Add", "add", {"nb", "p"}, "s");
  m.node("Relu", "relu_s", {"s"}, "rs");
  m.node("GlobalAveragePool", "gap", {"rs"}, "g");
  m.node("Flatten", "flatten", {"g"}, "f");
  ModelBuilder::attr(m.node("Gemm", "fc", {"f", "fc", "fc_b"}, "y"), "transB", int64_t{1});
  m.output("y");
  const std::string fp32 = m.write(dir.file("res.onnx"));
  const std::map<std::string, float> scales = calibrate(m, dir);
  const std::string qdq = dir.file("res_qdq.onnx");
  QdqExportReport report;
  ASSERT_TRUE(exportQdqModel(fp32, scales, qdq, &report).isOk());
  EXPECT_EQ(report.foldedBatchNorms, (std::vector<std::string>{"bn0", "bn_a", "bn_b"}));
  EXPECT_EQ(report.quantizedNodes, (std::vector<std::string>{"conv0", "conv_a", "conv_b", "fc"}));
  EXPECT_EQ(report.removedActivations, (std::vector<std::string>{"relu0", "relu_a", "relu_s"}));
  EXPECT_EQ(report.otherQuantizedNodes, (std::vector<std::string>{"pool", "add", "gap", "flatten"}));

  const ::onnx::ModelProto exported = readModel(qdq);
  EXPECT_EQ(countOps(exported, "BatchNormalization"), 0);
  EXPECT_EQ(countOps(exported, "Relu"), 0);
  for (const char* node : {"conv0", "conv_a", "conv_b", "add", "gap"})
    expectOutputReadByOneQuantize(exported, node);
  // Every input of the layers, the Add and the pooling is dequantized.
  for (const char* name : {"conv0", "conv_a", "conv_b", "fc", "add", "gap", "pool", "flatten"}) {
    const ::onnx::NodeProto* node = findNode(exported, name);
    ASSERT_NE(node, nullptr) << name;
    for (const std::string& in : node->input()) {
      const ::onnx::NodeProto* producer = findProducer(exported, in);
      EXPECT_TRUE(producer != nullptr && producer->op_type() == "DequantizeLinear")
          << name << " reads " << in;
    }
  }
  // The Add's output is quantized with the removed Relu's output scale, uint8; MaxPool and Flatten keep their
  // inputs' quantization, so ONNX Runtime can drop their Q/DQ.
  const StoredQuant rs = storedQuant(exported, "rs");
  EXPECT_EQ(rs.type, ::onnx::TensorProto::UINT8);
  EXPECT_EQ(rs.zeroPoint, 0);
  EXPECT_FLOAT_EQ(rs.scale, scales.at("rs") * 127.0f / 255.0f);
  EXPECT_EQ(findNode(exported, "add")->output(0), "rs_unquantized");
  EXPECT_FLOAT_EQ(storedQuant(exported, "p").scale, storedQuant(exported, "r0").scale);
  EXPECT_FLOAT_EQ(storedQuant(exported, "f").scale, storedQuant(exported, "g").scale);
  EXPECT_FLOAT_EQ(storedQuant(exported, "g").scale, scales.at("g") * 127.0f / 255.0f);
  EXPECT_EQ(storedQuant(exported, "nb").type, ::onnx::TensorProto::INT8);  // signed, read by the Add only
  expectInt32Bias(m.model(), exported, "fc_b", "fc");
  EXPECT_EQ(findProducer(exported, "y")->op_type(), "Gemm");

  const Agreement a = compareOutputs(fp32, qdq, 8);
  // Four layers, the Add and the pooling each round once; the five logits of eight averaged features are a
  // short vector, so one input whose activations pass the calibrated range of four inputs sets the worst.
  EXPECT_LT(a.mean, 2e-2);
  EXPECT_LT(a.worst, 6e-2);
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
