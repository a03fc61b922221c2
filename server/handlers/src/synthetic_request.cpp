#include "pier/handlers/synthetic_request.hpp"

#include "pier/config/config.hpp"
#include "pier/config/units.hpp"

namespace pier::handlers {
namespace {

using limits = config::synthetic_config;

/// Keeps a peer's text short and printable in an error line. (Not `quoted`: a call on a std
/// string would also find std::quoted by argument-dependent lookup.)
std::string shown_quoted(std::string_view text) {
    constexpr std::size_t max_shown = 32;
    std::string out = "\"";
    for (const char c : text.substr(0, max_shown)) {
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    if (text.size() > max_shown) out += "...";
    return out + "\"";
}

}  // namespace

result<synthetic_request> parse_synthetic_request(std::string_view line,
                                                  const synthetic_request& defaults) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    synthetic_request request = defaults;
    bool seen_cpu = false;
    bool seen_delay = false;
    bool seen_size = false;
    while (!line.empty()) {
        const auto start = line.find_first_not_of(' ');
        if (start == std::string_view::npos) break;
        line.remove_prefix(start);
        const auto end = std::min(line.find(' '), line.size());
        const std::string_view token = line.substr(0, end);
        line.remove_prefix(end);

        const auto equals = token.find('=');
        const std::string_view key = token.substr(0, equals);
        const std::string_view value =
            equals == std::string_view::npos ? std::string_view{} : token.substr(equals + 1);
        bool* seen = nullptr;
        if (key == "cpu") {
            seen = &seen_cpu;
        } else if (key == "delay") {
            seen = &seen_delay;
        } else if (key == "size") {
            seen = &seen_size;
        } else {
            return failure{"unknown token " + shown_quoted(token) +
                           " (expected cpu=, delay= or size=)"};
        }
        if (*seen) return failure{std::string(key) + " given twice"};
        *seen = true;
        if (equals == std::string_view::npos) {
            return failure{"token " + shown_quoted(token) + " needs a value, e.g. " +
                           std::string(key) + "=" + (key == "size" ? "128" : "10ms")};
        }

        if (key == "size") {
            const auto parsed = config::parse_size(value);
            if (!parsed.ok())
                return failure{"bad size " + shown_quoted(value) + ": " + parsed.error()};
            if (parsed.value() < 1 || parsed.value() > limits::max_response_bytes) {
                return failure{"size must be between 1 (the newline) and " +
                               config::format_size(limits::max_response_bytes) + " (got " +
                               shown_quoted(value) + ")"};
            }
            request.size = parsed.value();
            continue;
        }
        const auto parsed = config::parse_duration(value);
        if (!parsed.ok()) {
            return failure{"bad " + std::string(key) + " " + shown_quoted(value) + ": " +
                           parsed.error()};
        }
        const auto limit = key == "cpu" ? limits::max_cpu : limits::max_delay;
        if (parsed.value() > limit) {
            return failure{std::string(key) + " must be at most " + config::format_duration(limit) +
                           " (got " + shown_quoted(value) + ")"};
        }
        (key == "cpu" ? request.cpu : request.delay) = parsed.value();
    }
    return request;
}

}  // namespace pier::handlers
