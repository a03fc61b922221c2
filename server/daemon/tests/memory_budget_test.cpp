// The worst-case buffer memory of a config and the warning with its arithmetic.
#include <doctest/doctest.h>

#include "pier/config/parse.hpp"
#include "pier/daemon/memory_budget.hpp"

namespace pier::daemon {
namespace {

config::config parse(const std::string& yaml) {
    auto result = config::parse_config(yaml, "t.yaml");
    REQUIRE_MESSAGE(result.ok(), (result.errors.empty() ? "" : result.errors[0].to_string()));
    return std::move(*result.value);
}

std::string listener(const std::string& name, const std::string& handler, const std::string& rest) {
    return "  - name: " + name + "\n    listen: \"127.0.0.1:0\"\n    handler: " + handler + "\n" +
           rest;
}

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;

// Proves each handler's per-connection bound times max_connections, summed over listeners.
TEST_CASE("memory budget: each handler's bound times its max_connections") {
    const auto cfg = parse(
        "listeners:\n" + listener("e", "echo", "    max_connections: 10\n") +
        listener("s", "synthetic", "    max_connections: 20\n    synthetic: { max_line: 1KiB }\n") +
        listener("p", "proxy",
                 "    max_connections: 30\n    proxy: { upstreams: [\"127.0.0.1:1\"], "
                 "max_buffer: 32KiB }\n"));
    const std::uint64_t echo = 10 * (64 * KiB);                 // default max_buffer
    const std::uint64_t synthetic = 20 * (1 * KiB + 16 * KiB);  // max_line + one read
    const std::uint64_t proxy = 30 * 2 * 32 * KiB;              // per direction
    CHECK(worst_case_buffer_memory(cfg) == echo + synthetic + proxy);
}

// Proves limits.max_connections caps the total: that many connections of the largest kind.
TEST_CASE("memory budget: limits.max_connections caps the sum") {
    const auto cfg =
        parse("limits: { max_connections: 5 }\nlisteners:\n" +
              listener("a", "echo", "    max_connections: 100\n") +
              listener("b", "echo", "    max_connections: 100\n    echo: { max_buffer: 1MiB }\n"));
    CHECK(worst_case_buffer_memory(cfg) == 5 * MiB);
}

// Proves the warning appears only past the memory pierd may use, and shows the arithmetic
// and what set that memory.
TEST_CASE("memory budget: the warning names each listener's arithmetic") {
    const auto cfg =
        parse("listeners:\n" + listener("front", "proxy",
                                        "    max_connections: 10000\n    proxy: { upstreams: "
                                        "[\"127.0.0.1:1\"], max_buffer: 64MiB }\n"));
    CHECK(worst_case_buffer_memory(cfg) == 10000 * 2 * 64 * MiB);
    CHECK_FALSE(buffer_memory_warning(cfg, {2048 * GiB, "m"}));  // 1.2TiB fits in 2TiB
    CHECK_FALSE(buffer_memory_warning(cfg, {0, "m"}));           // memory unknown: no guess
    const auto warning = buffer_memory_warning(cfg, {16 * GiB, "cgroup limit in /x/memory.max"});
    REQUIRE(warning);
    CHECK_MESSAGE(warning->find("up to 1.2TiB") != std::string::npos, *warning);
    CHECK(warning->find("more than the 16.0GiB of memory pierd may use (cgroup limit in "
                        "/x/memory.max)") != std::string::npos);
    CHECK(warning->find("listener \"front\": max_connections 10000 x 2 x max_buffer 64MiB = "
                        "1.2TiB") != std::string::npos);
}

// Proves the warning stays one readable line for a config with many listeners: the largest
// ten terms, then a count of the rest.
TEST_CASE("memory budget: the warning shows the ten largest listeners and counts the rest") {
    std::string yaml = "listeners:\n";
    for (int i = 0; i < 25; ++i) {
        const bool big = i == 20;  // listed late, shown first
        yaml += listener("l" + std::to_string(i), "echo",
                         "    max_connections: 1000000\n    echo: { max_buffer: " +
                             std::string(big ? "64MiB" : "1MiB") + " }\n");
    }
    const auto warning = buffer_memory_warning(parse(yaml), {1 * GiB, "m"});
    REQUIRE(warning);
    CHECK_MESSAGE(warning->find("listener \"l20\"") < warning->find("listener \"l0\""), *warning);
    CHECK(warning->find("listener \"l8\"") != std::string::npos);
    CHECK(warning->find("listener \"l9\"") == std::string::npos);  // l20 took its place
    CHECK(warning->find("15 more listener(s)") != std::string::npos);
}

// Proves the defaults fit a small machine: the bundled limits are not themselves a warning.
TEST_CASE("memory budget: default listeners fit in 1GiB") {
    const auto cfg = parse("listeners:\n" + listener("e", "echo", "") +
                           listener("p", "proxy", "    proxy: { upstreams: [\"127.0.0.1:1\"] }\n"));
    // 10000 x 64KiB + 10000 x 2 x 16KiB = 937.5MiB.
    CHECK(worst_case_buffer_memory(cfg) == 10000 * 64 * KiB + 10000 * 2 * 16 * KiB);
    CHECK_FALSE(buffer_memory_warning(cfg, {1 * GiB, "m"}));
}

}  // namespace
}  // namespace pier::daemon
