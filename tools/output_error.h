// How far outputs are from their reference, as `lowp compare` and `lowp precisions` report it: Polygraphy's
// elementwise rule and error statistics, top-1 agreement of classifier outputs, and the number formats.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowp/tensor.h"

namespace lowp::tools {

/// The real value of element `i`: an int8/uint8 tensor with a scale (> 0) is dequantized.
double realElement(const Tensor& t, int64_t i, float scale, int32_t zeroPoint);

/// fp32, fp16, bf16 or fp64.
bool isFloatType(DataType t);

/// How far one tensor is from its reference, accumulated over batches. An element fails (Polygraphy's
/// rule) only where |out - ref| exceeds both atol and rtol x |ref|; relative errors are against the
/// reference (infinite where it is 0 and the output is not).
class ErrorStats {
 public:
  /// Adds `out` (dequantized with `scale`, `zeroPoint` where it is int8) against `ref`, element by
  /// element; both have the same element count. `keepElements` keeps every error for the medians.
  void add(const Tensor& out, float scale, int32_t zeroPoint, const Tensor& ref, double atol, double rtol,
           bool keepElements);

  int64_t count() const { return count_; }
  int64_t failures() const { return failures_; }
  double maxAbs() const { return maxAbs_; }
  double maxRel() const { return maxRel_; }
  double meanAbs() const { return count_ ? sumAbs_ / static_cast<double>(count_) : 0; }
  double meanRel() const { return count_ ? sumRel_ / static_cast<double>(count_) : 0; }
  /// 0 unless the elements were kept.
  double medianAbs() const;
  double medianRel() const;
  /// ||out - ref|| / ||ref||.
  double relativeL2() const;
  /// out . ref / (||out|| ||ref||); 1 when both are zero.
  double cosine() const;

 private:
  int64_t count_ = 0;
  int64_t failures_ = 0;
  double maxAbs_ = 0;
  double maxRel_ = 0;
  double sumAbs_ = 0;
  double sumRel_ = 0;
  double sumSqDiff_ = 0;
  double sumSqRef_ = 0;
  double sumSqOut_ = 0;
  double dot_ = 0;
  std::vector<double> absErrors_;
  std::vector<double> relErrors_;
};

/// Rows [begin, begin + count) of `t` along its first axis, copied.
Tensor sliceRows(const Tensor& t, int64_t begin, int64_t count);

/// True for a float [rows, classes] tensor with more than one class: top-1 applies.
bool isClassifierOutput(const Tensor& t);
/// The index of the largest value of each row of a [rows, classes] tensor.
std::vector<int64_t> argmaxRows(const Tensor& t);

/// `v` with `digits` digits after the point; "12.50%" of part / whole; 3 significant digits ("inf").
std::string fixed(double v, int digits);
std::string percent(int64_t part, int64_t whole);
std::string sci(double v);

}  // namespace lowp::tools
