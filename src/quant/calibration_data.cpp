// Calibration batches from a folder (include/lowp/calibration.h): tensor files (.npy, .pb) or images (PNG,
// JPEG, BMP, decoded by stb_image), read lazily one batch at a time, in the byte order of the file names.
// Names that start with '.' (editor and OS droppings such as .DS_Store) are skipped.
//
// Images follow torchvision's classification preprocessing on float tensors (agreement within 1e-6 checked on
// upscales and downscales), ToTensor (x / 255) -> Resize(resize, antialias=False) -> CenterCrop(crop) ->
// Normalize(mean, std):
//  - Resize: the shorter side becomes `resize`, the longer int(resize * long / short) (truncated, as
//    torchvision computes it). Bilinear with half-pixel centres (torch.nn.functional.interpolate,
//    align_corners=False): src = (dst + 0.5) * in / out - 0.5, clamped below at 0, neighbours clamped at the
//    edge; rows blended after columns. Values stay float: no rounding to 8 bits in between, unlike Resize
//    applied to a uint8 tensor or to a PIL image (which also antialiases).
//  - CenterCrop: top = round_half_even((H - crop) / 2), left likewise (torchvision's int(round(...))). Only
//    the cropped window of the resized image is computed.
//  - Channels: RGB / BGR from a colour file (alpha dropped, a grey file replicated); grayscale from a colour
//    file is torchvision's 0.2989 R + 0.587 G + 0.114 B on the [0, 1] values.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "lowp/calibration.h"
#include "lowp/tensor_io.h"
#include "onnx/tensor_proto.h"

// The decoder is compiled here, with static linkage: no symbol clashes with an stb an application links.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#include <stb/stb_image.h>

namespace lowp {
namespace fs = std::filesystem;
namespace {

// ---- preprocessing spec -----------------------------------------------------------------------------------

Status specError(const std::string& entry, const std::string& message) {
  return Status(StatusCode::kInvalidArgument, "image preprocessing '" + entry + "': " + message);
}

std::string toLower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const size_t first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  const size_t last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

std::vector<std::string> split(const std::string& s, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(separator, start);
    parts.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

bool parseWhole(const std::string& text, int& value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end;
}

bool parseWhole(const std::string& text, float& value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && std::isfinite(value);
}

// "0.5" (every channel) or "0.485:0.456:0.406".
Status parseChannelValues(const std::string& entry, const std::string& text, std::array<float, 3>& values) {
  const std::vector<std::string> parts = split(text, ':');
  if (parts.size() != 1 && parts.size() != 3) {
    return specError(entry, "expected one value or three separated by ':'");
  }
  for (size_t c = 0; c < 3; ++c) {
    const std::string& part = parts[parts.size() == 1 ? 0 : c];
    if (!parseWhole(trim(part), values[c])) return specError(entry, "'" + part + "' is not a finite number");
  }
  return {};
}

// ---- folder listing ---------------------------------------------------------------------------------------

enum class FileKind { kTensor, kImage, kUnknown };

FileKind fileKind(const fs::path& path) {
  const std::string ext = toLower(path.extension().string());
  if (ext == ".npy" || ext == ".pb") return FileKind::kTensor;
  if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp") return FileKind::kImage;
  return FileKind::kUnknown;
}

constexpr const char* kKnownExtensions = ".npy, .pb, .png, .jpg, .jpeg, .bmp";

struct FolderEntries {
  std::vector<fs::path> files;
  std::vector<fs::path> folders;
};

// The entries of `folder` sorted by name, hidden ones skipped; anything but a file or a folder is an error.
Result<FolderEntries> listFolder(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    return Status(StatusCode::kNotFound, folder.string() + ": no such folder");
  }
  FolderEntries entries;
  fs::directory_iterator it(folder, ec);
  if (ec) return Status(StatusCode::kIoError, folder.string() + ": cannot list: " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& path = it->path();
    if (path.filename().string().starts_with(".")) continue;
    if (fs::is_directory(path, ec)) {
      entries.folders.push_back(path);
    } else if (fs::is_regular_file(path, ec)) {
      entries.files.push_back(path);
    } else {
      return Status(StatusCode::kInvalidArgument, path.string() + ": not a regular file or folder");
    }
  }
  if (ec) return Status(StatusCode::kIoError, folder.string() + ": cannot list: " + ec.message());
  std::sort(entries.files.begin(), entries.files.end());
  std::sort(entries.folders.begin(), entries.folders.end());
  return entries;
}

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "x" : "") + std::to_string(shape[i]);
  return text + "]";
}

