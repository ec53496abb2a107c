// Tensor files users bring: NumPy .npy and serialized ONNX TensorProto (.pb).
#include "lowp/tensor_io.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "ir/data_type.h"
#include "ir/shape.h"
#include "onnx/onnx_pb.h"
#include "onnx/tensor_proto.h"

namespace lowp {
namespace {

// NumPy dtype descriptors (little-endian or byte-order-free) for each type lowp stores.
const std::map<std::string, DataType>& npyTypes() {
  static const std::map<std::string, DataType> types = {
      {"<f4", DataType::kFloat32}, {"<f8", DataType::kFloat64}, {"<f2", DataType::kFloat16},
      {"|i1", DataType::kInt8},    {"<i2", DataType::kInt16},   {"<i4", DataType::kInt32},
      {"<i8", DataType::kInt64},   {"|u1", DataType::kUInt8},   {"<u2", DataType::kUInt16},
      {"<u4", DataType::kUInt32},  {"<u8", DataType::kUInt64},  {"|b1", DataType::kBool},
  };
  return types;
}

Status npyError(const std::string& path, const std::string& message) {
  return Status(StatusCode::kInvalidArgument, path + ": " + message);
}

}  // namespace

Result<Tensor> readNpy(const std::string& path) {
  LOWP_ASSIGN_OR_RETURN(std::string bytes, onnx::readFileBytes(path));
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) return npyError(path, "not a .npy file");
  auto major = static_cast<uint8_t>(bytes[6]);
  size_t headerLen = 0;
  size_t headerStart = 0;
  if (major == 1) {
    headerLen = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return npyError(path, "truncated header");
    for (int i = 0; i < 4; ++i)
      headerLen |= static_cast<size_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
    headerStart = 12;
  } else {
    return npyError(path, "unsupported .npy format version " + std::to_string(major));
  }
  if (headerStart + headerLen > bytes.size()) return npyError(path, "truncated header");
  std::string header = bytes.substr(headerStart, headerLen);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'")))
    return npyError(path, "no dtype in header");
  std::string descr = m[1];
  if (descr == "<b1" || descr == "b1") descr = "|b1";
  if (descr == "<i1" || descr == "i1") descr = "|i1";
  if (descr == "<u1" || descr == "u1") descr = "|u1";
  auto type = npyTypes().find(descr);
  if (type == npyTypes().end()) return npyError(path, "unsupported dtype '" + descr + "'");
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True"))) {
    return npyError(path, "Fortran-order arrays are not supported (save with np.ascontiguousarray)");
  }
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    return npyError(path, "no shape in header");
  std::vector<int64_t> shape;
  std::string dims = m[1];
  std::regex number("[0-9]+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it) {
    shape.push_back(std::stoll(it->str()));
  }
  Tensor t(type->second, shape);
  size_t dataStart = headerStart + headerLen;
  if (bytes.size() - dataStart != static_cast<size_t>(t.byteSize())) {
    return npyError(path, "holds " + std::to_string(bytes.size() - dataStart) + " data bytes, its shape " +
                              ir::formatSizes(shape) + " needs " + std::to_string(t.byteSize()));
  }
  if (t.byteSize() > 0) std::memcpy(t.data(), bytes.data() + dataStart, static_cast<size_t>(t.byteSize()));
  return t;
}

Status writeNpy(const std::string& path, const Tensor& tensor) {
  std::string descr;
  for (const auto& [d, type] : npyTypes()) {
    if (type == tensor.type()) descr = d;
  }
  if (descr.empty()) {
    return Status(StatusCode::kUnsupported,
                  path + ": type " + std::string(dataTypeName(tensor.type())) + " has no .npy dtype");
  }
  std::string shape;  // Python tuple syntax: "()", "(3,)", "(2, 3)"
  for (size_t i = 0; i < tensor.shape().size(); ++i)
    shape += (i ? ", " : "") + std::to_string(tensor.shape()[i]);
  if (tensor.rank() == 1) shape += ",";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status(StatusCode::kIoError, path + ": cannot create file");
  out.write("\x93NUMPY\x01\x00", 8);
  char len[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  out.write(len, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(tensor.data()), tensor.byteSize());
  if (!out) return Status(StatusCode::kIoError, path + ": write failed");
  return {};
}

Result<Tensor> readTensorProto(const std::string& path, std::string* name) {
  LOWP_ASSIGN_OR_RETURN(std::string bytes, onnx::readFileBytes(path));
  ::onnx::TensorProto proto;
  if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status(StatusCode::kInvalidArgument, path + ": not a serialized ONNX TensorProto");
  }
  if (name != nullptr) *name = proto.name();
  auto t = onnx::tensorFromProto(proto, std::filesystem::path(path).parent_path());
  if (!t) return t.status().withContext(path);
  return t;
}

Result<Tensor> readTensorFile(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".npy") return readNpy(path);
  if (ext == ".pb") return readTensorProto(path);
  return Status(StatusCode::kInvalidArgument, path + ": unknown tensor file type (expected .npy or .pb)");
}

}  // namespace lowp
