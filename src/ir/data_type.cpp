#include "ir/data_type.h"

#include <array>
#include <cctype>
#include <limits>
#include <string>

namespace lowp::ir {
namespace {

constexpr double kInt64Max = static_cast<double>(std::numeric_limits<int64_t>::max());
constexpr double kUInt64Max = static_cast<double>(std::numeric_limits<uint64_t>::max());

// Indexed by the ONNX type id (the enum value).
constexpr std::array<DataTypeInfo, 27> kTable = {{
    {DataType::kUndefined, "undefined", "UNDEFINED", 0, 0, false, false, false, 0, 0},
    {DataType::kFloat32, "fp32", "FLOAT", 32, 4, true, true, false, -3.4028234663852886e38,
     3.4028234663852886e38},
    {DataType::kUInt8, "uint8", "UINT8", 8, 1, false, false, true, 0, 255},
    {DataType::kInt8, "int8", "INT8", 8, 1, false, true, true, -128, 127},
    {DataType::kUInt16, "uint16", "UINT16", 16, 2, false, false, true, 0, 65535},
    {DataType::kInt16, "int16", "INT16", 16, 2, false, true, true, -32768, 32767},
    {DataType::kInt32, "int32", "INT32", 32, 4, false, true, true, -2147483648.0, 2147483647.0},
    {DataType::kInt64, "int64", "INT64", 64, 8, false, true, true, -kInt64Max - 1, kInt64Max},
    {DataType::kString, "string", "STRING", 0, 0, false, false, false, 0, 0},
    {DataType::kBool, "bool", "BOOL", 1, 1, false, false, false, 0, 1},
    {DataType::kFloat16, "fp16", "FLOAT16", 16, 2, true, true, false, -65504.0, 65504.0},
    {DataType::kFloat64, "fp64", "DOUBLE", 64, 8, true, true, false, -std::numeric_limits<double>::max(),
     std::numeric_limits<double>::max()},
    {DataType::kUInt32, "uint32", "UINT32", 32, 4, false, false, true, 0, 4294967295.0},
    {DataType::kUInt64, "uint64", "UINT64", 64, 8, false, false, true, 0, kUInt64Max},
    {DataType::kComplex64, "complex64", "COMPLEX64", 64, 0, false, true, false, 0, 0},
    {DataType::kComplex128, "complex128", "COMPLEX128", 128, 0, false, true, false, 0, 0},
    {DataType::kBFloat16, "bf16", "BFLOAT16", 16, 2, true, true, false, -3.3895313892515355e38,
     3.3895313892515355e38},
    {DataType::kFloat8E4M3FN, "fp8e4m3", "FLOAT8E4M3FN", 8, 1, true, true, false, -448.0, 448.0},
    {DataType::kFloat8E4M3FNUZ, "fp8e4m3fnuz", "FLOAT8E4M3FNUZ", 8, 1, true, true, false, -240.0, 240.0},
    {DataType::kFloat8E5M2, "fp8e5m2", "FLOAT8E5M2", 8, 1, true, true, false, -57344.0, 57344.0},
    {DataType::kFloat8E5M2FNUZ, "fp8e5m2fnuz", "FLOAT8E5M2FNUZ", 8, 1, true, true, false, -57344.0, 57344.0},
    {DataType::kUInt4, "uint4", "UINT4", 4, 0, false, false, true, 0, 15},
    {DataType::kInt4, "int4", "INT4", 4, 0, false, true, true, -8, 7},
    {DataType::kFloat4E2M1, "fp4e2m1", "FLOAT4E2M1", 4, 0, true, true, false, -6.0, 6.0},
    {DataType::kFloat8E8M0, "fp8e8m0", "FLOAT8E8M0", 8, 0, true, false, false, 5.877471754111438e-39,
     1.7014118346046923e38},
    {DataType::kUInt2, "uint2", "UINT2", 2, 0, false, false, true, 0, 3},
    {DataType::kInt2, "int2", "INT2", 2, 0, false, true, true, -2, 1},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const DataTypeInfo& dataTypeInfo(DataType type) {
  auto id = static_cast<size_t>(type);
  return id < kTable.size() ? kTable[id] : kTable[0];
}

std::optional<DataType> dataTypeFromName(std::string_view name) {
  std::string key = lower(name);
  if (key == "float" || key == "float32") return DataType::kFloat32;
  if (key == "half" || key == "float16") return DataType::kFloat16;
  if (key == "bfloat16") return DataType::kBFloat16;
  if (key == "fp8") return DataType::kFloat8E4M3FN;
  for (const DataTypeInfo& info : kTable) {
    if (info.type == DataType::kUndefined) continue;
    if (key == info.name || key == lower(info.onnxName)) return info.type;
  }
  return std::nullopt;
}

std::optional<DataType> dataTypeFromOnnx(int32_t onnxId) {
  if (onnxId <= 0 || static_cast<size_t>(onnxId) >= kTable.size()) return std::nullopt;
  return kTable[static_cast<size_t>(onnxId)].type;
}

}  // namespace lowp::ir

namespace lowp {
std::string_view dataTypeName(DataType type) {
  return ir::dataTypeInfo(type).name;
}
DataType dataTypeFromName(std::string_view name) {
  return ir::dataTypeFromName(name).value_or(DataType::kUndefined);
}
int64_t dataTypeSize(DataType type) {
  return ir::dataTypeInfo(type).storageBytes;
}
}  // namespace lowp
