// The admin endpoint: HTTP/1.1 (Boost.Beast) on its own listener and its own thread.
//
// Its own thread and io_context, not a worker's: health probes and scrapes are answered even
// when every worker is busy, and they never take a worker's time. Each admin connection is a
// coroutine on that thread: keep-alive, one request at a time, headers bounded (8 KiB, else
// 431), no request bodies (400), `admin.timeout` on every read and write, at most
// `admin.max_connections` at once (more are closed at once). What it answers is routes.hpp's.
//
// Threads: construct, start() and stop() from the owner's thread (the server's).
#pragma once

#include <cstddef>
#include <thread>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "pier/admin/routes.hpp"
#include "pier/config/config.hpp"
#include "pier/log/rate_limiter.hpp"

namespace pier::admin {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class admin_server {
public:
    /// Binds and listens at once; throws net::bind_error naming the address on failure.
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
    asio::awaitable<void> serve(tcp::socket socket);

    const config::admin_config config_;
    const admin_sources sources_;
    asio::io_context io_{1};
    tcp::acceptor acceptor_;
    tcp::endpoint local_;
    std::thread thread_;
    std::size_t active_ = 0;  ///< connections being served; admin thread only
    log::rate_limiter reject_log_{std::chrono::seconds(10)};
};

}  // namespace pier::admin
