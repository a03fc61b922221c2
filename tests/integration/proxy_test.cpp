// The proxy handler end to end: a proxy listener in one in-process server relaying to upstreams
// that are either another in-process server or sockets the test holds itself (to see exactly
// what reaches an upstream, or to make one misbehave).
#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pier/net/proxy_protocol.hpp"
#include "support/child_process.hpp"
#include "support/proxy_fixture.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

using namespace asio::experimental::awaitable_operators;

/// `clients` clients, one after the other, each echoing a payload through `front`.
asio::awaitable<void> echo_one_by_one(const tcp::endpoint& front, int clients) {
    for (int i = 0; i < clients; ++i) {
        auto client = co_await connect_to(front);
        const auto payload = make_payload(1000, static_cast<unsigned>(i));
        CHECK(co_await echo_exchange(client, payload) == payload);
    }
}

// Proves the relay is byte-exact both ways, for payloads from one byte to several megabytes,
// on connections relayed at once, and that the upstream's byte counts match.
TEST_CASE("proxy: relays bytes exactly both ways, small and large") {
    running_server upstream(echo_config());
    running_server proxy(front_config({upstream.endpoint()}));
    std::size_t total = 0;
    with_clients(
        proxy.endpoint("front"), 3,
        [&](std::vector<tcp::socket>& clients) -> asio::awaitable<void> {
            unsigned seed = 0;
            for (const std::size_t size : {1u, 100u, 65537u, 4u << 20}) {
                for (auto& client : clients) {
                    const auto payload = make_payload(size, ++seed);
                    CHECK(co_await echo_exchange(client, payload) == payload);
                    total += size;
                }
            }
        },
        60s);
    const auto figures = upstream_figures(proxy, upstream.endpoint());
    CHECK(figures.bytes_sent == total);
    CHECK(figures.bytes_received == total);
    CHECK(figures.connects == 3);
    CHECK(front_figures(proxy).traffic.requests == 3);
}

// Proves half-close: EOF from the client reaches the upstream as EOF while the upstream's
// answer still flows back, and the same the other way round.
TEST_CASE("proxy: a half-close travels on and the other direction keeps flowing") {
    asio::io_context io;
    auto upstream = listening_upstream(io);
    running_server proxy(front_config({upstream.local_endpoint()}));
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            // The client finishes sending first.
            auto client = co_await connect_to(proxy.endpoint("front"));
            auto server = co_await upstream.async_accept(asio::use_awaitable);
            co_await write_all(client, "request");
            client.shutdown(tcp::socket::shutdown_send);
            boost::system::error_code ended;
            CHECK(co_await read_to_end(server, ended) == "request");
            CHECK(ended == asio::error::eof);
            co_await write_all(server, "answer, ");
            CHECK(co_await read_exactly(client, 8) == "answer, ");
            co_await write_all(server, "then EOF");
            server.shutdown(tcp::socket::shutdown_send);
            CHECK(co_await read_to_end(client, ended) == "then EOF");
            CHECK(ended == asio::error::eof);

            // The upstream finishes sending first.
            auto client2 = co_await connect_to(proxy.endpoint("front"));
            auto server2 = co_await upstream.async_accept(asio::use_awaitable);
            co_await write_all(server2, "banner");
            server2.shutdown(tcp::socket::shutdown_send);
            CHECK(co_await read_to_end(client2, ended) == "banner");
            CHECK(ended == asio::error::eof);
            co_await write_all(client2, "still sending");
            client2.shutdown(tcp::socket::shutdown_send);
            CHECK(co_await read_to_end(server2, ended) == "still sending");
            CHECK(ended == asio::error::eof);
        },
        20s);
}

// Proves TCP urgent data is relayed in line as an ordinary byte, in its place in the stream,
// and the bytes around it still arrive (out of line, a reader would skip it: it was lost).
TEST_CASE("proxy: urgent data is relayed in line") {
    asio::io_context io;
    auto upstream = listening_upstream(io);
    running_server proxy(front_config({upstream.local_endpoint()}));
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            auto client = co_await connect_to(proxy.endpoint("front"));
            auto server = co_await upstream.async_accept(asio::use_awaitable);
            co_await write_all(client, "hello");
            CHECK(co_await read_exactly(server, 5) == "hello");  // the relay is running
            client.send(asio::buffer("!", 1), tcp::socket::message_out_of_band);
            co_await write_all(client, "tail");
            CHECK(co_await read_exactly(server, 5) == "!tail");
        },
        20s);
}

