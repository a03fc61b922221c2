#include "support/test_client.hpp"

#include <time.h>

#include <exception>
#include <future>
#include <optional>
#include <regex>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pier/runtime/clock.hpp"

namespace pier::test {

using namespace boost::asio::experimental::awaitable_operators;

config::config echo_config() {
    config::config cfg;
    cfg.runtime.threads = 2;
    cfg.shutdown.drain_timeout = 5s;
    config::listener_config listener;
    listener.name = "echo";
    listener.listen = {"127.0.0.1", 0};
    listener.handler = pier::config::handler_kind::echo;
    cfg.listeners.push_back(listener);
    return cfg;
}

namespace {

/// The config's TLS contexts, as pierd loads them; a test whose files do not load fails here.
daemon::tls_contexts tls_of(const config::config& cfg) {
    auto tls = daemon::load_tls_contexts(cfg);
    if (!tls.errors.empty()) {
        throw std::runtime_error("test config's TLS does not load: " + tls.errors[0].to_string());
    }
    return tls;
}

}  // namespace

running_server::running_server(config::config cfg) {
    auto tls = tls_of(cfg);
    server_ = std::make_unique<daemon::server>(std::move(cfg), std::move(tls));
    server_->start();
}

running_server::~running_server() { server_->shutdown(); }

tcp::endpoint running_server::endpoint(std::string_view name) {
    return server_->listener(name).local_endpoint();
}

tcp::endpoint endpoint_from_log(const std::string& line) {
    std::smatch match;
    REQUIRE_MESSAGE(
        std::regex_search(line, match, std::regex(R"(addr=(\d+\.\d+\.\d+\.\d+):(\d+))")), line);
    return {asio::ip::make_address(match[1].str()),
            static_cast<std::uint16_t>(std::stoul(match[2].str()))};
}

void run_with_timeout(asio::io_context& io, std::function<asio::awaitable<void>()> body,
                      std::chrono::steady_clock::duration deadline) {
    bool finished = false;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
        finished = true;
        error = e;
    });
    io.restart();
    io.run_for(deadline);
    if (!finished) {
        io.stop();
        FAIL("did not finish within the deadline");
    }
    if (error) std::rethrow_exception(error);
}

void run_with_timeout(std::function<asio::awaitable<void>()> body,
                      std::chrono::steady_clock::duration deadline) {
    asio::io_context io;
    run_with_timeout(io, std::move(body), deadline);
}

void with_client(const tcp::endpoint& server,
                 std::function<asio::awaitable<void>(tcp::socket&)> body,
                 std::chrono::steady_clock::duration deadline) {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto client = co_await connect_to(server);
            co_await body(client);
        },
        deadline);
}

void with_clients(const tcp::endpoint& server, std::size_t count,
                  std::function<asio::awaitable<void>(std::vector<tcp::socket>&)> body,
                  std::chrono::steady_clock::duration deadline) {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            std::vector<tcp::socket> clients;
            clients.reserve(count);
            for (std::size_t i = 0; i < count; ++i) clients.push_back(co_await connect_to(server));
            co_await body(clients);
        },
        deadline);
}

std::string make_payload(std::size_t size, unsigned seed) {
    std::string payload(size, '\0');
    // A cheap LCG: every byte depends on its position, so shifted or reordered data differs.
    std::uint32_t state = 0x9e3779b9u ^ seed;
    for (auto& c : payload) {
        state = state * 1664525u + 1013904223u;
        c = static_cast<char>(state >> 24);
    }
    return payload;
}

asio::awaitable<std::string> echo_exchange(tcp::socket& socket, const std::string& payload) {
    std::string received(payload.size(), '\0');
    co_await (asio::async_write(socket, asio::buffer(payload), asio::use_awaitable) &&
              asio::async_read(socket, asio::buffer(received), asio::use_awaitable));
    co_return received;
}

