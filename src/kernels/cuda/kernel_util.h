// Pieces the CUDA kernel functions (.cpp files of this folder) share: the Elem of a DataType, names that
// live as long as the registry, the precisions of library tactics, and the check that a kernel's output
// matches its input.
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

/// The arithmetic of a cuBLASLt or cuDNN tactic: fp32 (full fp32 products), tf32 (fp32 tensors, inputs
/// rounded to tf32 on the tensor cores; only where TF32 is allowed), fp16 or bf16 (accumulated in fp32).
enum class Precision { kF32, kTf32, kF16, kBf16 };

/// The type of the tensors a tactic of `precision` reads and writes.
DataType tensorTypeOf(Precision precision);

/// Checks that output 0 has input 0's type and element count.
Status requireSameAsInput(KernelContext& ctx);

}  // namespace lowp::kernels::cuda
