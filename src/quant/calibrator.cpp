#include "quant/calibrator.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace lowp::quant {
namespace {

// Zero bins get eps and the non-zero bins give it back in equal parts, so that KL is finite where one
// distribution is zero and the other is not (the smoothing of MXNet's and TVM's KL calibrators). Applied to
// raw counts: every non-zero count is >= 1 and loses at most eps * bins < 1, so it stays positive.
constexpr double kSmoothingEps = 0.0001;

// Returns false for an all-zero distribution (nothing to smooth; KL against it is infinite).
bool smoothAndNormalise(std::vector<double>& distribution) {
  size_t zeros = 0;
  for (double v : distribution) zeros += v == 0.0 ? 1 : 0;
  const size_t nonZeros = distribution.size() - zeros;
  if (nonZeros == 0) return false;
  const double give = kSmoothingEps * static_cast<double>(zeros) / static_cast<double>(nonZeros);
  double sum = 0.0;
  for (double& v : distribution) {
    v = v == 0.0 ? kSmoothingEps : v - give;
    sum += v;
  }
  for (double& v : distribution) v /= sum;
  return true;
}

}  // namespace

std::vector<uint64_t> flattenPointMasses(const std::vector<uint64_t>& counts) {
  const int bins = static_cast<int>(counts.size());
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  std::vector<uint64_t> flat = counts;
  std::vector<uint64_t> window;
  for (int b = 1; b < bins; ++b) {
    window.clear();
    for (int n = std::max(1, b - kPointMassWindow); n <= std::min(bins - 1, b + kPointMassWindow); ++n) {
      if (n != b) window.push_back(counts[n]);
    }
    if (window.empty()) continue;
    const auto middle = window.begin() + static_cast<std::ptrdiff_t>((window.size() - 1) / 2);
    std::nth_element(window.begin(), middle, window.end());
    const uint64_t baseline = *middle;
    if (counts[b] > kPointMassRatio * baseline && counts[b] * kPointMassShareInverse >= total)
      flat[b] = baseline;
  }
  return flat;
}

std::string_view calibrationAlgorithmName(CalibrationAlgorithm algorithm) {
  switch (algorithm) {
    case CalibrationAlgorithm::kEntropy:
      return "EntropyCalibration2";
    case CalibrationAlgorithm::kMinMax:
      return "MinMaxCalibration";
    case CalibrationAlgorithm::kPercentile:
      return "PercentileCalibration";
    case CalibrationAlgorithm::kMse:
      return "MSECalibration";
  }
  return "UnknownCalibration";
}

float computeMinMaxAmax(const AbsHistogram& histogram) {
  return histogram.amax;
}

float computeEntropyAmax(const AbsHistogram& histogram, std::vector<double>* divergences) {
  const int bins = histogram.bins();
  if (divergences != nullptr) divergences->clear();
  if (histogram.amax == 0.0f || bins < kEntropyLevels || histogram.total() == 0) return histogram.amax;
  // The first bin holds the exact zeros (ReLU outputs, padding, a blank background), often most of a
  // tensor: counted as they are, their spike pulls the threshold down until the other values clip. NVIDIA's
  // pytorch-quantization entropy calibrator (its TensorRT-compatible one) gives it its neighbour's count.
  std::vector<uint64_t> kept = histogram.counts;
  kept[0] = kept[1];
  // Inside the range, the point masses count as their neighbours do (see the header); the tail keeps them
  // whole, since clipping one moves all of its values.
  const std::vector<uint64_t> counts = flattenPointMasses(kept);
  // tail[i] = sum of kept[i ..]: the outliers folded into P[i-1].
  std::vector<uint64_t> tail(static_cast<size_t>(bins) + 1, 0);
  for (int b = bins - 1; b >= 0; --b) tail[b] = tail[b + 1] + kept[b];

  std::vector<double> p;
  std::vector<double> q;
  double bestDivergence = std::numeric_limits<double>::infinity();
  int bestBins = bins;
  for (int i = kEntropyLevels; i <= bins; ++i) {
    p.assign(counts.begin(), counts.begin() + i);
    p[i - 1] += static_cast<double>(tail[i]);
    q.assign(static_cast<size_t>(i), 0.0);
    // Bin b of the first i belongs to level b * 128 / i: the i bins split as evenly as integers allow.
    for (int start = 0; start < i;) {
      const int level = start * kEntropyLevels / i;
      int stop = start;
      uint64_t levelCount = 0;
      int nonZero = 0;
      for (; stop < i && stop * kEntropyLevels / i == level; ++stop) {
        levelCount += counts[stop];
        nonZero += p[stop] != 0.0 ? 1 : 0;
      }
      if (nonZero > 0) {
        const double share = static_cast<double>(levelCount) / static_cast<double>(nonZero);
        for (int b = start; b < stop; ++b) q[b] = p[b] != 0.0 ? share : 0.0;
      }
      start = stop;
    }
    // Q is all zero when every count of the first i bins is zero (all data in the tail): no candidate.
    double divergence = std::numeric_limits<double>::infinity();
    if (smoothAndNormalise(p) && smoothAndNormalise(q)) {
      divergence = 0.0;
      for (int b = 0; b < i; ++b) divergence += p[b] * std::log(p[b] / q[b]);
    }
    if (divergences != nullptr) divergences->push_back(divergence);
    if (divergence < bestDivergence) {
      bestDivergence = divergence;
      bestBins = i;
    }
  }
  const double width = static_cast<double>(histogram.amax) / static_cast<double>(bins);
  return static_cast<float>((static_cast<double>(bestBins) + 0.5) * width);
}

