// Per-listener limits: idle_timeout, write_timeout and max_connections, shrunk via config so tests
// are quick.
#include <vector>

#include <optional>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/test_client.hpp"

namespace pier::test {
namespace {

// Proves a silent connection is closed once idle_timeout passes (the client reads EOF), that
// the close is counted as idle, and that it does not come early.
TEST_CASE("limits: idle_timeout closes a silent connection") {
    auto cfg = echo_config();
    cfg.listeners[0].idle_timeout = 200ms;
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            // Taken before connecting: the server's idle clock starts at accept, which may come
            // before this coroutine resumes from connect.
            const auto opened = std::chrono::steady_clock::now();
            auto socket = co_await connect_to(server.endpoint());
            boost::system::error_code ended;
            const auto bytes = co_await read_to_end(socket, ended);
            const auto waited = std::chrono::steady_clock::now() - opened;
            CHECK(bytes.empty());
            CHECK(ended == asio::error::eof);
            CHECK(waited >= 200ms);
        },
        10s);
    CHECK(server.listener().stats().closed_for(pier::net::stop_reason::idle_timeout) == 1);
}

// Proves activity postpones the idle timeout: a client that talks every 200 ms of the
// server's clock for 4 s (more than thirteen timeouts' worth) is never cut off, and is cut
// once it falls silent for longer than the timeout. The server's clock is moved forward
// instead of waited for (advance_and_sweep).
TEST_CASE("limits: idle_timeout spares a connection that keeps talking") {
    auto cfg = echo_config();
    cfg.listeners[0].idle_timeout = 300ms;
    running_server server(cfg);
    auto& listener = server.listener();
    with_client(
        server.endpoint(),
        [&](tcp::socket& socket) -> asio::awaitable<void> {
            for (unsigned round = 0; round < 20; ++round) {
                const auto payload = make_payload(16, round);
                CHECK(co_await echo_exchange(socket, payload) == payload);
                co_await advance_and_sweep(listener, 200ms);
            }
            CHECK(listener.stats().closed_for(pier::net::stop_reason::idle_timeout) == 0);
            co_await advance_and_sweep(listener, 400ms);
            CHECK(co_await closed_without_answer(socket));
        },
        10s);
    CHECK(listener.stats().closed_for(pier::net::stop_reason::idle_timeout) == 1);
}

/// Connects from `source` (a loopback address of this machine, port chosen by the kernel).
asio::awaitable<tcp::socket> connect_from(const std::string& source, const tcp::endpoint& to) {
    tcp::socket socket(co_await asio::this_coro::executor);
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(asio::ip::make_address(source), 0));
    co_await socket.async_connect(to, asio::use_awaitable);
    co_return socket;
}

// Proves max_connections: with a limit of 3, a fourth client is closed at once and counted,
// while the three admitted ones keep echoing.
TEST_CASE("limits: max_connections rejects the extra connection and keeps the others") {
    auto cfg = echo_config();
    cfg.listeners[0].max_connections = 3;
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            std::vector<tcp::socket> admitted;
            for (unsigned i = 0; i < 3; ++i) {
                admitted.push_back(co_await connect_to(server.endpoint()));
                // An answered echo proves the server admitted it before the next connect.
                const auto payload = make_payload(100, i);
                CHECK(co_await echo_exchange(admitted.back(), payload) == payload);
            }
            auto extra = co_await connect_to(server.endpoint());
            CHECK(co_await closed_without_answer(extra));
            for (unsigned i = 0; i < 3; ++i) {
                const auto payload = make_payload(5000, 10 + i);
                CHECK(co_await echo_exchange(admitted[i], payload) == payload);
            }
        },
        10s);
    CHECK(server.listener().stats().rejected_for(pier::net::reject_reason::max_connections) == 1);
    CHECK(server.listener().stats().accepted.load() == 3);
}

