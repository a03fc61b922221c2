// The connection set: stop requests reach connections on their own executor, a drain covers
// connections added after it began, and the sweep picks only connections past a timeout.
// Executors are run by hand with poll(): no threads.
#include <algorithm>
#include <optional>

#include <doctest/doctest.h>

#include "pier/net/connection_set.hpp"

namespace pier::net {

/// Reaches what only the sweep may call on a connection.
struct connection_test_access {
    static void stop_slow_request(connection& conn, runtime::clock::time_point began) {
        conn.stop_slow_request(began);
    }
};
namespace {

struct fixture {
    // Pinned: posts land in the worker's io_context, which the test runs by hand.
    runtime::io_pool pool{1, config::scheduler_kind::pinned};

    connection_ptr make(std::uint64_t id) {
        auto lease = pool.acquire();
        stream_socket socket(lease.io_executor());
        return connection::make(id, std::move(socket), std::move(lease));
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
    set.request_stop_all(stop_reason::drain_timeout);
    f.run_posted();
    set.request_stop_all(stop_reason::drain);
    f.run_posted();
    CHECK(a->stop_requested() == stop_reason::drain_timeout);

    set.remove(*a);
    set.remove(*b);
    set.remove(*late);
    CHECK(set.size() == 0);
    CHECK(set.wait_empty_until(std::chrono::steady_clock::now()));
}

// Proves the idle sweep stops exactly the connections idle longer than the timeout.
TEST_CASE("connection_set: stop_inactive picks connections idle past the timeout") {
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
    const auto stopped = set.stop_inactive(now, {.idle = std::chrono::seconds(5)});
    CHECK(stopped.idle == 1);
    CHECK(stopped.stalled == 0);
    f.run_posted();
    CHECK(quiet->stop_requested() == stop_reason::idle_timeout);
    CHECK(busy->stop_requested() == stop_reason::none);
    set.remove(*quiet);
    set.remove(*busy);
}

// Proves a connection's own shorter idle timeout (the proxy's half-close) applies to it alone,
// also when the listener has no idle timeout, and never lengthens the listener's.
TEST_CASE("connection_set: stop_inactive honours a connection's own shorter idle timeout") {
    using namespace std::chrono_literals;
    fixture f;
    connection_set set;
    auto half_closed = f.make(1);
    auto plain = f.make(2);
    auto long_own = f.make(3);
    set.add(*half_closed);
    set.add(*plain);
    set.add(*long_own);
    half_closed->shorten_idle_timeout(2s);
    long_own->shorten_idle_timeout(1h);
    const auto latest =
        std::max({half_closed->last_activity(), plain->last_activity(), long_own->last_activity()});
    CHECK(set.stop_inactive(latest + 3s, {}).idle == 1);  // listener: no idle timeout
    CHECK(set.stop_inactive(latest + 3s, {.idle = 1min}).idle == 1);
    f.run_posted();
    CHECK(half_closed->stop_requested() == stop_reason::idle_timeout);
    CHECK(plain->stop_requested() == stop_reason::none);
    CHECK(long_own->stop_requested() == stop_reason::none);
    CHECK(set.stop_inactive(latest + 2min, {.idle = 1min}).idle == 3);  // 1h never lengthens 1min
    set.remove(*half_closed);
    set.remove(*plain);
    set.remove(*long_own);
}

// Proves write_timeout applies only while a write is in progress, and before idle_timeout.
TEST_CASE("connection_set: stop_inactive stops a stalled writer at write_timeout") {
    fixture f;
    connection_set set;
    auto writer = f.make(1);
    auto reader = f.make(2);
    set.add(*writer);
    set.add(*reader);
    std::optional<connection::write_scope> writing(std::in_place, *writer);
    const auto now =
        std::max(writer->last_activity(), reader->last_activity()) + std::chrono::seconds(2);
    const auto stopped = set.stop_inactive(
        now, {.idle = std::chrono::seconds(60), .write = std::chrono::seconds(1)});
    CHECK(stopped.stalled == 1);
    CHECK(stopped.idle == 0);
    f.run_posted();
    CHECK(writer->stop_requested() == stop_reason::write_timeout);
    CHECK(reader->stop_requested() == stop_reason::none);  // quiet, but not writing
    writing.reset();
    CHECK_FALSE(writer->writing());
    set.remove(*writer);
    set.remove(*reader);
}

// Proves request_timeout counts from a request's beginning, not from its latest byte: a
// connection touched just now (a slowloris byte) is still stopped, one with no request pending
// never is, and end_request() stops the clock.
TEST_CASE("connection_set: stop_inactive stops a request incomplete past request_timeout") {
    using namespace std::chrono_literals;
    fixture f;
    connection_set set;
    auto trickling = f.make(1);
    auto between_requests = f.make(2);
    auto completed = f.make(3);
    set.add(*trickling);
    set.add(*between_requests);
    set.add(*completed);
    trickling->begin_request();
    completed->begin_request();
    completed->end_request();
    CHECK_FALSE(completed->request_started().has_value());
    const auto began = *trickling->request_started();
    trickling->begin_request();  // more bytes of the same request: the clock keeps running
    CHECK(*trickling->request_started() == began);

    const connection_set::timeouts limits{.idle = 1h, .request = 10s};
    CHECK(set.stop_inactive(began + 9s, limits).slow_request == 0);
    // Bytes keep coming (touched just now), yet the request began 10 s before `now`.
    trickling->touch();
    const auto stopped = set.stop_inactive(began + 10s, limits);
    CHECK(stopped.slow_request == 1);
    CHECK(stopped.idle == 0);
    f.run_posted();
    CHECK(trickling->stop_requested() == stop_reason::request_timeout);
    CHECK(between_requests->stop_requested() == stop_reason::none);
    CHECK(completed->stop_requested() == stop_reason::none);
    // Off when zero.
    CHECK(set.stop_inactive(began + 1min, {.idle = 1h}).slow_request == 0);
    set.remove(*trickling);
    set.remove(*between_requests);
    set.remove(*completed);
}

// Proves a slow-request stop decided on a stale reading is dropped when it reaches the
// connection's executor: the request has completed meanwhile (it is being answered), or a
// newer request has begun (it has its own clock).
TEST_CASE("connection: stop_slow_request spares a request that completed or was replaced") {
    fixture f;
    auto answered = f.make(1);
    answered->begin_request();
    const auto answered_began = *answered->request_started();
    connection_test_access::stop_slow_request(
        *answered, answered_began);  // posted; the request completes first
    answered->end_request();

    auto replaced = f.make(2);
    replaced->begin_request();
    const auto first_began = *replaced->request_started();
    connection_test_access::stop_slow_request(*replaced, first_began);
    replaced->end_request();
    do {  // the next request's clock starts later (the clock ticks in nanoseconds)
        replaced->end_request();
        replaced->begin_request();
    } while (*replaced->request_started() == first_began);

    auto stuck = f.make(3);
    stuck->begin_request();
    connection_test_access::stop_slow_request(*stuck, *stuck->request_started());

    f.run_posted();
    CHECK(answered->stop_requested() == stop_reason::none);
    CHECK(replaced->stop_requested() == stop_reason::none);
    CHECK(stuck->stop_requested() == stop_reason::request_timeout);
}

}  // namespace
}  // namespace pier::net
