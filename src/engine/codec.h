// Conversions between ir types and their FlatBuffer tables in engine files (engine_file.fbs): shapes,
// tensors, attributes, data types. Readers check what they read and return kInvalidEngine errors with a
// short message; callers add which value, node or layer it belongs to.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine_file_generated.h"
#include "ir/attribute.h"
#include "ir/data_type.h"
#include "ir/shape.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::engine {

using FbBuilder = flatbuffers::FlatBufferBuilder;

/// A kInvalidEngine error.
Status corrupt(const std::string& message);

/// The string, or "" when absent.
std::string readString(const flatbuffers::String* s);
std::vector<std::string> readStrings(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v);
/// The elements, read without assuming the vector is 8-byte aligned.
std::vector<int64_t> readLongs(const flatbuffers::Vector<int64_t>* v);
flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> writeStrings(
    FbBuilder& b, const std::vector<std::string>& strings);

/// A DataType from its number: error unless the DataType table has it (kUndefined only when allowed).
Result<DataType> readDataType(int32_t id, bool allowUndefined);

flatbuffers::Offset<fb::Shape> writeShape(FbBuilder& b, const ir::Shape& shape);
/// Error for an absent shape, a size below -1, or symbols that do not match the sizes.
Result<ir::Shape> readShape(const fb::Shape* shape);

/// The tensor's type must be one lowp stores (ir::isStorable); writeAttribute and the engine writer check.
flatbuffers::Offset<fb::TensorData> writeTensor(FbBuilder& b, const Tensor& tensor);
/// Error unless the type is storable, every size is >= 0 and the data holds exactly the bytes the type and
/// shape need.
Result<Tensor> readTensor(const fb::TensorData* tensor);

/// Error (kUnsupported) for a subgraph attribute or a tensor of a type lowp does not store.
Result<flatbuffers::Offset<fb::Attribute>> writeAttribute(FbBuilder& b, const std::string& name,
                                                          const ir::AttrValue& value);
Result<std::pair<std::string, ir::AttrValue>> readAttribute(const fb::Attribute& attribute);

}  // namespace lowp::engine
