// Importer tests: typed values and inferred shapes, node naming in errors, and robustness against
// truncated and corrupted files (every truncation and many random corruptions end in a Status, never a
// crash).
#include <gtest/gtest.h>

#include <random>

#include "onnx/importer.h"
#include "onnx/onnx_pb.h"
#include "runtime/engine_impl.h"

namespace lowp::onnx {
namespace {

// y = Relu(Add(x, bias)); x: [batch, 4] float, bias: 4 floats.
std::string addReluModel(const std::string& reluOp = "Relu") {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  auto* opset = model.add_opset_import();
  opset->set_version(17);
  auto* g = model.mutable_graph();
  g->set_name("add_relu");
  auto* x = g->add_input();
  x->set_name("x");
  auto* xt = x->mutable_type()->mutable_tensor_type();
  xt->set_elem_type(::onnx::TensorProto::FLOAT);
  xt->mutable_shape()->add_dim()->set_dim_param("batch");
  xt->mutable_shape()->add_dim()->set_dim_value(4);
  auto* bias = g->add_initializer();
  bias->set_name("bias");
  bias->set_data_type(::onnx::TensorProto::FLOAT);
  bias->add_dims(4);
  for (float v : {-1.0f, 0.0f, 1.0f, 2.0f}) bias->add_float_data(v);
  auto* add = g->add_node();
  add->set_op_type("Add");
  add->set_name("add");
  add->add_input("x");
  add->add_input("bias");
  add->add_output("sum");
  auto* relu = g->add_node();
  relu->set_op_type(reluOp);
  relu->set_name("relu");
  relu->add_input("sum");
  relu->add_output("y");
  g->add_output()->set_name("y");
  return model.SerializeAsString();
}

TEST(OnnxImporter, TypesAndShapesEveryValue) {
  auto graph = importOnnxBytes(addReluModel(), "", "add_relu.onnx");
  ASSERT_TRUE(graph.isOk()) << graph.status().toString();
  ir::Value* y = (*graph)->findValue("y");
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->type, DataType::kFloat32);
  EXPECT_EQ(y->shape.toString(), "[batchx4]");
  EXPECT_EQ((*graph)->nodes().size(), 2u);
  EXPECT_EQ((*graph)->nodes()[0]->opsetVersion, 17);
}

TEST(OnnxImporter, UnknownOpNamesNodeAndOp) {
  auto graph = importOnnxBytes(addReluModel("Frobnicate"), "", "m.onnx");
  ASSERT_FALSE(graph.isOk());
  EXPECT_EQ(graph.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(graph.status().node(), "relu");
  EXPECT_NE(graph.status().message().find("m.onnx: Frobnicate 'relu': unsupported operator Frobnicate"),
            std::string::npos)
      << graph.status().message();
}

TEST(OnnxImporter, EveryTruncationIsAnError) {
  std::string bytes = addReluModel();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto graph = importOnnxBytes(bytes.substr(0, n), "", "t.onnx");
    EXPECT_FALSE(graph.isOk()) << "truncated to " << n << " bytes";
  }
}

TEST(OnnxImporter, CorruptedBytesNeverCrash) {
  std::string bytes = addReluModel();
  std::mt19937 rng(11);
  int accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string corrupt = bytes;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) corrupt[rng() % corrupt.size()] = static_cast<char>(rng() & 0xff);
    auto graph = importOnnxBytes(corrupt, "", "c.onnx");
    if (!graph.isOk()) continue;
    ++accepted;  // some corruptions leave a valid model (e.g. a changed name): it must also run or fail
                 // cleanly
    auto impl = runtime::prepareEngine(std::move(graph).value(), EngineOptions{1});
    if (!impl.isOk()) continue;
    Engine engine(std::move(impl).value());
    auto context = engine.createExecutionContext();
    std::vector<NamedTensor> inputs;
    for (const TensorDesc& d : engine.inputs()) {
      std::vector<int64_t> shape;
      for (int64_t s : d.shape) shape.push_back(s < 0 ? 2 : std::min<int64_t>(s, 64));
      inputs.push_back({d.name, Tensor(d.type, shape)});
    }
    std::vector<NamedTensor> outputs;
    (void)context->execute(inputs, outputs);
  }
  EXPECT_LT(accepted, 3000);
}

}  // namespace
}  // namespace lowp::onnx