// ---- tensor files -----------------------------------------------------------------------------------------

Result<Tensor> readCalibrationTensor(const fs::path& path) {
  const std::string ext = toLower(path.extension().string());
  return ext == ".npy" ? readNpy(path.string()) : readTensorProto(path.string());
}

// The file's type must be the input's; its shape the input's except the first (batch) dimension. A negative
// dimension of the input matches any size.
Status checkTensor(const Tensor& tensor, const CalibrationInput& input, const fs::path& path) {
  if (tensor.type() != input.type) {
    return Status(StatusCode::kInvalidArgument,
                  path.string() + ": holds " + std::string(dataTypeName(tensor.type())) + " data, input '" +
                      input.name + "' is " + std::string(dataTypeName(input.type)));
  }
  bool matches = tensor.rank() == static_cast<int64_t>(input.shape.size());
  for (size_t d = 1; matches && d < input.shape.size(); ++d) {
    matches = input.shape[d] < 0 || input.shape[d] == tensor.shape()[d];
  }
  if (matches && input.shape.empty()) matches = tensor.rank() == 0;
  if (!matches) {
    return Status(StatusCode::kInvalidArgument, path.string() + ": shape " + shapeText(tensor.shape()) +
                                                    " does not fit input '" + input.name + "' " +
                                                    shapeText(input.shape) +
                                                    " (only the first, batch, dimension may differ)");
  }
  if (tensor.rank() > 0 && tensor.shape()[0] == 0) {
    return Status(StatusCode::kInvalidArgument, path.string() + ": holds an empty batch");
  }
  return {};
}

// One file per batch and input: files_[batch][input], inputs in the order of `inputs_`.
class TensorFileSource : public CalibrationSource {
 public:
  TensorFileSource(std::vector<CalibrationInput> inputs, std::vector<std::vector<fs::path>> files)
      : inputs_(std::move(inputs)), files_(std::move(files)) {}

  int64_t batchCount() const override { return static_cast<int64_t>(files_.size()); }

  Result<std::vector<NamedTensor>> batch(int64_t i) override {
    if (i < 0 || i >= batchCount()) {
      return Status(StatusCode::kInvalidArgument, "calibration batch " + std::to_string(i) +
                                                      " out of range [0, " + std::to_string(batchCount()) +
                                                      ")");
    }
    std::vector<NamedTensor> tensors;
    for (size_t j = 0; j < inputs_.size(); ++j) {
      const fs::path& path = files_[static_cast<size_t>(i)][j];
      LOWP_ASSIGN_OR_RETURN(Tensor tensor, readCalibrationTensor(path));
      LOWP_RETURN_IF_ERROR(checkTensor(tensor, inputs_[j], path));
      tensors.push_back({inputs_[j].name, std::move(tensor)});
    }
    return tensors;
  }

 private:
  std::vector<CalibrationInput> inputs_;
  std::vector<std::vector<fs::path>> files_;
};

// Layout 2: one subfolder per batch holding <input name>.npy or .pb for every input, and nothing else.
Result<std::vector<std::vector<fs::path>>> batchFolderFiles(const std::vector<fs::path>& folders,
                                                            const std::vector<CalibrationInput>& inputs) {
  std::vector<std::vector<fs::path>> files;
  for (const fs::path& folder : folders) {
    LOWP_ASSIGN_OR_RETURN(FolderEntries entries, listFolder(folder));
    if (!entries.folders.empty()) {
      return Status(StatusCode::kInvalidArgument,
                    entries.folders.front().string() + ": a batch folder holds tensor files, not folders");
    }
    std::map<std::string, fs::path> byInput;
    for (const fs::path& file : entries.files) {
      const std::string ext = toLower(file.extension().string());
      const std::string stem = file.stem().string();
      const bool known =
          (ext == ".npy" || ext == ".pb") &&
          std::any_of(inputs.begin(), inputs.end(), [&](const auto& in) { return in.name == stem; });
      if (!known) {
        return Status(StatusCode::kInvalidArgument,
                      file.string() + ": not <input name>.npy or .pb for any network input");
      }
      if (byInput.count(stem) != 0) {
        return Status(StatusCode::kInvalidArgument, file.string() + ": input '" + stem + "' also has " +
                                                        byInput[stem].filename().string() + " in this batch");
      }
      byInput[stem] = file;
    }
    std::vector<fs::path> batch;
    for (const CalibrationInput& input : inputs) {
      auto it = byInput.find(input.name);
      if (it == byInput.end()) {
        return Status(StatusCode::kNotFound, folder.string() + ": no " + input.name + ".npy or " +
                                                 input.name + ".pb for input '" + input.name + "'");
      }
      batch.push_back(it->second);
    }
    files.push_back(std::move(batch));
  }
  return files;
}

