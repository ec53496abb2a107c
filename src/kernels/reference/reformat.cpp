// Reference kernels of lowp.Reformat (ir/ops/reformat.cpp): an index loop moving element [n, c, s] of the
// plain (kLinear) layout to element [n, s, c] of channels-last (kHwc), or back. Any type: bytes are moved.
#include <cstring>

#include "ir/ops/fused.h"
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {
namespace {

template <bool kToHwc>
Status reformatKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (x.rank() < 3 || x.rank() > 5)
    return ctx.unsupported("a layout change needs rank 3 to 5, not " + x.describe());
  const std::vector<int64_t>& shape = x.shape();
  const int64_t n = shape[0];
  const int64_t c = shape[1];
  const int64_t s = n * c == 0 ? 0 : x.elementCount() / (n * c);
  const auto e = static_cast<size_t>(ir::dataTypeInfo(x.type()).storageBytes);
  const auto* from = x.bytes().data();
  auto* to = y.bytes().data();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t p = 0; p < s; ++p) {
        const auto plain = static_cast<size_t>((i * c + ch) * s + p);
        const auto hwc = static_cast<size_t>((i * s + p) * c + ch);
        std::memcpy(to + (kToHwc ? hwc : plain) * e, from + (kToHwc ? plain : hwc) * e, e);
      }
    }
  }
  return {};
}

}  // namespace

void registerReformatKernels(KernelRegistry& registry) {
  registry.add({.opType = "Reformat",
                .name = "any-reformat-lineartohwc-ref",
                .fn = reformatKernel<true>,
                .inputFormats = {TensorFormat::kLinear},
                .outputFormats = {TensorFormat::kHwc},
                .domain = ir::ops::kLowpDomain});
  registry.add({.opType = "Reformat",
                .name = "any-reformat-hwctolinear-ref",
                .fn = reformatKernel<false>,
                .inputFormats = {TensorFormat::kHwc},
                .outputFormats = {TensorFormat::kLinear},
                .domain = ir::ops::kLowpDomain});
}

}  // namespace lowp::kernels::ref
