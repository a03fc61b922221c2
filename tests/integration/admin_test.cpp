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
    asio::io_context io;
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            auto a = co_await connect_to(server.endpoint());
            auto b = co_await connect_to(server.endpoint());
            const auto payload = make_payload(1000);
            CHECK(co_await echo_exchange(a, payload) == payload);
            CHECK(co_await echo_exchange(b, payload) == payload);
            // The handler counts a write just after making it, so the echo may reach us a
            // moment before its count: scrape until it shows (bounded by the test's deadline).
            const std::string sent_line = "pier_sent_bytes_total{listener=\"echo\"} 2000";
            auto reply = co_await get(admin_endpoint(server), "/metrics");
            while (!has_line(reply.body, sent_line)) {
                reply = co_await get(admin_endpoint(server), "/metrics");
            }
            CHECK(reply.status == 200);
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
    // drain step until this test closes the client.
    std::thread stopping([&] { server.reset(); });
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
    asio::io_context io;
    const auto admin = admin_endpoint(server);
    run_with_timeout(
        io,
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

// Proves admin.max_connections: with two connections held open, a third is closed at once
// without an answer, and the two held ones are still served.
TEST_CASE("admin: connections beyond admin.max_connections are closed") {
    running_server server(admin_config(2));
    asio::io_context io;
    const auto admin = admin_endpoint(server);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            const std::string request = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
            std::vector<tcp::socket> held;
            std::string buffer;
            for (int i = 0; i < 2; ++i) {
                held.push_back(co_await connect_to(admin));
                co_await asio::async_write(held.back(), asio::buffer(request), asio::use_awaitable);
                CHECK((co_await read_reply(held.back(), buffer)).status == 200);
            }
            auto extra = co_await connect_to(admin);
            co_await asio::async_write(extra, asio::buffer(request), asio::use_awaitable);
            boost::system::error_code ended;
            CHECK(co_await read_to_end(extra, ended) == "");
            for (auto& socket : held) {
                co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
                CHECK((co_await read_reply(socket, buffer)).status == 200);
            }
        },
        20s);
}

}  // namespace
}  // namespace pier::test