// ---- images -----------------------------------------------------------------------------------------------

// Where each output pixel of one axis reads: two neighbours and their weights (bilinear, half-pixel centres).
struct AxisTaps {
  std::vector<int> index0, index1;
  std::vector<float> weight0, weight1;
};

// Taps for output positions [first, first + count) of an axis resized from `inSize` to `outSize`.
// The ratio is a float, as torch's; the source position is kept in double, which reproduces torchvision's
// output to ~1e-7 where a float position (an ulp of 1.5e-5 at 155) was off by up to 8e-6.
AxisTaps bilinearTaps(int inSize, int outSize, int first, int count) {
  AxisTaps taps;
  const float scale = static_cast<float>(inSize) / static_cast<float>(outSize);
  for (int o = first; o < first + count; ++o) {
    const double src = std::max(static_cast<double>(scale) * (o + 0.5) - 0.5, 0.0);
    const int i0 = std::min(static_cast<int>(src), inSize - 1);
    const auto lambda = static_cast<float>(src - i0);
    taps.index0.push_back(i0);
    taps.index1.push_back(std::min(i0 + 1, inSize - 1));
    taps.weight0.push_back(1.0f - lambda);
    taps.weight1.push_back(lambda);
  }
  return taps;
}

// A decoded 8-bit image: rows of `channels` interleaved samples (1: grey, 3: RGB).
struct DecodedImage {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels{nullptr, stbi_image_free};
};

Status decodeError(const fs::path& path) {
  const char* reason = stbi_failure_reason();
  return Status(StatusCode::kInvalidArgument, path.string() + ": cannot decode image: " +
                                                  std::string(reason != nullptr ? reason : "unknown error"));
}

Result<DecodedImage> decodeImage(const fs::path& path) {
  LOWP_ASSIGN_OR_RETURN(std::string bytes, onnx::readFileBytes(path));
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    return Status(StatusCode::kInvalidArgument, path.string() + ": image file larger than 2 GiB");
  }
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int length = static_cast<int>(bytes.size());
  DecodedImage image;
  int fileChannels = 0;
  if (stbi_info_from_memory(data, length, &image.width, &image.height, &fileChannels) == 0) {
    return decodeError(path);
  }
  const int wanted = fileChannels <= 2 ? 1 : 3;  // grey(+alpha) -> grey, RGB(A) -> RGB: alpha is dropped
  image.pixels.reset(stbi_load_from_memory(data, length, &image.width, &image.height, &fileChannels, wanted));
  if (!image.pixels) return decodeError(path);
  image.channels = wanted;
  return image;
}

// Images grouped into batches of the input's batch size, each preprocessed into a float32 tensor.
class ImageFolderSource : public CalibrationSource {
 public:
  ImageFolderSource(CalibrationInput input, const ImagePreprocessing& prep, std::vector<fs::path> files)
      : input_(std::move(input)), prep_(prep), files_(std::move(files)) {
    const auto& s = input_.shape;
    batchSize_ = s[0];
    channels_ = static_cast<int>(prep_.nhwc ? s[3] : s[1]);
    height_ = static_cast<int>(prep_.nhwc ? s[1] : s[2]);
    width_ = static_cast<int>(prep_.nhwc ? s[2] : s[3]);
    for (int i = 0; i < 256; ++i) unit_[static_cast<size_t>(i)] = static_cast<float>(i) / 255.0f;
  }

