// What the work-stealing scheduler buys, end to end: a connection stuck in a long request no
// longer stalls the other connections of its worker. The same test in pinned mode shows the
// stall it removes.
#include <doctest/doctest.h>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "support/test_client.hpp"

namespace pier::test {
namespace {

using clock = std::chrono::steady_clock;

asio::awaitable<std::string> read_line(tcp::socket& socket) {
    std::string line;
    co_await asio::async_read_until(socket, asio::dynamic_buffer(line), '\n', asio::use_awaitable);
    co_return line;
}

// Connection A sends a request that burns 1s of CPU; connection B, homed on the same worker,
// then sends light requests. Work stealing: an idle worker serves B meanwhile, so all of B's
// answers arrive before A's. Pinned: B waits behind A.
TEST_CASE("work stealing: a long request does not stall its worker's other connections") {
    config::scheduler_kind kind{};
    SUBCASE("work_stealing") { kind = config::scheduler_kind::work_stealing; }
    SUBCASE("pinned") { kind = config::scheduler_kind::pinned; }
    CAPTURE(config::to_string(kind));

    auto cfg = echo_config();  // two workers
    cfg.runtime.scheduler = kind;
    cfg.listeners[0].handler = pier::config::handler_kind::synthetic;
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            const auto endpoint = server.endpoint();
            // Placement is "fewest live connections", in accept order, and the accept in
            // progress holds its lease too: A lands on worker 0, X on worker 1, B on worker 0
            // (worker 1 then holds X and, once the accept loop has re-armed, the next
            // accept's lease: not counted here, it may not have happened yet). A round trip
            // each makes sure all three are accepted.
            auto a = co_await connect_to(endpoint);
            CHECK(co_await ask(a, "\n") == "OK\n");
            auto x = co_await connect_to(endpoint);
            CHECK(co_await ask(x, "\n") == "OK\n");
            auto b = co_await connect_to(endpoint);
            CHECK(co_await ask(b, "\n") == "OK\n");
            auto& pool = server.get().pool();
            REQUIRE(pool.live_connections(0) == 2);
            REQUIRE(pool.live_connections(1) >= 1);

            const auto began = clock::now();
            const std::string heavy = "cpu=1s\n";
            co_await asio::async_write(a, asio::buffer(heavy), asio::use_awaitable);
            for (int i = 0; i < 10; ++i) CHECK(co_await ask(b, "size=2\n") == "O\n");
            const auto light_done = clock::now() - began;
            CHECK(co_await read_line(a) == "OK\n");
            const auto heavy_done = clock::now() - began;
            CAPTURE(std::chrono::duration_cast<std::chrono::milliseconds>(light_done).count());
            CAPTURE(std::chrono::duration_cast<std::chrono::milliseconds>(heavy_done).count());
            CHECK(heavy_done >= 1s);
            if (kind == config::scheduler_kind::work_stealing) {
                CHECK(light_done < heavy_done);
                CHECK(server.get().pool().stealing_scheduler()->metrics(1).io_steals > 0);
            } else {
                CHECK(light_done >= heavy_done - 50ms);  // B was served only after A
            }
        },
        30s);
}

}  // namespace
}  // namespace pier::test
