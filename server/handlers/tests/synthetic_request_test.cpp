// Unit tests for the synthetic handler's request line: defaults, overrides, and every way a
// peer's line can be wrong, each with the reason the peer is sent.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "pier/handlers/synthetic_request.hpp"

using namespace std::chrono_literals;
using pier::handlers::parse_synthetic_request;
using pier::handlers::synthetic_request;

namespace {

const synthetic_request defaults{1ms, 2ms, 7};

synthetic_request parse_ok(std::string_view line) {
    const auto parsed = parse_synthetic_request(line, defaults);
    if (!parsed) FAIL(parsed.error());
    return parsed.value();
}

std::string parse_error(std::string_view line) {
    const auto parsed = parse_synthetic_request(line, defaults);
    REQUIRE_FALSE(parsed);
    return parsed.error();
}

}  // namespace

TEST_CASE("synthetic request: an empty line takes every default") {
    for (const std::string_view line : {"", "\r", "   ", " \r"}) {
        CAPTURE(line);
        const auto r = parse_ok(line);
        CHECK(r.cpu == 1ms);
        CHECK(r.delay == 2ms);
        CHECK(r.size == 7);
    }
}

TEST_CASE("synthetic request: tokens override the defaults, in any order and spacing") {
    const auto all = parse_ok("cpu=250us delay=10ms size=128\r");
    CHECK(all.cpu == 250us);
    CHECK(all.delay == 10ms);
    CHECK(all.size == 128);
    const auto some = parse_ok("  size=1KiB   cpu=0 ");
    CHECK(some.cpu == 0ns);
    CHECK(some.delay == 2ms);  // the default
    CHECK(some.size == 1024);
    CHECK(parse_ok("size=1").size == 1);
    CHECK(parse_ok("cpu=10s").cpu == 10s);
    CHECK(parse_ok("delay=10m").delay == 10min);
    CHECK(parse_ok("size=64MiB").size == 64ULL << 20);
}

TEST_CASE("synthetic request: a bad line names the token and why") {
    CHECK(parse_error("cpu=1ms frob=2") ==
          "unknown token \"frob=2\" (expected cpu=, delay= or size=)");
    CHECK(parse_error("GET / HTTP/1.1") ==
          "unknown token \"GET\" (expected cpu=, delay= or size=)");
    CHECK(parse_error("cpu") == "token \"cpu\" needs a value, e.g. cpu=10ms");
    CHECK(parse_error("size") == "token \"size\" needs a value, e.g. size=128");
    CHECK(parse_error("cpu=fast").find("bad cpu \"fast\": ") == 0);
    CHECK(parse_error("delay=10").find("bad delay \"10\": missing unit") == 0);
    CHECK(parse_error("size=-1").find("bad size \"-1\": ") == 0);
    CHECK(parse_error("cpu=11s") == "cpu must be at most 10s (got \"11s\")");
    CHECK(parse_error("delay=1h") == "delay must be at most 10m (got \"1h\")");
    CHECK(parse_error("size=0") == "size must be between 1 (the newline) and 64MiB (got \"0\")");
    CHECK(parse_error("size=65MiB") ==
          "size must be between 1 (the newline) and 64MiB (got \"65MiB\")");
    CHECK(parse_error("cpu=1ms cpu=2ms") == "cpu given twice");
}

TEST_CASE("synthetic request: a peer's bytes are shown bounded and printable") {
    const std::string binary = std::string("\x01\xff", 2) + std::string(100, 'a') + "=1";
    const auto reason = parse_error(binary);
    CHECK(reason ==
          "unknown token \"??" + std::string(30, 'a') + "...\" (expected cpu=, delay= or size=)");
}