  int64_t batchCount() const override { return static_cast<int64_t>(files_.size()) / batchSize_; }

  Result<std::vector<NamedTensor>> batch(int64_t i) override {
    if (i < 0 || i >= batchCount()) {
      return Status(StatusCode::kInvalidArgument, "calibration batch " + std::to_string(i) +
                                                      " out of range [0, " + std::to_string(batchCount()) +
                                                      ")");
    }
    Tensor tensor(DataType::kFloat32, input_.shape);
    for (int64_t n = 0; n < batchSize_; ++n) {
      const fs::path& path = files_[static_cast<size_t>(i * batchSize_ + n)];
      LOWP_RETURN_IF_ERROR(preprocess(path, tensor.data<float>() + n * channels_ * height_ * width_));
    }
    return std::vector<NamedTensor>{{input_.name, std::move(tensor)}};
  }

 private:
  // Decodes `path` and writes one image (C x H x W or H x W x C floats) at `out`.
  Status preprocess(const fs::path& path, float* out) const {
    LOWP_ASSIGN_OR_RETURN(DecodedImage image, decodeImage(path));
    int resizedWidth = image.width;
    int resizedHeight = image.height;
    if (prep_.resize > 0) {
      // torchvision: the shorter side becomes `resize`, the longer int(resize * long / short).
      const bool wide = image.width > image.height;
      const int shortSide = wide ? image.height : image.width;
      const int longSide = wide ? image.width : image.height;
      const int newLong = static_cast<int>(static_cast<double>(prep_.resize) * longSide / shortSide);
      resizedWidth = wide ? newLong : prep_.resize;
      resizedHeight = wide ? prep_.resize : newLong;
    }
    const std::string size = std::to_string(resizedWidth) + "x" + std::to_string(resizedHeight);
    const std::string sizeNote = prep_.resize > 0
                                     ? " (" + std::to_string(image.width) + "x" +
                                           std::to_string(image.height) + " resized to " + size + ")"
                                     : " (" + size + ")";
    int top = 0;
    int left = 0;
    if (prep_.crop > 0) {
      if (resizedWidth < prep_.crop || resizedHeight < prep_.crop) {
        return Status(
            StatusCode::kInvalidArgument,
            path.string() + ": image" + sizeNote + " is smaller than crop " + std::to_string(prep_.crop));
      }
      top = static_cast<int>(std::nearbyint((resizedHeight - prep_.crop) / 2.0));
      left = static_cast<int>(std::nearbyint((resizedWidth - prep_.crop) / 2.0));
    } else if (resizedWidth != width_ || resizedHeight != height_) {
      return Status(StatusCode::kInvalidArgument, path.string() + ": image" + sizeNote +
                                                      " does not fit input '" + input_.name + "' " +
                                                      shapeText(input_.shape) + " (set resize or crop)");
    }
    const AxisTaps rows = bilinearTaps(image.height, resizedHeight, top, height_);
    const AxisTaps cols = bilinearTaps(image.width, resizedWidth, left, width_);

    const stbi_uc* pixels = image.pixels.get();
    const int stride = image.width * image.channels;
    // Source sample (y, x) of output channel c, in [0, 1].
    auto sample = [&](int c, int y, int x) -> float {
      const stbi_uc* p = pixels + y * stride + x * image.channels;
      if (image.channels == 1) return unit_[p[0]];
      if (prep_.grayscale) return 0.2989f * unit_[p[0]] + 0.587f * unit_[p[1]] + 0.114f * unit_[p[2]];
      return unit_[p[prep_.bgr ? 2 - c : c]];
    };
    for (int c = 0; c < channels_; ++c) {
      const float mean = prep_.mean[static_cast<size_t>(c)];
      const float deviation = prep_.std[static_cast<size_t>(c)];
      for (int y = 0; y < height_; ++y) {
        const int y0 = rows.index0[static_cast<size_t>(y)];
        const int y1 = rows.index1[static_cast<size_t>(y)];
        const float wy0 = rows.weight0[static_cast<size_t>(y)];
        const float wy1 = rows.weight1[static_cast<size_t>(y)];
        for (int x = 0; x < width_; ++x) {
          const size_t xs = static_cast<size_t>(x);
          const int x0 = cols.index0[xs];
          const int x1 = cols.index1[xs];
          const float top0 = cols.weight0[xs] * sample(c, y0, x0) + cols.weight1[xs] * sample(c, y0, x1);
          const float bottom = cols.weight0[xs] * sample(c, y1, x0) + cols.weight1[xs] * sample(c, y1, x1);
          const float value = wy0 * top0 + wy1 * bottom;
          const int64_t at = prep_.nhwc ? (static_cast<int64_t>(y) * width_ + x) * channels_ + c
                                        : (static_cast<int64_t>(c) * height_ + y) * width_ + x;
          out[at] = (value - mean) / deviation;
        }
      }
    }
    return {};
  }

