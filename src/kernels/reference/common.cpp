#include "kernels/reference/common.h"

#include <functional>
#include <string>
#include <utility>

namespace lowp::kernels::ref {

std::vector<int64_t> contiguousStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
  return strides;
}

std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  std::vector<int64_t> inStrides = contiguousStrides(in);
  std::vector<int64_t> strides(out.size(), 0);
  size_t offset = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) strides[offset + d] = in[d] == 1 ? 0 : inStrides[d];
  return strides;
}

Status runReferenceOf(KernelContext& ctx, std::string_view opType, std::vector<const Tensor*> inputs,
                      Tensor& output) {
  const KernelDef* kernel = nullptr;
  for (const KernelDef& k : KernelRegistry::global().all()) {
    if (k.opType == opType && k.domain.empty() && k.reference && k.backend == Backend::kCpu) kernel = &k;
  }
  if (kernel == nullptr) return ctx.unsupported("no reference kernel for " + std::string(opType));
  ir::Node base = ctx.node();
  base.opType = std::string(opType);
  base.domain.clear();
  const ParallelFor parallelFor = [&ctx](int64_t n, int64_t grain,
                                         const std::function<void(int64_t, int64_t)>& fn) {
    ctx.parallelFor(n, grain, fn);
  };
  KernelContext inner(
      base, std::move(inputs), {&output}, parallelFor,
      [](DataType type, std::vector<int64_t> shape) { return Tensor(type, std::move(shape)); });
  return kernel->fn(inner);
}

}  // namespace lowp::kernels::ref
