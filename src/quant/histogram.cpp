#include "quant/histogram.h"

#include <algorithm>
#include <cmath>

namespace lowp::quant {

uint64_t AbsHistogram::total() const {
  uint64_t sum = 0;
  for (uint64_t c : counts) sum += c;
  return sum;
}

double AbsHistogram::upperEdge(int b) const {
  return static_cast<double>(amax) * static_cast<double>(b + 1) / static_cast<double>(bins());
}

double AbsHistogram::lowerEdge(int b) const {
  return static_cast<double>(amax) * static_cast<double>(b) / static_cast<double>(bins());
}

int absHistogramBin(float absValue, float amax, int bins) {
  // double(|x|) * bins is exact (bins is a small integer, |x| has 24 significant bits); one rounding at the
  // division, so the NumPy reference computes the same index.
  const double position =
      static_cast<double>(absValue) * static_cast<double>(bins) / static_cast<double>(amax);
  const auto bin = static_cast<int>(std::floor(position));
  return std::min(bin, bins - 1);
}

AbsHistogramCollector::AbsHistogramCollector(std::string tensorName) : tensorName_(std::move(tensorName)) {}

Status AbsHistogramCollector::error(const std::string& message) const {
  return Status(StatusCode::kInvalidArgument, "calibration of tensor '" + tensorName_ + "': " + message,
                tensorName_);
}

Status AbsHistogramCollector::observeRange(std::span<const float> values) {
  if (histogramStarted_) return error("observeRange() after startHistogram()");
  float amax = amax_;
  for (size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (!std::isfinite(v)) {
      return error("value " + std::to_string(rangeCount_ + i) + " is not finite (" + std::to_string(v) + ")");
    }
    amax = std::max(amax, std::fabs(v));
  }
  amax_ = amax;
  rangeCount_ += values.size();
  return Status::ok();
}

Status AbsHistogramCollector::startHistogram() {
  if (histogramStarted_) return error("startHistogram() called twice");
  if (rangeCount_ == 0) return error("no calibration values were observed");
  histogramStarted_ = true;
  histogram_.amax = amax_;
  histogram_.counts.assign(kCalibrationBins, 0);
  return Status::ok();
}

Status AbsHistogramCollector::observeValues(std::span<const float> values) {
  if (!histogramStarted_) return error("observeValues() before startHistogram()");
  std::vector<uint64_t>& counts = histogram_.counts;
  if (amax_ == 0.0f) {
    // Every value seen in pass 1 was zero; anything else means the data changed.
    for (float v : values) {
      if (v != 0.0f) return error("value " + std::to_string(v) + " was not seen in the range pass (amax 0)");
    }
    counts[0] += values.size();
    return Status::ok();
  }
  for (float v : values) {
    const float a = std::fabs(v);
    if (!(a <= amax_)) {  // also catches NaN
      return error("value " + std::to_string(v) + " lies outside the range pass's amax " +
                   std::to_string(amax_));
    }
    ++counts[static_cast<size_t>(absHistogramBin(a, amax_, kCalibrationBins))];
  }
  return Status::ok();
}

Result<AbsHistogram> AbsHistogramCollector::finish() const {
  if (!histogramStarted_) return error("finish() before startHistogram()");
  const uint64_t total = histogram_.total();
  if (total != rangeCount_) {
    return error("the histogram pass counted " + std::to_string(total) + " values, the range pass " +
                 std::to_string(rangeCount_));
  }
  return histogram_;
}

}  // namespace lowp::quant
