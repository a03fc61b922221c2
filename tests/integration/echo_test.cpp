// The echo handler end to end: a real server in-process on 127.0.0.1:0, real sockets.
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "support/test_client.hpp"

namespace pier::test {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

// Proves byte-exact echo across sizes from one byte to far beyond any socket buffer, where the
// server must stop reading while its writes are pending (backpressure) without deadlocking.
TEST_CASE("echo: echoes payloads from 1 byte to 4 MiB byte for byte") {
    running_server server(echo_config());
    const auto endpoint = server.endpoint();
    for (const std::size_t size : {std::size_t{1}, std::size_t{1000}, std::size_t{65536},
                                   std::size_t{1} << 20, std::size_t{4} << 20}) {
        CAPTURE(size);
        with_client(
            endpoint,
            [&](tcp::socket& socket) -> asio::awaitable<void> {
                const auto payload = make_payload(size, static_cast<unsigned>(size));
                const auto received = co_await echo_exchange(socket, payload);
                CHECK(received == payload);
            },
            30s);
    }
    CHECK(server.listener().stats().accepted.load() == 5);
}

// Proves a connection stays usable across many request/response rounds and that the server
// answers EOF with EOF after echoing everything.
TEST_CASE("echo: many rounds on one connection, then EOF is answered with EOF") {
    running_server server(echo_config());
    with_client(
        server.endpoint(),
        [&](tcp::socket& socket) -> asio::awaitable<void> {
            for (unsigned round = 0; round < 100; ++round) {
                const auto payload = make_payload(1 + round * 37, round);
                CHECK(co_await echo_exchange(socket, payload) == payload);
            }
            const auto tail = make_payload(5000, 999);
            co_await asio::async_write(socket, asio::buffer(tail), asio::use_awaitable);
            socket.shutdown(tcp::socket::shutdown_send);
            boost::system::error_code ended;
            const auto rest = co_await read_to_end(socket, ended);
            CHECK(rest == tail);
            CHECK(ended == asio::error::eof);
        },
        30s);
}

// Proves a client that resets right behind its last bytes is seen to be gone, however the
// two arrive: the echo's read parks after a read that drained the socket, and a reset that
// came with the last bytes raises no further event (the proxy needs a recheck for it); echo
// finds it by sending those bytes back. Only the reset can end these connections: the
// idle_timeout is an hour.
TEST_CASE("echo: a client resetting right behind its last bytes is closed") {
    auto cfg = echo_config();
    cfg.listeners[0].idle_timeout = 1h;
    running_server server(cfg);
    const auto& stats = server.listener().stats();
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            for (std::uint64_t i = 1; i <= 4; ++i) {
                auto client = co_await connect_to(server.endpoint());
                CHECK(co_await echo_exchange(client, "ping") == "ping");
                co_await write_all(client, "last");
                reset(client);
                CHECK(co_await eventually([&] { return stats.closed == i && stats.active == 0; },
                                          10s));
            }
        },
        60s);
    CHECK(stats.closed_for(pier::net::stop_reason::idle_timeout) == 0);
}

// Proves 1,000 connections are served at once: all are open before any exchange starts, and
// every one gets its own bytes back.
TEST_CASE("echo: 1000 concurrent connections each get their own bytes back") {
    running_server server(echo_config());
    constexpr std::size_t connections = 1000;
    with_clients(
        server.endpoint(), connections,
        [&](std::vector<tcp::socket>& sockets) -> asio::awaitable<void> {
            std::size_t matched = 0;
            auto exchange = [&](std::size_t i) -> asio::awaitable<void> {
                const auto payload = make_payload(512 + i, static_cast<unsigned>(i));
                if (co_await echo_exchange(sockets[i], payload) == payload) ++matched;
            };
            // Start every exchange, then wait for all: they overlap on the server.
            std::size_t finished = 0;
            auto executor = co_await asio::this_coro::executor;
            asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
            for (std::size_t i = 0; i < connections; ++i) {
                asio::co_spawn(executor, exchange(i), [&](std::exception_ptr e) {
                    if (e) std::rethrow_exception(e);
                    if (++finished == connections) all_done.cancel();
                });
            }
            co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
            CHECK(matched == connections);
            // Every client is still open and was answered, so the server holds all at once.
            CHECK(server.listener().stats().active.load() == connections);
        },
        60s);
    CHECK(server.listener().stats().accepted.load() == connections);
}

}  // namespace
}  // namespace pier::test
