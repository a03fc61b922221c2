// The admin endpoint end to end: a server in-process with `admin:` on 127.0.0.1:0, real HTTP.
#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <thread>
#include <vector>

#include "support/http_client.hpp"

namespace pier::test {
namespace {

config::config admin_config(unsigned max_connections = 16) {
    auto cfg = echo_config();
    cfg.admin.enabled = true;
    cfg.admin.listen = {"127.0.0.1", 0};
    cfg.admin.max_connections = max_connections;
    return cfg;
}

tcp::endpoint admin_endpoint(running_server& server) {
    REQUIRE(server.get().admin() != nullptr);
    return server.get().admin()->local_endpoint();
}

/// Reads one response (headers, then Content-Length bytes) from a keep-alive connection.
asio::awaitable<http_reply> read_reply(tcp::socket& socket, std::string& buffer) {
    const auto head_end = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer),
                                                          "\r\n\r\n", asio::use_awaitable);
    http_reply reply;
    reply.head = buffer.substr(0, head_end);
    buffer.erase(0, head_end);
    reply.status = static_cast<unsigned>(std::stoul(reply.head.substr(9, 3)));
    std::size_t length = 0;
    if (const auto at = reply.head.find("Content-Length: "); at != std::string::npos) {
        length = std::stoul(reply.head.substr(at + 16));
    }
    if (reply.head.rfind("HEAD", 0) != 0 && buffer.size() < length) {
        co_await asio::async_read(socket, asio::dynamic_buffer(buffer),
                                  asio::transfer_exactly(length - buffer.size()),
                                  asio::use_awaitable);
    }
    reply.body = buffer.substr(0, length);
    buffer.erase(0, length);
    co_return reply;
}

// Proves /metrics reports what the listener did: connections accepted and live, bytes and
// requests of live connections (counted as they happen, not at close).
TEST_CASE("admin: /metrics counts the listeners' connections, bytes and requests") {
    running_server server(admin_config());
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto a = co_await connect_to(server.endpoint());
            auto b = co_await connect_to(server.endpoint());
            const auto payload = make_payload(1000);
            CHECK(co_await echo_exchange(a, payload) == payload);
            CHECK(co_await echo_exchange(b, payload) == payload);
            // The handler counts a write just after making it, so the echo may reach us a
            // moment before its count: scrape once the listener has counted both.
            CHECK(co_await eventually(
                [&] { return server.listener().connections().traffic().bytes_out == 2000; }));
            const auto reply = co_await get(admin_endpoint(server), "/metrics");
            CHECK(reply.status == 200);
            CHECK(has_line(reply.body, "pier_sent_bytes_total{listener=\"echo\"} 2000"));
            CHECK(reply.head.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
            CHECK(has_line(reply.body, "pier_connections_accepted_total{listener=\"echo\"} 2"));
            CHECK(has_line(reply.body, "pier_connections_active{listener=\"echo\"} 2"));
            CHECK(has_line(reply.body, "pier_received_bytes_total{listener=\"echo\"} 2000"));
            CHECK(reply.body.find("pier_requests_total{listener=\"echo\",handler=\"echo\"} ") !=
                  std::string::npos);
            CHECK(has_line(reply.body, "pier_ready 1"));
            CHECK(reply.body.find("pier_worker_tasks_total{worker=\"1\"}") != std::string::npos);
            CHECK(reply.body.find("process_resident_memory_bytes ") != std::string::npos);
        },
        20s);
}

// Proves /readyz turns 503 as soon as shutdown begins (while connections still drain) and
// /healthz stays 200; the client's EOF from the drain is the sign that shutdown has begun.
TEST_CASE("admin: /readyz is 200 while serving and 503 during the drain") {
    auto server = std::make_unique<running_server>(admin_config());
    asio::io_context io;
    const auto admin = admin_endpoint(*server);
    tcp::socket client(io);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            CHECK((co_await get(admin, "/readyz")).status == 200);
            CHECK((co_await get(admin, "/healthz")).status == 200);
            client = co_await connect_to(server->endpoint());
            const auto payload = make_payload(10);
            CHECK(co_await echo_exchange(client, payload) == payload);
        },
        20s);

    // The drain sends our client a FIN and then waits for ours: the shutdown stays in its
    // drain step until this test closes the client. A jthread: if the checks fail, unwinding
    // joins it (the drain ends within drain_timeout) instead of terminating the test.
    std::jthread stopping([&] { server.reset(); });
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            char byte = 0;
            auto [ec, n] = co_await client.async_read_some(asio::buffer(&byte, 1),
                                                           asio::as_tuple(asio::use_awaitable));
            CHECK(ec == asio::error::eof);
            const auto ready = co_await get(admin, "/readyz");
            CHECK(ready.status == 503);
            CHECK(ready.body == "not ready\n");
            CHECK((co_await get(admin, "/healthz")).status == 200);
            client.close();
        },
        20s);
    stopping.join();
}

