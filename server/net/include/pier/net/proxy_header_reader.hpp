// Reading the PROXY protocol header a proxy in front of pier sends first (accept_proxy).
//
// Takes exactly the header's bytes off the socket: it peeks, parses (the sans-io parser in
// net/proxy_protocol.hpp), and consumes only bytes the parser has placed in the
// header, so whatever the client sent after it is left for the handler. Bytes of an incomplete
// header are consumed as they come (they are header bytes either way), so a slow sender is
// waited for without spinning on data already seen. Bounded: at most max_proxy_header bytes
// are kept. Waiting for the first byte is bounded by the listener's idle_timeout, like any
// silent connection; once a header has begun, by its request_timeout (a header trickled byte
// by byte is cut).
#pragma once

#include <string>

#include <boost/asio/awaitable.hpp>

#include "pier/net/connection.hpp"
#include "pier/net/proxy_protocol.hpp"

namespace pier::net {

struct proxy_header_read {
    enum class status {
        ok,  ///< `header` was read; the socket is at the first byte after it
        /// not a valid header, or part of one and then the peer's FIN (a truncated header):
        /// `error` says why (close the connection; the listener counts it)
        invalid,
        /// before a single byte of a header the peer closed (a TCP health check, say), or its
        /// connection failed (reset), or a stop was requested (drain, request_timeout)
        closed,
    };
    status state = status::closed;
    proxy_header header;
    std::string error;
};

/// Runs on the connection's executor, before its handler.
boost::asio::awaitable<proxy_header_read> read_proxy_header(connection& conn);

}  // namespace pier::net