asio::awaitable<std::string> read_to_end(tcp::socket& socket, boost::system::error_code& error) {
    std::string received;
    char chunk[16384];
    for (;;) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk),
                                                       asio::as_tuple(asio::use_awaitable));
        received.append(chunk, n);
        if (ec) {
            error = ec;
            co_return received;
        }
    }
}

asio::awaitable<void> write_all(tcp::socket& socket, const std::string& data) {
    co_await asio::async_write(socket, asio::buffer(data), asio::use_awaitable);
}

asio::awaitable<std::string> read_exactly(tcp::socket& socket, std::size_t n) {
    std::string data(n, '\0');
    co_await asio::async_read(socket, asio::buffer(data), asio::use_awaitable);
    co_return data;
}

asio::awaitable<std::string> ask(tcp::socket& socket, const std::string& request) {
    co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
    std::string line;
    const auto n = co_await asio::async_read_until(socket, asio::dynamic_buffer(line), '\n',
                                                   asio::use_awaitable);
    CHECK(n == line.size());  // one request, one response: nothing may follow it
    co_return line;
}

asio::awaitable<bool> closed_without_answer(tcp::socket& socket) {
    boost::system::error_code ended;
    const auto bytes = co_await read_to_end(socket, ended);
    co_return bytes.empty() &&
        (ended == asio::error::eof || ended == asio::error::connection_reset);
}

asio::awaitable<std::size_t> write_until_stuck(tcp::socket& socket, const std::string& flood) {
    socket.non_blocking(true);
    asio::steady_timer give_up(co_await asio::this_coro::executor);
    std::size_t sent = 0;
    for (;;) {
        boost::system::error_code ec;
        sent += socket.write_some(asio::buffer(flood.data() + sent, flood.size() - sent), ec);
        if (ec == asio::error::would_block) {
            give_up.expires_after(1s);
            auto result =
                co_await (socket.async_wait(tcp::socket::wait_write, asio::use_awaitable) ||
                          give_up.async_wait(asio::use_awaitable));
            if (result.index() == 1) break;
        } else {
            REQUIRE(!ec);
        }
        REQUIRE(sent < flood.size());
    }
    socket.non_blocking(false);
    co_return sent;
}

std::chrono::nanoseconds process_cpu_now() {
    timespec now{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

std::uint16_t free_port() {
    asio::io_context io;
    const tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    return probe.local_endpoint().port();
}

asio::awaitable<tcp::socket> connect_to(const tcp::endpoint& endpoint) {
    tcp::socket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(endpoint, asio::use_awaitable);
    co_return socket;
}

asio::awaitable<void> advance_and_sweep(net::listener& listener, std::chrono::nanoseconds by) {
    runtime::clock::advance(std::chrono::duration_cast<runtime::clock::duration>(by));
    auto swept = listener.sweep_now();
    CHECK(co_await eventually([&] { return swept.wait_for(0s) == std::future_status::ready; }));
}

asio::awaitable<stream_pair> connected_pair() {
    auto executor = co_await asio::this_coro::executor;
    tcp::acceptor acceptor(executor, {asio::ip::make_address("127.0.0.1"), 0});
    auto peer = co_await connect_to(acceptor.local_endpoint());
    // On the io_context's own executor, as the listener accepts (net::stream_socket).
    auto& io = static_cast<asio::io_context&>(asio::query(executor, asio::execution::context));
    auto ours = co_await acceptor.async_accept(io.get_executor(), asio::use_awaitable);
    ours.non_blocking(true);  // as the listener leaves an accepted socket
    co_return stream_pair{net::byte_stream(std::move(ours)), std::move(peer)};
}

asio::awaitable<bool> eventually(std::function<bool()> condition,
                                 std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer tick(co_await asio::this_coro::executor);
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        tick.expires_after(2ms);
        co_await tick.async_wait(asio::use_awaitable);
    }
    co_return true;
}

void reset(tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
}

}  // namespace pier::test
