// Unit tests for parse_config and load_config: values, and every kind of error with its exact
// message and position. Positions are 1-based; each YAML snippet notes the lines it spans.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "pier/config/config.hpp"
#include "pier/config/config_file.hpp"
#include "pier/config/parse.hpp"
#include "pier/config/units.hpp"

using namespace std::chrono_literals;
using namespace pier::config;

namespace {

// Lines 1-3: one valid listener. Keys appended to it start at line 4, column 5.
const std::string one_listener =
    "listeners:\n"
    "  - name: a\n"
    "    listen: 127.0.0.1:7000\n";

parse_result parse(std::string_view text) { return parse_config(text, "t.yaml"); }

/// The single error `text` produces, formatted.
std::string only_error(std::string_view text) {
    const parse_result result = parse(text);
    REQUIRE(result.errors.size() == 1);
    CHECK_FALSE(result.value.has_value());
    return result.errors[0].to_string();
}

/// Every error `text` produces, formatted, in order.
std::vector<std::string> all_errors(std::string_view text) {
    std::vector<std::string> out;
    for (const auto& error : parse(text).errors) {
        out.push_back(error.to_string());
    }
    return out;
}

/// The config `text` produces; fails the test if it has errors.
config parse_ok(std::string_view text) {
    const parse_result result = parse(text);
    for (const auto& error : result.errors) {
        FAIL_CHECK(error.to_string());
    }
    REQUIRE(result.ok());
    REQUIRE(result.value.has_value());
    return *result.value;
}

/// The listener of a one-listener file whose `listen:` is `value` (line 3, column 13).
std::string with_listen(std::string_view value) {
    return "listeners:\n  - name: a\n    listen: " + std::string(value) + "\n";
}

}  // namespace

TEST_CASE("config: a minimal file yields the defaults") {
    // Proves only `listeners` with a name and an address is required, and every other field
    // keeps the default declared in config.hpp.
    const config c = parse_ok(one_listener);
    CHECK(c.runtime.threads == 0);
    CHECK_FALSE(c.runtime.busy_polling);
    CHECK(c.log.level == log_level::info);
    CHECK(c.log.format == log_format::text);
    CHECK(c.shutdown.drain_timeout == 20s);
    REQUIRE(c.listeners.size() == 1);
    const listener_config& l = c.listeners[0];
    CHECK(l.name == "a");
    CHECK(l.listen.host == "127.0.0.1");
    CHECK(l.listen.port == 7000);
    CHECK(l.backlog == 1024);
    CHECK(l.handler == pier::config::handler_kind::echo);
    CHECK(l.max_connections == 10000);
    CHECK(l.max_connections_per_ip == 0);
    CHECK(c.limits.max_connections == 0);
    CHECK(l.idle_timeout == 5min);
    CHECK(l.write_timeout == 60s);
    CHECK(l.request_timeout == 10s);
    CHECK(l.echo.max_buffer == 65536);
}

TEST_CASE("config: every key round-trips with a non-default value") {
    // Proves each key reaches its field, and that the values format back as written.
    const config c = parse_ok(
        "runtime:\n"
        "  threads: 8\n"
        "  scheduler: pinned\n"
        "  busy_polling: true\n"
        "log:\n"
        "  level: debug\n"
        "  format: json\n"
        "shutdown:\n"
        "  drain_timeout: 1500ms\n"
        "limits:\n"
        "  max_connections: 500\n"
        "listeners:\n"
        "  - name: edge.v6-1_x\n"
        "    listen: \"[::1]:7443\"\n"
        "    backlog: 128\n"
        "    handler: echo\n"
        "    max_connections: 42\n"
        "    max_connections_per_ip: 7\n"
        "    idle_timeout: 0\n"
        "    write_timeout: 5s\n"
        "    request_timeout: 2500ms\n"
        "    echo:\n"
        "      max_buffer: 1MiB\n"
        "    synthetic:\n"
        "      cpu: 250us\n"
        "      delay: 10ms\n"
        "      response_bytes: 1KiB\n"
        "      max_line: 64KiB\n"
        "  - name: second\n"
        "    handler: synthetic\n"
        "    listen: 10.0.0.1:0\n"
        "    idle_timeout: 24h\n");
    CHECK(c.runtime.threads == 8);
    CHECK(c.runtime.scheduler == scheduler_kind::pinned);
    CHECK(c.runtime.busy_polling);
    CHECK(c.log.level == log_level::debug);
    CHECK(c.log.format == log_format::json);
    CHECK(format_duration(c.shutdown.drain_timeout) == "1500ms");
    REQUIRE(c.listeners.size() == 2);
    const listener_config& first = c.listeners[0];
    CHECK(first.name == "edge.v6-1_x");
    CHECK(first.listen.host == "::1");
    CHECK(first.listen.port == 7443);
    CHECK(first.listen.to_string() == "[::1]:7443");
    CHECK(first.backlog == 128);
    CHECK(first.handler == pier::config::handler_kind::echo);
    CHECK(first.max_connections == 42);
    CHECK(first.max_connections_per_ip == 7);
    CHECK(c.limits.max_connections == 500);
    CHECK(first.idle_timeout == 0ns);
    CHECK(first.write_timeout == 5s);
    CHECK(format_duration(first.request_timeout) == "2500ms");
    CHECK(format_size(first.echo.max_buffer) == "1MiB");
    CHECK(format_duration(first.synthetic.cpu) == "250us");
    CHECK(format_duration(first.synthetic.delay) == "10ms");
    CHECK(format_size(first.synthetic.response_bytes) == "1KiB");
    CHECK(format_size(first.synthetic.max_line) == "64KiB");
    const listener_config& second = c.listeners[1];
    CHECK(second.handler == pier::config::handler_kind::synthetic);
    CHECK(second.name == "second");
    CHECK(second.listen.to_string() == "10.0.0.1:0");
    CHECK(second.idle_timeout == 24h);
    CHECK(second.echo.max_buffer == 65536);
}

TEST_CASE("config: the admin endpoint is off without a section, on with one") {
    // Proves the endpoint is opt-in, that an empty `admin:` turns it on at the loopback
    // default, and that its keys reach their fields.
    CHECK_FALSE(parse_ok(one_listener).admin.enabled);

    const config empty = parse_ok("admin:\n" + one_listener);
    CHECK(empty.admin.enabled);
    CHECK(empty.admin.listen.to_string() == "127.0.0.1:9090");
    CHECK(empty.admin.max_connections == 16);
    CHECK(empty.admin.timeout == 10s);
    CHECK(empty.admin.keepalive_timeout == 5s);

    const config set = parse_ok(
        "admin:\n  listen: \"[::1]:9191\"\n  max_connections: 4\n  timeout: 2s\n"
        "  keepalive_timeout: 300ms\n" +
        one_listener);
    CHECK(set.admin.enabled);
    CHECK(set.admin.listen.to_string() == "[::1]:9191");
    CHECK(set.admin.max_connections == 4);
    CHECK(set.admin.timeout == 2s);
    CHECK(set.admin.keepalive_timeout == 300ms);
}

