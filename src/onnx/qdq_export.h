// Writes calibrated INT8 scales into an ONNX model as QuantizeLinear / DequantizeLinear nodes (the QDQ format
// ONNX Runtime and TensorRT build INT8 engines from), laid out so that ONNX Runtime's CPU QDQ fusions turn
// every quantized layer into an integer kernel (QLinearConv, QGemm, QLinearMatMul, MatMulIntegerToFloat), the
// residual Adds into QLinearAdd and the pooling into integer pooling.
//
// The scales are those of a calibration of the model as lowp runs it after constant and BatchNorm folding
// (lowp calibrate): one per tensor, scale = amax / 127 (shared/docs/precision-semantics.md section 3).
//
// The rewrite, in order:
//  1. BatchNormalization folds into the Conv before it (the Conv output has no other reader and is no graph
//     output; its weights and any bias are fp32 initializers, the BN parameters initializers):
//     W'[m] = W[m] * s[m], b'[m] = (b[m] - mean[m]) * s[m] + B[m], s = scale / sqrt(var + epsilon), computed
//     in double. The Conv takes over the BN output's name, so the calibrated scale of that tensor (the folded
//     conv's output) applies to it. Exact in real arithmetic; ONNX Runtime cannot fold a BN into weights that
//     come out of a DequantizeLinear.
//  2. Layers: each Conv, ConvTranspose, Gemm and MatMul of the default domain whose activation inputs all
//     have a scale (the others are reported in skippedNodes):
//     - every activation input x is read through x -> QuantizeLinear -> DequantizeLinear;
//     - a constant fp32 weight becomes an int8 initializer quantized symmetrically per output channel
//       (scale = max |w| over the channel / 127, q = clamp(round_half_even(w / scale), -128, 127), zero
//       point 0) with a DequantizeLinear in front. The channel axis: 0 for Conv, Gemm with transB=1 and a
//       constant A of Gemm with transA=0; 1 for ConvTranspose (its weight is [C_in, C_out / group, ...]),
//       Gemm with transB=0 and a constant A with transA=1; the last axis for MatMul's B, the one before for
//       a constant A;
//     - the fp32 bias of a Conv, or the 1-d C of a Gemm with beta 1, becomes int32 on the accumulator's grid
//       (scale x_scale * w_scale[m], value round_half_even(b / scale), zero point 0) with a DequantizeLinear
//       in front, as ONNX Runtime's QLinearConv / QGemm need it; a bias beyond int32 stays fp32;
//     - the output gets QuantizeLinear -> DequantizeLinear, so DQ -> layer -> Q fuses into one kernel. Where
//       the output's only reader is a Relu, or a Clip(0, max) whose max the quantized range does not exceed
//       (max >= 254.5 * scale), that activation is removed and the layer's output is quantized with the
//       activation output's scale, as uint8 with zero point 0: the quantization clamps at 0 (and at max)
//       itself, so the stored values are exactly those of the activation's output, which keeps its name.
//       The layer's own scale is then unused. A Gemm or MatMul output that is a graph output stays fp32
//       (ONNX Runtime's QGemm and MatMulIntegerToFloat write fp32); any other output without a scale stays
//       fp32 and is reported in floatOutputs.
//  3. Other ops between quantized tensors, where the result is read (directly, or through the ops below) by
//     a quantized layer: an Add of two activations with scales (a residual connection; its output
//     quantized as a layer's, Relu / Clip removed the same way) and GlobalAveragePool / AveragePool (output
//     with its own scale) get Q/DQ on their inputs and output; MaxPool (no window wholly in the padding, no
//     ceil_mode), Reshape, Flatten, Transpose, Squeeze and Unsqueeze of a quantized input get Q/DQ on their
//     output with the input's parameters, which is exact (they move or select values). They are listed in
//     otherQuantizedNodes.
//
// Representation. The calibration is the same for every tensor (its amax); the integer type it is stored in
// depends on the sign of the tensor:
//  - a non-negative tensor (the output of a Relu or of a Clip with min >= 0, an activation removed as above,
//    a pooling or reshape of a non-negative tensor, the sum of two) is uint8 with zero point 0 and scale
//    amax / 255: twice the resolution of int8 over the same range, and ONNX Runtime's preferred layout;
//  - any other tensor is int8 with zero point 0 and scale amax / 127, except one whose DequantizeLinear has
//    more than one reader: that one is uint8 with zero point 128 and scale amax / 127, the same values on the
//    same grid (q_uint8 = q_int8 + 128). ONNX Runtime's CPU kernels take uint8 activations only; it converts
//    an int8 Q/DQ pair whose DequantizeLinear has one reader, not one shared by several.
//  Weights stay int8 symmetric per output channel.
//
// A Q/DQ pair quantizes a tensor for all its readers: the producer writes "<t>_unquantized", the
// DequantizeLinear writes t again, so later nodes and graph outputs keep their names. A graph input t is read
// by QuantizeLinear and its node readers read "<t>_dequantized" (subgraphs keep reading t). Every other node
// is untouched.
//
// Per-axis DequantizeLinear needs opset 13. A model of an older default-domain opset is raised to 13 (and its
// IR version to at least 7) when no node in it changes meaning or signature on the way (Softmax before 13,
// Unsqueeze with an axes attribute, Pad before 11, ...); otherwise it keeps its opset and weights get one
// scale per tensor (max |w| / 127). Below opset 10 there is no QuantizeLinear: such a model is raised to 13,
// else to 10, else it is an error naming the node in the way.
//
// Scales of tensors the export does not quantize are reported, not an error.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lowp/calibration.h"
#include "lowp/status.h"

namespace lowp::onnx {

/// What exportQdqModel did. Nodes are named by their name, or "<op>_<index>" when they have none.
using QdqExportReport = lowp::QdqExportReport;  // what exportQdqModel did (lowp/calibration.h)

/// Reads the ONNX model `inputPath`, adds Q/DQ for `scales` (tensor name -> INT8 scale amax / 127, finite and
/// > 0) as stated at the top of this file, and writes the result to `outputPath`. Errors name the file,
/// tensor or node: kNotFound / kIoError / kInvalidModel for the files, kInvalidArgument for a bad scale,
/// kUnsupported for a model that cannot hold Q/DQ (opset below 10 that cannot be raised, external data that
/// would not resolve from the output's folder).
Status exportQdqModel(const std::string& inputPath, const std::map<std::string, float>& scales,
                      const std::string& outputPath, QdqExportReport* report = nullptr);

}  // namespace lowp::onnx