// Proves backpressure: against an upstream that never reads, the client is held back once the
// socket buffers and one max_buffer are full (pierd holds at most max_buffer of it), and the
// stuck connection is closed by write_timeout.
TEST_CASE("proxy: an upstream that does not read holds the client back, memory bounded") {
    asio::io_context io;
    auto upstream = listening_upstream(io);
    auto cfg = front_config({upstream.local_endpoint()});
    cfg.listeners[0].write_timeout = 3s;
    running_server proxy(cfg);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            auto client = co_await connect_to(proxy.endpoint("front"));
            auto server = co_await upstream.async_accept(asio::use_awaitable);  // never reads
            const auto written = co_await write_until_stuck(client, make_payload(64u << 20));
            CHECK(written > 0);
            const auto front = front_figures(proxy);
            const auto sent_upstream =
                upstream_figures(proxy, upstream.local_endpoint()).bytes_sent;
            // What pierd read from the client but could not pass on: at most one buffer.
            CHECK(front.traffic.bytes_in >= sent_upstream);
            CHECK(front.traffic.bytes_in - sent_upstream <= cfg.listeners[0].proxy.max_buffer);
            CHECK(co_await closed_without_answer(client));
        },
        30s);
    CHECK(proxy.listener("front").stats().closed_for(pier::net::stop_reason::write_timeout) == 1);
}

// Proves connect_timeout: an upstream whose accept queue is full never answers the SYN; the
// client is closed once the timeout passes (not before), counted as a failed connect.
TEST_CASE("proxy: connect_timeout ends a connect to an upstream that does not answer") {
    asio::io_context io;
    tcp::acceptor full(io);
    full.open(tcp::v4());
    full.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    full.listen(1);
    // Fill its accept queue: connects complete at once until it is full, then the kernel drops
    // the SYNs (the next retransmission is a second away).
    std::vector<tcp::socket> queued;
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 64; ++i) {
                tcp::socket s(io);
                asio::steady_timer patience(io, 200ms);
                auto outcome = co_await (
                    s.async_connect(full.local_endpoint(), asio::as_tuple(asio::use_awaitable)) ||
                    patience.async_wait(asio::as_tuple(asio::use_awaitable)));
                if (outcome.index() == 1) co_return;  // not answered: the queue is full
                queued.push_back(std::move(s));
            }
            FAIL("the accept queue never filled");
        },
        30s);

    auto cfg = front_config({full.local_endpoint()});
    cfg.listeners[0].proxy.connect_timeout = 300ms;
    cfg.listeners[0].proxy.retries = 0;
    running_server proxy(cfg);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            const auto began = std::chrono::steady_clock::now();
            auto client = co_await connect_to(proxy.endpoint("front"));
            CHECK(co_await closed_without_answer(client));
            CHECK(std::chrono::steady_clock::now() - began >= 300ms);
        },
        20s);
    CHECK(upstream_figures(proxy, full.local_endpoint()).connect_failures == 1);
    CHECK(front_figures(proxy).proxy_connect_failed == 1);
}

// Proves retries: with one upstream refusing, every client still reaches the other one, and
// each refused connect is counted against the refusing upstream.
TEST_CASE("proxy: a refused connect moves on to the next upstream") {
    asio::io_context io;
    running_server upstream(echo_config());
    auto refusing = refusing_upstream(io);
    const auto dead = refusing.local_endpoint();
    auto cfg = front_config({dead, upstream.endpoint()});
    cfg.listeners[0].proxy.retries = 1;
    cfg.listeners[0].proxy.max_fails = 0;  // never ejected: every other first pick is `dead`
    running_server proxy(cfg);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> { co_await echo_one_by_one(proxy.endpoint("front"), 6); },
        20s);
    CHECK(upstream_figures(proxy, dead).connect_failures == 3);
    CHECK(upstream_figures(proxy, upstream.endpoint()).connects == 6);
    CHECK(front_figures(proxy).proxy_connect_failed == 0);
}

