// The build options `lowp build` and `lowp exec` share, spelled as trtexec spells them: precision flags,
// per-layer constraints, network IO formats, optimization level, memory pool, timing cache and INT8
// calibration; and the printers both commands use for a build (progress bar, layer report).
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "calibration_flags.h"
#include "lowp/builder.h"
#include "lowp/engine.h"

namespace lowp::tools {

struct BuildFlags {
  bool fp16 = false;
  bool bf16 = false;
  bool int8 = false;
  bool fp8 = false;
  bool noTF32 = false;
  bool exactActivations = false;
  bool best = false;
  bool stronglyTyped = false;
  std::string precisionConstraints = "none";
  std::vector<std::string> layerPrecisions;
  std::vector<std::string> layerOutputTypes;
  std::vector<std::string> inputIOFormats;
  std::vector<std::string> outputIOFormats;
  std::string timingCacheFile;
  int optimizationLevel = 3;
  std::string memPoolSize;
  /// cpu, cuda, cuda:N, or N (trtexec's spelling of GPU N).
  std::string device = "cpu";
  CalibrationFlags calibration;

  /// Adds the options to `cmd`.
  void addTo(CLI::App& cmd);

  /// Applies the options to `network` (strong typing, per-layer constraints, IO types, dynamic ranges) and
  /// `config` (flags, build `shapes`, optimization level, workspace, timing cache, calibration; a calibration
  /// source is kept alive in `calibrationSource`). Returns "" or an error message naming the option.
  std::string apply(NetworkDefinition& network, const std::map<std::string, std::vector<int64_t>>& shapes,
                    BuilderConfig& config, std::unique_ptr<CalibrationSource>& calibrationSource) const;

  /// True when any option that only matters while building (a flag, a constraint, a format, calibration) is
  /// set: such options cannot change an engine that is loaded from a file.
  bool anyBuildOptionSet() const;
};

/// Parses a --device value: "cpu", "cuda" (GPU 0), "cuda:N", or "N" (GPU N, as trtexec spells it).
/// Returns "" or an error message naming the option.
std::string parseDevice(const std::string& text, Device& device, int& cudaOrdinal);

/// Draws "[=======>     ] 41/120 layers timed, 3.2 s" on standard error, redrawn in place.
class ProgressBar final : public ProgressMonitor {
 public:
  void layerTimed(int done, int total) override;

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// Builds `network` under `flags` for `shapes` with `threads` worker threads (0: one per core), drawing a
/// progress bar on standard error when it is a terminal and `progress` is set; `values` are inputs' data to
/// build on (BuilderConfig::setInputValues). Errors name the option or the layer at fault.
Result<std::shared_ptr<Engine>> buildEngine(NetworkDefinition& network, const BuildFlags& flags,
                                            const std::map<std::string, std::vector<int64_t>>& shapes,
                                            int threads, Logger& logger, bool progress = true,
                                            const std::map<std::string, Tensor>& values = {});

/// Prints one line per layer of `engine` to `os`: name, op, requested and chosen precision, input and
/// output types, tactic, build-time measurement and the reason; then the total measured time.
void printLayerInfo(const Engine& engine, std::ostream& os = std::cout);

}  // namespace lowp::tools
