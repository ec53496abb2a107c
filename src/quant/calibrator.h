// Calibrators: the amax (and the INT8 scale amax / 127) of a tensor from its histogram of |x|.
//
// The four algorithms of docs/precision-semantics.md section 3. All arithmetic is in double and every sum
// runs in bin order, so calibration_reference.py (NumPy, sequential np.cumsum) reproduces the results bit for
// bit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lowp/calibration.h"
#include "lowp/status.h"
#include "quant/histogram.h"

namespace lowp::quant {

using lowp::CalibrationAlgorithm;
using lowp::CalibrationOptions;

/// Name in a calibration cache header: "EntropyCalibration2", "MinMaxCalibration", "PercentileCalibration",
/// "MSECalibration" (the last two are lowp's names; TensorRT has no such calibrators).
std::string_view calibrationAlgorithmName(CalibrationAlgorithm algorithm);

/// Entropy: number of quantized levels Q is built from (128: the non-negative half of int8).
inline constexpr int kEntropyLevels = 128;

/// MinMax: the histogram's amax.
float computeMinMaxAmax(const AbsHistogram& histogram);

/// Point masses: a bin b >= 1 holding more than kPointMassRatio times the lower median of the bins within
/// kPointMassWindow of it (bin 0 and b excluded) and at least 1 / kPointMassShareInverse of all values.
/// Many values equal to one number make them: a convolution's output over a blank background is one value
/// per channel. Quantized, such a mass lands on one level whatever the threshold, but KL's Q spreads each
/// level over its bins, so every wider level costs it dearly: left as they are, a few point masses hold the
/// entropy threshold just above the largest of them and clip every other value (measured on the digits
/// classifier: amax 0.53 instead of 4.7 on its first convolution, top-1 accuracy 26% instead of 99%).
inline constexpr int kPointMassWindow = 8;
inline constexpr uint64_t kPointMassRatio = 8;
inline constexpr uint64_t kPointMassShareInverse = 1000;

/// `counts` with every point mass replaced by that lower median (computed from `counts` as given).
std::vector<uint64_t> flattenPointMasses(const std::vector<uint64_t>& counts);

/// EntropyCalibration2. counts[0] (the exact zeros) first takes counts[1]'s value, as NVIDIA's
/// pytorch-quantization calibrator does, so that a spike of zeros does not decide the threshold; call the
/// result `kept`, and `flat` = flattenPointMasses(kept). Then for each candidate i = 128 .. bins (number of
/// bins kept):
///   P = flat[0 .. i-1] with the tail kept[i ..] added to P[i-1] (a clipped point mass counts whole);
///   Q = flat[0 .. i-1] merged into 128 levels (bin b into level b * 128 / i, so the levels differ by at
///       most one bin: a remainder lumped into the last level would favour i just above a multiple of 128),
///       each level's count spread evenly over the bins of that level where P is non-zero;
///   smooth both (see the .cpp), normalise both to sum 1, KL(P || Q) = sum P log(P / Q).
/// The first i with the smallest KL wins; amax = (i + 0.5) * bin width (the rule of TensorRT's description;
/// it may exceed the histogram's amax by half a bin when i = bins).
/// `divergences`, when given, receives KL for every candidate (index i - 128) for tests and reports.
float computeEntropyAmax(const AbsHistogram& histogram, std::vector<double>* divergences = nullptr);

/// Percentile: the upper edge of the first bin where the cumulative count reaches percentile / 100 of the
/// total. `percentile` must lie in (0, 100].
Result<float> computePercentileAmax(const AbsHistogram& histogram, double percentile);

/// MSE: candidates are the upper edges of bins 0 .. bins-1. For candidate c, scale = c / 127, each bin stands
/// for its centre v, quantized as min(round_half_even(v / scale), 127) * scale; the error is
/// sum counts * (v - dequant)^2 / total. The first candidate with the smallest error wins.
float computeMseAmax(const AbsHistogram& histogram);

/// Dispatches on options.algorithm; fails (naming `tensorName`) on a bad percentile.
Result<float> computeCalibrationAmax(const AbsHistogram& histogram, const CalibrationOptions& options,
                                     const std::string& tensorName);

/// Symmetric INT8 scale: amax / 127 (float32 division, as TensorRT).
inline float int8ScaleFromAmax(float amax) {
  return amax / 127.0f;
}

}  // namespace lowp::quant
