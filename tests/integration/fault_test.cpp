// Fault injection against the in-process server: peers that reset in the middle of an exchange,
// floods of connections that close at once or exceed max_connections, a peer that never reads. What
// must hold each time: the misbehaving connection is closed and accounted for, memory stays
// bounded, and a healthy client on the same listener is served throughout, byte for byte.
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/test_client.hpp"

namespace pier::test {
namespace {

admin::listener_snapshot echo_figures(running_server& server) {
    for (auto& l : server.get().metrics_snapshot().listeners) {
        if (l.name == "echo") return l;
    }
    FAIL("no echo listener");
    return {};
}

/// One echo round on the healthy client, with a payload of its own.
asio::awaitable<void> still_served(tcp::socket& healthy, unsigned round) {
    const auto payload = make_payload(3000, 1000 + round);
    CHECK(co_await echo_exchange(healthy, payload) == payload);
}

// Proves a client resetting while the server reads from it (part of a message sent, then RST)
// or while the server writes to it (its echo stuck on a client that does not read, then RST)
// is closed and counted, and the healthy client next to them is served all along.
TEST_CASE("faults: resets mid-read and mid-write harm no other connection") {
    running_server server(echo_config());
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto ep = server.endpoint();
            auto healthy = co_await connect_to(ep);
            co_await still_served(healthy, 0);
            // Mid-read.
            for (unsigned i = 0; i < 20; ++i) {
                auto peer = co_await connect_to(ep);
                co_await write_all(peer, make_payload(1000 + i, i));
                reset(peer);
                if (i % 5 == 0) co_await still_served(healthy, i + 1);
            }
            // Mid-write: the server's echo is stuck behind our full receive buffer.
            const auto flood = make_payload(64 << 20, 7);  // more than every buffer between us
            for (unsigned i = 0; i < 3; ++i) {
                auto peer = co_await connect_to(ep);
                co_await write_until_stuck(peer, flood);
                reset(peer);
                co_await still_served(healthy, 100 + i);
            }
            // The server has noticed every reset: only the healthy client is left.
            const auto& stats = server.listener().stats();
            CHECK(co_await eventually([&] { return stats.accepted == 24 && stats.active == 1; }));
            CHECK(stats.closed == 23);
            co_await still_served(healthy, 200);
        },
        30s);
}

// Proves a flood of connections closed as soon as they open (with a FIN, with a reset, after
// one byte) leaves nothing behind: every one is accepted and closed, none is rejected, and the
// healthy client and a newcomer are served.
TEST_CASE("faults: a connect-and-close flood leaves nothing behind") {
    running_server server(echo_config());
    constexpr unsigned flood = 600;
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto ep = server.endpoint();
            auto healthy = co_await connect_to(ep);
            co_await still_served(healthy, 0);
            for (unsigned i = 0; i < flood; ++i) {
                auto peer = co_await connect_to(ep);
                switch (i % 3) {
                    case 0: peer.close(); break;  // FIN at once
                    case 1: reset(peer); break;   // RST at once
                    default:                      // one byte, then FIN
                        co_await write_all(peer, "x");
                        peer.close();
                }
                if (i % 100 == 0) co_await still_served(healthy, i + 1);
            }
            const auto& stats = server.listener().stats();
            CHECK(co_await eventually(
                [&] { return stats.accepted == flood + 1 && stats.active == 1; }));
            CHECK(stats.closed == flood);
            CHECK(stats.rejected_for(pier::net::reject_reason::max_connections) == 0);
            CHECK(stats.accept_errors == 0);
            auto newcomer = co_await connect_to(ep);
            co_await still_served(newcomer, 2000);
            co_await still_served(healthy, 2001);
        },
        60s);
}

