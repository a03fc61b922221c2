// The admin endpoint: HTTP/1.1 (Boost.Beast) on its own listener and its own thread.
//
// Its own thread and io_context, not a worker's: health probes and scrapes are answered even
// when every worker is busy, and they never take a worker's time. Each admin connection is a
// coroutine on that thread: keep-alive, one request at a time, the request head bounded as a
// whole (8 KiB, else 431), no request bodies (400), `admin.timeout` on every request and
// response, `admin.keepalive_timeout` for the next request on a kept-alive connection. Probes
// get through however the endpoint is held: at most `admin.max_connections` at once, a new
// connection taking the slot of the one that has gone longest without progress
// (connection_slots.hpp), and a descriptor kept back for a probe when the process has none
// left (reserve_descriptor.hpp). What it answers is routes.hpp's.
//
// Threads: construct, start() and stop() from the owner's thread (the server's).
#pragma once

#include <optional>
#include <thread>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "pier/admin/connection_slots.hpp"
#include "pier/admin/reserve_descriptor.hpp"
#include "pier/admin/routes.hpp"
#include "pier/config/config.hpp"
#include "pier/log/rate_limiter.hpp"

namespace pier::admin {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class admin_server {
public:
    /// Binds and listens at once (net/listening_socket.hpp); throws net::bind_error naming
    /// the address on failure.
    admin_server(const config::admin_config& cfg, admin_sources sources);
    ~admin_server();
    admin_server(const admin_server&) = delete;
    admin_server& operator=(const admin_server&) = delete;

    /// Starts the thread that accepts and serves.
    void start();
    /// Stops serving: requests in progress are cut. Idempotent.
    void stop();

    /// The bound address (port resolved when the config said 0).
    tcp::endpoint local_endpoint() const { return local_; }

private:
    asio::awaitable<void> accept_loop();
    /// The connection waiting to be accepted, on the reserved descriptor; nullopt if none is
    /// held or the accept fails after all.
    std::optional<tcp::socket> accept_on_reserve();
    /// Serves one connection; one on the reserve answers one request and gives its descriptor
    /// back to the reserve.
    asio::awaitable<void> serve(tcp::socket socket, bool on_reserve);

    const config::admin_config config_;
    const admin_sources sources_;
    // Before io_: destroying io_ destroys the connections' suspended coroutines, whose slots
    // leave slots_ as they go.
    connection_slots slots_;      ///< admin thread only
    reserve_descriptor reserve_;  ///< admin thread only
    asio::io_context io_{1};
    tcp::acceptor acceptor_;
    tcp::endpoint local_;
    std::thread thread_;
    log::rate_limiter reclaim_log_{std::chrono::seconds(10)};
    log::rate_limiter reserve_log_{std::chrono::seconds(10)};
};

}  // namespace pier::admin
