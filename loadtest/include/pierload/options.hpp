// pierload's command line: what to load, how hard, for how long, and where to report.
//
// parse_options() is pure (argv in, options or one error line out) so it is unit-tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pier/config/result.hpp"

namespace pierload {

/// What each connection does.
enum class load_mode {
    echo,   ///< send --size bytes, expect exactly those bytes back (verified)
    line,   ///< send --request, read a response ending in --response-delimiter
    idle,   ///< connect, prove the connection is served, hold it for the run, close
    churn,  ///< connect, one echo exchange, close, repeat
};

std::string_view to_string(load_mode mode);

struct options {
    std::string host;  ///< as given (IP literal or a name, resolved once)
    std::string port;  ///< service or number
    load_mode mode = load_mode::echo;
    std::size_t connections = 10;  ///< -c
    unsigned threads = 0;          ///< -t; 0 = one per hardware thread
    std::chrono::nanoseconds duration{std::chrono::seconds(10)};  ///< -d
    /// -d was given. A --requests run without it has no time limit but ends early once
    /// errors exceed --max-errors (it has failed, and a dead server would keep it forever).
    bool duration_given = false;
    std::chrono::nanoseconds warmup{0};     ///< excluded from results
    std::optional<std::uint64_t> requests;  ///< --requests: stop after this many (total)
    double connect_rate = 0;  ///< new connections per second in total; 0 = as fast as possible
    std::chrono::nanoseconds connect_timeout{std::chrono::seconds(5)};
    /// A response slower than this counts as a timeout error and the connection is reopened.
    std::chrono::nanoseconds request_timeout{std::chrono::seconds(10)};
    double rate = 0;           ///< -R: total requests per second (open loop); 0 = closed loop
    std::size_t size = 64;     ///< echo/churn message size in bytes
    std::size_t pipeline = 1;  ///< messages in flight per connection (echo, line)
    std::string request = "PING\r\n";       ///< line mode request, escapes already decoded
    std::string response_delimiter = "\n";  ///< line mode: a response ends with this
    std::vector<std::string> source_ips;    ///< local addresses to spread connections over
    bool quiet = false;
    std::string json_path;  ///< "-" = stdout
    std::string hdr_path;
    std::string plot_path;
    std::uint64_t max_errors = 0;  ///< exit non-zero when errors exceed this
    bool show_help = false;        ///< --help: print usage_text() and exit 0, nothing else
};

/// The options argv asks for, or one line saying what is wrong.
pier::result<options> parse_options(std::span<const char* const> args);

/// --help: usage, every option, examples.
std::string usage_text();

/// Decodes \r \n \t \0 \\ and \xHH; returns nullopt with a bad or truncated escape.
std::optional<std::string> unescape(std::string_view text);

/// Expands "127.0.0.1-127.0.0.32" (or a single address, or a comma-separated list of either)
/// into addresses; nullopt with a reason in `error` if malformed or larger than 65536.
std::optional<std::vector<std::string>> expand_source_ips(std::string_view text,
                                                          std::string& error);

}  // namespace pierload
