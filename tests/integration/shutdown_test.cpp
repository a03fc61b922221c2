// Graceful shutdown: drain echoes what clients had sent, then closes; the drain timeout bounds
// how long a client that never reads can hold shutdown up.
#include <atomic>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pier/runtime/clock.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

// Proves the drain: clients that sent a message but have not read the answer get every byte
// back, then EOF, when shutdown begins; and shutdown then completes.
TEST_CASE("shutdown: clients mid-message get what they sent, then EOF") {
    auto cfg = echo_config();
    cfg.listeners[0].idle_timeout = 0s;
    auto server = std::make_unique<running_server>(cfg);
    const auto endpoint = server->endpoint();
    constexpr std::size_t clients = 20;
    asio::io_context io;
    std::vector<tcp::socket> sockets;
    std::vector<std::string> sent;
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            for (std::size_t i = 0; i < clients; ++i) {
                sockets.push_back(co_await connect_to(endpoint));
                sent.push_back(make_payload(1000 + i * 100, static_cast<unsigned>(i)));
                co_await asio::async_write(sockets.back(), asio::buffer(sent.back()),
                                           asio::use_awaitable);
            }
        },
        10s);

    // Shutdown blocks until drained, so it runs beside the clients that read the answers. A
    // jthread: if the clients fail, unwinding joins it (the drain ends within drain_timeout)
    // instead of terminating the test on a joinable thread.
    std::jthread stopper([&] { server.reset(); });
    std::size_t complete = 0;
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            for (std::size_t i = 0; i < clients; ++i) {
                boost::system::error_code ended;
                const auto received = co_await read_to_end(sockets[i], ended);
                CHECK(received == sent[i]);
                CHECK(ended == asio::error::eof);
                if (received == sent[i] && ended == asio::error::eof) ++complete;
            }
        },
        20s);
    stopper.join();
    CHECK(complete == clients);
}

// Proves the drain path itself: a client that floods without reading leaves the server with a
// write stuck and bytes unread when shutdown begins. Once the client reads, every byte that
// reached the server comes back, in order, then a clean EOF, even though the client sends one
// more byte after the drain began (the server discards it instead of answering the close with
// a reset). Bytes still in the client's own send buffer may not have reached the server: the
// client's SO_SNDBUF is kept small to bound them.
TEST_CASE("shutdown: bytes unread by the server at drain time are echoed, then EOF") {
    auto cfg = echo_config();
    cfg.listeners[0].idle_timeout = 0s;
    auto server = std::make_unique<running_server>(cfg);
    asio::io_context io;
    tcp::socket socket(io);
    const auto flood = make_payload(64 << 20, 7);
    std::size_t sent = 0;
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            socket.open(tcp::v4());
            socket.set_option(asio::socket_base::send_buffer_size(16384));
            co_await socket.async_connect(server->endpoint(), asio::use_awaitable);
            sent = co_await write_until_stuck(socket, flood);
        },
        30s);

    std::jthread stopper([&] { server.reset(); });  // joined by unwinding too, as above
    std::string received;
    boost::system::error_code ended;
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            char chunk[65536];
            bool poked = false;
            for (;;) {
                auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk),
                                                               asio::as_tuple(asio::use_awaitable));
                received.append(chunk, n);
                if (ec) {
                    ended = ec;
                    break;
                }
                if (!poked && received.size() > sent / 2) {
                    // Input the draining server will not echo: it must not turn into a reset.
                    poked = true;
                    co_await asio::async_write(socket, asio::buffer("!", 1), asio::use_awaitable);
                }
            }
        },
        30s);
    stopper.join();
    CHECK(ended == asio::error::eof);
    // What may be missing is at most what sat in our send buffer (the kernel doubles SO_SNDBUF).
    asio::socket_base::send_buffer_size send_buffer;
    socket.get_option(send_buffer);
    CAPTURE(sent);
    CAPTURE(received.size());
    CHECK(received.size() + 2 * static_cast<std::size_t>(send_buffer.value()) >= sent);
    const auto echoed = std::min(received.size(), sent);
    CHECK(received.compare(0, echoed, flood, 0, echoed) == 0);
}

// Proves the drain timeout: a client that floods without ever reading cannot hold shutdown
// beyond drain_timeout; it is cancelled and its connection closed. The drain's 30 s pass on
// the server's clock (runtime::clock), moved forward while shutdown waits, not in real time.
TEST_CASE("shutdown: a client that never reads is cut off after drain_timeout") {
    auto cfg = echo_config();
    cfg.shutdown.drain_timeout = 30s;
    cfg.listeners[0].idle_timeout = 0s;
    auto server = std::make_unique<running_server>(cfg);
    asio::io_context io;
    tcp::socket socket(io);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            socket = co_await connect_to(server->endpoint());
            // Fill both directions' socket buffers: the server's write back blocks, so it stops
            // reading and this write can never finish while nobody reads.
            co_await write_until_stuck(socket, make_payload(64 << 20));
        },
        20s);

    const auto began = std::chrono::steady_clock::now();
    std::atomic<bool> stopped = false;
    std::jthread stopper([&] {  // joined by unwinding too, as above
        server.reset();         // drain, time out, cancel, stop
        stopped = true;
    });
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            // The drain sets its deadline at a moment the test cannot see: the clock moves a
            // drain_timeout forward at every look until shutdown has returned.
            CHECK(co_await eventually(
                [&] {
                    runtime::clock::advance(30s);
                    return stopped.load();
                },
                10s));
            // The server closed its end: the client's reads end in EOF or reset, never block.
            boost::system::error_code ended;
            co_await read_to_end(socket, ended);
            CHECK(ended);
        },
        20s);
    stopper.join();
    CHECK(std::chrono::steady_clock::now() - began < 10s);
}

}  // namespace
}  // namespace pier::test
