// Writes calibrated INT8 scales into an ONNX model as QuantizeLinear / DequantizeLinear nodes (the QDQ format
// ONNX Runtime and TensorRT build INT8 engines from).
//
// For each Conv, ConvTranspose, Gemm and MatMul of the default domain whose activation inputs all have a
// scale:
//  - every activation input x gets x -> QuantizeLinear(scale, 0) -> DequantizeLinear(scale, 0), int8;
//  - a constant fp32 weight becomes an int8 initializer quantized symmetrically per output channel
//    (scale = max |w| over the channel / 127, q = clamp(round_half_even(w / scale), -128, 127), zero point 0)
//    with a DequantizeLinear in front. The channel axis: 0 for Conv, Gemm with transB=1 and a constant A of
//    Gemm with transA=0; 1 for ConvTranspose (its weight is [C_in, C_out / group, ...]), Gemm with transB=0
//    and a constant A with transA=1; the last axis for MatMul's B, the one before for a constant A;
//  - the output gets QuantizeLinear -> DequantizeLinear when it has a scale, so the pattern
//    DQ -> op -> Q fuses into one INT8 kernel (ONNX Runtime's QLinearConv, QGemm, QLinearMatMul).
// Biases stay fp32. Every other node is untouched.
//
// A Q/DQ pair quantizes a tensor for all its readers: the producer writes "<t>_unquantized", the
// DequantizeLinear writes t again, so later nodes and graph outputs keep their names. A graph input t is read
// by QuantizeLinear and its node readers read "<t>_dequantized" (subgraphs keep reading t).
//
// Per-axis DequantizeLinear needs opset 13. A model of an older default-domain opset is raised to 13 (and its
// IR version to at least 7) when no node in it changes meaning or signature on the way (Softmax before 13,
// Unsqueeze with an axes attribute, Pad before 11, ...); otherwise it keeps its opset and weights get one
// scale per tensor (max |w| / 127). Below opset 10 there is no QuantizeLinear: such a model is raised to 13,
// else to 10, else it is an error naming the node in the way.
//
// Scales follow shared/docs/precision-semantics.md section 3 (symmetric, zero point 0). Scales of tensors the
// model does not use are reported, not an error.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lowp/status.h"

namespace lowp::onnx {

/// What exportQdqModel did.
struct QdqExportReport {
  int64_t opsetBefore = 0;         ///< The model's default-domain opset.
  int64_t opsetAfter = 0;          ///< The written model's (raised to 13 or 10, or kept).
  bool perChannelWeights = false;  ///< True: one weight scale per output channel; false: one per tensor.
  std::string opsetNote;           ///< Why the opset was kept, naming the node; empty otherwise.
  std::vector<std::string> quantizedNodes;  ///< Names (or "<op>_<index>") of the nodes given Q/DQ.
  std::vector<std::string> skippedNodes;    ///< "<node>: <reason>" for candidate ops left in fp32.
  std::vector<std::string> unusedScales;    ///< Scales of tensors no quantized node reads or writes.
};

/// Reads the ONNX model `inputPath`, adds Q/DQ for `scales` (tensor name -> INT8 scale, finite and > 0) as
/// stated at the top of this file, and writes the result to `outputPath`. Errors name the file, tensor or
/// node: kNotFound / kIoError / kInvalidModel for the files, kInvalidArgument for a bad scale, kUnsupported
/// for a model that cannot hold Q/DQ (opset below 10 that cannot be raised, external data that would not
/// resolve from the output's folder).
Status exportQdqModel(const std::string& inputPath, const std::map<std::string, float>& scales,
                      const std::string& outputPath, QdqExportReport* report = nullptr);

}  // namespace lowp::onnx
