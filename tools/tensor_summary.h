// Printing, generating and reading tensors on the command line.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "lowp/engine.h"
#include "lowp/tensor.h"

namespace lowp::tools {

/// "fp32[1x1000] min -3.2 max 4.1 mean 0.0123".
std::string summarize(const Tensor& t);

/// A tensor of random values for `desc` with the given sizes: floats uniform in [-1, 1], integers in
/// [0, 10), booleans fair coin flips.
Tensor randomTensor(DataType type, const std::vector<int64_t>& shape, std::mt19937_64& rng);

/// Parses "1x3x224x224" (an empty string or "scalar" is a scalar). Returns false on a malformed string.
bool parseSizes(const std::string& text, std::vector<int64_t>& sizes);
/// Parses --shapes values ("name:1x3x224x224[,name:...]", the option possibly repeated) into `shapes`.
/// Returns "" or the error message naming the malformed item.
std::string parseShapeList(const std::vector<std::string>& lists,
                           std::map<std::string, std::vector<int64_t>>& shapes);

/// Parses values of a trtexec-style file list option such as --loadInputs ("name:file[,name:file...]", the
/// option possibly repeated; a name holding ':' is written in single quotes, 'a:b':file) into `files`.
/// Returns "" or the error message naming `option` and the malformed item.
std::string parseNamedFiles(const std::string& option, const std::vector<std::string>& lists,
                            std::map<std::string, std::string>& files);

/// Reads the .npy / .pb file of every entry of `files` (name -> path) into `tensors`. Returns "" or the error
/// naming `option`, the entry and what is wrong with its file.
std::string readNamedTensors(const std::string& option, const std::map<std::string, std::string>& files,
                             std::map<std::string, Tensor>& tensors);

}  // namespace lowp::tools