TEST_CASE("config: admin errors name the admin key") {
    // Proves a bad address, an address a listener already uses, and out-of-range values are
    // reported under admin.*.
    CHECK(only_error("admin:\n  listen: localhost:9090\n" + one_listener) ==
          "t.yaml:2:11: admin.listen: host must be an IP address, e.g. \"127.0.0.1\" or "
          "\"[::1]\" (got localhost:9090)");
    CHECK(only_error("admin:\n  listen: 127.0.0.1:7000\n" + one_listener) ==
          "t.yaml:5:13: listeners[0].listen: duplicate listen address, first defined at "
          "t.yaml:2:11 (got 127.0.0.1:7000)");
    CHECK(only_error("admin:\n  max_connections: 0\n" + one_listener) ==
          "t.yaml:2:20: admin.max_connections: must be between 1 and 1024 (got 0)");
    CHECK(only_error("admin:\n  timeout: 0\n" + one_listener) ==
          "t.yaml:2:12: admin.timeout: must be between 1ms and 10m (got 0)");
    CHECK(only_error("admin:\n  keepalive_timeout: 11m\n" + one_listener) ==
          "t.yaml:2:22: admin.keepalive_timeout: must be between 1ms and 10m (got 11m)");
}

TEST_CASE("config: log levels read back from their names") {
    // Proves to_string(log_level) spells each level as YAML accepts it, in enum order.
    for (const log_level level :
         {log_level::trace, log_level::debug, log_level::info, log_level::warn, log_level::error,
          log_level::critical, log_level::off}) {
        CAPTURE(to_string(level));
        const config c =
            parse_ok("log:\n  level: " + std::string(to_string(level)) + "\n" + one_listener);
        CHECK(c.log.level == level);
    }
}

TEST_CASE("config: listen addresses format with brackets around IPv6") {
    // Proves listen_address::to_string writes what parse_config reads.
    CHECK(listen_address{"0.0.0.0", 7000}.to_string() == "0.0.0.0:7000");
    CHECK(listen_address{"::", 0}.to_string() == "[::]:0");
    CHECK(listen_address{"fe80::1", 65535}.to_string() == "[fe80::1]:65535");
}

namespace {

/// Every value of `Enum` in its names table has a distinct name that reads back as itself,
/// and the YAML reader accepts exactly those names for `key`.
template <typename Enum>
void check_names_round_trip(const std::string& key_line,
                            void (*check_parsed)(const config&, Enum)) {
    std::vector<std::string_view> seen;
    for (const auto& entry : names_of(Enum{})) {
        CAPTURE(entry.name);
        CHECK(to_string(entry.value) == entry.name);
        CHECK(from_string<Enum>(entry.name) == entry.value);
        CHECK(std::find(seen.begin(), seen.end(), entry.name) == seen.end());
        seen.push_back(entry.name);
        auto yaml = key_line;
        yaml.replace(yaml.find("@"), 1, entry.name);
        check_parsed(parse_ok(yaml), entry.value);
    }
    CHECK(!from_string<Enum>("no-such-name"));
}

}  // namespace

TEST_CASE("config: each choice's names come from one table and read back as written") {
    // Proves to_string, from_string and the YAML reader agree for every value of every enum.
    check_names_round_trip<log_level>("log: {level: @}\n" + one_listener,
                                      [](const auto& c, log_level v) { CHECK(c.log.level == v); });
    check_names_round_trip<log_format>(
        "log: {format: @}\n" + one_listener,
        [](const auto& c, log_format v) { CHECK(c.log.format == v); });
    check_names_round_trip<scheduler_kind>(
        "runtime: {scheduler: @}\n" + one_listener,
        [](const auto& c, scheduler_kind v) { CHECK(c.runtime.scheduler == v); });
    const std::string listener =
        "listeners:\n  - name: a\n    listen: \"127.0.0.1:0\"\n"
        "    proxy: {upstreams: [\"127.0.0.1:1\"]}\n";
    check_names_round_trip<handler_kind>(
        listener + "    handler: @\n",
        [](const auto& c, handler_kind v) { CHECK(c.listeners.at(0).handler == v); });
    check_names_round_trip<balance_policy>(
        "listeners:\n  - name: a\n    listen: \"127.0.0.1:0\"\n"
        "    proxy: {upstreams: [\"127.0.0.1:1\"], balance: @}\n",
        [](const auto& c, balance_policy v) { CHECK(c.listeners.at(0).proxy.balance == v); });
    check_names_round_trip<proxy_protocol>(
        "listeners:\n  - name: a\n    listen: \"127.0.0.1:0\"\n"
        "    proxy: {upstreams: [\"127.0.0.1:1\"], send_proxy: @}\n",
        [](const auto& c, proxy_protocol v) { CHECK(c.listeners.at(0).proxy.send_proxy == v); });
}

TEST_CASE("config: errors format as file:line:col: key.path: what (got value)") {
    // Proves config_error::to_string leaves out exactly the parts that are empty.
    const config_error full{"f.yaml", 3, 7, "a.b", "bad", "x"};
    CHECK(full.to_string() == "f.yaml:3:7: a.b: bad (got x)");
    SUBCASE("no position") {
        config_error e = full;
        e.line = 0;
        e.column = 0;
        CHECK(e.to_string() == "f.yaml: a.b: bad (got x)");
    }
    SUBCASE("no got") {
        config_error e = full;
        e.got.clear();
        CHECK(e.to_string() == "f.yaml:3:7: a.b: bad");
    }
    SUBCASE("no key path") {
        config_error e = full;
        e.key_path.clear();
        e.got.clear();
        CHECK(e.to_string() == "f.yaml:3:7: bad");
    }
}

TEST_CASE("config: a syntax error is one error at the parser's position") {
    // Proves YAML syntax errors stop parsing with yaml-cpp's message and a 1-based position.
    SUBCASE("unclosed flow sequence, found missing at the end of the file") {
        CHECK(only_error("log:\n  level: [info\n") == "t.yaml:3:1: end of sequence flow not found");
    }
    SUBCASE("tab indentation") {
        CHECK(only_error("log:\n\tlevel: info\n") == "t.yaml:2:7: illegal map value");
    }
    SUBCASE("unquoted IPv6 listen address") {
        // "[" opens a flow sequence; the file comments tell operators to quote IPv6 addresses.
        CHECK(only_error(with_listen("[::1]:7000")) == "t.yaml:3:18: end of map not found");
    }
    SUBCASE("position fields") {
        const parse_result result = parse("log:\n\tlevel: info\n");
        REQUIRE(result.errors.size() == 1);
        CHECK(result.errors[0].source == "t.yaml");
        CHECK(result.errors[0].line == 2);
        CHECK(result.errors[0].column == 7);
        CHECK(result.errors[0].what == "illegal map value");
        CHECK(result.errors[0].key_path.empty());
        CHECK(result.errors[0].got.empty());
    }
}

