// pierload end to end: against pier's own echo server in-process, against test servers that
// corrupt or stall, against redis-server, and as the real binary with its exit codes.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "pierload/report.hpp"
#include "pierload/runner.hpp"
#include "support/child_process.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

const std::string pierload_binary = PIERLOAD_PATH;

pierload::options load_against(const tcp::endpoint& endpoint) {
    pierload::options opts;
    opts.host = endpoint.address().to_string();
    opts.port = std::to_string(endpoint.port());
    opts.threads = 2;
    opts.quiet = true;
    return opts;
}

/// A one-connection-at-a-time test server on 127.0.0.1:0 running on its own thread; each
/// accepted connection is served by `serve`. Stops when destroyed.
class scripted_server {
public:
    using session = std::function<asio::awaitable<void>(tcp::socket)>;

    explicit scripted_server(session serve)
        : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), serve_(std::move(serve)) {
        asio::co_spawn(io_, accept_loop(), [](std::exception_ptr) {});
        thread_ = std::thread([this] { io_.run(); });
    }
    ~scripted_server() {
        io_.stop();
        thread_.join();
    }
    tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] =
                co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            asio::co_spawn(io_, serve_(std::move(socket)), [](std::exception_ptr) {});
        }
    }

    asio::io_context io_;
    tcp::acceptor acceptor_;
    session serve_;
    std::thread thread_;
};

/// A plain echo for scripted servers that only need to record something about a client.
asio::awaitable<void> echo_until_closed(tcp::socket socket) {
    char data[4096];
    for (;;) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(data),
                                                       asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        co_await asio::async_write(socket, asio::buffer(data, n), asio::use_awaitable);
    }
}

// Proves closed-loop echo: exactly the requested number of verified exchanges, no errors, and
// every request's latency recorded.
TEST_CASE("pierload: echo against pier counts every verified request") {
    running_server server(echo_config());
    auto opts = load_against(server.endpoint());
    opts.connections = 20;
    opts.requests = 2000;
    SUBCASE("one in flight") {}
    SUBCASE("pipelined") { opts.pipeline = 8; }
    SUBCASE("large messages") {
        opts.size = 100000;
        opts.requests = 200;
    }
    SUBCASE("messages larger than the socket buffers (partial sends)") {
        opts.size = 8 << 20;
        opts.requests = 6;
        opts.connections = 2;
    }
    const auto result = pierload::run_load(opts, {});
    CHECK(result.total.requests == *opts.requests);
    CHECK(result.total.latency.total_count() == *opts.requests);
    CHECK(result.total.errors.total() == 0);
    CHECK(result.total.bytes_received == *opts.requests * opts.size);
    CHECK(result.peak_connections == opts.connections);
    CHECK(pierload::exit_code_of(result) == pierload::exit_code::ok);
}

// Proves idle mode opens, proves and holds every connection: pier sees them all at once.
TEST_CASE("pierload: idle mode holds every connection open") {
    running_server server(echo_config());
    auto opts = load_against(server.endpoint());
    opts.mode = pierload::load_mode::idle;
    opts.connections = 200;
    opts.duration = 500ms;
    const auto result = pierload::run_load(opts, {});
    CHECK(result.total.requests == 200);  // one proving echo each
    CHECK(result.total.errors.total() == 0);
    CHECK(result.peak_connections == 200);
    CHECK(server.listener().stats().accepted.load() == 200);
}

// Proves churn mode: a new connection for every exchange.
TEST_CASE("pierload: churn mode connects once per exchange") {
    running_server server(echo_config());
    auto opts = load_against(server.endpoint());
    opts.mode = pierload::load_mode::churn;
    opts.connections = 4;
    opts.requests = 300;
    const auto result = pierload::run_load(opts, {});
    CHECK(result.total.requests == 300);
    CHECK(result.total.errors.total() == 0);
    CHECK(result.total.connects >= 300);
    CHECK(result.total.connect_latency.total_count() == result.total.connects);
    CHECK(server.listener().stats().accepted.load() >= 300);
}

