// Transpose and Slice as copies that move whole runs of memory instead of one element at a time. Any element
// type (bytes move); every permutation and every slice has one of these kernels, tested against
// any-transpose-ref / any-slice-ref in tests/unit/test_cpu_kernels.cpp (CpuTranspose.*, CpuSlice.*).
//   any-transpose-rowcopy  the permutation keeps the last axis last (attention's head split and merge,
//                          [0, 2, 1, 3]): each output row along the last axis is one contiguous run of the
//                          input, one memcpy.
//   any-transpose-tiled    the permutation moves the last axis: square tiles between the output axis that
//                          reads the input's last axis and the output's last axis, so that reads and writes
//                          both run along rows of a tile that stays in L1.
//   any-slice-rowcopy      every Slice: each output row along the last axis is one run of the input read
//                          with the last axis' step, a memcpy where that step is 1.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ir/ops/tensor_shapes.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/reference/common.h"
#include "kernels/reference/tensor_util.h"

namespace lowp::kernels::cpu {
namespace {

using Ints = std::vector<int64_t>;

// Rows in chunks of about 64 KiB, so small tensors stay on one thread.
int64_t rowGrain(int64_t rowBytes) {
  return std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, rowBytes));
}

// ---- Transpose ----

// The permutation of the node over `rank` axes: its `perm` attribute, or the reversed axes ONNX defaults to.
Result<Ints> permutation(const ir::AttributeMap& attrs, int64_t rank) {
  std::optional<Ints> perm;
  if (attrs.has("perm")) perm = attrs.getInts("perm");
  return ir::ops::transposePerm(rank, perm);
}

// Whether the node's permutation (rank >= 2, a valid one) keeps the last axis last.
std::optional<bool> keepsLastAxis(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !shapes[0].rankKnown() || shapes[0].rank() < 2) return std::nullopt;
  const int64_t rank = shapes[0].rank();
  const Result<Ints> perm = permutation(node.attributes, rank);
  if (!perm) return std::nullopt;
  return perm->back() == rank - 1;
}

bool supportsRowTranspose(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return keepsLastAxis(node, shapes) == true;
}

bool supportsTiledTranspose(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return keepsLastAxis(node, shapes) == false;
}

Status rowTranspose(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const auto rank = static_cast<int64_t>(x.rank());
  const Result<Ints> permuted = permutation(ctx.attrs(), rank);
  if (!permuted) return ctx.invalid(permuted.status().message());
  const Ints& perm = *permuted;
  if (perm.back() != rank - 1) return ctx.unsupported("the permutation does not keep the last axis last");
  const Ints inStrides = ref::contiguousStrides(x.shape());
  const int64_t rowLength = x.shape().back();
  const int64_t elementBytes = dataTypeSize(x.type());
  const int64_t rowBytes = rowLength * elementBytes;
  const int64_t rows = rowLength == 0 ? 0 : y.elementCount() / rowLength;
  if (rows == 0 || rowBytes == 0) return {};
  const auto* src = static_cast<const std::byte*>(x.data());
  auto* dst = static_cast<std::byte*>(y.data());
  const Ints& out = y.shape();
  ctx.parallelFor(rows, rowGrain(rowBytes), [&](int64_t begin, int64_t end) {
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

constexpr int64_t kTile = 16;

// Output axis q reads the input's last axis (unit stride); the output's last axis reads input axis
// perm[rank-1] (stride `colStride`). Every other output axis is an outer loop. A tile is kTile x kTile of
// (q, last): read along q, written along last.
template <typename W>
void tiledTranspose(const KernelContext& ctx, const W* src, W* dst, const Ints& out,
                    const Ints& inStridesByOut, int64_t q) {
  const auto rank = static_cast<int64_t>(out.size());
  const int64_t rows = out[q];         // along q: input contiguous
  const int64_t cols = out[rank - 1];  // along the output's last axis: output contiguous
  const int64_t colStride = inStridesByOut[rank - 1];
  const Ints outStrides = ref::contiguousStrides(out);
  const int64_t rowStrideOut = outStrides[q];
  // The outer axes: every output axis but q and the last.
  Ints outerSizes;
  Ints outerIn;
  Ints outerOut;
  for (int64_t d = 0; d < rank - 1; ++d) {
    if (d == q) continue;
    outerSizes.push_back(out[d]);
    outerIn.push_back(inStridesByOut[d]);
    outerOut.push_back(outStrides[d]);
  }
  int64_t outer = 1;
  for (int64_t s : outerSizes) outer *= s;
  const int64_t rowTiles = (rows + kTile - 1) / kTile;
  const int64_t colTiles = (cols + kTile - 1) / kTile;
  const int64_t tiles = outer * rowTiles * colTiles;
  ctx.parallelFor(tiles, std::max<int64_t>(1, 4096 / (kTile * kTile)), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t colTile = t % colTiles;
      const int64_t rowTile = (t / colTiles) % rowTiles;
      int64_t rest = t / (colTiles * rowTiles);
      int64_t inBase = 0;
      int64_t outBase = 0;
      for (size_t k = outerSizes.size(); k-- > 0;) {
        const int64_t coordinate = rest % outerSizes[k];
        rest /= outerSizes[k];
        inBase += coordinate * outerIn[k];
        outBase += coordinate * outerOut[k];
      }
      const int64_t r0 = rowTile * kTile;
      const int64_t r1 = std::min(rows, r0 + kTile);
      const int64_t c0 = colTile * kTile;
      const int64_t c1 = std::min(cols, c0 + kTile);
      W tile[kTile][kTile];
      for (int64_t c = c0; c < c1; ++c) {  // input rows: contiguous along q
        const W* in = src + inBase + c * colStride;
        for (int64_t r = r0; r < r1; ++r) tile[c - c0][r - r0] = in[r];
      }
      for (int64_t r = r0; r < r1; ++r) {  // output rows: contiguous along the last axis
        W* o = dst + outBase + r * rowStrideOut;
        for (int64_t c = c0; c < c1; ++c) o[c] = tile[c - c0][r - r0];
      }
    }
  });
}

Status tiledTransposeKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const auto rank = static_cast<int64_t>(x.rank());
  const Result<Ints> permuted = permutation(ctx.attrs(), rank);
  if (!permuted) return ctx.invalid(permuted.status().message());
  const Ints& perm = *permuted;
  if (rank < 2 || perm.back() == rank - 1) return ctx.unsupported("the permutation keeps the last axis last");
  if (y.elementCount() == 0) return {};
  const Ints inStrides = ref::contiguousStrides(x.shape());
  Ints byOut(static_cast<size_t>(rank));
  int64_t q = 0;
  for (int64_t d = 0; d < rank; ++d) {
    byOut[d] = inStrides[perm[d]];
    if (perm[d] == rank - 1) q = d;
  }
  const bool copied = ref::tensor::dispatchWord(dataTypeSize(x.type()), [&]<typename W>() {
    tiledTranspose<W>(ctx, static_cast<const W*>(x.data()), static_cast<W*>(y.data()), y.shape(), byOut, q);
  });
  if (!copied) return ctx.unsupported("no tiled transpose of " + std::string(dataTypeName(x.type())));
  return {};
}