  CalibrationInput input_;
  ImagePreprocessing prep_;
  std::vector<fs::path> files_;
  int64_t batchSize_ = 1;
  int channels_ = 3;
  int height_ = 0;
  int width_ = 0;
  std::array<float, 256> unit_{};  // byte -> byte / 255
};

// The input an image folder fills must be fp32 [N, C, H, W] (or [N, H, W, C]) with C 3 (1 for grayscale)
// and, with a crop, H = W = crop.
Status checkImageInput(const CalibrationInput& input, const ImagePreprocessing& prep) {
  const std::string where = "image calibration input '" + input.name + "' " + shapeText(input.shape);
  if (input.type != DataType::kFloat32) {
    return Status(StatusCode::kUnsupported,
                  where + " is " + std::string(dataTypeName(input.type)) + "; images give fp32 tensors");
  }
  const auto& s = input.shape;
  if (s.size() != 4 || std::any_of(s.begin(), s.end(), [](int64_t d) { return d <= 0; })) {
    return Status(StatusCode::kInvalidArgument,
                  where + ": expected a fixed 4-d shape " + (prep.nhwc ? "NHWC" : "NCHW"));
  }
  const int64_t channels = prep.nhwc ? s[3] : s[1];
  const int64_t wanted = prep.grayscale ? 1 : 3;
  if (channels != wanted) {
    return Status(StatusCode::kInvalidArgument, where + " has " + std::to_string(channels) +
                                                    " channels (layout " + (prep.nhwc ? "NHWC" : "NCHW") +
                                                    "), the images give " + std::to_string(wanted));
  }
  const int64_t height = prep.nhwc ? s[1] : s[2];
  const int64_t width = prep.nhwc ? s[2] : s[3];
  if (prep.crop > 0 && (height != prep.crop || width != prep.crop)) {
    return Status(StatusCode::kInvalidArgument, where + " is " + std::to_string(height) + "x" +
                                                    std::to_string(width) + ", the images are cropped to " +
                                                    std::to_string(prep.crop) + "x" +
                                                    std::to_string(prep.crop));
  }
  for (size_t c = 0; c < static_cast<size_t>(wanted); ++c) {
    if (!(prep.std[c] > 0.0f)) {
      return Status(StatusCode::kInvalidArgument,
                    where + ": std of channel " + std::to_string(c) + " must be positive");
    }
  }
  return {};
}

}  // namespace

Result<ImagePreprocessing> parseImagePreprocessing(const std::string& spec) {
  ImagePreprocessing prep;
  if (trim(spec).empty()) return prep;
  std::set<std::string> seen;
  for (const std::string& rawEntry : split(spec, ',')) {
    const std::string entry = trim(rawEntry);
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) return specError(entry, "expected key=value");
    const std::string key = toLower(trim(entry.substr(0, eq)));
    const std::string value = trim(entry.substr(eq + 1));
    if (!seen.insert(key).second) return specError(entry, "key '" + key + "' given twice");
    if (key == "resize" || key == "crop") {
      int size = 0;
      if (!parseWhole(value, size) || size < 0) return specError(entry, key + " must be an integer >= 0");
      (key == "resize" ? prep.resize : prep.crop) = size;
    } else if (key == "mean") {
      LOWP_RETURN_IF_ERROR(parseChannelValues(entry, value, prep.mean));
    } else if (key == "std") {
      LOWP_RETURN_IF_ERROR(parseChannelValues(entry, value, prep.std));
      for (float s : prep.std) {
        if (!(s > 0.0f)) return specError(entry, "std must be positive");
      }
    } else if (key == "order") {
      const std::string order = toLower(value);
      if (order != "rgb" && order != "bgr" && order != "gray") {
        return specError(entry, "order must be rgb, bgr or gray");
      }
      prep.bgr = order == "bgr";
      prep.grayscale = order == "gray";
    } else if (key == "layout") {
      const std::string layout = toLower(value);
      if (layout != "nchw" && layout != "nhwc") return specError(entry, "layout must be nchw or nhwc");
      prep.nhwc = layout == "nhwc";
    } else {
      return specError(entry, "unknown key '" + key + "' (expected resize, crop, mean, std, order, layout)");
    }
  }
  return prep;
}

