#include "ir/shape.h"

#include <algorithm>

namespace lowp::ir {

Shape Shape::fromSizes(const std::vector<int64_t>& sizes) {
  std::vector<Dim> dims(sizes.begin(), sizes.end());
  return Shape(std::move(dims));
}

bool Shape::isStatic() const {
  return rankKnown_ && std::all_of(dims_.begin(), dims_.end(), [](const Dim& d) { return d.isKnown(); });
}

std::vector<int64_t> Shape::sizes() const {
  std::vector<int64_t> out;
  out.reserve(dims_.size());
  for (const Dim& d : dims_) out.push_back(d.size);
  return out;
}

std::optional<int64_t> Shape::elementCount() const {
  if (!isStatic()) return std::nullopt;
  int64_t n = 1;
  for (const Dim& d : dims_) n *= d.size;
  return n;
}

std::string Shape::toString() const {
  if (!rankKnown_) return "[?]";
  std::string s = "[";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += "x";
    if (dims_[i].isKnown()) {
      s += std::to_string(dims_[i].size);
    } else {
      s += dims_[i].symbol.empty() ? "?" : dims_[i].symbol;
    }
  }
  return s + "]";
}

Result<Shape> broadcastShapes(const Shape& a, const Shape& b) {
  if (!a.rankKnown() || !b.rankKnown()) return Shape::unknownRank();
  int64_t rank = std::max(a.rank(), b.rank());
  std::vector<Dim> out(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i) {
    int64_t ia = i - (rank - a.rank());
    int64_t ib = i - (rank - b.rank());
    Dim da = ia >= 0 ? a[ia] : Dim(1);
    Dim db = ib >= 0 ? b[ib] : Dim(1);
    Dim& d = out[static_cast<size_t>(i)];
    if (da.isKnown() && db.isKnown()) {
      if (da.size != db.size && da.size != 1 && db.size != 1) {
        return Status(StatusCode::kInvalidArgument,
                      "shapes " + a.toString() + " and " + b.toString() + " cannot be broadcast");
      }
      d = da.size == 1 ? db : da;
    } else if (da.isKnown()) {
      d = da.size == 1 ? db : da;
    } else if (db.isKnown()) {
      d = db.size == 1 ? da : db;
    } else {
      d = da == db ? da : Dim();
    }
  }
  return Shape(std::move(out));
}

std::string formatSizes(const std::vector<int64_t>& sizes) {
  std::string s;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i) s += "x";
    s += std::to_string(sizes[i]);
  }
  return s.empty() ? "scalar" : s;
}

Result<int64_t> normalizeAxis(int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank) {
    return Status(StatusCode::kInvalidArgument, std::string(what) + " " + std::to_string(axis) +
                                                    " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

}  // namespace lowp::ir