// Proves write_timeout: a client that sends without ever reading stalls the server's echo
// write; once the write has made no progress for write_timeout, the server closes the
// connection (counted as write_timeout), though idle_timeout is off.
TEST_CASE("limits: write_timeout closes a connection whose peer stopped reading") {
    auto cfg = echo_config();
    cfg.listeners[0].idle_timeout = 0s;
    cfg.listeners[0].write_timeout = 300ms;
    running_server server(cfg);
    with_client(
        server.endpoint(),
        [&](tcp::socket& socket) -> asio::awaitable<void> {
            socket.non_blocking(true);
            const auto flood = make_payload(1 << 20);
            std::optional<std::chrono::steady_clock::time_point> stalled;
            boost::system::error_code ec;
            while (!ec) {
                socket.write_some(asio::buffer(flood), ec);
                if (ec == asio::error::would_block) {
                    ec = {};
                    if (!stalled) stalled = std::chrono::steady_clock::now();
                    // Writable again only if the server reads again, which it does not while
                    // its own write is stuck: this ends with the server's close (an error).
                    co_await socket.async_wait(tcp::socket::wait_write, asio::use_awaitable);
                }
            }
            CHECK((ec == asio::error::connection_reset || ec == asio::error::broken_pipe));
            REQUIRE(stalled.has_value());
            CHECK(std::chrono::steady_clock::now() - *stalled >= 300ms);
        },
        20s);
    CHECK(server.listener().stats().closed_for(pier::net::stop_reason::write_timeout) == 1);
    CHECK(server.listener().stats().closed_for(pier::net::stop_reason::idle_timeout) == 0);
}

// Proves max_connections_per_ip: a third connection from 127.0.0.1 is closed at once, while
// one from 127.0.0.2 is served; a slot given back (a client leaves) admits the address again.
TEST_CASE("limits: max_connections_per_ip caps each client address on its own") {
    auto cfg = echo_config();
    cfg.listeners[0].max_connections_per_ip = 2;
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto to = server.endpoint();
            const auto payload = make_payload(100);
            std::vector<tcp::socket> first;
            for (int i = 0; i < 2; ++i) {
                first.push_back(co_await connect_from("127.0.0.1", to));
                CHECK(co_await echo_exchange(first.back(), payload) == payload);
            }
            auto third = co_await connect_from("127.0.0.1", to);
            CHECK(co_await closed_without_answer(third));
            auto other = co_await connect_from("127.0.0.2", to);
            CHECK(co_await echo_exchange(other, payload) == payload);

            // A client leaves: its EOF echoed back proves the server has ended its connection
            // (the slot is given back before the socket closes).
            first.front().shutdown(tcp::socket::shutdown_send);
            boost::system::error_code ended;
            co_await read_to_end(first.front(), ended);
            auto again = co_await connect_from("127.0.0.1", to);
            CHECK(co_await echo_exchange(again, payload) == payload);
        },
        20s);
    CHECK(server.listener().stats().rejected_for(
              pier::net::reject_reason::max_connections_per_ip) == 1);
    CHECK(server.listener().stats().rejected_for(pier::net::reject_reason::max_connections) == 0);
}

// Proves limits.max_connections is shared by the listeners: with a cap of 2, one connection to
// each of two listeners uses it up, and a third to either is closed at once.
TEST_CASE("limits: limits.max_connections caps connections across listeners") {
    auto cfg = echo_config();
    cfg.limits.max_connections = 2;
    auto second = cfg.listeners[0];
    second.name = "second";
    cfg.listeners.push_back(second);
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto payload = make_payload(100);
            auto a = co_await connect_to(server.endpoint("echo"));
            CHECK(co_await echo_exchange(a, payload) == payload);
            auto b = co_await connect_to(server.endpoint("second"));
            CHECK(co_await echo_exchange(b, payload) == payload);
            auto c = co_await connect_to(server.endpoint("echo"));
            CHECK(co_await closed_without_answer(c));
            auto d = co_await connect_to(server.endpoint("second"));
            CHECK(co_await closed_without_answer(d));
            CHECK(co_await echo_exchange(a, payload) == payload);
        },
        20s);
    CHECK(server.listener("echo").stats().rejected_for(
              pier::net::reject_reason::global_max_connections) == 1);
    CHECK(server.listener("second").stats().rejected_for(
              pier::net::reject_reason::global_max_connections) == 1);
}

}  // namespace
}  // namespace pier::test
