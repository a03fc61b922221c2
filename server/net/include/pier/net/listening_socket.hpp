// Listening sockets: opening, binding and listening one for a configured address, or taking
// one systemd passed (socket activation). The listeners and the admin endpoint both bind
// through here, so a failure reads the same for both: "<who>: cannot <step> <address>: <why>".
//
// Threads: any; the acceptor must not be in use elsewhere meanwhile.
#pragma once

#include <stdexcept>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "pier/config/config.hpp"

namespace pier::net {

/// A listening socket could not be set up; what() is one line naming who, the step and the
/// address.
class bind_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct listen_options {
    /// The kernel's accept queue length (capped by net.core.somaxconn).
    int backlog = 1024;
    /// An IPv6 address accepts IPv6 only, so "[::]:7000" and "0.0.0.0:7000" are two sockets
    /// (listeners). False keeps the kernel's default (dual-stack on Linux): the admin
    /// endpoint has always bound that way.
    bool ipv6_only = true;
};

/// Opens `acceptor` (closed on entry) for `address`, with SO_REUSEADDR, binds, listens and
/// makes it non-blocking (synchronous accepts that find nobody return at once; async_accept
/// is unaffected). Throws bind_error naming `who` (`listener "echo"`, `admin`).
void open_listening_socket(boost::asio::ip::tcp::acceptor& acceptor,
                           const config::listen_address& address, const listen_options& options,
                           std::string_view who);

/// Takes `fd`, a socket systemd bound and listens on, into `acceptor` (closed on entry) as it
/// is, non-blocking as open_listening_socket() leaves its own. Throws bind_error naming `who`
/// and `address` (the configured one the socket stands for).
void adopt_listening_socket(boost::asio::ip::tcp::acceptor& acceptor, int fd,
                            const config::listen_address& address, std::string_view who);

}  // namespace pier::net
