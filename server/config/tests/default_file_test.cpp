// Unit tests for config/pier.yaml, the file the README runs: it loads, and it documents every key
// with a default that matches config.hpp.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "pier/config/config.hpp"
#include "pier/config/parse.hpp"

using namespace std::chrono_literals;
using namespace pier::config;

namespace {

const std::string default_file = PIER_SOURCE_DIR "/config/pier.yaml";

std::string read_default_file() {
    std::ifstream in(default_file);
    REQUIRE(in.good());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// Checks that `c` has the values documented for config/pier.yaml.
void check_documented_values(const config& c) {
    CHECK(c.runtime.threads == 0);
    CHECK(c.runtime.scheduler == scheduler_kind::work_stealing);
    CHECK_FALSE(c.runtime.busy_polling);
    CHECK(c.log.level == log_level::info);
    CHECK(c.log.format == log_format::text);
    CHECK(c.shutdown.drain_timeout == 20s);
    CHECK(c.admin.enabled);
    CHECK(c.admin.listen.to_string() == "127.0.0.1:9090");
    CHECK(c.admin.max_connections == 16);
    CHECK(c.admin.timeout == 10s);
    CHECK(c.admin.keepalive_timeout == 5s);
    REQUIRE(c.listeners.size() == 1);
    const listener_config& l = c.listeners[0];
    CHECK(l.name == "echo");
    CHECK(l.listen.to_string() == "0.0.0.0:7000");
    CHECK(l.backlog == 1024);
    CHECK(l.handler == pier::config::handler_kind::echo);
    CHECK(l.max_connections == 10000);
    CHECK(l.idle_timeout == 5min);
    CHECK(l.write_timeout == 60s);
    CHECK(l.request_timeout == 10s);
    CHECK(l.max_connections_per_ip == 0);
    CHECK(c.limits.max_connections == 0);
    CHECK(l.echo.max_buffer == 64 * 1024);
    CHECK(l.synthetic.cpu == 0s);
    CHECK(l.synthetic.delay == 0s);
    CHECK(l.synthetic.response_bytes == 3);
    CHECK(l.synthetic.max_line == 4096);
    CHECK(l.proxy == proxy_config{});
    CHECK_FALSE(l.accept_proxy);
}

// Every key of the schema, as it appears (commented out or not) in the default file.
const char* const all_keys[] = {"threads",
                                "tls",
                                "certificate",
                                "key",
                                "min_version",
                                "ciphers",
                                "ciphersuites",
                                "alpn",
                                "level",
                                "format",
                                "drain_timeout",
                                "name",
                                "listen",
                                "backlog",
                                "handler",
                                "max_connections",
                                "idle_timeout",
                                "max_buffer",
                                "runtime",
                                "log",
                                "shutdown",
                                "listeners",
                                "echo",
                                "synthetic",
                                "cpu",
                                "delay",
                                "response_bytes",
                                "max_line",
                                "scheduler",
                                "admin",
                                "timeout",
                                "write_timeout",
                                "request_timeout",
                                "busy_polling",
                                "limits",
                                "max_connections_per_ip",
                                "proxy",
                                "upstreams",
                                "balance",
                                "connect_timeout",
                                "retries",
                                "max_fails",
                                "fail_timeout",
                                "send_proxy",
                                "half_close_timeout",
                                "health_check",
                                "interval",
                                "rise",
                                "fall",
                                "send",
                                "expect",
                                "accept_proxy"};

}  // namespace

TEST_CASE("config: the default file loads with the documented values") {
    // Proves config/pier.yaml is valid and yields one echo listener on 0.0.0.0:7000 with every
    // other value at its default.
    const parse_result result = load_config(default_file);
    for (const auto& error : result.errors) {
        FAIL_CHECK(error.to_string());
    }
    REQUIRE(result.ok());
    check_documented_values(*result.value);
}

TEST_CASE("config: the default file documents every key with its default") {
    // Proves every key appears in the file, and that uncommenting the commented-out ones changes
    // nothing: the defaults the file documents are the defaults the code has.
    const std::string text = read_default_file();
    for (const char* key : all_keys) {
        CAPTURE(key);
        const std::regex line("(^|\\n) *(# +)?(- )?" + std::string(key) + ":");
        CHECK(std::regex_search(text, line));
    }

    // (Not the proxy's idle_timeout, which is unset by default: its line shows an example.)
    const std::regex commented_key(
        "(^|\\n)(?! {6}# idle_timeout:)( *)# "
        "(threads|scheduler|busy_polling|level|format|drain_timeout|backlog|max_connections|idle_"
        "timeout|"
        "max_buffer|cpu|delay|response_bytes|max_line|timeout|write_timeout|request_timeout|"
        "max_connections_per_ip|"
        "balance|connect_timeout|retries|max_fails|fail_timeout|send_proxy|accept_proxy)"
        ":");
    const std::string uncommented = std::regex_replace(text, commented_key, "$1$2$3:");
    REQUIRE(uncommented != text);
    const parse_result result = parse_config(uncommented, "uncommented pier.yaml");
    for (const auto& error : result.errors) {
        FAIL_CHECK(error.to_string());
    }
    REQUIRE(result.ok());
    check_documented_values(*result.value);
}