// Proves a client that sends without ever reading costs the server at most max_buffer: what
// it has read from the client and not yet echoed stays within the bound (the rest waits in
// the kernel, and TCP stops the client), and write_timeout then closes the connection.
TEST_CASE("faults: a client that never reads holds at most max_buffer") {
    auto cfg = echo_config();
    cfg.listeners[0].echo.max_buffer = 64 * 1024;
    cfg.listeners[0].idle_timeout = 0s;
    cfg.listeners[0].write_timeout = 5s;  // well after write_until_stuck's 1 s of no progress
    running_server server(cfg);
    with_client(
        server.endpoint(),
        [&](tcp::socket& hog) -> asio::awaitable<void> {
            const auto written = co_await write_until_stuck(hog, make_payload(64 << 20, 3));
            const auto figures = echo_figures(server);
            const auto held = figures.traffic.bytes_in - figures.traffic.bytes_out;
            CHECK(written > figures.traffic.bytes_in);  // the kernel holds the rest
            CHECK_MESSAGE(held <= cfg.listeners[0].echo.max_buffer, "read ",
                          figures.traffic.bytes_in, " echoed ", figures.traffic.bytes_out);
            // Nothing more is read while the write is stuck, and write_timeout then cuts it.
            CHECK(co_await eventually(
                [&] {
                    return server.listener().stats().closed_for(
                               pier::net::stop_reason::write_timeout) == 1;
                },
                10s));
            CHECK(echo_figures(server).traffic.bytes_in == figures.traffic.bytes_in);
        },
        30s);
}

// Proves a flood of connections far beyond max_connections is turned away without touching the
// admitted ones: with 50 admitted and busy, 1,000 more clients (ten at a time) are each closed
// without a byte and counted as rejected, every admitted connection keeps exchanging data byte
// for byte throughout, and once admitted ones leave, newcomers are admitted again.
TEST_CASE("faults: a flood beyond max_connections is rejected, the admitted are unaffected") {
    constexpr unsigned admitted = 50;
    constexpr unsigned excess = 1000;
    constexpr unsigned waves = 10;  // flooding clients connecting at once
    auto cfg = echo_config();
    cfg.listeners[0].max_connections = admitted;
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto ep = server.endpoint();
            const auto& stats = server.listener().stats();
            std::vector<tcp::socket> members;
            for (unsigned i = 0; i < admitted; ++i) {
                members.push_back(co_await connect_to(ep));
                co_await still_served(members.back(), i);
            }
            // Shared with the flooding coroutines, which outlive this frame if it fails.
            struct tally {
                unsigned refused = 0;
                unsigned waves_done = 0;
            };
            const auto flood = std::make_shared<tally>();
            const auto executor = co_await asio::this_coro::executor;
            const unsigned per_wave = excess / waves;
            for (unsigned w = 0; w < waves; ++w) {
                asio::co_spawn(
                    executor,
                    [flood, ep, per_wave]() -> asio::awaitable<void> {
                        for (unsigned i = 0; i < per_wave; ++i) {
                            auto extra = co_await connect_to(ep);
                            if (co_await closed_without_answer(extra)) ++flood->refused;
                        }
                        ++flood->waves_done;
                    },
                    asio::detached);
            }
            // The admitted keep working while the flood runs, round after round.
            unsigned round = 0;
            while (flood->waves_done < waves) {
                co_await still_served(members[round % admitted], 100 + round);
                ++round;
            }
            CHECK(flood->refused == excess);
            CHECK(stats.rejected_for(pier::net::reject_reason::max_connections) == excess);
            CHECK(stats.accepted == admitted);
            for (unsigned i = 0; i < admitted; ++i) co_await still_served(members[i], 5000 + i);
            // Room again once some leave.
            for (unsigned i = 0; i < 5; ++i) members[i].close();
            CHECK(co_await eventually([&] { return stats.active == admitted - 5; }));
            for (unsigned i = 0; i < 5; ++i) {
                auto newcomer = co_await connect_to(ep);
                co_await still_served(newcomer, 9000 + i);
                members[i] = std::move(newcomer);
            }
            CHECK(stats.rejected_for(pier::net::reject_reason::max_connections) == excess);
        },
        60s);
}

}  // namespace
}  // namespace pier::test
