// runtime.busy_polling: the workers never sleep in their reactors, yet serve as usual and stop
// at shutdown like any others, with either scheduler.
#include <doctest/doctest.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/test_client.hpp"

namespace pier::test {
namespace {

// Proves the workers poll instead of sleeping: with no connection doing anything, the process
// (the in-process server; the test's own thread waits on a timer) spends CPU throughout a
// quiet 300 ms, which two sleeping workers would not. Then an echo works and the server shuts
// down (running_server's destructor, under the suite's deadline): the polling stops.
TEST_CASE("busy polling: idle workers keep polling, serve, and stop at shutdown") {
    config::scheduler_kind kind{};
    SUBCASE("work_stealing") { kind = config::scheduler_kind::work_stealing; }
    SUBCASE("pinned") { kind = config::scheduler_kind::pinned; }
    CAPTURE(config::to_string(kind));

    auto cfg = echo_config();  // two workers
    cfg.runtime.scheduler = kind;
    cfg.runtime.busy_polling = true;
    running_server server(cfg);
    with_client(
        server.endpoint(),
        [&](tcp::socket& client) -> asio::awaitable<void> {
            const auto payload = make_payload(5000, 1);
            CHECK(co_await echo_exchange(client, payload) == payload);

            constexpr auto window = std::chrono::milliseconds(300);
            const auto cpu_before = process_cpu_now();
            asio::steady_timer quiet(co_await asio::this_coro::executor, window);
            co_await quiet.async_wait(asio::use_awaitable);  // the measurement, not a sync
            const auto spent = process_cpu_now() - cpu_before;
            // Two spinning workers use up to two cores' worth; a third of one core is the bar
            // on a busy shared machine. Sleeping workers would use next to nothing.
            CHECK_MESSAGE(spent >= window / 3, "CPU in the quiet window: ", spent.count() / 1000,
                          " us");

            CHECK(co_await echo_exchange(client, payload) == payload);
        },
        20s);
}

}  // namespace
}  // namespace pier::test
