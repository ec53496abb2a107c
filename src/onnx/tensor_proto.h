// Conversion of ONNX TensorProto messages to lowp tensors.
#pragma once

#include <filesystem>
#include <string>

#include "lowp/status.h"
#include "lowp/tensor.h"

namespace onnx {
class TensorProto;
}

namespace lowp::onnx {

/// Converts a TensorProto. Data stored externally is read relative to `baseDir`; a location that escapes
/// `baseDir`, or an offset/length past the end of the file, is an error. `baseDir` empty forbids external
/// data.
Result<Tensor> tensorFromProto(const ::onnx::TensorProto& proto, const std::filesystem::path& baseDir);

/// Reads a whole file into a string; errors name the path.
Result<std::string> readFileBytes(const std::filesystem::path& path);

}  // namespace lowp::onnx
