// The handler contract (net/handler.hpp) as the listener keeps it: whatever way a handler's
// start() ends the conversation (throwing, calling serve_done at once, or through a coroutine
// started with spawn_serve()), the listener closes the connection, counts it closed and gives
// its slot back, and the other connections go on.
#include <atomic>
#include <memory>
#include <stdexcept>

#include <doctest/doctest.h>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pier/net/handler.hpp"
#include "pier/net/listener.hpp"
#include "pier/runtime/io_pool.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

enum class ending { throws, done_at_once, coroutine };

/// Ends every connection at once, in the way it is told.
class ending_handler final : public net::handler {
public:
    explicit ending_handler(ending how) : how_(how) {}

    void start(net::serve_done done) const override {
        starts.fetch_add(1);
        switch (how_) {
            case ending::throws: throw std::runtime_error("refused by the test");
            case ending::done_at_once: done(nullptr); return;
            case ending::coroutine: {
                auto& conn = done.conn();  // before done is moved from
                net::spawn_serve(std::move(done), say_bye(conn));
                return;
            }
        }
    }
    bool reads_requests() const override { return false; }

    mutable std::atomic<int> starts{0};

private:
    /// Writes one line, then returns: the listener closes the connection after it.
    static asio::awaitable<void> say_bye(net::connection& conn) {
        const net::connection::write_scope writing(conn);
        co_await asio::async_write(conn.stream().tcp_socket(), asio::buffer("bye\n", 4),
                                   asio::use_awaitable);
    }

    ending how_;
};

/// A listener on 127.0.0.1:0 with `handler`, on a pool of two workers.
struct listening {
    explicit listening(std::shared_ptr<const net::handler> handler) : pool(2) {
        config::listener_config cfg;
        cfg.name = "contract";
        cfg.listen = {"127.0.0.1", 0};
        pool.start();
        listener = std::make_unique<net::listener>(cfg, pool, std::move(handler));
        listener->start();
    }
    ~listening() {
        listener->stop_accepting();
        listener.reset();
        pool.stop();
    }

    runtime::io_pool pool;
    std::unique_ptr<net::listener> listener;
};

/// Connects `count` clients one after another, each reading until the server closes; returns
/// what the last one read.
std::string connect_and_read_to_end(listening& server, int count) {
    std::string last;
    for (int i = 0; i < count; ++i) {
        with_client(
            server.listener->local_endpoint(),
            [&](tcp::socket& socket) -> asio::awaitable<void> {
                boost::system::error_code error;
                last = co_await read_to_end(socket, error);
                CHECK((error == asio::error::eof || error == asio::error::connection_reset));
            },
            5s);
    }
    return last;
}

/// `count` connections were closed and counted, and none is left in the listener's set (the
/// listener counts a close before it unlinks the connection, so both are waited for).
bool ended(listening& server, std::uint64_t count) {
    return server.listener->stats().closed.load() == count &&
           server.listener->connections().size() == 0;
}

}  // namespace

// Proves a start() that throws ends only its own connection: it is closed and counted, its slot
// is given back (the next client is served the same way), and the listener keeps accepting.
TEST_CASE("handler contract: a start() that throws closes its connection and counts it") {
    auto handler = std::make_shared<ending_handler>(ending::throws);
    listening server(handler);
    CHECK(connect_and_read_to_end(server, 3).empty());
    CHECK(handler->starts.load() == 3);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            CHECK(co_await eventually([&] { return ended(server, 3); }));
        },
        5s);
}

// Proves serve_done called inside start() (before start() returns) closes the connection once:
// counted once per connection, none left in the set.
TEST_CASE("handler contract: serve_done called from start() closes the connection once") {
    auto handler = std::make_shared<ending_handler>(ending::done_at_once);
    listening server(handler);
    CHECK(connect_and_read_to_end(server, 3).empty());
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            CHECK(co_await eventually([&] { return ended(server, 3); }));
            CHECK(server.listener->stats().accepted.load() == 3);
        },
        5s);
}

// Proves a coroutine started with spawn_serve() serves its connection to the end: its bytes
// arrive, then the listener closes the connection and counts it.
TEST_CASE("handler contract: spawn_serve() runs the coroutine, then the listener closes") {
    auto handler = std::make_shared<ending_handler>(ending::coroutine);
    listening server(handler);
    CHECK(connect_and_read_to_end(server, 2) == "bye\n");
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            CHECK(co_await eventually([&] { return ended(server, 2); }));
        },
        5s);
}

}  // namespace pier::test
