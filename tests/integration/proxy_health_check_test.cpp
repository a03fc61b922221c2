// The proxy's active health checks: probes the test answers itself (so each probe's outcome
// is known and the next probe's arrival proves the previous one was counted), and the real
// pierd against an upstream that refuses, watched through the lines it logs.
#include <array>
#include <csignal>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/child_process.hpp"
#include "support/proxy_fixture.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

const std::string probe_request = "PING\r\n";

/// Checks probing every 10ms with "PING\r\n", expecting "PING" back (an echo upstream
/// passes) within `timeout`, taking `fall` failures out and `rise` passes back; passive
/// ejection off, so only the checks decide.
config::config checked_front_config(const endpoints& upstreams, unsigned rise, unsigned fall,
                                    std::chrono::nanoseconds timeout = 10s) {
    auto cfg = front_config(upstreams);
    auto& p = cfg.listeners[0].proxy;
    p.retries = 0;
    p.max_fails = 0;
    p.health_check = config::health_check_config{.interval = 10ms,
                                                 .timeout = timeout,
                                                 .rise = rise,
                                                 .fall = fall,
                                                 .send = probe_request,
                                                 .expect = "PING"};
    return cfg;
}

/// Accepts the next probe on `upstream` and reads its request.
asio::awaitable<tcp::socket> accept_probe(tcp::acceptor& upstream) {
    tcp::socket probe(co_await asio::this_coro::executor);
    co_await upstream.async_accept(probe, asio::use_awaitable);
    CHECK(co_await read_exactly(probe, probe_request.size()) == probe_request);
    co_return probe;
}

/// Accepts the next probe and answers it with `reply`.
asio::awaitable<void> answer_probe(tcp::acceptor& upstream, const std::string& reply) {
    auto probe = co_await accept_probe(upstream);
    co_await write_all(probe, reply);
}

// Proves send/expect checks: an upstream that accepts connections but answers wrong is taken
// out after `fall` probes in a row and gets no client; `rise` right answers bring it back, and
// clients reach it again.
TEST_CASE("proxy: send/expect health checks take out a wrong-answering upstream, then back") {
    asio::io_context io;
    auto flaky_upstream = listening_upstream(io);
    const auto flaky = flaky_upstream.local_endpoint();
    running_server healthy(echo_config());
    running_server proxy(checked_front_config({flaky, healthy.endpoint()}, 2, 2));
    const auto front = proxy.endpoint("front");
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            co_await answer_probe(flaky_upstream, "PING\r\n");  // the first probe passes
            co_await answer_probe(flaky_upstream, "NOPE\r\n");  // a wrong reply, then EOF
            co_await answer_probe(flaky_upstream, "NOPE\r\n");
            // A probe only starts once the one before was counted: two failures, out.
            auto fourth = co_await accept_probe(flaky_upstream);
            auto figures = upstream_figures(proxy, flaky);
            CHECK_FALSE(figures.available);
            CHECK(figures.health_check_failures == 2);
            CHECK(figures.health_checks == 3);
            for (int i = 0; i < 4; ++i) {  // round robin would give it two of them
                auto client = co_await connect_to(front);
                const auto payload = make_payload(100, static_cast<unsigned>(i));
                CHECK(co_await echo_exchange(client, payload) == payload);
            }
            CHECK(upstream_figures(proxy, flaky).connects == 0);

            co_await write_all(fourth, "PING\r\n");
            fourth.close();
            co_await answer_probe(flaky_upstream, "PING\r\n");
            auto sixth = co_await accept_probe(flaky_upstream);  // two passes counted
            CHECK(upstream_figures(proxy, flaky).available);
            co_await write_all(sixth, "PING\r\n");
            sixth.close();

            // Back in rotation: of two clients in a row, round robin sends one to it. Probes
            // keep arriving meanwhile; a client's connection is the one that sends "x".
            std::vector<tcp::socket> clients;
            for (int i = 0; i < 2; ++i) {
                clients.push_back(co_await connect_to(front));
                co_await write_all(clients.back(), "x");
            }
            for (;;) {
                tcp::socket accepted(co_await asio::this_coro::executor);
                co_await flaky_upstream.async_accept(accepted, asio::use_awaitable);
                const auto first = co_await read_exactly(accepted, 1);
                if (first == "x") break;
                co_await read_exactly(accepted, probe_request.size() - 1);
                co_await write_all(accepted, "PING\r\n");
            }
            CHECK(upstream_figures(proxy, flaky).connects == 1);
        },
        30s);
}

// Proves a probe that gets no reply gives up at its timeout (closing its connection) and
// counts as failed.
TEST_CASE("proxy: a health check probe without a reply fails at its timeout") {
    asio::io_context io;
    auto upstream = listening_upstream(io);
    running_server proxy(checked_front_config({upstream.local_endpoint()}, 1, 1, 300ms));
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            co_await answer_probe(upstream, "PING\r\n");
            {
                auto silent = co_await accept_probe(upstream);
                boost::system::error_code ended;
                CHECK((co_await read_to_end(silent, ended)).empty());  // pierd gave up
                CHECK(ended);
            }
            auto third = co_await accept_probe(upstream);
            const auto figures = upstream_figures(proxy, upstream.local_endpoint());
            CHECK_FALSE(figures.available);
            CHECK(figures.health_check_failures == 1);
            co_await write_all(third, "PING\r\n");
        },
        30s);
}

