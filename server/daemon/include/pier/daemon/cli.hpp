// pierd's command line (Boost.Program_options): what to run, and the process exit codes.
//
// parse_cli() is pure apart from probing which default config file exists, so it is unit-tested
// on argument vectors. Callable from any thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "pier/config/config.hpp"
#include "pier/config/result.hpp"

namespace pier::daemon {

/// Process exit codes. sysexits.h values for usage and config errors, so scripts and systemd
/// can tell "fix the invocation/file" from "it ran and failed".
namespace exit_code {
inline constexpr int ok = 0;       ///< clean stop, or --check-config found no error
inline constexpr int failure = 1;  ///< runtime failure: bind error, unexpected exception
inline constexpr int usage = 64;   ///< EX_USAGE: bad command line
inline constexpr int config = 78;  ///< EX_CONFIG: the config file is missing or invalid
}  // namespace exit_code

/// What the command line asks for.
struct cli_options {
    std::filesystem::path config_path;           ///< --config, or default_config_path()
    bool check_config = false;                   ///< --check-config: validate, report, exit
    std::optional<config::log_level> log_level;  ///< --log-level overrides log.level
    bool show_help = false;                      ///< --help
    bool show_version = false;                   ///< --version
    /// --probe URL: GET it and exit 0 on 2xx, 1 otherwise (health checks); nothing else runs.
    std::optional<std::string> probe_url;
    std::chrono::nanoseconds probe_timeout = std::chrono::seconds(5);  ///< --probe-timeout
    bool allow_root = false;  ///< --allow-root: serve even with effective user id 0
};

/// Parses argv (args[0] is the program name): the options, or the error message for the usage
/// exit code.
result<cli_options> parse_cli(std::span<const char* const> args);

/// --help text: usage, options, examples.
std::string help_text();

/// config/pier.yaml under the working directory if it exists, else /etc/pier/pier.yaml.
std::filesystem::path default_config_path();

}  // namespace pier::daemon
