// Slowloris: peers that open many connections and send each request a byte at a time, so that
// every connection looks busy (each byte postpones idle_timeout) while no request ever
// completes. request_timeout cuts them, counting from a request's first byte; clients sending
// whole requests next to them keep their latency. idle_timeout is set far past every deadline
// here, so it cannot be what closes anything.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pier/net/proxy_protocol.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

using namespace asio::experimental::awaitable_operators;
using clock = std::chrono::steady_clock;

constexpr auto request_timeout = 1s;
/// Between two bytes of a slowloris request: ten bytes per request_timeout, each of which
/// would have postponed an idle timeout.
constexpr auto trickle_interval = 100ms;

config::config slowloris_target(config::handler_kind handler,
                                std::chrono::nanoseconds timeout = request_timeout) {
    auto cfg = echo_config();
    cfg.listeners[0].handler = handler;
    cfg.listeners[0].idle_timeout = 10min;
    cfg.listeners[0].request_timeout = timeout;
    return cfg;
}

/// Sends `text` one byte per trickle_interval. Returns when all of it is sent (the caller
/// treats that as a failure) or, through cancellation, when the server has closed.
asio::awaitable<void> trickle(tcp::socket& socket, const std::string& text) {
    asio::steady_timer pause(co_await asio::this_coro::executor);
    for (const char byte : text) {
        co_await write_all(socket, std::string(1, byte));
        pause.expires_after(trickle_interval);
        co_await pause.async_wait(asio::use_awaitable);
    }
}

/// What a slowloris connection saw: how long the server let it trickle, what it answered.
struct trickle_result {
    clock::duration lasted{};
    std::size_t bytes_answered = 0;
    bool closed_by_server = false;
};

/// Connects, trickles `text` until the server closes the connection (the read sees EOF or a
/// reset), and reports how long that took from the first byte.
asio::awaitable<trickle_result> trickle_until_closed(tcp::endpoint endpoint, std::string text) {
    auto socket = co_await connect_to(endpoint);
    boost::system::error_code ended;
    const auto began = clock::now();
    auto outcome = co_await (read_to_end(socket, ended) || trickle(socket, text));
    trickle_result result;
    result.lasted = clock::now() - began;
    if (outcome.index() == 0) {
        result.closed_by_server = true;
        result.bytes_answered = std::get<0>(outcome).size();
    }
    co_return result;
}

/// One request on a connection of its own, timed from its first byte to its answer.
asio::awaitable<clock::duration> timed_request(tcp::socket& socket) {
    const auto began = clock::now();
    CHECK(co_await ask(socket, "size=64\n") == "OK" + std::string(61, 'x') + "\n");
    co_return clock::now() - began;
}

clock::duration median(std::vector<clock::duration> samples) {
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

// Proves request_timeout cuts 200 connections trickling a synthetic request line, each after
// request_timeout from its first byte (not at max_line, not at idle_timeout), without an
// answer, counted; and that a client sending whole requests meanwhile is answered as fast as
// before the flood (within a margin for the 2,000 bytes a second the flood costs).
TEST_CASE("slowloris: trickled request lines are cut by request_timeout, others keep latency") {
    constexpr unsigned connections = 200;
    running_server server(slowloris_target(config::handler_kind::synthetic));
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto endpoint = server.endpoint();
            auto normal = co_await connect_to(endpoint);
            std::vector<clock::duration> before;
            for (int i = 0; i < 50; ++i) before.push_back(co_await timed_request(normal));

            // Shared with the trickling coroutines, which outlive this frame if it fails.
            const auto results = std::make_shared<std::vector<trickle_result>>();
            const auto executor = co_await asio::this_coro::executor;
            // A line far shorter than max_line (4KiB): only the timeout can end it in time.
            const std::string line(200, 'a');
            for (unsigned i = 0; i < connections; ++i) {
                asio::co_spawn(
                    executor,
                    [results, endpoint, line]() -> asio::awaitable<void> {
                        results->push_back(co_await trickle_until_closed(endpoint, line));
                    },
                    asio::detached);
            }
            // While the flood trickles: the normal client's requests, one after another.
            std::vector<clock::duration> during;
            asio::steady_timer pace(executor);
            while (results->size() < connections) {
                during.push_back(co_await timed_request(normal));
                pace.expires_after(10ms);  // a steady client, not a flood of its own
                co_await pace.async_wait(asio::use_awaitable);
            }
            for (const auto& r : *results) {
                CHECK(r.closed_by_server);
                CHECK(r.bytes_answered == 0);
                CHECK(r.lasted >= request_timeout);
                CHECK(r.lasted < 5 * request_timeout);
            }
            const auto& stats = server.listener().stats();
            CHECK(co_await eventually([&] {
                return stats.closed_for(pier::net::stop_reason::request_timeout) == connections;
            }));
            CHECK(stats.closed_for(pier::net::stop_reason::idle_timeout) == 0);
            REQUIRE(during.size() >= 10);
            const auto usual = median(before);
            const auto flooded = median(during);
            MESSAGE("median latency before ", usual.count() / 1000, " us, during the flood ",
                    flooded.count() / 1000, " us over ", during.size(), " requests");
            // Generous bounds: the machine is shared, and this client's own thread also runs
            // the 200 trickling connections. Cut by timeouts instead, they would take seconds.
            CHECK(flooded <= std::max<clock::duration>(4 * usual, 50ms));
            CHECK(*std::max_element(during.begin(), during.end()) < 2s);
            // The normal client was never cut: its requests each arrived whole.
            co_await timed_request(normal);
        },
        60s);
}

