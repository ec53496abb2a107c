// Calibration cache in TensorRT's text format, read and written.
//
//   TRT-8601-EntropyCalibration2        header: "TRT-<version digits>-<algorithm name>"
//   input: 3c010a14                     one line per tensor: "<name>: <hex>", the IEEE-754 bits of the
//   /conv1/Conv_output_0: 3d8a2b1c      float32 scale (amax / 127) as printf("%08x") prints the bit pattern
//
// Tensor names may hold ':' (the last ':' separates the value). Reading accepts 1 to 8 hex digits (either
// case), '\r\n' line ends and blank lines; writing always gives 8 lower-case digits, so a cache read back
// from writeCalibrationCache() is bit-exact. Algorithms: the names of calibrationAlgorithmName().
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lowp/status.h"
#include "quant/calibrator.h"

namespace lowp::quant {

/// The contents of a calibration cache. Entries keep the order of the file.
struct CalibrationCache {
  std::string version = "8601";  ///< Digits of the header, e.g. TensorRT 8.6.1 writes "8601".
  CalibrationAlgorithm algorithm = CalibrationAlgorithm::kEntropy;
  std::vector<std::pair<std::string, float>> scales;  ///< (tensor name, INT8 scale).
};

/// The cache as text (header line, then one line per entry, each ending in '\n'). Fails on an empty or
/// non-digit version, a tensor name that is empty, holds a line break or has surrounding spaces, and a
/// duplicate name.
Result<std::string> formatCalibrationCache(const CalibrationCache& cache);

/// Parses cache text; `sourceName` (a file name) names the source in errors, with the line number:
/// "<source>:<line>: ...". Errors: bad header, unknown algorithm, a line without ':', bad hex, a duplicate
/// tensor, a scale that is negative, NaN or infinite.
Result<CalibrationCache> parseCalibrationCache(const std::string& text, const std::string& sourceName);

/// Writes formatCalibrationCache(cache) to `path`.
Status writeCalibrationCache(const CalibrationCache& cache, const std::string& path);
/// Reads and parses the cache file at `path`.
Result<CalibrationCache> readCalibrationCache(const std::string& path);

}  // namespace lowp::quant
