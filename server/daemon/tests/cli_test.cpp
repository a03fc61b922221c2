// pierd's command line: options, defaults and usage errors, parsed without running anything.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "pier/daemon/cli.hpp"
#include "pier/daemon/privileges.hpp"

namespace pier::daemon {
namespace {

result<cli_options> parse(std::initializer_list<const char*> args) {
    std::vector<const char*> argv{"pierd"};
    argv.insert(argv.end(), args);
    return parse_cli(argv);
}

/// The usage lines --help starts with: everything before the first empty line.
std::string usage_of(const std::string& help) { return help.substr(0, help.find("\n\n") + 1); }

/// Every long option the help's Options section describes ("--config", "--probe-timeout").
std::set<std::string> described_options(const std::string& help) {
    const auto begin = help.find("Options:");
    const auto end = help.find("Examples:");
    REQUIRE(begin != std::string::npos);
    REQUIRE(end != std::string::npos);
    const auto section = help.substr(begin, end - begin);
    const std::regex option("--[a-z][a-z-]*");
    std::set<std::string> names;
    for (std::sregex_iterator it(section.begin(), section.end(), option), last; it != last; ++it) {
        names.insert(it->str());
    }
    return names;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// Proves each option lands in cli_options and that no option means "run the default config".
TEST_CASE("cli: options are parsed") {
    SUBCASE("no options") {
        const auto r = parse({});
        REQUIRE(r);
        CHECK(r->config_path == default_config_path());
        CHECK_FALSE(r->check_config);
        CHECK_FALSE(r->log_level);
        CHECK_FALSE(r->show_help);
        CHECK_FALSE(r->show_version);
    }
    SUBCASE("--config and --check-config") {
        const auto r = parse({"--config", "/tmp/x.yaml", "--check-config"});
        REQUIRE(r);
        CHECK(r->config_path == "/tmp/x.yaml");
        CHECK(r->check_config);
    }
    SUBCASE("-c short form") {
        const auto r = parse({"-c", "a.yaml"});
        REQUIRE(r);
        CHECK(r->config_path == "a.yaml");
    }
    SUBCASE("--log-level") {
        const auto r = parse({"--log-level", "debug"});
        REQUIRE(r);
        CHECK(r->log_level == config::log_level::debug);
    }
    SUBCASE("--probe and --probe-timeout") {
        const auto r =
            parse({"--probe", "http://127.0.0.1:9090/readyz", "--probe-timeout", "250ms"});
        REQUIRE(r);
        CHECK(r->probe_url == "http://127.0.0.1:9090/readyz");
        CHECK(r->probe_timeout == std::chrono::milliseconds(250));
        CHECK(parse({"--probe", "http://x"})->probe_timeout == std::chrono::seconds(5));
        CHECK(parse({"--probe-timeout", "0"}).error().find("--probe-timeout") != std::string::npos);
        CHECK(parse({"--probe-timeout", "5"}).error().find("--probe-timeout") != std::string::npos);
    }
    SUBCASE("--allow-root") {
        CHECK_FALSE(parse({})->allow_root);
        CHECK(parse({"--allow-root"})->allow_root);
    }
    SUBCASE("--help and --version") {
        const auto r = parse({"--help", "--version"});
        REQUIRE(r);
        CHECK(r->show_help);
        CHECK(r->show_version);
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
        CHECK_FALSE(r);
        CHECK(r.error().find("bogus") != std::string::npos);
    }
    SUBCASE("a Boost placeholder in the option") {  // hung before: safe_parse_error.hpp
        const auto r = parse({"--%original_token%"});
        CHECK_FALSE(r);
        CHECK(r.error() == "unrecognised option '--?original_token?'");
    }
    SUBCASE("missing value") {
        const auto r = parse({"--config"});
        CHECK_FALSE(r);
        CHECK(r.error().find("config") != std::string::npos);
    }
    SUBCASE("bad log level") {
        const auto r = parse({"--log-level", "loud"});
        CHECK_FALSE(r);
        CHECK(r.error() ==
              "invalid --log-level \"loud\" (expected one of: trace, debug, info, "
              "warn, error, critical, off)");
    }
}

// Proves the help text documents every option and the exit codes.
TEST_CASE("cli: help text lists options and exit codes") {
    const auto text = help_text();
    for (const std::string needle :
         {"--config", "--check-config", "--log-level", "--version", "--help", "78 bad config",
          "64 bad command line", "SIGHUP reloads the config file",
          "SIGTERM or SIGINT drain connections and exit 0"}) {
        CAPTURE(needle);
        CHECK(text.find(needle) != std::string::npos);
    }
}

// Proves the usage lines name every option the help describes: --probe, --version and --help
// were missing.
TEST_CASE("cli: the usage lists every option") {
    const auto help = help_text();
    const auto usage = usage_of(help);
    const auto options = described_options(help);
    CHECK(options.size() >= 8);
    for (const auto& option : options) {
        CAPTURE(option);
        CHECK(std::regex_search(usage, std::regex("\\[" + option + "[ \\]]")));
    }
}

// Proves the help reads on an 80-column terminal without a URL cut in two: Boost's line
// wrapping once split the --probe example URL mid-word.
TEST_CASE("cli: help lines fit 80 columns and URLs stay whole") {
    const auto help = help_text();
    for (const auto& line : lines_of(help)) {
        CAPTURE(line);
        CHECK(line.size() <= 80);
    }
    // Every URL in the text, up to the next space or line end, minus trailing punctuation.
    const std::regex url("http://[^\\s]*");
    std::size_t whole = 0;
    for (std::sregex_iterator it(help.begin(), help.end(), url), last; it != last; ++it) {
        auto text = it->str();
        while (!text.empty() && (text.back() == ')' || text.back() == ',')) text.pop_back();
        CAPTURE(text);
        CHECK((text == "http://" || text == "http://127.0.0.1:9090/readyz"));
        if (text == "http://127.0.0.1:9090/readyz") ++whole;
    }
    CHECK(whole >= 1);
}

// Proves README.md's "Running pierd" shows exactly the usage --help prints.
TEST_CASE("cli: README.md shows the usage --help prints") {
    std::ifstream file(std::string(PIER_SOURCE_DIR) + "/README.md");
    REQUIRE(file);
    const std::string readme((std::istreambuf_iterator<char>(file)), {});
    const auto section = readme.find("## Running pierd");
    REQUIRE(section != std::string::npos);
    const auto usage = usage_of(help_text());
    CAPTURE(usage);
    CHECK(readme.find("```\n" + usage + "```\n", section) == readme.find("```", section));
}

}  // namespace
}  // namespace pier::daemon
