#include "kernel_under_test.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "onnx/importer.h"
#include "runtime/thread_pool.h"

namespace lowp::testing {

using kernels::KernelDef;
using kernels::KernelRegistry;

const KernelDef* kernelNamed(std::string_view name) {
  for (const KernelDef& k : KernelRegistry::global().all()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

const KernelDef* referenceKernel(std::string_view opType, std::string_view domain, DataType firstInput) {
  for (const KernelDef& k : KernelRegistry::global().all()) {
    if (k.opType != opType || k.domain != domain || !k.reference || k.backend != kernels::Backend::kCpu)
      continue;
    if (firstInput == DataType::kUndefined || k.inputTypes.empty() || k.inputTypes[0].contains(firstInput))
      return &k;
  }
  return nullptr;
}

NodeUnderTest::NodeUnderTest(const std::string& opType, const std::string& domain, int64_t opset,
                             ir::AttributeMap attrs, const std::vector<Tensor>& inputs,
                             const std::vector<size_t>& constantSlots) {
  node_ = graph_.addNode(opType, opType + "_under_test");
  node_->domain = domain;
  node_->opsetVersion = opset;
  node_->attributes = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].type() == DataType::kUndefined) {
      graph_.setInput(node_, i, nullptr);
      shapes_.emplace_back();
      continue;
    }
    ir::Value* v = graph_.addValue("input" + std::to_string(i)).value();
    v->type = inputs[i].type();
    v->shape = ir::Shape::fromSizes(inputs[i].shape());
    if (std::find(constantSlots.begin(), constantSlots.end(), i) != constantSlots.end()) {
      v->constant = inputs[i];
    } else {
      v->isGraphInput = true;
      graph_.inputs().push_back(v);
    }
    graph_.setInput(node_, i, v);
    shapes_.push_back(v->shape);
  }
  ir::Value* out = graph_.addValue("output").value();
  status_ = graph_.addOutput(node_, out);
  out->isGraphOutput = true;
  graph_.outputs().push_back(out);
  if (status_.isOk()) status_ = onnx::inferGraph(graph_);
  outShapeKnown_ = status_.isOk() && out->shape.isStatic();
  if (status_.isOk()) outShape_ = out->shape.sizes();
  outType_ = out->type;
}

void NodeUnderTest::setFormats(const KernelDef& kernel) {
  for (size_t i = 0; i < node_->inputs.size(); ++i) {
    if (node_->inputs[i] != nullptr && !node_->inputs[i]->constant)
      node_->inputs[i]->format = kernel.inputFormat(i);
  }
  node_->outputs[0]->format = kernel.outputFormat(0);
}

Result<Tensor> runKernel(const KernelDef& kernel, const ir::Node& node, const std::vector<Tensor>& inputs,
                         DataType outType, const std::vector<int64_t>& outShape,
                         std::shared_ptr<void>* slot) {
  static runtime::ThreadPool pool(2);
  const kernels::ParallelFor parallelFor = [](int64_t n, int64_t grain,
                                              const std::function<void(int64_t, int64_t)>& fn) {
    pool.parallelFor(n, grain, fn);
  };
  std::vector<const Tensor*> in;
  in.reserve(inputs.size());
  for (const Tensor& t : inputs) in.push_back(t.type() == DataType::kUndefined ? nullptr : &t);
  Tensor out(outType, outShape);
  std::memset(out.data(), kernel.reference ? 0 : 0x5a, static_cast<size_t>(out.byteSize()));
  kernels::KernelContext ctx(node, in, {&out}, parallelFor, [](DataType type, std::vector<int64_t> shape) {
    return Tensor(type, std::move(shape));
  });
  std::shared_ptr<void> own;
  ctx.setStateSlot(slot != nullptr ? slot : &own);
  Status st = kernel.fn(ctx);
  if (!st.isOk()) return st;
  return out;
}

Tensor randomIntegers(std::mt19937& rng, DataType type, std::vector<int64_t> shape, int64_t lo, int64_t hi) {
  Tensor t(type, std::move(shape));
  std::uniform_int_distribution<int64_t> dist(lo, hi);
  for (int64_t i = 0; i < t.elementCount(); ++i) {
    const int64_t v = dist(rng);
    if (type == DataType::kInt8) {
      t.data<int8_t>()[i] = static_cast<int8_t>(v);
    } else if (type == DataType::kUInt8) {
      t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
    } else {
      t.data<int32_t>()[i] = static_cast<int32_t>(v);
    }
  }
  return t;
}

}  // namespace lowp::testing