Result<float> computePercentileAmax(const AbsHistogram& histogram, double percentile) {
  if (!(percentile > 0.0 && percentile <= 100.0)) {
    return Status(StatusCode::kInvalidArgument,
                  "calibration percentile " + std::to_string(percentile) + " is outside (0, 100]");
  }
  if (histogram.amax == 0.0f) return 0.0f;
  const double target = percentile / 100.0 * static_cast<double>(histogram.total());
  uint64_t cumulative = 0;
  for (int b = 0; b < histogram.bins(); ++b) {
    cumulative += histogram.counts[b];
    if (static_cast<double>(cumulative) >= target) return static_cast<float>(histogram.upperEdge(b));
  }
  return histogram.amax;
}

float computeMseAmax(const AbsHistogram& histogram) {
  const int bins = histogram.bins();
  if (histogram.amax == 0.0f) return 0.0f;
  const double total = static_cast<double>(histogram.total());
  std::vector<double> centres(static_cast<size_t>(bins));
  for (int b = 0; b < bins; ++b) centres[b] = (histogram.lowerEdge(b) + histogram.upperEdge(b)) / 2.0;
  double bestError = std::numeric_limits<double>::infinity();
  double bestAmax = histogram.amax;
  for (int c = 0; c < bins; ++c) {
    const double candidate = histogram.upperEdge(c);
    const double scale = candidate / 127.0;
    double error = 0.0;
    for (int b = 0; b < bins; ++b) {
      if (histogram.counts[b] == 0) continue;
      // Values are >= 0, so only the upper clamp (127) can apply; nearbyint rounds half to even.
      const double q = std::min(std::nearbyint(centres[b] / scale), 127.0);
      const double diff = centres[b] - q * scale;
      error += static_cast<double>(histogram.counts[b]) * diff * diff;
    }
    error /= total;
    if (error < bestError) {
      bestError = error;
      bestAmax = candidate;
    }
  }
  return static_cast<float>(bestAmax);
}

Result<float> computeCalibrationAmax(const AbsHistogram& histogram, const CalibrationOptions& options,
                                     const std::string& tensorName) {
  switch (options.algorithm) {
    case CalibrationAlgorithm::kEntropy:
      return computeEntropyAmax(histogram);
    case CalibrationAlgorithm::kMinMax:
      return computeMinMaxAmax(histogram);
    case CalibrationAlgorithm::kPercentile: {
      Result<float> amax = computePercentileAmax(histogram, options.percentile);
      if (!amax) return amax.status().withContext("tensor '" + tensorName + "'").withNode(tensorName);
      return amax;
    }
    case CalibrationAlgorithm::kMse:
      return computeMseAmax(histogram);
  }
  return Status(StatusCode::kInvalidArgument, "unknown calibration algorithm", tensorName);
}

}  // namespace lowp::quant
