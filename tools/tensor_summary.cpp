#include "tensor_summary.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "lowp/tensor_io.h"

namespace lowp::tools {
std::string summarize(const Tensor& t) {
  std::ostringstream out;
  out << t.describe();
  int64_t n = t.elementCount();
  if (n == 0) return out.str() + " (empty)";
  double lo = INFINITY;
  double hi = -INFINITY;
  double sum = 0;
  int64_t nans = 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = elementAsDouble(t, i);
    if (std::isnan(v)) {
      ++nans;
      continue;
    }
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  out << " min " << lo << " max " << hi << " mean " << (n > nans ? sum / static_cast<double>(n - nans) : NAN);
  if (nans) out << " (" << nans << " NaN)";
  return out.str();
}

Tensor randomTensor(DataType type, const std::vector<int64_t>& shape, std::mt19937_64& rng) {
  Tensor t(type, shape);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::uniform_int_distribution<int> digit(0, 9);
  for (int64_t i = 0; i < t.elementCount(); ++i) {
    switch (type) {
      case DataType::kFloat32:
        t.data<float>()[i] = static_cast<float>(uniform(rng));
        break;
      case DataType::kFloat64:
        t.data<double>()[i] = uniform(rng);
        break;
      case DataType::kBool:
        t.data<uint8_t>()[i] = static_cast<uint8_t>(digit(rng) % 2);
        break;
      case DataType::kInt8:
        t.data<int8_t>()[i] = static_cast<int8_t>(digit(rng));
        break;
      case DataType::kUInt8:
        t.data<uint8_t>()[i] = static_cast<uint8_t>(digit(rng));
        break;
      case DataType::kInt16:
        t.data<int16_t>()[i] = static_cast<int16_t>(digit(rng));
        break;
      case DataType::kUInt16:
        t.data<uint16_t>()[i] = static_cast<uint16_t>(digit(rng));
        break;
      case DataType::kInt32:
        t.data<int32_t>()[i] = digit(rng);
        break;
      case DataType::kUInt32:
        t.data<uint32_t>()[i] = static_cast<uint32_t>(digit(rng));
        break;
      case DataType::kInt64:
        t.data<int64_t>()[i] = digit(rng);
        break;
      case DataType::kUInt64:
        t.data<uint64_t>()[i] = static_cast<uint64_t>(digit(rng));
        break;
      default:
        break;  // other types stay zero
    }
  }
  return t;
}

bool parseSizes(const std::string& text, std::vector<int64_t>& sizes) {
  sizes.clear();
  if (text.empty() || text == "scalar") return true;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, 'x');) {
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) return false;
    sizes.push_back(std::stoll(part));
  }
  return true;
}

std::string parseShapeList(const std::vector<std::string>& lists,
                           std::map<std::string, std::vector<int64_t>>& shapes) {
  for (const std::string& list : lists) {
    std::stringstream items(list);
    for (std::string item; std::getline(items, item, ',');) {
      const auto colon = item.rfind(':');
      std::vector<int64_t> sizes;
      if (colon == std::string::npos || !parseSizes(item.substr(colon + 1), sizes)) {
        return "--shapes '" + item + "' is not of the form name:1x3x224x224";
      }
      shapes[item.substr(0, colon)] = sizes;
    }
  }
  return "";
}

std::string parseNamedFiles(const std::string& option, const std::vector<std::string>& lists,
                            std::map<std::string, std::string>& files) {
  auto malformed = [&option](const std::string& item, const char* form) {
    std::string message = option;
    message.append(": '").append(item).append("' is not of the form ").append(form);
    return message;
  };
  for (const std::string& list : lists) {
    std::stringstream items(list);
    for (std::string item; std::getline(items, item, ',');) {
      std::string name;
      std::string file;
      if (!item.empty() && item.front() == '\'') {
        const auto close = item.find('\'', 1);
        if (close == std::string::npos || close + 1 >= item.size() || item[close + 1] != ':')
          return malformed(item, "'name':file");
        name = item.substr(1, close - 1);
        file = item.substr(close + 2);
      } else {
        const auto colon = item.find(':');
        if (colon == std::string::npos || colon == 0) return malformed(item, "name:file");
        name = item.substr(0, colon);
        file = item.substr(colon + 1);
      }
      if (file.empty()) {
        std::string message = option;
        message.append(": no file given for '").append(name).append("'");
        return message;
      }
      files[name] = file;
    }
  }
  return "";
}

std::string readNamedTensors(const std::string& option, const std::map<std::string, std::string>& files,
                             std::map<std::string, Tensor>& tensors) {
  for (const auto& [name, file] : files) {
    auto t = readTensorFile(file);
    if (!t) {
      std::string message = option;
      message.append(" ").append(name).append(": ").append(t.status().message());
      return message;
    }
    tensors.insert_or_assign(name, std::move(t).value());
  }
  return "";
}

}  // namespace lowp::tools
