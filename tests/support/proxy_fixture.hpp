// Building blocks of the proxy handler's tests: a server whose listener "front" proxies to
// given upstreams, what it reports of them, and sockets the test holds to play an upstream.
#pragma once

#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "pier/admin/metrics.hpp"
#include "pier/handlers/proxy/upstream.hpp"
#include "support/test_client.hpp"

namespace pier::test {

using endpoints = std::vector<tcp::endpoint>;

/// A server whose one listener, "front", proxies to `upstreams`.
config::config front_config(const endpoints& upstreams);

/// The front listener's view of one upstream.
handlers::proxy::upstream_snapshot upstream_figures(running_server& server,
                                                    const tcp::endpoint& upstream);

/// The front listener's figures.
admin::listener_snapshot front_figures(running_server& server);

/// An upstream that refuses connections: a socket bound to a loopback port but not listening
/// (so no other socket can take the port). listen() on it brings the upstream back.
tcp::acceptor refusing_upstream(asio::io_context& io);

/// A listening socket the test owns on a free loopback port, to play an upstream.
tcp::acceptor listening_upstream(asio::io_context& io);

}  // namespace pier::test
