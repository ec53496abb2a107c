// Pieces the CUDA kernel functions (.cpp files of this folder) share: the Elem of a DataType, names that
// live as long as the registry, and the check that a kernel's output matches its input.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "kernels/cuda/launch.h"
#include "kernels/kernel.h"

namespace lowp::kernels::cuda {

/// The Elem of fp32, fp16, bf16, int8 and uint8; nullopt for other types.
std::optional<Elem> elemOf(DataType type);

/// The float Elem of tensor `t`, or an error naming the node and the tensor.
Result<Elem> floatElemOf(const KernelContext& ctx, const Tensor& t, std::string_view what);

/// Keeps `name` for the life of the program (KernelDef names are string_views).
std::string_view keepName(std::string name);

/// "f32", "f16", "bf16", "i8", "u8": the dtype part of kernel names.
std::string_view shortTypeName(DataType type);

/// Checks that output 0 has input 0's type and element count.
Status requireSameAsInput(KernelContext& ctx);

}  // namespace lowp::kernels::cuda