TEST_CASE("config: an empty file or a non-map root is one error") {
    // Proves a file without a top-level map is rejected once, not once per missing key.
    const std::string empty = "t.yaml: empty config (expected a map with at least \"listeners\")";
    SUBCASE("empty") { CHECK(only_error("") == empty); }
    SUBCASE("only comments") { CHECK(only_error("# nothing here\n") == empty); }
    SUBCASE("null document") { CHECK(only_error("~\n") == empty); }
    SUBCASE("sequence") {
        CHECK(only_error("- a\n") ==
              "t.yaml:1:1: expected a map at the top level (got a sequence)");
    }
    SUBCASE("scalar") {
        CHECK(only_error("pier\n") == "t.yaml:1:1: expected a map at the top level (got pier)");
    }
    SUBCASE("second document") {  // named where it starts: its "---"
        CHECK(only_error(one_listener + "---\nfoo: 1\n") ==
              "t.yaml:4:1: only one YAML document is allowed");
    }
    // yaml-cpp 0.7's LoadAll never returns on these (found by fuzz_config): they must end,
    // with an error, like any other malformed file.
    SUBCASE("a stray comma") { CHECK(only_error(",") == empty); }
    SUBCASE("a stray comma after a document") {
        CHECK(only_error(one_listener + "---\n,0\n") ==
              "t.yaml:4:1: only one YAML document is allowed");
    }
}

TEST_CASE("config: unknown keys suggest the closest known key") {
    // Proves a misspelt key names the key it was probably meant to be and points at the key.
    SUBCASE("top level") {
        CHECK(only_error("logs:\n  level: info\n" + one_listener) ==
              "t.yaml:1:1: logs: unknown key, did you mean \"log\"?");
    }
    SUBCASE("runtime") {
        CHECK(only_error("runtime:\n  thread: 4\n" + one_listener) ==
              "t.yaml:2:3: runtime.thread: unknown key, did you mean \"threads\"?");
    }
    SUBCASE("listener") {
        CHECK(only_error(one_listener + "    idle_timout: 5m\n") ==
              "t.yaml:4:5: listeners[0].idle_timout: unknown key, did you mean "
              "\"idle_timeout\"?");
    }
    SUBCASE("listener, long key with three edits") {
        CHECK(only_error(one_listener + "    maxconection: 5\n") ==
              "t.yaml:4:5: listeners[0].maxconection: unknown key, did you mean "
              "\"max_connections\"?");
    }
    SUBCASE("listener, key extending a known key") {
        CHECK(only_error(one_listener + "    listen_address: 1.2.3.4:5\n") ==
              "t.yaml:4:5: listeners[0].listen_address: unknown key, did you mean \"listen\"?");
    }
    SUBCASE("handler section") {
        CHECK(only_error(one_listener + "    echo:\n      max_bufer: 1KiB\n") ==
              "t.yaml:5:7: listeners[0].echo.max_bufer: unknown key, did you mean "
              "\"max_buffer\"?");
    }
    SUBCASE("fields") {
        const parse_result result = parse(one_listener + "    idle_timout: 5m\n");
        REQUIRE(result.errors.size() == 1);
        const config_error& e = result.errors[0];
        CHECK(e.line == 4);
        CHECK(e.column == 5);
        CHECK(e.key_path == "listeners[0].idle_timout");
        CHECK(e.what == "unknown key, did you mean \"idle_timeout\"?");
        CHECK(e.got.empty());
    }
}

TEST_CASE("config: unknown keys far from any known key list the expected keys") {
    // Proves that without a close match the message lists the keys that map accepts, and that a
    // section named after no handler is an unknown key.
    SUBCASE("top level") {
        CHECK(only_error("foo: 1\n" + one_listener) ==
              "t.yaml:1:1: foo: unknown key (expected one of: runtime, log, shutdown, limits, "
              "admin, listeners)");
    }
    SUBCASE("unknown handler section") {
        CHECK(only_error(one_listener + "    http:\n      max_buffer: 1KiB\n") ==
              "t.yaml:4:5: listeners[0].http: unknown key (expected one of: name, listen, "
              "backlog, handler, max_connections, max_connections_per_ip, idle_timeout, "
              "write_timeout, request_timeout, accept_proxy, tls, echo, synthetic, proxy)");
    }
    SUBCASE("short key") {
        CHECK(only_error("log:\n  x: 1\n" + one_listener) ==
              "t.yaml:2:3: log.x: unknown key (expected one of: level, format)");
    }
}

TEST_CASE("config: duplicate keys in one map are rejected") {
    // Proves a key written twice is reported at the second, naming the first: yaml-cpp alone
    // would silently keep one of them.
    CHECK(only_error("log:\n  level: info\n  level: debug\n" + one_listener) ==
          "t.yaml:3:3: log.level: duplicate key, first defined at t.yaml:2:3");
}

TEST_CASE("config: wrong types name the expected type") {
    // Proves a map, sequence, empty value or text where something else belongs is reported
    // with what was expected and what was found, at the value (or at the key when empty).
    SUBCASE("map for threads") {
        CHECK(only_error("runtime:\n  threads: {a: 1}\n" + one_listener) ==
              "t.yaml:2:12: runtime.threads: expected \"auto\" or an integer (got a map)");
    }
    SUBCASE("sequence for an integer") {
        CHECK(only_error(one_listener + "    backlog: [1]\n") ==
              "t.yaml:4:14: listeners[0].backlog: expected an integer (got a sequence)");
    }
    SUBCASE("text for an integer") {
        CHECK(only_error(one_listener + "    backlog: lots\n") ==
              "t.yaml:4:14: listeners[0].backlog: expected an integer (got lots)");
    }
    SUBCASE("scalar for a section") {
        CHECK(only_error("runtime: 5\n" + one_listener) ==
              "t.yaml:1:10: runtime: expected a map (got 5)");
    }
    SUBCASE("empty value for a duration") {
        CHECK(only_error("shutdown:\n  drain_timeout:\n" + one_listener) ==
              "t.yaml:2:3: shutdown.drain_timeout: expected a duration, e.g. \"30s\" (got an "
              "empty value)");
    }
    SUBCASE("sequence for a choice") {
        CHECK(only_error("log:\n  level: [info]\n" + one_listener) ==
              "t.yaml:2:10: log.level: expected one of: trace, debug, info, warn, error, "
              "critical, off (got a sequence)");
    }
    SUBCASE("sequence for a name") {
        CHECK(only_error("listeners:\n  - name: [a]\n    listen: 127.0.0.1:1\n") ==
              "t.yaml:2:11: listeners[0].name: expected a string (got a sequence)");
    }
    SUBCASE("map for a size") {
        CHECK(only_error(one_listener + "    echo:\n      max_buffer: {}\n") ==
              "t.yaml:5:19: listeners[0].echo.max_buffer: expected a size, e.g. \"64KiB\" (got "
              "a map)");
    }
}

