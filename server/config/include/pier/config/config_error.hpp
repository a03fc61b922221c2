// One problem found in a config file, with its position, and how a list of them is reported.
//
// Its own header so that the generic YAML reader (src/yaml_reader.hpp), which makes these
// errors, does not depend on pier's config struct; parse.hpp includes it for its callers.
// to_string() and report_lines() are defined in src/yaml_reader.cpp. Callable from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

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

/// Where a key was written, for errors found only when its value is used (a certificate file
/// that does not load): the parts of a config_error that say where. Not part of the value:
/// two configs that differ only in where a key sits compare equal.
struct key_location {
    std::string source;    ///< the config file, as given to parse_config()
    int line = 0;          ///< 1-based; 0: unknown (a config not read from YAML)
    int column = 0;        ///< 1-based
    std::string key_path;  ///< e.g. "listeners[0].tls.certificate"

    /// An error about the value written here.
    config_error error(std::string what, std::string got = {}) const {
        return {source, line, column, key_path, std::move(what), std::move(got)};
    }

    bool operator==(const key_location& /*other*/) const { return true; }
};

/// How many errors --check-config prints and a failed reload logs. A file can hold a hundred
/// thousand (one key repeated): an operator fixes the first ones, and the rest are counted.
inline constexpr std::size_t errors_reported = 100;

/// The lines reporting `errors`: the first `limit` (to_string()), then, when some were left
/// out, one line counting them ("... and 99900 more errors, not shown").
std::vector<std::string> report_lines(const std::vector<config_error>& errors,
                                      std::size_t limit = errors_reported);

}  // namespace pier::config
