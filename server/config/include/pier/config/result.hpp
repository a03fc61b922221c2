// pier's one value-or-error type: what a parser of outside input (a unit, a command line, a
// request line, a URL) returns when it produces one value or one reason there is none. The
// reason is a line for a person to read; callers print it or wrap it in their own message.
// Parsers that report every error at once (parse_config: config_error, with positions) and
// sans-io protocol parsers with an "incomplete" state (proxy_protocol.hpp) have shapes of
// their own, for those reasons.
//
// In the config layer, the bottom one, so that every layer and pierload can use it.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace pier {

/// Why there is no value: one line, lowercase, no trailing period.
struct failure {
    std::string why;
};

template <typename T>
class result {
public:
    result(T value) : state_(std::in_place_index<0>, std::move(value)) {}    // NOLINT: implicit
    result(failure f) : state_(std::in_place_index<1>, std::move(f.why)) {}  // NOLINT: implicit

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    /// The value; only when ok().
    const T& value() const& { return std::get<0>(state_); }
    T& value() & { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    const T& operator*() const& { return value(); }
    const T* operator->() const { return &value(); }

    /// Why there is no value; only when !ok().
    const std::string& error() const { return std::get<1>(state_); }

private:
    std::variant<T, std::string> state_;
};

}  // namespace pier