TEST_CASE("config: integers are strict decimal") {
    // Proves negative, fractional, hex, exponent, signed and overflowing integers are rejected
    // (yaml-cpp's as<unsigned> would accept several), each with the message that helps.
    const std::string range = "must be between 1 and 65535";
    const std::vector<std::pair<std::string, std::string>> cases{
        {"-1", range},
        {"0", range},
        {"65536", range},
        {"99999999999999999999999", range},
        {"1.5", "expected an integer"},
        {"0x10", "expected an integer"},
        {"1e3", "expected an integer"},
        {"+5", "expected an integer"},
        {"1_000", "expected an integer"},
        {"true", "expected an integer"},
    };
    SUBCASE("rejected") {
        // Not a structured binding: clang-14 cannot capture one in CAPTURE's lambda.
        for (const auto& test : cases) {
            const std::string& text = test.first;
            const std::string& what = test.second;
            CAPTURE(text);
            const parse_result result = parse(one_listener + "    backlog: " + text + "\n");
            REQUIRE(result.errors.size() == 1);
            CHECK(result.errors[0].key_path == "listeners[0].backlog");
            CHECK(result.errors[0].what == what);
            CHECK(result.errors[0].got == text);
            CHECK(result.errors[0].line == 4);
            CHECK(result.errors[0].column == 14);
        }
    }
    SUBCASE("bounds are inclusive") {
        CHECK(parse_ok(one_listener + "    backlog: 1\n").listeners[0].backlog == 1);
        CHECK(parse_ok(one_listener + "    backlog: 65535\n").listeners[0].backlog == 65535);
        CHECK(parse_ok(one_listener + "    max_connections: 10000000\n")
                  .listeners[0]
                  .max_connections == 10'000'000);
        CHECK(only_error(one_listener + "    max_connections: 10000001\n") ==
              "t.yaml:4:22: listeners[0].max_connections: must be between 1 and 10000000 (got "
              "10000001)");
    }
    SUBCASE("quoted digits are an integer") {
        CHECK(parse_ok(one_listener + "    backlog: \"12\"\n").listeners[0].backlog == 12);
    }
}

TEST_CASE("config: threads is auto or 1 to 1024") {
    // Proves "auto" maps to 0 and an explicit 0 is rejected, since 0 is not a thread count.
    const std::string head = "runtime:\n  threads: ";
    CHECK(parse_ok(head + "auto\n" + one_listener).runtime.threads == 0);
    CHECK(parse_ok(head + "1\n" + one_listener).runtime.threads == 1);
    CHECK(parse_ok(head + "1024\n" + one_listener).runtime.threads == 1024);
    CHECK(only_error(head + "0\n" + one_listener) ==
          "t.yaml:2:12: runtime.threads: must be \"auto\" or between 1 and 1024 (got 0)");
    CHECK(only_error(head + "1025\n" + one_listener) ==
          "t.yaml:2:12: runtime.threads: must be \"auto\" or between 1 and 1024 (got 1025)");
    CHECK(only_error(head + "many\n" + one_listener) ==
          "t.yaml:2:12: runtime.threads: expected \"auto\" or an integer (got many)");
}

TEST_CASE("config: durations and sizes report unit errors and ranges") {
    // Proves the units.hpp message reaches the config error, and each field's range is checked
    // in the field's units.
    SUBCASE("unknown unit") {
        CHECK(only_error("shutdown:\n  drain_timeout: 5sec\n" + one_listener) ==
              "t.yaml:2:18: shutdown.drain_timeout: unknown unit \"sec\" (expected one of: us, "
              "ms, s, m, h, d) (got 5sec)");
    }
    SUBCASE("missing unit") {
        CHECK(only_error(one_listener + "    idle_timeout: 30\n") ==
              "t.yaml:4:19: listeners[0].idle_timeout: missing unit, e.g. \"30s\" (got 30)");
    }
    SUBCASE("drain_timeout range") {
        CHECK(
            parse_ok("shutdown:\n  drain_timeout: 3600s\n" + one_listener).shutdown.drain_timeout ==
            1h);
        CHECK(parse_ok("shutdown:\n  drain_timeout: 0\n" + one_listener).shutdown.drain_timeout ==
              0s);
        CHECK(only_error("shutdown:\n  drain_timeout: 2h\n" + one_listener) ==
              "t.yaml:2:18: shutdown.drain_timeout: must be between 0s and 1h (got 2h)");
    }
    SUBCASE("idle_timeout range") {
        CHECK(only_error(one_listener + "    idle_timeout: 25h\n") ==
              "t.yaml:4:19: listeners[0].idle_timeout: must be between 0s and 1d (got 25h)");
    }
    SUBCASE("synthetic ranges") {
        const std::string head = one_listener + "    synthetic:\n      ";
        CHECK(parse_ok(head + "cpu: 10s\n").listeners[0].synthetic.cpu == 10s);
        CHECK(only_error(head + "cpu: 11s\n") ==
              "t.yaml:5:12: listeners[0].synthetic.cpu: must be between 0s and 10s (got 11s)");
        CHECK(only_error(head + "delay: 11m\n") ==
              "t.yaml:5:14: listeners[0].synthetic.delay: must be between 0s and 10m (got 11m)");
        CHECK(only_error(head + "response_bytes: 0\n") ==
              "t.yaml:5:23: listeners[0].synthetic.response_bytes: must be between 1B and 64MiB "
              "(got 0)");
        CHECK(only_error(head + "max_line: 32\n") ==
              "t.yaml:5:17: listeners[0].synthetic.max_line: must be between 64B and 1MiB (got "
              "32)");
        CHECK(only_error(head + "cpus: 1ms\n").find("did you mean \"cpu\"") != std::string::npos);
    }
    SUBCASE("max_buffer range") {
        const std::string head = one_listener + "    echo:\n      max_buffer: ";
        CHECK(parse_ok(head + "1024\n").listeners[0].echo.max_buffer == 1024);
        CHECK(parse_ok(head + "64MiB\n").listeners[0].echo.max_buffer == 64ULL << 20);
        CHECK(only_error(head + "512B\n") ==
              "t.yaml:5:19: listeners[0].echo.max_buffer: must be between 1KiB and 64MiB (got "
              "512B)");
        CHECK(only_error(head + "65MiB\n") ==
              "t.yaml:5:19: listeners[0].echo.max_buffer: must be between 1KiB and 64MiB (got "
              "65MiB)");
        CHECK(only_error(head + "64kb\n") ==
              "t.yaml:5:19: listeners[0].echo.max_buffer: unknown unit \"kb\" (expected one of: "
              "B, KiB, MiB, GiB, TiB, KB, MB, GB, TB) (got 64kb)");
    }
}

TEST_CASE("config: choices suggest the closest name") {
    // Proves log level, log format and handler values get a did-you-mean, case-insensitively,
    // or the list of accepted values.
    SUBCASE("level in capitals") {
        CHECK(only_error("log:\n  level: INFO\n" + one_listener) ==
              "t.yaml:2:10: log.level: unknown log level, did you mean \"info\"? (got INFO)");
    }
    SUBCASE("level spelt out") {
        CHECK(only_error("log:\n  level: warning\n" + one_listener) ==
              "t.yaml:2:10: log.level: unknown log level, did you mean \"warn\"? (got warning)");
    }
    SUBCASE("level far from any") {
        CHECK(only_error("log:\n  level: verbose\n" + one_listener) ==
              "t.yaml:2:10: log.level: unknown log level (expected one of: trace, debug, info, "
              "warn, error, critical, off) (got verbose)");
    }
    SUBCASE("format") {
        CHECK(only_error("log:\n  format: jsn\n" + one_listener) ==
              "t.yaml:2:11: log.format: unknown log format, did you mean \"json\"? (got jsn)");
    }
    SUBCASE("handler typo") {
        CHECK(only_error(one_listener + "    handler: ecoh\n") ==
              "t.yaml:4:14: listeners[0].handler: unknown handler, did you mean \"echo\"? (got "
              "ecoh)");
    }
    SUBCASE("handler far from any") {
        CHECK(only_error(one_listener + "    handler: http\n") ==
              "t.yaml:4:14: listeners[0].handler: unknown handler (expected one of: echo, "
              "synthetic, proxy) (got http)");
    }
}

