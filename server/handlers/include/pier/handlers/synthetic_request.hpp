// The synthetic handler's request line: what one request asks for, parsed without I/O.
//
// A request is one line of space-separated `key=value` tokens, each overriding a listener
// default: `cpu=250us delay=10ms size=128`. An empty line takes every default. Pure functions,
// safe from any thread; the parser sees bytes straight from a peer, so it bounds every value and
// never throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "pier/config/result.hpp"

namespace pier::handlers {

/// What one request costs the server and what it gets back.
struct synthetic_request {
    std::chrono::nanoseconds cpu{0};    ///< thread CPU time spent on it
    std::chrono::nanoseconds delay{0};  ///< then waited without holding a thread
    std::uint64_t size = 3;             ///< response length in bytes, ending in '\n'
};

/// Parses one request line (without its '\n'; a trailing '\r' is ignored). Tokens override
/// `defaults`, within config::synthetic_config's bounds. Returns the request, or the reason it is
/// rejected (one line of text, no newline).
result<synthetic_request> parse_synthetic_request(std::string_view line,
                                                  const synthetic_request& defaults);

}  // namespace pier::handlers