// Proves the clock covers receiving a request, not answering it, and restarts for each
// request: requests arriving in pieces within request_timeout, one after another for longer
// than it in all, and a request whose answer takes longer than it, are all served. The
// server's clock is moved forward instead of waited for (advance_and_sweep), so the test
// takes about the slow answer's real 1 s.
TEST_CASE("slowloris: request_timeout spares requests that arrive in time") {
    constexpr auto timeout = 3s;
    running_server server(slowloris_target(config::handler_kind::synthetic, timeout));
    auto& listener = server.listener();
    // The server has read `bytes` in all (so it has stamped what they began).
    const auto server_has = [&](std::uint64_t bytes) {
        return eventually(
            [&, bytes] { return listener.connections().traffic().bytes_in == bytes; });
    };
    with_client(
        server.endpoint(),
        [&](tcp::socket& client) -> asio::awaitable<void> {
            std::uint64_t sent = 0;
            for (int request = 0; request < 6; ++request) {  // 12 s in all, on the server's clock
                // Each in three pieces, 1 s apart: 2 s from first byte to newline.
                for (const std::string piece : {"si", "ze=", "2\n"}) {
                    co_await write_all(client, piece);
                    sent += piece.size();
                    if (piece.back() == '\n') break;
                    CHECK(co_await server_has(sent));
                    co_await advance_and_sweep(listener, 1s);
                }
                CHECK(co_await read_exactly(client, 2) == "O\n");
            }
            // Answered while the server's clock moves past the timeout: it arrived whole.
            const std::string slow = "delay=1s size=2\n";
            co_await write_all(client, slow);
            CHECK(co_await server_has(sent + slow.size()));
            co_await advance_and_sweep(listener, 2 * timeout);
            CHECK(co_await read_exactly(client, 2) == "O\n");
            CHECK(listener.stats().closed_for(pier::net::stop_reason::request_timeout) == 0);
        },
        30s);
}

// Proves a PROXY protocol header trickled byte by byte on an accept_proxy listener is cut at
// request_timeout, counted as such (not as a bad header), and the listener serves the next
// client whose header arrives whole.
TEST_CASE("slowloris: a trickled PROXY header is cut by request_timeout") {
    auto cfg = slowloris_target(config::handler_kind::echo);
    cfg.listeners[0].accept_proxy = true;
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto endpoint = server.endpoint();
            const auto header = net::encode_proxy_header(
                config::proxy_protocol::v1,
                tcp::endpoint(asio::ip::make_address("198.51.100.7"), 40000), endpoint);
            // About ten of its ~50 bytes are in when request_timeout ends it.
            const auto r = co_await trickle_until_closed(endpoint, header);
            CHECK(r.closed_by_server);
            CHECK(r.bytes_answered == 0);
            CHECK(r.lasted >= request_timeout);
            const auto& stats = server.listener().stats();
            CHECK(co_await eventually(
                [&] { return stats.closed_for(pier::net::stop_reason::request_timeout) == 1; }));
            CHECK(stats.proxy_header_errors == 0);

            auto whole = co_await connect_to(endpoint);
            const auto payload = make_payload(100, 3);
            co_await write_all(whole, header + payload);
            CHECK(co_await read_exactly(whole, payload.size()) == payload);
        },
        30s);
}

}  // namespace
}  // namespace pier::test
