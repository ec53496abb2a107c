#include "op_runner.h"

#include <cstring>

#include "ir/graph.h"
#include "ir/numeric.h"
#include "onnx/importer.h"
#include "runtime/engine_impl.h"

namespace lowp::testing {

Result<std::vector<Tensor>> runOp(const OpRun& run) {
  auto graph = std::make_unique<ir::Graph>();
  ir::Node* node = graph->addNode(run.opType, run.opType + "_under_test");
  node->domain = run.domain;
  node->opsetVersion = run.opset;
  node->attributes = run.attributes;
  std::vector<NamedTensor> inputs;
  for (size_t i = 0; i < run.inputs.size(); ++i) {
    const Tensor& t = run.inputs[i];
    if (t.type() == DataType::kUndefined) {
      graph->setInput(node, i, nullptr);
      continue;
    }
    std::string name = "input" + std::to_string(i);
    ir::Value* v = graph->addValue(name).value();
    v->type = t.type();
    v->shape = ir::Shape::fromSizes(t.shape());
    v->isGraphInput = true;
    graph->inputs().push_back(v);
    graph->setInput(node, i, v);
    inputs.push_back({name, t});
  }
  for (int i = 0; i < run.outputCount; ++i) {
    ir::Value* v = graph->addValue("output" + std::to_string(i)).value();
    LOWP_RETURN_IF_ERROR(graph->addOutput(node, v));
    v->isGraphOutput = true;
    graph->outputs().push_back(v);
  }
  LOWP_RETURN_IF_ERROR(onnx::inferGraph(*graph));
  LOWP_ASSIGN_OR_RETURN(auto impl, runtime::prepareEngine(std::move(graph), EngineOptions{}));
  Engine engine(std::move(impl));
  auto context = engine.createExecutionContext();
  std::vector<NamedTensor> outputs;
  LOWP_RETURN_IF_ERROR(context->execute(inputs, outputs));
  std::vector<Tensor> out;
  out.reserve(outputs.size());
  for (auto& o : outputs) out.push_back(std::move(o.tensor));
  return out;
}

ir::AttributeMap attrs(std::initializer_list<std::pair<std::string, ir::AttrValue>> list) {
  ir::AttributeMap m;
  for (const auto& [name, value] : list) m.set(name, value);
  return m;
}

std::vector<double> values(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.elementCount()));
  for (int64_t i = 0; i < t.elementCount(); ++i) v[static_cast<size_t>(i)] = elementAsDouble(t, i);
  return v;
}

int64_t count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor makeTensor(DataType type, std::vector<int64_t> shape, const std::vector<double>& values) {
  Tensor t(type, std::move(shape));
  for (int64_t i = 0; i < t.elementCount() && i < static_cast<int64_t>(values.size()); ++i) {
    double v = values[static_cast<size_t>(i)];
    switch (type) {
      case DataType::kFloat32:
        t.data<float>()[i] = static_cast<float>(v);
        break;
      case DataType::kFloat64:
        t.data<double>()[i] = v;
        break;
      case DataType::kFloat16:
        t.data<uint16_t>()[i] = ir::floatToFloat16(static_cast<float>(v));
        break;
      case DataType::kBFloat16:
        t.data<uint16_t>()[i] = ir::floatToBFloat16(static_cast<float>(v));
        break;
      case DataType::kInt8:
        t.data<int8_t>()[i] = static_cast<int8_t>(v);
        break;
      case DataType::kInt16:
        t.data<int16_t>()[i] = static_cast<int16_t>(v);
        break;
      case DataType::kInt32:
        t.data<int32_t>()[i] = static_cast<int32_t>(v);
        break;
      case DataType::kInt64:
        t.data<int64_t>()[i] = static_cast<int64_t>(v);
        break;
      case DataType::kUInt8:
        t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
        break;
      case DataType::kUInt16:
        t.data<uint16_t>()[i] = static_cast<uint16_t>(v);
        break;
      case DataType::kUInt32:
        t.data<uint32_t>()[i] = static_cast<uint32_t>(v);
        break;
      case DataType::kUInt64:
        t.data<uint64_t>()[i] = static_cast<uint64_t>(v);
        break;
      case DataType::kBool:
        t.data<uint8_t>()[i] = v != 0 ? 1 : 0;
        break;
      default:
        break;
    }
  }
  return t;
}

}  // namespace lowp::testing
