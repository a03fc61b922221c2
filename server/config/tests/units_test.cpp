// Unit tests for human units: parse_duration, parse_size and their formatters.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "pier/config/units.hpp"

using namespace std::chrono_literals;
using pier::config::format_duration;
using pier::config::format_size;
using pier::config::parse_duration;
using pier::config::parse_size;

namespace {

std::string duration_error(std::string_view text) {
    const auto result = parse_duration(text);
    REQUIRE_FALSE(result.ok());
    return result.error();
}

std::string size_error(std::string_view text) {
    const auto result = parse_size(text);
    REQUIRE_FALSE(result.ok());
    return result.error();
}

}  // namespace

TEST_CASE("units: durations parse in every unit") {
    // Proves each documented unit has the right factor, and that "0" alone means zero.
    SUBCASE("us") { CHECK(parse_duration("7us").value() == 7us); }
    SUBCASE("ms") { CHECK(parse_duration("250ms").value() == 250ms); }
    SUBCASE("s") { CHECK(parse_duration("30s").value() == 30s); }
    SUBCASE("m") { CHECK(parse_duration("5m").value() == 5min); }
    SUBCASE("h") { CHECK(parse_duration("2h").value() == 2h); }
    SUBCASE("d") { CHECK(parse_duration("3d").value() == 72h); }
    SUBCASE("zero without unit") { CHECK(parse_duration("0").value() == 0ns); }
    SUBCASE("zero with unit") { CHECK(parse_duration("0ms").value() == 0ns); }
    SUBCASE("leading zeros are decimal") { CHECK(parse_duration("010s").value() == 10s); }
}

TEST_CASE("units: duration limits are exact") {
    // Proves the largest representable value is accepted and one unit more is rejected, both
    // for a number that fits uint64 but overflows the multiplication and one that overflows
    // uint64 itself.
    constexpr std::int64_t max_ns = std::numeric_limits<std::int64_t>::max();
    CHECK(parse_duration(std::to_string(max_ns / 1000) + "us").value().count() ==
          max_ns / 1000 * 1000);
    CHECK(parse_duration("106751d").value() == std::chrono::hours{106751 * 24});
    CHECK(duration_error("106752d") == "too large (at most 106751d)");
    CHECK(duration_error("18446744073709551615d") == "too large (at most 106751d)");
    CHECK(duration_error("99999999999999999999999s") == "too large (at most 106751d)");
}

TEST_CASE("units: malformed durations are rejected with a reason") {
    // Proves each kind of malformed duration gets its own message rather than a generic one.
    CHECK(duration_error("") == "empty value (expected a number followed by a unit, e.g. \"30s\")");
    CHECK(duration_error("30") == "missing unit, e.g. \"30s\"");
    CHECK(duration_error("5sec") == "unknown unit \"sec\" (expected one of: us, ms, s, m, h, d)");
    CHECK(duration_error("5S") == "unknown unit \"S\" (expected one of: us, ms, s, m, h, d)");
    CHECK(duration_error("5ns") == "unknown unit \"ns\" (expected one of: us, ms, s, m, h, d)");
    CHECK(duration_error("1.5s") == "fractions are not allowed; use a smaller unit");
    CHECK(duration_error("-1s") == "must not be negative");
    CHECK(duration_error("+1s") == "expected a number followed by a unit, e.g. \"30s\"");
    CHECK(duration_error("s") == "expected a number followed by a unit, e.g. \"30s\"");
    CHECK(duration_error(" 5s") == "whitespace is not allowed, e.g. \"30s\"");
    CHECK(duration_error("5 s") == "whitespace is not allowed, e.g. \"30s\"");
    CHECK(duration_error("5s ") == "whitespace is not allowed, e.g. \"30s\"");
    CHECK(duration_error("5m30s") == "unknown unit \"m30s\" (expected one of: us, ms, s, m, h, d)");
}

