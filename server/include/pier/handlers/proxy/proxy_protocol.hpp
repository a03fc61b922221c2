// The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): a header a proxy sends
// before the client's bytes so the upstream learns the client's address.
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "pier/config/config.hpp"

namespace pier::handlers::proxy {

/// The header announcing a TCP connection from `source` (the client) to `destination` (the
/// address the client connected to). v1 is one text line ("PROXY TCP4 ...\r\n"); v2 is binary.
/// Mixed address families are announced as v1 "UNKNOWN" / v2 LOCAL (the upstream then uses
/// the connection's own addresses). Empty for proxy_protocol::none.
std::string encode_proxy_header(config::proxy_protocol version,
                                const boost::asio::ip::tcp::endpoint& source,
                                const boost::asio::ip::tcp::endpoint& destination);

}  // namespace pier::handlers::proxy
