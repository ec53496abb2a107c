#include "output_error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>

namespace lowp::tools {
namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  double m = v[mid];
  if (v.size() % 2 == 0)
    m = (m + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid))) / 2;
  return m;
}

}  // namespace

double realElement(const Tensor& t, int64_t i, float scale, int32_t zeroPoint) {
  const double v = elementAsDouble(t, i);
  return scale > 0 ? (v - zeroPoint) * scale : v;
}

bool isFloatType(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16 ||
         t == DataType::kFloat64;
}

void ErrorStats::add(const Tensor& out, float scale, int32_t zeroPoint, const Tensor& ref, double atol,
                     double rtol, bool keepElements) {
  const int64_t n = ref.elementCount();
  for (int64_t i = 0; i < n; ++i) {
    const double o = realElement(out, i, scale, zeroPoint);
    const double r = elementAsDouble(ref, i);
    const double abs = std::fabs(o - r);
    const double rel = abs == 0 ? 0 : abs / std::fabs(r);  // inf where the reference is 0
    if (!(abs <= atol) && !(abs <= rtol * std::fabs(r))) ++failures_;
    maxAbs_ = std::max(maxAbs_, std::isnan(abs) ? INFINITY : abs);
    maxRel_ = std::max(maxRel_, std::isnan(rel) ? INFINITY : rel);
    sumAbs_ += abs;
    sumRel_ += rel;
    sumSqDiff_ += abs * abs;
    sumSqRef_ += r * r;
    sumSqOut_ += o * o;
    dot_ += o * r;
    if (keepElements) {
      absErrors_.push_back(abs);
      relErrors_.push_back(rel);
    }
  }
  count_ += n;
}

double ErrorStats::medianAbs() const {
  return median(absErrors_);
}

double ErrorStats::medianRel() const {
  return median(relErrors_);
}

double ErrorStats::relativeL2() const {
  return sumSqRef_ > 0 ? std::sqrt(sumSqDiff_ / sumSqRef_) : (sumSqDiff_ > 0 ? INFINITY : 0);
}

double ErrorStats::cosine() const {
  const double norms = std::sqrt(sumSqOut_) * std::sqrt(sumSqRef_);
  return norms > 0 ? dot_ / norms : (sumSqOut_ == sumSqRef_ ? 1 : 0);
}

Tensor sliceRows(const Tensor& t, int64_t begin, int64_t count) {
  std::vector<int64_t> shape = t.shape();
  const int64_t rowBytes = shape[0] == 0 ? 0 : t.byteSize() / shape[0];
  shape[0] = count;
  Tensor out(t.type(), shape);
  std::memcpy(out.data(), static_cast<const std::byte*>(t.data()) + begin * rowBytes,
              static_cast<size_t>(count * rowBytes));
  return out;
}

std::vector<int64_t> argmaxRows(const Tensor& t) {
  const int64_t classes = t.shape().back();
  const int64_t rows = classes == 0 ? 0 : t.elementCount() / classes;
  std::vector<int64_t> best(static_cast<size_t>(rows), 0);
  for (int64_t r = 0; r < rows; ++r) {
    double top = -INFINITY;
    for (int64_t c = 0; c < classes; ++c) {
      const double v = elementAsDouble(t, r * classes + c);
      if (v > top) {
        top = v;
        best[static_cast<size_t>(r)] = c;
      }
    }
  }
  return best;
}

bool isClassifierOutput(const Tensor& t) {
  return t.rank() == 2 && t.shape()[1] > 1 &&
         (t.type() == DataType::kFloat32 || t.type() == DataType::kFloat16 ||
          t.type() == DataType::kBFloat16);
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string sci(double v) {
  if (std::isinf(v)) return "inf";
  std::ostringstream s;
  s << std::setprecision(3) << v;
  return s.str();
}

std::string percent(int64_t part, int64_t whole) {
  return fixed(whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0, 2) + "%";
}

}  // namespace lowp::tools
