// pierd's command line: options, defaults and usage errors, parsed without running anything.
#include <doctest/doctest.h>

#include "pier/daemon/cli.hpp"
#include "pier/daemon/privileges.hpp"

namespace pier::daemon {
namespace {

cli_result parse(std::initializer_list<const char*> args) {
    std::vector<const char*> argv{"pierd"};
    argv.insert(argv.end(), args);
    return parse_cli(argv);
}

// Proves each option lands in cli_options and that no option means "run the default config".
TEST_CASE("cli: options are parsed") {
    SUBCASE("no options") {
        const auto r = parse({});
        REQUIRE(r.options);
        CHECK(r.options->config_path == default_config_path());
        CHECK_FALSE(r.options->check_config);
        CHECK_FALSE(r.options->log_level);
        CHECK_FALSE(r.options->show_help);
        CHECK_FALSE(r.options->show_version);
    }
    SUBCASE("--config and --check-config") {
        const auto r = parse({"--config", "/tmp/x.yaml", "--check-config"});
        REQUIRE(r.options);
        CHECK(r.options->config_path == "/tmp/x.yaml");
        CHECK(r.options->check_config);
    }
    SUBCASE("-c short form") {
        const auto r = parse({"-c", "a.yaml"});
        REQUIRE(r.options);
        CHECK(r.options->config_path == "a.yaml");
    }
    SUBCASE("--log-level") {
        const auto r = parse({"--log-level", "debug"});
        REQUIRE(r.options);
        CHECK(r.options->log_level == config::log_level::debug);
    }
    SUBCASE("--probe and --probe-timeout") {
        const auto r =
            parse({"--probe", "http://127.0.0.1:9090/readyz", "--probe-timeout", "250ms"});
        REQUIRE(r.options);
        CHECK(r.options->probe_url == "http://127.0.0.1:9090/readyz");
        CHECK(r.options->probe_timeout == std::chrono::milliseconds(250));
        CHECK(parse({"--probe", "http://x"}).options->probe_timeout == std::chrono::seconds(5));
        CHECK(parse({"--probe-timeout", "0"}).error.find("--probe-timeout") != std::string::npos);
        CHECK(parse({"--probe-timeout", "5"}).error.find("--probe-timeout") != std::string::npos);
    }
    SUBCASE("--allow-root") {
        CHECK_FALSE(parse({}).options->allow_root);
        CHECK(parse({"--allow-root"}).options->allow_root);
    }
    SUBCASE("--help and --version") {
        const auto r = parse({"--help", "--version"});
        REQUIRE(r.options);
        CHECK(r.options->show_help);
        CHECK(r.options->show_version);
    }
}

// Proves root is refused unless allowed, with a message naming the ways out, and any other
// user is never refused.
TEST_CASE("cli: root needs --allow-root") {
    const auto refusal = refuse_root(0, false);
    REQUIRE(refusal);
    CHECK(refusal->find("refusing to run as root") != std::string::npos);
    CHECK(refusal->find("DynamicUser") != std::string::npos);
    CHECK(refusal->find("--allow-root") != std::string::npos);
    CHECK_FALSE(refuse_root(0, true));
    CHECK_FALSE(refuse_root(1000, false));
    CHECK_FALSE(refuse_root(65534, true));
}

// Proves bad command lines are reported with a message naming the problem, not accepted.
TEST_CASE("cli: usage errors") {
    SUBCASE("unknown option") {
        const auto r = parse({"--bogus"});
        CHECK_FALSE(r.options);
        CHECK(r.error.find("bogus") != std::string::npos);
    }
    SUBCASE("a Boost placeholder in the option") {  // hung before: safe_parse_error.hpp
        const auto r = parse({"--%original_token%"});
        CHECK_FALSE(r.options);
        CHECK(r.error == "unrecognised option '--?original_token?'");
    }
    SUBCASE("missing value") {
        const auto r = parse({"--config"});
        CHECK_FALSE(r.options);
        CHECK(r.error.find("config") != std::string::npos);
    }
    SUBCASE("bad log level") {
        const auto r = parse({"--log-level", "loud"});
        CHECK_FALSE(r.options);
        CHECK(r.error ==
              "invalid --log-level \"loud\" (expected one of: trace, debug, info, "
              "warn, error, critical, off)");
    }
}

// Proves the help text documents every option and the exit codes.
TEST_CASE("cli: help text lists options and exit codes") {
    const auto text = help_text();
    for (const char* needle : {"--config", "--check-config", "--log-level", "--version", "--help",
                               "78 bad config", "64 bad command line"}) {
        CAPTURE(needle);
        CHECK(text.find(needle) != std::string::npos);
    }
}

}  // namespace
}  // namespace pier::daemon
