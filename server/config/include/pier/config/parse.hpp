// Reading and validating pier's YAML configuration.
//
// parse_config() is pure (text in, config or errors out) so every error path is unit-tested on
// strings; load_config() only adds reading the file. Callable from any thread.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pier/config/config.hpp"

namespace pier::config {

/// One problem found in a config file, with its 1-based position.
struct config_error {
    std::string source;    ///< file name as given to parse_config()
    int line = 0;          ///< 1-based; 0 when the error has no position (e.g. file unreadable)
    int column = 0;        ///< 1-based
    std::string key_path;  ///< e.g. "listeners[1].idle_timeout"; empty for syntax errors
    std::string what;      ///< e.g. "unknown key, did you mean \"idle_timeout\"?"
    std::string got;       ///< offending value as written; empty when not applicable

    /// "file:line:col: key.path: what (got value)" — the parts that are empty are left out.
    std::string to_string() const;
};

/// A valid config, or every error found (never the first only).
struct parse_result {
    std::optional<config> value;  ///< set iff errors is empty
    std::vector<config_error> errors;

    bool ok() const { return errors.empty(); }
};

/// How many errors --check-config prints and a failed reload logs. A file can hold a hundred
/// thousand (one key repeated): an operator fixes the first ones, and the rest are counted.
inline constexpr std::size_t errors_reported = 100;

/// The lines reporting `errors`: the first `limit` (to_string()), then, when some were left
/// out, one line counting them ("... and 99900 more errors, not shown").
std::vector<std::string> report_lines(const std::vector<config_error>& errors,
                                      std::size_t limit = errors_reported);

/// Parses and validates YAML text. `source_name` is used as the file part of error positions.
parse_result parse_config(std::string_view text, std::string_view source_name);

/// Reads `path` and parses it; an unreadable file is one error naming the path and the reason.
parse_result load_config(const std::filesystem::path& path);

}  // namespace pier::config