// Proves a bad request gets its 4xx and closes only its own connection; the endpoint keeps
// answering, on the same connection for a good keep-alive request.
TEST_CASE("admin: bad requests get 4xx, keep-alive serves several requests") {
    running_server server(admin_config());
    const auto admin = admin_endpoint(server);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            CHECK((co_await exchange_and_close(admin, "garbage\r\n\r\n")).status == 400);
            CHECK((co_await exchange_and_close(admin, "GET /healthz HTTP/1.1\r\nX: " +
                                                          std::string(10000, 'a') + "\r\n\r\n"))
                      .status == 431);
            CHECK((co_await exchange_and_close(
                       admin, "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"))
                      .status == 400);  // no request bodies
            const auto post = co_await exchange_and_close(
                admin, "DELETE /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
            CHECK(post.status == 405);
            CHECK(post.head.find("Allow: GET, HEAD") != std::string::npos);
            CHECK((co_await get(admin, "/nope")).status == 404);

            auto socket = co_await connect_to(admin);
            std::string buffer;
            for (const std::string target : {"/healthz", "/readyz", "/metrics"}) {
                const std::string request = "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n";
                co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
                const auto reply = co_await read_reply(socket, buffer);
                CAPTURE(target);
                CHECK(reply.status == 200);
            }
        },
        20s);
}

/// Sends a GET for `target` on a kept-alive connection and reads its reply.
asio::awaitable<http_reply> keep_alive_get(tcp::socket& socket, std::string& buffer,
                                           const std::string& target = "/healthz") {
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
    co_return co_await read_reply(socket, buffer);
}

// Proves that when admin.max_connections are held, a new connection is served and the
// connection that has gone longest without a request is closed for it: the other one held
// is still served. (Before, the new connection was closed unanswered.)
TEST_CASE("admin: when every slot is held, a new connection takes the longest-idle one's") {
    running_server server(admin_config(2));
    const auto admin = admin_endpoint(server);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            std::string buffer;
            auto oldest = co_await connect_to(admin);
            CHECK((co_await keep_alive_get(oldest, buffer)).status == 200);
            auto newer = co_await connect_to(admin);
            CHECK((co_await keep_alive_get(newer, buffer)).status == 200);

            auto fresh = co_await connect_to(admin);
            CHECK((co_await keep_alive_get(fresh, buffer)).status == 200);
            boost::system::error_code ended;
            CHECK(co_await read_to_end(oldest, ended) == "");  // closed to make room
            CHECK((co_await keep_alive_get(newer, buffer)).status == 200);
            CHECK((co_await keep_alive_get(fresh, buffer)).status == 200);
        },
        20s);
}

// Proves the 8 KiB bound is on the request head as a whole: 2,000 short header lines (16 KB)
// get 431 (before, Beast's per-read limit let up to ~400 KB of them through with 200), while a
// head just under the bound is answered.
TEST_CASE("admin: a request head over 8 KiB in all gets 431, however it is split into lines") {
    running_server server(admin_config());
    const auto admin = admin_endpoint(server);
    const auto head_of = [](std::size_t lines) {
        std::string head = "GET /healthz HTTP/1.1\r\n";
        for (std::size_t i = 0; i < lines; ++i) head += "X-A: b\r\n";
        return head + "Connection: close\r\n\r\n";
    };
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto under = head_of(1000);
            REQUIRE(under.size() < 8 * 1024);
            CHECK((co_await exchange_and_close(admin, under)).status == 200);
            for (const std::size_t lines : {1100U, 2000U, 20000U}) {
                CAPTURE(lines);
                CHECK((co_await exchange_and_close(admin, head_of(lines))).status == 431);
            }
        },
        20s);
}

// Proves admin.keepalive_timeout closes a kept-alive connection that sends no next request,
// long before admin.timeout (a minute here, beyond the test's deadline).
TEST_CASE("admin: a kept-alive connection idle past keepalive_timeout is closed") {
    auto cfg = admin_config();
    cfg.admin.timeout = 60s;
    cfg.admin.keepalive_timeout = 100ms;
    running_server server(cfg);
    with_client(
        admin_endpoint(server),
        [&](tcp::socket& socket) -> asio::awaitable<void> {
            std::string buffer;
            CHECK((co_await keep_alive_get(socket, buffer)).status == 200);
            boost::system::error_code ended;
            CHECK(co_await read_to_end(socket, ended) == "");
        },
        20s);
}

// Proves a probe gets through whatever holds the endpoint: sixteen keep-alive clients using
// every slot, then 1,000 connections, half of which send nothing and half the start of a head
// and no more. Each fresh /healthz is answered (before, every one was closed unanswered).
TEST_CASE("admin: fresh probes are answered while 1,000 connections hold the endpoint") {
    running_server server(admin_config(16));
    const auto admin = admin_endpoint(server);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            std::string buffer;
            std::vector<tcp::socket> keep_alive;
            for (int i = 0; i < 16; ++i) {
                keep_alive.push_back(co_await connect_to(admin));
                CHECK((co_await keep_alive_get(keep_alive.back(), buffer)).status == 200);
            }
            for (int probe = 0; probe < 10; ++probe) {
                CHECK((co_await get(admin, "/healthz")).status == 200);
            }
            std::vector<tcp::socket> flood;
            const std::string partial_head = "GET /metrics HTTP/1.1\r\n";
            for (int i = 0; i < 1000; ++i) {
                flood.push_back(co_await connect_to(admin));
                if (i % 2 == 1) {
                    co_await asio::async_write(flood.back(), asio::buffer(partial_head),
                                               asio::use_awaitable);
                }
            }
            for (int probe = 0; probe < 10; ++probe) {
                CHECK((co_await get(admin, "/healthz")).status == 200);
            }
        },
        30s);
}

}  // namespace
}  // namespace pier::test
