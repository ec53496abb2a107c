// Reference kernels of lowp.Reformat (ir/ops/reformat.cpp): index loops moving element [n, c, s] of the plain
// (kLinear) layout to element [n, s, c] of channels-last (kHwc, ir::reorderChannelsLast) or to
// [n, c / 16, s, c % 16] of kChw16 (ir::reorderChannelBlocks, zeros past C), or back; and between kChw16 and
// channels-last through a plain copy.
#include "ir/format.h"
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
  ir::reorderChannelsLast(x, y, kToHwc);
  return {};
}

template <bool kToBlocked>
Status blockReformatKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (x.rank() < 3 || x.rank() > 5)
    return ctx.unsupported("a layout change needs rank 3 to 5, not " + x.describe());
  ir::reorderChannelBlocks(x, y, kToBlocked);
  return {};
}

template <bool kToHwc>
Status blockToHwcKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (x.rank() < 3 || x.rank() > 5)
    return ctx.unsupported("a layout change needs rank 3 to 5, not " + x.describe());
  Tensor plain(x.type(), x.shape());
  if constexpr (kToHwc) {
    ir::reorderChannelBlocks(x, plain, false);
    ir::reorderChannelsLast(plain, y, true);
  } else {
    ir::reorderChannelsLast(x, plain, false);
    ir::reorderChannelBlocks(plain, y, true);
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
  registry.add({.opType = "Reformat",
                .name = "any-reformat-lineartochw16-ref",
                .fn = blockReformatKernel<true>,
                .inputFormats = {TensorFormat::kLinear},
                .outputFormats = {TensorFormat::kChw16},
                .domain = ir::ops::kLowpDomain});
  registry.add({.opType = "Reformat",
                .name = "any-reformat-chw16tolinear-ref",
                .fn = blockReformatKernel<false>,
                .inputFormats = {TensorFormat::kChw16},
                .outputFormats = {TensorFormat::kLinear},
                .domain = ir::ops::kLowpDomain});
  registry.add({.opType = "Reformat",
                .name = "any-reformat-chw16tohwc-ref",
                .fn = blockToHwcKernel<true>,
                .inputFormats = {TensorFormat::kChw16},
                .outputFormats = {TensorFormat::kHwc},
                .domain = ir::ops::kLowpDomain});
  registry.add({.opType = "Reformat",
                .name = "any-reformat-hwctochw16-ref",
                .fn = blockToHwcKernel<false>,
                .inputFormats = {TensorFormat::kHwc},
                .outputFormats = {TensorFormat::kChw16},
                .domain = ir::ops::kLowpDomain});
}

}  // namespace lowp::kernels::ref