TEST_CASE("config: listen accepts IP literals with a port") {
    // Proves IPv4, bracketed IPv6 and port 0 parse to host and port, with brackets removed.
    SUBCASE("IPv4") {
        const auto l = parse_ok(with_listen("192.168.1.2:80")).listeners[0].listen;
        CHECK(l.host == "192.168.1.2");
        CHECK(l.port == 80);
    }
    SUBCASE("IPv6 loopback") {
        const auto l = parse_ok(with_listen("\"[::1]:7000\"")).listeners[0].listen;
        CHECK(l.host == "::1");
        CHECK(l.port == 7000);
    }
    SUBCASE("IPv6 any, highest port") {
        const auto l = parse_ok(with_listen("\"[::]:65535\"")).listeners[0].listen;
        CHECK(l.host == "::");
        CHECK(l.port == 65535);
    }
    SUBCASE("port 0") { CHECK(parse_ok(with_listen("0.0.0.0:0")).listeners[0].listen.port == 0); }
}

TEST_CASE("config: listen rejects anything but ip:port") {
    // Proves each malformed address gets a specific message at the value, with the value.
    const std::string expected = "expected \"host:port\", e.g. \"0.0.0.0:7000\"";
    const std::string port = "port must be between 0 and 65535";
    const std::vector<std::pair<std::string, std::string>> cases{
        {"localhost:7000", "host must be an IP address, e.g. \"127.0.0.1\" or \"[::1]\""},
        {"256.1.1.1:80", "host must be an IP address, e.g. \"127.0.0.1\" or \"[::1]\""},
        {"\"::1:7000\"", "IPv6 addresses need brackets, e.g. \"[::1]:7000\""},
        {"\"[127.0.0.1]:7000\"", "brackets are only for IPv6 addresses"},
        {"1.2.3.4", expected},
        {"\":7000\"", expected},
        {"\"[::1]7000\"", expected},
        {"\"[::1\"", expected},
        {"\"[::1]:\"", port},
        {"1.2.3.4:70000", port},
        {"1.2.3.4:abc", port},
        {"1.2.3.4:-1", port},
    };
    // Not a structured binding: clang-14 cannot capture one in CAPTURE's lambda.
    for (const auto& test : cases) {
        const std::string& text = test.first;
        const std::string& what = test.second;
        CAPTURE(text);
        const parse_result result = parse(with_listen(text));
        REQUIRE(result.errors.size() == 1);
        CHECK(result.errors[0].key_path == "listeners[0].listen");
        CHECK(result.errors[0].what == what);
        CHECK(result.errors[0].line == 3);
        CHECK(result.errors[0].column == 13);
    }
    CHECK(only_error(with_listen("localhost:7000")) ==
          "t.yaml:3:13: listeners[0].listen: host must be an IP address, e.g. \"127.0.0.1\" or "
          "\"[::1]\" (got localhost:7000)");
}

TEST_CASE("config: listener names are non-empty and plain") {
    // Proves names are checked against [A-Za-z0-9_.-]+, since they appear in logs and metrics.
    const auto with_name = [](std::string_view name) {
        return "listeners:\n  - name: " + std::string(name) + "\n    listen: 127.0.0.1:1\n";
    };
    CHECK(only_error(with_name("\"\"")) == "t.yaml:2:11: listeners[0].name: must not be empty");
    CHECK(only_error(with_name("my listener")) ==
          "t.yaml:2:11: listeners[0].name: must contain only letters, digits, '_', '.', '-' "
          "(got my listener)");
    CHECK(parse_ok(with_name("123")).listeners[0].name == "123");
}

TEST_CASE("config: duplicate listener names point at the first") {
    // Proves a reused name is reported at the second use with the position of the first.
    CHECK(only_error("listeners:\n"
                     "  - name: a\n"
                     "    listen: 127.0.0.1:7000\n"
                     "  - name: a\n"
                     "    listen: 127.0.0.1:7001\n") ==
          "t.yaml:4:11: listeners[1].name: duplicate listener name, first defined at "
          "t.yaml:2:11 (got a)");
}

TEST_CASE("config: duplicate listen addresses point at the first, except port 0") {
    // Proves addresses are compared as addresses (two spellings of ::1 collide), and that port 0,
    // a fresh kernel-chosen port per socket, never collides.
    const auto two = [](std::string_view first, std::string_view second) {
        return "listeners:\n"
               "  - name: a\n"
               "    listen: " +
               std::string(first) +
               "\n"
               "  - name: b\n"
               "    listen: " +
               std::string(second) + "\n";
    };
    SUBCASE("IPv4") {
        CHECK(only_error(two("127.0.0.1:7000", "127.0.0.1:7000")) ==
              "t.yaml:5:13: listeners[1].listen: duplicate listen address, first defined at "
              "t.yaml:3:13 (got 127.0.0.1:7000)");
    }
    SUBCASE("IPv6 spelt two ways") {
        CHECK(only_error(two("\"[::1]:7000\"", "\"[0:0::1]:7000\"")) ==
              "t.yaml:5:13: listeners[1].listen: duplicate listen address, first defined at "
              "t.yaml:3:13 (got [0:0::1]:7000)");
    }
    SUBCASE("port 0 twice") {
        CHECK(parse_ok(two("127.0.0.1:0", "127.0.0.1:0")).listeners.size() == 2);
    }
    SUBCASE("same port, other host") {
        CHECK(parse_ok(two("127.0.0.1:7000", "127.0.0.2:7000")).listeners.size() == 2);
    }
}

TEST_CASE("config: missing required keys point at the map that lacks them") {
    // Proves a missing `listeners`, `name` or `listen` is reported at the enclosing map, with
    // the missing key in the path.
    SUBCASE("listeners") {
        CHECK(only_error("runtime:\n  threads: 2\n") ==
              "t.yaml:1:1: listeners: missing required key");
    }
    SUBCASE("listen") {
        CHECK(only_error(one_listener + "  - name: b\n    backlog: 5\n") ==
              "t.yaml:4:5: listeners[1].listen: missing required key");
    }
    SUBCASE("name and listen") {
        const parse_result result = parse(one_listener + "  - backlog: 5\n");
        REQUIRE(result.errors.size() == 2);
        CHECK(result.errors[0].to_string() ==
              "t.yaml:4:5: listeners[1].name: missing required key");
        CHECK(result.errors[1].to_string() ==
              "t.yaml:4:5: listeners[1].listen: missing required key");
    }
}

