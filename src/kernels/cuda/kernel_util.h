// Pieces the CUDA kernel functions (.cpp files of this folder) share: the Elem of a DataType, names that
// live as long as the registry, the precisions of library tactics, the check that a kernel's output
// matches its input, and the operands every convolution kernel checks alike.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "ir/ops/fused.h"
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

/// The operands of a Conv (kFused false) or lowp.FusedConv kernel computing in `type`, checked: x, w and y
/// of `type`; the bias (input 2), when given, one value per output channel (w's first dimension) of `type`
/// or fp32; a FusedConv's residual (input 3), when given, of y's shape and type; its activation.
struct ConvOperands {
  const Tensor* x = nullptr;
  const Tensor* w = nullptr;
  Tensor* y = nullptr;
  const Tensor* bias = nullptr;
  const Tensor* residual = nullptr;
  ir::ops::ActivationSpec activation;
};
Result<ConvOperands> convOperands(KernelContext& ctx, DataType type, bool fused);

/// The epilogue (conv_epilogue.cu) that adds the bias and residual and applies the activation of `c`, in
/// tensors of `type`; `withBiasAndResidual` false leaves those to the convolution itself.
Epilogue epilogueOf(const ConvOperands& c, DataType type, bool withBiasAndResidual = true);

}  // namespace lowp::kernels::cuda
