#include "calibration_flags.h"

#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace lowp::tools {

void CalibrationFlags::addTo(CLI::App& cmd) {
  cmd.add_option(
      "--calib", cacheFile,
      "INT8 calibration cache (TensorRT's format): read if it exists, else written after calibrating");
  cmd.add_option("--calibData", dataFolder,
                 "folder of calibration batches: .npy/.pb tensors (one file per batch, or one subfolder per "
                 "batch for several inputs) or images");
  cmd.add_option("--calibAlgo", algorithm, "entropy (default) | minmax | percentile | mse");
  cmd.add_option("--calibPercentile", percentile, "percentile for --calibAlgo=percentile (default 99.99)");
  cmd.add_option("--calibPreprocess", preprocess,
                 "image preprocessing, e.g. resize=256,crop=224,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,"
                 "order=rgb,layout=nchw");
  cmd.add_option("--dynamicRanges", dynamicRanges,
                 "INT8 ranges by tensor, one per line: '<tensor>: <amax>' or '<tensor>: <min> <max>'")
      ->check(CLI::ExistingFile);
  cmd.add_option(
      "--int8WeightScales", weightScales,
      "per-channel (default) | per-tensor: INT8 weight scales, one per output channel or one in all");
}

namespace {

// A dynamic-range file: one tensor per line, "<name>: <amax>" (range [-amax, amax]) or "<name>: <min> <max>";
// blank lines and lines starting with '#' are skipped. The last ':' ends the name.
Status readDynamicRanges(const std::string& path, NetworkDefinition& network) {
  std::ifstream in(path);
  if (!in) return Status(StatusCode::kNotFound, "--dynamicRanges: cannot read " + path);
  int lineNumber = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineNumber;
    const std::string where = path + ":" + std::to_string(lineNumber) + ": ";
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[line.find_first_not_of(" \t")] == '#')
      continue;
    const auto colon = line.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return Status(StatusCode::kInvalidArgument,
                    where + "expected '<tensor>: <amax>' or '<tensor>: <min> <max>'");
    std::istringstream values(line.substr(colon + 1));
    float a = 0;
    float b = 0;
    if (!(values >> a)) return Status(StatusCode::kInvalidArgument, where + "no range after the ':'");
    const bool pair = static_cast<bool>(values >> b);
    std::string rest;
    if (values >> rest) {
      std::string message = where;
      message += "unexpected '";
      message += rest;
      message += "'";
      return Status(StatusCode::kInvalidArgument, message);
    }
    Status s = pair ? network.setDynamicRange(line.substr(0, colon), a, b)
                    : network.setDynamicRange(line.substr(0, colon), -a, a);
    if (!s) return Status(s.code(), where + s.message());
  }
  return {};
}

}  // namespace

Status CalibrationFlags::apply(NetworkDefinition& network,
                               const std::map<std::string, std::vector<int64_t>>& shapes,
                               BuilderConfig& config, std::unique_ptr<CalibrationSource>& source) const {
  const std::map<std::string, CalibrationAlgorithm> algorithms = {
      {"entropy", CalibrationAlgorithm::kEntropy},
      {"minmax", CalibrationAlgorithm::kMinMax},
      {"percentile", CalibrationAlgorithm::kPercentile},
      {"mse", CalibrationAlgorithm::kMse}};
  auto algo = algorithms.find(algorithm);
  if (algo == algorithms.end())
    return Status(StatusCode::kInvalidArgument,
                  "--calibAlgo: '" + algorithm + "' is not entropy, minmax, percentile or mse");
  if (!(percentile > 0.0 && percentile <= 100.0))
    return Status(StatusCode::kInvalidArgument,
                  "--calibPercentile: " + std::to_string(percentile) + " is not in (0, 100]");
  if (weightScales != "per-channel" && weightScales != "per-tensor")
    return Status(StatusCode::kInvalidArgument,
                  "--int8WeightScales: '" + weightScales + "' is not per-channel or per-tensor");
  config.setPerChannelWeightScales(weightScales == "per-channel");
  if (!dynamicRanges.empty()) LOWP_RETURN_IF_ERROR(readDynamicRanges(dynamicRanges, network));
  config.setCalibrationCacheFile(cacheFile);
  if (dataFolder.empty()) {
    if (!preprocess.empty())
      return Status(StatusCode::kInvalidArgument, "--calibPreprocess needs --calibData");
    return {};
  }
  std::vector<CalibrationInput> inputs;
  for (const TensorDesc& in : network.inputs()) {
    CalibrationInput c{in.name, in.type, {}};
    auto given = shapes.find(in.name);
    if (given != shapes.end()) {
      c.shape = given->second;
    } else {
      for (int64_t d : in.shape) c.shape.push_back(d < 0 ? 1 : d);
    }
    inputs.push_back(std::move(c));
  }
  ImagePreprocessing prep;
  const bool images = !preprocess.empty();
  if (images) {
    auto parsed = parseImagePreprocessing(preprocess);
    if (!parsed) return parsed.status().withContext("--calibPreprocess");
    prep = *parsed;
  }
  auto opened = openCalibrationFolder(dataFolder, inputs, images ? &prep : nullptr);
  if (!opened) return opened.status().withContext("--calibData");
  source = std::move(opened).value();
  config.setCalibration(source.get(), {algo->second, percentile});
  return {};
}

}  // namespace lowp::tools
