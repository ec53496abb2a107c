// The INT8 calibration options `lowp build` and `lowp calibrate` share (trtexec's --calib plus lowp's own).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "lowp/builder.h"
#include "lowp/calibration.h"

namespace lowp::tools {

struct CalibrationFlags {
  std::string cacheFile;   ///< --calib
  std::string dataFolder;  ///< --calibData
  std::string algorithm = "entropy";
  double percentile = 99.99;
  std::string preprocess;                    ///< --calibPreprocess (images)
  std::string weightScales = "per-channel";  ///< --int8WeightScales
  std::string dynamicRanges;                 ///< --dynamicRanges FILE

  /// Adds the options to `cmd`.
  void addTo(CLI::App& cmd);

  /// Applies them to `network` (dynamic ranges) and `config`: the cache file, the algorithm, and (when
  /// --calibData is given) a source
  /// reading the folder for `network`'s inputs at the `shapes` given (else the model's, dynamic dims at 1),
  /// kept alive in `source`. Errors name the option.
  Status apply(NetworkDefinition& network, const std::map<std::string, std::vector<int64_t>>& shapes,
               BuilderConfig& config, std::unique_ptr<CalibrationSource>& source) const;
};

}  // namespace lowp::tools
