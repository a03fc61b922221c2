// net::byte_stream on real loopback sockets: the operations handlers move bytes with never
// wait when they say so, report a full window as no failure and a dead peer as one, and a
// cancel ends a pending write without closing the stream.
#include <cstddef>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pier/net/byte_stream.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

/// Waits until `stream` has something to read (bytes, EOF or an error).
asio::awaitable<void> readable(net::byte_stream& stream) {
    co_await stream.tcp_socket().async_wait(tcp::socket::wait_read, asio::use_awaitable);
}

/// Sends chunks of `chunk` bytes with send_now until one takes nothing: the peer does not
/// read, so its receive buffer and our send buffer fill (loopback's hold a few MB, far below
/// the bound).
struct window_fill {
    std::size_t total = 0;  ///< bytes send_now reported sent
    bool full = false;      ///< a send took nothing
    boost::system::error_code ec;
};
window_fill fill_window(net::byte_stream& stream) {
    const std::string data(64 * 1024, 'x');
    window_fill fill;
    for (int i = 0; i < 4096 && !fill.full && !fill.ec; ++i) {
        const auto sent = stream.send_now(data.data(), data.size(), fill.ec);
        fill.total += sent;
        fill.full = sent == 0;
    }
    return fill;
}

// Proves read_available() returns at once: would_block while nothing has arrived, then the
// bytes, then eof once the peer has finished.
TEST_CASE("byte_stream: read_available never waits") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            std::vector<char> buffer(64);
            boost::system::error_code ec;
            CHECK(ours.read_available(asio::buffer(buffer), ec) == 0);
            CHECK(ec == asio::error::would_block);

            co_await write_all(peer, "abc");
            co_await readable(ours);
            const auto n = ours.read_available(asio::buffer(buffer), ec);
            CHECK_FALSE(ec);
            CHECK(std::string(buffer.data(), n) == "abc");

            peer.shutdown(tcp::socket::shutdown_send);
            co_await readable(ours);
            ours.read_available(asio::buffer(buffer), ec);
            CHECK(ec == asio::error::eof);
        },
        10s);
}

// Proves send_now() takes what the window holds without waiting: with a peer that does not
// read, sends return (the test's deadline would catch one that waited) until one takes
// nothing, which is not a failure; every byte reported sent arrives.
TEST_CASE("byte_stream: send_now takes what the window holds") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            const auto fill = fill_window(ours);
            CHECK_FALSE(fill.ec);
            CHECK(fill.full);
            CHECK(fill.total > 0);

            const auto received = co_await read_exactly(peer, fill.total);
            CHECK(received == std::string(fill.total, 'x'));
        },
        30s);
}

// Proves bytes sent with `more` (MSG_MORE) are not lost or reordered: the next send without
// it lets them go with its own, and so does shutdown_send() after a last send with it.
TEST_CASE("byte_stream: bytes sent with more go with the next send or the shutdown") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            boost::system::error_code ec;
            CHECK(ours.send_now("ab", 2, ec, true) == 2);
            CHECK(ours.send_now("cd", 2, ec) == 2);
            CHECK(co_await read_exactly(peer, 4) == "abcd");
            CHECK(ours.send_now("ef", 2, ec, true) == 2);
            ours.shutdown_send(ec);
            CHECK_FALSE(ec);
            boost::system::error_code end;
            CHECK(co_await read_to_end(peer, end) == "ef");
            CHECK(end == asio::error::eof);
        },
        10s);
}

// Proves send_now() reports a peer that reset the connection as a failure, not as a full
// window (the echo and the relay end the connection on it).
TEST_CASE("byte_stream: send_now reports a reset peer") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            reset(peer);
            co_await readable(ours);  // the RST has arrived
            boost::system::error_code ec;
            const char byte = 'x';
            CHECK(ours.send_now(&byte, 1, ec) == 0);
            CHECK(ec);
            CHECK(ec != asio::error::would_block);
        },
        10s);
}

// Proves cancel() ends a write stuck on a full window with operation_aborted and leaves the
// stream usable: once the peer reads, the stream writes again; shutdown_send() then gives the
// peer EOF after everything sent.
TEST_CASE("byte_stream: cancel ends a pending write, the stream goes on") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            const auto fill = fill_window(ours);
            REQUIRE(fill.full);
            const std::string more(64 * 1024, 'x');
            boost::system::error_code write_ec;
            std::size_t written = 0;
            bool completed = false;
            ours.async_write_some(asio::buffer(more),
                                  [&](boost::system::error_code ec, std::size_t n) {
                                      write_ec = ec;
                                      written = n;
                                      completed = true;
                                  });
            co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
            CHECK_FALSE(completed);  // parked on the full window
            ours.cancel();
            CHECK(co_await eventually([&] { return completed; }));
            CHECK(write_ec == asio::error::operation_aborted);
            CHECK(written == 0);

            auto drained = co_await read_exactly(peer, fill.total);
            CHECK(drained.size() == fill.total);
            co_await asio::async_write(ours, asio::buffer(std::string("tail")),
                                       asio::use_awaitable);
            boost::system::error_code ec;
            ours.shutdown_send(ec);
            CHECK_FALSE(ec);
            boost::system::error_code end;
            CHECK(co_await read_to_end(peer, end) == "tail");
            CHECK(end == asio::error::eof);
        },
        30s);
}

}  // namespace
}  // namespace pier::test
