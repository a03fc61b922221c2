// Reading and validating pier's YAML configuration.
//
// parse_config() is pure (text in, config or errors out) so every error path is unit-tested on
// strings; load_config() only adds reading the file. config_error and report_lines() are in
// config_error.hpp, included here. Callable from any thread.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pier/config/config.hpp"
#include "pier/config/config_error.hpp"

namespace pier::config {

/// A valid config, or every error found (never the first only).
struct parse_result {
    std::optional<config> value;  ///< set iff errors is empty
    std::vector<config_error> errors;

    bool ok() const { return errors.empty(); }
};

/// Parses and validates YAML text. `source_name` is used as the file part of error positions.
parse_result parse_config(std::string_view text, std::string_view source_name);

/// Reads `path` and parses it; an unreadable file is one error naming the path and the reason.
parse_result load_config(const std::filesystem::path& path);

}  // namespace pier::config
