// Histograms of |x| for INT8 calibration, collected in two passes so that the result depends only on the
// data.
//
// Pass 1 (observeRange) finds amax = max |x| over every batch; pass 2 (observeValues) counts each |x| into
// one of kCalibrationBins equal bins over [0, amax]. Bin b holds b * w <= |x| < (b + 1) * w with w = amax /
// bins, and |x| == amax goes into the last bin. The bin index is floor(double(|x|) * bins / amax), computed
// in double, so one value always lands in the same bin whatever batch it came in; counts are integers, so
// sums are exact and the histogram is independent of batch order and batch size. (TensorRT grows its range
// when a larger value comes late, which makes its histogram depend on order; see docs/precision-semantics.md
// section 3.)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lowp/status.h"

namespace lowp::quant {

/// Number of bins of a calibration histogram (TensorRT's EntropyCalibration2 uses 2048).
inline constexpr int kCalibrationBins = 2048;

/// A fixed-range histogram of |x| for one tensor.
struct AbsHistogram {
  float amax = 0.0f;             ///< Largest |x| seen; the histogram covers [0, amax].
  std::vector<uint64_t> counts;  ///< kCalibrationBins counts; all values are in bin 0 when amax is 0.
  uint64_t total() const;        ///< Sum of the counts.
  /// Upper edge of bin `b` (0-based) in double: amax * (b + 1) / bins.
  double upperEdge(int b) const;
  /// Lower edge of bin `b` in double: amax * b / bins.
  double lowerEdge(int b) const;
  int bins() const { return static_cast<int>(counts.size()); }
};

/// Bin of |x| in a histogram of `bins` bins over [0, amax] (see the file comment); amax must be > 0 and
/// |x| <= amax.
int absHistogramBin(float absValue, float amax, int bins);

/// Collects the histogram of one tensor over the calibration batches, in two passes.
/// Usage: observeRange() for every batch, then startHistogram(), then observeValues() for every batch
/// (the same data, in any order or batching), then finish().
class AbsHistogramCollector {
 public:
  /// `tensorName` names the tensor in error messages.
  explicit AbsHistogramCollector(std::string tensorName);

  /// Pass 1: raises amax to the largest |x| in `values`. Fails on NaN or infinity, naming the tensor.
  Status observeRange(std::span<const float> values);
  /// Ends pass 1 and fixes the range of the histogram. Fails when no value was observed.
  Status startHistogram();
  /// Pass 2: counts `values` into the histogram. Fails when called before startHistogram(), or when a value
  /// lies outside [-amax, amax] (the data changed between the passes).
  Status observeValues(std::span<const float> values);
  /// The histogram; fails unless pass 2 has started and counted as many values as pass 1 saw.
  Result<AbsHistogram> finish() const;

  const std::string& tensorName() const { return tensorName_; }

 private:
  Status error(const std::string& message) const;

  std::string tensorName_;
  float amax_ = 0.0f;
  uint64_t rangeCount_ = 0;  // values seen in pass 1
  bool histogramStarted_ = false;
  AbsHistogram histogram_;
};

}  // namespace lowp::quant
