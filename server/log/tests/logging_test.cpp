// Logging: the JSON line format and the rate limiter, without touching stderr.
#include <doctest/doctest.h>
#include <spdlog/details/log_msg.h>

#include "pier/log/logging.hpp"
#include "pier/log/rate_limiter.hpp"

namespace pier::log {
namespace {

std::string format_json(std::string_view payload, spdlog::level::level_enum level) {
    spdlog::details::log_msg msg("pier", level,
                                 spdlog::string_view_t(payload.data(), payload.size()));
    spdlog::memory_buf_t out;
    make_json_formatter()->format(msg, out);
    return {out.data(), out.size()};
}

/// The record without its timestamp, which varies.
std::string without_ts(const std::string& line) {
    const auto level = line.find(",\"level\"");
    REQUIRE(line.rfind("{\"ts\":\"", 0) == 0);
    REQUIRE(level != std::string::npos);
    return "{" + line.substr(level + 1);
}

// Proves a message with key=value fields becomes one JSON object with those fields.
TEST_CASE("log: json lines carry msg and key=value fields") {
    SUBCASE("fields") {
        CHECK(without_ts(
                  format_json("listening listener=echo addr=0.0.0.0:7000", spdlog::level::info)) ==
              "{\"level\":\"info\",\"msg\":\"listening\",\"listener\":\"echo\","
              "\"addr\":\"0.0.0.0:7000\"}\n");
    }
    SUBCASE("no fields") {
        CHECK(without_ts(format_json("ready", spdlog::level::warn)) ==
              "{\"level\":\"warning\",\"msg\":\"ready\"}\n");
    }
    SUBCASE("values with spaces and characters JSON must escape") {
        CHECK(without_ts(format_json("accept failed error=Too many \"open\" files\\ n=3",
                                     spdlog::level::err)) ==
              "{\"level\":\"error\",\"msg\":\"accept failed\",\"error\":\"Too many \\\"open\\\" "
              "files\\\\\",\"n\":\"3\"}\n");
    }
}

// Proves the rate limiter lets one event per interval through and reports what it held back.
TEST_CASE("log: rate_limiter allows one event per interval and counts the rest") {
    rate_limiter limiter(std::chrono::seconds(1));
    const std::chrono::steady_clock::time_point t0(std::chrono::seconds(100));
    CHECK(limiter.allow(t0) == 1);
    CHECK(limiter.allow(t0 + std::chrono::milliseconds(10)) == 0);
    CHECK(limiter.allow(t0 + std::chrono::milliseconds(500)) == 0);
    // The next allowed event carries the two suppressed ones and itself.
    CHECK(limiter.allow(t0 + std::chrono::seconds(1)) == 3);
    CHECK(limiter.allow(t0 + std::chrono::seconds(3)) == 1);
}

}  // namespace
}  // namespace pier::log
