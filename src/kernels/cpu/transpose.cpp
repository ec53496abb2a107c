// any-transpose-rowcopy: Transpose whose permutation keeps the last axis last (the head split and merge of
// attention, [0, 2, 1, 3]). Each output row along the last axis is then one contiguous run of the input as
// well, so it is one memcpy instead of an element-by-element strided copy. Any element type (bytes move).
// Other permutations decline and the reference kernel runs. Covered by tests/unit/test_cpu_kernels.cpp
// (CpuTranspose.*), against any-transpose-ref.
#include <cstring>

#include "kernels/cpu/cpu_kernels.h"

namespace lowp::kernels::cpu {
namespace {

// The permutation of the node: its `perm` attribute, or the reversed axes ONNX defaults to.
std::vector<int64_t> permutation(const ir::Node& node, int64_t rank) {
  std::vector<int64_t> perm = node.attributes.getInts("perm");
  if (perm.empty()) {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  return perm;
}

bool supportsRowTranspose(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !shapes[0].rankKnown() || shapes[0].rank() < 2) return false;
  const int64_t rank = shapes[0].rank();
  const std::vector<int64_t> perm = permutation(node, rank);
  return static_cast<int64_t>(perm.size()) == rank && perm.back() == rank - 1;
}

Status rowTranspose(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const auto rank = static_cast<int64_t>(x.rank());
  const std::vector<int64_t> perm = permutation(ctx.node(), rank);
  if (static_cast<int64_t>(perm.size()) != rank || perm.back() != rank - 1) {
    return ctx.unsupported("the permutation does not keep the last axis last");
  }
  const std::vector<int64_t>& in = x.shape();
  std::vector<int64_t> inStrides(static_cast<size_t>(rank), 1);
  for (int64_t d = rank - 1; d > 0; --d) inStrides[d - 1] = inStrides[d] * in[d];
  const int64_t rowLength = in.back();
  const int64_t elementBytes = dataTypeSize(x.type());
  const int64_t rowBytes = rowLength * elementBytes;
  const int64_t rows = rowLength == 0 ? 0 : y.elementCount() / rowLength;
  if (rows == 0 || rowBytes == 0) return {};
  const auto* src = static_cast<const std::byte*>(x.data());
  auto* dst = static_cast<std::byte*>(y.data());
  const std::vector<int64_t>& out = y.shape();
  // Rows in chunks of about 64 KiB, so small tensors stay on one thread.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, rowBytes));
  ctx.parallelFor(rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      // The output coordinates of this row (all axes but the last), read back to the input offset.
      int64_t rest = row;
      int64_t offset = 0;
      for (int64_t d = rank - 2; d >= 0; --d) {
        const int64_t coordinate = rest % out[d];
        rest /= out[d];
        offset += coordinate * inStrides[perm[d]];
      }
      std::memcpy(dst + row * rowBytes, src + offset * elementBytes, static_cast<size_t>(rowBytes));
    }
  });
  return {};
}

}  // namespace

void registerTransposeKernels(KernelRegistry& registry) {
  registry.add({.opType = "Transpose",
                .name = "any-transpose-rowcopy",
                .inputTypes = {allStorableTypes()},
                .outputTypes = {allStorableTypes()},
                .fn = rowTranspose,
                .supports = supportsRowTranspose,
                .reference = false});
}

}  // namespace lowp::kernels::cpu
