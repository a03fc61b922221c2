// The process's open-file limit against what the config may need.
//
// pierd raises its soft RLIMIT_NOFILE to the hard limit at start
// (runtime/open_file_limit.hpp) and warns, with the arithmetic, when the configured
// connection limits cannot fit.
#pragma once

#include <cstdint>

#include "pier/config/config.hpp"

namespace pier::daemon {

/// Descriptors the config may use at once: every listener's max_connections, one per
/// listener, three per worker's reactor (epoll, eventfd, timerfd), and 64 for the process
/// itself (stdio, logs, resolver, admin).
std::uint64_t descriptors_needed(const config::config& cfg, std::size_t workers);

/// Warns, with the arithmetic, when the soft open-file limit is below descriptors_needed().
/// At start and after each reload (a reload may raise the connection limits).
void warn_if_open_file_limit_short(const config::config& cfg, std::size_t workers);

}  // namespace pier::daemon
