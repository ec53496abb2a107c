// Einsum equation parsing and planning; see linear_einsum.h.
#include "ir/ops/linear_einsum.h"

#include <algorithm>
#include <array>

namespace lowp::ir::ops {
namespace {

Status bad(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message);
}

bool isLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

Result<EinsumTerm> parseTerm(const std::string& text) {
  EinsumTerm term;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ') continue;
    if (c == '.') {
      if (text.compare(i, 3, "...") != 0) return bad("einsum term '" + text + "' has a stray '.'");
      if (term.hasEllipsis()) return bad("einsum term '" + text + "' has two ellipses");
      term.labels.push_back(EinsumTerm::kEllipsis);
      i += 2;
      continue;
    }
    if (!isLetter(c)) return bad("einsum term '" + text + "' has the character '" + std::string(1, c) + "'");
    term.labels.push_back(c);
  }
  return term;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(' ');
  size_t e = s.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

bool EinsumTerm::hasEllipsis() const {
  return std::find(labels.begin(), labels.end(), kEllipsis) != labels.end();
}

Result<EinsumEquation> parseEinsum(const std::string& equation, size_t inputCount) {
  EinsumEquation eq;
  size_t arrow = equation.find("->");
  std::string lhs = arrow == std::string::npos ? equation : equation.substr(0, arrow);
  size_t start = 0;
  for (;;) {
    size_t comma = lhs.find(',', start);
    auto term =
        parseTerm(trim(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (!term) return term.status();
    eq.inputs.push_back(std::move(term).value());
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (eq.inputs.size() != inputCount) {
    return bad("equation '" + equation + "' has " + std::to_string(eq.inputs.size()) +
               " operands but the node has " + std::to_string(inputCount) + " inputs");
  }
  std::array<int, 128> counts{};
  bool anyEllipsis = false;
  for (const EinsumTerm& t : eq.inputs) {
    for (int l : t.labels) {
      if (l == EinsumTerm::kEllipsis) {
        anyEllipsis = true;
      } else {
        ++counts[static_cast<size_t>(l)];
      }
    }
  }
  if (arrow != std::string::npos) {
    auto out = parseTerm(equation.substr(arrow + 2));
    if (!out) return out.status();
    eq.output = std::move(out).value();
    std::array<int, 128> seen{};
    for (int l : eq.output.labels) {
      if (l == EinsumTerm::kEllipsis) continue;
      if (counts[static_cast<size_t>(l)] == 0) {
        return bad("output label '" + std::string(1, static_cast<char>(l)) + "' appears in no input");
      }
      if (seen[static_cast<size_t>(l)]++) {
        return bad("output label '" + std::string(1, static_cast<char>(l)) + "' appears twice");
      }
    }
  } else {
    // numpy's implicit output: the broadcast dims, then the letters used once, in ASCII order.
    if (anyEllipsis) eq.output.labels.push_back(EinsumTerm::kEllipsis);
    for (int c = 0; c < 128; ++c) {
      if (counts[static_cast<size_t>(c)] == 1) eq.output.labels.push_back(c);
    }
  }
  return eq;
}

Result<EinsumPlan> planEinsum(const EinsumEquation& eq, const std::vector<std::vector<int64_t>>& shapes) {
  EinsumPlan plan;
  std::vector<int64_t> ellipsisDims(shapes.size(), 0);
  for (size_t i = 0; i < shapes.size(); ++i) {
    const EinsumTerm& t = eq.inputs[i];
    auto letters = static_cast<int64_t>(t.labels.size()) - (t.hasEllipsis() ? 1 : 0);
    auto rank = static_cast<int64_t>(shapes[i].size());
    if (t.hasEllipsis() ? rank < letters : rank != letters) {
      return bad("input " + std::to_string(i) + " has rank " + std::to_string(rank) +
                 " but its einsum term has " + std::to_string(letters) + " letters" +
                 (t.hasEllipsis() ? " and an ellipsis" : ""));
    }
    ellipsisDims[i] = rank - letters;
    plan.ellipsisRank = std::max(plan.ellipsisRank, ellipsisDims[i]);
  }
  std::array<int64_t, 128> letterAxis;
  letterAxis.fill(-1);
  auto axisCount = plan.ellipsisRank;
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::vector<int64_t> axes;
    for (int l : eq.inputs[i].labels) {
      if (l == EinsumTerm::kEllipsis) {
        for (int64_t e = 0; e < ellipsisDims[i]; ++e) axes.push_back(plan.ellipsisRank - ellipsisDims[i] + e);
        continue;
      }
      int64_t& axis = letterAxis[static_cast<size_t>(l)];
      if (axis < 0) axis = axisCount++;
      axes.push_back(axis);
    }
    plan.inputAxes.push_back(std::move(axes));
  }
  // Letters must agree on their size; "..." dims broadcast (size 1 stretches).
  plan.sizes.assign(static_cast<size_t>(axisCount), -1);
  std::vector<bool> unknown(static_cast<size_t>(axisCount), false);
  for (int64_t e = 0; e < plan.ellipsisRank; ++e) plan.sizes[static_cast<size_t>(e)] = 1;
  for (size_t i = 0; i < shapes.size(); ++i) {
    for (size_t d = 0; d < shapes[i].size(); ++d) {
      const auto axis = static_cast<size_t>(plan.inputAxes[i][d]);
      const int64_t size = shapes[i][d];
      int64_t& cur = plan.sizes[axis];
      const bool broadcast = static_cast<int64_t>(axis) < plan.ellipsisRank;
      if (size < 0) {
        unknown[axis] = true;
      } else if (broadcast ? (size != 1 && cur != 1 && size != cur) : (cur >= 0 && size != cur)) {
        return bad("input " + std::to_string(i) + " has size " + std::to_string(size) + " on dim " +
                   std::to_string(d) + " where another operand has " + std::to_string(cur));
      } else if (!broadcast || size != 1) {
        cur = size;
      }
    }
  }
  for (int64_t e = 0; e < plan.ellipsisRank; ++e) {
    if (unknown[static_cast<size_t>(e)] && plan.sizes[static_cast<size_t>(e)] == 1) {
      plan.sizes[static_cast<size_t>(e)] = -1;
    }
  }
  for (int l : eq.output.labels) {
    if (l == EinsumTerm::kEllipsis) {
      for (int64_t e = 0; e < plan.ellipsisRank; ++e) plan.outputAxes.push_back(e);
    } else {
      plan.outputAxes.push_back(letterAxis[static_cast<size_t>(l)]);
    }
  }
  return plan;
}

}  // namespace lowp::ir::ops
