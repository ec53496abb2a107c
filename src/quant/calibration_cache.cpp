#include "quant/calibration_cache.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unordered_set>

namespace lowp::quant {
namespace {

constexpr CalibrationAlgorithm kAlgorithms[] = {CalibrationAlgorithm::kEntropy, CalibrationAlgorithm::kMinMax,
                                                CalibrationAlgorithm::kPercentile,
                                                CalibrationAlgorithm::kMse};

bool isDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string trim(const std::string& s) {
  const size_t first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  const size_t last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "<what> '<value>' for tensor '<name>'" (kept out of the parse loop, where clang-tidy flags concatenation).
std::string entryError(const std::string& what, const std::string& value, const std::string& name) {
  return what + " '" + value + "' for tensor '" + name + "'";
}

}  // namespace

Result<std::string> formatCalibrationCache(const CalibrationCache& cache) {
  if (!isDigits(cache.version)) {
    return Status(StatusCode::kInvalidArgument,
                  "calibration cache version '" + cache.version + "' is not a string of digits");
  }
  std::string text =
      "TRT-" + cache.version + "-" + std::string(calibrationAlgorithmName(cache.algorithm)) + "\n";
  std::unordered_set<std::string> seen;
  for (const auto& [name, scale] : cache.scales) {
    if (name.empty() || name != trim(name) || name.find_first_of("\r\n") != std::string::npos) {
      return Status(StatusCode::kInvalidArgument,
                    "tensor name '" + name + "' cannot be written to a calibration cache", name);
    }
    if (!seen.insert(name).second) {
      return Status(StatusCode::kInvalidArgument,
                    "tensor '" + name + "' appears twice in the calibration cache", name);
    }
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(std::bit_cast<uint32_t>(scale)));
    text += name + ": " + hex + "\n";
  }
  return text;
}

Result<CalibrationCache> parseCalibrationCache(const std::string& text, const std::string& sourceName) {
  CalibrationCache cache;
  std::istringstream in(text);
  std::string line;
  int lineNumber = 0;
  bool haveHeader = false;
  std::unordered_set<std::string> seen;
  auto fail = [&](const std::string& message) {
    return Status(StatusCode::kInvalidArgument,
                  sourceName + ":" + std::to_string(lineNumber) + ": " + message);
  };
  while (std::getline(in, line)) {
    ++lineNumber;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!haveHeader) {
      // "TRT-<digits>-<algorithm>"
      const size_t dash = line.find('-', 4);
      if (line.rfind("TRT-", 0) != 0 || dash == std::string::npos || !isDigits(line.substr(4, dash - 4))) {
        return fail("bad calibration cache header '" + line + "' (expected TRT-<version>-<algorithm>)");
      }
      cache.version = line.substr(4, dash - 4);
      const std::string algorithm = line.substr(dash + 1);
      bool known = false;
      for (CalibrationAlgorithm a : kAlgorithms) {
        if (calibrationAlgorithmName(a) == algorithm) {
          cache.algorithm = a;
          known = true;
        }
      }
      if (!known) return fail("unknown calibration algorithm '" + algorithm + "' in the header");
      haveHeader = true;
      continue;
    }
    if (trim(line).empty()) continue;
    const size_t colon = line.rfind(':');
    if (colon == std::string::npos) return fail("expected '<tensor>: <hex>', got '" + line + "'");
    const std::string name = trim(line.substr(0, colon));
    const std::string hex = trim(line.substr(colon + 1));
    if (name.empty()) return fail("empty tensor name");
    if (hex.empty() || hex.size() > 8) return fail(entryError("bad hex", hex, name));
    uint32_t bits = 0;
    for (char c : hex) {
      const int d = hexDigit(c);
      if (d < 0) return fail(entryError("bad hex", hex, name));
      bits = (bits << 4) | static_cast<uint32_t>(d);
    }
    const float scale = std::bit_cast<float>(bits);
    if (!std::isfinite(scale) || std::signbit(scale)) {
      return fail(entryError("not a finite non-negative float32: scale", hex, name));
    }
    if (!seen.insert(name).second) return fail("duplicate tensor '" + name + "'");
    cache.scales.emplace_back(name, scale);
  }
  if (!haveHeader) return fail("empty calibration cache (no TRT-<version>-<algorithm> header)");
  return cache;
}

Status writeCalibrationCache(const CalibrationCache& cache, const std::string& path) {
  LOWP_ASSIGN_OR_RETURN(const std::string text, formatCalibrationCache(cache));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status(StatusCode::kIoError, "cannot write calibration cache '" + path + "'");
  return Status::ok();
}

Result<CalibrationCache> readCalibrationCache(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kIoError, "cannot open calibration cache '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status(StatusCode::kIoError, "cannot read calibration cache '" + path + "'");
  return parseCalibrationCache(text.str(), path);
}

}  // namespace lowp::quant
