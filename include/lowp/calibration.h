// lowp public API: INT8 calibration inputs — where calibration batches come from, how images are prepared,
// and which algorithm turns the observed values into scales.
//
//   lowp::CalibrationInput input{"input", lowp::DataType::kFloat32, {8, 3, 224, 224}};
//   lowp::ImagePreprocessing prep;  // defaults: resize 256, centre crop 224, ImageNet mean/std, RGB, NCHW
//   auto source = lowp::openCalibrationFolder("calib/", {input}, &prep);
//   config.setCalibration(*source, {lowp::CalibrationAlgorithm::kEntropy});
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lowp/data_type.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp {

/// Calibration algorithms (shared/docs/precision-semantics.md section 3). Values are stable.
enum class CalibrationAlgorithm : int {
  kEntropy = 0,     ///< KL divergence, TensorRT's EntropyCalibration2 (recommended for CNNs).
  kMinMax = 1,      ///< amax = max |x| (recommended for transformers).
  kPercentile = 2,  ///< amax at a percentile of |x|.
  kMse = 3,         ///< amax minimising the mean squared quantization error.
};

/// How calibration turns observed values into amax.
struct CalibrationOptions {
  CalibrationAlgorithm algorithm = CalibrationAlgorithm::kEntropy;
  double percentile = 99.99;  ///< kPercentile only; in (0, 100].
};

/// A source of calibration batches: values for every network input, batch after batch. Calibration reads
/// every batch twice (amax first, then histograms over a fixed range), so batch(i) must give the same
/// tensors each time it is asked.
class CalibrationSource {
 public:
  virtual ~CalibrationSource() = default;
  virtual int64_t batchCount() const = 0;
  /// Batch i (0 <= i < batchCount()): one tensor per network input, by name.
  virtual Result<std::vector<NamedTensor>> batch(int64_t i) = 0;
};

/// One network input as calibration needs it: its name, type and the shape of one batch.
struct CalibrationInput {
  std::string name;
  DataType type = DataType::kFloat32;
  std::vector<int64_t> shape;
};

/// How images become input tensors: decode (8-bit PNG, JPEG, BMP), resize the shorter side to `resize`
/// (0: keep), centre-crop to crop x crop (0: no crop), scale pixel values to [0, 1] (divide by 255),
/// subtract `mean` and divide by `std` per channel (in `channelOrder`), lay out as `layout`.
struct ImagePreprocessing {
  int resize = 256;
  int crop = 224;
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
  bool bgr = false;        ///< Channel order BGR instead of RGB.
  bool grayscale = false;  ///< One channel (mean[0], std[0] apply).
  bool nhwc = false;       ///< NHWC instead of NCHW.
};

/// Parses a preprocessing spec such as "resize=256,crop=224,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,
/// order=rgb,layout=nchw" (keys in any order, each optional; order=gray for one channel). kInvalidArgument
/// naming the key on a bad spec.
Result<ImagePreprocessing> parseImagePreprocessing(const std::string& spec);

/// Calibration batches from a folder:
///  - tensor files (.npy, .pb), one network input: every file, in name order, is one batch of that input;
///  - tensor files, several inputs: one subfolder per batch (name order), holding <input name>.npy or .pb;
///  - images (.png, .jpg, .jpeg, .bmp), one image input: decoded with `preprocessing` (required then) and
///    grouped, in name order, into batches of the input's batch size (a short last batch is dropped).
/// Files are taken in byte order of their names; names starting with '.' are skipped. Every batch is checked
/// against `inputs`: names, types, and shapes (the first, batch, dimension of a tensor file may differ from
/// the input's, and a negative dimension of an input matches any size); a mismatch is an error naming the
/// file. Images follow torchvision's ToTensor -> Resize (bilinear, half-pixel centres, no antialias) ->
/// CenterCrop -> Normalize; grayscale from colour is 0.2989 R + 0.587 G + 0.114 B.
Result<std::unique_ptr<CalibrationSource>> openCalibrationFolder(const std::string& folder,
                                                                 const std::vector<CalibrationInput>& inputs,
                                                                 const ImagePreprocessing* preprocessing);

/// What exportQdqOnnx did.
struct QdqExportReport {
  int64_t opsetBefore = 0;                  ///< The model's default-domain opset.
  int64_t opsetAfter = 0;                   ///< The written model's (raised to 13 or 10, or kept).
  bool perChannelWeights = false;           ///< One weight scale per output channel (else per tensor).
  std::string opsetNote;                    ///< Why the opset was kept, naming the node; empty otherwise.
  std::vector<std::string> quantizedNodes;  ///< Conv / ConvTranspose / Gemm / MatMul given Q/DQ.
  std::vector<std::string> skippedNodes;    ///< "<node>: <reason>" for candidate ops left in fp32.
  std::vector<std::string> floatOutputs;    ///< "<node>: <reason>" for quantized layers with an fp32 output.
  std::vector<std::string> foldedBatchNorms;     ///< BatchNormalization nodes folded into their Conv.
  std::vector<std::string> removedActivations;   ///< Relu / Clip nodes the uint8 quantization made redundant.
  std::vector<std::string> otherQuantizedNodes;  ///< Adds, pooling and reshapes placed between Q/DQ.
  std::vector<std::string> unusedScales;         ///< Scales of tensors the export does not quantize.
};

/// Writes the ONNX model `inputPath` with INT8 `scales` (tensor name -> scale, as calibration gives them)
/// as QuantizeLinear / DequantizeLinear nodes: the QDQ format other runtimes (ONNX Runtime, TensorRT) build
/// INT8 engines from, laid out so that ONNX Runtime fuses every layer into an integer kernel. Conv,
/// ConvTranspose, Gemm and MatMul get Q/DQ on their inputs and outputs, weights quantized per output channel
/// (per tensor when the model's opset is below 13 and cannot be raised without changing a node's meaning; the
/// report names that node) and int32 biases; BatchNormalization folds into the Conv before it; residual Adds
/// and pooling sit between Q/DQ. The calibrated amax is carried as it is; the representation follows ONNX
/// Runtime's: non-negative tensors as uint8 (amax / 255; a Relu before them is then redundant and removed),
/// others as int8 (amax / 127). src/onnx/qdq_export.h states every rule. Errors name the file, tensor or
/// node.
Status exportQdqOnnx(const std::string& inputPath, const std::map<std::string, float>& scales,
                     const std::string& outputPath, QdqExportReport* report = nullptr);

}  // namespace lowp
