#include "engine/codec.h"

#include <cstring>

#include "ir/format.h"

namespace lowp::engine {

Status corrupt(const std::string& message) {
  return Status(StatusCode::kInvalidEngine, message);
}

std::string readString(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : s->str();
}

std::vector<std::string> readStrings(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
  std::vector<std::string> out;
  if (v == nullptr) return out;
  out.reserve(v->size());
  for (const flatbuffers::String* s : *v) out.push_back(readString(s));
  return out;
}

std::vector<int64_t> readLongs(const flatbuffers::Vector<int64_t>* v) {
  if (v == nullptr) return {};
  // Copied bytewise: the Verifier only checks 4-byte alignment of vectors, and a damaged offset may leave
  // 8-byte elements misaligned.
  std::vector<int64_t> out(v->size());
  if (!out.empty()) std::memcpy(out.data(), v->Data(), out.size() * sizeof(int64_t));
  for (int64_t& x : out) x = flatbuffers::EndianScalar(x);
  return out;
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> writeStrings(
    FbBuilder& b, const std::vector<std::string>& strings) {
  std::vector<flatbuffers::Offset<flatbuffers::String>> offsets;
  offsets.reserve(strings.size());
  for (const std::string& s : strings) offsets.push_back(b.CreateString(s.data(), s.size()));
  return b.CreateVector(offsets);
}

Result<DataType> readDataType(int32_t id, bool allowUndefined) {
  auto type = static_cast<DataType>(id);
  if (ir::dataTypeInfo(type).type != type || (type == DataType::kUndefined && !allowUndefined)) {
    return corrupt("data type " + std::to_string(id) + " is not in the DataType table");
  }
  return type;
}

flatbuffers::Offset<fb::Shape> writeShape(FbBuilder& b, const ir::Shape& shape) {
  std::vector<int64_t> sizes;
  std::vector<std::string> symbols;
  bool anySymbol = false;
  for (const ir::Dim& d : shape.dims()) {
    sizes.push_back(d.size);
    symbols.push_back(d.symbol);
    anySymbol = anySymbol || !d.symbol.empty();
  }
  if (!anySymbol) symbols.clear();
  auto sizesOffset = b.CreateVector(sizes);
  auto symbolsOffset = writeStrings(b, symbols);
  return fb::CreateShape(b, shape.rankKnown(), sizesOffset, symbolsOffset);
}

Result<ir::Shape> readShape(const fb::Shape* shape) {
  if (shape == nullptr) return corrupt("the shape is missing");
  std::vector<int64_t> sizes = readLongs(shape->sizes());
  std::vector<std::string> symbols = readStrings(shape->symbols());
  if (!symbols.empty() && symbols.size() != sizes.size()) {
    return corrupt("the shape has " + std::to_string(sizes.size()) + " sizes but " +
                   std::to_string(symbols.size()) + " symbols");
  }
  if (!shape->rank_known()) {
    if (!sizes.empty()) return corrupt("a shape of unknown rank lists sizes");
    return ir::Shape::unknownRank();
  }
  std::vector<ir::Dim> dims;
  dims.reserve(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < -1) return corrupt("the shape has size " + std::to_string(sizes[i]));
    ir::Dim d(sizes[i]);
    if (!symbols.empty()) d.symbol = symbols[i];
    dims.push_back(std::move(d));
  }
  return ir::Shape(std::move(dims));
}

flatbuffers::Offset<fb::TensorData> writeTensor(FbBuilder& b, const Tensor& tensor) {
  auto data =
      b.CreateVector(static_cast<const uint8_t*>(tensor.data()), static_cast<size_t>(tensor.byteSize()));
  auto shape = b.CreateVector(tensor.shape());
  return fb::CreateTensorData(b, static_cast<int32_t>(tensor.type()), shape, data);
}

Result<Tensor> readTensor(const fb::TensorData* tensor) {
  if (tensor == nullptr) return corrupt("the tensor is missing");
  LOWP_ASSIGN_OR_RETURN(DataType type, readDataType(tensor->type(), false));
  if (!ir::isStorable(type)) {
    return corrupt("a tensor of type " + std::string(ir::dataTypeInfo(type).name) +
                   ", which lowp does not store");
  }
  std::vector<int64_t> shape = readLongs(tensor->shape());
  const int64_t bytes = ir::storageBytes(type, shape, ir::TensorFormat::kLinear);
  const size_t stored = tensor->data() == nullptr ? 0 : tensor->data()->size();
  if (bytes < 0 || static_cast<uint64_t>(bytes) != stored) {
    return corrupt("a tensor " + std::string(ir::dataTypeInfo(type).name) + "[" + ir::formatSizes(shape) +
                   "] holds " + std::to_string(stored) + " bytes of data" +
                   (bytes < 0 ? std::string(", its shape is invalid")
                              : ", its type and shape need " + std::to_string(bytes)));
  }
  Tensor t(type, std::move(shape));
  if (stored > 0) std::memcpy(t.data(), tensor->data()->data(), stored);
  return t;
}

Result<flatbuffers::Offset<fb::Attribute>> writeAttribute(FbBuilder& b, const std::string& name,
                                                          const ir::AttrValue& value) {
  const ir::AttrType kind = ir::attrTypeOf(value);
  if (kind == ir::AttrType::kGraph) {
    return Status(StatusCode::kUnsupported,
                  "attribute '" + name + "' is a subgraph, which engine files cannot hold");
  }
  const auto* tensor = std::get_if<Tensor>(&value);
  if (tensor != nullptr && !ir::isStorable(tensor->type())) {
    return Status(StatusCode::kUnsupported, "attribute '" + name + "' is a tensor of type " +
                                                std::string(ir::dataTypeInfo(tensor->type()).name) +
                                                ", which engine files cannot hold");
  }
  // Children first: a FlatBuffer table is written after everything it points to.
  auto nameOffset = b.CreateString(name.data(), name.size());
  flatbuffers::Offset<flatbuffers::String> s;
  flatbuffers::Offset<flatbuffers::Vector<int64_t>> ints;
  flatbuffers::Offset<flatbuffers::Vector<float>> floats;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> strings;
  flatbuffers::Offset<fb::TensorData> tensorOffset;
  if (const auto* v = std::get_if<std::string>(&value)) s = b.CreateString(v->data(), v->size());
  if (const auto* v = std::get_if<std::vector<int64_t>>(&value)) ints = b.CreateVector(*v);
  if (const auto* v = std::get_if<std::vector<float>>(&value)) floats = b.CreateVector(*v);
  if (const auto* v = std::get_if<std::vector<std::string>>(&value)) strings = writeStrings(b, *v);
  if (tensor != nullptr) tensorOffset = writeTensor(b, *tensor);
  const auto* i = std::get_if<int64_t>(&value);
  const auto* f = std::get_if<float>(&value);
  return fb::CreateAttribute(b, nameOffset, static_cast<uint8_t>(kind), i ? *i : 0, f ? *f : 0.0f, s, ints,
                             floats, strings, tensorOffset);
}

Result<std::pair<std::string, ir::AttrValue>> readAttribute(const fb::Attribute& a) {
  std::string name = readString(a.name());
  switch (static_cast<ir::AttrType>(a.kind())) {
    case ir::AttrType::kInt:
      return std::make_pair(name, ir::AttrValue(a.i()));
    case ir::AttrType::kFloat:
      return std::make_pair(name, ir::AttrValue(a.f()));
    case ir::AttrType::kString:
      return std::make_pair(name, ir::AttrValue(readString(a.s())));
    case ir::AttrType::kInts:
      return std::make_pair(name, ir::AttrValue(readLongs(a.ints())));
    case ir::AttrType::kFloats: {
      std::vector<float> floats;
      if (a.floats() != nullptr) floats.assign(a.floats()->begin(), a.floats()->end());
      return std::make_pair(name, ir::AttrValue(std::move(floats)));
    }
    case ir::AttrType::kStrings:
      return std::make_pair(name, ir::AttrValue(readStrings(a.strings())));
    case ir::AttrType::kTensor: {
      auto t = readTensor(a.tensor());
      if (!t) return t.status().withContext("attribute '" + name + "'");
      return std::make_pair(name, ir::AttrValue(std::move(t).value()));
    }
    case ir::AttrType::kGraph:
      break;
  }
  return corrupt("attribute '" + name + "' has kind " + std::to_string(a.kind()) +
                 ", not one an engine file holds");
}

}  // namespace lowp::engine
