// The connection set: stop requests reach connections on their own executor, a drain covers
// connections added after it began, and the idle sweep picks only idle connections.
// Executors are run by hand with poll(): no threads.
#include <doctest/doctest.h>

#include "pier/net/connection_set.hpp"

namespace pier::net {
namespace {

struct fixture {
    // Pinned: posts land in the worker's io_context, which the test runs by hand.
    runtime::io_pool pool{1, config::scheduler_kind::pinned};

    std::shared_ptr<connection> make(std::uint64_t id) {
        auto lease = pool.acquire();
        tcp::socket socket(lease.io_executor());
        return std::make_shared<connection>(id, std::move(socket), std::move(lease));
    }

    /// Runs what request_stop() posted.
    void run_posted() {
        auto& io = asio::query(pool.acquire_uncounted(0).io_executor(), asio::execution::context);
        io.restart();
        io.poll();
    }
};

// Proves request_stop_all() reaches every member, on its executor, and that a drain is
// remembered for a connection added later.
TEST_CASE("connection_set: drain reaches current and later connections") {
    fixture f;
    connection_set set;
    auto a = f.make(1);
    auto b = f.make(2);
    set.add(*a);
    set.add(*b);
    CHECK(set.size() == 2);

    set.request_stop_all(stop_reason::drain);
    CHECK(a->stop_requested() == stop_reason::none);  // not yet: it is posted
    f.run_posted();
    CHECK(a->stop_requested() == stop_reason::drain);
    CHECK(b->stop_requested() == stop_reason::drain);

    auto late = f.make(3);
    set.add(*late);
    f.run_posted();
    CHECK(late->stop_requested() == stop_reason::drain);

    // A stronger reason overrides drain; a weaker one never downgrades.
    set.request_stop_all(stop_reason::shutdown);
    f.run_posted();
    set.request_stop_all(stop_reason::drain);
    f.run_posted();
    CHECK(a->stop_requested() == stop_reason::shutdown);

    set.remove(*a);
    set.remove(*b);
    set.remove(*late);
    CHECK(set.size() == 0);
    CHECK(set.wait_empty_until(std::chrono::steady_clock::now()));
}

// Proves the idle sweep stops exactly the connections idle longer than the timeout.
TEST_CASE("connection_set: stop_idle picks connections idle past the timeout") {
    fixture f;
    connection_set set;
    auto quiet = f.make(1);
    auto busy = f.make(2);
    set.add(*quiet);
    set.add(*busy);
    // Make `busy` strictly more recent than `quiet` (the clock ticks in nanoseconds).
    while (busy->last_activity() <= quiet->last_activity()) busy->touch();

    // Exactly one timeout after `quiet`'s last activity, only `quiet` has been idle that long.
    const auto now = quiet->last_activity() + std::chrono::seconds(5);
    CHECK(set.stop_idle(now, std::chrono::seconds(5)) == 1);
    f.run_posted();
    CHECK(quiet->stop_requested() == stop_reason::idle);
    CHECK(busy->stop_requested() == stop_reason::none);
    set.remove(*quiet);
    set.remove(*busy);
}

}  // namespace
}  // namespace pier::net
