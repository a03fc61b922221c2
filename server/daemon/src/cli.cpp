#include "pier/daemon/cli.hpp"

#include <sstream>

#include <boost/program_options.hpp>

#include "pier/config/safe_parse_error.hpp"
#include "pier/config/units.hpp"

namespace pier::daemon {
namespace {

namespace po = boost::program_options;

po::options_description describe_options() {
    // Boost wraps descriptions at 80 columns and cuts mid-word any word longer than half the
    // description column (~25 characters): no URL or long path in a description, the
    // examples in help_text() show them whole.
    po::options_description options("Options");
    // clang-format off
    options.add_options()
        ("config,c", po::value<std::string>()->value_name("FILE"),
            "config file (default: ./config/pier.yaml if it exists, else /etc/pier/pier.yaml)")
        ("check-config", "validate the config file, print the result and exit (0 valid, 78 not)")
        ("log-level", po::value<std::string>()->value_name("LEVEL"),
            "override log.level: trace, debug, info, warn, error, critical, off")
        ("probe", po::value<std::string>()->value_name("URL"),
            "GET an http:// URL (e.g. the admin endpoint's /readyz, see the examples) and "
            "exit: 0 on a 2xx answer, 1 otherwise; for health checks")
        ("probe-timeout", po::value<std::string>()->value_name("DURATION"),
            "how long --probe waits for the whole exchange (default 5s)")
        ("allow-root", "serve even when running as root (refused otherwise: run pierd as an "
            "unprivileged user, as the systemd unit and the container image do)")
        ("version,V", "print the version and exit")
        ("help,h", "print this help and exit");
    // clang-format on
    return options;
}

}  // namespace

std::filesystem::path default_config_path() {
    std::error_code ec;
    const std::filesystem::path local = "config/pier.yaml";
    if (std::filesystem::exists(local, ec)) return local;
    return "/etc/pier/pier.yaml";
}

std::string help_text() {
    std::ostringstream out;
    // Every option, in README.md's "Running pierd" too (a test keeps the two the same).
    out << "Usage: pierd [--config FILE] [--check-config] [--log-level LEVEL] [--allow-root]\n"
           "             [--probe URL [--probe-timeout DURATION]] [--version] [--help]\n\n"
           "pier is a high-concurrency TCP server daemon configured from YAML.\n\n"
        << describe_options()
        << "\nExamples:\n"
           "  pierd --config /etc/pier/pier.yaml         run with this config\n"
           "  pierd --check-config --config new.yaml     validate a file before a reload\n"
           "  pierd --log-level debug                    log every connection open and close\n"
           "  pierd --probe http://127.0.0.1:9090/readyz\n"
           "                                             health check: exit 0 if ready\n"
           "\nSignals: SIGHUP reloads the config file (one that does not validate changes\n"
           "         nothing); SIGTERM or SIGINT drain connections and exit 0.\n"
           "Exit codes: 0 ok, 1 runtime failure, 64 bad command line, 78 bad config.\n";
    return out.str();
}

result<cli_options> parse_cli(std::span<const char* const> args) {
    auto command_line = config::parse_command_line(args, describe_options());
    if (!command_line) return failure{command_line.error()};
    const po::variables_map& vm = command_line.value();

    cli_options options;
    options.show_help = vm.count("help") > 0;
    options.show_version = vm.count("version") > 0;
    options.check_config = vm.count("check-config") > 0;
    options.allow_root = vm.count("allow-root") > 0;
    if (vm.count("log-level") > 0) {
        const auto& text = vm["log-level"].as<std::string>();
        options.log_level = config::from_string<config::log_level>(text);
        if (!options.log_level) {
            return failure{"invalid --log-level \"" + text +
                           "\" (expected one of: trace, debug, info, warn, error, critical, off)"};
        }
    }
    if (vm.count("probe") > 0) options.probe_url = vm["probe"].as<std::string>();
    if (vm.count("probe-timeout") > 0) {
        const auto& text = vm["probe-timeout"].as<std::string>();
        const auto parsed = config::parse_duration(text);
        if (!parsed.ok() || parsed.value() <= std::chrono::nanoseconds::zero()) {
            return failure{"invalid --probe-timeout \"" + text +
                           "\" (expected a duration such as 500ms or 5s)"};
        }
        options.probe_timeout = parsed.value();
    }
    options.config_path = vm.count("config") > 0
                              ? std::filesystem::path(vm["config"].as<std::string>())
                              : default_config_path();
    return options;
}

}  // namespace pier::daemon
