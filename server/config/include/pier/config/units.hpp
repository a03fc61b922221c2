// Human units for config values: durations ("250ms", "30s", "5m") and sizes ("64KiB", "1MiB").
//
// Pure functions, no state; callable from any thread. Operators of HAProxy, nginx and Envoy write
// timeouts and buffer sizes this way, so pier's YAML does too.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "pier/config/result.hpp"

namespace pier::config {

/// Parses a non-negative duration: an integer followed by one of us, ms, s, m, h, d
/// ("250ms", "30s", "5m"). "0" alone means zero. Whitespace, signs, fractions and values that
/// overflow std::chrono::nanoseconds are rejected.
result<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// Parses a byte size: an integer, optionally followed by B, KiB, MiB, GiB, TiB (powers of 1024)
/// or KB, MB, GB, TB (powers of 1000). "64KiB" = 65536. Overflow of uint64 is rejected.
result<std::uint64_t> parse_size(std::string_view text);

/// Formats a duration in the largest unit that represents it exactly ("5m", "250ms", "0s").
/// A value that is not a whole number of microseconds is written in "ns", which parse_duration
/// does not read: config values never have such precision, only computed ones in logs do.
/// A negative duration gets a leading "-".
std::string format_duration(std::chrono::nanoseconds d);

/// Formats a size in the largest binary unit that represents it exactly ("64KiB", "100B", "0B").
/// TiB is the largest unit used, so the result always reads back through parse_size.
std::string format_size(std::uint64_t bytes);

}  // namespace pier::config
