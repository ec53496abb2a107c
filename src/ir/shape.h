// Tensor shapes whose dimensions may be static (a number), symbolic (a name such as "batch") or unknown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lowp/status.h"

namespace lowp::ir {

/// One dimension: a known size, or unknown (size -1) with an optional symbol naming it.
struct Dim {
  int64_t size = -1;
  std::string symbol;

  Dim() = default;
  Dim(int64_t n) : size(n) {}  // NOLINT(google-explicit-constructor)
  static Dim symbolic(std::string name) {
    Dim d;
    d.symbol = std::move(name);
    return d;
  }
  bool isKnown() const { return size >= 0; }
  bool operator==(const Dim& o) const { return size == o.size && (size >= 0 || symbol == o.symbol); }
};

/// A shape; `rankKnown == false` means nothing is known, not even the rank.
class Shape {
 public:
  Shape() = default;
  Shape(std::vector<Dim> dims) : dims_(std::move(dims)), rankKnown_(true) {}  // NOLINT
  static Shape unknownRank() {
    Shape s;
    s.rankKnown_ = false;
    return s;
  }
  static Shape fromSizes(const std::vector<int64_t>& sizes);

  bool rankKnown() const { return rankKnown_; }
  int64_t rank() const { return static_cast<int64_t>(dims_.size()); }
  const std::vector<Dim>& dims() const { return dims_; }
  std::vector<Dim>& dims() { return dims_; }
  const Dim& operator[](int64_t i) const { return dims_[static_cast<size_t>(i)]; }
  Dim& operator[](int64_t i) { return dims_[static_cast<size_t>(i)]; }

  /// True when the rank and every dimension are known.
  bool isStatic() const;
  /// The sizes; only meaningful when isStatic().
  std::vector<int64_t> sizes() const;
  /// Product of the sizes, or nullopt when not static.
  std::optional<int64_t> elementCount() const;

  bool operator==(const Shape& o) const { return rankKnown_ == o.rankKnown_ && dims_ == o.dims_; }
  /// "[1x3x224x224]", "[batchx3x?x?]", "[?]" for unknown rank.
  std::string toString() const;

 private:
  std::vector<Dim> dims_;
  bool rankKnown_ = true;
};

/// Multidirectional (NumPy) broadcast of two shapes. Errors when known sizes conflict.
Result<Shape> broadcastShapes(const Shape& a, const Shape& b);

/// "1x3x224x224".
std::string formatSizes(const std::vector<int64_t>& sizes);

/// Normalises an axis in [-rank, rank) to [0, rank); error naming `what` when out of range.
Result<int64_t> normalizeAxis(int64_t axis, int64_t rank, const char* what = "axis");

}  // namespace lowp::ir
