#include "onnx/tensor_proto.h"

#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "ir/data_type.h"
#include "ir/shape.h"
#include "onnx/onnx_pb.h"

namespace lowp::onnx {
namespace fs = std::filesystem;

Result<std::string> readFileBytes(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Status(StatusCode::kNotFound, path.string() + ": no such file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kIoError, path.string() + ": cannot open file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status(StatusCode::kIoError, path.string() + ": read error");
  return buffer.str();
}

namespace {

Status bad(const ::onnx::TensorProto& proto, const std::string& message) {
  return Status(StatusCode::kInvalidModel, "tensor '" + proto.name() + "': " + message);
}

// Reads the bytes of an externally stored tensor, refusing locations outside `baseDir`.
Result<std::string> readExternal(const ::onnx::TensorProto& proto, const fs::path& baseDir,
                                 int64_t expectedBytes) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& entry : proto.external_data()) {
    const std::string& key = entry.key();
    try {
      if (key == "location") {
        location = entry.value();
      } else if (key == "offset") {
        offset = std::stoll(entry.value());
      } else if (key == "length") {
        length = std::stoll(entry.value());
      }
    } catch (const std::exception&) {
      return bad(proto, "external data " + key + " '" + entry.value() + "' is not a number");
    }
  }
  if (location.empty()) return bad(proto, "external data without a location");
  if (baseDir.empty()) return bad(proto, "external data is not allowed here");
  fs::path rel(location);
  if (rel.is_absolute()) return bad(proto, "external data location '" + location + "' is an absolute path");
  std::error_code ec;
  fs::path base = fs::weakly_canonical(baseDir, ec);
  fs::path file = fs::weakly_canonical(base / rel, ec);
  auto [baseEnd, fileIt] = std::mismatch(base.begin(), base.end(), file.begin(), file.end());
  if (ec || baseEnd != base.end()) {
    return bad(proto, "external data location '" + location + "' escapes the model's folder");
  }
  if (offset < 0) return bad(proto, "external data offset is negative");
  uintmax_t fileSize = fs::file_size(file, ec);
  if (ec) return bad(proto, "external data file '" + file.string() + "' cannot be read");
  if (length < 0) length = expectedBytes;
  if (static_cast<uintmax_t>(offset) > fileSize || static_cast<uintmax_t>(length) > fileSize - offset) {
    return bad(proto, "external data offset " + std::to_string(offset) + " + length " +
                          std::to_string(length) + " is past the end of '" + file.string() + "' (" +
                          std::to_string(fileSize) + " bytes)");
  }
  if (length != expectedBytes) {
    return bad(proto, "external data length " + std::to_string(length) + " does not match the tensor's " +
                          std::to_string(expectedBytes) + " bytes");
  }
  std::ifstream in(file, std::ios::binary);
  std::string bytes(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (!in) return bad(proto, "reading external data from '" + file.string() + "' failed");
  return bytes;
}

// Copies typed repeated fields into the tensor; types narrower than 32 bits live in int32_data.
template <typename Field, typename Store>
Status copyField(const ::onnx::TensorProto& proto, const Field& field, int64_t count, Store store) {
  if (static_cast<int64_t>(field.size()) != count) {
    return bad(proto, "holds " + std::to_string(field.size()) + " values but its shape needs " +
                          std::to_string(count));
  }
  for (int64_t i = 0; i < count; ++i) store(i, field.Get(static_cast<int>(i)));
  return {};
}

}  // namespace

Result<Tensor> tensorFromProto(const ::onnx::TensorProto& proto, const fs::path& baseDir) {
  auto type = ir::dataTypeFromOnnx(proto.data_type());
  if (!type) return bad(proto, "unknown data type id " + std::to_string(proto.data_type()));
  const ir::DataTypeInfo& info = ir::dataTypeInfo(*type);
  if (!ir::isStorable(*type)) {
    return Status(StatusCode::kUnsupported, "tensor '" + proto.name() + "': data type " +
                                                std::string(info.onnxName) + " is not supported");
  }
  if (proto.has_segment()) return Status(StatusCode::kUnsupported, "tensor '" + proto.name() + "': segments");
  std::vector<int64_t> shape;
  int64_t count = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0) return bad(proto, "negative dimension " + std::to_string(d));
    if (d != 0 && count > std::numeric_limits<int64_t>::max() / 8 / d) return bad(proto, "too many elements");
    count *= d;
    shape.push_back(d);
  }
  const int64_t bytes = count * info.storageBytes;
  if (bytes > (int64_t{1} << 40))
    return bad(proto, "implausibly large (" + std::to_string(bytes) + " bytes)");

  std::string external;
  const std::string* raw = nullptr;
  if (proto.data_location() == ::onnx::TensorProto::EXTERNAL) {
    LOWP_ASSIGN_OR_RETURN(external, readExternal(proto, baseDir, bytes));
    raw = &external;
  } else if (proto.has_raw_data()) {
    raw = &proto.raw_data();
  }
  Tensor t(*type, shape);
  if (raw != nullptr) {
    if (static_cast<int64_t>(raw->size()) != bytes) {
      return bad(proto, "raw data has " + std::to_string(raw->size()) + " bytes, its shape " +
                            ir::formatSizes(shape) + " of " + std::string(info.name) + " needs " +
                            std::to_string(bytes));
    }
    if (bytes > 0) std::memcpy(t.data(), raw->data(), static_cast<size_t>(bytes));
    return t;
  }
  auto* out = static_cast<uint8_t*>(t.data());
  switch (*type) {
    case DataType::kFloat32:
      LOWP_RETURN_IF_ERROR(
          copyField(proto, proto.float_data(), count, [&](int64_t i, float v) { t.data<float>()[i] = v; }));
      break;
    case DataType::kFloat64:
      LOWP_RETURN_IF_ERROR(copyField(proto, proto.double_data(), count,
                                     [&](int64_t i, double v) { t.data<double>()[i] = v; }));
      break;
    case DataType::kInt64:
      LOWP_RETURN_IF_ERROR(copyField(proto, proto.int64_data(), count,
                                     [&](int64_t i, int64_t v) { t.data<int64_t>()[i] = v; }));
      break;
    case DataType::kUInt32:
    case DataType::kUInt64:
      LOWP_RETURN_IF_ERROR(copyField(proto, proto.uint64_data(), count, [&](int64_t i, uint64_t v) {
        if (*type == DataType::kUInt32) {
          t.data<uint32_t>()[i] = static_cast<uint32_t>(v);
        } else {
          t.data<uint64_t>()[i] = v;
        }
      }));
      break;
    default:
      // int32_data carries every type of 32 bits or fewer, in the low bits of each value.
      LOWP_RETURN_IF_ERROR(copyField(proto, proto.int32_data(), count, [&](int64_t i, int32_t v) {
        std::memcpy(out + i * info.storageBytes, &v, static_cast<size_t>(info.storageBytes));
      }));
      break;
  }
  return t;
}

}  // namespace lowp::onnx