TEST_CASE("config: listeners must be a non-empty sequence of maps") {
    // Proves each wrong shape of `listeners` is one error at the right place.
    SUBCASE("empty sequence") {
        CHECK(only_error("listeners: []\n") ==
              "t.yaml:1:12: listeners: must list at least one listener");
    }
    SUBCASE("empty value") {
        CHECK(only_error("listeners:\n") ==
              "t.yaml:1:1: listeners: expected a sequence of listeners (got an empty value)");
    }
    SUBCASE("scalar") {
        CHECK(only_error("listeners: echo\n") ==
              "t.yaml:1:12: listeners: expected a sequence of listeners (got echo)");
    }
    SUBCASE("map") {
        CHECK(only_error("listeners:\n  name: a\n") ==
              "t.yaml:2:3: listeners: expected a sequence of listeners (got a map)");
    }
    SUBCASE("item not a map") {
        CHECK(only_error("listeners:\n  - echo\n") ==
              "t.yaml:2:5: listeners[0]: expected a map (got echo)");
    }
}

TEST_CASE("config: empty sections take the defaults") {
    // Proves a section whose keys are all commented out is valid, as in config/pier.yaml.
    const config c = parse_ok("runtime:\nlog:\nshutdown:\n" + one_listener + "    echo:\n");
    CHECK(c.runtime.threads == 0);
    CHECK(c.shutdown.drain_timeout == 20s);
    CHECK(c.listeners[0].echo.max_buffer == 65536);
}

TEST_CASE("config: every error in a file is reported at once") {
    // Proves validation continues past errors: three problems in three sections give three
    // errors, in file order, and no config.
    const std::string text =
        "runtime:\n"
        "  threads: many\n"
        "log:\n"
        "  levle: debug\n"
        "listeners:\n"
        "  - name: a\n"
        "    listen: 127.0.0.1:7000\n"
        "    backlog: 0\n";
    SUBCASE("three sections") {
        const parse_result result = parse(text);
        CHECK_FALSE(result.ok());
        CHECK_FALSE(result.value.has_value());
        CHECK(all_errors(text) ==
              std::vector<std::string>{
                  "t.yaml:2:12: runtime.threads: expected \"auto\" or an integer (got many)",
                  "t.yaml:4:3: log.levle: unknown key, did you mean \"level\"?",
                  "t.yaml:8:14: listeners[0].backlog: must be between 1 and 65535 (got 0)",
              });
    }

    SUBCASE("across listeners, with errors after a bad listener") {
        CHECK(all_errors("listeners:\n"
                         "  - name: a\n"
                         "    listen: nowhere\n"
                         "    idle_timeout: 1.5s\n"
                         "  - name: a\n"
                         "    listen: 127.0.0.1:1\n"
                         "    handler: ecoh\n") ==
              std::vector<std::string>{
                  "t.yaml:3:13: listeners[0].listen: expected \"host:port\", e.g. "
                  "\"0.0.0.0:7000\" (got nowhere)",
                  "t.yaml:4:19: listeners[0].idle_timeout: fractions are not allowed; use a "
                  "smaller unit (got 1.5s)",
                  "t.yaml:5:11: listeners[1].name: duplicate listener name, first defined at "
                  "t.yaml:2:11 (got a)",
                  "t.yaml:7:14: listeners[1].handler: unknown handler, did you mean \"echo\"? "
                  "(got ecoh)",
              });
    }
}

TEST_CASE("config: errors at one position keep the order they are found in") {
    // Proves the order among errors sharing a position: a map's key errors (reported once the
    // whole file is read) come before what is then read from that map, and a value that two
    // keys share through an alias gets its errors in the order the keys are read.
    SUBCASE("an unknown first key, then the required keys its map lacks") {
        CHECK(all_errors("listeners:\n"
                         "  - nme: a\n") ==
              std::vector<std::string>{
                  "t.yaml:2:5: listeners[0].nme: unknown key, did you mean \"name\"?",
                  "t.yaml:2:5: listeners[0].name: missing required key",
                  "t.yaml:2:5: listeners[0].listen: missing required key",
              });
    }

    SUBCASE("one aliased value read by two keys") {
        // Line 4: the anchor is at column 20, the unknown key at column 41.
        CHECK(all_errors(one_listener + "runtime: {threads: &a x, scheduler: *a, bogus: 1}\n") ==
              std::vector<std::string>{
                  "t.yaml:4:20: runtime.scheduler: unknown scheduler (expected one of: "
                  "work_stealing, pinned) (got x)",
                  "t.yaml:4:20: runtime.threads: expected \"auto\" or an integer (got x)",
                  "t.yaml:4:41: runtime.bogus: unknown key (expected one of: threads, "
                  "scheduler, busy_polling)",
              });
    }

    SUBCASE("an upstream's empty weight, then its missing address") {
        CHECK(all_errors(one_listener + "    proxy:\n"
                                        "      upstreams:\n"
                                        "        - weight:\n"
                                        "          bogus: 1\n") ==
              std::vector<std::string>{
                  "t.yaml:6:11: listeners[0].proxy.upstreams[0].weight: expected an integer "
                  "(got an empty value)",
                  "t.yaml:6:11: listeners[0].proxy.upstreams[0].address: missing required key",
                  "t.yaml:7:11: listeners[0].proxy.upstreams[0].bogus: unknown key (expected "
                  "one of: address, weight)",
              });
    }
}

TEST_CASE("config: load_config reports an unreadable file") {
    // Proves a file that cannot be read is one position-less error naming the path and reason.
    SUBCASE("missing") {
        const parse_result result = load_config("/nonexistent-pier-dir/pier.yaml");
        REQUIRE(result.errors.size() == 1);
        CHECK(result.errors[0].line == 0);
        CHECK(result.errors[0].to_string() ==
              "/nonexistent-pier-dir/pier.yaml: cannot read: No such file or directory");
    }
    SUBCASE("directory") {
        const std::filesystem::path dir = std::filesystem::temp_directory_path();
        const parse_result result = load_config(dir);
        REQUIRE(result.errors.size() == 1);
        CHECK(result.errors[0].to_string() == dir.string() + ": not a regular file (a directory)");
    }
}

// Proves a file that is not UTF-8 is refused with the position of the first bad byte: before,
// a leading NUL made yaml-cpp read the file as UTF-16 and report garbled text.
TEST_CASE("config: text that is not UTF-8 is refused with a position") {
    CHECK(only_error(std::string("\0listeners: []\n", 15)) ==
          "t.yaml:1:1: not UTF-8 text: the config must be UTF-8 (got byte 0x00)");
    CHECK(only_error(one_listener + "    name: caf\xe9\n") ==
          "t.yaml:4:14: not UTF-8 text: the config must be UTF-8 (got byte 0xE9)");
}

// Proves nesting past yaml-cpp's limit says so: before, its message was "bad file".
TEST_CASE("config: nesting past the parser's depth limit says so, with a position") {
    std::string deep = "a:\n";
    for (std::size_t level = 1; level < 600; ++level) deep += std::string(2 * level, ' ') + "a:\n";
    const std::string error = only_error(deep);
    CHECK_MESSAGE(error.find("nested deeper than ") != std::string::npos, error);
    CHECK(error.find(" levels, the most the YAML parser reads") != std::string::npos);
    CHECK(error.rfind("t.yaml:", 0) == 0);
}

