// The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): a header a proxy sends
// before the client's bytes so the upstream learns the client's address.
//
// Encoding for send_proxy, and a parser for what a proxy in front of pier sends. The parser is
// sans-io (bytes in, a verdict out), strict (anything the specification does not allow is
// rejected, so a peer cannot smuggle a forged address past it) and never reads past the bytes
// it is given: a fuzzer drives it directly. Pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "pier/config/config.hpp"

namespace pier::net {

/// The header announcing a TCP connection from `source` (the client) to `destination` (the
/// address the client connected to). v1 is one text line ("PROXY TCP4 ...\r\n"); v2 is binary.
/// Mixed address families are announced as v1 "UNKNOWN" / v2 LOCAL (the upstream then uses
/// the connection's own addresses). Empty for proxy_protocol::none.
std::string encode_proxy_header(config::proxy_protocol version,
                                const boost::asio::ip::tcp::endpoint& source,
                                const boost::asio::ip::tcp::endpoint& destination);

/// What a header says.
struct proxy_header {
    /// v1 UNKNOWN or v2 LOCAL (or an address family other than TCP over IPv4/IPv6): the
    /// sender announces no client; the connection's own addresses apply.
    bool local = false;
    boost::asio::ip::tcp::endpoint source;       ///< the client, unless local
    boost::asio::ip::tcp::endpoint destination;  ///< the address it connected to, unless local
};

/// The verdict on the bytes received so far.
struct proxy_parse {
    enum class status {
        incomplete,  ///< a valid prefix: read more (the header is at most max_proxy_header bytes)
        done,        ///< `header` parsed from the first `consumed` bytes
        invalid,     ///< not a PROXY header: `error` says why
    };
    status state = status::incomplete;
    std::size_t consumed = 0;
    proxy_header header;
    std::string error;
};

/// The longest header accepted: v1's 107-byte line, or a v2 header with up to 1 KiB of
/// addresses and TLVs (skipped, once checked to fill the header exactly).
inline constexpr std::size_t max_proxy_header = 16 + 1024;

/// Parses a v1 or v2 header at the start of `data` (the first bytes a client sent).
proxy_parse parse_proxy_header(std::string_view data);

}  // namespace pier::net
