// The one table that describes every element type: name, bits, storage, range, kind.
// Nothing in lowp infers a type from an element size; it asks this table.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "lowp/data_type.h"

namespace lowp::ir {

using lowp::DataType;

struct DataTypeInfo {
  DataType type;
  std::string_view name;      ///< Command-line spelling: "fp32", "int8", ...
  std::string_view onnxName;  ///< ONNX's spelling: "FLOAT", "INT8", ...
  int bits;                   ///< Bits of one element as defined (4 for INT4, 1 for BOOL's value).
  int storageBytes;           ///< Bytes one element takes in memory; 0 where lowp does not store the type.
  bool isFloat;
  bool isSigned;
  bool isInteger;
  double lowest;  ///< Most negative finite value.
  double max;     ///< Largest finite value.
};

/// The table entry for `type`; the kUndefined entry for a number that is not a known type.
const DataTypeInfo& dataTypeInfo(DataType type);

/// Looks up a type by its command-line name ("fp16", "int8", "fp32", ...) or ONNX name ("FLOAT16").
std::optional<DataType> dataTypeFromName(std::string_view name);

/// The DataType with ONNX id `onnxId`, if that id names a type.
std::optional<DataType> dataTypeFromOnnx(int32_t onnxId);

inline bool isFloat(DataType t) {
  return dataTypeInfo(t).isFloat;
}
inline bool isInteger(DataType t) {
  return dataTypeInfo(t).isInteger;
}
/// True for the types lowp can hold in memory and compute with (everything but string, complex, 4-bit).
inline bool isStorable(DataType t) {
  return dataTypeInfo(t).storageBytes > 0;
}

}  // namespace lowp::ir
