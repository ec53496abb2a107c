// Shared pieces of the reference kernels: type dispatch, the compute type of stored types, and
// broadcast index iteration. Reference kernels are simple and exact; they favour clarity over speed.
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "ir/numeric.h"
#include "kernels/kernel.h"

namespace lowp::kernels::ref {

using ir::BFloat16;
using ir::Float16;
using ir::Float8E4M3;
using ir::Float8E5M2;

/// Calls `f.template operator()<T>()` with T the C++ storage type of a float `type` (float, double,
/// Float16, BFloat16). Returns false for other types.
template <typename F>
bool dispatchFloat(DataType type, F&& f) {
  switch (type) {
    case DataType::kFloat32:
      f.template operator()<float>();
      return true;
    case DataType::kFloat64:
      f.template operator()<double>();
      return true;
    case DataType::kFloat16:
      f.template operator()<Float16>();
      return true;
    case DataType::kBFloat16:
      f.template operator()<BFloat16>();
      return true;
    default:
      return false;
  }
}

/// Calls `f.template operator()<T>()` with T the C++ storage type of `type` (float, double, Float16,
/// BFloat16, int8_t, ..., bool). Returns false for types without a storage type here.
template <typename F>
bool dispatchType(DataType type, F&& f) {
  if (dispatchFloat(type, f)) return true;
  switch (type) {
    case DataType::kInt8:
      f.template operator()<int8_t>();
      return true;
    case DataType::kInt16:
      f.template operator()<int16_t>();
      return true;
    case DataType::kInt32:
      f.template operator()<int32_t>();
      return true;
    case DataType::kInt64:
      f.template operator()<int64_t>();
      return true;
    case DataType::kUInt8:
      f.template operator()<uint8_t>();
      return true;
    case DataType::kUInt16:
      f.template operator()<uint16_t>();
      return true;
    case DataType::kUInt32:
      f.template operator()<uint32_t>();
      return true;
    case DataType::kUInt64:
      f.template operator()<uint64_t>();
      return true;
    case DataType::kBool:
      f.template operator()<bool>();
      return true;
    default:
      return false;
  }
}

template <typename T>
inline constexpr bool kIsReducedFloat = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;

/// The type arithmetic on a stored T happens in: float for FP16/BF16, T itself otherwise.
template <typename T>
using Compute = std::conditional_t<kIsReducedFloat<T>, float, T>;

template <typename T>
inline Compute<T> toCompute(T v) {
  if constexpr (kIsReducedFloat<T>) {
    return ir::toFloat(v);
  } else {
    return v;
  }
}

template <typename T>
inline T fromCompute(Compute<T> v) {
  if constexpr (std::is_same_v<T, Float16>) {
    return Float16{ir::floatToFloat16(v)};
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return BFloat16{ir::floatToBFloat16(v)};
  } else {
    return v;
  }
}

/// Row-major strides of a dense tensor.
std::vector<int64_t> contiguousStrides(const std::vector<int64_t>& shape);

/// Strides to read an input of shape `in` broadcast to `out` (NumPy rules): 0 on broadcast dimensions,
/// aligned to out's rank from the right.
std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& in, const std::vector<int64_t>& out);

/// `t` in the compute type C (float, or double for fp64): a copy when it is stored narrower (fp16 and bf16
/// widen exactly).
template <typename C>
Tensor widened(const Tensor& t) {
  const DataType ct = std::is_same_v<C, double> ? DataType::kFloat64 : DataType::kFloat32;
  if (t.type() == ct) return t;
  Tensor out(ct, t.shape());
  dispatchFloat(t.type(), [&]<typename T>() {
    const T* in = t.data<T>();
    C* o = out.data<C>();
    for (int64_t i = 0; i < t.elementCount(); ++i) o[i] = static_cast<C>(toCompute(in[i]));
  });
  return out;
}

/// Calls fn(outIndex, offsets) for output elements [begin, end) of a tensor of shape `out`, where
/// offsets[k] is the element offset into input k read through `strides[k]`.
template <size_t N, typename F>
void forEachBroadcast(const std::vector<int64_t>& out, const std::array<std::vector<int64_t>, N>& strides,
                      int64_t begin, int64_t end, F&& fn) {
  const size_t rank = out.size();
  std::vector<int64_t> index(rank, 0);
  std::array<int64_t, N> offsets{};
  // Decompose `begin` into a multi-index.
  int64_t rest = begin;
  for (size_t d = rank; d-- > 0;) {
    index[d] = out[d] == 0 ? 0 : rest % out[d];
    rest = out[d] == 0 ? 0 : rest / out[d];
  }
  for (size_t k = 0; k < N; ++k) {
    for (size_t d = 0; d < rank; ++d) offsets[k] += index[d] * strides[k][d];
  }
  for (int64_t i = begin; i < end; ++i) {
    fn(i, offsets);
    // Advance the multi-index by one, updating offsets incrementally.
    for (size_t d = rank; d-- > 0;) {
      ++index[d];
      for (size_t k = 0; k < N; ++k) offsets[k] += strides[k][d];
      if (index[d] < out[d]) break;
      for (size_t k = 0; k < N; ++k) offsets[k] -= strides[k][d] * index[d];
      index[d] = 0;
    }
  }
}

/// Runs the reference kernel of the default-domain op `opType` with this node's attributes on `inputs`
/// (nullptr for an absent slot), writing `output` (allocated by the caller with its type and shape): how a
/// fused or quantized op reuses the kernel of the op it extends.
Status runReferenceOf(KernelContext& ctx, std::string_view opType, std::vector<const Tensor*> inputs,
                      Tensor& output);

/// Registration of each family's reference kernels (one file each here); all listed in kernel_list.cpp.
void registerElementwiseKernels(KernelRegistry& registry);
void registerTensorKernels(KernelRegistry& registry);
void registerLinearKernels(KernelRegistry& registry);
void registerPoolKernels(KernelRegistry& registry);
void registerNormalizationKernels(KernelRegistry& registry);
void registerReductionKernels(KernelRegistry& registry);
void registerConversionKernels(KernelRegistry& registry);
void registerResizeKernels(KernelRegistry& registry);
void registerElementwiseChainKernels(KernelRegistry& registry);
void registerFusedKernels(KernelRegistry& registry);
void registerAttentionKernels(KernelRegistry& registry);
void registerOnnxAttentionKernels(KernelRegistry& registry);
void registerRotaryEmbeddingKernels(KernelRegistry& registry);
void registerQuantizedKernels(KernelRegistry& registry);
void registerReformatKernels(KernelRegistry& registry);

}  // namespace lowp::kernels::ref
