#include <cstdlib>
#include <cstring>

#include "ir/data_type.h"
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

}  // namespace lowp