Result<std::unique_ptr<CalibrationSource>> openCalibrationFolder(const std::string& folder,
                                                                 const std::vector<CalibrationInput>& inputs,
                                                                 const ImagePreprocessing* preprocessing) {
  if (inputs.empty()) {
    return Status(StatusCode::kInvalidArgument, folder + ": calibration needs at least one network input");
  }
  LOWP_ASSIGN_OR_RETURN(FolderEntries entries, listFolder(folder));
  if (entries.files.empty() && entries.folders.empty()) {
    return Status(StatusCode::kInvalidArgument, folder + ": no calibration data (expected " +
                                                    std::string(kKnownExtensions) +
                                                    " files or batch folders)");
  }
  if (!entries.files.empty() && !entries.folders.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  folder + ": holds both files (" + entries.files.front().filename().string() +
                      ") and folders (" + entries.folders.front().filename().string() +
                      "); use files for one input or one folder per batch, not both");
  }
  if (!entries.folders.empty()) {
    LOWP_ASSIGN_OR_RETURN(auto files, batchFolderFiles(entries.folders, inputs));
    return std::unique_ptr<CalibrationSource>(std::make_unique<TensorFileSource>(inputs, std::move(files)));
  }

  const fs::path* firstTensor = nullptr;
  const fs::path* firstImage = nullptr;
  for (const fs::path& file : entries.files) {
    switch (fileKind(file)) {
      case FileKind::kTensor:
        if (firstTensor == nullptr) firstTensor = &file;
        break;
      case FileKind::kImage:
        if (firstImage == nullptr) firstImage = &file;
        break;
      case FileKind::kUnknown:
        return Status(StatusCode::kInvalidArgument, file.string() + ": unknown calibration file extension '" +
                                                        file.extension().string() + "' (expected " +
                                                        kKnownExtensions + ")");
    }
  }
  if (firstTensor != nullptr && firstImage != nullptr) {
    return Status(StatusCode::kInvalidArgument, folder + ": mixes tensor files (" +
                                                    firstTensor->filename().string() + ") and images (" +
                                                    firstImage->filename().string() + ")");
  }
  if (inputs.size() != 1) {
    return Status(
        StatusCode::kInvalidArgument,
        folder + ": files directly in the folder calibrate a network with one input, this one has " +
            std::to_string(inputs.size()) + "; put each batch in a subfolder holding <input name>.npy");
  }
  if (firstTensor != nullptr) {
    std::vector<std::vector<fs::path>> files;
    for (const fs::path& file : entries.files) files.push_back({file});
    return std::unique_ptr<CalibrationSource>(std::make_unique<TensorFileSource>(inputs, std::move(files)));
  }
  if (preprocessing == nullptr) {
    return Status(StatusCode::kInvalidArgument, folder + ": holds images (" +
                                                    firstImage->filename().string() +
                                                    ") but no image preprocessing was given");
  }
  LOWP_RETURN_IF_ERROR(checkImageInput(inputs[0], *preprocessing));
  const int64_t batchSize = inputs[0].shape[0];
  if (static_cast<int64_t>(entries.files.size()) < batchSize) {
    return Status(StatusCode::kInvalidArgument, folder + ": " + std::to_string(entries.files.size()) +
                                                    " images, fewer than one batch of " +
                                                    std::to_string(batchSize));
  }
  return std::unique_ptr<CalibrationSource>(
      std::make_unique<ImageFolderSource>(inputs[0], *preprocessing, std::move(entries.files)));
}

}  // namespace lowp