// Proves a reload that turns the checks off forgets what they said: an upstream they took
// down takes clients again at once.
TEST_CASE("proxy: a reload without health_check puts back an upstream the checks took down") {
    asio::io_context io;
    auto upstream = listening_upstream(io);
    auto cfg = checked_front_config({upstream.local_endpoint()}, 1, 1);
    running_server proxy(cfg);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            co_await answer_probe(upstream, "NOPE\r\n");
            auto second = co_await accept_probe(upstream);  // the first was counted: down
            CHECK_FALSE(upstream_figures(proxy, upstream.local_endpoint()).available);
            auto refused = co_await connect_to(proxy.endpoint("front"));
            CHECK(co_await closed_without_answer(refused));
            CHECK(front_figures(proxy).proxy_no_upstream == 1);

            auto next = cfg;
            next.listeners[0].proxy.health_check.reset();
            REQUIRE(proxy.get().reload(next).applied);
            CHECK(upstream_figures(proxy, upstream.local_endpoint()).available);
            auto client = co_await connect_to(proxy.endpoint("front"));
            co_await write_all(client, "x");
            // The stopped checker's last probe may have been accepted meanwhile: skip it.
            for (;;) {
                tcp::socket accepted(co_await asio::this_coro::executor);
                co_await upstream.async_accept(accepted, asio::use_awaitable);
                std::array<char, 1> first{};
                auto [ec, n] = co_await accepted.async_read_some(
                    asio::buffer(first), asio::as_tuple(asio::use_awaitable));
                if (!ec && n == 1 && first[0] == 'x') break;
            }
        },
        30s);
}

// Proves plain TCP checks in the real daemon: an upstream that refuses connections is taken
// out by the checks alone (no client is refused for it), and put back once it listens.
TEST_CASE("pierd: TCP health checks take out a refusing upstream and put it back") {
    asio::io_context io;
    auto refusing = refusing_upstream(io);
    const auto flaky = refusing.local_endpoint();
    running_server healthy(echo_config());
    temp_dir dir;
    const auto config =
        dir.write("pier.yaml",
                  "runtime:\n  threads: 2\nshutdown:\n  drain_timeout: 1s\nlisteners:\n"
                  "  - name: front\n    listen: \"127.0.0.1:0\"\n    handler: proxy\n    proxy:\n"
                  "      upstreams: [\"127.0.0.1:" +
                      std::to_string(flaky.port()) +
                      "\", \"127.0.0.1:" + std::to_string(healthy.endpoint().port()) +
                      "\"]\n      retries: 0\n      max_fails: 0\n"
                      "      health_check: {interval: 20ms, timeout: 1s, rise: 2, fall: 2}\n");
    child_process pierd(PIERD_PATH, pierd_serve_args(config));
    const auto listening = pierd.wait_for_line("listening", 20s);
    REQUIRE_MESSAGE(listening.has_value(), pierd.output());
    const auto front = endpoint_from_log(*listening);
    const std::string flaky_text = "upstream=127.0.0.1:" + std::to_string(flaky.port()) + " ";

    // The first probe may fail (and be logged) before the "listening" line.
    const std::string down_line = "upstream down by health check " + flaky_text;
    const bool down = pierd.output().find(down_line) != std::string::npos ||
                      pierd.wait_for_line(down_line, 20s).has_value();
    REQUIRE_MESSAGE(down, pierd.output());
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 4; ++i) {  // with retries 0, one sent to it would be closed
                auto client = co_await connect_to(front);
                const auto payload = make_payload(100, static_cast<unsigned>(i));
                CHECK(co_await echo_exchange(client, payload) == payload);
            }
        },
        20s);

    refusing.listen();
    REQUIRE_MESSAGE(
        pierd.wait_for_line("upstream up by health check " + flaky_text, 20s).has_value(),
        pierd.output());
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            std::vector<tcp::socket> clients;
            for (int i = 0; i < 2; ++i) {  // round robin sends one of two in a row to it
                clients.push_back(co_await connect_to(front));
                co_await write_all(clients.back(), "x");
            }
            // TCP probes connect and close without a byte; the client's connection sends "x".
            for (;;) {
                tcp::socket accepted(co_await asio::this_coro::executor);
                co_await refusing.async_accept(accepted, asio::use_awaitable);
                std::array<char, 1> first{};
                auto [ec, n] = co_await accepted.async_read_some(
                    asio::buffer(first), asio::as_tuple(asio::use_awaitable));
                if (!ec && n == 1) {
                    CHECK(first[0] == 'x');
                    break;
                }
            }
        },
        20s);
    pierd.send_signal(SIGTERM);
    CHECK(pierd.wait_exit(20s) == std::optional<int>(0));
}

}  // namespace
}  // namespace pier::test
