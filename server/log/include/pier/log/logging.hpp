// Process-wide logging set-up on top of spdlog.
//
// Messages follow the house style (ARCHITECTURE.md, "Conventions"): a lowercase message, then
// key=value fields (`spdlog::info("listening name={} addr={}", ...)`). In text format that line
// is printed as is; in json format each record becomes one object per line:
// {"ts","level","msg",<fields>...}, the fields taken from the key=value tokens. Under systemd
// (JOURNAL_STREAM set) text lines carry a syslog priority prefix and no timestamp, since journald
// adds both.
//
// configure_logging() installs the default logger from main before threads start;
// reconfigure_logging() changes its level and format in place at a reload.
#pragma once

#include <memory>
#include <string>

#include <spdlog/formatter.h>

#include "pier/config/config.hpp"

namespace pier::log {

/// Installs pier's logger (stderr) as spdlog's default. Call once, before threads start.
void configure_logging(const config::log_config& cfg);

/// Changes the level and format of the logger configure_logging() installed. Any thread.
void reconfigure_logging(const config::log_config& cfg);

/// Maps pier's level to spdlog's.
int to_spdlog_level(config::log_level level);

/// The formatter json format uses, exposed for tests: one JSON object per record.
std::unique_ptr<spdlog::formatter> make_json_formatter();

}  // namespace pier::log
