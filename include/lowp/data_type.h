// lowp public API: element types.
#pragma once

#include <cstdint>
#include <string_view>

namespace lowp {

/// Element type of a tensor. The numbers are ONNX's TensorProto.DataType values, so a model's type id maps
/// to a DataType directly. Values are stable; new ones are only added at the end.
enum class DataType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
  kFloat8E4M3FN = 17,  ///< FP8 with 4 exponent and 3 mantissa bits, no infinities (OCP E4M3).
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,  ///< FP8 with 5 exponent and 2 mantissa bits (OCP E5M2).
  kFloat8E5M2FNUZ = 20,
  kUInt4 = 21,
  kInt4 = 22,
  kFloat4E2M1 = 23,
  kFloat8E8M0 = 24,  ///< Exponent-only scale format (OCP MX).
  kUInt2 = 25,
  kInt2 = 26,
};

/// Lower-case name of a type as users write it on the command line: "fp32", "fp16", "int8", ...
std::string_view dataTypeName(DataType type);

/// The type named `name` as dataTypeName() spells it ("fp16", "bf16", ...); kUndefined when none is.
DataType dataTypeFromName(std::string_view name);

/// Bytes one element occupies in memory (sub-byte types round up to 1); 0 for kUndefined and kString.
int64_t dataTypeSize(DataType type);

}  // namespace lowp
