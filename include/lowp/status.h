// lowp public API: error reporting.
//
// No exception crosses the public API. Every fallible call returns a Status (or a Result<T>, which holds
// either a value or a non-OK Status). A Status names what went wrong, and where: the file, the node or the
// option involved, so that a user can act on the message alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace lowp {

/// What kind of failure a Status reports. Values are stable; new codes are only added at the end.
enum class StatusCode : int32_t {
  kOk = 0,
  kInvalidArgument = 1,  ///< A bad option, bad shape, bad type or bad input tensor given by the caller.
  kInvalidModel = 2,     ///< The model file is malformed, truncated or inconsistent.
  kUnsupported = 3,      ///< Valid input that lowp does not implement (operator, attribute, type).
  kNotFound = 4,         ///< A file, tensor, input or output name that does not exist.
  kIoError = 5,          ///< Reading or writing a file failed.
  kInternal = 6,         ///< A broken invariant inside lowp: always a bug worth reporting.
  kInvalidEngine = 7,    ///< An engine file that is corrupt, truncated, or from another version/device.
};

/// Short lower-case name of a status code, e.g. "invalid model".
const char* statusCodeName(StatusCode code);

/// The outcome of an operation: OK, or a code with a message and, where known, the node it concerns.
class Status {
 public:
  /// An OK status.
  Status() = default;
  Status(StatusCode code, std::string message, std::string node = {})
      : code_(code), message_(std::move(message)), node_(std::move(node)) {}

  static Status ok() { return {}; }

  bool isOk() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  /// The message, without the node name.
  const std::string& message() const { return message_; }
  /// Name of the graph node the error concerns; empty when it concerns no node.
  const std::string& node() const { return node_; }

  /// Returns a copy with `context` prepended to the message ("context: message").
  Status withContext(const std::string& context) const;
  /// Returns a copy naming `node` when no node is named yet.
  Status withNode(const std::string& node) const;

  /// "<code name>: [node '<node>': ]<message>", or "ok".
  std::string toString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string node_;
};

/// Either a value of type T or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool isOk() const { return value_.has_value(); }
  explicit operator bool() const { return isOk(); }
  /// The error; OK when the result holds a value.
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace lowp

/// Returns from the enclosing function when `expr` (a Status) is not OK.
#define LOWP_RETURN_IF_ERROR(expr)                 \
  do {                                             \
    ::lowp::Status lowp_status_ = (expr);          \
    if (!lowp_status_.isOk()) return lowp_status_; \
  } while (0)

#define LOWP_CONCAT_INNER(a, b) a##b
#define LOWP_CONCAT(a, b) LOWP_CONCAT_INNER(a, b)

/// `LOWP_ASSIGN_OR_RETURN(auto x, makeX());` binds the value of a Result or returns its Status.
#define LOWP_ASSIGN_OR_RETURN(decl, expr) \
  LOWP_ASSIGN_OR_RETURN_IMPL(LOWP_CONCAT(lowp_result_, __LINE__), decl, expr)
// NOLINTBEGIN(bugprone-macro-parentheses): `decl` is a declaration and cannot be parenthesised.
#define LOWP_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                                \
  if (!tmp.isOk()) return tmp.status();             \
  decl = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
