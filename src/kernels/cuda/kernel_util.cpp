#include "kernels/cuda/kernel_util.h"

#include <mutex>

namespace lowp::kernels::cuda {

std::optional<Elem> elemOf(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return Elem::kF32;
    case DataType::kFloat16:
      return Elem::kF16;
    case DataType::kBFloat16:
      return Elem::kBF16;
    case DataType::kInt8:
      return Elem::kI8;
    case DataType::kUInt8:
      return Elem::kU8;
    default:
      return std::nullopt;
  }
}

Result<Elem> floatElemOf(const KernelContext& ctx, const Tensor& t, std::string_view what) {
  const std::optional<Elem> e = elemOf(t.type());
  if (!e || *e == Elem::kI8 || *e == Elem::kU8)
    return ctx.unsupported(std::string(what) + " " + t.describe() + " is not fp32, fp16 or bf16");
  return *e;
}

std::string_view keepName(std::string name) {
  static std::mutex mutex;
  static std::deque<std::string> names;  // a deque keeps earlier strings in place
  const std::lock_guard<std::mutex> lock(mutex);
  names.push_back(std::move(name));
  return names.back();
}

std::string_view shortTypeName(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return "f32";
    case DataType::kFloat16:
      return "f16";
    case DataType::kBFloat16:
      return "bf16";
    case DataType::kInt8:
      return "i8";
    case DataType::kUInt8:
      return "u8";
    default:
      return "x";
  }
}

Status requireSameAsInput(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& y = ctx.output(0);
  if (y.type() != x.type() || y.elementCount() != x.elementCount())
    return ctx.invalid("output " + y.describe() + " does not match the input " + x.describe());
  return {};
}

DataType tensorTypeOf(Precision precision) {
  switch (precision) {
    case Precision::kF16:
      return DataType::kFloat16;
    case Precision::kBf16:
      return DataType::kBFloat16;
    case Precision::kF32:
    case Precision::kTf32:
      return DataType::kFloat32;
  }
  return DataType::kFloat32;
}

}  // namespace lowp::kernels::cuda
