// The synthetic handler end to end: a real server in-process on 127.0.0.1:0, real sockets.
#include <doctest/doctest.h>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "support/test_client.hpp"

namespace pier::test {
namespace {

using clock = std::chrono::steady_clock;

config::config synthetic_config(unsigned threads = 2, std::uint64_t max_line = 4096) {
    auto cfg = echo_config();
    cfg.runtime.threads = threads;
    cfg.listeners[0].name = "synthetic";
    cfg.listeners[0].handler = pier::config::handler_kind::synthetic;
    cfg.listeners[0].synthetic.max_line = max_line;
    return cfg;
}

/// Runs `conversation` on one connection to a fresh synthetic server, under a 30 s deadline.
void converse(config::config cfg, std::function<asio::awaitable<void>(tcp::socket&)> conversation) {
    running_server server(std::move(cfg));
    with_client(server.endpoint("synthetic"), std::move(conversation), 30s);
}

// Proves the defaults and each override: the response is `size` bytes, "OK", x's, newline.
TEST_CASE("synthetic: answers OK by default and honours size overrides") {
    converse(synthetic_config(), [](tcp::socket& socket) -> asio::awaitable<void> {
        CHECK(co_await ask(socket, "\n") == "OK\n");
        CHECK(co_await ask(socket, "size=10\r\n") == "OKxxxxxxx\n");
        CHECK(co_await ask(socket, "size=1\n") == "\n");
        const auto big = co_await ask(socket, "size=200000\n");  // past the 64KiB pattern
        CHECK(big.size() == 200000);
        CHECK(big.substr(0, 2) == "OK");
        CHECK(big.find_first_not_of('x', 2) == big.size() - 1);
    });
}

// Proves a bad line costs an error line, not the connection.
TEST_CASE("synthetic: a bad request gets ERR and the connection stays usable") {
    converse(synthetic_config(), [](tcp::socket& socket) -> asio::awaitable<void> {
        CHECK(co_await ask(socket, "frob\n") ==
              "ERR unknown token \"frob\" (expected cpu=, delay= or size=)\n");
        CHECK(co_await ask(socket, "cpu=11s\n") == "ERR cpu must be at most 10s (got \"11s\")\n");
        CHECK(co_await ask(socket, "size=4\n") == "OKx\n");
    });
}

// Proves the line bound: past max_line without a newline, the client gets an error line and
// then EOF (not a reset that would lose the error line).
TEST_CASE("synthetic: an over-long line gets an error line, then the connection closes") {
    converse(synthetic_config(2, 64), [](tcp::socket& socket) -> asio::awaitable<void> {
        const std::string long_line(100, 'a');
        co_await asio::async_write(socket, asio::buffer(long_line), asio::use_awaitable);
        boost::system::error_code ended;
        const auto rest = co_await read_to_end(socket, ended);
        CHECK(rest == "ERR line too long (max 64 bytes)\n");
        CHECK(ended == asio::error::eof);
    });
}

// Proves ordering: pipelined requests are answered in the order sent, even when an earlier one
// waits longer than a later one would.
TEST_CASE("synthetic: pipelined requests are answered in order") {
    converse(synthetic_config(), [](tcp::socket& socket) -> asio::awaitable<void> {
        const std::string requests = "delay=50ms size=5\nsize=7\ncpu=1ms size=3\n";
        co_await asio::async_write(socket, asio::buffer(requests), asio::use_awaitable);
        std::string responses(5 + 7 + 3, '\0');
        co_await asio::async_read(socket, asio::buffer(responses), asio::use_awaitable);
        CHECK(responses == "OKxx\nOKxxxx\nOK\n");
    });
}

// Proves cpu is CPU time actually spent (the process's CPU clock advances by at least that
// much), not a sleep.
TEST_CASE("synthetic: cpu= spends that much CPU time") {
    converse(synthetic_config(), [](tcp::socket& socket) -> asio::awaitable<void> {
        const auto cpu_before = process_cpu_now();
        const auto wall_before = clock::now();
        CHECK(co_await ask(socket, "cpu=100ms\n") == "OK\n");
        CHECK(process_cpu_now() - cpu_before >= 100ms);
        CHECK(clock::now() - wall_before >= 100ms);
    });
}

// Proves delay= holds no thread: with one worker, a second connection is served while the
// first one's request waits.
TEST_CASE("synthetic: a delay does not hold up other connections") {
    running_server server(synthetic_config(1));
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto endpoint = server.endpoint("synthetic");
            auto slow = co_await connect_to(endpoint);
            auto fast = co_await connect_to(endpoint);
            const auto began = clock::now();
            const std::string request = "delay=1s\n";
            co_await asio::async_write(slow, asio::buffer(request), asio::use_awaitable);
            for (int i = 0; i < 20; ++i) CHECK(co_await ask(fast, "size=2\n") == "O\n");
            const auto fast_done = clock::now() - began;
            std::string line;
            co_await asio::async_read_until(slow, asio::dynamic_buffer(line), '\n',
                                            asio::use_awaitable);
            const auto slow_done = clock::now() - began;
            CHECK(line == "OK\n");
            CHECK(slow_done >= 1s);
            CHECK(fast_done < 1s);
        },
        30s);
}

// Proves an idle stop aborts a request's delay: the connection is closed at idle_timeout, not
// after the minute the request asked to wait, and no answer is sent.
TEST_CASE("synthetic: idle_timeout cuts a pending delay short") {
    auto cfg = synthetic_config();
    cfg.listeners[0].idle_timeout = 200ms;
    converse(cfg, [](tcp::socket& socket) -> asio::awaitable<void> {
        const auto began = clock::now();
        const std::string request = "delay=1m\n";
        co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
        boost::system::error_code ended;
        CHECK(co_await read_to_end(socket, ended) == "");
        CHECK(clock::now() - began >= 200ms);
        CHECK(clock::now() - began < 10s);
    });
}

// Proves the drain deadline aborts a request's delay: shutdown takes about drain_timeout, and
// the client sees its connection end without an answer.
TEST_CASE("synthetic: the drain deadline cuts a pending delay short") {
    auto cfg = synthetic_config();
    cfg.shutdown.drain_timeout = 200ms;
    auto server = std::make_unique<running_server>(cfg);
    asio::io_context io;
    tcp::socket socket(io);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            socket = co_await connect_to(server->endpoint("synthetic"));
            // Answered only once the delay began: the request is in progress before shutdown.
            CHECK(co_await ask(socket, "size=2\n") == "O\n");
            const std::string request = "delay=1m\n";
            co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
        },
        10s);
    const auto began = clock::now();
    server.reset();  // drain, time out, abort the delay, stop
    CHECK(clock::now() - began >= 200ms);
    CHECK(clock::now() - began < 10s);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            boost::system::error_code ended;
            CHECK(co_await read_to_end(socket, ended) == "");
        },
        10s);
}

}  // namespace
}  // namespace pier::test
