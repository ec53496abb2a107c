#include "passes/evaluate_node.h"

#include <new>

#include "ir/op_schema.h"
#include "kernels/kernel.h"

namespace lowp::passes {

Result<std::vector<Tensor>> evaluateNode(const ir::Node& node, const std::vector<const Tensor*>& inputs) {
  std::vector<ir::InferInput> infer;
  std::vector<DataType> inTypes;
  std::vector<DataType> outTypes;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    ir::InferInput info;
    const Tensor* t = i < inputs.size() ? inputs[i] : nullptr;
    if (node.inputs[i] != nullptr && t != nullptr) {
      info.present = true;
      info.type = t->type();
      info.shape = ir::Shape::fromSizes(t->shape());
      info.value = t->data() != nullptr || t->elementCount() == 0 ? t : nullptr;
    }
    inTypes.push_back(info.present ? info.type : DataType::kUndefined);
    infer.push_back(std::move(info));
  }
  LOWP_ASSIGN_OR_RETURN(auto inferred, ir::inferNode(node, std::move(infer)));
  for (const ir::Value* v : node.outputs) outTypes.push_back(v ? v->type : DataType::kUndefined);

  const auto& registry = kernels::KernelRegistry::global();
  const kernels::KernelDef* kernel = nullptr;
  for (const kernels::KernelDef* k :
       registry.find(node.domain, node.opType, kernels::Backend::kCpu, inTypes, outTypes)) {
    if (k->reference) {
      kernel = k;
      break;
    }
  }
  if (kernel == nullptr) {
    return Status(StatusCode::kUnsupported, node.describe() + ": no reference CPU kernel", node.name);
  }

  std::vector<Tensor> outs(node.outputs.size());
  std::vector<Tensor*> outPtrs;
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const ir::Value* out = node.outputs[i];
    if (out != nullptr && inferred[i].second.isStatic())
      outs[i] = Tensor(out->type, inferred[i].second.sizes());
    outPtrs.push_back(out != nullptr ? &outs[i] : nullptr);
  }
  // One thread: folding runs once, at build time, on small tensors.
  const kernels::ParallelFor serial = [](int64_t n, int64_t /*grain*/,
                                         const std::function<void(int64_t, int64_t)>& fn) {
    if (n > 0) fn(0, n);
  };
  kernels::KernelContext ctx(node, inputs, outPtrs, serial,
                             [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
  try {
    LOWP_RETURN_IF_ERROR(kernel->fn(ctx).withNode(node.name));
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kInvalidArgument, node.describe() + ": out of memory", node.name);
  }
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const ir::Value* out = node.outputs[i];
    if (out != nullptr && outs[i].type() != out->type) {
      return Status(StatusCode::kInternal,
                    node.describe() + ": the kernel left output " + std::to_string(i) + " unset or mistyped",
                    node.name);
    }
  }
  return outs;
}

}  // namespace lowp::passes
