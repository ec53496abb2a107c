// lowp public API: host tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lowp/data_type.h"

namespace lowp {

/// A dense, row-major tensor in host memory: an element type, a shape and a byte buffer.
///
/// Copies share the buffer (like a shared_ptr); use clone() for a deep copy. A tensor either owns its
/// storage (Tensor(type, shape) allocates zeroed memory) or views memory owned by someone else
/// (Tensor::view), in which case the owner must outlive every view.
class Tensor {
 public:
  Tensor() = default;
  /// Allocates a zero-filled tensor.
  Tensor(DataType type, std::vector<int64_t> shape);
  /// A tensor over `data`, which is not owned and must outlive the tensor.
  static Tensor view(DataType type, std::vector<int64_t> shape, void* data);
  /// A tensor over `storage`, of at least byteSize() bytes, which it shares: freed by the storage's deleter
  /// when the last tensor and copy holding it goes (memory from another allocator, page-locked for example).
  static Tensor adopt(DataType type, std::vector<int64_t> shape, std::shared_ptr<void> storage);

  DataType type() const { return type_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  /// Number of elements (1 for a scalar of rank 0).
  int64_t elementCount() const;
  /// Size of the data in bytes.
  int64_t byteSize() const;
  bool empty() const { return data_ == nullptr && elementCount() != 0; }

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <typename T>
  T* data() {
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }
  std::span<std::byte> bytes() { return {static_cast<std::byte*>(data_), static_cast<size_t>(byteSize())}; }
  std::span<const std::byte> bytes() const {
    return {static_cast<const std::byte*>(data_), static_cast<size_t>(byteSize())};
  }

  /// A deep copy with its own storage.
  Tensor clone() const;
  /// The same data under another shape with the same element count.
  Tensor reshaped(std::vector<int64_t> shape) const;

  /// "fp32[1x3x224x224]".
  std::string describe() const;

 private:
  DataType type_ = DataType::kUndefined;
  std::vector<int64_t> shape_;
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
};

/// Element `index` (row-major) of a numeric or bool tensor as a double: floats of every width including
/// FP8 E4M3FN/E5M2, integers (int64/uint64 beyond 2^53 round), bool as 0 or 1. NaN for other types.
double elementAsDouble(const Tensor& tensor, int64_t index);

/// A tensor with the name of the graph input or output it belongs to.
struct NamedTensor {
  std::string name;
  Tensor tensor;
};

}  // namespace lowp