/// Connects clients until one is relayed to `upstream` (the test accepts it there); false if
/// none is by the deadline. Clients the proxy closes at once are simply tried again.
asio::awaitable<bool> until_relayed_to(tcp::acceptor& upstream, const tcp::endpoint& front,
                                       std::chrono::steady_clock::time_point deadline) {
    auto executor = co_await asio::this_coro::executor;
    while (std::chrono::steady_clock::now() < deadline) {
        auto client = co_await connect_to(front);
        co_await write_all(client, "x");
        tcp::socket accepted(executor);
        asio::steady_timer wait(executor, 100ms);
        auto outcome =
            co_await (upstream.async_accept(accepted, asio::as_tuple(asio::use_awaitable)) ||
                      wait.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (outcome.index() == 0 && !std::get<0>(std::get<0>(outcome))) {
            CHECK(co_await read_exactly(accepted, 1) == "x");
            co_return true;
        }
    }
    co_return false;
}

// Proves passive health: max_fails refused connects in a row eject an upstream (clients go to
// the other one, without trying it), and once fail_timeout has passed it gets clients again.
TEST_CASE("proxy: an upstream that keeps failing is ejected, then tried again") {
    asio::io_context io;
    running_server healthy(echo_config());
    auto flaky_upstream = refusing_upstream(io);
    const auto flaky = flaky_upstream.local_endpoint();
    auto cfg = front_config({flaky, healthy.endpoint()});
    auto& p = cfg.listeners[0].proxy;
    p.retries = 1;
    p.max_fails = 2;
    p.fail_timeout = 3s;  // longer than the eight clients take, even under sanitizers
    running_server proxy(cfg);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            co_await echo_one_by_one(proxy.endpoint("front"), 8);
            auto figures = upstream_figures(proxy, flaky);
            CHECK(figures.connect_failures == 2);  // ejected after two: not tried since
            CHECK(figures.ejections == 1);
            CHECK_FALSE(figures.available);

            flaky_upstream.listen();
            CHECK(co_await until_relayed_to(flaky_upstream, proxy.endpoint("front"),
                                            std::chrono::steady_clock::now() + 15s));
            CHECK(upstream_figures(proxy, flaky).available);
        },
        30s);
}

// Proves the all-down behaviour: once every upstream is ejected a client is closed at once,
// without a connect (counted as no_upstream), and service resumes by itself when the
// upstream is back.
TEST_CASE("proxy: with every upstream down clients are closed at once; service resumes") {
    asio::io_context io;
    auto only_upstream = refusing_upstream(io);
    const auto only = only_upstream.local_endpoint();
    auto cfg = front_config({only});
    auto& p = cfg.listeners[0].proxy;
    p.retries = 0;
    p.max_fails = 1;
    p.fail_timeout = 2s;  // the second client comes well within it, even under sanitizers
    running_server proxy(cfg);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            auto first = co_await connect_to(proxy.endpoint("front"));
            CHECK(co_await closed_without_answer(first));  // refused, then ejected
            auto second = co_await connect_to(proxy.endpoint("front"));
            CHECK(co_await closed_without_answer(second));  // nothing to try
            const auto front = front_figures(proxy);
            CHECK(front.proxy_connect_failed == 1);
            CHECK(front.proxy_no_upstream >= 1);
            CHECK(upstream_figures(proxy, only).connect_failures == 1);

            only_upstream.listen();
            CHECK(co_await until_relayed_to(only_upstream, proxy.endpoint("front"),
                                            std::chrono::steady_clock::now() + 15s));
        },
        30s);
}

// Proves send_proxy: the upstream receives the PROXY header naming the client's address and
// the address it connected to, then the client's bytes.
TEST_CASE("proxy: send_proxy v1 and v2 announce the client before its bytes") {
    asio::io_context io;
    auto upstream = listening_upstream(io);
    for (const auto version : {config::proxy_protocol::v1, config::proxy_protocol::v2}) {
        CAPTURE(config::to_string(version));
        auto cfg = front_config({upstream.local_endpoint()});
        cfg.listeners[0].proxy.send_proxy = version;
        running_server proxy(cfg);
        run_with_timeout(
            io,
            [&]() -> asio::awaitable<void> {
                auto client = co_await connect_to(proxy.endpoint("front"));
                auto server = co_await upstream.async_accept(asio::use_awaitable);
                co_await write_all(client, "payload");
                const auto expected = net::encode_proxy_header(version, client.local_endpoint(),
                                                               proxy.endpoint("front"));
                CHECK(co_await read_exactly(server, expected.size()) == expected);
                CHECK(co_await read_exactly(server, 7) == "payload");
            },
            20s);
    }
}

