// Parsing and formatting of human units; see units.hpp.
#include "pier/config/units.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <string_view>

namespace pier::config {

namespace {

struct unit_def {
    std::string_view name;
    std::uint64_t factor;  ///< nanoseconds or bytes per unit
};

// Largest first, so formatting picks the largest exact unit by scanning in order.
constexpr std::array<unit_def, 6> duration_units{{
    {"d", 86'400'000'000'000},
    {"h", 3'600'000'000'000},
    {"m", 60'000'000'000},
    {"s", 1'000'000'000},
    {"ms", 1'000'000},
    {"us", 1'000},
}};

constexpr std::array<unit_def, 9> size_units{{
    {"B", 1},
    {"KiB", std::uint64_t{1} << 10},
    {"MiB", std::uint64_t{1} << 20},
    {"GiB", std::uint64_t{1} << 30},
    {"TiB", std::uint64_t{1} << 40},
    {"KB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000},
}};

// The order operators read in error messages: smallest to largest.
constexpr std::string_view duration_unit_list = "us, ms, s, m, h, d";
constexpr std::string_view size_unit_list = "B, KiB, MiB, GiB, TiB, KB, MB, GB, TB";

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// A leading decimal integer and whatever follows it, or why there is none.
struct number_and_unit {
    std::uint64_t number = 0;
    std::string_view unit;
};

/// Splits "250ms" into 250 and "ms". `example` completes "e.g. ..." in the messages;
/// `too_large` is the message for a number beyond uint64.
result<number_and_unit> split(std::string_view text, std::string_view what,
                              std::string_view example, const std::string& too_large) {
    if (text.empty()) {
        return failure{std::string("empty value (expected ") + std::string(what) + ", e.g. \"" +
                       std::string(example) + "\")"};
    }
    for (char c : text) {
        if (is_space(c)) {
            return failure{std::string("whitespace is not allowed, e.g. \"") +
                           std::string(example) + "\""};
        }
    }
    if (text.front() == '-') {
        return failure{std::string("must not be negative")};
    }
    if (text.front() < '0' || text.front() > '9') {
        return failure{std::string("expected ") + std::string(what) + ", e.g. \"" +
                       std::string(example) + "\""};
    }

    number_and_unit out;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    const auto [end, ec] = std::from_chars(first, last, out.number);
    if (ec == std::errc::result_out_of_range) {
        return failure{too_large};
    }
    out.unit = text.substr(static_cast<std::size_t>(end - first));
    if (!out.unit.empty() && (out.unit.front() == '.' || out.unit.front() == ',')) {
        return failure{std::string("fractions are not allowed; use a smaller unit")};
    }
    return {out};
}

const unit_def* find_unit(std::string_view name, const auto& units) {
    for (const auto& unit : units) {
        if (unit.name == name) {
            return &unit;
        }
    }
    return nullptr;
}

}  // namespace

result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
    // nanoseconds is int64: the product must stay below its maximum, about 106751 days.
    constexpr auto max_ns =
        static_cast<std::uint64_t>(std::numeric_limits<std::chrono::nanoseconds::rep>::max());
    const std::string too_large =
        "too large (at most " + std::to_string(max_ns / duration_units[0].factor) + "d)";

    const auto split_result = split(text, "a number followed by a unit", "30s", too_large);
    if (!split_result.ok()) {
        return failure{split_result.error()};
    }
    const auto [number, unit_name] = split_result.value();

    if (unit_name.empty()) {
        if (number == 0) {
            return {std::chrono::nanoseconds{0}};
        }
        return failure{std::string("missing unit, e.g. \"30s\"")};
    }
    const unit_def* unit = find_unit(unit_name, duration_units);
    if (unit == nullptr) {
        return failure{"unknown unit \"" + std::string(unit_name) +
                       "\" (expected one of: " + std::string(duration_unit_list) + ")"};
    }

    if (number > max_ns / unit->factor) {
        return failure{too_large};
    }
    return {std::chrono::nanoseconds{static_cast<std::int64_t>(number * unit->factor)}};
}

result<std::uint64_t> parse_size(std::string_view text) {
    const std::string too_large = "too large (at most 16EiB - 1B)";
    const auto split_result =
        split(text, "a number of bytes, optionally followed by a unit", "64KiB", too_large);
    if (!split_result.ok()) {
        return failure{split_result.error()};
    }
    const auto [number, unit_name] = split_result.value();

    if (unit_name.empty()) {
        return {number};
    }
    const unit_def* unit = find_unit(unit_name, size_units);
    if (unit == nullptr) {
        return failure{"unknown unit \"" + std::string(unit_name) +
                       "\" (expected one of: " + std::string(size_unit_list) + ")"};
    }
    if (number > std::numeric_limits<std::uint64_t>::max() / unit->factor) {
        return failure{too_large};
    }
    return {number * unit->factor};
}

std::string format_duration(std::chrono::nanoseconds d) {
    const std::int64_t count = d.count();
    if (count == 0) {
        return "0s";
    }
    // Negate in unsigned arithmetic so that the minimum int64 has a magnitude too.
    const bool negative = count < 0;
    const std::uint64_t magnitude = negative ? std::uint64_t{0} - static_cast<std::uint64_t>(count)
                                             : static_cast<std::uint64_t>(count);
    const std::string sign = negative ? "-" : "";
    for (const auto& unit : duration_units) {
        if (magnitude % unit.factor == 0) {
            return sign + std::to_string(magnitude / unit.factor) + std::string(unit.name);
        }
    }
    return sign + std::to_string(magnitude) + "ns";
}

std::string format_size(std::uint64_t bytes) {
    // Binary units only, largest first; TiB is the largest that parse_size reads back.
    constexpr std::array<unit_def, 4> binary{{
        {"TiB", std::uint64_t{1} << 40},
        {"GiB", std::uint64_t{1} << 30},
        {"MiB", std::uint64_t{1} << 20},
        {"KiB", std::uint64_t{1} << 10},
    }};
    if (bytes != 0) {
        for (const auto& unit : binary) {
            if (bytes % unit.factor == 0) {
                return std::to_string(bytes / unit.factor) + std::string(unit.name);
            }
        }
    }
    return std::to_string(bytes) + "B";
}

}  // namespace pier::config
