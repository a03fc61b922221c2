// The server side of a connection's TLS handshake, run by the listener before the handler
// starts (after a PROXY header, which travels in the clear).
//
// A handshake is a request for request_timeout: one still incomplete that long after accept is
// cut by the listener's sweep (a client that connects and sends nothing, or trickles its
// ClientHello), and a drain interrupts it as it interrupts any wait for the peer.
//
// Threads: on the connection's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "pier/net/connection.hpp"

namespace pier::net {

struct handshake_result {
    enum class outcome {
        done,       ///< the stream now carries plaintext
        failed,     ///< the client's TLS was refused (garbage, no common version or cipher)
        abandoned,  ///< the client left, or a stop (request_timeout, drain) cut it
    };
    outcome result;
    boost::system::error_code error;  ///< why, when failed
};

/// Completes the handshake of `conn`, whose stream has a tls_session (byte_stream::start_tls).
boost::asio::awaitable<handshake_result> shake_hands(connection& conn);

}  // namespace pier::net
