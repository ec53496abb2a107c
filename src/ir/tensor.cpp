#include <cmath>
#include <cstdlib>
#include <cstring>

#include "ir/data_type.h"
#include "ir/numeric.h"
#include "ir/shape.h"
#include "lowp/tensor.h"

namespace lowp {

namespace {
int64_t countElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}
}  // namespace

Tensor::Tensor(DataType type, std::vector<int64_t> shape) : type_(type), shape_(std::move(shape)) {
  // 64-byte alignment suits every SIMD width lowp uses; at least one byte so data() is never null.
  auto bytes = static_cast<size_t>(std::max<int64_t>(byteSize(), 1));
  size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  storage_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  data_ = p;
}

Tensor Tensor::view(DataType type, std::vector<int64_t> shape, void* data) {
  Tensor t;
  t.type_ = type;
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::adopt(DataType type, std::vector<int64_t> shape, std::shared_ptr<void> storage) {
  Tensor t = view(type, std::move(shape), storage.get());
  t.storage_ = std::move(storage);
  return t;
}

int64_t Tensor::elementCount() const {
  return countElements(shape_);
}

int64_t Tensor::byteSize() const {
  return elementCount() * ir::dataTypeInfo(type_).storageBytes;
}

Tensor Tensor::clone() const {
  Tensor t(type_, shape_);
  if (byteSize() > 0) std::memcpy(t.data_, data_, static_cast<size_t>(byteSize()));
  return t;
}

Tensor Tensor::reshaped(std::vector<int64_t> shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

std::string Tensor::describe() const {
  return std::string(ir::dataTypeInfo(type_).name) + "[" + ir::formatSizes(shape_) + "]";
}

double elementAsDouble(const Tensor& t, int64_t i) {
  const void* p = t.data();
  switch (t.type()) {
    case DataType::kFloat32:
      return static_cast<const float*>(p)[i];
    case DataType::kFloat64:
      return static_cast<const double*>(p)[i];
    case DataType::kFloat16:
      return ir::float16ToFloat(static_cast<const uint16_t*>(p)[i]);
    case DataType::kBFloat16:
      return ir::bfloat16ToFloat(static_cast<const uint16_t*>(p)[i]);
    case DataType::kFloat8E4M3FN:
      return ir::toFloat(ir::Float8E4M3{static_cast<const uint8_t*>(p)[i]});
    case DataType::kFloat8E5M2:
      return ir::toFloat(ir::Float8E5M2{static_cast<const uint8_t*>(p)[i]});
    case DataType::kInt8:
      return static_cast<const int8_t*>(p)[i];
    case DataType::kInt16:
      return static_cast<const int16_t*>(p)[i];
    case DataType::kInt32:
      return static_cast<const int32_t*>(p)[i];
    case DataType::kInt64:
      return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case DataType::kUInt8:
      return static_cast<const uint8_t*>(p)[i];
    case DataType::kUInt16:
      return static_cast<const uint16_t*>(p)[i];
    case DataType::kUInt32:
      return static_cast<const uint32_t*>(p)[i];
    case DataType::kUInt64:
      return static_cast<double>(static_cast<const uint64_t*>(p)[i]);
    case DataType::kBool:
      return static_cast<const uint8_t*>(p)[i] != 0 ? 1.0 : 0.0;
    default:
      return std::nan("");
  }
}

}  // namespace lowp
