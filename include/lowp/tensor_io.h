// lowp public API: reading and writing tensors in the file formats users have (.npy, ONNX TensorProto .pb).
#pragma once

#include <string>

#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp {

/// Reads a NumPy .npy file (format versions 1-3, little-endian, C order; bool, integer and float dtypes).
Result<Tensor> readNpy(const std::string& path);
/// Writes a NumPy .npy file (format version 1.0, C order).
Status writeNpy(const std::string& path, const Tensor& tensor);

/// Reads a serialized ONNX TensorProto (the backend test data's input_<k>.pb / output_<k>.pb); `name`
/// receives the proto's name field.
Result<Tensor> readTensorProto(const std::string& path, std::string* name = nullptr);

/// Reads a tensor from `.npy` or `.pb`, chosen by the file's extension.
Result<Tensor> readTensorFile(const std::string& path);

}  // namespace lowp
