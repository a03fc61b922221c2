// accept_proxy on a listener: the PROXY header a proxy in front sends is read and consumed
// before the handler, the client it names is the connection's peer (per-IP caps count it), and
// a connection without a valid header is closed and counted.
#include <string>

#include <doctest/doctest.h>
#include <boost/asio/use_awaitable.hpp>

#include "pier/admin/admin_server.hpp"
#include "pier/net/proxy_protocol.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

config::config behind_proxy_config() {
    auto cfg = echo_config();
    cfg.listeners[0].accept_proxy = true;
    return cfg;
}

/// A header announcing a client at `client_ip`:`port` connected to `server`.
std::string header_for(config::proxy_protocol version, const std::string& client_ip,
                       std::uint16_t port, const tcp::endpoint& server) {
    return net::encode_proxy_header(version, tcp::endpoint(asio::ip::make_address(client_ip), port),
                                    server);
}

// Proves the header is taken off the stream and only the client's bytes reach the handler, for
// v1 and v2, in one write with the payload or split across writes.
TEST_CASE("accept_proxy: the header is consumed and the handler sees only the client's bytes") {
    running_server server(behind_proxy_config());
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto payload = make_payload(3000, 7);
            for (const auto version : {config::proxy_protocol::v1, config::proxy_protocol::v2}) {
                // Header and payload in one write.
                auto one = co_await connect_to(server.endpoint());
                co_await write_all(
                    one, header_for(version, "203.0.113.7", 5555, server.endpoint()) + payload);
                CHECK(co_await read_exactly(one, payload.size()) == payload);
                // The header in pieces, the way a slow sender delivers it.
                auto split = co_await connect_to(server.endpoint());
                const auto header = header_for(version, "2001:db8::5", 6666, server.endpoint());
                co_await write_all(split, header.substr(0, 9));
                co_await write_all(split, header.substr(9, 5));
                co_await write_all(split, header.substr(14) + payload);
                CHECK(co_await read_exactly(split, payload.size()) == payload);  // no header bytes
            }
        },
        20s);
    CHECK(server.listener().stats().proxy_header_errors.load() == 0);
}

// Proves a connection whose first bytes are not a PROXY header is closed without an answer and
// counted, and the listener goes on serving.
TEST_CASE("accept_proxy: no valid header closes the connection, counted") {
    running_server server(behind_proxy_config());
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto http = co_await connect_to(server.endpoint());
            co_await write_all(http, "GET / HTTP/1.0\r\n\r\n");
            CHECK(co_await closed_without_answer(http));
            auto forged = co_await connect_to(server.endpoint());
            co_await write_all(forged, "PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\nhello");
            CHECK(co_await closed_without_answer(forged));
            auto fine = co_await connect_to(server.endpoint());
            const auto payload = make_payload(10, 1);
            co_await write_all(
                fine, header_for(config::proxy_protocol::v1, "198.51.100.2", 1, server.endpoint()) +
                          payload);
            CHECK(co_await read_exactly(fine, payload.size()) == payload);
        },
        20s);
    CHECK(server.listener().stats().proxy_header_errors.load() == 2);
}

// Proves a header cut short by the peer's FIN is a protocol error (the specification says to
// reject partial headers): the connection is closed without an answer and
// pier_proxy_protocol_errors_total, read from /metrics, counts it, for v1 and v2. A connection
// closed before its first byte (a TCP health check) sent no header at all and is not counted.
TEST_CASE("accept_proxy: a truncated header then FIN is counted in /metrics") {
    auto cfg = behind_proxy_config();
    cfg.admin.enabled = true;
    cfg.admin.listen = {"127.0.0.1", 0};
    running_server server(cfg);
    REQUIRE(server.get().admin() != nullptr);
    const auto admin = server.get().admin()->local_endpoint();
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            for (const auto version : {config::proxy_protocol::v1, config::proxy_protocol::v2}) {
                const auto header = header_for(version, "203.0.113.9", 4444, server.endpoint());
                auto truncated = co_await connect_to(server.endpoint());
                co_await write_all(truncated, header.substr(0, header.size() - 1));
                truncated.shutdown(tcp::socket::shutdown_send);
                CHECK(co_await closed_without_answer(truncated));
            }
            auto silent = co_await connect_to(server.endpoint());
            silent.shutdown(tcp::socket::shutdown_send);
            CHECK(co_await closed_without_answer(silent));
            // Counted before the listener closes the connection, so the closes seen above
            // come after the counts.
            const auto metrics = co_await get(admin, "/metrics");
            CHECK(metrics.status == 200);
            CHECK(has_line(metrics.body, "pier_proxy_protocol_errors_total{listener=\"echo\"} 2"));
        },
        20s);
}

// Proves per-IP caps count the client the header names, not the proxy's address (every test
// connection comes from 127.0.0.1): a second connection for the same client is refused, one
// for another client is served.
TEST_CASE("accept_proxy: max_connections_per_ip counts the announced client") {
    auto cfg = behind_proxy_config();
    cfg.listeners[0].max_connections_per_ip = 1;
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto payload = make_payload(100, 2);
            auto first = co_await connect_to(server.endpoint());
            co_await write_all(first, header_for(config::proxy_protocol::v2, "192.0.2.1", 1000,
                                                 server.endpoint()) +
                                          payload);
            CHECK(co_await read_exactly(first, payload.size()) == payload);
            auto same_client = co_await connect_to(server.endpoint());
            co_await write_all(same_client, header_for(config::proxy_protocol::v2, "192.0.2.1",
                                                       1001, server.endpoint()));
            CHECK(co_await closed_without_answer(same_client));
            auto other_client = co_await connect_to(server.endpoint());
            co_await write_all(other_client, header_for(config::proxy_protocol::v2, "192.0.2.2",
                                                        1000, server.endpoint()) +
                                                 payload);
            CHECK(co_await read_exactly(other_client, payload.size()) == payload);
        },
        20s);
    CHECK(server.listener().stats().rejected_for(
              pier::net::reject_reason::max_connections_per_ip) == 1);
}

// Proves pier behind pier: a proxy listener sending PROXY v1 to an accept_proxy echo listener
// relays the client's bytes exactly (the header is consumed at the far end).
TEST_CASE("accept_proxy: behind pier's own proxy with send_proxy") {
    running_server upstream(behind_proxy_config());
    auto cfg = front_config({upstream.endpoint()});
    cfg.listeners[0].proxy.send_proxy = config::proxy_protocol::v1;
    running_server proxy(cfg);
    with_client(
        proxy.endpoint("front"),
        [&](tcp::socket& client) -> asio::awaitable<void> {
            const auto payload = make_payload(100000, 3);
            CHECK(co_await echo_exchange(client, payload) == payload);
        },
        20s);
    CHECK(upstream.listener().stats().proxy_header_errors.load() == 0);
}

}  // namespace
}  // namespace pier::test
