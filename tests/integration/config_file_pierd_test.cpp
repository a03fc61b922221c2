// The real pierd given a config path that names something other than a config: a FIFO, a
// device, a file too large. Each is refused at once (exit 78, or a failed reload) and nothing
// waits on it: not --check-config, not start-up, not SIGHUP, not the SIGTERM after.
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include "pier/config/config_file.hpp"
#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/sanitizers.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

const std::string pierd = PIERD_PATH;
constexpr auto line_timeout = std::chrono::seconds(20);

std::string daemon_yaml() {
    return "runtime:\n  threads: 2\nadmin:\n  listen: \"127.0.0.1:0\"\nlisteners:\n"
           "  - name: echo\n    listen: \"127.0.0.1:0\"\n";
}

std::filesystem::path make_fifo(const temp_dir& dir, const std::string& name) {
    const auto path = dir.path() / name;
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    return path;
}

/// A file of `bytes` comment characters: valid YAML, only too large.
void write_large(const std::filesystem::path& path, std::size_t bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const std::string line(1023, '#');
    for (std::size_t written = 0; written < bytes; written += 1024) out << line << '\n';
}

/// A field of /proc/PID/status in KiB: "VmHWM:" (the peak resident set) or "VmRSS:" (now).
long status_kib(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string word;
    while (status >> word) {
        if (word == field) {
            long kib = 0;
            status >> kib;
            return kib;
        }
    }
    FAIL("no " << field << " in /proc/" << pid << "/status");
    return 0;
}

/// Valid YAML of `nodes` nodes that is not a valid config (an unknown key): the most a reload
/// parses before it fails.
std::string many_nodes_yaml(std::size_t nodes) {
    std::string yaml = "unknown: [1";
    for (std::size_t i = 4; i < nodes; ++i) yaml += ",1";
    return yaml + "]\n";
}

// Proves a FIFO is refused, not waited on: before the fix both commands hung with no output.
TEST_CASE("pierd: a FIFO as the config is refused at once by --check-config and at start") {
    temp_dir dir;
    const auto fifo = make_fifo(dir, "fifo.yaml");
    for (const auto& args : {std::vector<std::string>{"--check-config", "--config", fifo.string()},
                             pierd_serve_args(fifo)}) {
        child_process child(pierd, args);
        const auto code = child.wait_exit(std::chrono::seconds(20));
        REQUIRE_MESSAGE(code.has_value(), child.output());
        CHECK(*code == 78);
        CHECK_MESSAGE(child.output().find(fifo.string() + ": not a regular file (a FIFO)") !=
                          std::string::npos,
                      child.output());
    }
}

// Proves a file over the size cap is refused before it is read: before, /dev/zero was read
// until memory ran out.
TEST_CASE("pierd: --check-config refuses /dev/zero and a file over the size cap") {
    temp_dir dir;
    const auto large = dir.path() / "large.yaml";
    write_large(large, 17 * 1024 * 1024);
    child_process zero(pierd, {"--check-config", "--config", "/dev/zero"});
    CHECK(zero.wait_exit(std::chrono::seconds(20)) == std::optional<int>(78));
    CHECK(zero.output().find("/dev/zero: not a regular file (a character device)") !=
          std::string::npos);
    child_process too_large(pierd, {"--check-config", "--config", large.string()});
    CHECK(too_large.wait_exit(std::chrono::seconds(20)) == std::optional<int>(78));
    CHECK_MESSAGE(too_large.output().find(large.string() + ": larger than 16777216 bytes") !=
                      std::string::npos,
                  too_large.output());
}

// Proves SIGHUP with the config replaced by a link to a FIFO, then by a file over the cap, fails
// each reload at once and counts it, the daemon's peak memory stays where it was, a file at the
// node limit that fails leaves no memory behind, a corrected file still applies, and SIGTERM
// exits. Before the fix the FIFO blocked the signal loop: no
// later signal was handled, and the process did not exit.
TEST_CASE("pierd: SIGHUP onto a FIFO or an oversized file fails the reload and blocks nothing") {
    temp_dir dir;
    const auto config = dir.write("pier.yaml", daemon_yaml());
    child_process child(pierd, pierd_serve_args(config));
    const auto admin_line = child.wait_for_line("admin listening", line_timeout);
    REQUIRE_MESSAGE(admin_line.has_value(), child.output());
    REQUIRE(child.wait_for_line("ready", line_timeout).has_value());
    const auto admin = endpoint_from_log(*admin_line);
    const long peak_before = status_kib(child.pid(), "VmHWM:");
    const long rss_before = status_kib(child.pid(), "VmRSS:");

    std::filesystem::remove(config);
    std::filesystem::create_symlink(make_fifo(dir, "fifo.yaml"), config);
    child.send_signal(SIGHUP);
    const auto fifo_failure =
        child.wait_for_line("reload: " + config.string() + ": ", line_timeout);
    REQUIRE_MESSAGE(fifo_failure.has_value(), child.output());
    CHECK(fifo_failure->find("not a regular file (a FIFO)") != std::string::npos);
    // Each reload ends with one such line: the next SIGHUP must not merge into this one.
    REQUIRE(child.wait_for_line("reload failed", line_timeout).has_value());

    std::filesystem::remove(config);
    write_large(config, 64 * 1024 * 1024);
    child.send_signal(SIGHUP);
    const auto size_failure =
        child.wait_for_line("reload: " + config.string() + ": ", line_timeout);
    REQUIRE_MESSAGE(size_failure.has_value(), child.output());
    CHECK(size_failure->find("larger than 16777216 bytes") != std::string::npos);
    REQUIRE(child.wait_for_line("reload failed", line_timeout).has_value());
    // Refused before reading: not even the file's 64 MiB were held.
    CHECK(status_kib(child.pid(), "VmHWM:") - peak_before < 8 * 1024);

    // A file at the node limit is parsed (tens of MB), fails, and its memory is given back.
    std::filesystem::remove(config);
    dir.write("pier.yaml", many_nodes_yaml(pier::config::max_config_nodes));
    child.send_signal(SIGHUP);
    REQUIRE_MESSAGE(child.wait_for_line("reload failed", line_timeout).has_value(), child.output());

    dir.write("pier.yaml", daemon_yaml());
    child.send_signal(SIGHUP);
    REQUIRE_MESSAGE(child.wait_for_line("reload complete", line_timeout).has_value(),
                    child.output());
    // The failed reload's parse peaked well above; what stays is within 4 MiB of the start
    // (before the fix, 45 MB more stayed for good). Not under a sanitizer's allocator, which
    // keeps what is freed.
    CHECK(status_kib(child.pid(), "VmHWM:") - peak_before > 16 * 1024);
    if (!sanitizer_allocator) CHECK(status_kib(child.pid(), "VmRSS:") - rss_before < 4 * 1024);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto reply = co_await get(admin, "/metrics");
            CHECK(has_line(reply.body, "pier_config_reloads_total{result=\"failure\"} 3"));
            CHECK(has_line(reply.body, "pier_config_reloads_total{result=\"success\"} 1"));
        },
        20s);

    child.send_signal(SIGTERM);
    CHECK(child.wait_exit(std::chrono::seconds(20)) == std::optional<int>(0));
}

}  // namespace
}  // namespace pier::test