// Proves the node count is checked before a tree is built: a small file of many nodes would
// otherwise cost yaml-cpp a few hundred bytes each.
TEST_CASE("config: more YAML nodes than max_config_nodes are refused before parsing") {
    std::string many = "a: [";
    for (std::size_t i = 0; i < max_config_nodes; ++i) many += "1,";
    many += "1]\n";
    // The map, "a" and the sequence come first: the node past the limit is the sequence's
    // (max_config_nodes - 2)th entry, at column 5 + 2 * (max_config_nodes - 3).
    CHECK(only_error(many) == "t.yaml:1:" + std::to_string(2 * max_config_nodes - 1) +
                                  ": more than " + std::to_string(max_config_nodes) +
                                  " YAML nodes (maps, sequences, values), the most a config may "
                                  "hold");
}

// Proves a long value is shown by its start and length: a message stays one short line.
TEST_CASE("config: a long value is shortened in messages") {
    const std::string value(5000, 'x');
    CHECK(only_error(one_listener + "    handler: " + value + "\n") ==
          "t.yaml:4:14: listeners[0].handler: unknown handler (expected one of: echo, synthetic, "
          "proxy) (got " +
              std::string(60, 'x') + "... (5000 bytes))");
}

// Proves --check-config and a failed reload show at most errors_reported errors and count the
// rest: before, a key repeated 100,000 times printed 100,001 lines.
TEST_CASE("config: report_lines shows the first errors and counts the rest") {
    std::vector<config_error> errors(errors_reported + 7);
    for (std::size_t i = 0; i < errors.size(); ++i) errors[i].what = "e" + std::to_string(i);
    const auto lines = report_lines(errors);
    REQUIRE(lines.size() == errors_reported + 1);
    CHECK(lines.front() == "e0");
    CHECK(lines[errors_reported - 1] == "e" + std::to_string(errors_reported - 1));
    CHECK(lines.back() == "... and 7 more errors, not shown");
    CHECK(report_lines({errors.begin(), errors.begin() + 2}).size() == 2);
    CHECK(report_lines(errors, 0) ==
          std::vector<std::string>{"... and 107 more errors, not shown"});
}

TEST_CASE("config: the proxy section") {
    // Proves upstreams as strings or maps with weights, every proxy key, and their defaults.
    const config c = parse_ok(one_listener +
                              "    handler: proxy\n"
                              "    proxy:\n"
                              "      upstreams: [\"127.0.0.1:6379\", {address: \"[::1]:6380\", "
                              "weight: 3}]\n"
                              "      balance: random_two\n"
                              "      connect_timeout: 250ms\n"
                              "      retries: 0\n"
                              "      idle_timeout: 1h\n"
                              "      half_close_timeout: 30s\n"
                              "      max_buffer: 4KiB\n"
                              "      max_fails: 5\n"
                              "      fail_timeout: 2s\n"
                              "      send_proxy: v2\n");
    const auto& p = c.listeners[0].proxy;
    REQUIRE(p.upstreams.size() == 2);
    CHECK(p.upstreams[0].address.to_string() == "127.0.0.1:6379");
    CHECK(p.upstreams[0].weight == 1);
    CHECK(p.upstreams[1].address.to_string() == "[::1]:6380");
    CHECK(p.upstreams[1].weight == 3);
    CHECK(p.balance == balance_policy::random_two);
    CHECK(p.connect_timeout == 250ms);
    CHECK(p.retries == 0);
    CHECK(p.idle_timeout == std::optional<std::chrono::nanoseconds>(1h));
    CHECK(effective_idle_timeout(c.listeners[0]) == 1h);
    CHECK(p.half_close_timeout == std::optional<std::chrono::nanoseconds>(30s));
    CHECK(effective_half_close_timeout(c.listeners[0]) == 30s);
    CHECK(p.max_buffer == 4096);
    CHECK(p.max_fails == 5);
    CHECK(p.fail_timeout == 2s);
    CHECK(p.send_proxy == proxy_protocol::v2);

    const config defaults = parse_ok(
        one_listener + "    handler: proxy\n    proxy:\n      upstreams: [\"10.0.0.1:80\"]\n");
    const auto& d = defaults.listeners[0].proxy;
    CHECK(d.balance == balance_policy::round_robin);
    CHECK(d.connect_timeout == 5s);
    CHECK(d.retries == 2);
    CHECK_FALSE(d.idle_timeout.has_value());
    CHECK(effective_idle_timeout(defaults.listeners[0]) == 5min);
    CHECK_FALSE(d.half_close_timeout.has_value());
    CHECK(effective_half_close_timeout(defaults.listeners[0]) == 0s);
    CHECK(d.send_proxy == proxy_protocol::none);
}

TEST_CASE("config: proxy errors name the upstream and the key") {
    // Proves a proxy without upstreams, bad upstream addresses, duplicates and unknown choices
    // are reported with their positions.
    SUBCASE("no upstreams") {
        CHECK(only_error(one_listener + "    handler: proxy\n") ==
              "t.yaml:4:14: listeners[0].proxy.upstreams: required when the handler is proxy "
              "(at least one \"host:port\")");
    }
    SUBCASE("bad addresses") {
        CHECK(all_errors(one_listener + "    handler: proxy\n"
                                        "    proxy:\n"
                                        "      upstreams:\n"
                                        "        - \"db.local:5432\"\n"
                                        "        - \"127.0.0.1:0\"\n"
                                        "        - {address: \"127.0.0.1:5432\", weight: 0}\n"
                                        "        - {weight: 2}\n"
                                        "        - \"127.0.0.1:5432\"\n") ==
              std::vector<std::string>{
                  "t.yaml:7:11: listeners[0].proxy.upstreams[0]: host must be an IP address, "
                  "e.g. \"127.0.0.1\" or \"[::1]\" (got db.local:5432)",
                  "t.yaml:8:11: listeners[0].proxy.upstreams[1]: port must be between 1 and "
                  "65535 (got 127.0.0.1:0)",
                  "t.yaml:9:47: listeners[0].proxy.upstreams[2].weight: must be between 1 and "
                  "1000 (got 0)",
                  "t.yaml:10:11: listeners[0].proxy.upstreams[3].address: missing required key",
                  "t.yaml:11:11: listeners[0].proxy.upstreams[4]: duplicate upstream (got "
                  "127.0.0.1:5432)"});
    }
    SUBCASE("addresses that are not one host, or the listener itself") {
        CHECK(all_errors(one_listener +
                         "    handler: proxy\n"
                         "    proxy:\n"
                         "      upstreams: [\"0.0.0.0:80\", \"224.0.0.1:80\", \"[::1]:80\", "
                         "\"[0::1]:80\", \"127.0.0.1:7000\"]\n") ==
              std::vector<std::string>{
                  "t.yaml:6:18: listeners[0].proxy.upstreams: the listener's own address: the "
                  "proxy would connect to itself (got 127.0.0.1:7000)",
                  "t.yaml:6:19: listeners[0].proxy.upstreams[0]: must be one host's address "
                  "(not unspecified or multicast) (got 0.0.0.0:80)",
                  "t.yaml:6:33: listeners[0].proxy.upstreams[1]: must be one host's address "
                  "(not unspecified or multicast) (got 224.0.0.1:80)",
                  "t.yaml:6:61: listeners[0].proxy.upstreams[3]: duplicate upstream (got "
                  "[0::1]:80)"});
    }
    SUBCASE("balance typo") {
        CHECK(only_error(one_listener +
                         "    proxy:\n      upstreams: [\"127.0.0.1:1\"]\n      balance: "
                         "least_conections\n") ==
              "t.yaml:6:16: listeners[0].proxy.balance: unknown balance, did you mean "
              "\"least_connections\"? (got least_conections)");
    }
}