// Proves verification: a server that flips one byte of one echo is caught as a verify
// mismatch, and the real binary exits 1 saying so.
TEST_CASE("pierload: a corrupted echo is a verify mismatch and exit code 1") {
    scripted_server corrupter([](tcp::socket socket) -> asio::awaitable<void> {
        char data[4096];
        std::size_t total = 0;
        for (;;) {
            auto [ec, n] = co_await socket.async_read_some(asio::buffer(data),
                                                           asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            // Byte 1000 of the stream (inside the 16th 64-byte message) comes back wrong.
            if (total <= 1000 && 1000 < total + n) data[1000 - total] ^= 0x20;
            total += n;
            co_await asio::async_write(socket, asio::buffer(data, n), asio::use_awaitable);
        }
    });
    child_process child(
        pierload_binary,
        {"-c", "1", "-n", "100", "-q", "127.0.0.1:" + std::to_string(corrupter.endpoint().port())});
    const auto code = child.wait_exit(std::chrono::seconds(30));
    REQUIRE_MESSAGE(code.has_value(), child.output());
    CHECK(*code == 1);
    CHECK(child.output().find("verify_mismatch") != std::string::npos);
    CHECK(child.output().find("FAILED") != std::string::npos);
}

/// A scripted session that echoes `messages` 64-byte messages one at a time, then does
/// `then`: stall or close after reading the next message (so the client is waiting for its
/// answer), or flood the client with bytes and no newline.
enum class after_echoes { stall, close, flood };
scripted_server::session echo_then(std::size_t messages, after_echoes then) {
    return [messages, then](tcp::socket socket) -> asio::awaitable<void> {
        std::array<char, 64> message{};
        const auto read_message = [&]() -> asio::awaitable<bool> {
            auto [ec, n] = co_await asio::async_read(socket, asio::buffer(message),
                                                     asio::as_tuple(asio::use_awaitable));
            co_return !ec;
        };
        for (std::size_t k = 0; k < messages; ++k) {
            if (!co_await read_message()) co_return;
            co_await asio::async_write(socket, asio::buffer(message), asio::use_awaitable);
        }
        if (then == after_echoes::flood) {
            // Waits for the request first: closing with it unread would reset the connection.
            auto [ec, n] = co_await socket.async_read_some(asio::buffer(message),
                                                           asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
        } else if (!co_await read_message()) {
            co_return;
        }
        switch (then) {
            case after_echoes::stall: {
                // Holds the connection without answering until the server is destroyed.
                asio::steady_timer forever(co_await asio::this_coro::executor, 1h);
                co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
                break;
            }
            case after_echoes::close: break;
            case after_echoes::flood: {
                // A "response" that never ends: no newline, until the client gives up (at
                // most 64MiB, so a client that never does cannot keep the test going).
                const std::string junk(64 * 1024, 'x');
                for (int i = 0; i < 1024; ++i) {
                    auto [write_ec, written] = co_await asio::async_write(
                        socket, asio::buffer(junk), asio::as_tuple(asio::use_awaitable));
                    if (write_ec) break;
                }
                break;
            }
        }
    };
}

// Proves --timeout in closed loop: a server that stops answering costs a timeout, and the slot
// reconnects (after its backoff) and goes on.
TEST_CASE("pierload: a server that stops answering is a timeout, then the slot reconnects") {
    scripted_server staller(echo_then(1, after_echoes::stall));
    auto opts = load_against(staller.endpoint());
    opts.connections = 1;
    opts.request_timeout = 100ms;
    opts.duration = 600ms;
    opts.max_errors = 1000;
    const auto result = pierload::run_load(opts, {});
    CHECK(result.total.errors.of(pierload::error_kind::timeout) >= 2);
    CHECK(result.total.errors.total() == result.total.errors.of(pierload::error_kind::timeout));
    CHECK(result.total.connects >= 2);
    CHECK(result.total.requests >= 2);  // the answered first message of each connection
}

// Proves a server closing mid-run is an unexpected EOF, and the slot reconnects.
TEST_CASE("pierload: a server that closes mid-run is an unexpected EOF, then the slot reconnects") {
    scripted_server closer(echo_then(1, after_echoes::close));
    auto opts = load_against(closer.endpoint());
    opts.connections = 1;
    opts.duration = 300ms;
    opts.max_errors = 1000;
    const auto result = pierload::run_load(opts, {});
    CHECK(result.total.errors.of(pierload::error_kind::unexpected_eof) >= 2);
    CHECK(result.total.connects >= 2);
    CHECK(result.total.requests >= 2);
}

// Proves line mode bounds a response: one that never ends is an error at 1MiB, not a buffer
// that grows with whatever the server sends.
TEST_CASE("pierload: a line response without its delimiter is cut at 1MiB") {
    scripted_server flooder(echo_then(0, after_echoes::flood));
    auto opts = load_against(flooder.endpoint());
    opts.mode = pierload::load_mode::line;
    opts.connections = 1;
    opts.requests = 1;
    opts.max_errors = 1000;
    opts.duration = 2s;
    opts.duration_given = true;
    const auto result = pierload::run_load(opts, {});
    CHECK(result.total.requests == 0);
    CHECK(result.total.errors.of(pierload::error_kind::other) >= 1);
    CHECK(result.total.bytes_received > (1u << 20));
}

// Proves open loop measures from the planned send time: one 300ms stall on a 500 req/s
// schedule hits only a request or two when measured from the actual send, but every request
// planned during the stall when corrected, so corrected p99 is far above uncorrected p99.
TEST_CASE("pierload: open loop corrects for a stalling server") {
    scripted_server staller([](tcp::socket socket) -> asio::awaitable<void> {
        std::string buffer;
        asio::steady_timer stall(co_await asio::this_coro::executor);
        for (unsigned line = 1;; ++line) {
            auto [ec, n] = co_await asio::async_read_until(
                socket, asio::dynamic_buffer(buffer), '\n', asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            buffer.erase(0, n);
            if (line == 100) {
                stall.expires_after(300ms);
                co_await stall.async_wait(asio::use_awaitable);
            }
            co_await asio::async_write(socket, asio::buffer("+OK\r\n", 5), asio::use_awaitable);
        }
    });
    auto opts = load_against(staller.endpoint());
    opts.mode = pierload::load_mode::line;
    opts.request = "GET\r\n";
    opts.connections = 1;
    opts.rate = 500;
    opts.duration = 2s;
    const auto result = pierload::run_load(opts, {});
    CHECK(result.total.errors.total() == 0);
    CHECK(result.total.requests > 500);
    const auto corrected = result.total.latency.value_at_percentile(99);
    const auto uncorrected = result.total.uncorrected.value_at_percentile(99);
    CAPTURE(corrected);
    CAPTURE(uncorrected);
    CHECK(corrected > 100'000'000);  // > 100ms
    CHECK(corrected > 10 * uncorrected);
}

// Proves --source-ips: connections leave from the listed local addresses, spread over all.
TEST_CASE("pierload: source addresses spread connections over 127.0.0.2-127.0.0.3") {
    std::mutex mutex;
    std::set<std::string> peers;
    scripted_server recorder([&](tcp::socket socket) -> asio::awaitable<void> {
        {
            std::lock_guard lock(mutex);
            peers.insert(socket.remote_endpoint().address().to_string());
        }
        co_await echo_until_closed(std::move(socket));
    });
    auto opts = load_against(recorder.endpoint());
    opts.connections = 8;
    opts.requests = 400;
    opts.source_ips = {"127.0.0.2", "127.0.0.3"};
    const auto result = pierload::run_load(opts, {});
    CHECK(result.total.errors.total() == 0);
    CHECK(result.total.requests == 400);
    std::lock_guard lock(mutex);
    CHECK(peers == std::set<std::string>{"127.0.0.2", "127.0.0.3"});
}

// Proves --connect-rate paces the ramp-up: 20 connections at 50 per second cannot all be
// accepted before 19/50 s = 380ms have passed (timers never fire early).
TEST_CASE("pierload: connect-rate spreads connects over time") {
    std::mutex mutex;
    std::vector<std::chrono::steady_clock::time_point> accepted;
    scripted_server recorder([&](tcp::socket socket) -> asio::awaitable<void> {
        {
            std::lock_guard lock(mutex);
            accepted.push_back(std::chrono::steady_clock::now());
        }
        co_await echo_until_closed(std::move(socket));
    });
    auto opts = load_against(recorder.endpoint());
    opts.mode = pierload::load_mode::idle;
    opts.connections = 20;
    opts.connect_rate = 50;
    opts.duration = 600ms;
    const auto began = std::chrono::steady_clock::now();
    const auto result = pierload::run_load(opts, {});
    CHECK(result.total.errors.total() == 0);
    CHECK(result.peak_connections == 20);
    std::lock_guard lock(mutex);
    REQUIRE(accepted.size() == 20);
    CHECK(*std::max_element(accepted.begin(), accepted.end()) - began >= 380ms);
}

// Proves the descriptor check: asking for more than the hard limit is refused up front with a
// message that says what to change.
TEST_CASE("pierload: connections beyond the open-file limit are refused clearly") {
    rlimit limit{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
    if (limit.rlim_max == RLIM_INFINITY) {
        MESSAGE("skipped: no hard open-file limit here");
        return;
    }
    try {
        pierload::ensure_descriptor_limit(static_cast<std::size_t>(limit.rlim_max) + 1);
        FAIL("expected a setup_error");
    } catch (const pierload::setup_error& e) {
        const std::string message = e.what();
        CHECK(message.find("open-file limit is " + std::to_string(limit.rlim_max)) !=
              std::string::npos);
        CHECK(message.find("LimitNOFILE") != std::string::npos);
    }
}

// Proves line mode against a real peer: redis-server answers PING with +PONG on every request.
TEST_CASE("pierload: line mode against redis-server") {
    const auto redis = find_program("redis-server");
    if (redis.empty()) {
        MESSAGE("skipped: redis-server is not installed (scripts/setup.sh installs it)");
        return;
    }
    const auto port = free_port();
    temp_dir dir;
    child_process server(redis, {"--port", std::to_string(port), "--bind", "127.0.0.1", "--save",
                                 "", "--appendonly", "no", "--dir", dir.path().string()});
    REQUIRE_MESSAGE(server.wait_for_line("Ready to accept connections", 20s).has_value(),
                    server.output());
    pierload::options opts;
    opts.host = "127.0.0.1";
    opts.port = std::to_string(port);
    opts.threads = 2;
    opts.mode = pierload::load_mode::line;
    opts.request = "PING\r\n";
    opts.connections = 10;
    opts.pipeline = 4;
    opts.requests = 5000;
    const auto result = pierload::run_load(opts, {});
    CHECK(result.total.requests == 5000);
    CHECK(result.total.errors.total() == 0);
    CHECK(result.total.bytes_received == 5000 * std::string("+PONG\r\n").size());
}

// Proves the binary's outputs: JSON on stdout with the report on stderr, an .hgrm file and an
// SVG plot, exit code 0; and a bad argument is exit code 2 with one clear line.
TEST_CASE("pierload: binary writes JSON, hgrm and SVG and exits 0") {
    running_server server(echo_config());
    temp_dir dir;
    const auto hgrm = dir.path() / "run.hgrm";
    const auto svg = dir.path() / "run.svg";
    child_process child(pierload_binary,
                        {"-c", "8", "-n", "1000", "--json", "-", "--hdr", hgrm.string(), "--plot",
                         svg.string(), "127.0.0.1:" + std::to_string(server.endpoint().port())});
    const auto code = child.wait_exit(std::chrono::seconds(30));
    REQUIRE_MESSAGE(code.has_value(), child.output());
    CHECK(*code == 0);
    CHECK(child.output().find("\"requests\":1000,") != std::string::npos);
    CHECK(child.output().find("\"exit_code\":0}") != std::string::npos);
    std::ifstream hgrm_file(hgrm);
    std::string first_line;
    std::getline(hgrm_file, first_line);
    CHECK(first_line.find("Value") != std::string::npos);
    std::ifstream svg_file(svg);
    const std::string svg_text((std::istreambuf_iterator<char>(svg_file)), {});
    CHECK(svg_text.find("<svg") != std::string::npos);
    CHECK(svg_text.find("</svg>") != std::string::npos);

    // The report (on stderr here) says how long the short run measured, not "0.0s".
    CHECK(child.output().find(" measured, closed loop") != std::string::npos);
    CHECK(child.output().find("0.0s measured") == std::string::npos);
    CHECK(child.output().find("connections   8 opened during measurement over ") !=
          std::string::npos);

    child_process bad(pierload_binary, {"-c", "zero", "127.0.0.1:1"});
    CHECK(bad.wait_exit(std::chrono::seconds(30)) == 2);
    CHECK(bad.output().find("pierload: bad --connections \"zero\"") == 0);
}

// Proves a bad command line gets its error and one line pointing at --help, exit code 2: the
// whole help after the error scrolled the error out of sight.
TEST_CASE("pierload: a bad argument is one error line and a pointer to --help") {
    const auto check_usage_error = [](const std::vector<std::string>& args,
                                      const std::string& error) {
        CAPTURE(error);
        child_process child(pierload_binary, args);
        CHECK(child.wait_exit(std::chrono::seconds(30)) == 2);
        CHECK(child.output() ==
              "pierload: " + error + "\nTry 'pierload --help' for the options.\n");
    };
    check_usage_error({"--foo", "127.0.0.1:1"}, "unrecognised option '--foo'");
    check_usage_error({"-c", "zero", "127.0.0.1:1"},
                      "bad --connections \"zero\" (expected an integer from 1 to 10000000)");
    check_usage_error({}, "missing HOST:PORT");

    child_process help(pierload_binary, {"--help"});
    CHECK(help.wait_exit(std::chrono::seconds(30)) == 0);
    CHECK(help.output().find("Usage: pierload") == 0);
}

// Proves a real run records when its connections opened: the report's connect rate is over
// that span, not over the whole run.
TEST_CASE("pierload: a run records the span its connections opened over") {
    running_server server(echo_config());
    auto opts = load_against(server.endpoint());
    opts.connections = 8;
    opts.requests = 1000;
    const auto before = std::chrono::steady_clock::now();
    const auto result = pierload::run_load(opts, {});
    const auto after = std::chrono::steady_clock::now();
    REQUIRE(result.total.connects == 8);
    CHECK(before <= result.total.first_connect);
    CHECK(result.total.first_connect <= result.total.last_connect);
    CHECK(result.total.last_connect <= after);
    std::ostringstream report;
    pierload::write_report(report, result);
    CAPTURE(report.str());
    CHECK(report.str().find("connections   8 opened during measurement over ") !=
          std::string::npos);
}

}  // namespace
}  // namespace pier::test