TEST_CASE("units: sizes parse in every unit") {
    // Proves binary units are powers of 1024, decimal ones powers of 1000, and no unit is bytes.
    CHECK(parse_size("0").value() == 0);
    CHECK(parse_size("100").value() == 100);
    CHECK(parse_size("100B").value() == 100);
    CHECK(parse_size("64KiB").value() == 65536);
    CHECK(parse_size("2MiB").value() == 2 * 1024 * 1024);
    CHECK(parse_size("3GiB").value() == 3ULL << 30);
    CHECK(parse_size("4TiB").value() == 4ULL << 40);
    CHECK(parse_size("5KB").value() == 5'000);
    CHECK(parse_size("6MB").value() == 6'000'000);
    CHECK(parse_size("7GB").value() == 7'000'000'000);
    CHECK(parse_size("8TB").value() == 8'000'000'000'000);
}

TEST_CASE("units: size limits are exact") {
    // Proves uint64's maximum is accepted and any overflow, of the number or of the product, is
    // rejected instead of wrapping.
    CHECK(parse_size("18446744073709551615").value() == std::numeric_limits<std::uint64_t>::max());
    CHECK(parse_size("16777215TiB").value() == 16777215ULL << 40);
    CHECK(size_error("18446744073709551616") == "too large (at most 16EiB - 1B)");
    CHECK(size_error("16777216TiB") == "too large (at most 16EiB - 1B)");
    CHECK(size_error("18446744073709551615KB") == "too large (at most 16EiB - 1B)");
}

TEST_CASE("units: malformed sizes are rejected with a reason") {
    // Proves the same checks as for durations, with size wording and units.
    const std::string units = " (expected one of: B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)";
    CHECK(size_error("") ==
          "empty value (expected a number of bytes, optionally followed by a unit, e.g. "
          "\"64KiB\")");
    CHECK(size_error("64kb") == "unknown unit \"kb\"" + units);
    CHECK(size_error("64K") == "unknown unit \"K\"" + units);
    CHECK(size_error("1.5MiB") == "fractions are not allowed; use a smaller unit");
    CHECK(size_error("-1KiB") == "must not be negative");
    CHECK(size_error(" 1KiB") == "whitespace is not allowed, e.g. \"64KiB\"");
    CHECK(size_error("KiB") ==
          "expected a number of bytes, optionally followed by a unit, e.g. \"64KiB\"");
}

TEST_CASE("units: durations format in the largest exact unit") {
    // Proves formatting picks the largest unit that loses nothing, and that it reads back.
    CHECK(format_duration(0ns) == "0s");
    CHECK(format_duration(5min) == "5m");
    CHECK(format_duration(90s) == "90s");
    CHECK(format_duration(250ms) == "250ms");
    CHECK(format_duration(1500us) == "1500us");
    CHECK(format_duration(48h) == "2d");
    CHECK(format_duration(25h) == "25h");
    CHECK(format_duration(1001ns) == "1001ns");
    CHECK(format_duration(-30s) == "-30s");
    CHECK(format_duration(std::chrono::nanoseconds::min()) == "-9223372036854775808ns");
    const std::chrono::nanoseconds samples[] = {0ns, 7000ns, 20s, 5min, 61min, 24h, 1000h};
    for (const auto d : samples) {
        CHECK(parse_duration(format_duration(d)).value() == d);
    }
}

TEST_CASE("units: sizes format in the largest exact binary unit") {
    // Proves formatting uses binary units up to TiB, so every result reads back.
    CHECK(format_size(0) == "0B");
    CHECK(format_size(100) == "100B");
    CHECK(format_size(1000) == "1000B");
    CHECK(format_size(65536) == "64KiB");
    CHECK(format_size(1536) == "1536B");
    CHECK(format_size(64ULL << 20) == "64MiB");
    CHECK(format_size(1ULL << 50) == "1024TiB");
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    for (const std::uint64_t bytes :
         {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{65536}, std::uint64_t{1} << 50, max}) {
        CHECK(parse_size(format_size(bytes)).value() == bytes);
    }
}