// Proves a relayed connection idle both ways is closed by proxy.idle_timeout, on both sides:
// the upstream sees its connection end too.
TEST_CASE("proxy: proxy.idle_timeout closes an idle relayed connection on both sides") {
    asio::io_context io;
    auto upstream = listening_upstream(io);
    auto cfg = front_config({upstream.local_endpoint()});
    cfg.listeners[0].proxy.idle_timeout = 300ms;
    running_server proxy(cfg);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            auto client = co_await connect_to(proxy.endpoint("front"));
            auto server = co_await upstream.async_accept(asio::use_awaitable);
            CHECK(co_await closed_without_answer(client));
            boost::system::error_code ended;
            CHECK((co_await read_to_end(server, ended)).empty());
        },
        20s);
    CHECK(proxy.listener("front").stats().closed_for(pier::net::stop_reason::idle_timeout) == 1);
}

// Proves a reset from the upstream ends the client's connection too, also when it comes right
// after the upstream's last bytes (arriving together, they raise one readiness event: the
// relay must still see the reset), and the bytes before it are delivered.
TEST_CASE("proxy: an upstream reset right after its reply closes the client's connection") {
    asio::io_context io;
    auto upstream = listening_upstream(io);
    auto cfg = front_config({upstream.local_endpoint()});
    cfg.listeners[0].idle_timeout = 1h;  // only the reset can end these connections
    running_server proxy(cfg);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 4; ++i) {
                auto client = co_await connect_to(proxy.endpoint("front"));
                auto server = co_await upstream.async_accept(asio::use_awaitable);
                co_await write_all(client, "request");
                CHECK(co_await read_exactly(server, 7) == "request");
                co_await write_all(server, "reply");
                server.set_option(asio::socket_base::linger(true, 0));
                server.close();  // RST, right behind the reply
                boost::system::error_code ended;
                CHECK(co_await read_to_end(client, ended) == "reply");
                CHECK(ended);
            }
        },
        30s);
}

// Proves a reset in the middle of a large transfer, from either side, ends that relay alone:
// the upstream resetting partway through a download, and the client resetting partway through
// an upload, each leave the other end with a byte-exact prefix of what was sent and a closed
// connection, while a relay opened before them goes on working.
TEST_CASE("proxy: a reset mid-transfer ends that relay alone, what arrived is exact") {
    constexpr std::size_t sent_before_reset = 4 << 20;
    asio::io_context io;
    auto upstream = listening_upstream(io);
    auto cfg = front_config({upstream.local_endpoint()});
    cfg.listeners[0].idle_timeout = 1h;  // only the resets can end these connections
    running_server proxy(cfg);
    const auto payload = make_payload(sent_before_reset, 11);
    const auto ended_by_peer = [](const boost::system::error_code& ec) {
        return ec == asio::error::eof || ec == asio::error::connection_reset;
    };
    const auto is_prefix = [&](const std::string& received) {
        return received.size() <= payload.size() &&
               payload.compare(0, received.size(), received) == 0;
    };
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            auto healthy = co_await connect_to(proxy.endpoint("front"));
            auto healthy_upstream = co_await upstream.async_accept(asio::use_awaitable);

            // `sender` sends 4 MiB as `receiver` reads, then resets: what arrives is a prefix of
            // it, and the receiver's end is the peer's close.
            const auto send_then_reset = [&](tcp::socket& sender,
                                             tcp::socket& receiver) -> asio::awaitable<void> {
                const auto reset_after_sending = [&]() -> asio::awaitable<void> {
                    co_await write_all(sender, payload);
                    reset(sender);
                };
                boost::system::error_code end;
                const auto received =
                    co_await (read_to_end(receiver, end) && reset_after_sending());
                CHECK(ended_by_peer(end));
                CHECK(is_prefix(received));
                MESSAGE("received ", received.size(), " of ", payload.size(), " bytes");
            };
            // Download: the upstream resets.
            auto downloader = co_await connect_to(proxy.endpoint("front"));
            auto source = co_await upstream.async_accept(asio::use_awaitable);
            co_await send_then_reset(source, downloader);
            // Upload: the client resets.
            auto uploader = co_await connect_to(proxy.endpoint("front"));
            auto sink = co_await upstream.async_accept(asio::use_awaitable);
            co_await send_then_reset(uploader, sink);

            // The relay opened before both is untouched, both ways.
            const auto ping = make_payload(70000, 12);
            const auto pong = make_payload(70000, 13);
            co_await write_all(healthy, ping);
            CHECK(co_await read_exactly(healthy_upstream, ping.size()) == ping);
            co_await write_all(healthy_upstream, pong);
            CHECK(co_await read_exactly(healthy, pong.size()) == pong);
            CHECK(co_await eventually([&] { return front_figures(proxy).active == 1; }));
        },
        60s);
}

