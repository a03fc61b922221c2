// `pierd --probe URL`: a minimal HTTP GET for health checks (Docker HEALTHCHECK, scripts), so an
// image needs no curl or shell. Exit 0 on a 2xx answer within the timeout, 1 otherwise.
//
// Only what a probe needs: http:// URLs whose host is an IP literal or "localhost", no redirects,
// no TLS. parse_probe_url() is pure and unit-tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "pier/config/result.hpp"

namespace pier::admin {

struct probe_url {
    std::string host;  ///< IP literal (no brackets) or "localhost"
    std::uint16_t port = 80;
    std::string target = "/";  ///< path and query
};

/// The URL's parts, or why it is not one pierd can probe.
result<probe_url> parse_probe_url(std::string_view url);

struct probe_result {
    bool healthy = false;
    std::string summary;  ///< "200 OK" or what went wrong, one line
};

/// GETs `url` with `timeout` for the whole exchange. Writes nothing; the caller reports.
probe_result run_probe(const probe_url& url, std::chrono::nanoseconds timeout);

}  // namespace pier::admin