// ---- Slice ----

Status sliceRowCopy(KernelContext& ctx) {
  if (!ctx.hasInput(1) || !ctx.hasInput(2)) return ctx.invalid("starts and ends are required");
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  auto plan = ir::ops::slicePlan(ir::Shape::fromSizes(x.shape()), ref::tensor::readInts(ctx.input(1)),
                                 ref::tensor::readInts(ctx.input(2)), ref::tensor::optionalInts(ctx, 3),
                                 ref::tensor::optionalInts(ctx, 4));
  if (!plan) return ctx.invalid(plan.status().message());
  if (plan->shape.sizes() != y.shape())
    return ctx.invalid("output " + y.describe() + " is not the slice's " + plan->shape.toString());
  if (y.elementCount() == 0) return {};
  const auto rank = static_cast<int64_t>(x.rank());
  if (rank == 0) {
    std::memcpy(y.data(), x.data(), static_cast<size_t>(y.byteSize()));
    return {};
  }
  const Ints inStrides = ref::contiguousStrides(x.shape());
  const Ints& out = y.shape();
  const int64_t elementBytes = dataTypeSize(x.type());
  const ir::ops::SliceAxis last = plan->axes.back();
  const int64_t rowLength = out.back();
  const int64_t rows = y.elementCount() / rowLength;
  const auto* src = static_cast<const std::byte*>(x.data());
  auto* dst = static_cast<std::byte*>(y.data());
  ctx.parallelFor(rows, rowGrain(rowLength * elementBytes), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      int64_t rest = row;
      int64_t offset = last.start;
      for (int64_t d = rank - 2; d >= 0; --d) {
        const int64_t coordinate = rest % out[d];
        rest /= out[d];
        const ir::ops::SliceAxis& a = plan->axes[static_cast<size_t>(d)];
        offset += (a.start + coordinate * a.step) * inStrides[d];
      }
      std::byte* o = dst + row * rowLength * elementBytes;
      if (last.step == 1) {
        std::memcpy(o, src + offset * elementBytes, static_cast<size_t>(rowLength * elementBytes));
        continue;
      }
      for (int64_t i = 0; i < rowLength; ++i) {
        std::memcpy(o + i * elementBytes, src + (offset + i * last.step) * elementBytes,
                    static_cast<size_t>(elementBytes));
      }
    }
  });
  return {};
}

}  // namespace

void registerCopyKernels(KernelRegistry& registry) {
  registry.add({.opType = "Transpose",
                .name = "any-transpose-rowcopy",
                .inputTypes = {allStorableTypes()},
                .outputTypes = {allStorableTypes()},
                .fn = rowTranspose,
                .supports = supportsRowTranspose,
                .reference = false});
  registry.add({.opType = "Transpose",
                .name = "any-transpose-tiled",
                .inputTypes = {allStorableTypes()},
                .outputTypes = {allStorableTypes()},
                .fn = tiledTransposeKernel,
                .supports = supportsTiledTranspose,
                .reference = false});
  const TypeSet index = {DataType::kInt32, DataType::kInt64};
  registry.add({.opType = "Slice",
                .name = "any-slice-rowcopy",
                .inputTypes = {allStorableTypes(), index},
                .outputTypes = {allStorableTypes()},
                .fn = sliceRowCopy,
                .reference = false});
}

}  // namespace lowp::kernels::cpu