// Proves half_close_timeout: once the client has closed its half, a relay that goes quiet is
// closed after half_close_timeout, long before the idle timeout, while a relay that has been
// just as quiet but is not half-closed stays open.
TEST_CASE("proxy: half_close_timeout closes a half-closed relay that goes quiet") {
    asio::io_context io;
    auto upstream = listening_upstream(io);
    auto cfg = front_config({upstream.local_endpoint()});
    cfg.listeners[0].idle_timeout = 1h;
    cfg.listeners[0].proxy.half_close_timeout = 200ms;
    running_server proxy(cfg);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            auto open_client = co_await connect_to(proxy.endpoint("front"));
            auto open_server = co_await upstream.async_accept(asio::use_awaitable);
            co_await write_all(open_client, "a");
            CHECK(co_await read_exactly(open_server, 1) == "a");

            auto client = co_await connect_to(proxy.endpoint("front"));
            auto server = co_await upstream.async_accept(asio::use_awaitable);
            co_await write_all(client, "request");
            client.shutdown(tcp::socket::shutdown_send);
            boost::system::error_code ended;
            CHECK(co_await read_to_end(server, ended) == "request");  // EOF passed on
            // The upstream never answers nor closes: pierd closes both sides.
            CHECK((co_await read_to_end(client, ended)).empty());

            // Quiet for longer than half_close_timeout, but not half-closed: still relaying.
            co_await write_all(open_server, "b");
            CHECK(co_await read_exactly(open_client, 1) == "b");
        },
        20s);
    CHECK(proxy.listener("front").stats().closed_for(pier::net::stop_reason::idle_timeout) == 1);
}

// Proves a reload that changes the upstream list keeps established relays on the upstream they
// started with, while new clients go to the new list.
TEST_CASE("proxy: a reload changes the upstreams without dropping relayed connections") {
    auto upstreams_cfg = echo_config();
    auto synthetic = upstreams_cfg.listeners[0];
    synthetic.name = "synthetic";
    synthetic.handler = pier::config::handler_kind::synthetic;
    upstreams_cfg.listeners.push_back(synthetic);
    running_server upstreams(upstreams_cfg);
    auto cfg = front_config({upstreams.endpoint("echo")});
    running_server proxy(cfg);
    with_client(
        proxy.endpoint("front"),
        [&](tcp::socket& early) -> asio::awaitable<void> {
            const auto payload = make_payload(5000, 1);
            CHECK(co_await echo_exchange(early, payload) == payload);

            const auto next = front_config({upstreams.endpoint("synthetic")});
            REQUIRE(proxy.get().reload(next).applied);
            CHECK(co_await echo_exchange(early, payload) == payload);  // still the echo one

            auto late = co_await connect_to(proxy.endpoint("front"));
            CHECK(co_await ask(late, "\n") == "OK\n");
        },
        20s);
}

// Proves the proxy at a thousand connections: pierload keeps 1,000 connections open through
// it to an echo upstream and every reply matches (pierload verifies each byte).
TEST_CASE("proxy: 1,000 concurrent connections through the proxy, zero errors") {
    running_server upstream(echo_config());
    running_server proxy(front_config({upstream.endpoint()}));
    child_process load(PIERLOAD_PATH,
                       {"-c", "1000", "-n", "20000", "--size", "64", "-q",
                        "127.0.0.1:" + std::to_string(proxy.endpoint("front").port())});
    const auto code = load.wait_exit(std::chrono::seconds(100));
    CHECK_MESSAGE(code == std::optional<int>(0), load.output());
    CHECK(load.output().find("errors        0") != std::string::npos);
    CHECK(load.output().find("peak open 1000") != std::string::npos);
    CHECK(upstream_figures(proxy, upstream.endpoint()).connects == 1000);
}

}  // namespace
}  // namespace pier::test