TEST_CASE("config: proxy.health_check") {
    // Proves the section turns the checks on with HAProxy's defaults, reads every key (YAML
    // escapes included), and reports bad values with their positions.
    const std::string proxy = one_listener +
                              "    handler: proxy\n"
                              "    proxy:\n"
                              "      upstreams: [\"127.0.0.1:6379\"]\n";
    CHECK_FALSE(parse_ok(proxy).listeners[0].proxy.health_check.has_value());

    const config defaults = parse_ok(proxy + "      health_check:\n");
    REQUIRE(defaults.listeners[0].proxy.health_check.has_value());
    const auto& d = *defaults.listeners[0].proxy.health_check;
    CHECK(d.interval == 2s);
    CHECK(d.timeout == 1s);
    CHECK(d.rise == 2);
    CHECK(d.fall == 3);
    CHECK(d.send.empty());
    CHECK(d.expect.empty());

    const config c = parse_ok(proxy +
                              "      health_check:\n"
                              "        interval: 500ms\n"
                              "        timeout: 200ms\n"
                              "        rise: 1\n"
                              "        fall: 5\n"
                              "        send: \"PING\\r\\n\"\n"
                              "        expect: \"+PONG\"\n");
    const auto& h = *c.listeners[0].proxy.health_check;
    CHECK(h.interval == 500ms);
    CHECK(h.timeout == 200ms);
    CHECK(h.rise == 1);
    CHECK(h.fall == 5);
    CHECK(h.send == "PING\r\n");
    CHECK(h.expect == "+PONG");

    CHECK(all_errors(proxy + "      health_check:\n"
                             "        interval: 1ms\n"
                             "        rise: 0\n"
                             "        expect: [a]\n"
                             "        sned: x\n") ==
          std::vector<std::string>{
              "t.yaml:8:19: listeners[0].proxy.health_check.interval: must be between 10ms and "
              "1h (got 1ms)",
              "t.yaml:9:15: listeners[0].proxy.health_check.rise: must be between 1 and 100 "
              "(got 0)",
              "t.yaml:10:17: listeners[0].proxy.health_check.expect: expected a string, e.g. "
              "\"PING\\r\\n\" (got a sequence)",
              "t.yaml:11:9: listeners[0].proxy.health_check.sned: unknown key, did you mean "
              "\"send\"?"});
    CHECK(only_error(proxy + "      health_check: {send: \"" + std::string(4097, 'x') + "\"}\n") ==
          "t.yaml:7:28: listeners[0].proxy.health_check.send: must be at most 4KiB long (got "
          "4097 bytes)");
}

TEST_CASE("config: accept_proxy is a strict boolean") {
    // Proves true/false parse, and YAML 1.1's yes/on are refused with a suggestion-free list.
    CHECK(parse_ok(one_listener + "    accept_proxy: true\n").listeners[0].accept_proxy);
    CHECK_FALSE(parse_ok(one_listener + "    accept_proxy: false\n").listeners[0].accept_proxy);
    CHECK(only_error(one_listener + "    accept_proxy: yes\n") ==
          "t.yaml:4:19: listeners[0].accept_proxy: unknown boolean (expected one of: false, true) "
          "(got yes)");
}

namespace {

const std::string tls_listener =
    "listeners:\n"
    "  - name: a\n"
    "    listen: 127.0.0.1:7443\n"
    "    tls:\n";

}  // namespace

TEST_CASE("config: tls is off without a section; its keys read back with their positions") {
    CHECK_FALSE(parse_ok(one_listener).listeners[0].tls.has_value());

    const auto cfg = parse_ok(tls_listener +
                              "      certificate: site.pem\n"
                              "      key: /etc/pier/site.key\n"
                              "      min_version: TLSv1.3\n"
                              "      ciphers: ECDHE+AESGCM\n"
                              "      alpn: [h2, http/1.1]\n");
    REQUIRE(cfg.listeners[0].tls.has_value());
    const auto& tls = *cfg.listeners[0].tls;
    CHECK(tls.certificate.text == "site.pem");
    CHECK(tls.certificate.at.source == "t.yaml");
    CHECK(tls.certificate.at.line == 5);
    CHECK(tls.certificate.at.column == 20);
    CHECK(tls.certificate.at.key_path == "listeners[0].tls.certificate");
    CHECK(tls.key.text == "/etc/pier/site.key");
    CHECK(tls.key.at.line == 6);
    CHECK(tls.min_version == tls_version::tls1_3);
    CHECK(tls.ciphers.text == "ECDHE+AESGCM");
    CHECK(tls.ciphers.at.line == 8);
    CHECK(tls.ciphersuites.text == tls_config::tls13_ciphersuites);
    CHECK(tls.alpn == std::vector<std::string>{"h2", "http/1.1"});
}

TEST_CASE("config: tls errors name the key and its position") {
    CHECK(
        all_errors(tls_listener + "      key: k.pem\n") ==
        std::vector<std::string>{"t.yaml:5:7: listeners[0].tls.certificate: missing required key"});
    CHECK(only_error(tls_listener + "      certificate: c.pem\n"
                                    "      key: \"\"\n") ==
          "t.yaml:6:12: listeners[0].tls.key: must not be empty");
    CHECK(only_error(tls_listener + "      certificate: c.pem\n"
                                    "      key: k.pem\n"
                                    "      min_version: TLSv1.1\n")
              .starts_with("t.yaml:7:20: listeners[0].tls.min_version: unknown TLS version"));
    CHECK(only_error(tls_listener + "      certificate: c.pem\n"
                                    "      key: k.pem\n"
                                    "      alpn: h2\n")
              .starts_with("t.yaml:7:13: listeners[0].tls.alpn: expected a sequence"));
    CHECK(only_error(tls_listener + "      certificate: c.pem\n"
                                    "      key: k.pem\n"
                                    "      alpn: [\"\"]\n") ==
          "t.yaml:7:14: listeners[0].tls.alpn[0]: must be 1 to 255 bytes long");
}

TEST_CASE("config: where a tls key sits does not make two configs differ") {
    const auto a = parse_ok(tls_listener +
                            "      certificate: c.pem\n"
                            "      key: k.pem\n");
    const auto b = parse_ok(tls_listener +
                            "      key: k.pem\n"
                            "      certificate: c.pem\n");
    CHECK(a == b);
}
